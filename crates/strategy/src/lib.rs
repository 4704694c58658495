//! Decision logic between indicators and orders: signal generation (this module set
//! grows with microstructure, regime detection and adaptive thresholds).
//!
//! Plain synchronous Rust, no I/O, no clock reads: time is an argument, so the analytics
//! process and the backtest run the same code.

pub mod adaptive;
pub mod config;
pub mod engine;
pub mod error;
pub mod fitter;
pub mod micro;
pub mod regime;
pub mod signal;
pub mod spoof;

pub use adaptive::{AdaptiveParams, AdaptiveThreshold};
pub use engine::{Engine, EngineParams, EngineStats, Features, MicroParams, RegimeParams};
pub use error::{Result, StrategyError};
pub use fitter::{Fitter, InlineFitter, ThreadFitter};
pub use micro::{
    depth_imbalance, microprice, top_imbalance, OrderFlowImbalance, SignedVolumeImbalance, Vpin,
};
pub use regime::{EfficiencyRatio, GaussianHmm, Regime, RegimeFilter, RegimeLabeler};
pub use signal::{strength, Fired, SignalEngine, SignalInputs, SignalParams, Strength};
pub use spoof::{SpoofDetector, SpoofParams};
