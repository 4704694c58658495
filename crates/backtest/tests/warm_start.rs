#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The warm start removes the warm-up and nothing else: the time from a warm start to
//! the first signal has the distribution of the time from a random moment to the next
//! signal in steady state, on real klines (random start offsets into a replay) and on
//! seeded synthetic markets. A warm start that primed signals (or delayed them) shows
//! up as a Kolmogorov–Smirnov distance beyond the 1 % critical value.
//!
//! Measured on the engine itself (the code analytics runs), with klines replayed as the
//! backtest replays them (four prints per bar): warm = `Engine::warm_bar` on the
//! `indicators.warmup_bars` klines before the start, then the trades from the start on,
//! as analytics does live.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shmtrader_backtest::data::{load, Event, IntrabarPath, Market};
use shmtrader_backtest::synth::{market_from_bars, random_walk_bars};
use shmtrader_core::Config;
use shmtrader_indicators::Bar;
use shmtrader_strategy::{Engine, EngineParams, InlineFitter};
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    std::env::var_os("SHMTRADER_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

/// Defaults, with the HMM refitted every 240 bars (debug builds; the schedule does not
/// change what is measured).
fn params() -> (EngineParams, usize) {
    let cfg = Config::from_toml_str("[strategy]\nregime_refit_every_bars = 240\n", "test").unwrap();
    (
        shmtrader_strategy::config::engine_params(&cfg).unwrap(),
        cfg.indicators.warmup_bars as usize,
    )
}

fn engine(p: &EngineParams, n: usize) -> Engine {
    Engine::new(p.clone(), n, Box::<InlineFitter>::default()).unwrap()
}

/// Per-symbol bars of a market's klines (the replay's bars, by symbol id).
fn bars_of(m: &Market, series: &[Vec<Bar>], sym: usize, before_ms: i64, n: usize) -> Vec<Bar> {
    let _ = m;
    let v: Vec<Bar> = series[sym]
        .iter()
        .filter(|b| b.open_time_ms + 60_000 <= before_ms)
        .copied()
        .collect();
    v[v.len().saturating_sub(n)..].to_vec()
}

/// Seconds from `t0_ms` to the first signal of an engine warmed with the klines before
/// `t0_ms` and fed the trades from `t0_ms` on (`None`: none before the data ends).
fn warm_wait(
    p: &EngineParams,
    warm: usize,
    m: &Market,
    series: &[Vec<Bar>],
    t0_ms: i64,
) -> Option<f64> {
    let n = m.symbols.len();
    let mut e = engine(p, n);
    for (s, _) in series.iter().enumerate() {
        for b in bars_of(m, series, s, t0_ms - t0_ms.rem_euclid(60_000), warm) {
            e.warm_bar(s, &b).unwrap();
        }
    }
    let t0 = t0_ms as u64 * 1_000_000;
    let from = m.events.partition_point(|ev| ev.ts_ns() < t0);
    for (k, ev) in m.events[from..].iter().enumerate() {
        if let Event::Trade(t) = ev {
            if e.on_tick((from + k) as u64, t).is_some() {
                return Some((t.exchange_ts_ns - t0) as f64 / 1e9);
            }
            e.take_bars(|_| {});
        }
    }
    None
}

/// Signal times (ns) of a cold engine fed the whole market.
fn steady_signals(p: &EngineParams, m: &Market) -> Vec<u64> {
    let mut e = engine(p, m.symbols.len());
    let mut out = Vec::new();
    for (k, ev) in m.events.iter().enumerate() {
        if let Event::Trade(t) = ev {
            if e.on_tick(k as u64, t).is_some() {
                out.push(t.exchange_ts_ns);
            }
            e.take_bars(|_| {});
        }
    }
    out
}

/// Seconds from each moment to the next signal.
fn waits(signals: &[u64], moments: &[u64]) -> Vec<f64> {
    moments
        .iter()
        .filter_map(|&t| {
            let i = signals.partition_point(|&s| s < t);
            signals.get(i).map(|&s| (s - t) as f64 / 1e9)
        })
        .collect()
}

fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

/// Two-sample Kolmogorov–Smirnov distance and its critical value at 1 %.
fn ks(a: &[f64], b: &[f64]) -> (f64, f64) {
    let (mut x, mut y) = (a.to_vec(), b.to_vec());
    x.sort_by(f64::total_cmp);
    y.sort_by(f64::total_cmp);
    let (n, m) = (x.len() as f64, y.len() as f64);
    let mut d: f64 = 0.0;
    for v in x.iter().chain(y.iter()) {
        let fa = x.partition_point(|z| z <= v) as f64 / n;
        let fb = y.partition_point(|z| z <= v) as f64 / m;
        d = d.max((fa - fb).abs());
    }
    (d, 1.628 * ((n + m) / (n * m)).sqrt())
}

fn report(what: &str, warm: &[f64], steady: &[f64]) {
    let (d, crit) = ks(warm, steady);
    eprintln!(
        "{what}: warm start n={} p25 {:.0} s, median {:.0} s, p75 {:.0} s, p90 {:.0} s | steady state n={} p25 {:.0} s, median {:.0} s, p75 {:.0} s, p90 {:.0} s | KS D = {d:.3} (1 % critical {crit:.3})",
        warm.len(),
        quantile(warm, 0.25),
        quantile(warm, 0.5),
        quantile(warm, 0.75),
        quantile(warm, 0.9),
        steady.len(),
        quantile(steady, 0.25),
        quantile(steady, 0.5),
        quantile(steady, 0.75),
        quantile(steady, 0.9),
    );
    assert!(
        d < crit,
        "{what}: the warm start changes when signals come (KS D {d:.3} >= {crit:.3})"
    );
}

#[test]
fn warm_start_first_signal_comes_as_in_steady_state_on_real_klines() {
    let d = data_dir().join("typhonun_DcaTpStrategy/futures");
    let files: Vec<PathBuf> = ["BTC", "ETH", "SOL"]
        .iter()
        .map(|s| d.join(format!("{s}_USDT_USDT-1m-futures.csv.gz")))
        .collect();
    if let Some(missing) = files.iter().find(|p| !p.exists()) {
        let req = std::env::var("SHMTRADER_REQUIRE_DATA").is_ok_and(|v| v == "1");
        assert!(
            !req,
            "{} missing (SHMTRADER_REQUIRE_DATA=1)",
            missing.display()
        );
        eprintln!("SKIPPED: {} missing", missing.display());
        return;
    }
    let (p, warm) = params();
    let mut m = load(&files, IntrabarPath::NearestFirst).unwrap();
    let start = m.sources.iter().map(|s| s.first_ms).max().unwrap();
    // Ten days: the first `warm` bars are the history of the earliest start.
    let end = start + 10 * 86_400_000;
    m.window(start, end);
    let series: Vec<Vec<Bar>> = (0..m.symbols.len())
        .map(|s| {
            let mut v: Vec<Bar> = Vec::new();
            for ev in &m.events {
                if let Event::Trade(t) = ev {
                    if t.symbol_id as usize != s {
                        continue;
                    }
                    let open = (t.exchange_ts_ns / 1_000_000) as i64;
                    let open = open - open.rem_euclid(60_000);
                    match v.last_mut() {
                        Some(b) if b.open_time_ms == open => {
                            b.high = b.high.max(t.price);
                            b.low = b.low.min(t.price);
                            b.close = t.price;
                            b.volume += t.qty;
                        }
                        _ => v.push(Bar {
                            open_time_ms: open,
                            open: t.price,
                            high: t.price,
                            low: t.price,
                            close: t.price,
                            volume: t.qty,
                        }),
                    }
                }
            }
            v
        })
        .collect();
    let earliest = start + (warm as i64 + 60) * 60_000;
    let latest = end - 86_400_000;
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let warm_waits: Vec<f64> = (0..10)
        .filter_map(|_| warm_wait(&p, warm, &m, &series, rng.gen_range(earliest..latest)))
        .collect();
    let sig = steady_signals(&p, &m);
    let moments: Vec<u64> = (0..400)
        .map(|_| rng.gen_range(earliest..latest) as u64 * 1_000_000)
        .collect();
    let steady = waits(&sig, &moments);
    assert_eq!(warm_waits.len(), 10, "a warm start saw no signal for a day");
    report(
        "real klines (BTC, ETH, SOL; 10 random starts)",
        &warm_waits,
        &steady,
    );
}

#[test]
fn warm_start_first_signal_comes_as_in_steady_state_on_synthetic_markets() {
    let (p, warm) = params();
    let history_start = 1_700_000_000_000i64 - 1_700_000_000_000i64.rem_euclid(60_000);
    let earliest = history_start + (warm as i64 + 60) * 60_000;
    let latest = history_start + (warm as i64 + 2 * 1440) * 60_000;
    let mut warm_waits = Vec::new();
    let mut steady = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for seed in 0..20u64 {
        // Per-bar volatility of 0.1 %, the order of a 1-minute crypto bar.
        let series: Vec<Vec<Bar>> = (0..3)
            .map(|s| random_walk_bars(warm + 3 * 1440, history_start, 100.0, 0.001, seed * 3 + s))
            .collect();
        let named: Vec<(String, Vec<Bar>)> = series
            .iter()
            .enumerate()
            .map(|(i, b)| (format!("S{i}USDT"), b.clone()))
            .collect();
        let m = market_from_bars(&named, IntrabarPath::NearestFirst);
        // One warm start per seed, at a random moment of the window the steady-state
        // moments come from.
        if let Some(w) = warm_wait(&p, warm, &m, &series, rng.gen_range(earliest..latest)) {
            warm_waits.push(w);
        }
        let sig = steady_signals(&p, &m);
        let moments: Vec<u64> = (0..20)
            .map(|_| rng.gen_range(earliest..latest) as u64 * 1_000_000)
            .collect();
        steady.extend(waits(&sig, &moments));
    }
    assert_eq!(warm_waits.len(), 20, "a warm start saw no signal");
    report("synthetic random walks (20 seeds)", &warm_waits, &steady);
}

/// Where the steady engine has seen exactly the warm-up's bars (the refit schedule
/// then has the same phase), a warm engine's first signal is the steady engine's next
/// signal, to the tick: the warm start is the engine that would have run all along.
#[test]
fn warm_engine_signals_exactly_as_the_engine_that_ran_all_along() {
    let (p, warm) = params();
    let t0 = 1_700_000_000_000i64 - 1_700_000_000_000i64.rem_euclid(60_000);
    let history_start = t0 - warm as i64 * 60_000;
    for seed in 0..5u64 {
        let series: Vec<Vec<Bar>> = (0..3)
            .map(|s| random_walk_bars(warm + 2 * 1440, history_start, 100.0, 0.001, seed * 3 + s))
            .collect();
        let named: Vec<(String, Vec<Bar>)> = series
            .iter()
            .enumerate()
            .map(|(i, b)| (format!("S{i}USDT"), b.clone()))
            .collect();
        let m = market_from_bars(&named, IntrabarPath::NearestFirst);
        let w = warm_wait(&p, warm, &m, &series, t0).expect("a signal within two days");
        let sig = steady_signals(&p, &m);
        let t0n = t0 as u64 * 1_000_000;
        let next = sig[sig.partition_point(|&s| s < t0n)];
        assert_eq!(w, (next - t0n) as f64 / 1e9, "seed {seed}");
    }
}
