//! Grading: compile once in the sandbox, run every test, validate, verdict.
//! STUB: interface agreed, body pending.

use std::sync::Arc;

use serde::Serialize;

use crate::language::Languages;
use crate::problem::Problem;
use crate::Verdict;

#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    #[error("unknown language {0:?}; known: {1}")]
    UnknownLanguage(String, String),
    #[error("language {0} is unavailable here: {1}")]
    Unavailable(String, String),
    #[error("{0}")]
    Problem(String),
}

#[derive(Clone, Debug)]
pub struct Submission {
    pub language: String,
    pub source: Vec<u8>,
}

#[derive(Clone, Debug, Default)]
pub struct GradeOptions {
    /// Overrides the problem's time limit (seconds).
    pub time_limit: Option<f64>,
    /// Overrides the problem's memory limit (MiB).
    pub memory_mib: Option<u64>,
    /// Run every test even after a failure.
    pub run_all: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct CompileInfo {
    pub ok: bool,
    pub output: String,
    pub time_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TestResult {
    pub name: String,
    pub verdict: Verdict,
    pub time_ms: u64,
    pub wall_ms: u64,
    pub memory_kb: u64,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct GradeResult {
    pub language: String,
    pub verdict: Verdict,
    pub score: f64,
    pub time_ms: u64,
    pub memory_kb: u64,
    pub compile: CompileInfo,
    pub tests: Vec<TestResult>,
}

pub struct Grader {
    pub languages: Arc<Languages>,
}

impl Grader {
    pub fn new(languages: Arc<Languages>) -> Grader {
        Grader { languages }
    }

    /// Blocking. `progress(done, total)` is called after each test.
    pub fn grade(
        &self,
        _problem: &Problem,
        _submission: &Submission,
        _options: &GradeOptions,
        _progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<GradeResult, GradeError> {
        todo!()
    }
}
