//! The testlib protocol (Codeforces/Polygon checkers and interactors).
//!
//! A checker runs as `check input output answer`, every one a file; an interactor as
//! `interactor input tout answer` with its stdin and stdout connected to the
//! submission, writing `tout` for the checker. Both end with testlib's exit codes:
//! 0 OK, 1 WA, 2 PE (a WA whose feedback says presentation error), 3 FAIL (the
//! package is wrong: an internal error, never the team's WA), 7 partial points. Any
//! other ending (another code, a signal, a limit) is a checker failure too. The
//! feedback is the program's stderr.
//!
//! Partial points (exit 7): stderr starts with a number, optionally after the word
//! `points`, read as the fraction (0 to 1) of the test's points earned; a number
//! outside 0..1 or none at all is a checker failure. The test is then WA, unless the
//! fraction is 1 (AC); a scored problem adds the fraction of the test's points.

use super::custom::ValidatorError;
use super::interactive::{combined_verdict, pipe};
use crate::limits::MIB;
use crate::sandbox::{Bind, Command, RunResult, RunStatus, Stdio};
use crate::scratch::Scratch;
use crate::Verdict;

const OK: i32 = 0;
const WRONG_ANSWER: i32 = 1;
const PRESENTATION_ERROR: i32 = 2;
const FAIL: i32 = 3;
const PARTIAL: i32 = 7;
/// Feedback kept from the checker's stderr.
const FEEDBACK_LIMIT: usize = 16 * 1024;
/// Room for the interactor's `tout`.
const TOUT_ROOM: u64 = 64 * MIB;

/// What a testlib checker or interactor said about one test.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub verdict: Verdict,
    pub feedback: Option<String>,
    /// Exit 7: the fraction of the test's points earned.
    pub partial: Option<f64>,
}

/// The submission's run, the verdict of the exchange, and the interactor's `tout`.
#[derive(Debug)]
pub struct Interaction {
    pub run: RunResult,
    pub checked: Checked,
    pub tout: Vec<u8>,
}

/// Runs a testlib `checker` on one test's input, the team's output and the answer.
pub fn check(checker: Command, input: &[u8], output: &[u8], answer: &[u8]) -> Result<Checked, ValidatorError> {
    let size = input.len() as u64 + output.len() as u64 + answer.len() as u64 + MIB;
    let data = Scratch::new(size).map_err(ValidatorError::Setup)?;
    for (name, bytes) in [("input", input), ("output", output), ("answer", answer)] {
        data.write(name, bytes).map_err(ValidatorError::Setup)?;
    }
    let run = checker
        .args(["/data/input", "/data/output", "/data/answer"])
        .bind(Bind { source: data.path().to_path_buf(), target: "/data".into(), writable: false })
        .stdin(Stdio::Null)
        .stdout(Stdio::Capture)
        .run();
    checked(&run)
}

/// Runs `submission` against a testlib `interactor` on one test.
pub fn interact(
    submission: Command,
    interactor: Command,
    input: &[u8],
    answer: &[u8],
) -> Result<Interaction, ValidatorError> {
    let data = Scratch::new(input.len() as u64 + answer.len() as u64 + TOUT_ROOM).map_err(ValidatorError::Setup)?;
    data.write("input", input).map_err(ValidatorError::Setup)?;
    data.write("answer", answer).map_err(ValidatorError::Setup)?;
    data.subdir("out").map_err(ValidatorError::Setup)?;
    let (to_submission_read, to_submission_write) = pipe()?;
    let (from_submission_read, from_submission_write) = pipe()?;
    let submission = submission.stdin(Stdio::Fd(to_submission_read)).stdout(Stdio::Fd(from_submission_write));
    let interactor = interactor
        .args(["/data/input", "/data/out/tout", "/data/answer"])
        .bind(Bind { source: data.path().to_path_buf(), target: "/data".into(), writable: true })
        .stdin(Stdio::Fd(from_submission_read))
        .stdout(Stdio::Fd(to_submission_write));
    let (run, interactor_run) = std::thread::scope(|scope| {
        let sub = scope.spawn(move || submission.run());
        let interactor_run = interactor.run();
        let run = sub.join().unwrap_or_else(|_| RunResult::internal_error("submission thread panicked"));
        (run, interactor_run)
    });
    let mut checked = match checked(&interactor_run) {
        Ok(checked) => checked,
        // Killed writing to a program that stopped reading: the program's doing.
        Err(_) if interactor_run.signal.as_deref() == Some("SIGPIPE") => Checked {
            verdict: Verdict::WA,
            feedback: Some("the program stopped reading the interactor's output".into()),
            partial: None,
        },
        Err(e) => return Err(e),
    };
    checked.verdict = combined_verdict(&run, checked.verdict);
    if run.status == RunStatus::Ie {
        checked.feedback = run.message.clone();
    }
    let tout = data.read_untrusted("out/tout", TOUT_ROOM).unwrap_or_default();
    Ok(Interaction { run, checked, tout })
}

/// The verdict of a finished checker or interactor run.
fn checked(run: &RunResult) -> Result<Checked, ValidatorError> {
    let mut message = String::from_utf8_lossy(&run.stderr).trim().to_string();
    if message.len() > FEEDBACK_LIMIT {
        let mut end = FEEDBACK_LIMIT;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    let feedback = (!message.is_empty()).then(|| message.clone());
    let failed = |why: &str| ValidatorError::Failed {
        status: run.status,
        exit_code: run.exit_code,
        signal: run.signal.clone(),
        detail: format!(": {why}{}", if message.is_empty() { String::new() } else { format!(": {message}") }),
    };
    match run.exit_code {
        Some(OK) if run.status == RunStatus::Ok => Ok(Checked { verdict: Verdict::AC, feedback, partial: None }),
        Some(WRONG_ANSWER) => Ok(Checked { verdict: Verdict::WA, feedback, partial: None }),
        Some(PRESENTATION_ERROR) => Ok(Checked {
            verdict: Verdict::WA,
            feedback: Some(format!("presentation error{}", feedback.map(|f| format!(": {f}")).unwrap_or_default())),
            partial: None,
        }),
        Some(FAIL) => Err(failed("the checker failed (testlib FAIL)")),
        Some(PARTIAL) => match partial_fraction(&message) {
            Some(f) if f >= 1.0 => Ok(Checked { verdict: Verdict::AC, feedback, partial: None }),
            Some(f) => Ok(Checked { verdict: Verdict::WA, feedback, partial: Some(f) }),
            None => Err(failed("partial points (exit 7) without a fraction 0..1 leading its stderr")),
        },
        _ => Err(failed("not a testlib verdict")),
    }
}

/// The fraction leading a partial-points message: `0.5 ...` or `points 0.5 ...`.
fn partial_fraction(message: &str) -> Option<f64> {
    let mut words = message.split_whitespace();
    let first = words.next()?;
    let number = if first.eq_ignore_ascii_case("points") { words.next()? } else { first };
    let fraction: f64 = number.parse().ok()?;
    (0.0..=1.0).contains(&fraction).then_some(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::exited;

    #[test]
    fn exit_codes_give_testlib_verdicts() {
        let ok = checked(&exited(0, "ok 3 numbers\n")).unwrap();
        assert_eq!(ok, Checked { verdict: Verdict::AC, feedback: Some("ok 3 numbers".into()), partial: None });
        let wa = checked(&exited(1, "wrong answer expected 5, found 6")).unwrap();
        assert_eq!((wa.verdict, wa.feedback.as_deref()), (Verdict::WA, Some("wrong answer expected 5, found 6")));
        let pe = checked(&exited(2, "expected a number")).unwrap();
        assert_eq!((pe.verdict, pe.feedback.as_deref()), (Verdict::WA, Some("presentation error: expected a number")));
    }

    #[test]
    fn fail_and_unknown_endings_are_checker_failures_not_wrong_answers() {
        let fail = checked(&exited(3, "answer file is broken")).unwrap_err().to_string();
        assert!(fail.contains("testlib FAIL") && fail.ends_with("answer file is broken"), "{fail}");
        assert!(checked(&exited(4, "")).is_err());
        assert!(checked(&exited(42, "")).is_err(), "a Kattis accept means nothing here");
        let mut killed = exited(0, "");
        killed.status = RunStatus::Tle;
        killed.exit_code = None;
        killed.signal = Some("SIGKILL".into());
        assert!(checked(&killed).is_err());
    }

    #[test]
    fn partial_points_read_the_leading_fraction() {
        let half = checked(&exited(7, "points 0.5 half of the pairs")).unwrap();
        assert_eq!((half.verdict, half.partial), (Verdict::WA, Some(0.5)));
        assert_eq!(checked(&exited(7, "0.25")).unwrap().partial, Some(0.25));
        assert_eq!(checked(&exited(7, "1 all")).unwrap().verdict, Verdict::AC);
        assert!(checked(&exited(7, "30 points")).is_err(), "out of 0..1");
        assert!(checked(&exited(7, "partially correct")).is_err());
    }
}
