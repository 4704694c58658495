//! O(1) streaming technical indicators with TA-Lib's conventions.
//!
//! Every indicator is a small state machine: `update` commits one input (a bar close, or
//! a bar for ATR), `peek` answers "what would `update` return" without changing
//! anything (the provisional value inside a bar), `value`/`initialized`/`reset` do what
//! they say. Non-finite input is an error that leaves the state untouched. Each has a
//! plain batch version over a slice, written the way TA-Lib's C loop is, used as the
//! reference: streaming equals batch bit for bit, and batch matches TA-Lib to 1e-9.
//!
//! No I/O except the kline reader, no clock: the analytics process and the backtest run
//! the same code.

mod atr;
mod bar;
mod bbands;
mod ema;
pub mod error;
mod kline;
mod macd;
mod rsi;
mod rv;
mod set;
mod sma;
mod vwap;
mod window;

#[cfg(test)]
mod testutil;

pub use atr::{atr_batch, true_range, Atr, Hlc};
pub use bar::{Bar, BarBuilder, Closed, IntrabarPath, DEFAULT_MAX_FILL};
pub use bbands::{bbands_batch, BbValue, BollingerBands};
pub use ema::{ema_batch, Ema};
pub use error::{IndicatorError, Result};
pub use kline::{parse_klines, read_klines};
pub use macd::{macd_batch, Macd, MacdValue};
pub use rsi::{rsi_batch, Rsi};
pub use rv::{rv_batch, RealizedVol};
pub use set::{write_indicator_csv, IndicatorParams, IndicatorSet, Snapshot, CSV_HEADER};
pub use sma::{sma_batch, Sma};
pub use vwap::Vwap;

/// Longest period accepted (TA-Lib's own upper bound).
pub const MAX_PERIOD: usize = 100_000;

/// The streaming-indicator interface.
pub trait Indicator {
    /// What one update consumes.
    type Input: Copy;
    /// What it produces.
    type Output: Copy;
    /// Commits one input; returns the new value once initialized. Non-finite input is
    /// an error and changes nothing.
    fn update(&mut self, input: Self::Input) -> Result<Option<Self::Output>>;
    /// The value `update(input)` would return, without committing (`None` for bad input
    /// or before initialization). O(1).
    fn peek(&self, input: Self::Input) -> Option<Self::Output>;
    /// The last committed value.
    fn value(&self) -> Option<Self::Output>;
    /// True once a value exists.
    fn initialized(&self) -> bool {
        self.value().is_some()
    }
    /// Back to the freshly constructed state.
    fn reset(&mut self);
}
