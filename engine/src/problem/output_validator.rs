//! Finding a package's output validator program, and listing its source files.

use std::path::Path;

use super::{invalid, sorted_entries, ProblemError, ValidatorSpec};
use crate::package_fs::{EntryKind, PackageDir, PackageFsError};

/// The validator a package uses: legacy packages look in `output_validators/` (then
/// `output_validator/`) only when validation is custom or interactive; 2023-07 packages
/// use `output_validator/` (or `output_validators/`) whenever present. Its files are
/// checked now (beneath the root, regular, within the caps).
pub(super) fn find(
    pkg: &PackageDir,
    yaml_path: &Path,
    legacy: bool,
    custom: bool,
    interactive: bool,
) -> Result<ValidatorSpec, ProblemError> {
    let dir = pkg.path();
    let single = "output_validator";
    let is_dir = |rel: &str| -> Result<bool, ProblemError> { Ok(pkg.kind(Path::new(rel))? == Some(EntryKind::Dir)) };
    let found = if legacy {
        if !(custom || interactive) {
            return Ok(ValidatorSpec::Default);
        }
        let found = match find_validator_in(pkg, "output_validators")? {
            Some(p) => Some(p),
            None if is_dir(single)? && !sorted_entries(pkg, single)?.is_empty() => Some(program_dir(pkg, single)?),
            None => None,
        };
        if found.is_none() {
            return Err(invalid(format!(
                "{}: validation is custom but there is no output validator (expected {}/<name>/)",
                yaml_path.display(),
                dir.join("output_validators").display()
            )));
        }
        found
    } else if is_dir(single)? {
        if sorted_entries(pkg, single)?.is_empty() {
            return Err(invalid(format!("{}: empty output validator directory", dir.join(single).display())));
        }
        Some(program_dir(pkg, single)?)
    } else {
        find_validator_in(pkg, "output_validators")?
    };
    match found {
        Some(rel) => {
            for (_, file) in source_files(pkg, &rel)? {
                pkg.check_file(Path::new(&file))?;
            }
            Ok(ValidatorSpec::Custom(dir.join(rel)))
        }
        None if custom || interactive => {
            let why = if interactive { "the problem is interactive" } else { "validation is custom" };
            Err(invalid(format!(
                "{}: {why} but there is no output validator (expected {}/)",
                dir.display(),
                dir.join(single).display()
            )))
        }
        None => Ok(ValidatorSpec::Default),
    }
}

/// The program in an `output_validator/` directory: the directory itself, or the one
/// directory it holds when it holds nothing else (`output_validator/<name>/`, as
/// problemtools' own examples have it).
fn program_dir(pkg: &PackageDir, rel: &str) -> Result<String, ProblemError> {
    let entries = sorted_entries(pkg, rel)?;
    match entries.as_slice() {
        [only] if only.kind == EntryKind::Dir => Ok(only.rel.clone()),
        _ => Ok(rel.to_string()),
    }
}

/// The program in an `output_validators/` directory: its single entry (a directory of
/// sources or one file), or the directory itself when it holds only loose files.
fn find_validator_in(pkg: &PackageDir, rel: &str) -> Result<Option<String>, ProblemError> {
    if pkg.kind(Path::new(rel))? != Some(EntryKind::Dir) {
        return Ok(None);
    }
    let entries = sorted_entries(pkg, rel)?;
    match entries.len() {
        0 => Ok(None),
        1 => Ok(Some(entries[0].rel.clone())),
        _ if entries.iter().all(|e| e.kind != EntryKind::Dir) => Ok(Some(rel.to_string())),
        _ => {
            let names: Vec<String> = entries.iter().map(|e| e.name.to_string_lossy().into_owned()).collect();
            Err(invalid(format!(
                "{}: several output validators ({}); only one is supported",
                pkg.path().join(rel).display(),
                names.join(", ")
            )))
        }
    }
}

/// The validator's source files as (file name, package-relative path): `rel` itself when
/// it is a file, with the C/C++ headers beside it (a Polygon checker's `testlib.h`), else
/// the files of directory `rel` (subdirectories are skipped). A FIFO, device or link out
/// of the package, or a name that is not UTF-8, is an error.
pub(super) fn source_files(pkg: &PackageDir, rel: &str) -> Result<Vec<(String, String)>, ProblemError> {
    if pkg.kind(Path::new(rel))? != Some(EntryKind::Dir) {
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let mut files = vec![(name.to_string(), rel.to_string())];
        for entry in sorted_entries(pkg, parent)? {
            let header = entry.name.to_str().is_some_and(|n| n.ends_with(".h") || n.ends_with(".hpp"));
            if header && entry.kind == EntryKind::File {
                files.push((entry.utf8_name(pkg)?.to_string(), entry.rel));
            }
        }
        return Ok(files);
    }
    let mut files = Vec::new();
    for entry in sorted_entries(pkg, rel)? {
        let name = entry.utf8_name(pkg)?.to_string();
        match entry.kind {
            EntryKind::Dir => continue,
            EntryKind::File => files.push((name, entry.rel)),
            EntryKind::Other(kind) => {
                return Err(
                    PackageFsError::NotRegular { root: pkg.path().to_path_buf(), file: entry.rel.into(), kind }.into()
                )
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        dir
    }

    fn found(dir: &Path, legacy: bool) -> std::path::PathBuf {
        let pkg = PackageDir::open(dir, crate::package_fs::PackageLimits::default()).unwrap();
        match find(&pkg, &dir.join("problem.yaml"), legacy, true, false).unwrap() {
            ValidatorSpec::Custom(path) => path,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_single_directory_inside_output_validator_is_the_program() {
        let dir = package(&["output_validator/checker/validate.cc", "output_validator/checker/validate.h"]);
        assert_eq!(found(dir.path(), false), dir.path().join("output_validator/checker"));
        assert_eq!(found(dir.path(), true), dir.path().join("output_validator/checker"));
    }

    #[test]
    fn loose_files_in_output_validator_are_the_program() {
        let dir = package(&["output_validator/validate.cc", "output_validator/validate.h"]);
        assert_eq!(found(dir.path(), false), dir.path().join("output_validator"));
        // A file beside the directory: the whole directory is the program.
        let dir = package(&["output_validator/sub/a.h", "output_validator/validate.cc"]);
        assert_eq!(found(dir.path(), false), dir.path().join("output_validator"));
    }
}
