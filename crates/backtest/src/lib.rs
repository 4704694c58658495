//! The backtest: replays recorded market data through the very code that trades live —
//! the analytics [`Engine`](shmtrader_strategy::Engine) (indicators, microstructure,
//! regime, adaptive threshold), the [`RiskEngine`](shmtrader_risk::RiskEngine) (gate,
//! sizing, exits on every tick) and the [`PaperBroker`](shmtrader_risk::PaperBroker)
//! (latency, spread, impact, fees) — and reports the results net of every cost, with no
//! look-ahead.
//!
//! - [`data`]: reading klines, trade CSVs, raw captures and aggTrades into one
//!   time-ordered stream (klines become four trades each; the bias is documented there);
//! - [`sim`]: the loop and its order of operations (documented there), funding, the
//!   `--compare` filters;
//! - [`metrics`]: the definitions of every figure;
//! - [`report`], [`html`]: JSON, terminal table, self-contained HTML;
//! - [`compare`]: variants on identical data with bootstrap confidence intervals.
//!
//! Several files and symbols in one run share **one account**: ticks are merged by time
//! across symbols, so the correlation filter, the position limits and the drawdown
//! protection act as they do live. The symbol table comes from the data (alphabetical),
//! not from `config.symbols`.
//!
//! Deterministic: an HMM refit is installed at a fixed bar whether it ran on a worker
//! thread ([`ThreadFitter`](shmtrader_strategy::ThreadFitter), the default, as in the
//! analytics stage) or inline; ML refits run inline; random draws are seeded; maps are
//! ordered. So the same data and config give byte-identical JSON.

pub mod compare;
pub mod data;
pub mod error;
pub mod html;
pub mod metrics;
pub mod params;
pub mod report;
pub mod sim;
pub mod synth;
pub mod util;

pub use compare::{Comparison, Variant};
pub use data::{IntrabarPath, Market};
pub use error::{BacktestError, Result};
pub use params::{engine_params, indicator_params, ml_filter_params, risk_params, symbol_rules};
pub use report::Report;
pub use sim::{simulate, MlExample, SignalFilter, SimResult, SimSettings, TradeRecord, Verdict};

use shmtrader_core::Config;
use std::path::{Path, PathBuf};

/// Knobs of a run that are not trading configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestOptions {
    /// Funding rate per 8 h charged on open positions at 00:00, 08:00 and 16:00 UTC
    /// (default 0.0001 = 0.01 %, Binance's usual base rate; > 0: longs pay shorts).
    pub funding_rate_8h: f64,
    /// Replay order of each kline's extremes.
    pub intrabar: IntrabarPath,
    /// Progress bar on stderr for long runs (only when stderr is a terminal).
    pub progress: bool,
    /// Seed of the random filter and the bootstrap.
    pub seed: u64,
    /// Bootstrap resamples for `--compare`.
    pub bootstrap_resamples: usize,
    /// Spacing of the equity-curve samples in the HTML report (ms).
    pub curve_interval_ms: u64,
    /// Starting equity; `None` keeps the risk engine's default.
    pub starting_equity: Option<f64>,
}

impl Default for BacktestOptions {
    fn default() -> Self {
        BacktestOptions {
            funding_rate_8h: 0.0001,
            intrabar: IntrabarPath::NearestFirst,
            progress: true,
            seed: 42,
            bootstrap_resamples: 2_000,
            curve_interval_ms: 3_600_000,
            starting_equity: None,
        }
    }
}

/// Simulation settings from the config (as the live stages map it) and the options.
pub fn settings(
    cfg: &Config,
    market: &Market,
    opts: &BacktestOptions,
    adaptive: bool,
    filter: SignalFilter,
    label: &str,
) -> Result<SimSettings> {
    cfg.validate()?;
    let mut engine = engine_params(cfg)?;
    engine.adaptive_enabled = adaptive;
    let mut risk = risk_params(cfg);
    if let Some(e) = opts.starting_equity {
        risk.starting_equity = e;
    }
    Ok(SimSettings {
        engine,
        risk,
        rules: symbol_rules(&market.symbols),
        filter,
        funding_rate_8h: opts.funding_rate_8h,
        curve_interval_ns: opts.curve_interval_ms.saturating_mul(1_000_000),
        progress: opts.progress,
        label: label.to_string(),
        record_examples: false,
        fit_thread: true,
    })
}

/// Runs one backtest over `files` with the configuration as it is: the engine, the
/// risk rules and, with `ml.enabled`, the online ML filter as the live processes run
/// them.
pub fn run(cfg: &Config, files: &[PathBuf], opts: &BacktestOptions) -> Result<Report> {
    let market = data::load(files, opts.intrabar)?;
    run_market(cfg, &market, opts)
}

/// Runs one backtest over an already loaded market.
pub fn run_market(cfg: &Config, market: &Market, opts: &BacktestOptions) -> Result<Report> {
    // The filter the analytics process would run with this config.
    let filter = if cfg.ml.enabled {
        SignalFilter::Online(Box::new(params::ml_filter_params(cfg)))
    } else {
        SignalFilter::None
    };
    let s = settings(cfg, market, opts, cfg.strategy.adaptive, filter, "backtest")?;
    let sim = simulate(market, &s)?;
    Ok(Report::new(sim, market, &s, opts.intrabar))
}

/// One account per symbol (`--separate`): the symbols of `market` run as independent
/// backtests, in parallel on the available cores (each run is single-threaded apart from
/// its HMM fit worker). Results in symbol order, identical to running each symbol alone.
pub fn run_separate(
    cfg: &Config,
    market: &Market,
    opts: &BacktestOptions,
) -> Result<Vec<(String, Report)>> {
    let parts = market.split_by_symbol();
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(parts.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let quiet = BacktestOptions {
        progress: false,
        ..opts.clone()
    };
    let mut results: Vec<Option<Result<Report>>> = (0..parts.len()).map(|_| None).collect();
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                sc.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(m) = parts.get(i) else { break };
                        done.push((i, run_market(cfg, m, &quiet)));
                    }
                    done
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(done) => {
                    for (i, r) in done {
                        results[i] = Some(r);
                    }
                }
                Err(_) => {
                    return;
                }
            }
        }
    });
    let mut out = Vec::with_capacity(parts.len());
    for (m, r) in parts.iter().zip(results) {
        let name = m.symbols.first().cloned().unwrap_or_default();
        let r =
            r.ok_or_else(|| BacktestError::Report(format!("{name}: the run did not finish")))?;
        out.push((name, r?));
    }
    Ok(out)
}

/// The terminal table of a `--separate` run: one row per account.
pub fn separate_table(runs: &[(String, Report)]) -> String {
    use std::fmt::Write as _;
    let mut o = format!(
        "{:<14}{:>7}{:>7}{:>11}{:>10}{:>10}{:>7}{:>8}{:>8}{:>10}\n",
        "account", "trades", "win%", "net", "fees", "slippage", "PF", "maxDD%", "sharpe", "ticks"
    );
    let mut total = 0.0;
    for (name, r) in runs {
        let s = &r.summary;
        let st = &s.stats;
        total += st.net_pnl;
        let _ = writeln!(
            o,
            "{:<14}{:>7}{:>7.1}{:>11.2}{:>10.2}{:>10.2}{:>7}{:>8.2}{:>8}{:>10}",
            name,
            st.trades,
            st.win_rate * 100.0,
            st.net_pnl,
            st.fees,
            st.slippage,
            report::opt(st.profit_factor, 2),
            s.max_drawdown * 100.0,
            report::opt(s.sharpe, 2),
            s.ticks
        );
    }
    let _ = writeln!(
        o,
        "{} separate accounts of {:.2} each; net PnL summed over them {total:.2}",
        runs.len(),
        runs.first().map_or(0.0, |(_, r)| r.summary.starting_equity)
    );
    o
}

/// `{"accounts": {"SYMBOL": {"summary", "per_symbol", ...}, ...}}`, deterministic.
pub fn separate_json(runs: &[(String, Report)]) -> Result<String> {
    let mut accounts = serde_json::Map::new();
    for (name, r) in runs {
        let v: serde_json::Value = serde_json::from_str(&r.to_json()?)
            .map_err(|e| BacktestError::Report(e.to_string()))?;
        accounts.insert(name.clone(), v);
    }
    serde_json::to_string_pretty(&serde_json::json!({ "accounts": accounts }))
        .map_err(|e| BacktestError::Report(e.to_string()))
}

/// Arguments of `shmtrader backtest`.
#[derive(Debug, Clone)]
pub struct BacktestArgs {
    /// Configuration (already loaded and validated by the CLI).
    pub config: Config,
    /// Data files (`SYMBOL=PATH` names a kline file's symbol).
    pub data: Vec<PathBuf>,
    /// Write the JSON report here.
    pub json: Option<PathBuf>,
    /// Write the HTML report here.
    pub report: Option<PathBuf>,
    /// Run the comparison of variants instead of one backtest.
    pub compare: bool,
    /// One account per symbol, run in parallel, instead of one shared account.
    pub separate: bool,
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| BacktestError::io(path, e))
}

/// `shmtrader backtest`: runs, prints the summary table to stdout, writes the JSON and
/// HTML reports if asked. Returns the process exit code (0: the backtest ran; a losing
/// strategy is a result, not a failure).
pub fn cli(args: BacktestArgs) -> Result<i32> {
    let opts = BacktestOptions::default();
    if args.separate {
        if args.compare || args.report.is_some() {
            return Err(BacktestError::Param(
                "--separate runs one account per symbol and prints one table; it does not combine with --compare or --report (run one symbol for those)".into(),
            ));
        }
        let market = data::load(&args.data, opts.intrabar)?;
        let runs = run_separate(&args.config, &market, &opts)?;
        print!("{}", separate_table(&runs));
        if let Some(p) = &args.json {
            write_file(p, &separate_json(&runs)?)?;
        }
        return Ok(0);
    }
    if args.compare {
        let c = compare::compare(&args.config, &args.data, &opts)?;
        print!("{}", c.table());
        if let Some(p) = &args.json {
            write_file(p, &c.to_json()?)?;
        }
        if let Some(p) = &args.report {
            write_file(p, &c.to_html()?)?;
        }
    } else {
        let r = run(&args.config, &args.data, &opts)?;
        print!("{}", r.summary_table());
        if let Some(p) = &args.json {
            write_file(p, &r.to_json()?)?;
        }
        if let Some(p) = &args.report {
            write_file(p, &r.to_html()?)?;
        }
    }
    Ok(0)
}
