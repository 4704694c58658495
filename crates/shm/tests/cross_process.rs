//! Rings across real processes: the test binary re-executes itself as the producer
//! (`SHM_TEST_ROLE`), the parent is the consumer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use shmtrader_core::Tick;
use shmtrader_shm::control::Control;
use shmtrader_shm::ring::{ring_bytes, Consumer, CursorStore, Producer, Read, Ring};
use shmtrader_shm::Segment;
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
        // The cursor is exactly the restarted producer's next sequence (or one before,
        // if the killed one died with a slot marked busy: it is rewritten).
        let w = ring.write_seq();
        assert!(c.cursor() == w, "cursor {} write_seq {w}", c.cursor());
    }
    assert!(total_read > 0);
    assert_eq!(c.gaps(), 0);
}
