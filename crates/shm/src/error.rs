//! Errors of the shared-memory crate.

/// Everything that can go wrong creating, opening or using a segment.
#[derive(Debug, thiserror::Error)]
pub enum ShmError {
    /// The OS refused to create the segment.
    #[error("cannot create shared-memory segment {name}: {reason}")]
    Create {
        /// Segment name.
        name: String,
        /// OS / crate error text.
        reason: String,
    },
    /// The segment does not exist or cannot be mapped.
    #[error("cannot open shared-memory segment {name}: {reason}")]
    Open {
        /// Segment name.
        name: String,
        /// OS / crate error text.
        reason: String,
    },
    /// The segment exists and its owner is alive.
    #[error("instance {instance} is already running (launcher pid {pid})")]
    InstanceRunning {
        /// Instance name.
        instance: String,
        /// Live owner pid.
        pid: u32,
    },
    /// The segment's header does not describe what the caller expects.
    #[error("segment {name} has an incompatible layout: {reason}")]
    Layout {
        /// Segment name.
        name: String,
        /// What differs.
        reason: String,
    },
    /// The segment is still being initialised by its creator (or was left half-written).
    #[error("segment {name} is not initialised (creator died or still starting)")]
    NotReady {
        /// Segment name.
        name: String,
    },
    /// The command mailbox holds a command that still blocks new posts.
    #[error("command mailbox busy: {command} (command {seq}) is {detail}")]
    CommandBusy {
        /// Sequence number of the command in the way.
        seq: u64,
        /// Its name.
        command: String,
        /// Why it blocks (pending within its lease, being executed...).
        detail: String,
    },
    /// A command completion for a command that is not pending.
    #[error("command {seq} is not pending (the mailbox's latest command is {current}, {phase})")]
    CommandNotPending {
        /// The sequence number given.
        seq: u64,
        /// The mailbox's latest sequence number.
        current: u64,
        /// Its phase.
        phase: &'static str,
    },
    /// A bad argument (capacity, consumer index...).
    #[error("invalid argument: {0}")]
    Invalid(String),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, ShmError>;
