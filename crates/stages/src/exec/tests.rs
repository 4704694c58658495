//! The executor core against a scripted venue: the test plays the exchange (answers and
//! user-stream events) and reads the commands the core sends. No network, no clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::venue::{AccountSnapshot, AlgoReport, OrderReport, TradeReport, VenueEvent};
use shmtrader_journal::{AlgoStatus, OrderStatus};
use std::sync::atomic::AtomicU64;
use std::sync::{mpsc, Arc};

const S: u64 = 1_000_000_000;
const T0: u64 = 1_767_300_000 * S; // 2026-01-01T20:40Z

struct Venue {
    cmds: tokio::sync::mpsc::UnboundedReceiver<Command>,
    events: mpsc::Sender<VenueEvent>,
    pending: Arc<AtomicU64>,
}

impl Venue {
    fn send(&self, ev: VenueEvent) {
        self.pending
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        self.events.send(ev).unwrap();
    }
    fn commands(&mut self) -> Vec<Command> {
        let mut v = Vec::new();
        while let Ok(c) = self.cmds.try_recv() {
            v.push(c);
        }
        v
    }
}

fn rules() -> Vec<Instrument> {
    crate::exec::fills::paper_rules(&["BTCUSDT".to_string(), "ETHUSDT".to_string()])
}

fn settings(dir: &std::path::Path, stops: bool) -> ExecSettings {
    ExecSettings {
        instance: "t".into(),
        symbols: vec!["BTCUSDT".into(), "ETHUSDT".into()],
        journal_dir: dir.to_path_buf(),
        risk: RiskParams {
            bar_interval_ns: S,
            base_position_usd: 1_000.0,
            max_hold_ns: 0,
            stop_atr_mult: 20.0,
            take_profit_atr_mult: 0.0,
            trail_activation_atr_mult: 0.0,
            ..RiskParams::default()
        },
        budget: Some(BudgetLimits {
            orders_10s: 300,
            orders_1m: 1200,
            weight_1m: 2400,
            entry_share: 0.7,
        }),
        stops: stops.then_some(StopParams {
            extra_atr: 0.25,
            min_extra_frac: 0.0,
            take_profit: false,
            ack_timeout_ns: 3 * S,
            replace_min_interval_ns: 5 * S,
        }),
        working_type: WorkingType::MarkPrice,
        fill_timeout_ns: 3 * S,
        segments_created_ns: T0,
    }
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "shmtrader-exec-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An executor on a scripted venue with an empty account, its ATR warmed by 30 bars.
fn open(tag: &str, stops: bool) -> (ExecCore, Venue, std::path::PathBuf) {
    let dir = tmpdir(tag);
    let (ctx, crx) = tokio::sync::mpsc::unbounded_channel();
    let (etx, erx) = mpsc::channel();
    let pending = Arc::new(AtomicU64::new(0));
    let handle = VenueHandle::from_parts(ctx, erx, pending.clone());
    let startup = Startup {
        mode: "demo",
        instruments: rules(),
        notional_caps: vec![f64::INFINITY; 2],
        account: AccountSnapshot {
            wallet: 10_000.0,
            available: 10_000.0,
            ..AccountSnapshot::default()
        },
        time_offset_ms: 0,
    };
    let (mut core, _) = ExecCore::open(
        settings(&dir, stops),
        Broker::Venue(handle),
        Some(startup),
        T0,
    )
    .unwrap();
    let mut out = Vec::new();
    for k in 0..30u64 {
        for sym in 0..2u32 {
            let px = if sym == 0 { 64_000.0 } else { 3_400.0 };
            let wiggle = if k % 2 == 0 { 1.001 } else { 0.999 };
            core.on_tick(&tick(sym, px * wiggle, T0 + k * S), T0, &mut out)
                .unwrap();
        }
    }
    (
        core,
        Venue {
            cmds: crx,
            events: etx,
            pending,
        },
        dir,
    )
}

fn tick(symbol_id: u32, price: f64, ts: u64) -> Tick {
    Tick {
        symbol_id,
        exchange_ts_ns: ts,
        price,
        qty: 0.1,
        ..Tick::default()
    }
}

fn signal(symbol_id: u32, side: Side, price: f64) -> Signal {
    Signal {
        symbol_id,
        side: side.code(),
        price,
        strength: 0.9,
        ..Signal::default()
    }
}

fn trade(
    coid: Option<&str>,
    order_id: u64,
    sym: u32,
    side: Side,
    id: u64,
    qty: i64,
    rest: bool,
) -> VenueEvent {
    VenueEvent::Trade(TradeReport {
        coid: coid.map(str::to_string),
        order_id,
        symbol_id: sym,
        side,
        trade_id: id,
        qty: Qty(qty),
        price: 64_000.0,
        fee_usdt: 0.5,
        realized_pnl: 0.0,
        maker: false,
        ts_ms: T0 / 1_000_000 + 31_000,
        from_rest: rest,
        orig_type: "MARKET".into(),
    })
}

/// Sends the entry for a BTC buy signal; returns its client id and quantity.
fn enter(core: &mut ExecCore, v: &mut Venue, seq: u64) -> (String, Qty) {
    let r = core
        .on_signal(
            seq,
            &signal(0, Side::Buy, 64_000.0),
            T0 + 31 * S,
            T0 + 31 * S,
        )
        .unwrap();
    assert_eq!(r, SignalResult::Ordered);
    let cmds = v.commands();
    match &cmds[..] {
        [Command::Place(o)] => (o.coid.clone(), o.qty),
        other => panic!("expected one order, got {other:?}"),
    }
}

fn size(core: &ExecCore, sym: u32) -> f64 {
    core.risk().position(sym).map_or(0.0, |p| p.size())
}

#[test]
fn the_same_execution_from_the_stream_and_from_rest_is_applied_once() {
    let (mut core, mut v, dir) = open("dedupe", false);
    let (coid, q) = enter(&mut core, &mut v, 1);
    let mut out = Vec::new();
    v.send(VenueEvent::Placed {
        coid: coid.clone(),
        order_id: 77,
        status: OrderStatus::Filled,
        executed: q,
    });
    v.send(trade(Some(&coid), 77, 0, Side::Buy, 5001, q.0, false));
    v.send(trade(None, 77, 0, Side::Buy, 5001, q.0, true));
    core.poll_venue(T0 + 32 * S, &mut out).unwrap();
    let step = rules()[0].step_f64();
    assert!((size(&core, 0) - q.0 as f64 * step).abs() < 1e-12);
    let e = core.journal_state().get(&coid).unwrap();
    assert_eq!(e.trade_ids, vec![5001]);
    assert_eq!(core.in_flight(), 0, "the filled entry is complete");
    assert!((core.risk().stats().fees - 0.5).abs() < 1e-12);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_market_order_filling_in_two_executions_and_expiring_ends_with_what_executed() {
    let (mut core, mut v, dir) = open("partial", false);
    let (coid, q) = enter(&mut core, &mut v, 1);
    assert!(q.0 >= 3);
    let (a, b) = (q.0 / 3, q.0 / 3);
    let mut out = Vec::new();
    v.send(VenueEvent::Placed {
        coid: coid.clone(),
        order_id: 78,
        status: OrderStatus::New,
        executed: Qty(0),
    });
    v.send(trade(Some(&coid), 78, 0, Side::Buy, 1, a, false));
    v.send(trade(Some(&coid), 78, 0, Side::Buy, 2, b, false));
    v.send(VenueEvent::Order(OrderReport {
        coid: coid.clone(),
        order_id: 78,
        symbol_id: 0,
        side: Side::Buy,
        status: OrderStatus::Expired,
        executed: Qty(a + b),
        orig_qty: q,
        reduce_only: false,
        orig_type: "MARKET".into(),
        ts_ms: T0 / 1_000_000,
    }));
    core.poll_venue(T0 + 32 * S, &mut out).unwrap();
    let step = rules()[0].step_f64();
    assert!((size(&core, 0) - (a + b) as f64 * step).abs() < 1e-12);
    let e = core.journal_state().get(&coid).unwrap();
    assert!(e.canceled, "the expired remainder is journaled");
    assert_eq!(core.in_flight(), 0);
    // The entry's reservation is released: another symbol can enter.
    assert_eq!(core.risk().pending_entries(), 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_liquidation_of_our_position_is_journaled_as_external_and_raises_an_alert() {
    let (mut core, mut v, dir) = open("liq", false);
    let (coid, q) = enter(&mut core, &mut v, 1);
    let mut out = Vec::new();
    v.send(VenueEvent::Placed {
        coid: coid.clone(),
        order_id: 79,
        status: OrderStatus::Filled,
        executed: q,
    });
    v.send(trade(Some(&coid), 79, 0, Side::Buy, 10, q.0, false));
    core.poll_venue(T0 + 32 * S, &mut out).unwrap();
    assert!(size(&core, 0) > 0.0);
    let mut liq = trade(
        Some("autoclose-1767300000123"),
        9_000_001,
        0,
        Side::Sell,
        11,
        q.0,
        false,
    );
    if let VenueEvent::Trade(t) = &mut liq {
        t.orig_type = "LIQUIDATION".into();
    }
    v.send(liq);
    core.poll_venue(T0 + 33 * S, &mut out).unwrap();
    assert_eq!(size(&core, 0), 0.0);
    assert_eq!(core.alerts(), 1);
    assert_eq!(out.len(), 1, "the trade closed: {out:?}");
    let x: Vec<_> = core.journal_state().external_fills().collect();
    assert_eq!(x.len(), 1);
    assert_eq!(x[0].kind, shmtrader_journal::ExternalKind::Liquidation);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_triggered_stops_fill_is_attributed_through_its_algo_update() {
    let (mut core, mut v, dir) = open("stopfill", true);
    let (coid, q) = enter(&mut core, &mut v, 1);
    let mut out = Vec::new();
    v.send(VenueEvent::Placed {
        coid: coid.clone(),
        order_id: 80,
        status: OrderStatus::Filled,
        executed: q,
    });
    v.send(trade(Some(&coid), 80, 0, Side::Buy, 20, q.0, false));
    core.poll_venue(T0 + 32 * S, &mut out).unwrap();
    // The fill asks for a stop on the exchange: reduce-only, the whole position,
    // below the entry.
    let stop = match &v.commands()[..] {
        [Command::PlaceAlgo(a)] => a.clone(),
        other => panic!("expected a stop, got {other:?}"),
    };
    assert_eq!((stop.side, stop.qty), (Side::Sell, q));
    assert!(rules()[0].price_f64(stop.trigger) < 64_000.0);
    v.send(VenueEvent::AlgoPlaced {
        coid: stop.coid.clone(),
        algo_id: 555,
    });
    core.poll_venue(T0 + 33 * S, &mut out).unwrap();
    assert_eq!(core.open_stops(), 1);
    // It triggers: the exchange names its order, whose fill carries a generated id.
    v.send(VenueEvent::Algo(AlgoReport {
        coid: stop.coid.clone(),
        algo_id: 555,
        symbol_id: 0,
        status: AlgoStatus::Triggered,
        actual_order_id: Some(9_999),
        reason: String::new(),
    }));
    v.send(trade(
        Some("generated-by-venue"),
        9_999,
        0,
        Side::Sell,
        21,
        q.0,
        false,
    ));
    core.poll_venue(T0 + 34 * S, &mut out).unwrap();
    assert_eq!(size(&core, 0), 0.0);
    assert_eq!(core.alerts(), 0, "our own stop is not someone else's fill");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].exit_reason, shmtrader_core::ExitReason::Stop.code());
    let e = core.journal_state().get(&stop.coid).unwrap();
    assert_eq!(e.trade_ids, vec![21]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn fills_late_on_the_stream_are_read_from_rest() {
    let (mut core, mut v, dir) = open("late", false);
    let (coid, q) = enter(&mut core, &mut v, 1);
    let mut out = Vec::new();
    v.send(VenueEvent::Placed {
        coid,
        order_id: 81,
        status: OrderStatus::Filled,
        executed: q,
    });
    let t = T0 + 32 * S;
    core.poll_venue(t, &mut out).unwrap();
    core.housekeeping(t + S, &mut out).unwrap();
    assert!(v.commands().is_empty(), "asked too early");
    core.housekeeping(t + 4 * S, &mut out).unwrap();
    match &v.commands()[..] {
        [Command::FetchTrades {
            symbol_id: 0,
            order_id: Some(81),
            ..
        }] => {}
        other => panic!("expected a REST fetch, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_stop_that_is_never_acknowledged_closes_the_position_at_market() {
    let (mut core, mut v, dir) = open("noack", true);
    let (coid, q) = enter(&mut core, &mut v, 1);
    let mut out = Vec::new();
    v.send(VenueEvent::Placed {
        coid: coid.clone(),
        order_id: 82,
        status: OrderStatus::Filled,
        executed: q,
    });
    v.send(trade(Some(&coid), 82, 0, Side::Buy, 30, q.0, false));
    let t = T0 + 32 * S;
    core.poll_venue(t, &mut out).unwrap();
    assert!(matches!(&v.commands()[..], [Command::PlaceAlgo(_)]));
    core.housekeeping(t + 4 * S, &mut out).unwrap();
    match &v.commands()[..] {
        [Command::Place(o)] => {
            assert!(o.reduce_only);
            assert_eq!((o.side, o.qty), (Side::Sell, q));
        }
        other => panic!("expected a market exit, got {other:?}"),
    }
    assert_eq!(core.alerts(), 1);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_order_budget_refuses_entries_before_the_exchange_would() {
    let (mut core, mut v, dir) = open("budget", false);
    let t = T0 + 31 * S;
    // 300 per 10 s at 70 % for entries: the 211th order in 10 s is refused.
    for k in 0..210 {
        core.budget_record(t + k);
    }
    let r = core
        .on_signal(1, &signal(0, Side::Buy, 64_000.0), t, t + 300)
        .unwrap();
    assert_eq!(r, SignalResult::Refused(RefuseReason::OrderRate));
    assert!(v.commands().is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_second_run_on_the_journal_keeps_the_peak_and_never_reuses_an_id() {
    let dir = tmpdir("relaunch");
    let paper = |d: &std::path::Path, created: u64| {
        let s = ExecSettings {
            segments_created_ns: created,
            ..settings(d, false)
        };
        let broker = Broker::Paper(Box::new(PaperBroker::new(&s.risk)));
        ExecCore::open(s, broker, None, created).unwrap()
    };
    let (mut a, ra) = paper(&dir, T0);
    assert!(ra.new_launch);
    let mut out = Vec::new();
    // Warm, enter, fill on the next print, then mark the position up: a new peak.
    for k in 0..30u64 {
        a.on_tick(
            &tick(0, 64_000.0 * (1.0 + 0.001 * (k % 2) as f64), T0 + k * S),
            T0,
            &mut out,
        )
        .unwrap();
    }
    a.on_signal(1, &signal(0, Side::Buy, 64_000.0), T0 + 31 * S, T0 + 31 * S)
        .unwrap();
    a.on_tick(&tick(0, 64_000.0, T0 + 32 * S), T0 + 32 * S, &mut out)
        .unwrap();
    a.on_tick(&tick(0, 66_000.0, T0 + 33 * S), T0 + 33 * S, &mut out)
        .unwrap();
    let peak = a.risk().persisted().peak_equity;
    assert!(peak > 10_000.0, "no new peak: {peak}");
    a.close(T0 + 34 * S).unwrap();
    let first_ids: Vec<String> = a
        .journal_state()
        .orders()
        .map(|o| o.intent.client_order_id.clone())
        .collect();
    drop(a);
    // A new launch (new segments) on the same journal: a new nonce, the same peak.
    let (mut b, rb) = paper(&dir, T0 + 3_600 * S);
    assert!(rb.new_launch);
    assert!(rb.launch > ra.launch);
    assert!(b.risk().persisted().peak_equity >= peak - 1e-9);
    for k in 0..30u64 {
        b.on_tick(&tick(0, 64_000.0, T0 + 3_600 * S + k * S), T0, &mut out)
            .unwrap();
    }
    b.on_signal(
        1,
        &signal(0, Side::Sell, 64_000.0),
        T0 + 3_631 * S,
        T0 + 3_631 * S,
    )
    .unwrap();
    let second: Vec<String> = b
        .journal_state()
        .orders()
        .map(|o| o.intent.client_order_id.clone())
        .filter(|c| !first_ids.contains(c))
        .collect();
    assert!(
        !second.is_empty(),
        "the same signal number sent nothing new"
    );
    let _ = std::fs::remove_dir_all(dir);
}
