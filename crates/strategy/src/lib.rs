//! Decision logic between indicators and orders: signal generation (this module set
//! grows with microstructure, regime detection and adaptive thresholds).
//!
//! Plain synchronous Rust, no I/O, no clock reads: time is an argument, so the analytics
//! process and the backtest run the same code.

pub mod error;
pub mod signal;

pub use error::{Result, StrategyError};
pub use signal::{strength, Fired, SignalEngine, SignalInputs, SignalParams, Strength};
