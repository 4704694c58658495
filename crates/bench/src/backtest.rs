//! `shmtrader bench backtest`: trades per second through the backtest loop — the live
//! strategy engine (indicators, microstructure, regime with inline HMM refits, adaptive
//! threshold), the live risk engine (gate, sizing, exits on every tick) and the paper
//! broker — single-threaded, data already in memory (file parsing is not timed).
//!
//! Rows:
//! - `backtest.ticks_per_s`: a seeded random-walk tick stream of 16 symbols at 100
//!   trades per symbol-minute (tick-data density), default configuration: HMM refits on
//!   a worker thread as in the analytics stage, so the CPU-second figure is the
//!   decision thread's (indicators, signals, regime filtering, risk, fills);
//! - `backtest.inline_fit_ticks_per_s`: the same with the refits inline, everything on
//!   one thread (same trades, checked);
//! - `backtest.kline_ticks_per_s`: the same symbols as 1-minute klines replayed as four
//!   prints per bar — 25× fewer prints per bar, so the per-bar work (HMM refits, bar
//!   closes, correlation) weighs 25× more per print;
//! - `backtest.no_refit_ticks_per_s`: the tick stream with HMM refits switched off
//!   (indicators, signals, risk and fills only): the baseline the first row is compared
//!   with, so the ratio is the share of throughput the inline refits leave.
//!
//! Each figure is the median of several runs. The accuracy field reports the
//! determinism check (two runs, identical trades bit for bit) and the trade count, so a
//! fast run that trades nothing is visible.

use crate::error::{BenchError, Result};
use crate::{BenchOptions, Row};
use shmtrader_backtest::synth::{market_from_bars, random_walk_bars, random_walk_ticks};
use shmtrader_backtest::{simulate, BacktestOptions, IntrabarPath, Market, SignalFilter};
use shmtrader_core::Config;
use std::time::Instant;

const START_MS: i64 = 1_746_316_800_000; // 2025-05-04 00:00 UTC

fn err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Invalid(format!("backtest: {e}"))
}

/// CPU time this thread has run (ns), from `/proc/thread-self/schedstat`: on a shared
/// machine the wall-clock rate also counts time spent waiting for a core.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Median wall-clock ticks/s over `reps` runs, median ticks per CPU-second (if the OS
/// tells), the trade count and whether all runs agreed.
fn measure(
    cfg: &Config,
    m: &Market,
    reps: usize,
    fit_thread: bool,
) -> Result<(f64, Option<f64>, usize, bool)> {
    let opts = BacktestOptions {
        progress: false,
        ..BacktestOptions::default()
    };
    let s = shmtrader_backtest::settings(
        cfg,
        m,
        &opts,
        cfg.strategy.adaptive,
        SignalFilter::None,
        "bench",
    )
    .map_err(err)?;
    let s = shmtrader_backtest::SimSettings { fit_thread, ..s };
    let mut rates = Vec::with_capacity(reps);
    let mut cpu_rates = Vec::with_capacity(reps);
    let mut first: Option<Vec<shmtrader_backtest::TradeRecord>> = None;
    let mut same = true;
    for _ in 0..reps.max(1) {
        let c0 = thread_cpu_ns();
        let t0 = Instant::now();
        let r = simulate(m, &s).map_err(err)?;
        let dt = t0.elapsed().as_secs_f64();
        rates.push(r.ticks as f64 / dt.max(1e-9));
        if let (Some(a), Some(b)) = (c0, thread_cpu_ns()) {
            cpu_rates.push(r.ticks as f64 / ((b.saturating_sub(a)) as f64 * 1e-9).max(1e-9));
        }
        match &first {
            None => first = Some(r.trades),
            Some(f) => same &= *f == r.trades,
        }
    }
    let (p50, _, _) = crate::percentiles(&mut rates);
    let cpu = (!cpu_rates.is_empty()).then(|| crate::percentiles(&mut cpu_rates).0);
    Ok((p50, cpu, first.map_or(0, |t| t.len()), same))
}

/// Runs the backtest benchmark.
pub fn run(opts: &BenchOptions) -> Result<Vec<Row>> {
    let (symbols, minutes, reps) = if opts.quick {
        (4, 180, 1)
    } else {
        (16, 1_440, 3)
    };
    let cfg = Config::embedded_default().map_err(err)?;
    let mut no_refit = cfg.clone();
    no_refit.strategy.regime_refit_every_bars = u32::MAX;

    let ticks = random_walk_ticks(symbols, minutes, 100, START_MS, 0.0015, 0x5eed);
    let series: Vec<(String, Vec<_>)> = (0..symbols)
        .map(|i| {
            (
                format!("SYN{i:02}USDT"),
                random_walk_bars(
                    minutes,
                    START_MS,
                    100.0 * (1.0 + i as f64),
                    0.0015,
                    77 + i as u64,
                ),
            )
        })
        .collect();
    let klines = market_from_bars(&series, IntrabarPath::NearestFirst);

    let (full, full_cpu, n_full, same_full) = measure(&cfg, &ticks, reps, true)?;
    let (inl, inl_cpu, n_inl, same_inl) = measure(&cfg, &ticks, reps, false)?;
    let (kl, kl_cpu, n_kl, same_kl) = measure(&cfg, &klines, reps, true)?;
    let (base, base_cpu, n_base, same_base) = measure(&no_refit, &ticks, reps, false)?;
    if !(same_full && same_inl && same_kl && same_base) {
        return Err(BenchError::Invalid(
            "backtest runs on identical data gave different trades".into(),
        ));
    }
    if n_full != n_inl {
        return Err(BenchError::Invalid(
            "refits on a worker thread changed the trades".into(),
        ));
    }
    let acc = |n: usize, prints: u64, cpu: Option<f64>| {
        Some(format!(
            "{symbols} symbols x {minutes} min, {prints} prints, {n} trades; {} runs bit-identical; {} ticks per CPU-second (wall-clock figure includes waiting for a shared core)",
            reps.max(1),
            cpu.map_or_else(|| "n/a".to_string(), |c| format!("{:.2}M", c / 1e6))
        ))
    };
    let row = |name: &str, v: f64, baseline: Option<(&str, f64)>, a: Option<String>| Row {
        name: name.into(),
        unit: "ticks/s".into(),
        value: v,
        p99: None,
        p999: None,
        baseline: baseline.map(|(b, _)| b.to_string()),
        ratio: baseline.map(|(_, b)| v / b.max(1e-9)),
        accuracy: a,
    };
    Ok(vec![
        row(
            "backtest.ticks_per_s",
            full,
            Some(("backtest.no_refit_ticks_per_s", base)),
            acc(n_full, ticks.trade_count(), full_cpu),
        ),
        row(
            "backtest.inline_fit_ticks_per_s",
            inl,
            Some(("backtest.no_refit_ticks_per_s", base)),
            acc(n_inl, ticks.trade_count(), inl_cpu),
        ),
        row(
            "backtest.kline_ticks_per_s",
            kl,
            Some(("backtest.no_refit_ticks_per_s", base)),
            acc(n_kl, klines.trade_count(), kl_cpu),
        ),
        row(
            "backtest.no_refit_ticks_per_s",
            base,
            None,
            acc(n_base, ticks.trade_count(), base_cpu),
        ),
    ])
}
