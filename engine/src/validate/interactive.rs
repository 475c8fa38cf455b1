//! Interactive problems: the output validator's stdout feeds the submission's
//! stdin and the other way round; both run at once, each in its own sandbox.

use std::os::fd::OwnedFd;

use super::custom::{self, Judgement, ValidatorError};
use crate::sandbox::{Command, RunResult, RunStatus, Stdio};
use crate::Verdict;

/// The submission's run and the verdict of the exchange.
#[derive(Debug)]
pub struct Exchange {
    pub run: RunResult,
    pub verdict: Verdict,
    pub feedback: Option<String>,
}

pub(crate) fn pipe() -> Result<(OwnedFd, OwnedFd), ValidatorError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| ValidatorError::Setup(std::io::Error::other(format!("creating a pipe: {e}"))))
}

/// Runs `submission` against `validator` (both fully set up but for their
/// stdin and stdout) on one test.
pub fn run(
    submission: Command,
    validator: Command,
    input: &[u8],
    answer: &[u8],
    flags: &[String],
) -> Result<Exchange, ValidatorError> {
    let (to_submission_read, to_submission_write) = pipe()?;
    let (from_submission_read, from_submission_write) = pipe()?;
    let submission = submission.stdin(Stdio::Fd(to_submission_read)).stdout(Stdio::Fd(from_submission_write));
    let (run, judged) = std::thread::scope(|scope| {
        let sub = scope.spawn(move || submission.run());
        let judged = custom::run(
            validator,
            input,
            answer,
            flags,
            Stdio::Fd(from_submission_read),
            Stdio::Fd(to_submission_write),
        );
        let run = sub.join().unwrap_or_else(|_| RunResult::internal_error("submission thread panicked"));
        (run, judged)
    });
    let Judgement { verdict: validator_verdict, feedback } = judged?;
    let verdict = combined_verdict(&run, validator_verdict);
    let feedback = if run.status == RunStatus::Ie { run.message.clone() } else { feedback };
    Ok(Exchange { run, verdict, feedback })
}

/// The submission's own failures win over a WA that follows from them,
/// except a broken pipe, which follows from the validator hanging up.
pub(crate) fn combined_verdict(run: &RunResult, validator_verdict: Verdict) -> Verdict {
    match run.status {
        RunStatus::Tle => Verdict::TLE,
        RunStatus::Mle => Verdict::MLE,
        RunStatus::Ole => Verdict::OLE,
        RunStatus::Ie => Verdict::IE,
        RunStatus::Re if run.signal.as_deref() == Some("SIGPIPE") && validator_verdict == Verdict::WA => Verdict::WA,
        RunStatus::Re => Verdict::RE,
        RunStatus::Ok => validator_verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(status: RunStatus, signal: Option<&str>) -> RunResult {
        let mut run = RunResult::internal_error("");
        run.status = status;
        run.signal = signal.map(String::from);
        run
    }

    #[test]
    fn the_submissions_failure_wins_unless_it_is_a_broken_pipe_after_a_rejection() {
        assert_eq!(combined_verdict(&ended(RunStatus::Ok, None), Verdict::WA), Verdict::WA);
        assert_eq!(combined_verdict(&ended(RunStatus::Tle, None), Verdict::WA), Verdict::TLE);
        assert_eq!(combined_verdict(&ended(RunStatus::Re, Some("SIGPIPE")), Verdict::WA), Verdict::WA);
        assert_eq!(combined_verdict(&ended(RunStatus::Re, Some("SIGPIPE")), Verdict::AC), Verdict::RE);
        assert_eq!(combined_verdict(&ended(RunStatus::Re, Some("SIGSEGV")), Verdict::WA), Verdict::RE);
    }
}
