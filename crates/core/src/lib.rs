//! Plain data shared by every shmtrader crate: the fixed-size records that travel through
//! the shared-memory rings, sides and reasons, a symbol's trading rules in integer units
//! (`instrument`), and the configuration types.
//!
//! Nothing here does I/O or reads a clock, so any crate (including the backtest) can use
//! it without pulling in a runtime.

pub mod config;
pub mod error;
pub mod instrument;
pub mod records;

pub use config::{Config, ExecVenue, IngestSource, Mode, PathLayout, WaitMode};
pub use error::{ConfigOrigin, CoreError, Result};
pub use instrument::{Instrument, Price, Qty};
pub use records::{
    BarRecord, BookTop, ExitReason, MarkPrice, Outcome, Record, Side, Signal, Tick, LAYOUT_VERSION,
};

/// Upper bound on the symbol table (fixed so the control segment has a fixed layout).
pub const MAX_SYMBOLS: usize = 64;

/// Stage names in start order; they are stopped in this order too (ingest first).
pub const STAGES: [&str; 3] = ["ingest", "analytics", "executor"];

/// Nanoseconds per millisecond.
pub const NS_PER_MS: u64 = 1_000_000;
