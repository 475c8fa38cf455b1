//! Sandbox slots: each concurrent sandbox on the machine runs under its own
//! unprivileged uid/gid, so `RLIMIT_NPROC` counts only that sandbox's
//! processes. A slot is claimed with an exclusive `flock` on a file under
//! `/run/judge/slots`, which makes the claim machine-wide (several judge
//! processes never share a uid) and releases itself if the holder dies.

use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// First uid (and gid) used for sandboxed programs; slot N runs as BASE + N.
pub const UID_BASE: u32 = 61000;
/// How many sandboxes may run at once on one machine.
pub const SLOT_COUNT: u32 = 1024;

const SLOT_DIR: &str = "/run/judge/slots";

#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    #[error("cannot prepare slot directory {dir}: {source}")]
    Dir { dir: String, source: std::io::Error },
    #[error("all {SLOT_COUNT} sandbox slots are in use")]
    Exhausted,
    #[error("cannot open slot lock {path}: {source}")]
    Lock { path: String, source: std::io::Error },
}

/// A claimed slot; dropping it releases the uid for another sandbox.
#[derive(Debug)]
pub struct Slot {
    index: u32,
    _lock: File,
}

impl Slot {
    /// Claims the lowest free slot, starting the search at `hint` so
    /// concurrent workers of one process rarely contend for the same lock.
    pub fn claim(hint: u32) -> Result<Slot, SlotError> {
        fs::create_dir_all(SLOT_DIR).map_err(|source| SlotError::Dir { dir: SLOT_DIR.into(), source })?;
        for offset in 0..SLOT_COUNT {
            let index = (hint + offset) % SLOT_COUNT;
            let path: PathBuf = [SLOT_DIR, &index.to_string()].iter().collect();
            let file = match OpenOptions::new().create(true).truncate(false).write(true).open(&path) {
                Ok(file) => file,
                // Not ours to judge (e.g. not root): no other slot will open either.
                Err(source) if source.kind() == std::io::ErrorKind::PermissionDenied => {
                    return Err(SlotError::Lock { path: path.display().to_string(), source });
                }
                Err(_) => continue,
            };
            // SAFETY: flock on an fd we own.
            let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
            if locked {
                return Ok(Slot { index, _lock: file });
            }
        }
        Err(SlotError::Exhausted)
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn uid(&self) -> u32 {
        UID_BASE + self.index
    }
}
