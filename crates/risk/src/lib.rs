//! Risk for shmtrader's executor: positions, sizing, the entry gate, per-tick exits, paper
//! fills and trading statistics.
//!
//! Plain synchronous Rust with no I/O and no clock reads: every time is an argument in
//! nanoseconds since the Unix epoch, so the backtest runs exactly the code that trades
//! live, and every rule is unit-tested on hand-computed numbers.
//!
//! Entry point: [`RiskEngine`]. Building blocks usable on their own: [`Position`]
//! (one-way-mode accounting), [`ExitPlan`] (stop / take profit / trailing / time),
//! [`size_entry`] (exact step rounding on the symbol's `Instrument` from crates/core),
//! [`CorrelationTracker`],
//! [`PaperBroker`] / [`FillModel`], [`ShadowBook`] (what an untraded signal would
//! have made) and [`StatsAggregator`].

pub mod budget;
pub mod correlation;
pub mod engine;
pub mod error;
pub mod exits;
pub mod gate;
pub mod market;
pub mod paper;
pub mod params;
pub mod position;
pub mod shadow;
pub mod sizing;
pub mod stats;
pub mod stops;

pub use budget::{BudgetExceeded, BudgetLimits, OrderBudget, OrderClass};
pub use correlation::{CorrelationTracker, MAX_CORR_WINDOW};
pub use engine::{PersistedRisk, RiskEngine, NS_PER_DAY};
pub use error::{Result, RiskError};
pub use exits::ExitPlan;
pub use gate::{Decision, EntryRequest, ExitIntent, FillReport, OrderIntent, RefuseReason};
pub use market::MarketState;
pub use paper::{
    FillModel, HalfSpreads, Liquidity, PaperBroker, PaperFill, PaperOrder, PaperOrderKind,
    PAPER_QUEUE_CAPACITY,
};
pub use params::{ImpactModel, RiskParams};
pub use position::{ClosedTrade, FillEffect, Position};
pub use shadow::ShadowBook;
pub use sizing::{drawdown_scale, size_entry, vol_scale, SizedOrder};
pub use stats::{StatsAggregator, TradingStats};
pub use stops::{
    stop_target, take_profit_target, RestingStop, StopAction, StopFailure, StopKeeper, StopKind,
    StopParams, StopTarget,
};
