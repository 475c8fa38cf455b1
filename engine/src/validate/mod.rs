//! Output validation: the default token compare (`default`), a package's own
//! Kattis output validator run after the submission (`custom`), and the same
//! validator talking to the submission while it runs (`interactive`); testlib
//! checkers and interactors (`testlib`).

pub mod custom;
mod default;
pub mod interactive;
pub mod testlib;

pub use custom::ValidatorError;
pub use default::{compare, parse_float, Flags, Outcome, SWITCH_FLAGS, TOLERANCE_FLAGS};

#[cfg(test)]
mod tests {
    use crate::sandbox::{RunResult, RunStatus};

    /// A validator run that exited with `code`, having written `stderr`.
    pub(crate) fn exited(code: i32, stderr: &str) -> RunResult {
        let mut run = RunResult::internal_error("");
        run.status = if code == 0 { RunStatus::Ok } else { RunStatus::Re };
        run.message = None;
        run.exit_code = Some(code);
        run.stderr = stderr.as_bytes().to_vec();
        run
    }
}
