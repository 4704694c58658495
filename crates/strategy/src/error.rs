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
    /// A symbol index outside the engine's symbol table.
    #[error("symbol index {index} out of range ({symbols} symbols)")]
    Symbol {
        /// The index given.
        index: usize,
        /// Symbols the engine has.
        symbols: usize,
    },
    /// From an indicator.
    #[error(transparent)]
    Indicator(#[from] shmtrader_indicators::IndicatorError),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, StrategyError>;
