//! The ML signal filter: for every trading signal, the probability that the trade is
//! profitable after costs; signals under `ml_confidence_threshold` are not traded.
//!
//! - [`features`]: 18 causal features at signal time, allocation-free.
//! - [`label`]: the triple-barrier label (the trade as the risk rules exited it, net of
//!   fees) and the store that joins signal-time features with exit-time outcomes.
//! - [`logistic`] (baseline, fitted with linfa-logistic), [`gbt`] (challenger, boosted
//!   trees written here), [`calibration`] (isotonic), [`model`] (training, selection, save/load).
//! - [`online`]: the live filter — model behind an atomically swapped `Arc`, sliding
//!   window of labelled trades, background refits, metrics, optional prediction cache.
//! - [`walk_forward`]: purged, embargoed out-of-sample evaluation for the backtest.
//!
//! # Wiring
//!
//! ```
//! use shmtrader_ml::{compute_features, FilterParams, OnlineFilter, RefitMode, SignalClock,
//!     SignalContext};
//! # fn demo(engine: &shmtrader_strategy::Engine, sig: &shmtrader_core::Signal,
//! #         signal_seq: u64, outcome: &shmtrader_core::Outcome) -> shmtrader_ml::Result<()> {
//! let mut filter = OnlineFilter::new(FilterParams {
//!     threshold: 0.55,               // ml_confidence_threshold
//!     mode: RefitMode::Background,   // RefitMode::Inline in the backtest
//!     ..FilterParams::default()
//! })?;
//! let mut clock = SignalClock::new(16);
//! // At signal time, with the engine's features as of the signal's tick:
//! let sym = sig.symbol_id as usize;
//! let since = clock.since_and_mark(sym, sig.exchange_ts_ns);
//! if let (Some(f), Some(ctx)) = (engine.features(sym), SignalContext::from_signal(sig, since, None)) {
//!     let x = compute_features(f, &ctx);
//!     let verdict = filter.on_signal(signal_seq, sig.exchange_ts_ns, &x);
//!     // verdict.pass: publish the signal with ml_prob_ppm = verdict.prob_ppm().
//! }
//! // When the trade closes (or a rejected signal's shadow trade would have):
//! filter.on_outcome(outcome)?;
//! # Ok(()) }
//! ```
//!
//! Plain synchronous logic with no clock reads (time is an argument), except the
//! optional background refit thread of [`online::OnlineFilter`], which the backtest
//! replaces with inline refits to stay deterministic.

pub mod cache;
pub mod calibration;
pub mod error;
pub mod features;
pub mod gbt;
pub mod label;
pub mod logistic;
pub mod metrics;
pub mod model;
pub mod online;
pub mod walk_forward;

pub use cache::PredictionCache;
pub use calibration::Isotonic;
pub use error::{MlError, Result};
pub use features::{
    bench_features, compute as compute_features, FeatureVec, SignalClock, SignalContext, NAMES,
    NEUTRAL, N_FEATURES,
};
pub use gbt::{Gbt, GbtParams};
pub use label::{check_exited, label_from_outcome, Example, Pending, PendingStore};
pub use logistic::{Logistic, LogisticParams, Standardizer};
pub use metrics::{auc, brier, log_loss, MetricsSnapshot, RollingMetrics, Scores};
pub use model::{
    fit, purged_split, select_model, train_auto, Kind, Model, ModelInfo, Selection,
    SelectionReport, TrainParams,
};
pub use online::{FilterParams, FilterStats, OnlineFilter, RefitMode, Verdict};
pub use walk_forward::{walk_forward, FoldInfo, WalkForward, WalkForwardParams, WfModel};
