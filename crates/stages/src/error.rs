//! Errors of the stage shells.

/// What can stop a stage or the launcher.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// Shared memory could not be created or opened.
    #[error(transparent)]
    Shm(#[from] shmtrader_shm::ShmError),
    /// Configuration problem.
    #[error(transparent)]
    Config(#[from] shmtrader_core::CoreError),
    /// OS-level failure (spawn, signals, files).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Strategy or indicator parameters that cannot work.
    #[error(transparent)]
    Strategy(#[from] shmtrader_strategy::StrategyError),
    /// A control command found no running instance to talk to.
    #[error("instance {instance:?} is not running: {reason}")]
    NotRunning {
        /// Instance name.
        instance: String,
        /// What was found instead.
        reason: String,
    },
    /// A control command could not be posted to the executor's mailbox.
    #[error("instance {instance:?}: cannot post {command}: {cause}")]
    CommandRejected {
        /// Instance name.
        instance: String,
        /// The command.
        command: &'static str,
        /// Why (mailbox busy...); part of the message, so not also a `source`.
        cause: shmtrader_shm::ShmError,
    },
    /// The supervisor gave up.
    #[error("supervisor stopped: {0}")]
    GaveUp(String),
    /// Anything else, explained.
    #[error("{0}")]
    Other(String),
}

impl StageError {
    /// Wraps an I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> StageError {
        StageError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, StageError>;
