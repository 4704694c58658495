//! Rings and the command mailbox across real processes: the test binary re-executes
//! itself as the producer or the poster (`SHM_TEST_ROLE`), the parent is the consumer or
//! the executor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use shmtrader_core::Tick;
use shmtrader_shm::control::Control;
use shmtrader_shm::ring::{ring_bytes, Consumer, CursorStore, Producer, Read, Ring};
use shmtrader_shm::{Command as ShmCommand, CommandReport, CommandStatus, Segment, ShmError};
use std::process::{Child, Command};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A record whose content is a pure function of its sequence number, with a checksum
/// word, so a torn or misplaced record is always detected.
fn make(seq: u64) -> Tick {
    let mut t = Tick {
        symbol_id: (seq % 7) as u32,
        side: (seq % 2) as u8,
        flags: 0,
        _pad: 0,
        exchange_ts_ns: seq.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        recv_ts_ns: seq ^ 0xDEAD_BEEF,
        publish_ts_ns: seq << 3,
        price: 60_000.0 + seq as f64 * 0.1,
        qty: (seq % 1000) as f64 * 0.001,
        agg_id: seq,
        last_trade_id: 0,
    };
    t.last_trade_id = checksum(&t);
    t
}

fn checksum(t: &Tick) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for w in [
        t.symbol_id as u64,
        t.side as u64,
        t.exchange_ts_ns,
        t.recv_ts_ns,
        t.publish_ts_ns,
        t.price.to_bits(),
        t.qty.to_bits(),
        t.agg_id,
    ] {
        h = (h ^ w).wrapping_mul(0x100_0000_01b3);
    }
    h
}

fn valid(seq: u64, t: &Tick) -> bool {
    t.last_trade_id == checksum(t) && *t == make(seq)
}

fn unique(tag: &str) -> String {
    format!(
        "/shmtrader-test-{}-{}-{tag}",
        std::process::id(),
        rand_suffix()
    )
}

fn rand_suffix() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t % 1_000_000_007
}

struct Cleanup(Vec<String>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = Segment::unlink(n);
        }
    }
}

fn spawn_child(role: &str, ring: &str, ctl: &str, extra: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        "child_entry",
        "--exact",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env("SHM_TEST_ROLE", role)
    .env("SHM_TEST_RING", ring)
    .env("SHM_TEST_CTL", ctl);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Entry point of the child processes; a no-op in a normal test run.
#[test]
fn child_entry() {
    let Ok(role) = std::env::var("SHM_TEST_ROLE") else {
        return;
    };
    let ring_name = std::env::var("SHM_TEST_RING").unwrap();
    let ctl_name = std::env::var("SHM_TEST_CTL").unwrap();
    if let Some(what) = role.strip_prefix("cmd_") {
        mailbox_child(what, &ctl_name);
        return;
    }
    let n: u64 = std::env::var("SHM_TEST_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let ring: Ring<Tick> = Ring::attach(Arc::new(Segment::open(&ring_name).unwrap())).unwrap();
    let ctl = Control::open(Arc::new(Segment::open(&ctl_name).unwrap())).unwrap();
    let cursor = ctl.cursor_ref(0, 0).unwrap();
    let mut p = Producer::attach(ring.clone()).unwrap();
    let cap = ring.capacity();
    match role.as_str() {
        // Flow-controlled producer: never gets more than cap/2 ahead of the consumer's
        // committed cursor, so the reader "keeps up" by construction.
        "paced" => {
            while p.next_seq() < n {
                let seq = p.next_seq();
                if seq - cursor.cursor.load(Ordering::Acquire) >= cap / 2 {
                    std::hint::spin_loop();
                    continue;
                }
                p.push(&make(seq));
            }
        }
        // Free-running producer: pushes forever (until killed) or n records.
        "free" => {
            while n == 0 || p.next_seq() < n {
                let seq = p.next_seq();
                p.push(&make(seq));
            }
        }
        other => panic!("unknown role {other}"),
    }
}

/// The expected report of the cross-process tests: long enough to span every message
/// word, with multi-byte characters, so a torn or cut read is detected.
fn big_report() -> CommandReport {
    CommandReport {
        status: CommandStatus::Done,
        orders_canceled: 3,
        conditional_canceled: 2,
        positions_closed: 2,
        positions_left_open: 0,
        message: "flattened: BTCUSDT 0.010 closed @ 60000.1, ETHUSDT 0.50 closed @ 3000.2 — \
                  3 orders and 2 stops canceled; journal synced; nothing left open (ok) ✓"
            .to_string(),
    }
}

/// Poster roles: `post` posts a flatten and waits for the whole report; `post_and_die`
/// posts and exits at once; `race` posts at a common start time and exits 0 if it won,
/// 10 if the mailbox was busy.
fn mailbox_child(what: &str, ctl_name: &str) {
    let ctl = Control::open(Arc::new(Segment::open(ctl_name).unwrap())).unwrap();
    match what {
        "post" => {
            let seq = ctl.post_command(ShmCommand::Flatten).unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if let Some(r) = ctl.command_report(seq) {
                    assert_eq!(r, big_report(), "report read across processes");
                    println!("child got report of {seq}");
                    return;
                }
                assert!(Instant::now() < deadline, "no report for {seq}");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        "post_and_die" => {
            let seq = ctl.post_command(ShmCommand::StopEntries).unwrap();
            println!("posted {seq}");
            // Exit without waiting: the poster is gone before anyone takes the command.
            std::process::exit(0);
        }
        "race" => {
            let start: u64 = std::env::var("SHM_TEST_START_NS").unwrap().parse().unwrap();
            // Sleep until just before the start, spin the last stretch: the posts land
            // together without burning the cores other tests run on.
            let now = shmtrader_shm::clock::mono_ns();
            if start > now + 2_000_000 {
                std::thread::sleep(Duration::from_nanos(start - now - 2_000_000));
            }
            while shmtrader_shm::clock::mono_ns() < start {
                std::hint::spin_loop();
            }
            match ctl.post_command(ShmCommand::Flatten) {
                Ok(_) => std::process::exit(0),
                Err(ShmError::CommandBusy { .. }) => std::process::exit(10),
                Err(e) => panic!("unexpected {e}"),
            }
        }
        other => panic!("unknown mailbox role {other}"),
    }
}

/// The executor side of the cross-process tests: waits for a command.
fn take_command(ctl: &Control) -> (u64, ShmCommand) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(c) = ctl.pending_command(0) {
            return c;
        }
        assert!(Instant::now() < deadline, "no command posted");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn child_posts_parent_executes_and_child_reads_the_whole_report() {
    let (rn, cn, _ring, ctl, _clean) = setup(16);
    let mut child = spawn_child("cmd_post", &rn, &cn, &[]);
    let (seq, cmd) = take_command(&ctl);
    assert_eq!(cmd, ShmCommand::Flatten);
    assert_eq!(ctl.mailbox().taker_pid, std::process::id());
    // While it executes, a second poster is told so.
    let e = ctl.post_command(ShmCommand::Resume).unwrap_err();
    assert!(e.to_string().contains("being executed"), "{e}");
    ctl.complete_command(seq, &big_report()).unwrap();
    assert!(
        child.wait().unwrap().success(),
        "the poster saw a wrong report"
    );
    assert_eq!(ctl.command_report(seq), Some(big_report()));
}

#[test]
fn command_of_a_poster_that_died_is_still_executed() {
    let (rn, cn, _ring, ctl, _clean) = setup(16);
    let mut child = spawn_child("cmd_post_and_die", &rn, &cn, &[]);
    assert!(child.wait().unwrap().success());
    let (seq, cmd) = take_command(&ctl);
    assert_eq!(cmd, ShmCommand::StopEntries);
    ctl.complete_command(
        seq,
        &CommandReport::new(CommandStatus::Done, "entries stopped"),
    )
    .unwrap();
    assert_eq!(ctl.command_report(seq).unwrap().message, "entries stopped");
    // The mailbox is free again.
    assert_eq!(ctl.post_command(ShmCommand::Resume).unwrap(), seq + 1);
}

#[test]
fn posters_in_several_processes_race_and_exactly_one_wins() {
    const POSTERS: usize = 4;
    let (rn, cn, _ring, ctl, _clean) = setup(16);
    let start = shmtrader_shm::clock::mono_ns() + 1_500_000_000;
    let children: Vec<Child> = (0..POSTERS)
        .map(|_| {
            spawn_child(
                "cmd_race",
                &rn,
                &cn,
                &[("SHM_TEST_START_NS", start.to_string())],
            )
        })
        .collect();
    let codes: Vec<i32> = children
        .into_iter()
        .map(|mut c| c.wait().unwrap().code().unwrap_or(-1))
        .collect();
    assert_eq!(codes.iter().filter(|&&c| c == 0).count(), 1, "{codes:?}");
    assert_eq!(
        codes.iter().filter(|&&c| c == 10).count(),
        POSTERS - 1,
        "{codes:?}"
    );
    let m = ctl.mailbox();
    assert_eq!((m.seq, m.command), (1, Some(ShmCommand::Flatten)));
}

fn setup(cap: u64) -> (String, String, Ring<Tick>, Control, Cleanup) {
    let rn = unique("ring");
    let cn = unique("ctl");
    let clean = Cleanup(vec![rn.clone(), cn.clone()]);
    let ring: Ring<Tick> = Ring::create(
        Arc::new(Segment::create(&rn, ring_bytes::<Tick>(cap)).unwrap()),
        cap,
    )
    .unwrap();
    let ctl = Control::create(
        Arc::new(Segment::create(&cn, Control::bytes()).unwrap()),
        "test",
        &[],
        0,
    )
    .unwrap();
    (rn, cn, ring, ctl, clean)
}

#[test]
fn ten_million_records_arrive_exactly_once_in_order() {
    const N: u64 = 10_000_000;
    let (rn, cn, ring, ctl, _clean) = setup(1 << 16);
    let mut c = Consumer::new(ring, CursorStore::Shared(ctl.cursor_ref(0, 0).unwrap()));
    let mut child = spawn_child("paced", &rn, &cn, &[("SHM_TEST_N", N.to_string())]);
    let mut expected = 0u64;
    let deadline = Instant::now() + Duration::from_secs(300);
    while expected < N {
        match c.read() {
            Read::Record(seq, t) => {
                assert_eq!(seq, expected, "out of order");
                assert!(valid(seq, &t), "corrupt record at {seq}");
                expected += 1;
                if expected.is_multiple_of(1024) {
                    c.commit();
                }
            }
            Read::Gap(n) => panic!("unexpected gap of {n} at {expected}"),
            Read::Empty => {
                c.commit();
                assert!(Instant::now() < deadline, "timed out at {expected}");
                c.wait(1000, false, Duration::from_millis(50));
            }
        }
    }
    c.commit();
    assert!(child.wait().unwrap().success());
    assert_eq!(c.gaps(), 0);
    assert!(matches!(c.read(), Read::Empty));
}

#[test]
fn lapped_reader_across_processes_sees_exact_gaps_and_never_a_torn_record() {
    const N: u64 = 3_000_000;
    let (rn, cn, ring, _ctl, _clean) = setup(1 << 10);
    let mut c = Consumer::new(ring.clone(), CursorStore::Private(0));
    let mut child = spawn_child("free", &rn, &cn, &[("SHM_TEST_N", N.to_string())]);
    let (mut records, mut gaps) = (0u64, 0u64);
    let mut next_expected = 0u64;
    loop {
        match c.read() {
            Read::Record(seq, t) => {
                assert_eq!(seq, next_expected);
                assert!(valid(seq, &t), "torn/corrupt record at {seq}");
                records += 1;
                next_expected = seq + 1;
                // A deliberately slow reader.
                if seq.is_multiple_of(64) {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
            Read::Gap(n) => {
                assert!(n > 0);
                gaps += n;
                next_expected += n;
            }
            Read::Empty => {
                if c.cursor() >= N {
                    break;
                }
                std::hint::spin_loop();
            }
        }
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(
        records + gaps,
        N,
        "every sequence is either read or counted as lost"
    );
    assert_eq!(c.cursor(), N);
    assert!(gaps > 0, "the reader was meant to be lapped");
    println!("records={records} gaps={gaps}");
}

#[test]
fn producer_killed_mid_stream_then_restarted_continues_without_garbage() {
    let (rn, cn, ring, _ctl, _clean) = setup(1 << 20);
    let mut c = Consumer::new(ring.clone(), CursorStore::Private(0));
    let mut total_read = 0u64;
    for round in 0..8u64 {
        let mut child = spawn_child("free", &rn, &cn, &[]);
        // Let it run a random-ish time, reading meanwhile, then SIGKILL it.
        let run_for = Duration::from_millis(5 + (round * 7) % 23);
        let start = Instant::now();
        while start.elapsed() < run_for {
            if let Read::Record(seq, t) = c.read() {
                assert!(valid(seq, &t), "garbage at {seq}");
                total_read += 1;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // Drain what the dead producer completed; must neither hang nor return garbage.
        let drain_deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match c.read() {
                Read::Record(seq, t) => {
                    assert!(valid(seq, &t), "garbage at {seq}");
                    total_read += 1;
                }
                Read::Gap(_) => {}
                Read::Empty => {
                    // A timed wait returns instead of hanging on a dead producer.
                    let t0 = Instant::now();
                    let got = c.wait(100, false, Duration::from_millis(20));
                    assert!(t0.elapsed() < Duration::from_secs(2));
                    if !got {
                        break;
                    }
                }
            }
            assert!(Instant::now() < drain_deadline);
        }
        // The cursor is exactly where the restarted producer will write next: write_seq
        // (also when the killed one died with a slot marked busy: it is rewritten), or
        // write_seq + 1 when it died after publishing record write_seq's stamp but
        // before advancing write_seq — the reader got that record, and
        // `Producer::attach` skips past it.
        let w = ring.write_seq();
        let died_before_advancing = c.cursor() == w + 1 && ring.get(w).is_some();
        assert!(
            c.cursor() == w || died_before_advancing,
            "cursor {} write_seq {w}",
            c.cursor()
        );
    }
    assert!(total_read > 0);
    assert_eq!(c.gaps(), 0);
}
