//! Grading: compile once in the sandbox, run every test in its own sandbox,
//! validate the output (default, custom or interactive), and give verdicts.
//!
//! - `build`: compiling a program onto its own tmpfs;
//! - `compile_cache`: compiled submissions, kept for resubmissions;
//! - `validators`: package output validators, built once and kept;
//! - `inputs`: test inputs sealed in memfds, a bounded number kept;
//! - `schedule`: running the tests, several at once.

mod build;
mod compile_cache;
pub(crate) mod inputs;
mod schedule;
mod validators;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::language::{Language, Languages};
use crate::limits::{MIB, MIN_TIME_LIMIT};
use crate::problem::{Problem, ValidatorSpec};
use crate::Verdict;

use build::{build, BuildFailure, Program};
pub use build::{compile_failure, sandboxed};
use compile_cache::CompileCache;
use inputs::InputCache;
use schedule::{run_tests, TestPlan};
use validators::{build_validator, ValidatorCache};

pub use crate::limits::DEFAULT_TIME_LIMIT;
pub use validators::VALIDATOR_LANGUAGES;

/// Who has to act for a failed grading to succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The request: an unknown or unavailable language, a bad option. HTTP 400.
    Caller,
    /// The problem package: bad limits, an output validator that does not
    /// build. The request itself was well-formed, so HTTP 422 (Unprocessable
    /// Entity); whoever owns the package has to fix it.
    Package,
    /// The judge itself (a sandbox or tmpfs that failed). HTTP 500.
    Judge,
}

#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    #[error("unknown language {0:?}; known: {1}")]
    UnknownLanguage(String, String),
    #[error("language {0} is unavailable here: {1}")]
    Unavailable(String, String),
    /// A grading option of the request that cannot be used.
    #[error("{0}")]
    BadOption(String),
    /// The problem package cannot be graded (including its output validator).
    #[error("{0}")]
    Problem(String),
    #[error("{0}")]
    Internal(String),
}

impl GradeError {
    pub fn fault(&self) -> Fault {
        match self {
            GradeError::UnknownLanguage(..) | GradeError::Unavailable(..) | GradeError::BadOption(_) => Fault::Caller,
            GradeError::Problem(_) => Fault::Package,
            GradeError::Internal(_) => Fault::Judge,
        }
    }
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompileInfo {
    pub ok: bool,
    pub output: String,
    pub time_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestResult {
    pub name: String,
    pub verdict: Verdict,
    pub time_ms: u64,
    pub wall_ms: u64,
    pub memory_kb: u64,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub exit_code: Option<i32>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
    /// The fraction (0 to 1) of the test's points a testlib checker gave (exit 7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    validators: ValidatorCache,
    compiled: CompileCache,
    inputs: InputCache,
    /// How many tests of one submission run at once.
    parallelism: usize,
}

impl Grader {
    pub fn new(languages: Arc<Languages>) -> Grader {
        let parallelism = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Grader {
            languages,
            validators: ValidatorCache::default(),
            compiled: CompileCache::default(),
            inputs: InputCache::default(),
            parallelism,
        }
    }

    /// Sets how many tests of one submission may run at once (at least 1).
    pub fn with_parallelism(mut self, tests_at_once: usize) -> Grader {
        self.parallelism = tests_at_once.max(1);
        self
    }

    pub fn language(&self, id: &str) -> Result<&Language, GradeError> {
        let lang =
            self.languages.get(id).ok_or_else(|| GradeError::UnknownLanguage(id.to_string(), self.languages.ids()))?;
        if let Some(reason) = lang.unavailable_reason() {
            return Err(GradeError::Unavailable(id.to_string(), reason));
        }
        Ok(lang)
    }

    /// Blocking. `progress(done, total)` is called after each test.
    pub fn grade(
        &self,
        problem: &Problem,
        submission: &Submission,
        options: &GradeOptions,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<GradeResult, GradeError> {
        let lang = self.language(&submission.language)?;
        let time_limit = time_limit(problem, options)?;
        let memory_mib = memory_limit(problem, options)?;
        let mut result = GradeResult {
            language: lang.id.clone(),
            verdict: Verdict::AC,
            score: 0.0,
            time_ms: 0,
            memory_kb: 0,
            compile: CompileInfo { ok: false, output: String::new(), time_ms: 0 },
            tests: Vec::new(),
        };
        let program = match self.compile(lang, &submission.source, memory_mib)? {
            Ok((program, info)) => {
                result.compile = info;
                program
            }
            Err(info) => {
                result.compile = info;
                result.verdict = Verdict::CE;
                return Ok(result);
            }
        };
        let validator = match &problem.validator {
            ValidatorSpec::Default => None,
            ValidatorSpec::Custom(path) => Some(self.validator(problem, path)?),
        };
        let tout_checker = match &problem.tout_checker {
            Some(ValidatorSpec::Custom(path)) => Some(self.validator(problem, path)?),
            _ => None,
        };
        let limits = lang.run_limits(Duration::from_secs_f64(time_limit), memory_mib * MIB, problem.output_mib * MIB);
        let plan = TestPlan {
            problem,
            program: &program,
            limits: &limits,
            validator: validator.as_deref(),
            tout_checker: tout_checker.as_deref(),
            inputs: &self.inputs,
        };
        let stop_early = !options.run_all && !problem.scoring;
        for outcome in run_tests(&plan, self.parallelism, stop_early, progress) {
            result.time_ms = result.time_ms.max(outcome.time_ms);
            result.memory_kb = result.memory_kb.max(outcome.memory_kb);
            if outcome.verdict != Verdict::AC && result.verdict == Verdict::AC {
                result.verdict = outcome.verdict;
            }
            result.tests.push(outcome);
        }
        let verdicts: Vec<Verdict> = result.tests.iter().map(|t| t.verdict).collect();
        let partial: Vec<Option<f64>> = result.tests.iter().map(|t| t.partial).collect();
        result.score = problem.score_with_partial(&verdicts, &partial);
        Ok(result)
    }

    /// The submission's program from the cache or compiled now; the inner
    /// `Err` is its compile error.
    fn compile(&self, lang: &Language, source: &[u8], memory_mib: u64) -> Result<compile_cache::Compiled, GradeError> {
        let key = self.compiled.key(lang, source, memory_mib);
        let text = String::from_utf8_lossy(source).into_owned();
        self.compiled
            .get_or_build(key, || {
                let files = [(lang.source_name(&text), source.to_vec())];
                match build(lang, &files, &text, memory_mib) {
                    Ok((program, info)) => Ok(Ok((Arc::new(program), info))),
                    Err(BuildFailure::Compile(info)) => Ok(Err(info)),
                    Err(BuildFailure::Internal(message)) => Err(message),
                }
            })
            .map_err(GradeError::Internal)
    }

    fn validator(&self, problem: &Problem, path: &Path) -> Result<Arc<Program>, GradeError> {
        // Named within a temporary unpacked dir (a zip, an inline checker)
        // by its place there: the judge's temp paths are nobody's business.
        let unpacked = problem.unpacked.as_ref().and_then(|dir| path.strip_prefix(dir.path()).ok());
        let kept = match unpacked {
            // A temporary dir is new every job: keep its validator by its bytes.
            Some(name) => match problem.program_sources(path) {
                Ok(files) => self
                    .validators
                    .get_by_content(name, &files, || build_validator(&self.languages, name, Ok(files.clone()))),
                Err(e) => build_validator(&self.languages, name, Err(e.to_string())),
            },
            None => self.validators.get(path, || {
                let files = problem.program_sources(path).map_err(|e| e.to_string());
                build_validator(&self.languages, path, files)
            }),
        };
        kept.map_err(GradeError::Internal)?.map_err(GradeError::Problem)
    }
}

/// The time limit in seconds: the caller's, else the package's, else the default.
fn time_limit(problem: &Problem, options: &GradeOptions) -> Result<f64, GradeError> {
    let valid = |seconds: f64| seconds.is_finite() && (MIN_TIME_LIMIT..=3600.0).contains(&seconds);
    match (options.time_limit, problem.time_limit) {
        (Some(given), _) if !valid(given) => Err(GradeError::BadOption(format!(
            "time limit must be at least {MIN_TIME_LIMIT} and at most 3600 s, got {given}"
        ))),
        (Some(given), _) => Ok(given),
        (None, Some(package)) if !valid(package) => Err(GradeError::Problem(format!(
            "problem {}: time limit must be at least {MIN_TIME_LIMIT} and at most 3600 s, got {package}",
            problem.name
        ))),
        (None, package) => Ok(package.unwrap_or(DEFAULT_TIME_LIMIT)),
    }
}

/// Memory limits a run may have, in MiB (up to 1 TiB, so bytes never overflow).
const MEMORY_MIB: std::ops::RangeInclusive<u64> = 1..=1 << 20;

/// The memory limit in MiB: the caller's, else the package's.
fn memory_limit(problem: &Problem, options: &GradeOptions) -> Result<u64, GradeError> {
    let out_of_range = |mib| format!("memory limit must be 1 to {} MiB, got {mib}", MEMORY_MIB.end());
    match options.memory_mib {
        Some(given) if !MEMORY_MIB.contains(&given) => Err(GradeError::BadOption(out_of_range(given))),
        Some(given) => Ok(given),
        None if !MEMORY_MIB.contains(&problem.memory_mib) || !MEMORY_MIB.contains(&problem.output_mib) => {
            Err(GradeError::Problem(format!(
                "problem {}: {} (output limit {} MiB)",
                problem.name,
                out_of_range(problem.memory_mib),
                problem.output_mib
            )))
        }
        None => Ok(problem.memory_mib),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_says_whose_fault_it_is() {
        assert_eq!(GradeError::UnknownLanguage("cobol".into(), "c".into()).fault(), Fault::Caller);
        assert_eq!(GradeError::Unavailable("go".into(), "no go".into()).fault(), Fault::Caller);
        assert_eq!(GradeError::BadOption("x".into()).fault(), Fault::Caller);
        assert_eq!(GradeError::Problem("validator does not compile".into()).fault(), Fault::Package);
        assert_eq!(GradeError::Internal("mount failed".into()).fault(), Fault::Judge);
    }

    #[test]
    fn bad_time_limits_are_blamed_on_whoever_gave_them() {
        let mut problem =
            Problem::inline("t", vec![("1".into(), b"1\n".to_vec(), b"1\n".to_vec())], 1.0, 64, 64, vec![]).unwrap();
        let given = |time_limit| GradeOptions { time_limit, ..GradeOptions::default() };
        assert_eq!(time_limit(&problem, &given(Some(2.5))).unwrap(), 2.5);
        assert_eq!(time_limit(&problem, &given(None)).unwrap(), 1.0);
        assert_eq!(time_limit(&problem, &given(Some(f64::NAN))).unwrap_err().fault(), Fault::Caller);
        assert_eq!(time_limit(&problem, &given(Some(1e300))).unwrap_err().fault(), Fault::Caller);
        assert_eq!(time_limit(&problem, &given(Some(1e-10))).unwrap_err().fault(), Fault::Caller);
        problem.time_limit = Some(-1.0);
        assert_eq!(time_limit(&problem, &given(None)).unwrap_err().fault(), Fault::Package);
        problem.time_limit = None;
        assert_eq!(time_limit(&problem, &given(None)).unwrap(), DEFAULT_TIME_LIMIT);
    }

    #[test]
    fn memory_limits_that_would_overflow_are_refused() {
        let mut problem = Problem::inline("t", vec![], 1.0, 64, 64, vec![]).unwrap();
        let given = |memory_mib| GradeOptions { memory_mib, ..GradeOptions::default() };
        assert_eq!(memory_limit(&problem, &given(Some(512))).unwrap(), 512);
        assert_eq!(memory_limit(&problem, &given(None)).unwrap(), 64);
        assert_eq!(memory_limit(&problem, &given(Some(u64::MAX / 2))).unwrap_err().fault(), Fault::Caller);
        assert_eq!(memory_limit(&problem, &given(Some(0))).unwrap_err().fault(), Fault::Caller);
        problem.memory_mib = 1 << 50;
        assert_eq!(memory_limit(&problem, &given(None)).unwrap_err().fault(), Fault::Package);
    }
}
