//! Errors of the ML crate.

/// What can go wrong while training, saving or loading a filter. Prediction never fails:
/// it answers `None` when there is no model, so the hot path has no error to handle.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    /// A parameter that cannot work; the text names it.
    #[error("invalid ml parameter {0}")]
    Param(String),
    /// Training data that cannot produce a model (too few rows, one class only, NaN).
    #[error("cannot train: {0}")]
    Data(String),
    /// An outcome that is not a closed trade (no valid exit reason, exit before entry,
    /// NaN PnL): only exited trades may become labels.
    #[error("not an exited trade: {0}")]
    NotExited(String),
    /// The logistic solver (linfa) failed.
    #[error("logistic regression fit failed: {0}")]
    Fit(String),
    /// File I/O, naming the file and what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// A saved model that cannot be read back.
    #[error("model file {path}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// Why it was refused.
        reason: String,
    },
    /// The background refit thread is gone (it panicked or was never started).
    #[error("refit worker stopped")]
    WorkerGone,
}

impl MlError {
    /// Wraps an I/O error with its context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> MlError {
        MlError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, MlError>;
