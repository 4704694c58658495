//! The journal file: open with recovery, append, fsync.
//!
//! Durability contract:
//! * [`Journal::append`] writes the frame to the file with `write(2)` and returns: the
//!   record survives a crash of the *process* (it is in the kernel's page cache) but not a
//!   power loss or kernel crash until the next [`Journal::sync`].
//! * [`Journal::append_durable`] does the same, then `fdatasync` (`File::sync_data`): when
//!   it returns `Ok`, the record — and every record appended before it — is on stable
//!   storage. An order intent must go through `append_durable` *before* the order is sent.
//!   On a disk this costs ~0.1–10 ms (device flush), so acks and fills can be written with
//!   `append` and made durable in batches with one `sync` (or by the next intent's
//!   `append_durable`, which flushes everything before it).
//! * A new journal is created with its header written, fsynced, and the directory fsynced
//!   so the file itself survives a crash.
//!
//! Recovery on open: every frame is replayed into [`JournalState`]. A torn tail — an
//! incomplete last frame or a CRC mismatch with no valid frame after it (what a crash in
//! the middle of `write` leaves) — is reported in [`Recovery::truncated_bytes`] and cut
//! off so appends continue on a clean boundary. A bad frame *followed by a valid frame* is
//! real corruption of acknowledged history and is refused with its byte offset, as are a
//! wrong magic and an unknown version.
//!
//! Format versions: files of version 1 and 2 are read. Opening a version-1 file for
//! append upgrades its header to version 2 in place (4 bytes at offset 8, fsynced) before
//! anything is appended, reported in [`Recovery::upgraded_from`]; see
//! [`format`](crate::format) for why this is safe.
//!
//! One process must own a journal at a time; the launcher guarantees a single executor
//! per instance (there is no file lock here).

use crate::error::{JournalError, Result};
use crate::format::{
    check_frame, decode_payload, encode_frame, file_header, file_header_of, FrameCheck,
    FILE_HEADER_LEN, FRAME_HEADER_LEN, MAGIC, MIN_VERSION, VERSION, VERSION_OFFSET,
};
use crate::records::Record;
use crate::state::JournalState;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// What opening the journal found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recovery {
    /// The file did not exist and was created.
    pub created: bool,
    /// Records replayed (including the header record).
    pub records: u64,
    /// Bytes of torn tail cut off (0 after a clean shutdown).
    pub truncated_bytes: u64,
    /// Byte offset where the torn tail started, if any.
    pub truncated_at: Option<u64>,
    /// Length of the valid journal after recovery.
    pub valid_len: u64,
    /// The file was of this older format version and its header now says [`VERSION`].
    pub upgraded_from: Option<u32>,
}

/// Result of scanning a journal image without modifying it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// Every valid record with its frame's byte offset.
    pub records: Vec<(u64, Record)>,
    /// State rebuilt from them.
    pub state: JournalState,
    /// End of the last valid frame.
    pub valid_len: u64,
    /// Bytes after `valid_len` that form a torn tail.
    pub torn_bytes: u64,
    /// Format version in the file header ([`VERSION`] for an empty file or a torn header,
    /// which a new header of this build replaces).
    pub version: u32,
}

fn io_err<'a>(
    path: &'a Path,
    op: &'static str,
) -> impl FnOnce(std::io::Error) -> JournalError + 'a {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

/// True if a valid frame starts anywhere in `buf[from..]`.
fn valid_frame_after(buf: &[u8], from: usize, version: u32) -> Option<usize> {
    (from..buf.len().saturating_sub(FRAME_HEADER_LEN - 1))
        .find(|&p| matches!(check_frame(buf, p), FrameCheck::Valid { end, .. } if decode_payload(&buf[p + FRAME_HEADER_LEN..end], version).is_ok()))
}

/// True if `buf` (shorter than a file header) is a prefix of the header of a version
/// this build reads: what a crash while creating the file leaves.
fn is_torn_header(buf: &[u8]) -> bool {
    (MIN_VERSION..=VERSION).any(|v| buf == &file_header_of(v)[..buf.len()])
}

/// Scans a whole journal image (`path` only names it in errors).
pub fn scan_bytes(path: &Path, buf: &[u8]) -> Result<Scan> {
    let mut scan = Scan {
        records: Vec::new(),
        state: JournalState::default(),
        valid_len: 0,
        torn_bytes: 0,
        version: VERSION,
    };
    if buf.is_empty() {
        return Ok(scan);
    }
    let header = file_header();
    if buf.len() < FILE_HEADER_LEN {
        // A crash while creating the file: a prefix of the header is a torn tail.
        if is_torn_header(buf) {
            scan.torn_bytes = buf.len() as u64;
            return Ok(scan);
        }
        let offset = buf
            .iter()
            .zip(header.iter())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return Err(if offset < MAGIC.len() {
            JournalError::BadMagic {
                path: path.to_path_buf(),
                offset: offset as u64,
            }
        } else {
            JournalError::UnsupportedVersion {
                path: path.to_path_buf(),
                version: 0,
                supported: VERSION,
                offset: VERSION_OFFSET as u64,
            }
        });
    }
    if let Some(offset) = buf[..MAGIC.len()]
        .iter()
        .zip(MAGIC.iter())
        .position(|(a, b)| a != b)
    {
        return Err(JournalError::BadMagic {
            path: path.to_path_buf(),
            offset: offset as u64,
        });
    }
    let v = &buf[VERSION_OFFSET..VERSION_OFFSET + 4];
    let version = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
    if !(MIN_VERSION..=VERSION).contains(&version) {
        return Err(JournalError::UnsupportedVersion {
            path: path.to_path_buf(),
            version,
            supported: VERSION,
            offset: VERSION_OFFSET as u64,
        });
    }
    scan.version = version;
    let mut off = FILE_HEADER_LEN;
    while off < buf.len() {
        let problem = match check_frame(buf, off) {
            FrameCheck::Valid { start, end } => {
                let rec = decode_payload(&buf[start..end], version).map_err(|reason| {
                    JournalError::Corrupt {
                        path: path.to_path_buf(),
                        offset: off as u64,
                        reason: format!("CRC is valid but the record does not decode: {reason}"),
                    }
                })?;
                scan.state
                    .check(&rec)
                    .map_err(|reason| JournalError::Inconsistent {
                        offset: Some(off as u64),
                        reason,
                    })?;
                scan.state.apply(&rec);
                scan.records.push((off as u64, rec));
                off = end;
                continue;
            }
            FrameCheck::Incomplete => "incomplete frame".to_string(),
            FrameCheck::BadLength(l) => format!("invalid frame length {l}"),
            FrameCheck::BadCrc => "CRC mismatch".to_string(),
        };
        if let Some(next) = valid_frame_after(buf, off + 1, version) {
            return Err(JournalError::Corrupt {
                path: path.to_path_buf(),
                offset: off as u64,
                reason: format!(
                    "{problem}, and a valid record follows at byte offset {next}: not a torn tail"
                ),
            });
        }
        scan.torn_bytes = (buf.len() - off) as u64;
        break;
    }
    scan.valid_len = off as u64;
    Ok(scan)
}

/// Reads and scans a journal without modifying it (for tools and tests).
pub fn read_journal(path: &Path) -> Result<Scan> {
    let buf = std::fs::read(path).map_err(io_err(path, "read"))?;
    scan_bytes(path, &buf)
}

/// An open journal, positioned for appends.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    len: u64,
    state: JournalState,
    buf: Vec<u8>,
    dirty: bool,
    poisoned: bool,
}

impl Journal {
    /// Opens (or creates) the journal of `instance` at `path`, replays it and repairs a
    /// torn tail. `now_ns` stamps the header record of a new journal.
    pub fn open(path: &Path, instance: &str, now_ns: u64) -> Result<(Journal, Recovery)> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err(path, "open"))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err(path, "read"))?;
        let scan = scan_bytes(path, &bytes)?;
        drop(bytes);
        // Refuse another instance's journal before changing a byte of it.
        if let Some(found) = scan.state.instance() {
            if found != instance {
                return Err(JournalError::InstanceMismatch {
                    path: path.to_path_buf(),
                    expected: instance.to_string(),
                    found: found.to_string(),
                });
            }
        }
        let mut rec = Recovery {
            created: scan.valid_len == 0,
            records: scan.records.len() as u64,
            truncated_bytes: scan.torn_bytes,
            truncated_at: (scan.torn_bytes > 0).then_some(scan.valid_len),
            valid_len: scan.valid_len,
            upgraded_from: None,
        };
        if scan.torn_bytes > 0 {
            file.set_len(scan.valid_len)
                .map_err(io_err(path, "truncate torn tail"))?;
            file.sync_all()
                .map_err(io_err(path, "fsync after truncate"))?;
        }
        if scan.valid_len > 0 && scan.version < VERSION {
            // Every frame of the older version is a valid frame of this one: only the
            // header's version field changes, durably, before anything new is appended.
            file.seek(SeekFrom::Start(VERSION_OFFSET as u64))
                .map_err(io_err(path, "seek to the version field"))?;
            file.write_all(&VERSION.to_le_bytes())
                .map_err(io_err(path, "upgrade the format version"))?;
            file.sync_data()
                .map_err(io_err(path, "fsync the format version upgrade"))?;
            rec.upgraded_from = Some(scan.version);
        }
        file.seek(SeekFrom::Start(scan.valid_len))
            .map_err(io_err(path, "seek"))?;
        let mut j = Journal {
            path: path.to_path_buf(),
            file,
            len: scan.valid_len,
            state: scan.state,
            buf: Vec::with_capacity(256),
            dirty: false,
            poisoned: false,
        };
        if j.len == 0 {
            j.write_raw(&file_header())?;
        }
        if j.state.instance().is_none() {
            j.append(&Record::Header {
                instance: instance.to_string(),
                created_ts_ns: now_ns,
            })?;
            rec.records += 1;
            j.sync()?;
            if rec.created {
                sync_parent_dir(path)?;
            }
        }
        rec.valid_len = j.len;
        Ok((j, rec))
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes in the journal.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True if nothing was ever written (never the case after `open`).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Order state, updated by every append.
    pub fn state(&self) -> &JournalState {
        &self.state
    }

    /// Appends `rec` without fsync (see the module docs); returns its byte offset. The
    /// record is checked against the history first (duplicate client order id, unknown
    /// order, duplicate trade id, overfill) and refused without writing if inconsistent.
    pub fn append(&mut self, rec: &Record) -> Result<u64> {
        if self.poisoned {
            return Err(JournalError::Poisoned {
                path: self.path.clone(),
            });
        }
        self.state
            .check(rec)
            .map_err(|reason| JournalError::Inconsistent {
                offset: None,
                reason,
            })?;
        self.buf.clear();
        encode_frame(rec, &mut self.buf)?;
        let offset = self.len;
        let frame = std::mem::take(&mut self.buf);
        let res = self.write_raw(&frame);
        self.buf = frame;
        res?;
        self.state.apply(rec);
        Ok(offset)
    }

    /// Appends `rec` and fsyncs: when this returns `Ok`, it and everything before it are on
    /// stable storage. Use for intents, before sending.
    pub fn append_durable(&mut self, rec: &Record) -> Result<u64> {
        let off = self.append(rec)?;
        self.sync()?;
        Ok(off)
    }

    /// Makes every appended record durable (`fdatasync`); a no-op when nothing is pending.
    pub fn sync(&mut self) -> Result<()> {
        if self.poisoned {
            return Err(JournalError::Poisoned {
                path: self.path.clone(),
            });
        }
        if self.dirty {
            if let Err(e) = self.file.sync_data() {
                // After a failed fsync the page cache state is unknown (fsyncgate): never
                // pretend later records are durable.
                self.poisoned = true;
                return Err(io_err(&self.path, "fsync")(e));
            }
            self.dirty = false;
        }
        Ok(())
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        if let Err(e) = self.file.write_all(bytes) {
            self.poisoned = true;
            return Err(io_err(&self.path, "write")(e));
        }
        self.len += bytes.len() as u64;
        self.dirty = true;
        Ok(())
    }
}

fn sync_parent_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir, "fsync directory"))
}
