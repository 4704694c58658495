//! Throughput of the simulation loop on a synthetic tick stream (for profiling):
//! `cargo run --release -p shmtrader-backtest --example speed -- [refit_every_bars]`

use shmtrader_backtest::synth::random_walk_ticks;
use shmtrader_backtest::{settings, simulate, BacktestOptions, SignalFilter};
use shmtrader_core::Config;

fn main() {
    let refit: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(u32::MAX);
    let mut cfg = match Config::embedded_default() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    cfg.strategy.regime_refit_every_bars = refit;
    let m = random_walk_ticks(16, 1_440, 100, 1_746_316_800_000, 0.0015, 0x5eed);
    let opts = BacktestOptions {
        progress: false,
        ..BacktestOptions::default()
    };
    let s = match settings(&cfg, &m, &opts, true, SignalFilter::None, "speed") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    for _ in 0..3 {
        let t0 = std::time::Instant::now();
        match simulate(&m, &s) {
            Ok(r) => {
                let dt = t0.elapsed().as_secs_f64();
                println!(
                    "{} ticks in {dt:.3} s = {:.2} M ticks/s, {} trades",
                    r.ticks,
                    r.ticks as f64 / dt / 1e6,
                    r.trades.len()
                );
            }
            Err(e) => eprintln!("{e}"),
        }
    }
}
