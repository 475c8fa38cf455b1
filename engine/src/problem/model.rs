//! The package model: what a loaded problem is, independent of how it was read.

use std::path::PathBuf;
use std::sync::Arc;

use super::polygon::Points;
use crate::package_fs::{PackageDir, PackageFsError};
use crate::validate;

/// Test data: a file of the package, or bytes given inline.
#[derive(Clone, Debug)]
pub enum TestData {
    File(PackageFile),
    Bytes(Arc<Vec<u8>>),
}

/// A file of a loaded package, read beneath the package root each time (so a file
/// swapped for a link out after loading is still refused).
#[derive(Clone, Debug)]
pub struct PackageFile {
    pub package: Arc<PackageDir>,
    /// Relative to the package root.
    pub rel: PathBuf,
}

impl PackageFile {
    /// The file's whole contents, within the package's per-file cap.
    pub fn read(&self) -> Result<Vec<u8>, PackageFsError> {
        self.package.read(&self.rel, self.package.limits().max_file_bytes)
    }

    /// The file opened for reading, with its size, within the per-file cap.
    pub fn open(&self) -> Result<(std::fs::File, u64), PackageFsError> {
        self.package.open_file(&self.rel, self.package.limits().max_file_bytes)
    }

    /// Where the file is, for messages.
    pub fn path(&self) -> PathBuf {
        self.package.path().join(&self.rel)
    }
}

impl TestData {
    pub fn read(&self) -> Result<Vec<u8>, PackageFsError> {
        match self {
            TestData::File(file) => file.read(),
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
    /// Effective output validator flags for this test (problem + testdata.yaml), as
    /// words: a custom validator gets them as its arguments.
    pub validator_flags: Vec<String>,
    /// The same flags parsed once at load time for the default validator. Left at
    /// the default (and unused) when the problem has a custom validator.
    pub default_flags: validate::Flags,
}

impl TestCase {
    /// Whether the test belongs to `data/sample` (or a subgroup of it).
    pub fn is_sample(&self) -> bool {
        self.group == "sample" || self.group.starts_with("sample/")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ValidatorSpec {
    Default,
    /// A single source file or a directory of sources.
    Custom(PathBuf),
}

/// How the package's checker or interactor talks to the judge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValidatorProtocol {
    /// `validator input answer feedback_dir [flags]`, output on stdin, exit 42 / 43.
    #[default]
    Kattis,
    /// testlib: `check input output answer` (interactor: `interactor input tout answer`),
    /// exit 0 OK, 1 WA, 2 PE, 3 FAIL, 7 partial points; stderr is the feedback.
    Testlib,
}

/// What happens after a rejected test in a group (legacy `on_reject`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnReject {
    #[default]
    Break,
    Continue,
}

/// A 2023-07 group's maximum score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaxScore {
    Bounded(f64),
    Unbounded,
}

/// A 2023-07 group's score aggregation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregation {
    PassFail,
    Sum,
    Min,
}

/// One test data group (a directory under data/) and its settings after inheritance.
#[derive(Clone, Debug, PartialEq)]
pub struct TestGroup {
    /// e.g. "sample", "secret", "secret/group1".
    pub path: String,
    /// Legacy: score of an accepted test directly in this group (default 1).
    pub accept_score: f64,
    /// Legacy: score of a rejected test directly in this group (default 0).
    pub reject_score: f64,
    /// Legacy default-grader flags (inherited).
    pub grader_flags: Vec<String>,
    pub on_reject: OnReject,
    /// 2023-07 `score` set on this very group (not inherited).
    pub score: Option<MaxScore>,
    /// 2023-07 `aggregation` set on this very group (not inherited).
    pub aggregation: Option<Aggregation>,
}

impl TestGroup {
    pub(super) fn new(path: &str) -> TestGroup {
        TestGroup {
            path: path.to_string(),
            accept_score: 1.0,
            reject_score: 0.0,
            grader_flags: Vec::new(),
            on_reject: OnReject::Break,
            score: None,
            aggregation: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Problem {
    pub name: String,
    pub dir: Option<PathBuf>,
    /// The package root every file is read beneath (None for inline problems).
    pub package: Option<Arc<PackageDir>>,
    /// Seconds, from problem.yaml or .timelimit; None when the package gives none.
    pub time_limit: Option<f64>,
    pub memory_mib: u64,
    pub output_mib: u64,
    pub interactive: bool,
    pub scoring: bool,
    pub validator: ValidatorSpec,
    /// All tests in judging order (sample first, then secret, lexicographic).
    pub tests: Vec<TestCase>,
    /// `problem_format_version` ("legacy" when absent).
    pub format_version: String,
    /// The `name` of problem.yaml (English, or the first language given), if any.
    pub title: Option<String>,
    /// Problem-level validator flags (legacy `validator_flags`); already included in
    /// every test's `validator_flags`.
    pub validator_flags: Vec<String>,
    /// Time limit = slowest accepted run times this (legacy `time_multiplier`, 2023-07
    /// `time_multipliers.ac_to_time_limit`; default 2).
    pub time_multiplier: f64,
    /// Legacy `time_safety_margin` (default 2) or 2023-07
    /// `time_multipliers.time_limit_to_tle` (default 1.5).
    pub time_safety_margin: f64,
    /// The test groups, parents before children, in judging order.
    pub groups: Vec<TestGroup>,
    /// How `validator` is run (Kattis unless the package says testlib).
    pub validator_protocol: ValidatorProtocol,
    /// Interactive testlib problems: the checker run afterwards on the interactor's
    /// `tout` (`Default`: token compare of tout with the answer). `None`: the
    /// interactor's verdict stands.
    pub tout_checker: Option<ValidatorSpec>,
    /// Points per test and per group (Polygon); when set, the problem is scored by them.
    pub points: Option<Points>,
    /// Submissions the package lists itself as (kind, file), e.g. Polygon's
    /// `<solutions>`; `None`: the `submissions/<kind>/` folders.
    pub listed_submissions: Option<Vec<(String, PathBuf)>>,
    /// The temporary directory a zipped package was unpacked into (`dir` is in it),
    /// removed when the last copy of the problem goes.
    pub unpacked: Option<Arc<tempfile::TempDir>>,
}
