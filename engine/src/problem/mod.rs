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

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::limits::{DEFAULT_MEMORY_MIB, DEFAULT_OUTPUT_MIB};
pub use load::{MAX_LIMIT_MIB, MAX_TIME_LIMIT, MAX_TIME_MULTIPLIER};
pub use model::{
    Aggregation, MaxScore, OnReject, Problem, TestCase, TestData, TestGroup, ValidatorProtocol, ValidatorSpec,
};
pub use polygon::{Points, PointsGroup, PointsPolicy};

use crate::validate;

#[derive(Debug, thiserror::Error)]
pub enum ProblemError {
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
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

fn hidden(name: &OsString) -> bool {
    name.to_string_lossy().starts_with('.')
}

/// Non-hidden entries of a directory, sorted by file name (bytewise, like Python's sort of
/// `os.listdir`), with whether each is a directory (symlinks followed).
fn sorted_entries(dir: &Path) -> Result<Vec<(OsString, PathBuf, bool)>, ProblemError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        if hidden(&name) {
            continue;
        }
        let path = entry.path();
        let is_dir = std::fs::metadata(&path).map(|m| m.is_dir()).unwrap_or(false);
        out.push((name, path, is_dir));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
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
        let plain = Path::new(file_name).file_name().is_some_and(|n| n == file_name) && !hidden(&file_name.into());
        if !plain {
            return Err(invalid(format!("problem {}: checker file name {file_name:?} is not a plain name", self.name)));
        }
        let dir = tempfile::Builder::new().prefix("judge-checker-").tempdir().map_err(io_err(Path::new(file_name)))?;
        let path = dir.path().join(file_name);
        std::fs::write(&path, source).map_err(io_err(&path))?;
        self.validator = ValidatorSpec::Custom(path);
        self.validator_protocol = protocol;
        self.unpacked = Some(Arc::new(dir));
        Ok(self)
    }

    /// Files under `submissions/<kind>/` as (kind, path), sorted; or the submissions
    /// the package lists itself (Polygon's `<solutions>`).
    pub fn submissions(&self) -> Result<Vec<(String, PathBuf)>, ProblemError> {
        if let Some(listed) = &self.listed_submissions {
            return Ok(listed.clone());
        }
        let Some(dir) = &self.dir else { return Ok(Vec::new()) };
        let root = dir.join("submissions");
        if !root.is_dir() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for (kind, kind_dir, is_dir) in sorted_entries(&root)? {
            if !is_dir {
                continue;
            }
            let kind = kind.to_string_lossy().into_owned();
            for (_, path, is_dir) in sorted_entries(&kind_dir)? {
                if !is_dir {
                    out.push((kind.clone(), path));
                }
            }
        }
        out.sort();
        Ok(out)
    }
}
