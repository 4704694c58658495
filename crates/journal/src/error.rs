//! Errors of the journal.
//!
//! Anything that could mean "the on-disk history is not what we wrote" is an error that
//! names the file and the byte offset, so an operator can inspect it with `xxd -s`. Only a
//! torn tail (the last frame of a crash) is repaired automatically, and it is reported.

use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong in the journal.
#[derive(Debug, Error)]
pub enum JournalError {
    /// An operating-system error.
    #[error("journal {path}: {op} failed: {source}")]
    Io {
        /// File involved.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with the journal magic.
    #[error("journal {path}: not a shmtrader journal (bad magic at byte offset {offset})")]
    BadMagic {
        /// File.
        path: PathBuf,
        /// Byte offset of the mismatch.
        offset: u64,
    },
    /// Written by a format version this build does not read.
    #[error("journal {path}: unsupported format version {version} at byte offset {offset} (this build reads versions {} to {supported})", crate::format::MIN_VERSION)]
    UnsupportedVersion {
        /// File.
        path: PathBuf,
        /// Version found.
        version: u32,
        /// Newest version this build reads (it reads every version from
        /// [`MIN_VERSION`](crate::format::MIN_VERSION) up to this one).
        supported: u32,
        /// Byte offset of the version field.
        offset: u64,
    },
    /// A damaged frame that is *not* the tail: valid records follow it, so truncating
    /// would throw away history. Needs a human.
    #[error("journal {path}: corrupted record at byte offset {offset}: {reason}")]
    Corrupt {
        /// File.
        path: PathBuf,
        /// Byte offset of the bad frame.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The journal belongs to another instance.
    #[error("journal {path}: belongs to instance {found:?}, not {expected:?}")]
    InstanceMismatch {
        /// File.
        path: PathBuf,
        /// Instance asked for.
        expected: String,
        /// Instance in the header record.
        found: String,
    },
    /// A record that contradicts the order history (duplicate client order id, event for
    /// an unknown order, duplicate trade id, overfill). On append the record is not
    /// written; on replay `offset` names where it is.
    #[error("inconsistent journal record{}: {reason}", match .offset { Some(o) => format!(" at byte offset {o}"), None => String::new() })]
    Inconsistent {
        /// Byte offset on replay, `None` on append.
        offset: Option<u64>,
        /// What is wrong.
        reason: String,
    },
    /// A field does not fit the format (string over 65535 bytes, invalid value).
    #[error("cannot encode journal record: {0}")]
    Encode(String),
    /// An earlier write failed half-way; the journal refuses further appends until it is
    /// reopened (which repairs the torn tail).
    #[error("journal {path}: an earlier write failed; reopen the journal before appending")]
    Poisoned {
        /// File.
        path: PathBuf,
    },
}

/// Result alias of the journal crate.
pub type Result<T> = std::result::Result<T, JournalError>;
