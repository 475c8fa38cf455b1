//! Reading the files of an untrusted directory (a problem package, a validator's feedback
//! directory): every path is resolved beneath the directory's root with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`, so no absolute link, `..` or
//! `/proc` magic link leads out of it; only regular files are read (a FIFO or device is
//! opened non-blocking and refused); every read is capped, per file and per package.
//! A link from one file of the package to another stays allowed.
//!
//! Where `openat2` is missing (Linux before 5.6, or a seccomp filter that refuses it),
//! the path is walked one component at a time with `O_NOFOLLOW`: then no link is followed
//! at all.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, Mode, SFlag};

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

/// Size caps for reading a package; [`Default`] gives the caps the judge uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackageLimits {
    /// Largest test data file, validator source or submission (default 1 GiB).
    pub max_file_bytes: u64,
    /// Largest configuration file: `problem.yaml`, `testdata.yaml`, `.timelimit` (default 1 MiB).
    pub max_config_bytes: u64,
    /// Largest total of the files opened while loading the package (default 4 GiB).
    pub max_package_bytes: u64,
}

impl Default for PackageLimits {
    fn default() -> Self {
        PackageLimits { max_file_bytes: GIB, max_config_bytes: MIB, max_package_bytes: 4 * GIB }
    }
}

/// Why a file of a package was refused. Each names the package root and the file
/// relative to it.
#[derive(Debug, thiserror::Error)]
pub enum PackageFsError {
    #[error("{}: {}: leaves the package (a link out of it)", root.display(), file.display())]
    LeavesPackage { root: PathBuf, file: PathBuf },
    #[error("{}: {}: a link loop, or a /proc magic link", root.display(), file.display())]
    LinkLoop { root: PathBuf, file: PathBuf },
    #[error("{}: {}: is a link, and links are refused on this kernel (no openat2)", root.display(), file.display())]
    LinkRefused { root: PathBuf, file: PathBuf },
    #[error("{}: {}: not a regular file ({kind})", root.display(), file.display())]
    NotRegular { root: PathBuf, file: PathBuf, kind: &'static str },
    #[error("{}: {}: larger than {limit} bytes", root.display(), file.display())]
    TooLarge { root: PathBuf, file: PathBuf, limit: u64 },
    #[error("{}: {}: the package's files add up to more than {limit} bytes", root.display(), file.display())]
    PackageTooLarge { root: PathBuf, file: PathBuf, limit: u64 },
    #[error("{}: {}: {source}", root.display(), file.display())]
    Io { root: PathBuf, file: PathBuf, source: std::io::Error },
}

impl PackageFsError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, PackageFsError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// What a path beneath the root is, after in-package links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
    /// A FIFO, device or socket: named by the string.
    Other(&'static str),
}

/// An open package root: an `O_PATH` descriptor every path is resolved beneath.
#[derive(Debug)]
pub struct PackageDir {
    root: OwnedFd,
    path: PathBuf,
    limits: PackageLimits,
    /// Bytes of the files counted so far by [`PackageDir::count`].
    counted: AtomicU64,
}

impl PackageDir {
    /// Opens `path` (trusted: given by the operator; a link there is followed) as a root.
    pub fn open(path: &Path, limits: PackageLimits) -> Result<PackageDir, PackageFsError> {
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let root = nix::fcntl::open(path, flags, Mode::empty()).map_err(|e| PackageFsError::Io {
            root: path.to_path_buf(),
            file: PathBuf::from("."),
            source: e.into(),
        })?;
        Ok(PackageDir { root, path: path.to_path_buf(), limits, counted: AtomicU64::new(0) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn limits(&self) -> &PackageLimits {
        &self.limits
    }

    /// What `rel` is, or `None` when it does not exist. A link leaving the package is an error.
    pub fn kind(&self, rel: &Path) -> Result<Option<EntryKind>, PackageFsError> {
        let fd = match self.resolve(rel, OFlag::O_PATH | OFlag::O_CLOEXEC) {
            Ok(fd) => fd,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(self.kind_of(rel, &fd)?))
    }

    /// Opens a regular file of at most `limit` bytes for reading; returns it and its size.
    /// A FIFO or device is refused without blocking.
    pub fn open_file(&self, rel: &Path, limit: u64) -> Result<(File, u64), PackageFsError> {
        let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
        let fd = self.resolve(rel, flags)?;
        match self.kind_of(rel, &fd)? {
            EntryKind::File => {}
            EntryKind::Dir => return Err(self.not_regular(rel, "a directory")),
            EntryKind::Other(kind) => return Err(self.not_regular(rel, kind)),
        }
        let file = File::from(fd);
        let size = file.metadata().map_err(|e| self.io(rel, e))?.len();
        if size > limit {
            return Err(PackageFsError::TooLarge { root: self.path.clone(), file: rel.to_path_buf(), limit });
        }
        Ok((file, size))
    }

    /// Reads a regular file of at most `limit` bytes (checked again while reading, in
    /// case it grows).
    pub fn read(&self, rel: &Path, limit: u64) -> Result<Vec<u8>, PackageFsError> {
        let (file, size) = self.open_file(rel, limit)?;
        let mut out = Vec::with_capacity(size as usize);
        file.take(limit.saturating_add(1)).read_to_end(&mut out).map_err(|e| self.io(rel, e))?;
        if out.len() as u64 > limit {
            return Err(PackageFsError::TooLarge { root: self.path.clone(), file: rel.to_path_buf(), limit });
        }
        Ok(out)
    }

    /// The first `limit` bytes of a regular file of any size (e.g. a validator's message,
    /// shown truncated).
    pub fn read_prefix(&self, rel: &Path, limit: u64) -> Result<Vec<u8>, PackageFsError> {
        let (file, _) = self.open_file(rel, u64::MAX)?;
        let mut out = Vec::new();
        file.take(limit).read_to_end(&mut out).map_err(|e| self.io(rel, e))?;
        Ok(out)
    }

    /// Reads a configuration file (capped at `max_config_bytes`, counted in the package
    /// total), or `None` when it does not exist.
    pub fn read_config(&self, rel: &Path) -> Result<Option<Vec<u8>>, PackageFsError> {
        match self.read(rel, self.limits.max_config_bytes) {
            Ok(bytes) => {
                self.count(rel, bytes.len() as u64)?;
                Ok(Some(bytes))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Checks that `rel` is a regular file within `max_file_bytes` and counts its size in
    /// the package total; returns the size.
    pub fn check_file(&self, rel: &Path) -> Result<u64, PackageFsError> {
        let (_, size) = self.open_file(rel, self.limits.max_file_bytes)?;
        self.count(rel, size)?;
        Ok(size)
    }

    /// Adds `bytes` of `rel` to the package total; past `max_package_bytes` it is an error.
    pub fn count(&self, rel: &Path, bytes: u64) -> Result<(), PackageFsError> {
        let total = self.counted.fetch_add(bytes, Ordering::SeqCst).saturating_add(bytes);
        if total > self.limits.max_package_bytes {
            return Err(PackageFsError::PackageTooLarge {
                root: self.path.clone(),
                file: rel.to_path_buf(),
                limit: self.limits.max_package_bytes,
            });
        }
        Ok(())
    }

    /// The names in directory `rel` (all but `.` and `..`), sorted bytewise.
    pub fn list(&self, rel: &Path) -> Result<Vec<OsString>, PackageFsError> {
        let fd = self.resolve(rel, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)?;
        let dir = nix::dir::Dir::from_fd(fd).map_err(|e| self.io(rel, e.into()))?;
        let mut names = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| self.io(rel, e.into()))?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(OsString::from(std::ffi::OsStr::from_bytes(name)));
            }
        }
        names.sort();
        Ok(names)
    }

    fn resolve(&self, rel: &Path, flags: OFlag) -> Result<OwnedFd, PackageFsError> {
        let target: &Path = if rel.as_os_str().is_empty() { Path::new(".") } else { rel };
        let how =
            OpenHow::new().flags(flags).resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let fd = match openat2(&self.root, target, how) {
            Err(Errno::ENOSYS) | Err(Errno::EPERM) => walk_nofollow(self.root.as_fd(), target, flags),
            other => other,
        };
        match fd {
            Ok(fd) => Ok(fd),
            Err(Errno::EXDEV) => Err(PackageFsError::LeavesPackage { root: self.path.clone(), file: rel.into() }),
            // A magic link (RESOLVE_NO_MAGICLINKS) or too many links.
            Err(Errno::ELOOP) => Err(PackageFsError::LinkLoop { root: self.path.clone(), file: rel.into() }),
            Err(Errno::EMLINK) => Err(PackageFsError::LinkRefused { root: self.path.clone(), file: rel.into() }),
            Err(e) => Err(self.io(rel, e.into())),
        }
    }

    fn kind_of(&self, rel: &Path, fd: &OwnedFd) -> Result<EntryKind, PackageFsError> {
        let stat = fstat(fd).map_err(|e| self.io(rel, e.into()))?;
        let kind = SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits());
        Ok(match kind {
            SFlag::S_IFDIR => EntryKind::Dir,
            SFlag::S_IFREG => EntryKind::File,
            SFlag::S_IFIFO => EntryKind::Other("a FIFO"),
            SFlag::S_IFCHR => EntryKind::Other("a character device"),
            SFlag::S_IFBLK => EntryKind::Other("a block device"),
            SFlag::S_IFSOCK => EntryKind::Other("a socket"),
            _ => EntryKind::Other("an unknown kind of file"),
        })
    }

    fn not_regular(&self, rel: &Path, kind: &'static str) -> PackageFsError {
        PackageFsError::NotRegular { root: self.path.clone(), file: rel.to_path_buf(), kind }
    }

    fn io(&self, rel: &Path, source: std::io::Error) -> PackageFsError {
        PackageFsError::Io { root: self.path.clone(), file: rel.to_path_buf(), source }
    }
}

/// The first `limit` bytes of the regular file `rel` beneath `dir` (e.g.
/// `feedback/judgemessage.txt` in a validator's scratch directory): links out of `dir`,
/// FIFOs and devices are refused.
pub fn read_beneath(dir: &Path, rel: &Path, limit: u64) -> Result<Vec<u8>, PackageFsError> {
    PackageDir::open(dir, PackageLimits::default())?.read_prefix(rel, limit)
}

/// The fallback of `openat2`: one `openat` per component with `O_NOFOLLOW`, refusing `..`
/// and absolute paths, so nothing outside the root is reached and no link is followed.
/// A link is reported as `EMLINK` (unused by `openat` otherwise here) to name it apart.
pub(crate) fn walk_nofollow(root: BorrowedFd<'_>, rel: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let parts: Vec<&std::ffi::OsStr> = rel
        .components()
        .filter(|c| *c != Component::CurDir)
        .map(|c| match c {
            Component::Normal(name) => Ok(name),
            _ => Err(Errno::EXDEV),
        })
        .collect::<nix::Result<_>>()?;
    let dir_flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let Some((last, parents)) = parts.split_last() else {
        return openat(root, ".", flags | OFlag::O_NOFOLLOW, Mode::empty());
    };
    let mut current: Option<OwnedFd> = None;
    for part in parents {
        let at = current.as_ref().map_or(root, |fd| fd.as_fd());
        current = Some(openat(at, *part, dir_flags, Mode::empty()).map_err(link_errno)?);
    }
    let at = current.as_ref().map_or(root, |fd| fd.as_fd());
    let fd = openat(at, *last, flags | OFlag::O_NOFOLLOW, Mode::empty()).map_err(link_errno)?;
    if flags.contains(OFlag::O_PATH) {
        // O_PATH | O_NOFOLLOW opens a link itself instead of failing: refuse it here.
        let stat = fstat(&fd)?;
        if SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFLNK {
            return Err(Errno::EMLINK);
        }
    }
    Ok(fd)
}

/// `O_NOFOLLOW` on a link gives `ELOOP`, and `O_DIRECTORY | O_NOFOLLOW` `ENOTDIR`: both
/// may mean "a link", reported as `EMLINK`.
fn link_errno(e: Errno) -> Errno {
    match e {
        Errno::ELOOP => Errno::EMLINK,
        other => other,
    }
}

#[cfg(test)]
mod tests;
