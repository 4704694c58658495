//! What a simulation returns: closed trades, the equity curve and the run's figures.

use super::MlExample;
use shmtrader_strategy::EngineStats;
use std::collections::BTreeMap;

/// One closed trade.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TradeRecord {
    /// Symbol.
    pub symbol: String,
    /// `long` or `short`.
    pub side: &'static str,
    /// First fill (ISO 8601, UTC).
    pub entry_time: String,
    /// Closing fill (ISO 8601, UTC).
    pub exit_time: String,
    /// First fill (ms since the epoch).
    pub entry_ts_ms: u64,
    /// Closing fill (ms since the epoch).
    pub exit_ts_ms: u64,
    /// Average entry price (after spread and impact).
    pub entry_px: f64,
    /// Average exit price (after spread and impact).
    pub exit_px: f64,
    /// Largest absolute quantity held.
    pub qty: f64,
    /// PnL at the trade prices the fills were based on, before any cost.
    pub gross_pnl: f64,
    /// Fees paid (entry and exit).
    pub fees: f64,
    /// Spread and impact paid versus the trade prices (entry and exit).
    pub slippage: f64,
    /// Funding received (negative: paid).
    pub funding: f64,
    /// `gross_pnl − fees − slippage + funding`.
    pub net_pnl: f64,
    /// Why it closed (`stop`, `take_profit`, `trailing`, `time`, `reverse`, `flatten`,
    /// `end_of_data`).
    pub exit_reason: &'static str,
    /// Regime label of the signal that opened it.
    pub regime: &'static str,
    /// Symbol id.
    #[serde(skip)]
    pub symbol_id: u32,
    /// Regime code.
    #[serde(skip)]
    pub regime_code: u8,
}

/// One equity-curve sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Time (ms).
    pub ts_ms: u64,
    /// Mark-to-market equity.
    pub equity: f64,
    /// Drawdown from the running peak (fraction, ≥ 0).
    pub drawdown: f64,
}

/// What one simulation produced.
#[derive(Debug, Clone, Default)]
pub struct SimResult {
    /// Symbol table.
    pub symbols: Vec<String>,
    /// Closed trades in closing order.
    pub trades: Vec<TradeRecord>,
    /// Equity at the end of each UTC day seen: (day number since the epoch, equity).
    pub daily_equity: Vec<(u64, f64)>,
    /// Equity curve, sampled every `curve_interval_ns` and at the end.
    pub curve: Vec<CurvePoint>,
    /// Equity at the start.
    pub starting_equity: f64,
    /// Equity at the end (all positions closed).
    pub final_equity: f64,
    /// Largest peak-to-trough drop, fraction of the peak (mark-to-market, every trade).
    pub max_drawdown: f64,
    /// Largest peak-to-trough drop in quote currency.
    pub max_drawdown_usd: f64,
    /// Time with at least one position open (ns).
    pub exposure_ns: u64,
    /// First to last event (ns).
    pub span_ns: u64,
    /// First event time (ns).
    pub first_ts_ns: u64,
    /// Last event time (ns).
    pub last_ts_ns: u64,
    /// Trades processed.
    pub ticks: u64,
    /// Trades processed per symbol.
    pub ticks_per_symbol: Vec<u64>,
    /// Book tops processed.
    pub book_updates: u64,
    /// Signals the engine emitted.
    pub signals: u64,
    /// Signals the variant's filter dropped.
    pub filtered: u64,
    /// Entries the risk gate approved.
    pub entries: u64,
    /// Refusals by reason.
    pub refused: BTreeMap<&'static str, u64>,
    /// Fees of all fills.
    pub fees: f64,
    /// Funding of all payments.
    pub funding: f64,
    /// Spread and impact of all fills.
    pub slippage: f64,
    /// Funding payments made (position × funding time).
    pub funding_events: u64,
    /// Exits rejected because they would have opened or added to a position.
    pub reduce_only_rejected: u64,
    /// Engine counters.
    pub engine: EngineStats,
    /// Every signal's features and shadow label, in signal order (only with
    /// `record_examples`; signals whose shadow had not exited by the end have none).
    pub examples: Vec<MlExample>,
    /// The online ML filter at the end ([`SignalFilter::Online`] only).
    pub ml: Option<MlFilterSummary>,
    /// Time and symbol of every signal, in signal order (only with `record_examples`):
    /// what a [`SignalFilter::Precomputed`] verdict list must line up with.
    pub signal_log: Vec<(u64, u32)>,
}

/// What the online ML filter did over the run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MlFilterSummary {
    /// Counters (model version, labels, refits).
    pub stats: shmtrader_ml::FilterStats,
    /// Rolling accuracy over its last labelled signals.
    pub metrics: shmtrader_ml::MetricsSnapshot,
}
