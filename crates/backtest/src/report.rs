//! The result of one backtest: JSON for machines, a table for the terminal, an HTML page
//! for people (see `html`).
//!
//! The JSON is deterministic: maps are ordered, floats are printed by `serde_json`'s
//! shortest round-trip formatting, and nothing time- or machine-dependent (wall clock,
//! speed) is included, so the same data and config give byte-identical output.

use crate::data::{IntrabarPath, Market, SymbolSource};
use crate::error::{BacktestError, Result};
use crate::metrics::{summarize, Summary, TradeStats};
use crate::sim::{CurvePoint, MlFilterSummary, SignalFilter, SimResult, SimSettings, TradeRecord};
use serde::Serialize;
use shmtrader_risk::ImpactModel;
use shmtrader_strategy::Regime;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Per-symbol figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SymbolSummary {
    /// Trade statistics of the symbol.
    #[serde(flatten)]
    pub stats: TradeStats,
    /// Trade prints replayed.
    pub ticks: u64,
    /// `klines` or `ticks`.
    pub source: &'static str,
}

/// The cost and fill assumptions of the run, stated in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assumptions {
    /// Taker fee rate on every fill.
    pub taker_fee: f64,
    /// Half-spread charged when no book top is known (bps).
    pub default_half_spread_bps: f64,
    /// Impact at `impact_typical_notional_usd` (bps).
    pub impact_coeff_bps: f64,
    /// Notional at which impact equals the coefficient.
    pub impact_typical_notional_usd: f64,
    /// `square_root` or `linear`.
    pub impact_model: &'static str,
    /// Decision-to-market latency (ms).
    pub latency_ms: f64,
    /// Fill rule.
    pub fill_rule: &'static str,
    /// Funding rate per 8 h on open positions (sign by side: > 0 longs pay).
    pub funding_rate_8h: f64,
    /// How klines are replayed.
    pub intrabar_path: &'static str,
    /// Starting equity.
    pub starting_equity: f64,
    /// Adaptive threshold on.
    pub adaptive: bool,
    /// Signal filter of the run.
    pub filter: String,
}

impl Assumptions {
    /// The assumptions of a simulation's settings.
    pub fn of(s: &SimSettings, intrabar: IntrabarPath) -> Assumptions {
        Assumptions {
            taker_fee: s.risk.taker_fee,
            default_half_spread_bps: s.risk.default_half_spread_bps,
            impact_coeff_bps: s.risk.impact_coeff_bps,
            impact_typical_notional_usd: s.risk.impact_typical_notional_usd,
            impact_model: match s.risk.impact_model {
                ImpactModel::SquareRoot => "square_root",
                ImpactModel::Linear => "linear",
            },
            latency_ms: s.risk.latency_ns as f64 / 1e6,
            fill_rule: "market orders fill on the next trade of their symbol at or after decision + latency, at that trade's price plus half-spread and impact, taker fee",
            funding_rate_8h: s.funding_rate_8h,
            intrabar_path: intrabar.as_str(),
            starting_equity: s.risk.starting_equity,
            adaptive: s.engine.adaptive_enabled,
            filter: filter_name(&s.filter),
        }
    }
}

/// Name of a filter for reports.
pub fn filter_name(f: &SignalFilter) -> String {
    match f {
        SignalFilter::None => "none".into(),
        SignalFilter::Regime => "regime".into(),
        SignalFilter::Random { pass_rate, seed } => {
            format!("random(pass_rate={pass_rate:.4}, seed={seed})")
        }
        SignalFilter::Precomputed(v) => {
            let pass = v.iter().filter(|d| d.pass).count();
            format!("precomputed({pass} of {} signals pass)", v.len())
        }
        SignalFilter::Online(p) => format!(
            "ml_online(threshold={}, window={}, refit_every={}, min_examples={})",
            p.threshold, p.window, p.refit_every, p.min_examples
        ),
    }
}

/// One backtest's results.
#[derive(Debug, Clone)]
pub struct Report {
    /// Headline figures.
    pub summary: Summary,
    /// Figures per symbol.
    pub per_symbol: BTreeMap<String, SymbolSummary>,
    /// Figures per regime label of the opening signal.
    pub per_regime: BTreeMap<String, TradeStats>,
    /// Every closed trade.
    pub trades: Vec<TradeRecord>,
    /// Where the data came from.
    pub data: Vec<SymbolSource>,
    /// Costs and fill rules.
    pub assumptions: Assumptions,
    /// Equity curve (HTML only).
    pub curve: Vec<CurvePoint>,
    /// End-of-day equity (bootstrap, HTML).
    pub daily_equity: Vec<(u64, f64)>,
    /// The online ML filter's counters and accuracy, when the run used it.
    pub ml_filter: Option<MlFilterSummary>,
}

#[derive(Serialize)]
struct JsonView<'a> {
    summary: &'a Summary,
    per_symbol: &'a BTreeMap<String, SymbolSummary>,
    per_regime: &'a BTreeMap<String, TradeStats>,
    assumptions: &'a Assumptions,
    data: &'a [SymbolSource],
    #[serde(skip_serializing_if = "Option::is_none")]
    ml_filter: Option<&'a MlFilterSummary>,
    trades: &'a [TradeRecord],
}

fn usd(v: f64) -> String {
    format!("{v:.2}")
}

/// A figure that may be undefined (a ratio of one day, a rate of nothing), as text.
pub(crate) fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "n/a".into(), |x| format!("{x:.digits$}"))
}

impl Report {
    /// Builds the report of a simulation.
    pub fn new(
        sim: SimResult,
        market: &Market,
        settings: &SimSettings,
        intrabar: IntrabarPath,
    ) -> Report {
        let summary = summarize(&sim);
        let mut per_symbol = BTreeMap::new();
        for (i, sym) in sim.symbols.iter().enumerate() {
            let stats = TradeStats::of(sim.trades.iter().filter(|t| t.symbol_id as usize == i));
            per_symbol.insert(
                sym.clone(),
                SymbolSummary {
                    stats,
                    ticks: sim.ticks_per_symbol.get(i).copied().unwrap_or(0),
                    source: market.sources.get(i).map_or("unknown", |s| s.kind),
                },
            );
        }
        let mut per_regime = BTreeMap::new();
        for code in 0..=4u8 {
            let ts: Vec<&TradeRecord> = sim
                .trades
                .iter()
                .filter(|t| t.regime_code == code)
                .collect();
            if !ts.is_empty() {
                per_regime.insert(
                    Regime::from_code(code).as_str().to_string(),
                    TradeStats::of(ts),
                );
            }
        }
        Report {
            summary,
            per_symbol,
            per_regime,
            trades: sim.trades,
            data: market.sources.clone(),
            assumptions: Assumptions::of(settings, intrabar),
            curve: sim.curve,
            daily_equity: sim.daily_equity,
            ml_filter: sim.ml,
        }
    }

    /// `{"summary", "per_symbol", "per_regime", "assumptions", "data", "trades"}`,
    /// pretty-printed, deterministic.
    pub fn to_json(&self) -> Result<String> {
        let v = JsonView {
            summary: &self.summary,
            per_symbol: &self.per_symbol,
            per_regime: &self.per_regime,
            assumptions: &self.assumptions,
            data: &self.data,
            ml_filter: self.ml_filter.as_ref(),
            trades: &self.trades,
        };
        serde_json::to_string_pretty(&v).map_err(|e| BacktestError::Report(e.to_string()))
    }

    /// A plain-text table for the terminal.
    pub fn summary_table(&self) -> String {
        let s = &self.summary;
        let st = &s.stats;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "backtest {} -> {}  ({} days, {} symbols, {} ticks, {} book tops)",
            s.start,
            s.end,
            s.days,
            self.per_symbol.len(),
            s.ticks,
            s.book_updates
        );
        let _ = writeln!(
            o,
            "  net PnL       {:>12} USDT ({:+.2} % of {:.0})",
            usd(st.net_pnl),
            s.return_pct,
            s.starting_equity
        );
        let _ = writeln!(
            o,
            "  = gross       {:>12}\n  - fees        {:>12}\n  - slippage    {:>12}\n  + funding     {:>12}",
            usd(st.gross_pnl),
            usd(st.fees),
            usd(st.slippage),
            usd(st.funding)
        );
        let _ = writeln!(
            o,
            "  trades        {:>12}   win rate {:.1} %   profit factor {}   avg win {}   avg loss {}   avg hold {:.0} s",
            st.trades,
            st.win_rate * 100.0,
            opt(st.profit_factor, 2),
            usd(st.avg_win),
            usd(st.avg_loss),
            st.avg_hold_s
        );
        let _ = writeln!(
            o,
            "  max drawdown  {:>11.2} % ({} USDT)   sharpe {}   sortino {}   exposure {:.1} %",
            s.max_drawdown * 100.0,
            usd(s.max_drawdown_usd),
            opt(s.sharpe, 2),
            opt(s.sortino, 2),
            s.exposure * 100.0
        );
        let refused: Vec<String> = s.refused.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(
            o,
            "  signals       {:>12}   filtered {}   entries {}   refused: {}",
            s.signals,
            s.filtered,
            s.entries,
            if refused.is_empty() {
                "none".to_string()
            } else {
                refused.join(", ")
            }
        );
        if let Some(ml) = &self.ml_filter {
            let m = &ml.metrics;
            let _ = writeln!(
                o,
                "  ml filter     model v{}, {} labels, {} refits; last {} labelled: AUC {}, log loss {:.4}, Brier {:.4}; win rate passed {} ({}), rejected {} ({})",
                ml.stats.version,
                ml.stats.labelled,
                ml.stats.refits,
                m.scores.n,
                opt(m.scores.auc, 3),
                m.scores.log_loss,
                m.scores.brier,
                opt(m.passed_win_rate, 3),
                m.passed,
                opt(m.rejected_win_rate, 3),
                m.rejected
            );
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{}",
            stats_table(
                "symbol",
                self.per_symbol.iter().map(|(k, v)| (k.as_str(), &v.stats))
            )
        );
        let _ = write!(
            o,
            "{}",
            stats_table(
                "regime",
                self.per_regime.iter().map(|(k, v)| (k.as_str(), v))
            )
        );
        o
    }

    /// The HTML report (see `html`).
    pub fn to_html(&self) -> Result<String> {
        crate::html::report_html(self)
    }
}

/// A table of trade statistics, one row per key.
pub fn stats_table<'a>(
    title: &str,
    rows: impl Iterator<Item = (&'a str, &'a TradeStats)>,
) -> String {
    let mut o = format!(
        "{:<18}{:>7}{:>7}{:>11}{:>11}{:>10}{:>10}{:>9}{:>7}\n",
        title, "trades", "win%", "net", "gross", "fees", "slippage", "funding", "PF"
    );
    for (k, st) in rows {
        let _ = writeln!(
            o,
            "{:<18}{:>7}{:>7.1}{:>11.2}{:>11.2}{:>10.2}{:>10.2}{:>9.2}{:>7}",
            k,
            st.trades,
            st.win_rate * 100.0,
            st.net_pnl,
            st.gross_pnl,
            st.fees,
            st.slippage,
            st.funding,
            opt(st.profit_factor, 2)
        );
    }
    o
}
