//! Errors of the strategy crate.

/// A parameter that cannot work, or input that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StrategyError {
    /// A parameter is out of range; the text names it.
    #[error("invalid strategy parameter {0}")]
    Param(String),
    /// An input value is unusable (NaN, negative, out of order).
    #[error("invalid input: {0}")]
    Input(String),
    /// From an indicator.
    #[error(transparent)]
    Indicator(#[from] shmtrader_indicators::IndicatorError),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, StrategyError>;
