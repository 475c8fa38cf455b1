//! A job as it is stored: what `POST /submit` checked, in typed fields,
//! serialized once into the store and turned into the engine's inputs
//! once by the worker that grades it. The one request-to-job conversion.

use std::sync::Arc;

use engine::grade::{GradeOptions, Submission};
use engine::problem::Problem;
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
    Inline { tests: Vec<InlineTest>, limits: Limits, validator_flags: Vec<String> },
    /// A Judge0 submission: run once on its stdin (`crate::judge0`), not graded.
    Judge0(Box<crate::judge0::model::Job>),
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
            ProblemSpec::Inline { tests, limits, validator_flags } => {
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
