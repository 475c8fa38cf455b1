//! Turns what the supervisor saw of a run into its result: the status, the
//! measured time and memory, and a message for TLE kinds and every IE.
//! Pure: no processes, no clocks, so every verdict is testable by hand.

use super::command::{Limits, RunResult, RunStatus};
use super::error::{Errno, SandboxError};
use super::supervisor::{Breach, Outcome};

/// The result of a run of `program` under `limits` that ended as `outcome`.
/// Output is not looked at here (the caller reads the captures and checks
/// them against the output limit).
pub fn classify(outcome: Outcome, limits: &Limits, program: &str) -> RunResult {
    let mut result = RunResult::internal_error("");
    result.wall_ms = outcome.wall.as_millis() as u64;
    if let Some(error) = outcome.setup_error {
        result.message = Some(error.to_string());
        return result;
    }
    if let Some((stage, errno)) = outcome.exec_failure {
        let error = SandboxError::Exec { program: program.to_string(), stage, errno: Errno(errno) };
        result.message = Some(error.to_string());
        result.exec_errno = Some(errno);
        return result;
    }
    let time_us = match &outcome.done {
        Some(done) => done.cpu_us,
        None => outcome.init_usage_us.max(outcome.cpu_sampled_ns / 1000),
    };
    result.time_us = time_us;
    result.time_ms = time_us / 1000;
    let mut memory = outcome.sampled_peak_bytes / 1024;
    if let Some(done) = &outcome.done {
        // The program's own peak, read by init when the program exited.
        memory = memory.max(done.exit_peak_kb);
        // The program starts from init's memory (the judge's, shared), and
        // its ru_maxrss starts at that memory's peak. Above it, ru_maxrss is
        // the program's own exact peak; at or below it, it says nothing.
        if done.maxrss_kb > done.inherited_peak_kb + 256 {
            memory = memory.max(done.maxrss_kb);
        }
    }
    result.memory_kb = memory;
    result.message = None;
    match &outcome.done {
        Some(done) if libc::WIFEXITED(done.wait_status) => {
            result.exit_code = Some(libc::WEXITSTATUS(done.wait_status));
        }
        Some(done) if libc::WIFSIGNALED(done.wait_status) => {
            result.signal = Some(signal_name(libc::WTERMSIG(done.wait_status)));
        }
        Some(_) => {}
        // The supervisor stopped the run: init and the program were killed.
        None if outcome.breach.is_some() => result.signal = Some("SIGKILL".into()),
        // Init's reports ended with neither a final report nor a limit hit:
        // init died or its pipe broke. The program did nothing to deserve RE.
        None => {
            result.status = RunStatus::Ie;
            result.message = Some(SandboxError::NoFinalReport.to_string());
            return result;
        }
    }
    let signal = result.signal.as_deref();
    let (status, message) = if outcome.breach == Some(Breach::Cpu)
        || time_us > limits.cpu.as_micros() as u64
        || signal == Some("SIGXCPU")
    {
        (RunStatus::Tle, "CPU time limit exceeded")
    } else if outcome.breach == Some(Breach::Wall) {
        (RunStatus::Tle, "wall time limit exceeded")
    } else if outcome.breach == Some(Breach::Memory) || memory * 1024 > limits.memory {
        (RunStatus::Mle, "memory limit exceeded")
    } else if signal == Some("SIGXFSZ") {
        (RunStatus::Ole, "output limit exceeded")
    } else if result.exit_code != Some(0) {
        (RunStatus::Re, "")
    } else {
        (RunStatus::Ok, "")
    };
    result.status = status;
    if !message.is_empty() {
        result.message = Some(message.into());
    }
    result
}

fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("SIG{signal}"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::limits::MIB;
    use crate::sandbox::protocol::{Done, ExecStage};

    fn limits() -> Limits {
        Limits::new(Duration::from_secs(1), 64 * MIB)
    }

    fn exited(code: i32) -> i32 {
        code << 8
    }

    /// A run that ended on its own after 10 ms of CPU with 1 MiB resident.
    fn finished(wait_status: i32) -> Outcome {
        Outcome {
            done: Some(Done { wait_status, cpu_us: 10_000, maxrss_kb: 1024, inherited_peak_kb: 0, exit_peak_kb: 1024 }),
            wall: Duration::from_millis(12),
            ..Outcome::default()
        }
    }

    /// A run the supervisor killed for `breach`.
    fn stopped(breach: Breach) -> Outcome {
        Outcome { breach: Some(breach), init_usage_us: 5_000, wall: Duration::from_millis(40), ..Outcome::default() }
    }

    #[test]
    fn exit_zero_is_ok_with_its_measurements() {
        let r = classify(finished(exited(0)), &limits(), "a.out");
        assert_eq!(r.status, RunStatus::Ok);
        assert_eq!((r.exit_code, r.signal.as_deref(), r.message.as_deref()), (Some(0), None, None));
        assert_eq!((r.time_ms, r.time_us, r.wall_ms, r.memory_kb), (10, 10_000, 12, 1024));
    }

    #[test]
    fn non_zero_exit_is_re() {
        let r = classify(finished(exited(3)), &limits(), "a.out");
        assert_eq!((r.status, r.exit_code), (RunStatus::Re, Some(3)));
    }

    #[test]
    fn death_by_signal_is_re_with_the_signal_named() {
        let r = classify(finished(libc::SIGSEGV), &limits(), "a.out");
        assert_eq!((r.status, r.exit_code, r.signal.as_deref()), (RunStatus::Re, None, Some("SIGSEGV")));
    }

    #[test]
    fn cpu_breach_is_tle() {
        let r = classify(stopped(Breach::Cpu), &limits(), "a.out");
        assert_eq!((r.status, r.signal.as_deref()), (RunStatus::Tle, Some("SIGKILL")));
        assert_eq!(r.message.as_deref(), Some("CPU time limit exceeded"));
    }

    #[test]
    fn cpu_time_over_the_limit_is_tle_even_without_a_breach() {
        let mut outcome = finished(exited(0));
        outcome.done.as_mut().unwrap().cpu_us = 1_000_001;
        assert_eq!(classify(outcome, &limits(), "a.out").status, RunStatus::Tle);
        // The RLIMIT_CPU backstop.
        assert_eq!(classify(finished(libc::SIGXCPU), &limits(), "a.out").status, RunStatus::Tle);
    }

    #[test]
    fn wall_breach_is_tle_saying_wall() {
        let r = classify(stopped(Breach::Wall), &limits(), "a.out");
        assert_eq!(r.status, RunStatus::Tle);
        assert_eq!(r.message.as_deref(), Some("wall time limit exceeded"));
        assert_eq!(r.time_ms, 5);
    }

    #[test]
    fn memory_breach_is_mle() {
        let mut outcome = stopped(Breach::Memory);
        outcome.sampled_peak_bytes = 65 * MIB;
        let r = classify(outcome, &limits(), "a.out");
        assert_eq!((r.status, r.memory_kb), (RunStatus::Mle, 65 * 1024));
    }

    #[test]
    fn a_peak_above_the_limit_seen_only_at_exit_is_mle() {
        let mut outcome = finished(exited(0));
        outcome.done.as_mut().unwrap().exit_peak_kb = 70 * 1024;
        assert_eq!(classify(outcome, &limits(), "a.out").status, RunStatus::Mle);
    }

    #[test]
    fn maxrss_counts_only_above_the_inherited_peak() {
        let mut outcome = finished(exited(0));
        let done = outcome.done.as_mut().unwrap();
        (done.maxrss_kb, done.inherited_peak_kb, done.exit_peak_kb) = (100 * 1024, 100 * 1024, 900);
        let r = classify(outcome, &limits(), "a.out");
        assert_eq!((r.status, r.memory_kb), (RunStatus::Ok, 900));
    }

    #[test]
    fn file_size_signal_is_ole() {
        let r = classify(finished(libc::SIGXFSZ), &limits(), "a.out");
        assert_eq!((r.status, r.message.as_deref()), (RunStatus::Ole, Some("output limit exceeded")));
    }

    #[test]
    fn setup_failure_is_ie_naming_the_step() {
        let outcome = Outcome {
            setup_error: Some(SandboxError::Setup { step: "mount /proc".into(), errno: Errno(libc::EPERM) }),
            ..Outcome::default()
        };
        let r = classify(outcome, &limits(), "a.out");
        assert_eq!(r.status, RunStatus::Ie);
        assert_eq!(
            r.message.as_deref(),
            Some("sandbox setup failed at `mount /proc`: EPERM (Operation not permitted)")
        );
    }

    #[test]
    fn exec_failure_is_ie_with_the_errno() {
        let outcome = Outcome { exec_failure: Some((ExecStage::Exec, libc::ENOENT)), ..Outcome::default() };
        let r = classify(outcome, &limits(), "/box/missing");
        assert_eq!((r.status, r.exec_errno), (RunStatus::Ie, Some(libc::ENOENT)));
        assert_eq!(r.message.as_deref(), Some("cannot run /box/missing: exec: ENOENT (No such file or directory)"));
    }

    #[test]
    fn reports_ending_without_a_final_report_or_breach_are_ie_not_re() {
        let outcome = Outcome { init_usage_us: 2_000, wall: Duration::from_millis(3), ..Outcome::default() };
        let r = classify(outcome, &limits(), "a.out");
        assert_eq!(r.status, RunStatus::Ie, "{r:?}");
        assert_eq!(r.signal, None);
        assert_eq!(r.message.as_deref(), Some("sandbox init ended without its final report"));
    }
}
