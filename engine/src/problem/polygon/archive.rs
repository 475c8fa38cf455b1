//! A package given as a zip archive (as Polygon downloads them): unpacked into a
//! private temporary directory kept as long as the loaded problem, then loaded as a
//! directory (Polygon or Kattis).
//!
//! Entries that would land outside the directory and symlinks are refused; the
//! unpacked size and the number of entries are bounded by what is actually written,
//! not by what the archive's headers claim.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::super::{invalid, io_err, Problem, ProblemError};

/// At most this many bytes are unpacked from one archive.
const MAX_UNPACKED: u64 = 4 << 30;
/// At most this many entries.
const MAX_ENTRIES: usize = 100_000;

/// Whether `path` names a zip archive to load as a package.
pub(in super::super) fn is_archive(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// Unpacks `archive` and loads the package in it (at its top, or in its only
/// directory), named after the archive.
pub(in super::super) fn load(archive: &Path) -> Result<Problem, ProblemError> {
    let unpacked = tempfile::Builder::new().prefix("judge-package-").tempdir().map_err(io_err(archive))?;
    unpack(archive, unpacked.path())?;
    let root = package_root(archive, unpacked.path())?;
    let mut problem = Problem::load(&root)?;
    problem.name = archive.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    problem.unpacked = Some(Arc::new(unpacked));
    Ok(problem)
}

fn unpack(archive: &Path, into: &Path) -> Result<(), ProblemError> {
    let bad = |what: String| invalid(format!("{}: {what}", archive.display()));
    let file = std::fs::File::open(archive).map_err(io_err(archive))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(format!("not a readable zip archive: {e}")))?;
    if zip.len() > MAX_ENTRIES {
        return Err(bad(format!("{} entries, more than {MAX_ENTRIES}", zip.len())));
    }
    let mut budget = MAX_UNPACKED;
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|e| bad(format!("entry {index}: {e}")))?;
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_else(|_| format!("#{index}"));
        let Some(relative) = entry.enclosed_name() else {
            return Err(bad(format!("entry {name:?} would unpack outside the package")));
        };
        if entry.is_symlink() {
            return Err(bad(format!("entry {name:?} is a symlink")));
        }
        let target = into.join(relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(io_err(&target))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        let mut out = std::fs::File::create(&target).map_err(io_err(&target))?;
        let written = std::io::copy(&mut (&mut entry).take(budget + 1), &mut out)
            .map_err(|e| bad(format!("entry {name:?}: {e}")))?;
        if written > budget {
            return Err(bad(format!("unpacks to more than {} MiB", MAX_UNPACKED >> 20)));
        }
        budget -= written;
    }
    Ok(())
}

/// The directory holding `problem.xml` or `problem.yaml`: the top, else its only
/// subdirectory.
fn package_root(archive: &Path, top: &Path) -> Result<PathBuf, ProblemError> {
    let is_root = |dir: &Path| dir.join("problem.xml").is_file() || dir.join("problem.yaml").is_file();
    if is_root(top) {
        return Ok(top.to_path_buf());
    }
    let entries: Vec<PathBuf> =
        std::fs::read_dir(top).map_err(io_err(top))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    match entries.as_slice() {
        [only] if only.is_dir() && is_root(only) => Ok(only.clone()),
        _ => Err(invalid(format!(
            "{}: no problem.xml or problem.yaml at the top of the archive or in its only directory",
            archive.display()
        ))),
    }
}
