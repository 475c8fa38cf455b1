//! Test input held in a sealed memfd: written once, then frozen, and handed to
//! each run as a private read-only file description (so runs never share a
//! file offset and nobody can change the bytes).

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;

use memfd::{FileSeal, MemfdOptions};

/// Immutable program input. Cloning is cheap: clones share one memfd.
#[derive(Clone, Debug)]
pub struct Input {
    memfd: Arc<memfd::Memfd>,
    len: u64,
}

impl Input {
    pub fn from_bytes(data: &[u8]) -> io::Result<Input> {
        let memfd = Self::create()?;
        memfd.as_file().write_all(data)?;
        Self::seal(memfd, data.len() as u64)
    }

    pub fn from_file(path: &Path) -> io::Result<Input> {
        let mut source = File::open(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Self::from_reader(&mut source)
    }

    /// Everything `source` yields (bound it with `Read::take` where it is untrusted).
    pub fn from_reader(source: &mut impl io::Read) -> io::Result<Input> {
        let memfd = Self::create()?;
        let len = io::copy(source, &mut memfd.as_file())?;
        Self::seal(memfd, len)
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A new read-only open file description of the sealed bytes, offset 0.
    pub fn open_read_only(&self) -> io::Result<OwnedFd> {
        let path = format!("/proc/self/fd/{}", self.memfd.as_file().as_raw_fd());
        Ok(File::open(path)?.into())
    }

    fn create() -> io::Result<memfd::Memfd> {
        MemfdOptions::default().allow_sealing(true).close_on_exec(true).create("judge-input").map_err(to_io)
    }

    fn seal(memfd: memfd::Memfd, len: u64) -> io::Result<Input> {
        memfd.add_seals(&[FileSeal::SealShrink, FileSeal::SealGrow, FileSeal::SealWrite]).map_err(to_io)?;
        memfd.add_seal(FileSeal::SealSeal).map_err(to_io)?;
        Ok(Input { memfd: Arc::new(memfd), len })
    }
}

fn to_io(e: memfd::Error) -> io::Error {
    io::Error::other(e.to_string())
}
