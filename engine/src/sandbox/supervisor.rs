//! The host side of a running sandbox: reads init's reports, samples the
//! monitor, stops the run at a limit, and reaps init. What it saw becomes an
//! [`Outcome`], which `classify` turns into a result.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::command::Limits;
use super::error::SandboxError;
use super::monitor::Monitor;
use super::mounts::MountPlan;
use super::protocol::{Done, ExecStage, Report, WireReport};

/// Building the root must not take longer than this.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the monitor looks at a running program: every 2 ms, and more
/// often in a run's first milliseconds, so that short programs are measured
/// too (their `ru_maxrss` cannot be used, see `classify`).
fn sample_interval(running_for: Duration) -> Duration {
    (running_for / 4).clamp(Duration::from_micros(250), Duration::from_millis(2))
}

/// When the first sample is due, and with it the monitor. Earlier samples
/// are not needed to measure a short program (init's final report carries
/// its CPU time, and its exit stop its exact peak memory), and attaching
/// and sampling from 250 µs on cost a dynamically linked C program's run
/// 0.19-0.22 ms more CPU (runs with either interleaved one by one). What a program's children
/// or its /tmp hold is seen from then on; neither can grow by more than a
/// few MiB in a millisecond.
const FIRST_SAMPLE: Duration = Duration::from_millis(1);

/// The interval once a run holds over half its memory limit: kernel memory
/// (socket buffers, page tables) can grow by 10 MiB a millisecond.
const NEAR_LIMIT_INTERVAL: Duration = Duration::from_micros(500);

/// The limit the supervisor stopped the run for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    Cpu,
    Wall,
    Memory,
}

/// What the host saw of a run.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The sandbox could not be built or watched.
    pub setup_error: Option<SandboxError>,
    /// The program's side failed before or at exec.
    pub exec_failure: Option<(ExecStage, i32)>,
    /// Init's final report; `None` if the run was stopped or init vanished.
    pub done: Option<Done>,
    pub breach: Option<Breach>,
    /// Highest resident memory (RSS or VmHWM) the monitor sampled, in bytes.
    pub sampled_peak_bytes: u64,
    pub cpu_sampled_ns: u64,
    /// CPU time init's wait4 reported for itself and what it reaped, in µs.
    pub init_usage_us: u64,
    pub wall: Duration,
}

/// Supervises the run of init `pid` until it ends or breaches `limits`.
pub fn supervise(pid: i32, report_read: OwnedFd, limits: &Limits, mounts: &MountPlan) -> Outcome {
    let mut outcome = Outcome::default();
    let mut reports = ReportReader { fd: report_read };
    if let Err(error) = await_ready(&mut reports, mounts) {
        outcome.setup_error = Some(error);
        kill_and_reap(pid);
        return outcome;
    }
    let started = Instant::now();
    // The monitor attaches when the first sample is due (FIRST_SAMPLE): a
    // program done before then costs no monitor at all.
    let mut monitor: Option<Monitor> = None;
    let mut attach = Attach::Pending(None);
    let cpu_limit_ns = limits.cpu.as_nanos() as u64;
    // Until the program has exec'd it shares the judge's memory, whose size
    // says nothing about the program: memory counts from then on.
    let mut running = false;
    let mut near_limit = false;
    loop {
        let mut interval = sample_interval(started.elapsed());
        if let Attach::Pending(None) = attach {
            interval = FIRST_SAMPLE.saturating_sub(started.elapsed());
        }
        if near_limit {
            interval = interval.min(NEAR_LIMIT_INTERVAL);
        }
        match reports.next(interval) {
            Some(Ok(Report::ExecFailed { stage, errno })) => {
                outcome.exec_failure = Some((stage, errno));
                continue;
            }
            // Its exec is not worth a sample: nothing has run yet, and its
            // peak memory is read at its exit in any case.
            Some(Ok(Report::Running)) => {
                running = true;
                continue;
            }
            Some(Ok(Report::Done(done))) => {
                outcome.done = Some(done);
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) => break,
            None if reports.closed() => break,
            None => {}
        }
        if let Attach::Pending(first_try) = attach {
            match attach_monitor(pid, first_try.unwrap_or_else(Instant::now)) {
                Ok(Some(m)) => {
                    monitor = Some(m);
                    attach = Attach::Done;
                }
                Ok(None) => attach = Attach::Done,
                Err(AttachError::NotYet(first)) => attach = Attach::Pending(Some(first)),
                Err(AttachError::Failed(e)) => {
                    outcome.setup_error = Some(SandboxError::Io { what: "attaching the monitor".into(), source: e });
                    kill_and_reap(pid);
                    return outcome;
                }
            }
        }
        let mut s = monitor.as_ref().map(Monitor::sample).unwrap_or_default();
        if !running {
            (s.rss_bytes, s.hwm_bytes) = (0, 0);
        }
        outcome.cpu_sampled_ns = outcome.cpu_sampled_ns.max(s.cpu_ns);
        outcome.sampled_peak_bytes = outcome.sampled_peak_bytes.max(s.rss_bytes).max(s.hwm_bytes);
        near_limit = s.rss_bytes.max(s.hwm_bytes) > limits.memory / 2;
        if let (true, Some(m)) = (near_limit, &monitor) {
            m.near_limit();
        }
        outcome.breach = if s.cpu_ns > cpu_limit_ns {
            Some(Breach::Cpu)
        } else if s.rss_bytes.max(s.hwm_bytes) > limits.memory {
            Some(Breach::Memory)
        } else if started.elapsed() > limits.wall {
            Some(Breach::Wall)
        } else {
            None
        };
        if outcome.breach.is_some() {
            break;
        }
    }
    outcome.wall = started.elapsed();
    outcome.init_usage_us = if outcome.done.is_some() { reap(pid) } else { kill_and_reap(pid) };
    outcome
}

/// Waits for init to report its root built, or why it could not build it.
fn await_ready(reports: &mut ReportReader, mounts: &MountPlan) -> Result<(), SandboxError> {
    let setup_started = Instant::now();
    match reports.next(SETUP_TIMEOUT) {
        Some(Ok(Report::Ready)) => Ok(()),
        Some(Ok(Report::SetupFailed { step, errno })) => Err(SandboxError::setup_failed(step, errno, mounts)),
        Some(Ok(other)) => Err(SandboxError::UnexpectedReport(format!("{other:?}"))),
        Some(Err(e)) => Err(e),
        None if setup_started.elapsed() >= SETUP_TIMEOUT => Err(SandboxError::SetupTimeout(SETUP_TIMEOUT)),
        None => Err(SandboxError::SetupDied("init")),
    }
}

/// Whether the monitor is attached yet; `Pending` holds the first try.
#[derive(Clone, Copy)]
enum Attach {
    Pending(Option<Instant>),
    Done,
}

enum AttachError {
    /// Init is alive but its procfs cannot be opened yet; try again later.
    NotYet(Instant),
    Failed(std::io::Error),
}

/// Attaches the monitor to init's procfs. A program that ends early can
/// take init with it before the host looks (a dead init has no root to
/// open); then there is nothing left to sample, init's final report is
/// already in the pipe, and `None` is returned.
fn attach_monitor(pid: i32, first_try: Instant) -> Result<Option<Monitor>, AttachError> {
    // Covers init being between dropping its fs and becoming a zombie.
    const PATIENCE: Duration = Duration::from_millis(100);
    match Monitor::attach(pid) {
        Ok(m) => Ok(Some(m)),
        Err(_) if init_exited(pid) => Ok(None),
        Err(e) if first_try.elapsed() >= PATIENCE => Err(AttachError::Failed(e)),
        Err(_) => Err(AttachError::NotYet(first_try)),
    }
}

/// Whether init has exited, without reaping it.
fn init_exited(pid: i32) -> bool {
    // SAFETY: an all-zero siginfo_t is a valid value of this plain C struct.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let options = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: waitid writes only into `info`; pid is our unreaped child.
    let rc = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, options) };
    // SAFETY: waitid succeeded, so `info` holds a SIGCHLD siginfo (or zeroes).
    rc == 0 && unsafe { info.si_pid() } == pid
}

/// Reads fixed-size reports from init, with a timeout per read.
struct ReportReader {
    fd: OwnedFd,
}

impl ReportReader {
    /// `None` on timeout or end of stream (see `closed`).
    fn next(&mut self, timeout: Duration) -> Option<Result<Report, SandboxError>> {
        let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let timeout = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: ppoll reads one valid pollfd and a valid timespec.
        let ready = unsafe { libc::ppoll(&mut pfd, 1, &timeout, std::ptr::null()) };
        if ready <= 0 {
            return None;
        }
        let mut wire = WireReport::default();
        let buf = wire.as_bytes_mut();
        // SAFETY: read writes at most `buf.len()` bytes into `buf`.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            n if n as usize == WireReport::SIZE => Some(wire.decode().map_err(SandboxError::from)),
            0 => None,
            n if n < 0 => Some(Err(SandboxError::ReportPipe(std::io::Error::last_os_error()))),
            _ => Some(Err(SandboxError::ReportPipe(std::io::Error::other("short report from sandbox init")))),
        }
    }

    fn closed(&self) -> bool {
        let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: poll reads and writes one valid pollfd.
        let ready = unsafe { libc::poll(&mut pfd, 1, 0) };
        ready > 0 && pfd.revents & libc::POLLHUP != 0 && pfd.revents & libc::POLLIN == 0
    }
}

/// Killing init ends the whole PID namespace. Returns init's CPU usage
/// (itself plus what it had reaped) in µs.
pub fn kill_and_reap(pid: i32) -> u64 {
    // SAFETY: kill has no memory effects; pid is our own child, not yet reaped.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    reap(pid)
}

fn reap(pid: i32) -> u64 {
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 writes only into `status` and `usage`; pid is our child.
        let rc = unsafe { libc::wait4(pid, &mut status, libc::__WALL, &mut usage) };
        if rc >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
    let micros = |t: libc::timeval| (t.tv_sec * 1_000_000 + t.tv_usec) as u64;
    micros(usage.ru_utime) + micros(usage.ru_stime)
}
