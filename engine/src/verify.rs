//! Checking a problem package against its own submissions, as problemtools'
//! `verifyproblem` does: each `submissions/<kind>/` folder promises verdicts, and a
//! package that gives no time limit gets one derived from its accepted submissions.
//! The CLI (`judge verify`) and the server use this same code.

use std::path::{Path, PathBuf};

use crate::grade::{GradeError, GradeOptions, GradeResult, Grader, Submission};
use crate::problem::{Problem, ProblemError};
use crate::Verdict;

/// Time limit (seconds) the accepted submissions run under while the real limit is
/// being derived: generous, so a slow accepted submission is measured, not cut off.
const DERIVATION_TIME_LIMIT: f64 = 10.0;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{problem}: listing submissions: {source}")]
    Submissions { problem: String, source: ProblemError },
    /// The file is read beneath the package root: its error names the file already.
    #[error("{source}")]
    Read { file: PathBuf, source: ProblemError },
    #[error("{}: {source}", file.display())]
    Grade { file: PathBuf, source: GradeError },
    #[error("{problem}: {} got {verdict} while deriving the time limit", file.display())]
    AcceptedRejected { problem: String, file: PathBuf, verdict: Verdict },
}

/// The verdicts a `submissions/<kind>/` folder allows, or `None` for a folder that
/// promises nothing (e.g. `partially_accepted`): those are graded and reported only.
pub fn expected_verdicts(kind: &str) -> Option<&'static [Verdict]> {
    Some(match kind {
        "accepted" => &[Verdict::AC],
        "wrong_answer" => &[Verdict::WA],
        "time_limit_exceeded" => &[Verdict::TLE],
        // Kattis reports a memory overrun as a run-time error, so packages file
        // memory hogs here too.
        "run_time_error" => &[Verdict::RE, Verdict::MLE],
        "memory_limit_exceeded" => &[Verdict::MLE],
        "output_limit_exceeded" => &[Verdict::OLE],
        "compile_error" => &[Verdict::CE],
        // Polygon's `rejected` solutions: anything but accepted (and not the judge's fault).
        "not_accepted" => &[Verdict::WA, Verdict::TLE, Verdict::MLE, Verdict::OLE, Verdict::RE, Verdict::CE],
        _ => return None,
    })
}

/// Whether `verdict` is one a `submissions/<kind>/` folder allows (`true` for folders
/// that promise nothing).
pub fn verdict_matches(kind: &str, verdict: Verdict) -> bool {
    expected_verdicts(kind).is_none_or(|allowed| allowed.contains(&verdict))
}

/// problemtools' rule: the slowest accepted run times the package's time multiplier,
/// rounded up to whole seconds, and at least one second.
pub fn derive_time_limit(slowest_accepted_ms: u64, time_multiplier: f64) -> f64 {
    ((slowest_accepted_ms as f64 / 1000.0) * time_multiplier).ceil().max(1.0)
}

/// Hooks for showing what verification is doing; every method does nothing by default.
pub trait Observer: Sync {
    /// The package gave no time limit; this one was derived.
    fn time_limit_derived(&self, _problem: &Problem, _seconds: f64) {}
    /// A submission was not graded (no known or available language).
    fn skipped(&self, _file: &Path, _reason: &str) {}
    /// A submission is about to be graded on `tests` tests.
    fn grading(&self, _file: &Path, _tests: usize) {}
    /// `done` of `total` tests of the submission being graded have run.
    fn progress(&self, _done: usize, _total: usize) {}
    /// The submission being graded is done.
    fn graded(&self, _file: &Path) {}
}

/// An observer that shows nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// One graded submission and whether its verdict is one its folder allows.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The folder under `submissions/`, e.g. "accepted".
    pub kind: String,
    pub file: PathBuf,
    pub expected: Option<&'static [Verdict]>,
    pub result: GradeResult,
    pub ok: bool,
}

/// The outcome of verifying one package.
#[derive(Clone, Debug)]
pub struct Report {
    pub problem: String,
    /// Whether the problem is scored (so a score is worth showing).
    pub scoring: bool,
    /// The time limit the submissions ran under (seconds).
    pub time_limit: f64,
    /// Whether `time_limit` was derived rather than given by the package.
    pub derived: bool,
    pub checks: Vec<Checked>,
}

impl Report {
    /// Submissions whose folder promises a verdict.
    pub fn checked(&self) -> usize {
        self.checks.iter().filter(|c| c.expected.is_some()).count()
    }

    /// Submissions whose verdict their folder does not allow.
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.ok).count()
    }
}

/// Grades every submission of `problem` and checks each verdict against its folder.
/// Without a package time limit, one is derived first from the accepted submissions;
/// an accepted submission that fails then is an error.
pub fn verify_problem(grader: &Grader, problem: &Problem, observer: &dyn Observer) -> Result<Report, VerifyError> {
    let submissions =
        problem.submissions().map_err(|source| VerifyError::Submissions { problem: problem.name.clone(), source })?;
    let runnable: Vec<(String, PathBuf, String)> = submissions
        .into_iter()
        .filter_map(|(kind, file)| match language_of(grader, &file) {
            Ok(language) => Some((kind, file, language)),
            Err(reason) => {
                observer.skipped(&file, &reason);
                None
            }
        })
        .collect();

    let mut problem = problem.clone();
    let derived = problem.time_limit.is_none();
    if derived {
        let limit = time_limit_from_accepted(grader, &problem, &runnable, observer)?;
        observer.time_limit_derived(&problem, limit);
        problem.time_limit = Some(limit);
    }
    let mut checks = Vec::new();
    for (kind, file, language) in runnable {
        let result = grade_file(grader, &problem, &file, &language, &GradeOptions::default(), observer)?;
        let expected = expected_verdicts(&kind);
        let ok = verdict_matches(&kind, result.verdict);
        checks.push(Checked { kind, file, expected, result, ok });
    }
    Ok(Report {
        problem: problem.name.clone(),
        scoring: problem.scoring,
        time_limit: problem.time_limit.unwrap_or_default(),
        derived,
        checks,
    })
}

/// The language id of a submission file, if it is known and available here.
fn language_of(grader: &Grader, file: &Path) -> Result<String, String> {
    let id = grader.languages.id_for_file(&file.display().to_string())?;
    grader.language(&id).map_err(|e| e.to_string())?;
    Ok(id)
}

fn grade_file(
    grader: &Grader,
    problem: &Problem,
    file: &Path,
    language: &str,
    options: &GradeOptions,
    observer: &dyn Observer,
) -> Result<GradeResult, VerifyError> {
    let source =
        problem.read_package_file(file).map_err(|source| VerifyError::Read { file: file.to_path_buf(), source })?;
    observer.grading(file, problem.tests.len());
    let progress = |done: usize, total: usize| observer.progress(done, total);
    let submission = Submission { language: language.to_string(), source };
    let result = grader.grade(problem, &submission, options, &progress);
    observer.graded(file);
    result.map_err(|source| VerifyError::Grade { file: file.to_path_buf(), source })
}

/// Runs the accepted submissions under a generous limit and applies [`derive_time_limit`].
fn time_limit_from_accepted(
    grader: &Grader,
    problem: &Problem,
    runnable: &[(String, PathBuf, String)],
    observer: &dyn Observer,
) -> Result<f64, VerifyError> {
    let options = GradeOptions { time_limit: Some(DERIVATION_TIME_LIMIT), ..Default::default() };
    let mut slowest_ms = 0;
    for (_, file, language) in runnable.iter().filter(|(kind, _, _)| kind == "accepted") {
        let result = grade_file(grader, problem, file, language, &options, observer)?;
        if result.verdict != Verdict::AC {
            return Err(VerifyError::AcceptedRejected {
                problem: problem.name.clone(),
                file: file.clone(),
                verdict: result.verdict,
            });
        }
        slowest_ms = slowest_ms.max(result.time_ms);
    }
    Ok(derive_time_limit(slowest_ms, problem.time_multiplier))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_promise_their_verdicts() {
        let cases = [
            ("accepted", Verdict::AC),
            ("wrong_answer", Verdict::WA),
            ("time_limit_exceeded", Verdict::TLE),
            ("run_time_error", Verdict::RE),
            ("memory_limit_exceeded", Verdict::MLE),
            ("output_limit_exceeded", Verdict::OLE),
            ("compile_error", Verdict::CE),
        ];
        for (kind, verdict) in cases {
            assert!(verdict_matches(kind, verdict), "{kind}");
            assert!(!verdict_matches(kind, Verdict::IE), "{kind}");
        }
        assert!(!verdict_matches("accepted", Verdict::WA));
        assert!(!verdict_matches("wrong_answer", Verdict::AC));
        assert!(!verdict_matches("time_limit_exceeded", Verdict::RE));
        assert!(!verdict_matches("memory_limit_exceeded", Verdict::RE));
    }

    #[test]
    fn run_time_error_accepts_a_memory_overrun() {
        assert_eq!(expected_verdicts("run_time_error"), Some(&[Verdict::RE, Verdict::MLE][..]));
        assert!(verdict_matches("run_time_error", Verdict::MLE));
        assert!(!verdict_matches("run_time_error", Verdict::TLE));
        assert!(!verdict_matches("run_time_error", Verdict::AC));
    }

    #[test]
    fn unknown_folders_promise_nothing() {
        for kind in ["partially_accepted", "rejected", "brute_force", ""] {
            assert_eq!(expected_verdicts(kind), None, "{kind}");
            assert!(verdict_matches(kind, Verdict::WA) && verdict_matches(kind, Verdict::AC));
        }
    }

    #[test]
    fn derived_time_limit_rounds_up_to_whole_seconds() {
        assert_eq!(derive_time_limit(0, 2.0), 1.0); // no accepted runs: one second
        assert_eq!(derive_time_limit(400, 2.0), 1.0);
        assert_eq!(derive_time_limit(500, 2.0), 1.0);
        assert_eq!(derive_time_limit(501, 2.0), 2.0);
        assert_eq!(derive_time_limit(1234, 2.0), 3.0);
        assert_eq!(derive_time_limit(1000, 3.0), 3.0);
        assert_eq!(derive_time_limit(2100, 1.5), 4.0);
    }
}
