//! ICPC / Kattis problem packages (legacy layout and 2023-07-draft), and
//! problems given inline over HTTP. STUB: interface agreed, body pending.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::Verdict;

#[derive(Debug, thiserror::Error)]
pub enum ProblemError {
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Test data: a file of the package, or bytes given inline.
#[derive(Clone, Debug)]
pub enum TestData {
    File(PathBuf),
    Bytes(Arc<Vec<u8>>),
}

impl TestData {
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        match self {
            TestData::File(p) => std::fs::read(p),
            TestData::Bytes(b) => Ok(b.as_ref().clone()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct TestCase {
    /// e.g. "sample/1", "secret/group1/03" (path under data/ without extension).
    pub name: String,
    /// e.g. "sample", "secret", "secret/group1".
    pub group: String,
    pub input: TestData,
    pub answer: TestData,
    /// Effective output validator flags for this test (problem + testdata.yaml).
    pub validator_flags: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ValidatorSpec {
    Default,
    /// A single source file or a directory of sources.
    Custom(PathBuf),
}

#[derive(Clone, Debug)]
pub struct Problem {
    pub name: String,
    pub dir: Option<PathBuf>,
    /// Seconds, from problem.yaml or .timelimit; None when the package gives none.
    pub time_limit: Option<f64>,
    pub memory_mib: u64,
    pub output_mib: u64,
    pub interactive: bool,
    pub scoring: bool,
    pub validator: ValidatorSpec,
    /// All tests in judging order (sample first, then secret, lexicographic).
    pub tests: Vec<TestCase>,
}

impl Problem {
    pub fn load(_dir: &Path) -> Result<Problem, ProblemError> {
        todo!()
    }

    /// `tests` are (name, input, answer).
    pub fn inline(name: &str, tests: Vec<(String, Vec<u8>, Vec<u8>)>, time_limit: f64, memory_mib: u64, output_mib: u64, validator_flags: Vec<String>) -> Problem {
        let _ = (name, tests, time_limit, memory_mib, output_mib, validator_flags);
        todo!()
    }

    /// Score from verdicts aligned with `tests`.
    pub fn score(&self, _verdicts: &[Verdict]) -> f64 {
        todo!()
    }

    /// Files under submissions/<kind>/ as (kind, path), sorted.
    pub fn submissions(&self) -> Result<Vec<(String, PathBuf)>, ProblemError> {
        todo!()
    }
}
