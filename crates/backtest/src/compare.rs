//! `--compare`: the same data through variants of the decision chain, in one table.
//!
//! | variant | engine | filter before the risk gate |
//! |---|---|---|
//! | `rules` | adaptive threshold off, regime ignored | none |
//! | `adaptive` | adaptive threshold on | none |
//! | `adaptive+regime` | adaptive threshold on | only signals whose kind agrees with the regime ([`crate::sim::signal_kind`]: trend signals in trending regimes, reversion signals in ranging ones, nothing while unknown) |
//! | `ml_filter` | — | not built yet: no figures, never faked |
//! | `random` | the best filter variant's engine | each signal passes with the best filter variant's pass rate (seeded) |
//!
//! The **pass rate** of a filter variant is measured against the variant it builds on:
//! for `adaptive`, its signals over the `rules` signals (its threshold is the filter);
//! for `adaptive+regime`, the signals that passed the regime check over all its signals.
//! The best filter variant is the one of those two with the higher net PnL; the random
//! variant applies its pass rate to its base engine, so the comparison asks "does the
//! filter pick better trades than chance at the same rate?".
//!
//! For every variant, `pnl_diff_ci` is a 95 % interval of (variant − `rules`) total net
//! PnL from a moving-block bootstrap over UTC days ([`crate::metrics::block_bootstrap_ci`],
//! block ⌈days^(1/3)⌉, seeded). An interval that contains 0 means the data cannot tell
//! the variant from the baseline.
//!
//! The three independent variants run in parallel (`std::thread::scope`): each has its
//! own account, so nothing is shared but the read-only data.

use crate::data::Market;
use crate::error::{BacktestError, Result};
use crate::metrics::{block_bootstrap_ci, block_length, daily_pnl, Summary};
use crate::report::Report;
use crate::sim::{simulate, SignalFilter};
use crate::BacktestOptions;
use serde::Serialize;
use shmtrader_core::Config;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// One row of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    /// Short name.
    pub name: String,
    /// What the variant does.
    pub description: String,
    /// Figures; `null` for a variant that is not built.
    pub summary: Option<Summary>,
    /// 95 % bootstrap interval of the net-PnL difference to `rules`.
    pub pnl_diff_ci: Option<[f64; 2]>,
    /// Fraction of its base's signals that reached the risk gate (filter variants).
    pub pass_rate: Option<f64>,
    /// Remarks (e.g. "not built yet").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The full report (HTML, tests); not serialised.
    #[serde(skip)]
    pub report: Option<Report>,
}

/// Bootstrap settings used.
#[derive(Debug, Clone, Serialize)]
pub struct BootstrapInfo {
    /// UTC days resampled.
    pub days: usize,
    /// Block length (days).
    pub block_days: usize,
    /// Resamples.
    pub resamples: usize,
    /// Seed.
    pub seed: u64,
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Variants in table order.
    pub variants: Vec<Variant>,
    /// How the intervals were computed.
    pub bootstrap: BootstrapInfo,
}

struct Spec {
    name: &'static str,
    description: &'static str,
    adaptive: bool,
    filter: SignalFilter,
}

/// Runs the comparison over `files`.
pub fn compare(cfg: &Config, files: &[PathBuf], opts: &BacktestOptions) -> Result<Comparison> {
    let market = crate::data::load(files, opts.intrabar)?;
    compare_market(cfg, &market, opts)
}

fn run_spec(
    cfg: &Config,
    market: &Market,
    opts: &BacktestOptions,
    s: &Spec,
    progress: bool,
) -> Result<Report> {
    let mut st = crate::settings(cfg, market, opts, s.adaptive, s.filter, s.name)?;
    // One bar at a time on the terminal: parallel variants would overwrite each other.
    st.progress = opts.progress && progress;
    let sim = simulate(market, &st)?;
    Ok(Report::new(sim, market, &st, opts.intrabar))
}

/// Runs the comparison over a loaded market.
pub fn compare_market(cfg: &Config, market: &Market, opts: &BacktestOptions) -> Result<Comparison> {
    let specs = [
        Spec {
            name: "rules",
            description: "rules only: adaptive threshold off, regime ignored",
            adaptive: false,
            filter: SignalFilter::None,
        },
        Spec {
            name: "adaptive",
            description: "+ adaptive threshold",
            adaptive: true,
            filter: SignalFilter::None,
        },
        Spec {
            name: "adaptive+regime",
            description: "+ regime: trend signals only in trending regimes, reversion signals only in ranging ones",
            adaptive: true,
            filter: SignalFilter::Regime,
        },
    ];
    let results: Vec<Result<Report>> = std::thread::scope(|sc| {
        let handles: Vec<_> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| sc.spawn(move || run_spec(cfg, market, opts, s, i == 0)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(BacktestError::Report("a variant thread panicked".into()))
                })
            })
            .collect()
    });
    let mut reports = Vec::with_capacity(3);
    for r in results {
        reports.push(r?);
    }
    let (rules, adaptive, regime) = (&reports[0], &reports[1], &reports[2]);
    let rate = |num: u64, den: u64| {
        if den == 0 {
            0.0
        } else {
            (num as f64 / den as f64).min(1.0)
        }
    };
    let adaptive_rate = rate(adaptive.summary.signals, rules.summary.signals);
    let regime_rate = rate(
        regime.summary.signals - regime.summary.filtered,
        regime.summary.signals,
    );
    // Best filter variant by net PnL; its base engine and pass rate drive the random one.
    let regime_best = regime.summary.stats.net_pnl > adaptive.summary.stats.net_pnl;
    let (best_name, best_rate, base_adaptive) = if regime_best {
        ("adaptive+regime", regime_rate, true)
    } else {
        ("adaptive", adaptive_rate, false)
    };
    let random_spec = Spec {
        name: "random",
        description: "random filter at the best filter variant's pass rate",
        adaptive: base_adaptive,
        filter: SignalFilter::Random {
            pass_rate: best_rate,
            seed: opts.seed,
        },
    };
    let random = run_spec(cfg, market, opts, &random_spec, true)?;

    // Bootstrap over the baseline's days.
    let base_days = daily_pnl(rules.summary.starting_equity, &rules.daily_equity);
    let days = base_days.len();
    let block = block_length(days);
    let ci = |r: &Report| -> Option<[f64; 2]> {
        let v = daily_pnl(r.summary.starting_equity, &r.daily_equity);
        let keys: std::collections::BTreeSet<u64> =
            base_days.keys().chain(v.keys()).copied().collect();
        let diffs: Vec<f64> = keys
            .iter()
            .map(|k| v.get(k).copied().unwrap_or(0.0) - base_days.get(k).copied().unwrap_or(0.0))
            .collect();
        block_bootstrap_ci(&diffs, block, opts.bootstrap_resamples, opts.seed ^ 0xB007)
    };
    let mut reports = reports.into_iter();
    let (Some(rules), Some(adaptive), Some(regime)) =
        (reports.next(), reports.next(), reports.next())
    else {
        return Err(BacktestError::Report("missing variant results".into()));
    };
    let row = |spec: &Spec, r: Report, pass: Option<f64>, note: Option<String>| Variant {
        name: spec.name.to_string(),
        description: spec.description.to_string(),
        summary: Some(r.summary.clone()),
        pnl_diff_ci: ci(&r),
        pass_rate: pass,
        note,
        report: Some(r),
    };
    let variants = vec![
        row(&specs[0], rules, None, None),
        row(&specs[1], adaptive, Some(adaptive_rate), None),
        row(&specs[2], regime, Some(regime_rate), None),
        Variant {
            name: "ml_filter".into(),
            description: "+ ML filter".into(),
            summary: None,
            pnl_diff_ci: None,
            pass_rate: None,
            note: Some("not built yet".into()),
            report: None,
        },
        row(
            &random_spec,
            random,
            Some(best_rate),
            Some(format!("pass rate of {best_name}")),
        ),
    ];
    Ok(Comparison {
        variants,
        bootstrap: BootstrapInfo {
            days,
            block_days: block,
            resamples: opts.bootstrap_resamples,
            seed: opts.seed ^ 0xB007,
        },
    })
}

impl Comparison {
    /// `{"variants": [...], "bootstrap": {...}}`, deterministic.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| BacktestError::Report(e.to_string()))
    }

    /// One aligned table.
    pub fn table(&self) -> String {
        let mut o = format!(
            "{:<16}{:>7}{:>7}{:>11}{:>10}{:>10}{:>9}{:>7}{:>8}{:>8}{:>7}  {}\n",
            "variant",
            "trades",
            "win%",
            "net",
            "fees",
            "slippage",
            "funding",
            "PF",
            "maxDD%",
            "sharpe",
            "pass",
            "net vs rules, 95% CI"
        );
        for v in &self.variants {
            match &v.summary {
                None => {
                    let _ = writeln!(
                        o,
                        "{:<16}{}",
                        v.name,
                        v.note.as_deref().unwrap_or("no figures")
                    );
                }
                Some(s) => {
                    let st = &s.stats;
                    let ci = v
                        .pnl_diff_ci
                        .map_or_else(|| "-".to_string(), |[a, b]| format!("[{a:.2}, {b:.2}]"));
                    let _ = writeln!(
                        o,
                        "{:<16}{:>7}{:>7.1}{:>11.2}{:>10.2}{:>10.2}{:>9.2}{:>7}{:>8.2}{:>8}{:>7}  {}",
                        v.name,
                        st.trades,
                        st.win_rate * 100.0,
                        st.net_pnl,
                        st.fees,
                        st.slippage,
                        st.funding,
                        st.profit_factor.map_or_else(|| "n/a".into(), |x| format!("{x:.2}")),
                        s.max_drawdown * 100.0,
                        s.sharpe.map_or_else(|| "n/a".into(), |x| format!("{x:.2}")),
                        v.pass_rate.map_or_else(|| "-".into(), |x| format!("{x:.2}")),
                        ci
                    );
                }
            }
        }
        let _ = writeln!(
            o,
            "CI: moving-block bootstrap over {} UTC days (block {} days, {} resamples, seed {}).",
            self.bootstrap.days,
            self.bootstrap.block_days,
            self.bootstrap.resamples,
            self.bootstrap.seed
        );
        o
    }

    /// HTML page with the table and the variants' equity curves.
    pub fn to_html(&self) -> Result<String> {
        crate::html::compare_html(self)
    }

    /// The variants with figures, by name.
    pub fn by_name(&self) -> BTreeMap<&str, &Variant> {
        self.variants.iter().map(|v| (v.name.as_str(), v)).collect()
    }
}
