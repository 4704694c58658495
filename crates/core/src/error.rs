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
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, CoreError>;
