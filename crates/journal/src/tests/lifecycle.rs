//! Conditional orders, launches, external fills and risk state: state rules, the records
//! `check` refuses, and their recovery from real files.

use super::*;

/// Launch 1 with one entry (signal 1, filled) and its stop (leg 128, no ack yet).
fn launched() -> Vec<Record> {
    vec![
        header(),
        launch(1, 100),
        Record::Intent(market(1, 1, 0)),
        fill_of(&coid(1, 1, 0), 1, "0.3", Some("0")),
        Record::Intent(stop(1, 1, FIRST_ALGO_LEG)),
    ]
}

fn stop_id() -> String {
    coid(1, 1, FIRST_ALGO_LEG)
}

#[test]
fn a_stop_is_in_flight_until_acked_then_rests_until_triggered() {
    let id = stop_id();
    // (record, state after it, in flight, in open_algos)
    let steps = [
        (None, OrderState::IntentOnly, true, true),
        (
            Some(Record::Sent {
                client_order_id: id.clone(),
                ts_ns: 1,
            }),
            OrderState::Sent,
            true,
            true,
        ),
        // acknowledged: resting on the exchange, working, not unsettled
        (Some(ack(&id, 77)), OrderState::Resting, false, true),
        (
            Some(algo_update(&id, AlgoStatus::New, None)),
            OrderState::Resting,
            false,
            true,
        ),
        // triggered: a market order in the matching engine, unsettled again
        (
            Some(algo_update(&id, AlgoStatus::Triggering, None)),
            OrderState::Acked,
            true,
            true,
        ),
        (
            Some(algo_update(&id, AlgoStatus::Triggered, Some(9_001))),
            OrderState::Acked,
            true,
            true,
        ),
        (
            Some(fill_of(&id, 10, "0.1", Some("-3.5"))),
            OrderState::PartiallyFilled,
            true,
            true,
        ),
        (
            Some(fill_of(&id, 11, "0.2", Some("-7"))),
            OrderState::Filled,
            false,
            false,
        ),
        (
            Some(algo_update(&id, AlgoStatus::Finished, Some(9_001))),
            OrderState::Filled,
            false,
            false,
        ),
    ];
    let mut st = state_of(&launched());
    for (rec, state, in_flight, open) in steps {
        if let Some(r) = &rec {
            st.check(r).unwrap();
            st.apply(r);
        }
        let o = st.get(&id).unwrap();
        assert!(o.is_algo());
        assert_eq!(o.state, state, "after {rec:?}");
        assert_eq!(
            st.in_flight().any(|o| o.intent.client_order_id == id),
            in_flight
        );
        assert_eq!(
            st.open_algos().any(|o| o.intent.client_order_id == id),
            open
        );
    }
    let o = st.get(&id).unwrap();
    assert_eq!(
        (o.algo_status, o.actual_order_id, o.exchange_order_id),
        (Some(AlgoStatus::Finished), Some(9_001), Some(77))
    );
    assert_eq!(o.realized_pnl, d("-10.5"));
    assert_eq!(st.by_algo_id(77).unwrap().intent.client_order_id, id);
    assert_eq!(
        st.by_actual_order_id(9_001).unwrap().intent.client_order_id,
        id
    );
    assert!(st.by_exchange_id(77).is_none(), "algoId is not an orderId");
    assert!(st.by_exchange_id(9_001).is_none());
}

#[test]
fn terminal_algo_statuses_end_the_stop() {
    let cases = [
        (AlgoStatus::Canceled, OrderState::Canceled),
        (AlgoStatus::Expired, OrderState::Canceled),
        (AlgoStatus::Rejected, OrderState::Rejected),
        // finished with nothing journaled as filled: done; fills may still follow
        (AlgoStatus::Finished, OrderState::Canceled),
    ];
    for (status, state) in cases {
        let mut recs = launched();
        recs.push(ack(&stop_id(), 77));
        recs.push(algo_update(&stop_id(), status, None));
        let st = state_of(&recs);
        assert_eq!(st.get(&stop_id()).unwrap().state, state, "{status:?}");
        assert_eq!(st.open_algos().count(), 0, "{status:?}");
        assert_eq!(st.in_flight().count(), 0, "{status:?}");
    }
}

#[test]
fn a_late_algo_status_never_moves_the_stop_back() {
    let cases = [
        (
            AlgoStatus::Triggered,
            AlgoStatus::New,
            AlgoStatus::Triggered,
        ),
        (AlgoStatus::Canceled, AlgoStatus::New, AlgoStatus::Canceled),
        (
            AlgoStatus::Finished,
            AlgoStatus::Canceled,
            AlgoStatus::Finished,
        ),
        (
            AlgoStatus::New,
            AlgoStatus::Triggering,
            AlgoStatus::Triggering,
        ),
    ];
    for (first, late, kept) in cases {
        let mut recs = launched();
        recs.push(algo_update(&stop_id(), first, None));
        recs.push(algo_update(&stop_id(), late, None));
        let st = state_of(&recs);
        assert_eq!(
            st.get(&stop_id()).unwrap().algo_status,
            Some(kept),
            "{first:?} then {late:?}"
        );
    }
}

#[test]
fn an_algo_update_without_an_ack_proves_the_stop_exists() {
    let mut recs = launched();
    recs.push(algo_update(&stop_id(), AlgoStatus::New, None));
    let st = state_of(&recs);
    let o = st.get(&stop_id()).unwrap();
    assert!(o.sent);
    assert_eq!(o.state, OrderState::Resting);
    assert_eq!(st.in_flight().count(), 0);
}

#[test]
fn a_position_outliving_its_launch_gets_further_legs_of_its_signal() {
    let mut recs = launched();
    recs.push(launch(2, 200));
    // the stop of launch 1's signal 1 is replaced in launch 2, and the position closed
    recs.push(Record::Intent(stop(1, 1, 129)));
    recs.push(Record::Intent(Intent {
        side: Side::Sell,
        reduce_only: true,
        ..market(1, 1, 1)
    }));
    // a version-1 position (launch 0) too
    recs.push(Record::Intent(market(0, 7, 1)));
    let st = state_of(&recs);
    assert!(st.has_signal(1, 1, 129) && st.has_signal(1, 1, 1) && st.has_signal(0, 7, 1));
    assert_eq!(st.next_algo_leg(1, 1), Some(130));
    assert!(st.is_known_launch(1) && st.is_known_launch(0) && !st.is_known_launch(3));
}

#[test]
fn ordinary_and_algo_ids_are_looked_up_separately_and_the_last_ack_wins() {
    let mut recs = launched();
    recs.push(Record::Intent(market(1, 1, 1)));
    recs.push(ack(&coid(1, 1, 1), 500));
    recs.push(ack(&stop_id(), 500));
    recs.push(ack(&coid(1, 1, 0), 600));
    recs.push(ack(&coid(1, 1, 1), 600));
    let st = state_of(&recs);
    assert_eq!(
        st.by_algo_id(500).unwrap().intent.client_order_id,
        stop_id()
    );
    assert_eq!(
        st.by_exchange_id(500).unwrap().intent.client_order_id,
        coid(1, 1, 1)
    );
    assert_eq!(
        st.by_exchange_id(600).unwrap().intent.client_order_id,
        coid(1, 1, 1)
    );
    assert!(st.by_algo_id(600).is_none());
}

#[test]
fn signals_are_deduplicated_per_launch() {
    let mut recs = launched();
    recs.push(Record::Intent(market(1, 5, 0)));
    recs.push(launch(2, 200));
    // launch 2's signal 5 is not launch 1's
    recs.push(Record::Intent(market(2, 5, 0)));
    recs.push(Record::Intent(market(2, 5, 1)));
    recs.push(Record::Intent(stop(2, 5, 128)));
    let st = state_of(&recs);
    assert!(st.has_signal(1, 5, 0) && st.has_signal(2, 5, 0));
    assert!(!st.has_signal(2, 1, 0));
    assert_eq!(
        (st.max_signal_seq(1), st.max_signal_seq(2)),
        (Some(5), Some(5))
    );
    assert_eq!(st.max_signal_seq(3), None);
    assert_eq!(st.next_exit_leg(2, 5), Some(2));
    assert_eq!(st.next_algo_leg(2, 5), Some(129));
    assert_eq!(st.next_exit_leg(2, 6), Some(1));
    assert_eq!(st.next_algo_leg(1, 1), Some(129));
    assert_eq!((st.last_launch(), st.current_launch()), (Some((2, 200)), 2));
}

#[test]
fn records_that_contradict_the_history_are_refused() {
    let mut wrong_id = market(1, 2, 0);
    wrong_id.client_order_id = coid(1, 3, 0);
    let mut other_instance_fill = liquidation(1, 3);
    other_instance_fill.client_order_id = coid(1, 1, 0);
    let cases: Vec<(&str, Record, &str)> = vec![
        (
            "algo update of an unknown order",
            algo_update(&coid(1, 9, 128), AlgoStatus::New, None),
            "algo_update for unknown client order id",
        ),
        (
            "algo update of a market order",
            algo_update(&coid(1, 1, 0), AlgoStatus::New, None),
            "not a conditional order",
        ),
        (
            "fill of an unknown order",
            fill_of(&coid(1, 9, 0), 1, "0.1", None),
            "fill for unknown client order id",
        ),
        (
            "fill overflowing realized PnL",
            fill_of(&stop_id(), 1, "0.1", Some("79228162514264337593543950335")),
            "overflows",
        ),
        (
            "external fill of one of our orders",
            Record::ExternalFill(other_instance_fill),
            "an order of this journal",
        ),
        (
            "external fill of nothing",
            Record::ExternalFill(ExternalFill {
                qty: Decimal::ZERO,
                ..liquidation(1, 2)
            }),
            "with qty 0",
        ),
        ("launch 0", launch(0, 300), "reserved"),
        (
            "launch not above the last",
            launch(1, 300),
            "not above the last launch 1",
        ),
        (
            "risk state with NaN equity",
            Record::RiskState(RiskState {
                peak_equity: f64::NAN,
                day: 1,
                day_start_equity: 1.0,
                kill_switch: false,
                halted: false,
                ts_ns: 1,
            }),
            "risk state with peak equity NaN",
        ),
        (
            "intent of a launch not journaled yet",
            Record::Intent(market(2, 0, 0)),
            "launch 2, which was never journaled (the current launch is 1)",
        ),
        (
            "intent whose id encodes another signal",
            Record::Intent(wrong_id),
            "but its id says launch 1 signal 3 leg 0",
        ),
        (
            "stop without a trigger price",
            Record::Intent(Intent {
                trigger_price: None,
                ..stop(1, 2, 128)
            }),
            "without a positive trigger price",
        ),
        (
            "stop on an exit leg",
            Record::Intent(stop(1, 2, 5)),
            "conditional orders use legs 128..=255",
        ),
        (
            "market order with a trigger price",
            Record::Intent(Intent {
                trigger_price: Some(d("1")),
                ..market(1, 2, 0)
            }),
            "MARKET intent",
        ),
        ("second header", header(), "second header record"),
    ];
    let mut recs = launched();
    recs.push(Record::ExternalFill(liquidation(1, 1)));
    recs.push(fill_of(
        &stop_id(),
        2,
        "0.1",
        Some("79228162514264337593543950335"),
    ));
    let st = state_of(&recs);
    for (case, rec, expected) in cases {
        let e = st.check(&rec).expect_err(case);
        assert!(e.contains(expected), "{case}: {e:?} lacks {expected:?}");
    }
    // before the header, nothing but the header
    let e = JournalState::default()
        .check(&Record::ExternalFill(liquidation(1, 1)))
        .unwrap_err();
    assert!(
        e.contains("external_fill record before the header record"),
        "{e}"
    );
}

#[test]
fn external_fills_need_no_intent_and_are_deduplicated_by_order_and_trade() {
    let t = TempDir::new("external");
    let (mut j, _) = Journal::open(&t.file(), "paper", 1).unwrap();
    j.append(&Record::ExternalFill(liquidation(10, 1))).unwrap();
    // same trade id, another order; same order, another trade; an empty client id
    j.append(&Record::ExternalFill(liquidation(11, 1))).unwrap();
    j.append(&Record::ExternalFill(ExternalFill {
        client_order_id: String::new(),
        kind: ExternalKind::Unknown,
        ..liquidation(10, 2)
    }))
    .unwrap();
    j.sync().unwrap();
    drop(j);
    let (mut j, _) = Journal::open(&t.file(), "paper", 1).unwrap();
    let s = j.state();
    assert!(s.has_external_fill(10, 1) && s.has_external_fill(11, 1) && s.has_external_fill(10, 2));
    assert!(!s.has_external_fill(11, 2));
    assert_eq!(
        s.external_fills().map(|x| x.kind).collect::<Vec<_>>(),
        [
            ExternalKind::Liquidation,
            ExternalKind::Liquidation,
            ExternalKind::Unknown
        ]
    );
    assert_eq!(s.len(), 0, "no orders");
    let len = j.len();
    let e = j
        .append(&Record::ExternalFill(liquidation(10, 1)))
        .unwrap_err();
    assert!(e.to_string().contains("duplicate external fill"), "{e}");
    assert_eq!(std::fs::metadata(t.file()).unwrap().len(), len);
}

#[test]
fn the_last_risk_state_is_restored_after_reopening() {
    let t = TempDir::new("risk");
    let (mut j, _) = Journal::open(&t.file(), "paper", 1).unwrap();
    assert_eq!(j.state().risk_state(), None);
    let first = RiskState {
        peak_equity: 10_000.0,
        day: 20_500,
        day_start_equity: 9_800.25,
        kill_switch: false,
        halted: false,
        ts_ns: 1,
    };
    let second = RiskState {
        peak_equity: 10_250.5,
        day: 20_501,
        day_start_equity: 10_100.0,
        kill_switch: true,
        halted: true,
        ts_ns: 2,
    };
    j.append(&Record::RiskState(first)).unwrap();
    j.append_durable(&Record::RiskState(second)).unwrap();
    drop(j);
    let (j, _) = Journal::open(&t.file(), "paper", 1).unwrap();
    assert_eq!(j.state().risk_state(), Some(&second));
}

#[test]
fn a_restart_within_a_launch_gets_its_launch_back_and_cannot_resend() {
    let t = TempDir::new("launch");
    let now = 1_800_000_000_000_000_000;
    let (mut j, _) = Journal::open(&t.file(), "paper", now).unwrap();
    let (l, is_new) = next_launch(j.state(), 42, now);
    assert!(is_new);
    j.append_durable(&launch(l, 42)).unwrap();
    j.append_durable(&Record::Intent(market(l, 0, 0))).unwrap();
    drop(j);
    // the executor restarts on the same segments
    let (mut j, _) = Journal::open(&t.file(), "paper", now + 1).unwrap();
    assert_eq!(next_launch(j.state(), 42, now + 1), (l, false));
    assert!(j.state().has_signal(l, 0, 0));
    let e = j
        .append_durable(&Record::Intent(market(l, 0, 0)))
        .unwrap_err();
    assert!(e.to_string().contains("duplicate client order id"), "{e}");
    // the launcher recreated the segments: a new launch, signal 0 again
    let (l2, is_new) = next_launch(j.state(), 43, now + 2);
    assert!(is_new && l2 > l);
    j.append_durable(&launch(l2, 43)).unwrap();
    j.append_durable(&Record::Intent(market(l2, 0, 0))).unwrap();
    assert_ne!(coid(l, 0, 0), coid(l2, 0, 0));
}

/// Every new kind as the last frame: a crash inside it is a torn tail, cut off; the
/// records before it stay.
#[test]
fn a_torn_last_frame_of_every_new_kind_is_truncated() {
    let lasts = vec![
        launch(2, 200),
        Record::Intent(stop(1, 2, 128)),
        fill_of(&coid(1, 1, 0), 2, "0.1", Some("1.5")),
        Record::RiskState(RiskState {
            peak_equity: 1.0,
            day: 2,
            day_start_equity: 3.0,
            kill_switch: true,
            halted: false,
            ts_ns: 4,
        }),
        Record::ExternalFill(liquidation(5, 6)),
        algo_update(&stop_id(), AlgoStatus::Triggered, Some(7)),
    ];
    let mut base = launched();
    base.remove(3); // the entry stays unfilled, so a fill of it may come last
    for last in lasts {
        let t = TempDir::new(&format!("torn-{}", last.kind()));
        let (mut j, _) = Journal::open(&t.file(), "paper", 1).unwrap();
        for r in &base[1..] {
            j.append(r).unwrap();
        }
        let at = j.append_durable(&last).unwrap();
        let full = j.len();
        drop(j);
        let intact = std::fs::read(t.file()).unwrap();
        for cut in [at + 1, at + 8, (at + full) / 2, full - 1] {
            std::fs::write(t.file(), &intact[..cut as usize]).unwrap();
            let (j, rec) = Journal::open(&t.file(), "paper", 1).unwrap();
            assert_eq!(
                (rec.truncated_at, rec.truncated_bytes, rec.records),
                (Some(at), cut - at, base.len() as u64),
                "{} cut at {cut}",
                last.kind()
            );
            assert_eq!(j.len(), at);
        }
        // and a flipped bit in it is a torn tail too, while in the middle it is corruption
        let mut flipped = intact.clone();
        flipped[full as usize - 1] ^= 0x10;
        std::fs::write(t.file(), &flipped).unwrap();
        assert_eq!(
            Journal::open(&t.file(), "paper", 1).unwrap().1.truncated_at,
            Some(at)
        );
        let mut middle = intact.clone();
        middle[full as usize - 1] ^= 0x10;
        middle.extend_from_slice(&encode(&Record::Sent {
            client_order_id: coid(1, 1, 0),
            ts_ns: 9,
        }));
        std::fs::write(t.file(), &middle).unwrap();
        match Journal::open(&t.file(), "paper", 1).unwrap_err() {
            JournalError::Corrupt { offset, .. } => assert_eq!(offset, at, "{}", last.kind()),
            other => panic!("{}: expected Corrupt, got {other}", last.kind()),
        }
    }
}
