//! Recovery on real files: replay, lifecycle states, torn tails, corruption, refusals.

use super::*;

#[test]
fn replay_rebuilds_lifecycle_states() {
    let t = TempDir::new("replay");
    write_history(&t.file());
    let (j, rec) = Journal::open(&t.file(), "paper", 99).unwrap();
    assert!(!rec.created);
    assert_eq!(rec.truncated_bytes, 0);
    assert_eq!(rec.records, 9);
    let s = j.state();
    assert_eq!(s.instance(), Some("paper"));
    let o1 = s.get(&coid(0, 1, 0)).unwrap();
    assert_eq!(o1.state, OrderState::Filled);
    assert_eq!(o1.exchange_order_id, Some(42));
    assert_eq!(o1.filled_qty, d("0.3"));
    assert_eq!(o1.avg_fill_price(), Some(d("3000.10")));
    assert_eq!(o1.fees, d("0.0900030"));
    let o2 = s.get(&coid(0, 2, 0)).unwrap();
    assert_eq!(o2.state, OrderState::PartiallyFilled);
    assert_eq!(o2.remaining_qty(), d("0.2"));
    let o3 = s.get(&coid(0, 3, 0)).unwrap();
    assert_eq!(o3.state, OrderState::IntentOnly);
    let inflight: Vec<u64> = s.in_flight().map(|o| o.intent.signal_seq).collect();
    assert_eq!(inflight, vec![2, 3]);
    assert_eq!(s.max_signal_seq(0), Some(3));
    assert_eq!(s.max_signal_seq(1), None);
    assert!(s.has_signal(0, 2, 0));
    assert!(!s.has_signal(1, 2, 0));
    assert!(s.has_fill(&coid(0, 1, 0), 101));
}

#[test]
fn lifecycle_terminal_states() {
    let t = TempDir::new("terminal");
    let (mut j, _) = Journal::open(&t.file(), "paper", 1).unwrap();
    for seq in 1..=5 {
        j.append(&intent(seq)).unwrap();
    }
    let id = |s| coid(0, s, 0);
    j.append(&Record::Sent {
        client_order_id: id(1),
        ts_ns: 2,
    })
    .unwrap();
    j.append(&Record::Rejected {
        client_order_id: id(2),
        code: -2019,
        msg: "Margin is insufficient.".into(),
        ts_ns: 2,
    })
    .unwrap();
    j.append(&Record::Ack {
        client_order_id: id(3),
        exchange_order_id: 9,
        status: OrderStatus::New,
        ts_ns: 2,
    })
    .unwrap();
    j.append(&fill(3, 1, "0.1")).unwrap();
    j.append(&Record::Canceled {
        client_order_id: id(3),
        ts_ns: 3,
    })
    .unwrap();
    j.append(&Record::Resolved {
        client_order_id: id(4),
        resolution: Resolution::NotFound,
        ts_ns: 3,
    })
    .unwrap();
    j.append(&Record::Ack {
        client_order_id: id(5),
        exchange_order_id: 10,
        status: OrderStatus::New,
        ts_ns: 2,
    })
    .unwrap();
    j.append(&Record::Resolved {
        client_order_id: id(5),
        resolution: Resolution::Open,
        ts_ns: 3,
    })
    .unwrap();
    j.sync().unwrap();
    drop(j);
    let (j, _) = Journal::open(&t.file(), "paper", 1).unwrap();
    let st = |s| j.state().get(&id(s)).unwrap().state;
    assert_eq!(st(1), OrderState::Sent);
    assert_eq!(st(2), OrderState::Rejected);
    assert_eq!(st(3), OrderState::Canceled);
    assert_eq!(j.state().get(&id(3)).unwrap().filled_qty, d("0.1"));
    assert_eq!(st(4), OrderState::Resolved);
    assert_eq!(
        st(5),
        OrderState::Acked,
        "resolved as still open: keeps working"
    );
    let inflight: Vec<u64> = j.state().in_flight().map(|o| o.intent.signal_seq).collect();
    assert_eq!(inflight, vec![1, 5]);
}

#[test]
fn a_restarted_executor_cannot_send_the_same_signal_twice() {
    let t = TempDir::new("dup");
    write_history(&t.file());
    let (mut j, _) = Journal::open(&t.file(), "paper", 1).unwrap();
    // same signal -> same id -> refused before anything is written
    let len = j.len();
    let e = j.append_durable(&intent(2)).unwrap_err();
    assert!(
        matches!(e, JournalError::Inconsistent { offset: None, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("duplicate client order id"));
    assert_eq!(j.len(), len);
    assert_eq!(std::fs::metadata(t.file()).unwrap().len(), len);
    // duplicate trade id, unknown order, overfill
    assert!(j.append(&fill(1, 100, "0.001")).is_err());
    assert!(j.append(&fill(9, 1, "0.001")).is_err());
    assert!(j
        .append(&fill(2, 201, "0.201"))
        .unwrap_err()
        .to_string()
        .contains("overfill"));
    assert!(j.append(&fill(2, 201, "0.2")).is_ok());
}

#[test]
fn torn_tail_incomplete_frame_is_truncated_and_appends_continue() {
    let t = TempDir::new("torn");
    let offs = write_history(&t.file());
    let full = std::fs::metadata(t.file()).unwrap().len();
    let last = *offs.last().unwrap();
    // crash in the middle of writing the last frame
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(t.file())
        .unwrap();
    f.set_len(last + 11).unwrap();
    drop(f);
    let (mut j, rec) = Journal::open(&t.file(), "paper", 1).unwrap();
    assert_eq!(rec.truncated_bytes, 11);
    assert_eq!(rec.truncated_at, Some(last));
    assert_eq!(rec.records, 8);
    assert_eq!(std::fs::metadata(t.file()).unwrap().len(), last);
    assert!(j.state().get(&coid(0, 3, 0)).is_none());
    // the lost intent was never sent (send happens after the fsync): re-journal it
    j.append_durable(&intent(3)).unwrap();
    assert_eq!(std::fs::metadata(t.file()).unwrap().len(), full);
    drop(j);
    let (_, rec) = Journal::open(&t.file(), "paper", 1).unwrap();
    assert_eq!((rec.records, rec.truncated_bytes), (9, 0));
}

#[test]
fn torn_tail_crc_mismatch_in_the_last_frame_is_truncated() {
    let t = TempDir::new("torncrc");
    let offs = write_history(&t.file());
    let mut bytes = std::fs::read(t.file()).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x5a;
    std::fs::write(t.file(), &bytes).unwrap();
    let (_, rec) = Journal::open(&t.file(), "paper", 1).unwrap();
    assert_eq!(rec.truncated_at, Some(*offs.last().unwrap()));
    assert_eq!(rec.truncated_bytes, n as u64 - offs.last().unwrap());
}

#[test]
fn zero_filled_tail_is_a_torn_tail() {
    let t = TempDir::new("zeros");
    write_history(&t.file());
    let mut bytes = std::fs::read(t.file()).unwrap();
    let n = bytes.len();
    bytes.extend_from_slice(&[0u8; 4096]);
    std::fs::write(t.file(), &bytes).unwrap();
    let (_, rec) = Journal::open(&t.file(), "paper", 1).unwrap();
    assert_eq!(rec.truncated_bytes, 4096);
    assert_eq!(rec.valid_len, n as u64);
}

#[test]
fn corruption_in_the_middle_is_refused_with_its_offset() {
    let t = TempDir::new("middle");
    let offs = write_history(&t.file());
    let original = std::fs::read(t.file()).unwrap();
    // flip a payload byte of the 4th frame (the first fill)
    let mut bytes = original.clone();
    bytes[offs[3] as usize + 12] ^= 0x01;
    std::fs::write(t.file(), &bytes).unwrap();
    let e = Journal::open(&t.file(), "paper", 1).unwrap_err();
    match &e {
        JournalError::Corrupt { offset, reason, .. } => {
            assert_eq!(*offset, offs[3]);
            assert!(reason.contains("CRC mismatch"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other}"),
    }
    assert!(e.to_string().contains(&format!("byte offset {}", offs[3])));
    assert_eq!(
        std::fs::read(t.file()).unwrap(),
        bytes,
        "refused, not truncated"
    );
    // a corrupted length field is caught the same way
    let mut bytes = original.clone();
    bytes[offs[2] as usize] ^= 0x40;
    std::fs::write(t.file(), &bytes).unwrap();
    match Journal::open(&t.file(), "paper", 1).unwrap_err() {
        JournalError::Corrupt { offset, .. } => assert_eq!(offset, offs[2]),
        other => panic!("expected Corrupt, got {other}"),
    }
}

#[test]
fn wrong_magic_and_unknown_version_are_refused() {
    let t = TempDir::new("magic");
    write_history(&t.file());
    let original = std::fs::read(t.file()).unwrap();
    let mut bytes = original.clone();
    bytes[3] = b'X';
    std::fs::write(t.file(), &bytes).unwrap();
    let e = Journal::open(&t.file(), "paper", 1).unwrap_err();
    assert!(matches!(e, JournalError::BadMagic { offset: 3, .. }), "{e}");
    assert!(e.to_string().contains("byte offset 3"));
    for version in [0u32, VERSION + 1, u32::MAX] {
        let mut bytes = original.clone();
        bytes[8..12].copy_from_slice(&version.to_le_bytes());
        std::fs::write(t.file(), &bytes).unwrap();
        let e = Journal::open(&t.file(), "paper", 1).unwrap_err();
        assert!(
            matches!(
                e,
                JournalError::UnsupportedVersion { version: v, offset: 8, .. } if v == version
            ),
            "{e}"
        );
        assert!(
            e.to_string().contains("this build reads versions 1 to 2"),
            "{e}"
        );
        assert_eq!(
            std::fs::read(t.file()).unwrap(),
            bytes,
            "refused, not changed"
        );
    }
    std::fs::write(t.file(), b"{\"not\": \"a journal\"}").unwrap();
    assert!(matches!(
        Journal::open(&t.file(), "paper", 1).unwrap_err(),
        JournalError::BadMagic { offset: 0, .. }
    ));
}

#[test]
fn torn_file_header_is_recreated() {
    let t = TempDir::new("tornheader");
    std::fs::write(t.file(), &format::file_header()[..5]).unwrap();
    let (j, rec) = Journal::open(&t.file(), "paper", 1).unwrap();
    assert_eq!(rec.truncated_bytes, 5);
    assert_eq!(j.state().instance(), Some("paper"));
    assert!(j.len() > FILE_HEADER_LEN as u64);
}

#[test]
fn another_instances_journal_is_refused() {
    let t = TempDir::new("instance");
    write_history(&t.file());
    let before = std::fs::read(t.file()).unwrap();
    let e = Journal::open(&t.file(), "live", 1).unwrap_err();
    assert!(matches!(e, JournalError::InstanceMismatch { .. }), "{e}");
    assert_eq!(
        std::fs::read(t.file()).unwrap(),
        before,
        "refused untouched"
    );
}

#[test]
fn read_journal_does_not_modify() {
    let t = TempDir::new("readonly");
    let offs = write_history(&t.file());
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(t.file())
        .unwrap();
    f.set_len(offs[7] + 3).unwrap();
    drop(f);
    let scan = read_journal(&t.file()).unwrap();
    assert_eq!(scan.records.len(), 8);
    assert_eq!(scan.records[1].0, offs[0]);
    assert_eq!(scan.torn_bytes, 3);
    assert_eq!(std::fs::metadata(t.file()).unwrap().len(), offs[7] + 3);
}
