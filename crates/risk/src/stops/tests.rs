#![allow(clippy::unwrap_used)]

use super::*;
use crate::params::RiskParams;

const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * S;

fn rules() -> Instrument {
    Instrument::from_basic("T", "0.1", "0.001", "0.001", "5").unwrap()
}

fn params() -> StopParams {
    StopParams {
        extra_atr: 0.25,
        min_extra_frac: 0.0,
        take_profit: false,
        ack_timeout_ns: 3 * S,
        replace_min_interval_ns: 5 * S,
    }
}

fn long_plan() -> ExitPlan {
    let p = RiskParams {
        stop_atr_mult: 2.0,
        take_profit_atr_mult: 3.0,
        trail_activation_atr_mult: 1.5,
        trail_distance_atr_mult: 1.0,
        ..RiskParams::default()
    };
    ExitPlan::new(&p, Side::Buy, 100.0, 1.0, T0)
}

fn target(trigger: i64) -> StopTarget {
    StopTarget {
        side: Side::Sell,
        qty: Qty(1000),
        trigger: Price(trigger),
    }
}

#[test]
fn the_exchange_stop_sits_beyond_the_client_stop_rounded_away_from_the_market() {
    let plan = long_plan();
    // 100 - 2 ATR - 0.25 ATR = 97.75, down to the 0.1 tick: 97.7.
    let t = stop_target(&plan, 1.0, Qty(1000), &rules(), &params()).unwrap();
    assert_eq!((t.side, t.trigger), (Side::Sell, Price(977)));
    let short = ExitPlan::new(&RiskParams::default(), Side::Sell, 100.0, 1.0, T0);
    // 100 + 2 + 0.25 = 102.25, up: 102.3.
    let t = stop_target(&short, -1.0, Qty(1000), &rules(), &params()).unwrap();
    assert_eq!((t.side, t.trigger), (Side::Buy, Price(1023)));
    assert!(stop_target(&plan, 0.0, Qty(0), &rules(), &params()).is_none());
    // Take profit: 100 + 3 + 0.25 = 103.25, up: 103.3.
    let tp = take_profit_target(&plan, 1.0, Qty(1000), &rules(), &params()).unwrap();
    assert_eq!(tp.trigger, Price(1033));
}

#[test]
fn an_unacknowledged_stop_closes_the_position_after_the_timeout() {
    let mut k = StopKeeper::new(params(), 2);
    let mut out = Vec::new();
    k.reconcile(1, Some(target(977)), None, T0, &mut out);
    assert_eq!(
        out,
        vec![StopAction::Place {
            symbol_id: 1,
            kind: StopKind::Stop,
            target: target(977)
        }]
    );
    k.placed(1, StopKind::Stop, target(977), "s1".into(), T0);
    out.clear();
    k.reconcile(1, Some(target(977)), None, T0 + 2 * S, &mut out);
    assert!(out.is_empty(), "{out:?}");
    k.reconcile(1, Some(target(977)), None, T0 + 4 * S, &mut out);
    assert!(matches!(
        &out[..],
        [StopAction::CloseAtMarket { symbol_id: 1, why: StopFailure::AckTimeout { coid } }] if coid == "s1"
    ));
    // Asked once, not on every pass.
    out.clear();
    k.reconcile(1, Some(target(977)), None, T0 + 5 * S, &mut out);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn a_trailing_stop_is_replaced_new_first_at_a_bounded_rate() {
    let mut k = StopKeeper::new(params(), 1);
    let mut out = Vec::new();
    k.placed(0, StopKind::Stop, target(977), "s1".into(), T0);
    k.acked("s1", &mut out);
    assert!(out.is_empty());
    // A tighter stop a second later: too soon.
    k.reconcile(0, Some(target(990)), None, T0 + S, &mut out);
    assert!(out.is_empty(), "{out:?}");
    // Five seconds after the last move: place the new one, keep the old.
    k.reconcile(0, Some(target(990)), None, T0 + 5 * S, &mut out);
    assert_eq!(out.len(), 1);
    k.placed(0, StopKind::Stop, target(990), "s2".into(), T0 + 5 * S);
    out.clear();
    // While the replacement waits for its ack, nothing else is sent.
    k.reconcile(0, Some(target(995)), None, T0 + 11 * S / 2, &mut out);
    assert!(out.is_empty(), "{out:?}");
    // Its ack cancels the old stop.
    k.acked("s2", &mut out);
    assert_eq!(
        out,
        vec![StopAction::Cancel {
            symbol_id: 0,
            coid: "s1".into()
        }]
    );
    assert_eq!(k.live(0, StopKind::Stop).unwrap().coid, "s2");
    assert_eq!(k.open_count(), 2, "s1 counts until its cancel is confirmed");
    k.cancelled("s1");
    assert_eq!(k.open_count(), 1);
    // A looser stop is never placed.
    out.clear();
    k.reconcile(0, Some(target(980)), None, T0 + 60 * S, &mut out);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn a_stop_the_exchange_refuses_closes_at_market_unless_an_old_one_still_stands() {
    let mut k = StopKeeper::new(params(), 1);
    let mut out = Vec::new();
    k.placed(0, StopKind::Stop, target(977), "s1".into(), T0);
    k.rejected("s1", -2021, T0, &mut out);
    assert!(matches!(
        &out[..],
        [StopAction::CloseAtMarket {
            why: StopFailure::Rejected { code: -2021, .. },
            ..
        }]
    ));
    let mut k = StopKeeper::new(params(), 1);
    out.clear();
    k.placed(0, StopKind::Stop, target(977), "s1".into(), T0);
    k.acked("s1", &mut out);
    k.placed(0, StopKind::Stop, target(990), "s2".into(), T0 + 6 * S);
    k.rejected("s2", -4130, T0, &mut out);
    assert!(
        out.is_empty(),
        "the acknowledged old stop still protects: {out:?}"
    );
    assert_eq!(k.live(0, StopKind::Stop).unwrap().coid, "s1");
}

#[test]
fn an_expired_stop_with_an_open_position_closes_it_but_a_cancel_we_asked_for_does_not() {
    let mut k = StopKeeper::new(params(), 1);
    let mut out = Vec::new();
    k.placed(0, StopKind::Stop, target(977), "s1".into(), T0);
    k.acked("s1", &mut out);
    k.status("s1", "EXPIRED", true, &mut out);
    assert!(matches!(
        &out[..],
        [StopAction::CloseAtMarket {
            why: StopFailure::Ended {
                status: "EXPIRED",
                ..
            },
            ..
        }]
    ));
    // Flat: the stop is cancelled; its CANCELED report is expected.
    let mut k = StopKeeper::new(params(), 1);
    out.clear();
    k.placed(0, StopKind::Stop, target(977), "s1".into(), T0);
    k.acked("s1", &mut out);
    k.reconcile(0, None, None, T0 + S, &mut out);
    assert_eq!(
        out,
        vec![StopAction::Cancel {
            symbol_id: 0,
            coid: "s1".into()
        }]
    );
    out.clear();
    k.status("s1", "CANCELED", false, &mut out);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(k.open_count(), 0);
}

#[test]
fn a_triggered_stop_is_dropped_and_a_remaining_position_gets_a_new_one() {
    let mut k = StopKeeper::new(params(), 1);
    let mut out = Vec::new();
    k.placed(0, StopKind::Stop, target(977), "s1".into(), T0);
    k.acked("s1", &mut out);
    k.status("s1", "TRIGGERED", true, &mut out);
    assert!(out.is_empty());
    assert!(k.live(0, StopKind::Stop).is_none());
    k.reconcile(0, Some(target(977)), None, T0 + S, &mut out);
    assert!(matches!(&out[..], [StopAction::Place { .. }]));
}

#[test]
fn a_reversal_replaces_the_stop_at_once() {
    let mut k = StopKeeper::new(params(), 1);
    let mut out = Vec::new();
    k.placed(0, StopKind::Stop, target(977), "s1".into(), T0);
    k.acked("s1", &mut out);
    let buy = StopTarget {
        side: Side::Buy,
        qty: Qty(1000),
        trigger: Price(1023),
    };
    k.reconcile(0, Some(buy), None, T0 + S, &mut out);
    assert_eq!(
        out,
        vec![StopAction::Place {
            symbol_id: 0,
            kind: StopKind::Stop,
            target: buy
        }]
    );
}

#[test]
fn take_profits_rest_only_when_enabled_and_their_loss_is_not_a_danger() {
    let mut k = StopKeeper::new(
        StopParams {
            take_profit: true,
            ..params()
        },
        1,
    );
    let mut out = Vec::new();
    let tp = StopTarget {
        side: Side::Sell,
        qty: Qty(1000),
        trigger: Price(1033),
    };
    k.reconcile(0, Some(target(977)), Some(tp), T0, &mut out);
    assert_eq!(out.len(), 2);
    k.placed(0, StopKind::TakeProfit, tp, "t1".into(), T0);
    out.clear();
    k.rejected("t1", -2021, T0, &mut out);
    assert!(out.is_empty(), "{out:?}");
    let mut off = StopKeeper::new(params(), 1);
    off.reconcile(0, Some(target(977)), Some(tp), T0, &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn a_stop_refused_for_nothing_to_reduce_closes_nothing_and_waits_a_second() {
    let mut k = StopKeeper::new(params(), 1);
    let mut out = Vec::new();
    k.placed(0, StopKind::Stop, target(977), "s1".into(), T0);
    k.rejected("s1", -2022, T0, &mut out);
    assert!(out.is_empty(), "{out:?}");
    k.reconcile(0, Some(target(977)), None, T0 + S / 2, &mut out);
    assert!(out.is_empty(), "held: {out:?}");
    k.reconcile(0, Some(target(977)), None, T0 + 2 * S, &mut out);
    assert!(matches!(&out[..], [StopAction::Place { .. }]), "{out:?}");
}

#[test]
fn in_a_calm_market_the_exchange_stop_keeps_a_minimum_distance() {
    let p = StopParams {
        min_extra_frac: 0.001,
        ..params()
    };
    // 0.25 ATR (0.25) is more than 0.1 % of 98 (0.098): the ATR margin wins.
    let t = stop_target(&long_plan(), 1.0, Qty(1000), &rules(), &p).unwrap();
    assert_eq!(t.trigger, Price(977));
    // With 1 % minimum: 98 - 0.98 = 97.02, down to the tick: 97.0.
    let p = StopParams {
        min_extra_frac: 0.01,
        ..params()
    };
    let t = stop_target(&long_plan(), 1.0, Qty(1000), &rules(), &p).unwrap();
    assert_eq!(t.trigger, Price(970));
}
