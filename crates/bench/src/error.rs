//! Errors of the benchmark suite.

/// What can make a benchmark run fail (never a slow result: that is reported).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Unknown benchmark name.
    #[error("unknown benchmark {0:?}; known: {1}")]
    Unknown(String, String),
    /// Shared memory setup failed.
    #[error(transparent)]
    Shm(#[from] shmtrader_shm::ShmError),
    /// OS-level failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// The measurement itself is invalid (lost or corrupt data, helper failed).
    #[error("invalid measurement: {0}")]
    Invalid(String),
}

impl BenchError {
    /// Wraps an I/O error.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> BenchError {
        BenchError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, BenchError>;
