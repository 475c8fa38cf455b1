//! ICPC / Kattis problem packages (legacy layout and 2023-07-draft), Polygon packages
//! (see the `polygon` module), zips of either, and problems given inline over HTTP.
//!
//! What is implemented of the package format:
//! - `problem.yaml` (optional; missing means all defaults). The format is "legacy" unless
//!   `problem_format_version` names another version (e.g. `2023-07-draft`), which selects
//!   the 2023-07 reading of `type` and of scoring. Keys are read from a
//!   `serde_yaml_ng::Value` so errors name the file and the key; unknown keys are ignored.
//!   - `type`: a string or a list of `pass-fail`, `scoring`, `interactive` (the 2023-07
//!     values are accepted in legacy packages too; `multi-pass` and `submit-answer` are
//!     refused).
//!   - `validation: default | custom [interactive] [score]` and `validator_flags` (legacy;
//!     also honoured in a 2023-07 package that carries them).
//!   - `limits.time_limit` (s, at most a day), else a `.timelimit` file, else none;
//!     `limits.memory` (MiB, default 256) and `limits.output` (MiB, default 64), each at
//!     most 1 TiB; `limits.time_multiplier` /
//!     `time_safety_margin` (legacy) or `limits.time_multipliers.{ac_to_time_limit,
//!     time_limit_to_tle}` (2023-07) for `judge verify`.
//!   - `validator_protocol: kattis | testlib` (this judge's extension): how the output
//!     validator is run ([`ValidatorProtocol`]).
//!   - `grading.{accept_score, reject_score, on_reject}` (deprecated legacy location) as
//!     defaults for every test group.
//! - Output validator: legacy `output_validators/` holding one program (a directory of
//!   sources or a single file; several loose files are taken as one program), used only
//!   when `validation` is custom; 2023-07 `output_validator/` (or `output_validators/`),
//!   used whenever present. Custom/interactive without a validator is an error.
//! - Test data: `data/sample/**` then `data/secret/**`, `.in` with `.ans` (the `.ans` may
//!   be missing for interactive problems only). In every directory the entries are sorted
//!   by file name and test files and subgroups interleave in that order, as problemtools
//!   does. Other directories of `data/` (e.g. `invalid_output/`) are ignored.
//! - `testdata.yaml` (or the newer name `test_group.yaml`) in `data/` or any group
//!   directory, keys inherited one by one from the closest ancestor that sets them:
//!   `output_validator_flags` (string, or map with `flags`) / `output_validator_args`
//!   (list or string), `accept_score`, `reject_score`, `grader_flags`, `on_reject`. A
//!   per-test `<name>.yaml` may override `output_validator_args`. The effective validator
//!   flags of a test are the problem's `validator_flags` followed by these; with the
//!   default validator they are parsed at load time, so a bad flag fails the load.
//! - Scoring (see [`Problem::score`]): legacy default grader (accept/reject scores,
//!   `sum|avg|min|max` grader flags, sample ignored) and 2023-07 `scoring: {score,
//!   aggregation}` (also accepted as top-level `score`/`aggregation` keys) with the
//!   spec's maximum-score inference.
//!
//! Not implemented: custom graders (`grading: custom`), score files from validators
//! (`score.txt` / `score_multiplier.txt`), `range`, `require_pass`, verdict aggregation of
//! groups (`accept_if_any_accepted`, ...), `.files` directories, per-test `args`,
//! `include/`, input validators, submissions given as directories.
//!
//! Every file is read through [`PackageDir`] (`crate::package_fs`): beneath the package
//! root, regular files only, size-capped; test data is re-read beneath the root at each
//! use. A link out of the package, a FIFO or device, or a file over the caps is a load
//! error naming the file relative to the package.
//!
//! Layout of this module: `model` the package model, `yaml` key lookups with
//! file-and-key errors, `load` the steps of [`Problem::load`], `testdata` the walk of
//! `data/`, `output_validator` where the validator program is, `score` scoring.

mod load;
mod model;
mod output_validator;
mod polygon;
mod score;
mod testdata;
mod yaml;

#[cfg(test)]
mod tests;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::limits::{DEFAULT_MEMORY_MIB, DEFAULT_OUTPUT_MIB};
pub use crate::package_fs::{PackageDir, PackageFsError, PackageLimits};
pub use load::{MAX_LIMIT_MIB, MAX_TIME_LIMIT, MAX_TIME_MULTIPLIER};
pub use model::{
    Aggregation, MaxScore, OnReject, PackageFile, Problem, TestCase, TestData, TestGroup, ValidatorProtocol,
    ValidatorSpec,
};
pub use polygon::{Points, PointsGroup, PointsPolicy};

use crate::package_fs::EntryKind;
use crate::validate;

#[derive(Debug, thiserror::Error)]
pub enum ProblemError {
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A package file refused or unreadable: names the file and why.
    #[error(transparent)]
    Package(#[from] PackageFsError),
}

fn invalid(msg: String) -> ProblemError {
    ProblemError::Invalid(msg)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ProblemError + '_ {
    move |source| ProblemError::Io { path: path.to_path_buf(), source }
}

fn is_legacy(version: &str) -> bool {
    version == "legacy" || version == "legacy-icpc"
}

fn hidden(name: &OsStr) -> bool {
    name.as_bytes().starts_with(b".")
}

/// `rel` joined with `name`, as a package-relative path string (`""` is the root).
fn join(rel: &str, name: &str) -> String {
    if rel.is_empty() {
        name.to_string()
    } else {
        format!("{rel}/{name}")
    }
}

/// An entry of a package directory.
struct Entry {
    name: OsString,
    /// Package-relative path; lossy when the name is not UTF-8 (see [`Entry::utf8_name`]).
    rel: String,
    kind: EntryKind,
}

impl Entry {
    /// The name, or an error naming the file when it is not UTF-8.
    fn utf8_name(&self, pkg: &PackageDir) -> Result<&str, ProblemError> {
        self.name
            .to_str()
            .ok_or_else(|| invalid(format!("{}: {}: file name is not UTF-8", pkg.path().display(), self.rel)))
    }
}

/// Non-hidden entries of package directory `rel`, sorted by file name (bytewise, like
/// Python's sort of `os.listdir`), with what each is (in-package links followed; a link
/// out of the package is an error naming it).
fn sorted_entries(pkg: &PackageDir, rel: &str) -> Result<Vec<Entry>, ProblemError> {
    let mut out = Vec::new();
    for name in pkg.list(Path::new(rel))? {
        if hidden(&name) {
            continue;
        }
        let entry_rel = join(rel, &name.to_string_lossy());
        let kind = match pkg.kind(&Path::new(rel).join(&name))? {
            Some(kind) => kind,
            None => return Err(invalid(format!("{}: {entry_rel}: a link to nothing", pkg.path().display()))),
        };
        out.push(Entry { name, rel: entry_rel, kind });
    }
    Ok(out)
}

/// Whether `path` looks like a package [`Problem::load`] reads: a directory with
/// `problem.yaml` or `problem.xml`, or a `.zip` file.
pub fn looks_like_package(path: &Path) -> bool {
    path.join("problem.yaml").is_file() || path.join("problem.xml").is_file() || polygon::archive::is_archive(path)
}

impl Problem {
    /// A problem given inline, judged by the default validator; `tests` are (name,
    /// input, answer). Bad validator flags are an error.
    pub fn inline(
        name: &str,
        tests: Vec<(String, Vec<u8>, Vec<u8>)>,
        time_limit: f64,
        memory_mib: u64,
        output_mib: u64,
        validator_flags: Vec<String>,
    ) -> Result<Problem, ProblemError> {
        let default_flags = validate::Flags::parse(&validator_flags)
            .map_err(|e| invalid(format!("inline problem {name}: validator flags: {e}")))?;
        let tests = tests
            .into_iter()
            .map(|(test_name, input, answer)| TestCase {
                name: test_name,
                group: "secret".to_string(),
                input: TestData::Bytes(Arc::new(input)),
                answer: TestData::Bytes(Arc::new(answer)),
                validator_flags: validator_flags.clone(),
                default_flags: default_flags.clone(),
            })
            .collect();
        Ok(Problem {
            name: name.to_string(),
            dir: None,
            package: None,
            time_limit: Some(time_limit),
            memory_mib,
            output_mib,
            interactive: false,
            scoring: false,
            validator: ValidatorSpec::Default,
            tests,
            format_version: "legacy".to_string(),
            title: None,
            validator_flags,
            time_multiplier: 2.0,
            time_safety_margin: 2.0,
            groups: vec![TestGroup::new("secret")],
            validator_protocol: ValidatorProtocol::Kattis,
            tout_checker: None,
            points: None,
            listed_submissions: None,
            unpacked: None,
        })
    }

    /// Judges with a checker given as source (e.g. inline over HTTP), run by `protocol`:
    /// the source is written as `file_name` (a plain name whose extension tells the
    /// language) into a private temporary directory kept as long as the problem.
    pub fn with_checker_source(
        mut self,
        file_name: &str,
        source: &[u8],
        protocol: ValidatorProtocol,
    ) -> Result<Problem, ProblemError> {
        let plain = Path::new(file_name).file_name().is_some_and(|n| n == file_name) && !hidden(OsStr::new(file_name));
        if !plain {
            return Err(invalid(format!("problem {}: checker file name {file_name:?} is not a plain name", self.name)));
        }
        let dir = tempfile::Builder::new().prefix("judge-checker-").tempdir().map_err(io_err(Path::new(file_name)))?;
        let path = dir.path().join(file_name);
        std::fs::write(&path, source).map_err(io_err(&path))?;
        self.package = Some(Arc::new(PackageDir::open(dir.path(), PackageLimits::default())?));
        self.validator = ValidatorSpec::Custom(path);
        self.validator_protocol = protocol;
        self.unpacked = Some(Arc::new(dir));
        Ok(self)
    }

    /// Files under `submissions/<kind>/` as (kind, path), sorted, or the submissions
    /// the package lists itself (Polygon's `<solutions>`). Read them with
    /// [`Problem::read_submission`].
    pub fn submissions(&self) -> Result<Vec<(String, PathBuf)>, ProblemError> {
        if let Some(listed) = &self.listed_submissions {
            return Ok(listed.clone());
        }
        let (Some(dir), Some(pkg)) = (&self.dir, &self.package) else { return Ok(Vec::new()) };
        if pkg.kind(Path::new("submissions"))? != Some(EntryKind::Dir) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for kind in sorted_entries(pkg, "submissions")? {
            if kind.kind != EntryKind::Dir {
                continue;
            }
            let kind_name = kind.name.to_string_lossy().into_owned();
            for file in sorted_entries(pkg, &kind.rel)? {
                if file.kind != EntryKind::Dir {
                    file.utf8_name(pkg)?;
                    out.push((kind_name.clone(), dir.join(&file.rel)));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Reads a file of the package (e.g. one of [`Problem::submissions`]) beneath its
    /// root, a regular file within the per-file cap. `file` may be absolute (under
    /// [`Problem::dir`]) or relative to the package.
    pub fn read_package_file(&self, file: &Path) -> Result<Vec<u8>, ProblemError> {
        let (Some(dir), Some(pkg)) = (&self.dir, &self.package) else {
            return Err(invalid(format!("{}: problem {} has no package directory", file.display(), self.name)));
        };
        let rel = file.strip_prefix(dir).unwrap_or(file);
        Ok(pkg.read(rel, pkg.limits().max_file_bytes)?)
    }

    /// The custom output validator's files as (file name, contents); see
    /// [`Problem::program_sources`]. Empty for the default validator.
    pub fn validator_sources(&self) -> Result<Vec<(String, Vec<u8>)>, ProblemError> {
        match &self.validator {
            ValidatorSpec::Custom(path) => self.program_sources(path),
            ValidatorSpec::Default => Ok(Vec::new()),
        }
    }

    /// The files of the package's program at `path` (a validator, checker or
    /// interactor) as (file name, contents): the single source file with the headers
    /// beside it, or every regular file of its directory. Each is read beneath the
    /// package root within the per-file cap; a link out, a FIFO or device, or a name
    /// that is not UTF-8 is an error naming the file. Empty without a package.
    pub fn program_sources(&self, path: &Path) -> Result<Vec<(String, Vec<u8>)>, ProblemError> {
        let Some(pkg) = &self.package else { return Ok(Vec::new()) };
        let rel = path.strip_prefix(pkg.path()).unwrap_or(path).to_string_lossy().into_owned();
        let files = output_validator::source_files(pkg, &rel)?;
        let max = pkg.limits().max_file_bytes;
        files.into_iter().map(|(name, rel)| Ok((name, pkg.read(Path::new(&rel), max)?))).collect()
    }
}
