//! Named POSIX shared-memory segments (`/dev/shm/shmtrader-<instance>-<name>`).
//!
//! Creation goes through the `shared_memory` crate, which opens with
//! `O_CREAT | O_EXCL` and mode 0600, so a segment is never silently shared with another
//! user or reused by accident. The creator (the launcher) is the owner: dropping its
//! [`Segment`] unlinks the name. Stages only open and map.

use crate::error::{Result, ShmError};
use shared_memory::{Shmem, ShmemConf, ShmemError};
use std::fmt;

/// Full OS name of a segment of an instance.
pub fn segment_name(instance: &str, what: &str) -> String {
    format!("/shmtrader-{instance}-{what}")
}

/// A mapped shared-memory segment.
pub struct Segment {
    shmem: Shmem,
    name: String,
}

// SAFETY: `Shmem` is !Send/!Sync only because it holds a raw pointer to the mapping. The
// mapping is process-wide and lives until the `Segment` is dropped; every access to its
// contents goes through atomics (rings, control block), never through `&mut`, so sharing
// the handle between threads cannot create a data race.
unsafe impl Send for Segment {}
// SAFETY: see the `Send` impl above; `Segment` exposes no interior state besides the
// mapping, whose shared contents are only touched through atomics.
unsafe impl Sync for Segment {}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segment")
            .field("name", &self.name)
            .field("len", &self.len())
            .field("owner", &self.shmem.is_owner())
            .finish()
    }
}

impl Segment {
    /// Creates a zero-filled segment of `size` bytes; fails if the name exists.
    pub fn create(name: &str, size: usize) -> Result<Segment> {
        let shmem = ShmemConf::new()
            .os_id(name)
            .size(size)
            .create()
            .map_err(|e| {
                let reason = match e {
                    ShmemError::MappingIdExists => "already exists".to_string(),
                    other => other.to_string(),
                };
                ShmError::Create {
                    name: name.to_string(),
                    reason,
                }
            })?;
        Ok(Segment {
            shmem,
            name: name.to_string(),
        })
    }

    /// Maps an existing segment. The caller validates the header.
    pub fn open(name: &str) -> Result<Segment> {
        let shmem = ShmemConf::new()
            .os_id(name)
            .open()
            .map_err(|e| ShmError::Open {
                name: name.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Segment {
            shmem,
            name: name.to_string(),
        })
    }

    /// Removes a segment name (used on stale instances). Missing names are not an error.
    pub fn unlink(name: &str) -> Result<()> {
        let c = std::ffi::CString::new(name)
            .map_err(|_| ShmError::Invalid(format!("segment name {name:?} contains NUL")))?;
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call;
        // shm_unlink only reads it.
        let rc = unsafe { libc::shm_unlink(c.as_ptr()) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::ENOENT) {
                return Err(ShmError::Open {
                    name: name.to_string(),
                    reason: err.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Whether a segment with this name exists.
    pub fn exists(name: &str) -> bool {
        std::path::Path::new("/dev/shm")
            .join(name.trim_start_matches('/'))
            .exists()
    }

    /// Base address of the mapping (page aligned).
    pub fn as_ptr(&self) -> *mut u8 {
        self.shmem.as_ptr()
    }

    /// Mapping length in bytes.
    pub fn len(&self) -> usize {
        self.shmem.len()
    }

    /// Never true for a created segment; present for API completeness.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OS name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Keeps or gives up ownership; an owner unlinks the name on drop.
    pub fn set_owner(&mut self, owner: bool) {
        self.shmem.set_owner(owner);
    }
}

/// Whether a process id refers to a live process (signal 0 probe).
pub fn pid_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    // SAFETY: kill with signal 0 performs only the permission/existence check and sends
    // nothing; it has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid as i32, 0) };
    let exists = rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    // A zombie (dead, not yet reaped by its parent) still answers signal 0: a launcher
    // killed by a test or a shell that has not waited for it would otherwise look alive
    // to its stages forever.
    exists && !is_zombie(pid)
}

/// The process has exited and waits to be reaped (`Z` or `X` in /proc/<pid>/stat).
fn is_zombie(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) S ...`: the state follows the last ')' (comm may contain parentheses).
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| matches!(state, "Z" | "X"))
}

/// Sends `sig` to process `pid` (used by the launcher to stop or kill its children).
pub fn send_signal(pid: u32, sig: i32) -> std::io::Result<()> {
    let pid = i32::try_from(pid).map_err(|_| std::io::Error::other("pid out of range"))?;
    if pid <= 0 {
        return Err(std::io::Error::other("refusing to signal a process group"));
    }
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_exited_unreaped_process_is_not_alive() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Exited but not waited for: a zombie, which still answers signal 0.
        let dead = (0..200).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            !pid_alive(pid)
        });
        assert!(dead, "a zombie counted as alive");
        child.wait().unwrap();
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(0));
    }
}
