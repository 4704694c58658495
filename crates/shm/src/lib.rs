//! Shared memory for shmtrader: named segments, seqlock rings, the control block (with
//! the command mailbox) and futex-based waiting.
//!
//! This is the only crate allowed to use `unsafe`. Every `unsafe` block carries a
//! `// SAFETY:` comment and every atomic ordering names the load or store it pairs
//! with. Nothing in shared memory is protected by a lock: a process that dies at any
//! instruction leaves the others neither blocked nor fed torn data.
#![allow(unsafe_code)]

pub mod clock;
pub mod control;
pub mod doorbell;
pub mod error;
pub mod futex;
pub mod instance;
pub mod mailbox;
pub mod ring;
pub mod segment;
mod seqlock;
pub mod shared_ref;

pub use control::{Control, StageSlot, StageState, CONTROL_VERSION};
pub use doorbell::Doorbell;
pub use error::{Result, ShmError};
pub use instance::{consumer_id, ring_id, Capacities, Instance};
pub use mailbox::{
    Command, CommandPhase, CommandReport, CommandStatus, CompletedCommand, MailboxSnapshot,
    COMMAND_MESSAGE_BYTES, DEFAULT_COMMAND_LEASE,
};
pub use ring::{Consumer, CursorStore, Producer, Read, Ring, RingInfo};
pub use segment::{pid_alive, segment_name, send_signal, Segment};
pub use shared_ref::SharedRef;
