#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End-to-end properties of the backtest on seeded synthetic data (no files needed):
//! determinism, costs checked by hand, and the look-ahead guards.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shmtrader_backtest::compare::compare_market;
use shmtrader_backtest::data::{Event, IntrabarPath, Market};
use shmtrader_backtest::synth::{market_from_bars, normal, random_walk_bars, random_walk_ticks};
use shmtrader_backtest::{
    run, run_market, settings, simulate, BacktestOptions, SignalFilter, SimResult, SimSettings,
    Verdict,
};
use shmtrader_core::Config;
use shmtrader_indicators::{Bar, IndicatorParams, IndicatorSet};
use shmtrader_strategy::{strength, SignalInputs, SignalParams};
use std::io::Write;

/// 2025-05-04 00:00 UTC.
const DAY0_MS: i64 = 1_746_316_800_000;

fn opts() -> BacktestOptions {
    BacktestOptions {
        progress: false,
        bootstrap_resamples: 500,
        ..BacktestOptions::default()
    }
}

fn cfg(toml: &str) -> Config {
    Config::from_toml_str(toml, "test").unwrap()
}

fn sim(cfg: &Config, m: &Market, tweak: impl FnOnce(&mut SimSettings)) -> SimResult {
    let mut s = settings(
        cfg,
        m,
        &opts(),
        cfg.strategy.adaptive,
        SignalFilter::None,
        "t",
    )
    .unwrap();
    tweak(&mut s);
    simulate(m, &s).unwrap()
}

fn t_stat(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    mean / (sd / n.sqrt())
}

// ---------------------------------------------------------------- determinism

/// HMM refits on a worker thread (the default) or inline: the same trades bit for bit,
/// because a refit is installed at a fixed bar wherever it ran. With refits every 10
/// bars there are many of them, so a late install would show.
#[test]
fn refits_on_a_thread_or_inline_give_the_same_trades() {
    let m = random_walk_ticks(2, 600, 30, DAY0_MS, 0.002, 3);
    let c = Config::from_toml_str("[strategy]\nregime_refit_every_bars = 10\n", "test").unwrap();
    let mut s = settings(&c, &m, &opts(), true, SignalFilter::None, "t").unwrap();
    assert!(s.fit_thread, "the default");
    let threaded = simulate(&m, &s).unwrap();
    s.fit_thread = false;
    let inline = simulate(&m, &s).unwrap();
    assert!(threaded.engine.refits > 10, "{:?}", threaded.engine);
    assert!(!threaded.trades.is_empty());
    assert_eq!(threaded.trades, inline.trades);
    assert_eq!(threaded.engine, inline.engine);
}

#[test]
fn same_data_and_config_give_byte_identical_json() {
    let m = random_walk_ticks(2, 600, 30, DAY0_MS, 0.002, 3);
    let c = Config::embedded_default().unwrap();
    let a = run_market(&c, &m, &opts()).unwrap();
    let b = run_market(&c, &m, &opts()).unwrap();
    assert!(
        a.summary.stats.trades > 0,
        "the run must trade to mean anything"
    );
    let (ja, jb) = (a.to_json().unwrap(), b.to_json().unwrap());
    assert_eq!(ja, jb);
    assert_eq!(a.to_html().unwrap(), b.to_html().unwrap());
    let v: serde_json::Value = serde_json::from_str(&ja).unwrap();
    for k in ["summary", "per_symbol", "trades"] {
        assert!(v.get(k).is_some(), "{k} missing");
    }
    for k in [
        "trades",
        "win_rate",
        "net_pnl",
        "gross_pnl",
        "fees",
        "funding",
        "slippage",
        "profit_factor",
        "avg_win",
        "avg_loss",
        "max_drawdown",
        "sharpe",
        "sortino",
        "exposure",
        "ticks",
    ] {
        assert!(v["summary"].get(k).is_some(), "summary.{k} missing");
    }
}

/// Files on disk, given in either order: the same bytes (the symbol table and the
/// merge order do not depend on argument order).
#[test]
fn files_in_any_order_give_the_same_json() {
    let dir = std::env::temp_dir().join(format!("bt-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths = Vec::new();
    for (i, name) in [
        "SOL_USDT_USDT-1m-futures.csv",
        "ETH_USDT_USDT-1m-futures.csv",
    ]
    .iter()
    .enumerate()
    {
        let bars = random_walk_bars(1_500, DAY0_MS, 100.0 + i as f64, 0.002, 40 + i as u64);
        let p = dir.join(name);
        let mut f = std::fs::File::create(&p).unwrap();
        writeln!(f, "open_time_ms,open,high,low,close,volume").unwrap();
        for b in &bars {
            writeln!(
                f,
                "{},{},{},{},{},{}",
                b.open_time_ms, b.open, b.high, b.low, b.close, b.volume
            )
            .unwrap();
        }
        paths.push(p);
    }
    let c = Config::embedded_default().unwrap();
    let a = run(&c, &paths, &opts()).unwrap();
    paths.reverse();
    let b = run(&c, &paths, &opts()).unwrap();
    assert_eq!(a.to_json().unwrap(), b.to_json().unwrap());
    assert_eq!(
        a.per_symbol.keys().collect::<Vec<_>>(),
        ["ETHUSDT", "SOLUSDT"]
    );
    assert_eq!(a.summary.ticks, 2 * 1_500 * 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compare_is_deterministic_and_reports_the_ml_variants() {
    // 20:00 → 02:40 UTC: two days for the bootstrap.
    let m = random_walk_ticks(2, 400, 20, DAY0_MS + 20 * 3_600_000, 0.002, 11);
    let c = Config::embedded_default().unwrap();
    let a = compare_market(&c, &m, &opts()).unwrap();
    let b = compare_market(&c, &m, &opts()).unwrap();
    let ja = a.to_json().unwrap();
    assert_eq!(ja, b.to_json().unwrap());
    let v: serde_json::Value = serde_json::from_str(&ja).unwrap();
    let names: Vec<&str> = v["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "rules",
            "adaptive",
            "adaptive+regime",
            "ml_filter",
            "ml_online",
            "random",
            "random_regime"
        ]
    );
    // The baseline's difference to itself is exactly zero.
    assert_eq!(
        v["variants"][0]["pnl_diff_ci"],
        serde_json::json!([0.0, 0.0])
    );
    let by = a.by_name();
    let rules = by["rules"].summary.clone().unwrap();
    assert_eq!(rules.filtered, 0);
    let regime = by["adaptive+regime"].summary.clone().unwrap();
    assert!(regime.filtered <= regime.signals);
    // Every ML-side variant runs on the rules engine's signal stream.
    for name in ["ml_filter", "ml_online", "random"] {
        let s = by[name].summary.clone().unwrap();
        assert_eq!(s.signals, rules.signals, "{name}");
    }
    // Too few signals for a model trained before any window: nothing is scored, every
    // signal passes (as live without a model), and the row says so.
    let e = by["ml_filter"].ml.clone().unwrap();
    assert_eq!(e.signals as u64, rules.signals);
    assert!(e.labelled <= e.signals);
    assert_eq!(e.scored, 0);
    assert!(e.scores.is_none());
    let ml = by["ml_filter"].summary.clone().unwrap();
    assert_eq!((ml.filtered, ml.stats.net_pnl), (0, rules.stats.net_pnl));
    assert!(by["ml_filter"]
        .note
        .as_deref()
        .unwrap()
        .contains("no signal scored"));
    assert!(a.table().contains("ml_filter"));
    let html = a.to_html().unwrap();
    assert!(html.contains("<svg") && html.contains("ML filter, out of sample"));
}

/// Precomputed verdicts must belong to the stream they are applied to: a verdict list
/// for other signals is an error, never a silent misalignment.
#[test]
fn precomputed_verdicts_must_line_up_with_the_signals() {
    let m = random_walk_ticks(2, 400, 20, DAY0_MS, 0.002, 11);
    let c = Config::embedded_default().unwrap();
    let mut s = settings(&c, &m, &opts(), false, SignalFilter::None, "t").unwrap();
    s.record_examples = true;
    let base = simulate(&m, &s).unwrap();
    assert!(base.signals > 2, "{}", base.signals);
    assert_eq!(base.signal_log.len() as u64, base.signals);
    // Every shadow label comes from a signal of the log, after its signal.
    for e in &base.examples {
        let (ts, sym) = base.signal_log[e.signal_seq as usize];
        assert_eq!((e.ts_ns, e.symbol_id), (ts, sym));
        assert!(e.exit_ts_ns > e.ts_ns);
        assert!(e.x.iter().all(|v| v.is_finite()));
    }
    let verdicts = |log: &[(u64, u32)], pass: bool| -> std::sync::Arc<[Verdict]> {
        log.iter()
            .map(|&(ts_ns, symbol_id)| Verdict {
                ts_ns,
                symbol_id,
                pass,
            })
            .collect()
    };
    // All pass: the rules run again, bit for bit.
    s.record_examples = false;
    s.filter = SignalFilter::Precomputed(verdicts(&base.signal_log, true));
    let same = simulate(&m, &s).unwrap();
    assert_eq!(same.trades, base.trades);
    // None pass: no trade.
    s.filter = SignalFilter::Precomputed(verdicts(&base.signal_log, false));
    let none = simulate(&m, &s).unwrap();
    assert!(none.trades.is_empty());
    assert_eq!(none.filtered, base.signals);
    // Shifted by one signal: refused.
    s.filter = SignalFilter::Precomputed(verdicts(&base.signal_log[1..], true));
    let err = simulate(&m, &s).unwrap_err().to_string();
    assert!(
        err.contains("signal stream differs") || err.contains("has none"),
        "{err}"
    );
}

// ---------------------------------------------------------------- costs by hand

/// A constructed tick stream through the live engine with easy cost settings (1 bp
/// half-spread, no impact, 5 bp taker fee, 0.01 % funding per 8 h, exits only by time or
/// reversal); every trade's numbers are recomputed here from the raw prices.
#[test]
fn fees_slippage_and_funding_by_hand() {
    // 20:00 → 04:00 UTC: the 00:00 funding falls inside.
    let start = DAY0_MS + 20 * 3_600_000;
    let m = random_walk_ticks(1, 480, 10, start, 0.0015, 5);
    let c = cfg(
        "[strategy]\nadaptive = false\nthreshold = 0.05\nthreshold_min = 0.0\nmin_confirmations = 0\ncooldown_ms = 3600000\nuse_book = false\n[risk]\nmax_hold_ms = 7200000\ntaker_fee = 0.0005\nslippage = 0.0001\n",
    );
    let r = sim(&c, &m, |s| {
        s.risk.impact_coeff_bps = 0.0;
        s.risk.stop_atr_mult = 1e6;
        s.risk.take_profit_atr_mult = 0.0;
        s.risk.trail_activation_atr_mult = 0.0;
        s.risk.trail_distance_atr_mult = 0.0;
        s.risk.max_symbol_notional_usd = 1e9;
        s.funding_rate_8h = 0.0001;
    });
    let ticks: Vec<(u64, f64)> = m
        .events
        .iter()
        .map(|e| match e {
            Event::Trade(t) => (t.exchange_ts_ns / 1_000_000, t.price),
            Event::Book(_) => unreachable!(),
        })
        .collect();
    // The price a fill at `ms` was based on: the trade at that time, or for the
    // end-of-data flatten (last print + latency) the last trade before it.
    let px_at = |ms: u64| ticks.iter().rev().find(|t| t.0 <= ms).map(|t| t.1).unwrap();
    let last_before = |ms: u64| ticks.iter().rev().find(|t| t.0 < ms).map(|t| t.1).unwrap();
    let (h, fee, rate) = (0.0001, 0.0005, 0.0001);
    let funding_ms = (DAY0_MS + 86_400_000) as u64;
    assert!(r.trades.len() >= 3, "{} trades", r.trades.len());
    let mut crossed = 0;
    for t in &r.trades {
        let d = if t.side == "long" { 1.0 } else { -1.0 };
        let q = t.qty;
        let (re, rx) = (px_at(t.entry_ts_ms), px_at(t.exit_ts_ms));
        let entry_px = re * (1.0 + d * h);
        let exit_px = rx * (1.0 - d * h);
        let fees = fee * q * (entry_px + exit_px);
        let slippage = h * q * (re + rx);
        let gross = d * q * (rx - re);
        let funding = if t.entry_ts_ms < funding_ms && funding_ms <= t.exit_ts_ms {
            crossed += 1;
            -d * q * last_before(funding_ms) * rate
        } else {
            0.0
        };
        let net = gross - fees - slippage + funding;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
        assert!(close(t.entry_px, entry_px), "{t:?} entry {entry_px}");
        assert!(close(t.exit_px, exit_px), "{t:?} exit {exit_px}");
        assert!(close(t.fees, fees), "{t:?} fees {fees}");
        assert!(close(t.slippage, slippage), "{t:?} slippage {slippage}");
        assert!(close(t.gross_pnl, gross), "{t:?} gross {gross}");
        assert!(close(t.funding, funding), "{t:?} funding {funding}");
        assert!(close(t.net_pnl, net), "{t:?} net {net}");
        assert!(q > 0.0);
    }
    assert_eq!(
        crossed, 1,
        "exactly one trade should span the 00:00 funding"
    );
    assert_eq!(r.funding_events, 1);
    // The account agrees with the trades.
    let net: f64 = r.trades.iter().map(|t| t.net_pnl).sum();
    assert!((r.final_equity - r.starting_equity - net).abs() < 1e-6);
    assert!((r.fees - r.trades.iter().map(|t| t.fees).sum::<f64>()).abs() < 1e-9);
    assert!((r.funding - r.trades.iter().map(|t| t.funding).sum::<f64>()).abs() < 1e-12);
}

/// With every cost switched off, net equals gross on every trade and gross is the plain
/// price difference times the quantity.
#[test]
fn zero_costs_mean_net_equals_gross() {
    let m = random_walk_ticks(2, 300, 20, DAY0_MS, 0.002, 8);
    let c = cfg("[risk]\ntaker_fee = 0.0\nslippage = 0.0\n");
    let r = sim(&c, &m, |s| {
        s.risk.impact_coeff_bps = 0.0;
        s.funding_rate_8h = 0.0;
    });
    assert!(!r.trades.is_empty());
    for t in &r.trades {
        let d = if t.side == "long" { 1.0 } else { -1.0 };
        assert_eq!(t.fees, 0.0);
        assert_eq!(t.slippage, 0.0);
        assert!((t.net_pnl - t.gross_pnl).abs() < 1e-9, "{t:?}");
        assert!(
            (t.gross_pnl - d * t.qty * (t.exit_px - t.entry_px)).abs() < 1e-9,
            "{t:?}"
        );
    }
}

// ---------------------------------------------------------------- look-ahead guards

/// The trades that closed before a cut are exactly those of a run on the data up to the
/// cut: nothing after a moment can change a decision made at it.
#[test]
fn trades_before_a_cut_do_not_depend_on_later_data() {
    let full = random_walk_ticks(2, 900, 12, DAY0_MS, 0.002, 21);
    let c = Config::embedded_default().unwrap();
    let a = sim(&c, &full, |_| {});
    let cut_ms = DAY0_MS + 540 * 60_000;
    let mut head = full.clone();
    head.window(0, cut_ms);
    let b = sim(&c, &head, |_| {});
    let before: Vec<_> = a
        .trades
        .iter()
        .filter(|t| (t.exit_ts_ms as i64) < cut_ms)
        .cloned()
        .collect();
    let closed: Vec<_> = b
        .trades
        .iter()
        .filter(|t| t.exit_reason != "end_of_data")
        .cloned()
        .collect();
    assert!(before.len() > 5, "{} trades before the cut", before.len());
    assert_eq!(before, closed);
}

/// The configuration of the two guards below: the default strategy with a lower
/// threshold (more trades, more statistical power) and a 10-minute time stop so a trade
/// can ride a drift of a few bars.
fn guard_cfg() -> Config {
    cfg("[strategy]\nadaptive = false\nthreshold = 0.2\nthreshold_min = 0.2\n[risk]\nmax_hold_ms = 600000\n")
}

fn one_symbol(bars: Vec<Bar>) -> Market {
    market_from_bars(&[("BTCUSDT".to_string(), bars)], IntrabarPath::NearestFirst)
}

/// A driftless random walk has no edge: after costs the strategy must not show a profit
/// beyond noise (t-statistic of per-trade net PnL below 2), on several seeds, and its
/// gross PnL must not show an edge either (|t| < 3): a gross edge on a random walk can
/// only come from looking ahead.
#[test]
fn no_profit_on_a_random_walk() {
    let c = guard_cfg();
    for seed in [1u64, 2] {
        let m = one_symbol(random_walk_bars(3_000, DAY0_MS, 100_000.0, 0.001, seed));
        let r = sim(&c, &m, |_| {});
        let net: Vec<f64> = r.trades.iter().map(|t| t.net_pnl).collect();
        let gross: Vec<f64> = r.trades.iter().map(|t| t.gross_pnl).collect();
        let total: f64 = net.iter().sum();
        eprintln!(
            "random walk seed {seed}: {} trades, net {total:.2}, t(net) {:.2}, t(gross) {:.2}",
            net.len(),
            t_stat(&net),
            t_stat(&gross)
        );
        assert!(net.len() >= 30, "{} trades", net.len());
        assert!(t_stat(&net) < 2.0);
        assert!(
            t_stat(&gross).abs() < 3.0,
            "gross edge on a random walk: look-ahead?"
        );
    }
}

/// Bars with a planted, causal pattern: whenever the strategy's own signal condition
/// holds on the committed bars so far (strength past the threshold with two confirming
/// components, computed with the live indicator set and signal formula), the next 5 bars
/// drift in the signal's direction. The strategy must find this edge: positive net PnL
/// after costs, clearly above noise.
fn planted_bars(n: usize, seed: u64, drift: f64, threshold: f64) -> Vec<Bar> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut set = IndicatorSet::new(&IndicatorParams::default()).unwrap();
    let sp = SignalParams::default();
    let (mut p, mut left, mut dir) = (100_000.0f64, 0u32, 0.0f64);
    let sd = 0.001 / 12f64.sqrt();
    (0..n)
        .map(|i| {
            let mu = if left > 0 { dir * drift / 12.0 } else { 0.0 };
            left = left.saturating_sub(1);
            let open = p;
            let (mut hi, mut lo) = (p, p);
            for _ in 0..12 {
                p *= (mu + sd * normal(&mut rng)).exp();
                hi = hi.max(p);
                lo = lo.min(p);
            }
            let bar = Bar {
                open_time_ms: DAY0_MS + i as i64 * 60_000,
                open,
                high: hi,
                low: lo,
                close: p,
                volume: rng.gen_range(50.0..150.0),
            };
            let snap = set.on_bar(&bar).unwrap();
            let x = SignalInputs {
                price: snap.price,
                ema_fast: snap.ema_fast,
                ema_slow: snap.ema_slow,
                rsi: snap.rsi,
                macd_hist: snap.macd.map(|m| m.hist),
                bb_pct_b: snap.bb.map(|b| b.pct_b),
            };
            let s = strength(&sp, &x);
            if left == 0 {
                if s.value >= threshold && s.long_confirms >= sp.min_confirmations {
                    (left, dir) = (5, 1.0);
                } else if s.value <= -threshold && s.short_confirms >= sp.min_confirmations {
                    (left, dir) = (5, -1.0);
                }
            }
            bar
        })
        .collect()
}

#[test]
fn finds_a_planted_causal_pattern() {
    let c = guard_cfg();
    let m = one_symbol(planted_bars(3_000, 3, 0.0015, 0.2));
    let r = sim(&c, &m, |_| {});
    let net: Vec<f64> = r.trades.iter().map(|t| t.net_pnl).collect();
    let total: f64 = net.iter().sum();
    eprintln!(
        "planted: {} trades, net {total:.2}, t(net) {:.2}",
        net.len(),
        t_stat(&net)
    );
    assert!(net.len() >= 30, "{} trades", net.len());
    assert!(total > 0.0, "net {total}");
    assert!(t_stat(&net) > 2.0);
}

/// `--separate`: each symbol is its own account, run in parallel; the result of each is
/// exactly the backtest of that symbol's events alone, in symbol order.
#[test]
fn separate_accounts_equal_single_symbol_runs() {
    let m = random_walk_ticks(3, 400, 20, DAY0_MS, 0.002, 9);
    let c = Config::embedded_default().unwrap();
    let parts = m.split_by_symbol();
    assert_eq!(parts.len(), 3);
    let n: usize = parts.iter().map(|p| p.events.len()).sum();
    assert_eq!(n, m.events.len(), "every event goes to exactly one account");
    let runs = shmtrader_backtest::run_separate(&c, &m, &opts()).unwrap();
    let names: Vec<&str> = runs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        m.symbols.iter().map(String::as_str).collect::<Vec<_>>()
    );
    for ((name, r), p) in runs.iter().zip(&parts) {
        assert_eq!(p.symbols, std::slice::from_ref(name));
        let alone = run_market(&c, p, &opts()).unwrap();
        assert_eq!(r.to_json().unwrap(), alone.to_json().unwrap(), "{name}");
        assert_eq!(r.summary.starting_equity, alone.summary.starting_equity);
    }
    let j: serde_json::Value =
        serde_json::from_str(&shmtrader_backtest::separate_json(&runs).unwrap()).unwrap();
    assert_eq!(j["accounts"].as_object().unwrap().len(), 3);
    assert!(shmtrader_backtest::separate_table(&runs).contains("3 separate accounts"));
}
