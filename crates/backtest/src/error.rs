//! Errors of the backtest: bad input files, unusable parameters, failures of the logic
//! crates it drives, and report output. A refused trade or a losing strategy is never an
//! error: those are results.

use std::path::PathBuf;

/// Everything that can stop a backtest.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A data file was read but its content is unusable.
    #[error("{path}: line {line}: {reason}")]
    Data {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when the whole file is at fault).
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// The run was asked for something that cannot work (no files, too many symbols,
    /// a symbol given both as klines and as ticks, a bad option).
    #[error("backtest input: {0}")]
    Input(String),
    /// The configuration maps to parameters the live code refuses.
    #[error("backtest parameters: {0}")]
    Param(String),
    /// Kline reading failed (the indicators crate names the file and line).
    #[error(transparent)]
    Kline(#[from] shmtrader_indicators::IndicatorError),
    /// Tick / capture / aggTrades reading failed (the mock exchange's reader).
    #[error(transparent)]
    Replay(#[from] shmtrader_mockex::error::MockError),
    /// The strategy engine refused its parameters.
    #[error(transparent)]
    Strategy(#[from] shmtrader_strategy::StrategyError),
    /// The risk engine refused its parameters or an input it was given.
    #[error(transparent)]
    Risk(#[from] shmtrader_risk::RiskError),
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] shmtrader_core::CoreError),
    /// Serialising or drawing the report failed.
    #[error("report: {0}")]
    Report(String),
}

impl BacktestError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> BacktestError {
        BacktestError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, BacktestError>;
