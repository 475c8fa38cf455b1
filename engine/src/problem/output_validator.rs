//! Finding a package's output validator program.

use std::path::{Path, PathBuf};

use super::{invalid, sorted_entries, ProblemError, ValidatorSpec};

/// The validator a package uses: legacy packages look in `output_validators/` (then
/// `output_validator/`) only when validation is custom or interactive; 2023-07 packages
/// use `output_validator/` (or `output_validators/`) whenever present.
pub(super) fn find(
    dir: &Path,
    yaml_path: &Path,
    legacy: bool,
    custom: bool,
    interactive: bool,
) -> Result<ValidatorSpec, ProblemError> {
    let single = dir.join("output_validator");
    if legacy {
        if !(custom || interactive) {
            return Ok(ValidatorSpec::Default);
        }
        let found = match find_validator_in(&dir.join("output_validators"))? {
            Some(p) => Some(p),
            None if single.is_dir() && !sorted_entries(&single)?.is_empty() => Some(program_dir(single)?),
            None => None,
        };
        return match found {
            Some(p) => Ok(ValidatorSpec::Custom(p)),
            None => Err(invalid(format!(
                "{}: validation is custom but there is no output validator (expected {}/<name>/)",
                yaml_path.display(),
                dir.join("output_validators").display()
            ))),
        };
    }
    let found = if single.is_dir() {
        if sorted_entries(&single)?.is_empty() {
            return Err(invalid(format!("{}: empty output validator directory", single.display())));
        }
        Some(program_dir(single.clone())?)
    } else {
        find_validator_in(&dir.join("output_validators"))?
    };
    match found {
        Some(p) => Ok(ValidatorSpec::Custom(p)),
        None if custom || interactive => {
            let why = if interactive { "the problem is interactive" } else { "validation is custom" };
            Err(invalid(format!(
                "{}: {why} but there is no output validator (expected {}/)",
                dir.display(),
                single.display()
            )))
        }
        None => Ok(ValidatorSpec::Default),
    }
}

/// The program in an `output_validator/` directory: the directory itself, or the one
/// directory it holds when it holds nothing else (`output_validator/<name>/`, as
/// problemtools' own examples have it).
fn program_dir(dir: PathBuf) -> Result<PathBuf, ProblemError> {
    let entries = sorted_entries(&dir)?;
    match entries.as_slice() {
        [(_, inner, true)] => Ok(inner.clone()),
        _ => Ok(dir),
    }
}

/// The program in an `output_validators/` directory: its single entry (a directory of
/// sources or one file), or the directory itself when it holds only loose files.
fn find_validator_in(dir: &Path) -> Result<Option<PathBuf>, ProblemError> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let entries = sorted_entries(dir)?;
    match entries.len() {
        0 => Ok(None),
        1 => Ok(Some(entries[0].1.clone())),
        _ if entries.iter().all(|e| !e.2) => Ok(Some(dir.to_path_buf())),
        _ => {
            let names: Vec<String> = entries.iter().map(|e| e.0.to_string_lossy().into_owned()).collect();
            Err(invalid(format!(
                "{}: several output validators ({}); only one is supported",
                dir.display(),
                names.join(", ")
            )))
        }
    }
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

    fn found(dir: &Path, legacy: bool) -> PathBuf {
        match find(dir, &dir.join("problem.yaml"), legacy, true, false).unwrap() {
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
