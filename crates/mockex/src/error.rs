//! Errors of the mock exchange that reach its caller (start-up, data loading).
//!
//! Request-level problems never become these: they are answered on the wire with
//! Binance-style `{"code":..,"msg":..}` bodies (see `api_error.rs`).

use std::path::PathBuf;

/// Everything that can stop the mock from starting or a data file from loading.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// Binding or serving the listen socket failed.
    #[error("mock exchange I/O on {what}: {source}")]
    Io {
        /// What was being done (bind address, file path).
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A replay file could not be read or parsed.
    #[error("replay data {path}: line {line}: {reason}")]
    Data {
        /// File being read.
        path: PathBuf,
        /// 1-based line (0 when the whole file is at fault).
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// The configuration names a symbol the mock has no contract specification for.
    #[error("unknown symbol `{0}`: the mock knows {1}")]
    UnknownSymbol(String, String),
    /// A configuration value is unusable.
    #[error("mock config `{key}`: {reason}")]
    Config {
        /// Field name.
        key: &'static str,
        /// Why it was refused.
        reason: String,
    },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, MockError>;
