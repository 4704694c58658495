//! Ingest on the mock exchange's websockets, as a real process under the launcher.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use shmtrader_e2e::*;
use shmtrader_shm::Instance;
use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn run_on_mock(inst: &str, port: u16, duration: &str) -> std::process::Child {
    let mut c = cmd(&[
        "run",
        "--instance",
        inst,
        "--duration",
        duration,
        "--keep-segments",
    ]);
    for (k, v) in port_env(port) {
        c.env(k, v);
    }
    c.env("SHMTRADER_INGEST__SOURCE", "exchange")
        .env("SHMTRADER_MOCK__TRADES_PER_SEC", "600")
        .env("SHMTRADER_VENUE__WEBSOCKET_RECONNECT_DELAY_MS", "50")
        .env("SHMTRADER_INGEST__RECONNECT_MAX_MS", "500")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c.spawn().unwrap()
}

/// Per symbol, the aggregate ids in the ticks ring are strictly consecutive: nothing
/// lost, nothing twice.
fn assert_consecutive(inst: &str) -> (u64, u64) {
    let i = Instance::open(inst).unwrap();
    let n = i.ticks.write_seq();
    assert!(n > 0, "no ticks");
    let mut last: HashMap<u32, u64> = HashMap::new();
    let mut backfilled = 0;
    for seq in 0..n {
        let t = i.ticks.get(seq).expect("tick still in the ring");
        if t.flags & shmtrader_core::Tick::FLAG_BACKFILL != 0 {
            backfilled += 1;
        }
        if let Some(&prev) = last.get(&t.symbol_id) {
            assert_eq!(
                t.agg_id,
                prev + 1,
                "symbol {} at seq {seq}: agg id {} after {prev}",
                t.symbol_id,
                t.agg_id
            );
        }
        last.insert(t.symbol_id, t.agg_id);
    }
    (n, backfilled)
}

#[test]
fn ticks_arrive_from_the_mock_websockets_in_order() {
    let inst = instance("wsrun");
    let _c = Cleanup(inst.clone());
    let child = run_on_mock(&inst, free_port(), "6");
    let out = finish(child, Duration::from_secs(40));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (n, _) = assert_consecutive(&inst);
    assert!(n > 500, "only {n} ticks");
    let i = Instance::open(&inst).unwrap();
    assert!(i.book.write_seq() > 0, "no book tops");
}

#[test]
fn killed_ingest_resumes_and_backfills_without_loss_or_duplicates() {
    let inst = instance("wskill");
    let _c = Cleanup(inst.clone());
    let child = run_on_mock(&inst, free_port(), "14");
    let start = Instant::now();
    let mut kills = 0;
    let mut last_pid = 0;
    while kills < 3 && start.elapsed() < Duration::from_secs(10) {
        let pid = poll(Duration::from_secs(5), || {
            let v = status(&inst)?;
            let s = stage(&v, "ingest");
            let p = s["pid"].as_u64()?;
            (p != last_pid && s["state"] == "running" && s["records_out"].as_u64()? > 50)
                .then_some(p)
        });
        let Some(pid) = pid else { break };
        std::thread::sleep(Duration::from_millis(700));
        shmtrader_shm::send_signal(pid as u32, 9).unwrap();
        last_pid = pid;
        kills += 1;
        // Stay down a moment so trades pile up on the exchange meanwhile.
        std::thread::sleep(Duration::from_millis(400));
    }
    assert_eq!(kills, 3);
    let out = finish(child, Duration::from_secs(40));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (n, backfilled) = assert_consecutive(&inst);
    assert!(n > 1000, "only {n} ticks");
    assert!(backfilled > 0, "nothing was backfilled after three kills");
}
