//! One stage by hand (`run --manual`): the launcher supervises the others and leaves
//! that stage to a process the developer starts; a second process of a running stage
//! is refused before it touches anything.

use shmtrader_e2e::{cmd, finish, instance, poll, stage, status, Cleanup};
use shmtrader_shm::Instance;
use std::process::Stdio;
use std::time::Duration;

fn state(inst: &str, name: &str) -> Option<(String, u64, u64, bool)> {
    let st = status(inst)?;
    let s = stage(&st, name);
    Some((
        s["state"].as_str()?.to_string(),
        s["pid"].as_u64()?,
        s["restarts"].as_u64()?,
        s["manual"].as_bool()?,
    ))
}

#[test]
fn a_manual_stage_is_left_to_the_hand_started_process_and_a_second_one_is_refused() {
    let inst = instance("manual");
    let _c = Cleanup(inst.clone());
    let launcher = cmd(&[
        "run",
        "--instance",
        &inst,
        "--duration",
        "40",
        "--keep-segments",
        "--manual",
        "analytics",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn run");
    // The launcher runs the others and shows analytics as manual, with no process.
    let waiting = poll(Duration::from_secs(10), || {
        let a = state(&inst, "analytics")?;
        let i = state(&inst, "ingest")?;
        (a.0 == "manual" && a.3 && i.0 == "running").then_some(a)
    });
    assert!(
        waiting.is_some(),
        "analytics not shown as manual: {:?}",
        status(&inst)
    );
    let ingest_pid = state(&inst, "ingest").unwrap().1;

    // The developer starts it: it attaches and publishes signals.
    let hand = cmd(&["analytics", "--instance", &inst])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn analytics by hand");
    let up = poll(Duration::from_secs(10), || {
        let a = state(&inst, "analytics")?;
        (a.0 == "running" && a.1 == u64::from(hand.id())).then_some(())
    });
    assert!(up.is_some(), "hand-started analytics not running");
    let i = Instance::open(&inst).expect("instance");
    assert!(
        poll(Duration::from_secs(10), || (i.signals.write_seq() > 0)
            .then_some(()))
        .is_some(),
        "no signals from the hand-started analytics"
    );

    // A second analytics, and an ingest beside the launcher's, are refused before they
    // write anything: the slots keep their pids and the launcher restarts nothing.
    for name in ["analytics", "ingest"] {
        let out = cmd(&[name, "--instance", &inst]).output().unwrap();
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "a second {name} was accepted");
        assert!(e.contains("already runs"), "{name}: {e}");
    }
    std::thread::sleep(Duration::from_millis(500));
    let a = state(&inst, "analytics").unwrap();
    assert_eq!(
        a.1,
        u64::from(hand.id()),
        "the refused process took the slot"
    );
    assert_eq!(a.0, "running");
    let ing = state(&inst, "ingest").unwrap();
    assert_eq!(
        (ing.1, ing.2),
        (ingest_pid, 0),
        "the launcher's ingest was disturbed"
    );

    // Killed, the hand-started stage is not restarted by the launcher; started again by
    // hand it resumes from its cursor, publishing no signal twice.
    let before = i.signals.write_seq();
    shmtrader_shm::send_signal(hand.id(), 9).unwrap();
    let _ = finish(hand, Duration::from_secs(5));
    std::thread::sleep(Duration::from_secs(2));
    let a = state(&inst, "analytics").unwrap();
    assert_eq!(a.2, 0, "the launcher restarted a manual stage");
    let again = cmd(&["analytics", "--instance", &inst])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn analytics again");
    let resumed = poll(Duration::from_secs(10), || {
        (i.signals.write_seq() > before + 5).then_some(())
    });
    assert!(resumed.is_some(), "no signals after the hand restart");
    let seqs: Vec<u64> = (0..i.signals.write_seq())
        .filter_map(|s| i.signals.get(s))
        .map(|s| s.source_seq)
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "a tick's signal was published twice or out of order"
    );

    shmtrader_shm::send_signal(launcher.id(), 15).unwrap();
    let out = finish(launcher, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("is left to you"), "{log}");
    // The hand-started stage stops with the instance.
    let stopped = finish(again, Duration::from_secs(10));
    assert!(
        stopped.status.success(),
        "hand-started analytics did not stop cleanly"
    );
}
