//! Problem package archives: safe extraction of uploaded zip and tar.gz
//! files, and the canonical tar that identifies a package by its content.
//!
//! Extraction refuses absolute paths, `..`, links that leave the package,
//! devices and FIFOs, and stops at a size and a file-count limit, counting
//! the bytes actually written (not what the archive claims).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use engine::package_fs::{EntryKind, PackageDir, PackageFsError, PackageLimits};
use sha2::{Digest, Sha256};
use tracing::warn;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("the body is neither a zip nor a tar.gz archive")]
    NotAnArchive,
    #[error("archive entry {entry:?} refused: {reason}")]
    Unsafe { entry: String, reason: &'static str },
    #[error("the package is over {limit} bytes unpacked (--max-package-mib)")]
    TooLarge { limit: u64 },
    #[error("the package has over {limit} files")]
    TooManyFiles { limit: usize },
    /// The package itself is broken (the message names the file and key).
    #[error("{0}")]
    Invalid(String),
    #[error("the archive is damaged: {0}")]
    Damaged(String),
    #[error("{0}")]
    Io(String),
}

impl PackageError {
    /// The uploader's mistake (400), or the server's (500).
    pub fn is_callers(&self) -> bool {
        !matches!(self, PackageError::Io(_))
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_files: usize,
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> PackageError + 'a {
    move |e| PackageError::Io(format!("{what} {}: {e}", path.display()))
}

/// A path inside the package, from an archive's entry name.
fn inside(name: &str) -> Result<PathBuf, &'static str> {
    if name.contains('\0') || name.contains('\\') {
        return Err("the name holds a NUL or a backslash");
    }
    let path = Path::new(name);
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("the path climbs out with '..'"),
            Component::RootDir | Component::Prefix(_) => return Err("the path is absolute"),
        }
    }
    if clean.as_os_str().is_empty() {
        return Err("the path is empty");
    }
    Ok(clean)
}

/// Where a link at `at` pointing to `target` leads, if inside the package.
fn link_target(at: &Path, target: &str) -> Result<PathBuf, &'static str> {
    if target.starts_with('/') {
        return Err("a link points outside the package");
    }
    let mut resolved = at.parent().map(Path::to_path_buf).unwrap_or_default();
    for component in Path::new(target).components() {
        match component {
            Component::Normal(part) => resolved.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !resolved.pop() {
                    return Err("a link points outside the package");
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err("a link points outside the package"),
        }
    }
    Ok(resolved)
}

/// Writes files under `dest`, keeping count against the limits.
struct Writer<'a> {
    dest: &'a Path,
    limits: Limits,
    bytes: u64,
    files: usize,
    /// Links inside the package, made copies of their targets at the end.
    links: Vec<(PathBuf, PathBuf, String)>,
}

impl Writer<'_> {
    fn count_file(&mut self) -> Result<(), PackageError> {
        self.files += 1;
        if self.files > self.limits.max_files {
            return Err(PackageError::TooManyFiles { limit: self.limits.max_files });
        }
        Ok(())
    }

    fn dir(&mut self, path: &Path) -> Result<(), PackageError> {
        let full = self.dest.join(path);
        std::fs::create_dir_all(&full).map_err(io("creating", &full))
    }

    fn file(&mut self, path: &Path, content: &mut dyn Read) -> Result<(), PackageError> {
        self.count_file()?;
        let full = self.dest.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(io("creating", parent))?;
        }
        let mut out = File::create(&full).map_err(io("creating", &full))?;
        let room = self.limits.max_bytes - self.bytes;
        let written = std::io::copy(&mut content.take(room + 1), &mut out)
            .map_err(|e| PackageError::Damaged(format!("{}: {e}", path.display())))?;
        if written > room {
            return Err(PackageError::TooLarge { limit: self.limits.max_bytes });
        }
        self.bytes += written;
        Ok(())
    }

    fn link(&mut self, path: PathBuf, target: &str, name: &str) -> Result<(), PackageError> {
        let resolved = link_target(&path, target).map_err(|reason| unsafe_entry(name, reason))?;
        self.links.push((path, resolved, name.to_string()));
        Ok(())
    }

    /// Links become copies of the regular files they point at.
    fn finish_links(&mut self) -> Result<(), PackageError> {
        for (path, target, name) in std::mem::take(&mut self.links) {
            let source = self.dest.join(&target);
            let meta = std::fs::symlink_metadata(&source)
                .map_err(|_| unsafe_entry(&name, "a link points at nothing in the package"))?;
            if !meta.is_file() {
                return Err(unsafe_entry(&name, "a link must point at a regular file of the package"));
            }
            let mut content = File::open(&source).map_err(io("reading", &source))?;
            self.file(&path, &mut content)?;
        }
        Ok(())
    }
}

fn unsafe_entry(entry: &str, reason: &'static str) -> PackageError {
    PackageError::Unsafe { entry: entry.to_string(), reason }
}

/// Unpacks a zip or tar.gz `archive` into the empty directory `dest`.
pub fn extract(archive: &[u8], dest: &Path, limits: Limits) -> Result<(), PackageError> {
    let mut writer = Writer { dest, limits, bytes: 0, files: 0, links: Vec::new() };
    if archive.starts_with(b"PK\x03\x04") || archive.starts_with(b"PK\x05\x06") {
        extract_zip(archive, &mut writer)?;
    } else if archive.starts_with(&[0x1f, 0x8b]) {
        let tar = flate2::read::GzDecoder::new(archive);
        extract_tar(tar, &mut writer)?;
    } else if archive.len() > 262 && &archive[257..262] == b"ustar" {
        extract_tar(archive, &mut writer)?;
    } else {
        return Err(PackageError::NotAnArchive);
    }
    writer.finish_links()
}

fn extract_zip(archive: &[u8], writer: &mut Writer) -> Result<(), PackageError> {
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(archive)).map_err(|e| PackageError::Damaged(e.to_string()))?;
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|e| PackageError::Damaged(e.to_string()))?;
        let name = entry.name().map_err(|e| PackageError::Damaged(e.to_string()))?.to_string();
        let path = inside(&name).map_err(|reason| unsafe_entry(&name, reason))?;
        let mode = entry.unix_mode().unwrap_or(0);
        match mode & libc::S_IFMT {
            libc::S_IFLNK => {
                let mut target = String::new();
                entry.read_to_string(&mut target).map_err(|e| PackageError::Damaged(format!("{name}: {e}")))?;
                writer.link(path, &target, &name)?;
            }
            libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK => {
                return Err(unsafe_entry(&name, "devices, FIFOs and sockets are not allowed"))
            }
            _ if entry.is_dir() => writer.dir(&path)?,
            _ => writer.file(&path, &mut entry)?,
        }
    }
    Ok(())
}

fn extract_tar(reader: impl Read, writer: &mut Writer) -> Result<(), PackageError> {
    use tar::EntryType;
    let mut tar = tar::Archive::new(reader);
    let entries = tar.entries().map_err(|e| PackageError::Damaged(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| PackageError::Damaged(e.to_string()))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName) {
            continue;
        }
        let path = inside(&name).map_err(|reason| unsafe_entry(&name, reason))?;
        match kind {
            EntryType::Regular | EntryType::Continuous => writer.file(&path, &mut entry)?,
            EntryType::Directory => writer.dir(&path)?,
            EntryType::Symlink => {
                let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned());
                writer.link(path, &target.unwrap_or_default(), &name)?;
            }
            EntryType::Link => {
                // A hard link names another entry of the archive.
                let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned());
                let target = inside(&target.unwrap_or_default()).map_err(|reason| unsafe_entry(&name, reason))?;
                let relative = format!("/{}", target.display());
                let depth = path.components().count().saturating_sub(1);
                writer.link(path, &format!("{}{}", "../".repeat(depth), &relative[1..]), &name)?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                return Err(unsafe_entry(&name, "devices, FIFOs and sockets are not allowed"))
            }
            _ => return Err(unsafe_entry(&name, "an unsupported kind of archive entry")),
        }
    }
    Ok(())
}

/// The package root under `dir`: `dir` itself, or its only subdirectory
/// when the archive wrapped the package in one folder.
pub fn package_root(dir: &Path) -> PathBuf {
    let is_package = |dir: &Path| dir.join("problem.yaml").is_file() || dir.join("problem.xml").is_file();
    if is_package(dir) {
        return dir.to_path_buf();
    }
    let entries: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    match entries.as_slice() {
        [only] if only.is_dir() && is_package(only) => only.clone(),
        _ => dir.to_path_buf(),
    }
}

/// The package's regular files as a canonical tar (sorted, no times or
/// owners) and its SHA-256 in hex: the same files give the same hash.
///
/// Every path is resolved beneath `root` as the loader resolves it
/// (`engine::package_fs`): a link to another file of the package packs as a
/// copy, and a link out of the package refuses the package, in every
/// directory, including those the loader never reads.
pub fn canonical(root: &Path, limits: Limits) -> Result<(Vec<u8>, String), PackageError> {
    let dir = PackageDir::open(root, PackageLimits::default()).map_err(|e| PackageError::Io(e.to_string()))?;
    let mut walk = Walk { dir: &dir, limits, files: BTreeMap::new(), total: 0 };
    walk.collect(Path::new(""), 0)?;
    let mut builder = tar::Builder::new(Vec::new());
    for (name, rel) in walk.files {
        let data = dir.read(&rel, limits.max_bytes).map_err(|e| refused_file(root, e))?;
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, &name, data.as_slice()).map_err(|e| PackageError::Io(e.to_string()))?;
    }
    let tar = builder.into_inner().map_err(|e| PackageError::Io(e.to_string()))?;
    let hash = hex::encode(Sha256::digest(&tar));
    Ok((tar, hash))
}

/// Directories nested deeper than this refuse the package (it also ends a
/// loop of directory links inside the package).
const MAX_DEPTH: usize = 32;

/// The files of a package found so far, by name in the archive.
struct Walk<'a> {
    dir: &'a PackageDir,
    limits: Limits,
    files: BTreeMap<String, PathBuf>,
    total: u64,
}

impl Walk<'_> {
    fn collect(&mut self, rel: &Path, depth: usize) -> Result<(), PackageError> {
        if depth > MAX_DEPTH {
            return Err(PackageError::Invalid(format!(
                "{}: directories nested over {MAX_DEPTH} deep (or a loop of links)",
                rel.display()
            )));
        }
        let root = self.dir.path();
        for name in self.dir.list(rel).map_err(|e| refused_file(root, e))? {
            let path = rel.join(&name);
            match self.dir.kind(&path).map_err(|e| refused_file(root, e))? {
                Some(EntryKind::Dir) => self.collect(&path, depth + 1)?,
                Some(EntryKind::File) => {
                    let Some(name) = path.to_str() else {
                        warn!(file = %path.display(), "package file left out: its name is not UTF-8");
                        continue;
                    };
                    let (_, size) =
                        self.dir.open_file(&path, self.limits.max_bytes).map_err(|e| refused_file(root, e))?;
                    self.total += size;
                    if self.total > self.limits.max_bytes {
                        return Err(PackageError::TooLarge { limit: self.limits.max_bytes });
                    }
                    self.files.insert(name.to_string(), path.clone());
                    if self.files.len() > self.limits.max_files {
                        return Err(PackageError::TooManyFiles { limit: self.limits.max_files });
                    }
                }
                Some(EntryKind::Other(kind)) => {
                    warn!(file = %path.display(), "package file left out: {kind}, not a regular file")
                }
                // Removed while walking.
                None => {}
            }
        }
        Ok(())
    }
}

/// A file of the package refused (a link out of it, too large) or unreadable,
/// named relative to the package root.
fn refused_file(root: &Path, error: PackageFsError) -> PackageError {
    let prefix = format!("{}: ", root.display());
    let message = error.to_string();
    let message = message.strip_prefix(&prefix).unwrap_or(&message).to_string();
    match error {
        PackageFsError::TooLarge { limit, .. } | PackageFsError::PackageTooLarge { limit, .. } => {
            PackageError::TooLarge { limit }
        }
        PackageFsError::Io { .. } if !error.is_not_found() => PackageError::Io(message),
        _ => PackageError::Invalid(message),
    }
}

/// Writes `tar` (a canonical archive) into `dest` atomically: unpacked
/// beside it, then renamed, so a half-written cache entry is never seen.
pub fn unpack_canonical(tar: &[u8], dest: &Path, limits: Limits) -> Result<(), PackageError> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io("creating", parent))?;
    let staging = parent.join(format!(".unpacking-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&staging).map_err(io("creating", &staging))?;
    let result = extract(tar, &staging, limits).and_then(|()| match std::fs::rename(&staging, dest) {
        Ok(()) => Ok(()),
        // Another worker got there first: same bytes.
        Err(_) if dest.is_dir() => Ok(()),
        Err(e) => Err(PackageError::Io(format!("renaming into {}: {e}", dest.display()))),
    });
    let _ = std::fs::remove_dir_all(&staging);
    result
}

#[cfg(test)]
#[path = "packages_tests.rs"]
mod tests;
