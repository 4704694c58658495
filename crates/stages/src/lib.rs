//! The process shells of shmtrader: the launcher (supervisor) and the ingest, analytics
//! and executor loops that move records between rings and the decision logic.
//!
//! Decision logic lives in pure modules ([`synth`]) or the logic crates;
//! the loops here only read rings, call it, publish, heartbeat and count.

pub mod analytics;
pub mod control_cmd;
pub mod error;
pub mod exec;
pub mod executor;
pub mod ingest;
pub mod keys;
pub mod launcher;
pub mod mock;
pub mod runtime;
pub mod settings;
pub mod status;
pub mod synth;
pub mod venue;
pub mod warmup;

pub use error::{Result, StageError};
