//! Why a sandboxed run could not be carried out. Every one of these is the
//! judge's failure (an IE result), never the program's.

use std::fmt;
use std::time::Duration;

use super::mounts::MountPlan;
use super::protocol::{ExecStage, ProtocolError, SetupStep};
use super::slot::SlotError;

/// An errno, shown as its name and description: `EPERM (Operation not permitted)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match nix::errno::Errno::from_raw(self.0) {
            nix::errno::Errno::UnknownErrno => write!(f, "errno {}", self.0),
            known => write!(f, "{known:?} ({})", known.desc()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("invalid limits: {0}")]
    Limits(String),
    #[error("empty program name")]
    EmptyProgram,
    #[error("argument, variable or path contains NUL: {0:?}")]
    Nul(String),
    #[error("too many binds ({count}); at most {max}")]
    TooManyBinds { count: usize, max: usize },
    /// Preparing a bind; the message names the path.
    #[error("{0}")]
    Bind(String),
    #[error("planning the sandbox root: {0}")]
    Skeleton(String),
    /// Compiling the seccomp filter; the message says so.
    #[error("{0}")]
    Seccomp(String),
    #[error(transparent)]
    Slot(#[from] SlotError),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("sandbox setup failed at `{step}`: {errno}")]
    Setup { step: String, errno: Errno },
    #[error("sandbox setup timed out after {0:?}")]
    SetupTimeout(Duration),
    #[error("sandbox {0} exited during setup")]
    SetupDied(&'static str),
    #[error("sandbox init sent {0}")]
    Protocol(#[from] ProtocolError),
    #[error("sandbox init sent {0:?} during setup")]
    UnexpectedReport(String),
    #[error("reading sandbox report: {0}")]
    ReportPipe(std::io::Error),
    #[error("cannot run {program}: {stage}: {errno}")]
    Exec { program: String, stage: ExecStage, errno: Errno },
    #[error("sandbox init ended without its final report")]
    NoFinalReport,
}

impl SandboxError {
    /// Setup failed at `step` of init (or of the skeleton helper) running `mounts`.
    pub fn setup_failed(step: SetupStep, errno: i32, mounts: &MountPlan) -> SandboxError {
        let step = match step {
            SetupStep::Mount(index) => mounts.describe(index).to_string(),
            SetupStep::Init(step) => step.describe().to_string(),
        };
        SandboxError::Setup { step, errno: Errno(errno) }
    }

    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SandboxError {
        let what = what.into();
        move |source| SandboxError::Io { what, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_errors_name_the_step_and_the_errno() {
        let e = SandboxError::Setup { step: "mount /proc".into(), errno: Errno(libc::EPERM) };
        assert_eq!(e.to_string(), "sandbox setup failed at `mount /proc`: EPERM (Operation not permitted)");
        assert_eq!(Errno(100_000).to_string(), "errno 100000");
    }
}
