//! Errors of the stage shells: the logic crates' errors wrapped by `#[from]`, and the
//! shells' own failures as variants that name what failed in their fields (the key,
//! the file, the symbol, the venue's code), never a bare string.

use std::path::PathBuf;

/// What can stop a stage or the launcher.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// Shared memory could not be created or opened.
    #[error(transparent)]
    Shm(#[from] shmtrader_shm::ShmError),
    /// Configuration problem (or a symbol's rules).
    #[error(transparent)]
    Config(#[from] shmtrader_core::CoreError),
    /// Strategy or indicator parameters that cannot work.
    #[error(transparent)]
    Strategy(#[from] shmtrader_strategy::StrategyError),
    /// The risk engine refused a parameter or an input.
    #[error(transparent)]
    Risk(#[from] shmtrader_risk::RiskError),
    /// The order journal.
    #[error("journal: {0}")]
    Journal(#[from] shmtrader_journal::JournalError),
    /// The venue (REST, websockets) refused or failed.
    #[error(transparent)]
    Exchange(#[from] shmtrader_exchange::ExchangeError),
    /// The ML filter.
    #[error("ml filter: {0}")]
    Ml(#[from] shmtrader_ml::MlError),
    /// The mock exchange.
    #[error("mock exchange: {0}")]
    Mock(#[from] shmtrader_mockex::MockError),
    /// OS-level failure (spawn, signals, files).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file the configuration names does not exist.
    #[error("{what} {} does not exist", path.display())]
    MissingFile {
        /// What the file is for.
        what: &'static str,
        /// The path.
        path: PathBuf,
    },
    /// An API key or secret is not in the environment nor in the env file.
    #[error("{var} is not set: export it, or put `{var}=...` in {} (chmod 600)", env_file.display())]
    MissingKey {
        /// The variable (`BINANCE_API_KEY`, ...).
        var: &'static str,
        /// The env file that was searched.
        env_file: PathBuf,
    },
    /// The env file holding keys can be read by other users.
    #[error("{} is readable by group or others (mode {mode:o}); it holds API keys: run `chmod 600 {}`", path.display(), path.display())]
    EnvFilePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A line of the env file is not `KEY=value`.
    #[error("{}:{line}: not a KEY=value line", path.display())]
    EnvFileSyntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// A stage started by hand where a process of that stage already runs: refused
    /// before it touches the control segment or any ring (one producer per ring).
    #[error("stage {stage} already runs on instance {instance} (pid {pid}); stop it first, or start the launcher with `--manual {stage}` to run it by hand")]
    StageRunning {
        /// Stage name.
        stage: String,
        /// Instance.
        instance: String,
        /// The running process.
        pid: u32,
    },
    /// A stage name the launcher does not know.
    #[error("unknown stage {name}")]
    UnknownStage {
        /// The name.
        name: String,
    },
    /// The control segment has no slot for a stage index.
    #[error("no control slot for stage index {idx}")]
    NoSlot {
        /// The index.
        idx: usize,
    },
    /// The venue's I/O thread ended or stopped answering.
    #[error("venue I/O thread: {what}")]
    VenueGone {
        /// What happened.
        what: &'static str,
    },
    /// The start-up checks against the account refused to trade.
    #[error("refusing to trade: {0}")]
    Refused(#[from] crate::venue::Refusal),
    /// An order's outcome could not be settled: the executor stops rather than trade
    /// blind, and its restart reconciles the order by client id.
    #[error(
        "order {client_order_id}: outcome unknown ({cause}); stopping so the restart reconciles it"
    )]
    Unsettled {
        /// The order.
        client_order_id: String,
        /// Why it is unknown.
        cause: String,
    },
    /// The journal holds a fill for an order it has no intent for.
    #[error("journal: fill for unknown order {client_order_id}")]
    OrphanFill {
        /// The order.
        client_order_id: String,
    },
    /// A signal's legs are exhausted (more than 127 exits or 128 stops for one signal).
    #[error("signal {signal_seq} of launch {launch}: no {kind} leg left")]
    NoLegLeft {
        /// Launch nonce.
        launch: u32,
        /// Signal sequence.
        signal_seq: u64,
        /// `exit` or `stop`.
        kind: &'static str,
    },
    /// The supervisor gave up on a stage.
    #[error("stage {stage} failed {failures} times within {window_s} s (last: {last}); stopping everything")]
    GaveUp {
        /// The stage.
        stage: &'static str,
        /// Failures counted in the window.
        failures: usize,
        /// The window (s).
        window_s: u64,
        /// The last failure.
        last: String,
    },
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
