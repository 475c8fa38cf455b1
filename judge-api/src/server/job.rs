//! A job as it is stored: what `POST /submit` checked, in typed fields,
//! serialized once into the store and turned into the engine's inputs
//! once by the worker that grades it. The one request-to-job conversion.

use std::sync::Arc;

use engine::grade::{GradeOptions, Submission};
use engine::problem::{Points, Problem, ValidatorProtocol};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::App;

/// A language id checked against the server's languages when the
/// submission was accepted (only `submit::parse` makes one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LanguageId(String);

impl LanguageId {
    pub(crate) fn checked(id: String) -> LanguageId {
        LanguageId(id)
    }
}

impl std::fmt::Display for LanguageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobSpec {
    pub language: LanguageId,
    pub source: String,
    pub problem: ProblemSpec,
    #[serde(default)]
    pub run_all: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProblemSpec {
    /// A package the server holds: its name and the version (hash) current
    /// when the submission was accepted, which is what it is graded against.
    Named { name: String, hash: String },
    /// Tests given in the request, with checked limits.
    Inline {
        tests: Vec<InlineTest>,
        limits: Limits,
        validator_flags: Vec<String>,
        /// A checker given as source instead of the default validator.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checker: Option<InlineChecker>,
    },
    /// A Judge0 submission: run once on its stdin (`crate::judge0`), not graded.
    Judge0(Box<crate::judge0::model::Job>),
}

/// An inline problem's checker: its source, written as `file` (a plain name
/// whose extension tells the language) and run by `protocol`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InlineChecker {
    pub protocol: CheckerProtocol,
    pub file: String,
    pub source: String,
}

/// How a checker is called and what its exit code means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckerProtocol {
    /// `check input output answer`: exit 0 OK, 1 WA, 2 PE, 3 FAIL (IE), 7 points.
    Testlib,
    /// A Kattis output validator: `validator input answer feedback_dir < output`, exit 42 / 43.
    Kattis,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InlineTest {
    pub name: String,
    pub input: String,
    pub answer: String,
}

/// Limits of inline tests, checked against the server's maxima.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Limits {
    /// Seconds of CPU time.
    pub time_limit: f64,
    pub memory_mib: u64,
    pub output_mib: u64,
}

impl InlineChecker {
    /// `problem` judged by this checker. A testlib checker's points (exit 7) count:
    /// each test is then an equal share of the score 1 and every test runs.
    fn judge(self, problem: Problem) -> Result<Problem, ApiError> {
        let protocol = match self.protocol {
            CheckerProtocol::Testlib => ValidatorProtocol::Testlib,
            CheckerProtocol::Kattis => ValidatorProtocol::Kattis,
        };
        let mut problem = problem
            .with_checker_source(&self.file, self.source.as_bytes(), protocol)
            .map_err(|e| ApiError::internal(format!("internal error: writing the inline checker: {e}")))?;
        if self.protocol == CheckerProtocol::Testlib {
            let share = 1.0 / problem.tests.len().max(1) as f64;
            problem.points = Some(Points { tests: vec![share; problem.tests.len()], groups: Vec::new() });
            problem.scoring = true;
        }
        Ok(problem)
    }
}

/// What the engine needs to grade a job.
pub struct Grading {
    pub problem_name: Option<String>,
    /// The package version's hash, for a named problem.
    pub package: Option<String>,
    pub problem: Arc<Problem>,
    pub submission: Submission,
    pub options: GradeOptions,
    pub tests: usize,
}

impl JobSpec {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a job spec always serializes")
    }

    pub fn from_json(text: &str) -> Result<JobSpec, ApiError> {
        serde_json::from_str(text)
            .map_err(|e| ApiError::internal(format!("internal error: a stored job does not parse: {e}")))
    }

    /// The engine's inputs; a package version is fetched if this node lacks it.
    pub async fn grading(self, app: &App) -> Result<Grading, ApiError> {
        let JobSpec { language, source, problem, run_all } = self;
        let submission = Submission { language: language.0, source: source.into_bytes() };
        match problem {
            ProblemSpec::Named { name, hash } => {
                let loaded = app.packages.load(app.store.as_ref(), &hash).await?;
                let options = GradeOptions { time_limit: Some(loaded.time_limit), memory_mib: None, run_all };
                let tests = loaded.problem.tests.len();
                Ok(Grading {
                    problem_name: Some(name),
                    package: Some(hash),
                    problem: loaded.problem.clone(),
                    submission,
                    options,
                    tests,
                })
            }
            ProblemSpec::Judge0(_) => {
                Err(ApiError::internal("internal error: a Judge0 job reached the grader; workers run those apart"))
            }
            ProblemSpec::Inline { tests, limits, validator_flags, checker } => {
                let tests: Vec<_> =
                    tests.into_iter().map(|t| (t.name, t.input.into_bytes(), t.answer.into_bytes())).collect();
                let count = tests.len();
                let problem = Problem::inline(
                    "inline",
                    tests,
                    limits.time_limit,
                    limits.memory_mib,
                    limits.output_mib,
                    validator_flags,
                )
                // The flags were checked when the submission was accepted.
                .map_err(|e| ApiError::internal(format!("internal error: a stored inline problem: {e}")))?;
                let problem = match checker {
                    Some(checker) => checker.judge(problem)?,
                    None => problem,
                };
                let options = GradeOptions { time_limit: None, memory_mib: None, run_all };
                Ok(Grading {
                    problem_name: None,
                    package: None,
                    problem: Arc::new(problem),
                    submission,
                    options,
                    tests: count,
                })
            }
        }
    }
}
