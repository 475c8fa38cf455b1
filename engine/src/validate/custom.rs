//! A Kattis output validator run: `validator input answer feedback_dir [flags]`,
//! the team's output on stdin, exit 42 to accept and 43 to reject.
//!
//! Each run gets its own size-capped tmpfs holding that test's input, answer and
//! feedback directory, mounted at `/data` and unmounted as soon as the run ends,
//! so a problem's tests never pile up in one place.

use std::time::Duration;

use crate::limits::MIB;
use crate::sandbox::{Bind, Command, Limits, RunResult, RunStatus, Stdio};
use crate::scratch::Scratch;
use crate::Verdict;

/// Exit codes of Kattis output validators.
const VALIDATOR_ACCEPT: i32 = 42;
const VALIDATOR_REJECT: i32 = 43;
/// A feedback file kept for the result.
const FEEDBACK_LIMIT: u64 = 16 * 1024;
/// Room on a run's tmpfs for the feedback files the validator writes.
const FEEDBACK_ROOM: u64 = 64 * MIB;

#[derive(Debug, thiserror::Error)]
pub enum ValidatorError {
    #[error("preparing the output validator's files: {0}")]
    Setup(std::io::Error),
    #[error("output validator failed ({status:?}, exit {exit_code:?}, signal {signal:?}){detail}")]
    Failed { status: RunStatus, exit_code: Option<i32>, signal: Option<String>, detail: String },
}

/// What the validator said about one test.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    /// AC or WA.
    pub verdict: Verdict,
    /// `judgemessage.txt`, trimmed, when the validator wrote one.
    pub feedback: Option<String>,
}

/// Limits for validators: generous, but bounded, derived from the submission's.
pub fn validator_limits(problem_limits: &Limits) -> Limits {
    let cpu = problem_limits.cpu * 4 + Duration::from_secs(10);
    let mut limits = Limits::new(cpu, 2048 * MIB);
    limits.wall = problem_limits.wall * 2 + Duration::from_secs(20);
    limits.address_space = None;
    limits.processes = 256;
    limits
}

/// Runs `validator` (its program, work dir, binds and limits already set) on
/// one test. `stdin`/`stdout` are the team's output (or, for interactive
/// problems, the pipes to and from the submission).
pub fn run(
    validator: Command,
    input: &[u8],
    answer: &[u8],
    flags: &[String],
    stdin: Stdio,
    stdout: Stdio,
) -> Result<Judgement, ValidatorError> {
    // Dropped (unmounted) when this function returns, whatever happens.
    let data = Scratch::new(input.len() as u64 + answer.len() as u64 + FEEDBACK_ROOM).map_err(ValidatorError::Setup)?;
    data.write("input", input).map_err(ValidatorError::Setup)?;
    data.write("answer", answer).map_err(ValidatorError::Setup)?;
    data.subdir("feedback").map_err(ValidatorError::Setup)?;
    let run = validator
        .args(["/data/input", "/data/answer", "/data/feedback/"])
        .args(flags.iter().cloned())
        .bind(Bind { source: data.path().to_path_buf(), target: "/data".into(), writable: true })
        .stdin(stdin)
        .stdout(stdout)
        .run();
    let feedback = data
        .read_untrusted("feedback/judgemessage.txt", FEEDBACK_LIMIT)
        .map(|b| String::from_utf8_lossy(&b).trim_end().to_string())
        .filter(|s| !s.is_empty());
    judgement(run, feedback)
}

fn judgement(run: RunResult, feedback: Option<String>) -> Result<Judgement, ValidatorError> {
    match run.exit_code {
        Some(VALIDATOR_ACCEPT) => Ok(Judgement { verdict: Verdict::AC, feedback }),
        Some(VALIDATOR_REJECT) => Ok(Judgement { verdict: Verdict::WA, feedback }),
        _ => {
            let detail = feedback.or_else(|| {
                let err = String::from_utf8_lossy(&run.stderr).trim().to_string();
                (!err.is_empty()).then_some(err)
            });
            Err(ValidatorError::Failed {
                status: run.status,
                exit_code: run.exit_code,
                signal: run.signal,
                detail: format!(
                    "{}{}",
                    run.message.map(|m| format!(": {m}")).unwrap_or_default(),
                    detail.map(|d| format!(": {d}")).unwrap_or_default()
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::exited;

    #[test]
    fn exit_codes_give_verdicts_and_anything_else_is_a_validator_failure() {
        assert_eq!(judgement(exited(42, ""), None).unwrap().verdict, Verdict::AC);
        let rejected = judgement(exited(43, ""), Some("line 3".into())).unwrap();
        assert_eq!(rejected, Judgement { verdict: Verdict::WA, feedback: Some("line 3".into()) });
        let failed = judgement(exited(1, "assertion failed\n"), None).unwrap_err().to_string();
        assert!(failed.contains("exit Some(1)") && failed.ends_with(": assertion failed"), "{failed}");
    }
}
