//! `/healthz` follows the sandbox after the self-check too: a grading whose
//! sandboxes could not start (setup failed, out of descriptors) turns it
//! 503 with the reason; the next grading that ran turns it back to 200.

use engine::grade::{GradeError, GradeResult};
use engine::Verdict;
use tracing::{error, info};

use super::{App, Health};

/// Phrases of the sandbox's own start failures (`engine::sandbox::SandboxError`,
/// `engine::scratch`), as opposed to a program's or a checker's.
const START_FAILURES: [&str; 7] = [
    "sandbox setup failed",
    "sandbox setup timed out",
    "exited during setup",
    "mounting tmpfs",
    "EMFILE",
    "ENFILE",
    "Too many open files",
];

fn is_start_failure(message: &str) -> bool {
    START_FAILURES.iter().any(|phrase| message.contains(phrase))
}

/// Why this grading's sandboxes could not start, if that is what happened.
pub fn start_failure(result: &Result<GradeResult, GradeError>) -> Option<String> {
    match result {
        Err(GradeError::Internal(message)) if is_start_failure(message) => Some(message.clone()),
        Err(_) => None,
        Ok(result) if result.verdict == Verdict::IE => result
            .tests
            .iter()
            .filter_map(|test| test.feedback.as_deref())
            .chain(std::iter::once(result.compile.output.as_str()))
            .find(|message| is_start_failure(message))
            .map(str::to_string),
        Ok(_) => None,
    }
}

/// Records what a finished grading says about the sandbox.
pub fn observe(app: &App, result: &Result<GradeResult, GradeError>) {
    let current = app.health();
    match (start_failure(result), &current) {
        // The self-check's own verdict (pending or failed) stands.
        (_, Health::Pending | Health::Failed(_)) => {}
        (Some(reason), _) => {
            if !matches!(&current, Health::Failing(previous) if *previous == reason) {
                error!("sandboxes cannot be started; /healthz answers 503 until a grading runs: {reason}");
            }
            app.set_health(Health::Failing(reason));
        }
        (None, Health::Failing(_)) if result.as_ref().is_ok_and(|r| r.verdict != Verdict::IE) => {
            info!("a grading ran its sandboxes again; /healthz answers 200");
            app.set_health(Health::Ok);
        }
        (None, _) => {}
    }
}
