//! Errors of the exchange crate.

/// Everything that can go wrong talking to Binance (or the mock).
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// A frame or body that is not what the protocol says.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being parsed (e.g. "aggTrade frame").
        what: &'static str,
        /// Why it was rejected.
        detail: String,
    },
}

/// Result alias of this crate.
pub type Result<T, E = ExchangeError> = std::result::Result<T, E>;
