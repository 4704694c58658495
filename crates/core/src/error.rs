//! Errors of the core crate.

/// Everything that can go wrong while building core values.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A configuration key is unknown, missing or has an unusable value.
    #[error("config key `{key}`: {reason}")]
    Config {
        /// Dotted key path (`risk.leverage`); empty when the file does not parse at all.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A symbol's rules (exchange filters) cannot be used.
    #[error("{symbol}: {field}: {reason}")]
    Instrument {
        /// The symbol.
        symbol: String,
        /// The filter or field (`tickSize`, `LOT_SIZE`, `quantity`, ...).
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An order would break one of the symbol's filters (checked before sending, with
    /// the exchange's own rule).
    #[error("{symbol}: {filter}: {detail}")]
    Filter {
        /// The symbol.
        symbol: String,
        /// `LOT_SIZE`, `MARKET_LOT_SIZE`, `PRICE_FILTER` or `MIN_NOTIONAL`.
        filter: &'static str,
        /// The values involved.
        detail: String,
    },
    /// A quantity reported by the exchange is not a whole number of the symbol's steps:
    /// the local picture of the symbol is wrong, and rounding would hide it.
    #[error("{symbol}: quantity {qty} is not a whole number of steps of {step}")]
    OffStep {
        /// The symbol.
        symbol: String,
        /// The quantity.
        qty: f64,
        /// The step.
        step: f64,
    },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, CoreError>;
