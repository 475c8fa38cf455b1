//! Checking a problem package against its own submissions, as problemtools'
//! `verifyproblem` does: each `submissions/<kind>/` folder promises verdicts, and a
//! package that gives no time limit gets one derived from its accepted submissions.
//! Legacy packages promise one final verdict per folder; 2023-07 packages promise
//! per-test verdicts by folder and `submissions.yaml` ([`expectations`]). A file whose
//! language is unknown, not installed, or Python 2 is skipped with the reason.
//! The CLI (`judge verify`) and the server use this same code.

mod expectations;
mod glob;

use std::path::{Path, PathBuf};

pub use expectations::{Expectations, ExpectationsError, Rule, SpecVerdict};

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
    #[error("{problem}: {source}")]
    Expectations { problem: String, source: ExpectationsError },
    /// The file is read beneath the package root: its error names the file already.
    #[error("{source}")]
    Read { file: PathBuf, source: ProblemError },
    #[error("{}: {source}", file.display())]
    Grade { file: PathBuf, source: GradeError },
}

/// The verdicts a legacy `submissions/<kind>/` folder allows, or `None` for a folder
/// that promises nothing (e.g. `partially_accepted`): those are graded and reported only.
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

/// Whether `verdict` is one a legacy `submissions/<kind>/` folder allows (`true` for
/// folders that promise nothing).
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

/// What a submission's folder (and `submissions.yaml`) promise about it.
#[derive(Clone, Debug, PartialEq)]
pub enum Promise {
    /// Legacy: the final verdict is one of these.
    Verdicts(&'static [Verdict]),
    /// 2023-07: every rule holds.
    Rules(Vec<Rule>),
}

impl Promise {
    /// What the EXPECTED column shows, e.g. "RE/MLE" or "WA" (2023-07: required verdicts).
    pub fn label(&self) -> String {
        match self {
            Promise::Verdicts(v) => v.iter().map(|v| v.as_str()).collect::<Vec<_>>().join("/"),
            Promise::Rules(rules) => rules.iter().map(Rule::label).collect::<Vec<_>>().join("; "),
        }
    }

    /// `Ok` when the graded result keeps the promise, else why not.
    pub fn check(&self, result: &GradeResult) -> Result<(), String> {
        match self {
            Promise::Verdicts(allowed) if allowed.contains(&result.verdict) => Ok(()),
            Promise::Verdicts(_) => Err(format!("got {}", result.verdict)),
            Promise::Rules(rules) => rules.iter().try_for_each(|rule| rule.check(result)),
        }
    }

    /// Whether the submission's run time lower-bounds a derived time limit.
    fn lower_bounds_time_limit(&self, kind: &str) -> bool {
        match self {
            Promise::Verdicts(_) => kind == "accepted",
            Promise::Rules(rules) => {
                rules.iter().any(|r| r.scope.is_none() && r.lower_bounds_time_limit())
                    && !rules.iter().any(|r| r.lower_bounds_time_limit == Some(false))
            }
        }
    }
}

/// One graded submission and whether it kept its folder's promise.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The folder under `submissions/`, e.g. "accepted".
    pub kind: String,
    pub file: PathBuf,
    /// `None` for a folder that promises nothing.
    pub expected: Option<Promise>,
    pub result: GradeResult,
    pub ok: bool,
    /// Why the promise was broken (empty when `ok`).
    pub why: String,
}

/// A submission that was not graded, and why.
#[derive(Clone, Debug)]
pub struct Skipped {
    pub kind: String,
    pub file: PathBuf,
    pub reason: String,
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
    pub skipped: Vec<Skipped>,
}

impl Report {
    /// Submissions whose folder promises a verdict.
    pub fn checked(&self) -> usize {
        self.checks.iter().filter(|c| c.expected.is_some()).count()
    }

    /// Submissions that broke their folder's promise.
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.ok).count()
    }
}

/// A submission that will be graded: its folder, file, language and promise.
struct Runnable {
    kind: String,
    file: PathBuf,
    language: String,
    promise: Option<Promise>,
}

/// Grades every submission of `problem` and checks each against its folder's promise.
/// Without a package time limit, one is derived first from the accepted submissions
/// (2023-07: those whose rules forbid a timeout). A submission that cannot be graded
/// here (language unknown, not installed, Python 2) is skipped, never an error.
pub fn verify_problem(grader: &Grader, problem: &Problem, observer: &dyn Observer) -> Result<Report, VerifyError> {
    let submissions =
        problem.submissions().map_err(|source| VerifyError::Submissions { problem: problem.name.clone(), source })?;
    let legacy = matches!(problem.format_version.as_str(), "legacy" | "legacy-icpc");
    let expectations = match (&problem.dir, legacy) {
        (Some(dir), false) => Expectations::load(&dir.join("submissions"))
            .map_err(|source| VerifyError::Expectations { problem: problem.name.clone(), source })?,
        _ => Expectations::default(),
    };
    let mut runnable = Vec::new();
    let mut skipped = Vec::new();
    for (kind, file) in submissions {
        match language_of(grader, &file) {
            Ok(language) => {
                let promise = if legacy {
                    expected_verdicts(&kind).map(Promise::Verdicts)
                } else {
                    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    Some(expectations.rules_for(&format!("{kind}/{name}")))
                        .filter(|r| !r.is_empty())
                        .map(Promise::Rules)
                };
                runnable.push(Runnable { kind, file, language, promise });
            }
            Err(reason) => {
                observer.skipped(&file, &reason);
                skipped.push(Skipped { kind, file, reason });
            }
        }
    }
    // Per-test promises need every test run, not just those up to the first failure.
    let run_all = !legacy;

    let mut problem = problem.clone();
    let derived = problem.time_limit.is_none();
    if derived {
        let limit = time_limit_from(grader, &problem, &runnable, run_all, observer)?;
        observer.time_limit_derived(&problem, limit);
        problem.time_limit = Some(limit);
    }
    let options = GradeOptions { run_all, ..Default::default() };
    let mut checks = Vec::new();
    for Runnable { kind, file, language, promise } in runnable {
        let result = grade_file(grader, &problem, &file, &language, &options, observer)?;
        let verdict = promise.as_ref().map(|p| p.check(&result)).unwrap_or(Ok(()));
        let (ok, why) = match verdict {
            Ok(()) => (true, String::new()),
            Err(why) => (false, why),
        };
        checks.push(Checked { kind, file, expected: promise, result, ok, why });
    }
    Ok(Report {
        problem: problem.name.clone(),
        scoring: problem.scoring,
        time_limit: problem.time_limit.unwrap_or_default(),
        derived,
        checks,
        skipped,
    })
}

/// The language id of a submission file, if it is known and available here. A Python
/// file whose `#!` line names python2 is Python 2 (problemtools' rule), which no
/// language here runs.
fn language_of(grader: &Grader, file: &Path) -> Result<String, String> {
    if names_python2(file) {
        return Err("Python 2 (its #! line names python2); no language here runs Python 2".into());
    }
    let id = grader.languages.id_for_file(&file.display().to_string())?;
    grader.language(&id).map_err(|e| e.to_string())?;
    Ok(id)
}

/// Whether `file` is a `.py` file whose first line is a `#!` naming python2.
fn names_python2(file: &Path) -> bool {
    use std::io::{BufRead, Read};
    if file.extension().is_none_or(|e| e != "py") {
        return false;
    }
    let Ok(handle) = std::fs::File::open(file) else { return false };
    let mut first = Vec::new();
    // Only the first line matters; a huge file without newlines is read no further than this.
    let _ = std::io::BufReader::new(handle.take(4096)).read_until(b'\n', &mut first);
    let line = String::from_utf8_lossy(&first);
    line.starts_with("#!") && line.split(|c: char| !c.is_ascii_alphanumeric()).any(|word| word == "python2")
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
    let submission = Submission { language: language.to_string(), source };
    grade_observed(grader, problem, file, &submission, options, observer)
        .map_err(|source| VerifyError::Grade { file: file.to_path_buf(), source })
}

/// Grades `submission` (read from `file`), telling `observer` how it goes;
/// also for `judge grade`, whose observer is a progress bar.
pub fn grade_observed(
    grader: &Grader,
    problem: &Problem,
    file: &Path,
    submission: &Submission,
    options: &GradeOptions,
    observer: &dyn Observer,
) -> Result<GradeResult, GradeError> {
    observer.grading(file, problem.tests.len());
    let progress = |done: usize, total: usize| observer.progress(done, total);
    let result = grader.grade(problem, submission, options, &progress);
    observer.graded(file);
    result
}

/// Runs the submissions that lower-bound the time limit under a generous limit and
/// applies [`derive_time_limit`] to the slowest. One that fails is left out here (as
/// problemtools does); its own check afterwards reports it.
fn time_limit_from(
    grader: &Grader,
    problem: &Problem,
    runnable: &[Runnable],
    run_all: bool,
    observer: &dyn Observer,
) -> Result<f64, VerifyError> {
    let options = GradeOptions { time_limit: Some(DERIVATION_TIME_LIMIT), run_all, ..Default::default() };
    let mut slowest_ms = 0;
    for sub in runnable {
        let Some(promise) = &sub.promise else { continue };
        if !promise.lower_bounds_time_limit(&sub.kind) {
            continue;
        }
        let result = grade_file(grader, problem, &sub.file, &sub.language, &options, observer)?;
        if promise.check(&result).is_ok() {
            slowest_ms = slowest_ms.max(result.time_ms);
        }
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

    #[test]
    fn a_python2_shebang_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("a.py", "#!/usr/bin/env python2\nprint 1\n", true),
            ("b.py", "#!/usr/bin/python2.7\n", true),
            ("c.py", "#!/usr/bin/env python3\n", false),
            ("d.py", "print(1)  # python2\n", false),
            ("e.c", "#!python2\n", false),
            ("f.py", "#! /usr/bin/python2\n", true),
        ];
        for (name, text, want) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            assert_eq!(names_python2(&path), want, "{name}");
        }
        assert!(!names_python2(&dir.path().join("missing.py")));
    }

    #[test]
    fn legacy_promises_are_final_verdicts() {
        let promise = Promise::Verdicts(expected_verdicts("run_time_error").unwrap());
        assert_eq!(promise.label(), "RE/MLE");
        assert!(promise.lower_bounds_time_limit("accepted"));
        assert!(!promise.lower_bounds_time_limit("run_time_error"));
    }
}
