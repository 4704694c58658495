use super::*;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Barrier};

const S: u64 = 1_000_000_000;
const LEASE: Duration = Duration::from_secs(5);

fn me() -> u32 {
    std::process::id()
}

fn report(n: u32, msg: &str) -> CommandReport {
    CommandReport {
        status: CommandStatus::Done,
        orders_canceled: n,
        conditional_canceled: n + 1,
        positions_closed: n + 2,
        positions_left_open: n + 3,
        message: msg.to_string(),
    }
}

#[test]
fn request_word_round_trips() {
    let r = Req {
        phase: PHASE_TAKEN,
        code: 5,
        seq: SEQ_MAX,
        lease_s: u64::from(u32::MAX),
    };
    assert_eq!(Req::unpack(r.pack()), r);
    for c in [
        Command::StopEntries,
        Command::Resume,
        Command::Flatten,
        Command::KillSwitch { on: false },
        Command::KillSwitch { on: true },
    ] {
        assert_eq!(Command::from_code(c.code()), Some(c));
        assert!(c.code() != 0 && c.code() < 16);
    }
    assert_eq!(Command::from_code(0), None);
    for s in [
        CommandStatus::Done,
        CommandStatus::Refused,
        CommandStatus::Failed,
    ] {
        assert_eq!(CommandStatus::from_code(s.code()), Some(s));
    }
}

#[test]
fn post_take_complete_round_trip() {
    let m = Mailbox::new();
    assert_eq!(m.snapshot(0).phase, CommandPhase::Empty);
    assert_eq!(m.take(0, me(), 0), None);
    let seq = m.post(Command::Flatten, LEASE, 100 * S).unwrap();
    assert_eq!(seq, 1);
    assert!(m.waiting(0));
    let snap = m.snapshot(100 * S);
    assert_eq!(
        (snap.phase, snap.command),
        (CommandPhase::Pending, Some(Command::Flatten))
    );
    assert_eq!(snap.lease_left, LEASE);
    assert_eq!(m.report(seq), None);
    assert_eq!(m.take(0, me(), 0), Some((1, Command::Flatten)));
    // Taken: the executor passes the seq it is working on and is not handed it again.
    assert!(!m.waiting(1));
    assert_eq!(m.take(1, me(), 0), None);
    assert_eq!(m.snapshot(100 * S).phase, CommandPhase::Executing);
    assert_eq!(m.snapshot(100 * S).taker_pid, me());
    m.complete(1, &report(2, "closed BTCUSDT"), 7).unwrap();
    assert_eq!(m.report(1), Some(report(2, "closed BTCUSDT")));
    let snap = m.snapshot(100 * S);
    assert_eq!(snap.phase, CommandPhase::Completed);
    let last = snap.last_report.unwrap();
    assert_eq!(
        (last.seq, last.command, last.completed_ns),
        (1, Some(Command::Flatten), 7)
    );
    // Completing twice is an error; nothing is pending any more.
    assert!(matches!(
        m.complete(1, &report(0, ""), 8),
        Err(ShmError::CommandNotPending { .. })
    ));
    assert_eq!(m.take(0, me(), 0), None);
    // The next post gets the next sequence number.
    assert_eq!(m.post(Command::Resume, LEASE, 101 * S).unwrap(), 2);
}

#[test]
fn pending_command_blocks_posts_until_its_lease_expires_then_is_superseded() {
    let m = Mailbox::new();
    let seq = m.post(Command::StopEntries, LEASE, 100 * S).unwrap();
    let e = m.post(Command::Flatten, LEASE, 104 * S).unwrap_err();
    assert!(matches!(e, ShmError::CommandBusy { seq: 1, .. }), "{e}");
    assert!(e.to_string().contains("stop-entries"), "{e}");
    assert!(e.to_string().contains("not taken"), "{e}");
    // Nobody took it (executor down): still pending, and still executable...
    assert!(m.waiting(0));
    // ...until a post after its lease replaces it.
    let seq2 = m.post(Command::Flatten, LEASE, 105 * S).unwrap();
    assert_eq!(seq2, seq + 1);
    assert_eq!(m.take(0, me(), 0), Some((seq2, Command::Flatten)));
}

#[test]
fn taken_command_by_a_live_executor_stays_busy_past_its_lease() {
    let m = Mailbox::new();
    let seq = m.post(Command::Flatten, LEASE, 100 * S).unwrap();
    m.take(0, me(), 0).unwrap();
    let e = m.post(Command::Resume, LEASE, 1000 * S).unwrap_err();
    assert!(e.to_string().contains("being executed"), "{e}");
    m.complete(seq, &report(0, "ok"), 1).unwrap();
    m.post(Command::Resume, LEASE, 1000 * S).unwrap();
}

#[test]
fn command_taken_by_a_dead_executor_is_taken_again_or_superseded_after_the_lease() {
    let m = Mailbox::new();
    let seq = m.post(Command::Flatten, LEASE, 100 * S).unwrap();
    // Taken by a process that is not alive (pid beyond pid_max).
    assert_eq!(m.take(0, u32::MAX - 1, 0), Some((seq, Command::Flatten)));
    // Within the lease: busy (its restart will resume it).
    let e = m.post(Command::Resume, LEASE, 101 * S).unwrap_err();
    assert!(e.to_string().contains("died"), "{e}");
    // The restarted executor (after_seq 0) is handed the same command again.
    assert_eq!(m.take(0, u32::MAX - 1, 0), Some((seq, Command::Flatten)));
    // Past the lease with the taker still dead, a new post may replace it.
    assert_eq!(m.post(Command::Resume, LEASE, 106 * S).unwrap(), seq + 1);
}

#[test]
fn executor_that_died_after_reporting_is_not_asked_to_run_the_command_again() {
    let m = Mailbox::new();
    let seq = m.post(Command::Flatten, LEASE, 100 * S).unwrap();
    m.take(0, me(), 0).unwrap();
    // Report published, then death before the DONE transition.
    m.write_report(seq, Command::Flatten.code(), &report(1, "flat"), 5);
    assert_eq!(m.snapshot(100 * S).phase, CommandPhase::Executing);
    assert_eq!(m.take(0, me(), 0), None);
    assert_eq!(m.snapshot(100 * S).phase, CommandPhase::Completed);
    assert_eq!(m.report(seq), Some(report(1, "flat")));
}

#[test]
fn long_messages_are_cut_on_a_character_boundary() {
    let m = Mailbox::new();
    let seq = m.post(Command::Flatten, LEASE, 0).unwrap();
    m.take(0, me(), 0).unwrap();
    // 'é' is two bytes: 101 of them are 202 bytes; the cut must not split one.
    let long = "é".repeat(101);
    m.complete(seq, &report(0, &long), 1).unwrap();
    let got = m.report(seq).unwrap().message;
    assert_eq!(got, "é".repeat(100));
    assert_eq!(truncate_utf8("abc", 2), "ab");
    assert_eq!(truncate_utf8("", 2), "");
}

/// Many threads post at once, again and again: each round exactly one wins and
/// every other one is told the mailbox is busy with the winner's command.
#[test]
fn racing_posters_exactly_one_wins() {
    const POSTERS: usize = 8;
    const ROUNDS: usize = 200;
    let m = Arc::new(Mailbox::new());
    let barrier = Arc::new(Barrier::new(POSTERS + 1));
    let handles: Vec<_> = (0..POSTERS)
        .map(|i| {
            let (m, barrier) = (m.clone(), barrier.clone());
            std::thread::spawn(move || {
                let cmd = if i % 2 == 0 {
                    Command::Flatten
                } else {
                    Command::StopEntries
                };
                let mut wins = Vec::new();
                for _ in 0..ROUNDS {
                    barrier.wait();
                    match m.post(cmd, LEASE, 100 * S) {
                        Ok(seq) => wins.push(seq),
                        Err(ShmError::CommandBusy { .. }) => {}
                        Err(e) => panic!("unexpected {e}"),
                    }
                    barrier.wait();
                }
                wins
            })
        })
        .collect();
    for round in 0..ROUNDS as u64 {
        barrier.wait();
        barrier.wait();
        // All posters are done with this round: exactly one command is pending.
        let (seq, _) = m.take(0, me(), 0).expect("one command posted");
        assert_eq!(seq, round + 1);
        m.complete(seq, &report(0, ""), 0).unwrap();
    }
    let mut all: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (1..=ROUNDS as u64).collect::<Vec<_>>());
}

/// The executor completes commands as fast as it can, each with a report whose
/// counts and message are derived from its sequence number; a reader polling on
/// another thread must only ever see whole reports (never counts of one command
/// with the message of another, never half a message).
#[test]
fn racing_reader_never_sees_a_torn_report() {
    fn expected(seq: u64) -> CommandReport {
        let c = (seq % 50_000) as u32;
        // Messages of varying length and content, some at the size limit.
        let ch = char::from(b'a' + (seq % 26) as u8);
        let len = (seq as usize * 37) % (COMMAND_MESSAGE_BYTES + 1);
        CommandReport {
            status: CommandStatus::Done,
            orders_canceled: c,
            conditional_canceled: c.wrapping_mul(3),
            positions_closed: c ^ 0x55,
            positions_left_open: c / 2,
            message: std::iter::repeat_n(ch, len).collect(),
        }
    }
    let m = Arc::new(Mailbox::new());
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (m, stop) = (m.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let seq = m.post(Command::Flatten, LEASE, 0).unwrap();
                let (s, _) = m.take(0, me(), 0).unwrap();
                assert_eq!(s, seq);
                m.complete(seq, &expected(seq), seq).unwrap();
                n += 1;
            }
            n
        })
    };
    let (mut checked, mut last) = (0u64, 0u64);
    let t0 = std::time::Instant::now();
    while checked < 20_000 && t0.elapsed() < Duration::from_secs(20) {
        if let Some(c) = m.last_report() {
            assert_eq!(c.report, expected(c.seq), "torn report at seq {}", c.seq);
            assert_eq!(c.completed_ns, c.seq);
            assert!(c.seq >= last || last >= SEQ_MAX - 1, "went backwards");
            last = c.seq;
            checked += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(
        checked > 0 && written > 1,
        "checked {checked} written {written}"
    );
}
