//! The sandbox's public face: a `std::process::Command`-like builder, the
//! limits, and the measured result; plus the host side of a run (clone,
//! supervise, classify).

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::child::{self, ChildPlan, Report};
use super::input::Input;
use super::monitor::{Monitor, Sample};
pub use super::mounts::Bind;
use super::mounts::{DetachedBind, MountPlan};
use super::seccomp;
use super::slot::Slot;
use super::slot::UID_BASE;
use super::warm;

use crate::limits::MIB;
/// How often the monitor looks at a running program: every 2 ms, and more
/// often in a run's first milliseconds, so that short programs are measured
/// too (their `ru_maxrss` cannot be used, see `classify`).
fn sample_interval(running_for: Duration) -> Duration {
    (running_for / 4).clamp(Duration::from_micros(250), Duration::from_millis(2))
}
/// The interval once a run holds over half its memory limit: kernel memory
/// (socket buffers, page tables) can grow by 10 MiB a millisecond.
const NEAR_LIMIT_INTERVAL: Duration = Duration::from_micros(500);
/// Building the root must not take longer than this.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Where the work directory appears inside the sandbox.
pub const WORKDIR: &str = "/box";

#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// User + system CPU time of all processes of the run.
    pub cpu: Duration,
    /// Elapsed time.
    pub wall: Duration,
    /// Peak resident memory of the run, in bytes.
    pub memory: u64,
    /// `RLIMIT_AS` backstop; `None` for runtimes that reserve much address
    /// space up front (JVMs, Go, V8).
    pub address_space: Option<u64>,
    /// Bytes each of stdout and stderr (and any file) may reach.
    pub output: u64,
    /// `RLIMIT_NPROC`: processes and threads of the sandbox's uid.
    pub processes: u64,
    /// Size of the writable `/tmp`.
    pub tmpfs: u64,
    /// `RLIMIT_NOFILE`.
    pub open_files: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(Duration::from_secs(1), 256 * MIB)
    }
}

impl Limits {
    /// Limits derived the usual way from a CPU limit and a memory limit.
    pub fn new(cpu: Duration, memory: u64) -> Limits {
        Limits {
            cpu,
            wall: cpu * 3 + Duration::from_secs(1),
            memory,
            address_space: Some(Self::default_address_space(memory)),
            output: 64 * MIB,
            processes: 64,
            tmpfs: 64 * MIB,
            open_files: 256,
        }
    }

    /// The address-space backstop for a memory limit: room for untouched
    /// reservations, while the monitor enforces what is really resident.
    pub fn default_address_space(memory: u64) -> u64 {
        memory.saturating_mul(2).saturating_add(512 * MIB)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.cpu.is_zero() || self.wall.is_zero() {
            return Err("time limits must be positive".into());
        }
        if self.memory < MIB {
            return Err(format!("memory limit {} bytes is below 1 MiB", self.memory));
        }
        if self.processes == 0 {
            return Err("the process limit must be at least 1".into());
        }
        Ok(())
    }
}

/// Where a standard stream of the program goes.
#[derive(Debug)]
pub enum Stdio {
    Null,
    /// stdin only: sealed input bytes.
    Input(Input),
    /// stdout/stderr only: captured up to the output limit.
    Capture,
    /// An fd of the caller's (e.g. a pipe end for interactive problems).
    Fd(OwnedFd),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RunStatus {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "TLE")]
    Tle,
    #[serde(rename = "MLE")]
    Mle,
    #[serde(rename = "OLE")]
    Ole,
    #[serde(rename = "RE")]
    Re,
    #[serde(rename = "IE")]
    Ie,
}

/// A measured run. `message` explains TLE kinds and every IE.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    pub status: RunStatus,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    pub time_ms: u64,
    pub wall_ms: u64,
    pub memory_kb: u64,
    #[serde(skip)]
    pub stdout: Vec<u8>,
    #[serde(skip)]
    pub stderr: Vec<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// errno of a failed exec of the program (e.g. ENOENT), when that is what went wrong.
    #[serde(skip)]
    pub exec_errno: Option<i32>,
    /// CPU time in microseconds, for callers that need more than ms.
    #[serde(skip)]
    pub time_us: u64,
}

impl RunResult {
    pub fn internal_error(message: impl Into<String>) -> RunResult {
        RunResult {
            status: RunStatus::Ie,
            exit_code: None,
            signal: None,
            time_ms: 0,
            wall_ms: 0,
            memory_kb: 0,
            stdout: Vec::new(),
            stderr: Vec::new(),
            message: Some(message.into()),
            exec_errno: None,
            time_us: 0,
        }
    }
}

/// One program to run in a fresh sandbox.
#[derive(Debug)]
pub struct Command {
    argv: Vec<String>,
    env: Vec<(String, String)>,
    binds: Vec<Bind>,
    cwd: PathBuf,
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
    limits: Limits,
    uid: Option<u32>,
}

impl Command {
    pub fn new(program: impl Into<String>) -> Command {
        Command {
            argv: vec![program.into()],
            env: vec![
                ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
                ("HOME".into(), "/tmp".into()),
                ("LANG".into(), "C.UTF-8".into()),
            ],
            binds: Vec::new(),
            cwd: PathBuf::from("/"),
            stdin: Stdio::Null,
            stdout: Stdio::Capture,
            stderr: Stdio::Capture,
            limits: Limits::default(),
            uid: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Command {
        self.argv.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Command {
        self.argv.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets (or replaces) one environment variable; the environment holds
    /// nothing of the host's.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Command {
        let key = key.into();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.into()));
        self
    }

    pub fn bind_ro(mut self, source: impl Into<PathBuf>, target: impl Into<PathBuf>) -> Command {
        self.binds.push(Bind { source: source.into(), target: target.into(), writable: false });
        self
    }

    pub fn bind(mut self, bind: Bind) -> Command {
        self.binds.push(bind);
        self
    }

    /// Shows host directory `dir` at `/box` and starts the program there.
    pub fn workdir(mut self, dir: impl Into<PathBuf>, writable: bool) -> Command {
        self.binds.push(Bind { source: dir.into(), target: WORKDIR.into(), writable });
        self.cwd = PathBuf::from(WORKDIR);
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Command {
        self.cwd = dir.into();
        self
    }

    pub fn stdin(mut self, stdin: Stdio) -> Command {
        self.stdin = stdin;
        self
    }

    pub fn stdin_input(self, input: &Input) -> Command {
        self.stdin(Stdio::Input(input.clone()))
    }

    pub fn stdout(mut self, stdout: Stdio) -> Command {
        self.stdout = stdout;
        self
    }

    pub fn stderr(mut self, stderr: Stdio) -> Command {
        self.stderr = stderr;
        self
    }

    pub fn limits(mut self, limits: Limits) -> Command {
        self.limits = limits;
        self
    }

    /// Runs under this slot's uid instead of claiming a slot per run.
    pub fn slot(mut self, slot: &Slot) -> Command {
        self.uid = Some(slot.uid());
        self
    }

    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// Runs the program and waits for it. Never runs it without its
    /// isolation: any setup failure is an IE result.
    pub fn run(self) -> RunResult {
        self.try_run().unwrap_or_else(RunResult::internal_error)
    }

    fn try_run(self) -> Result<RunResult, String> {
        self.limits.validate()?;
        if self.argv[0].is_empty() {
            return Err("empty program name".into());
        }
        let filters = seccomp::filters().as_ref().map_err(Clone::clone)?;
        let claimed;
        let uid = match self.uid {
            Some(uid) => uid,
            None => {
                claimed = Slot::claim(0).map_err(|e| e.to_string())?;
                claimed.uid()
            }
        };
        let namespaces = warm::for_slot(uid.saturating_sub(UID_BASE))?;
        let binds = self.binds.iter().map(DetachedBind::new).collect::<Result<Vec<_>, _>>()?;
        if binds.len() + child::FIRST_BIND_FD as usize > child::MAX_FDS {
            return Err(format!("too many binds ({})", binds.len()));
        }
        let mounts = MountPlan::per_run(&binds, child::FIRST_BIND_FD, self.limits.tmpfs);

        let stdin = match self.stdin {
            Stdio::Null | Stdio::Capture => open_dev_null()?,
            Stdio::Input(input) => input.open_read_only().map_err(|e| format!("opening input: {e}"))?,
            Stdio::Fd(fd) => fd,
        };
        let (stdout, stdout_capture) = output_fd(self.stdout, "stdout")?;
        let (stderr, stderr_capture) = output_fd(self.stderr, "stderr")?;
        let (report_read, report_write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("creating report pipe: {e}"))?;

        let argv_c = to_cstrings(self.argv.iter().map(String::as_str))?;
        let env_c = to_cstrings(
            self.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().iter().map(String::as_str),
        )?;
        let path_var = self.env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_str()).unwrap_or("");
        let candidates = to_cstrings(program_candidates(&self.argv[0], path_var).iter().map(String::as_str))?;
        let argv_ptrs = null_terminated(&argv_c);
        let env_ptrs = null_terminated(&env_c);
        let cwd =
            CString::new(self.cwd.as_os_str().as_encoded_bytes()).map_err(|_| "working directory contains NUL")?;
        let rlimits = rlimits(&self.limits);
        let mut fds = vec![
            stdin.as_raw_fd(),
            stdout.as_raw_fd(),
            stderr.as_raw_fd(),
            report_write.as_raw_fd(),
            namespaces.mnt.as_raw_fd(),
            namespaces.net.as_raw_fd(),
            namespaces.uts.as_raw_fd(),
        ];
        fds.extend(binds.iter().map(|b| b.fd.as_raw_fd()));
        let mut program_stack = vec![0u8; child::PROGRAM_STACK_BYTES];
        let plan = ChildPlan {
            mounts: &mounts,
            fds: &fds,
            candidates: &candidates,
            argv: &argv_ptrs,
            envp: &env_ptrs,
            cwd: &cwd,
            uid,
            rlimits: &rlimits,
            filters: [&filters.deny, &filters.abi_and_clone3],
            program_stack: program_stack.as_mut_ptr(),
        };
        let mut init_stack = vec![0u8; child::INIT_STACK_BYTES];

        // Mount, network and UTS namespaces are the slot's (init joins them);
        // PID and IPC namespaces are new for every run. CLONE_VM: init shares
        // our memory instead of copying it (the cost of a copy grows with the
        // judge's size), so everything `plan` points to must outlive init.
        let flags = libc::CLONE_VM | libc::CLONE_NEWPID | libc::CLONE_NEWIPC | libc::SIGCHLD;
        // SAFETY: init runs `init_entry` on its own stack, reads only `plan`
        // (alive until init is reaped below, by `supervise` or the guard) and
        // makes raw syscalls only.
        let pid = unsafe {
            libc::clone(
                child::init_entry,
                child::stack_top(init_stack.as_mut_ptr(), child::INIT_STACK_BYTES),
                flags,
                &plan as *const ChildPlan as *mut libc::c_void,
            )
        };
        if pid < 0 {
            return Err(format!("clone with new namespaces: {}", std::io::Error::last_os_error()));
        }
        let guard = InitGuard { pid };
        drop((stdin, stdout, stderr, report_write, binds));

        let outcome = supervise(pid, report_read, &self.limits, &mounts);
        std::mem::forget(guard);
        drop((plan, init_stack, program_stack));
        let mut result = classify(outcome, &self.limits, &self.argv[0]);
        result.stdout = read_capture(stdout_capture, self.limits.output);
        result.stderr = read_capture(stderr_capture, self.limits.output);
        let over = |c: &Vec<u8>| c.len() as u64 > self.limits.output;
        if matches!(result.status, RunStatus::Ok | RunStatus::Re) && (over(&result.stdout) || over(&result.stderr)) {
            result.status = RunStatus::Ole;
            result.message = Some("output limit exceeded".into());
        }
        result.stdout.truncate(self.limits.output as usize);
        result.stderr.truncate(self.limits.output as usize);
        Ok(result)
    }
}

/// Kills and reaps init if `supervise` never returns normally (a panic), so
/// that init never outlives the memory it shares with us.
struct InitGuard {
    pid: i32,
}

impl Drop for InitGuard {
    fn drop(&mut self) {
        kill_and_reap(self.pid);
    }
}

fn open_dev_null() -> Result<OwnedFd, String> {
    File::open("/dev/null").map(Into::into).map_err(|e| format!("opening /dev/null: {e}"))
}

/// The fd the program writes to, and the memfd to read back when captured.
/// Captured streams go to an unsealed memfd bounded by `RLIMIT_FSIZE`.
fn output_fd(stdio: Stdio, name: &str) -> Result<(OwnedFd, Option<File>), String> {
    match stdio {
        Stdio::Capture => {
            let memfd = memfd::MemfdOptions::default()
                .close_on_exec(true)
                .create(name)
                .map_err(|e| format!("creating {name} memfd: {e}"))?;
            let file = memfd.into_file();
            let fd = file.try_clone().map_err(|e| format!("duplicating {name} memfd: {e}"))?;
            Ok((fd.into(), Some(file)))
        }
        Stdio::Null | Stdio::Input(_) => {
            let null =
                std::fs::OpenOptions::new().write(true).open("/dev/null").map_err(|e| format!("/dev/null: {e}"))?;
            Ok((null.into(), None))
        }
        Stdio::Fd(fd) => Ok((fd, None)),
    }
}

/// Reads back at most `limit + 1` bytes, so an overflow is visible.
fn read_capture(file: Option<File>, limit: u64) -> Vec<u8> {
    let Some(mut file) = file else { return Vec::new() };
    let mut out = Vec::new();
    if file.seek(SeekFrom::Start(0)).is_ok() {
        let _ = file.take(limit + 1).read_to_end(&mut out);
    }
    out
}

fn to_cstrings<'a>(items: impl Iterator<Item = &'a str>) -> Result<Vec<CString>, String> {
    items.map(|s| CString::new(s).map_err(|_| format!("argument or variable contains NUL: {s:?}"))).collect()
}

fn null_terminated(items: &[CString]) -> Vec<*const libc::c_char> {
    items.iter().map(|c| c.as_ptr()).chain(std::iter::once(std::ptr::null())).collect()
}

/// Paths to try for the program: itself if it names a path, else each PATH entry.
fn program_candidates(program: &str, path_var: &str) -> Vec<String> {
    if program.contains('/') {
        return vec![program.to_string()];
    }
    path_var.split(':').filter(|d| !d.is_empty()).map(|d| format!("{}/{program}", d.trim_end_matches('/'))).collect()
}

fn rlimits(limits: &Limits) -> Vec<(libc::__rlimit_resource_t, u64)> {
    // RLIMIT_CPU is a backstop a whole second past the monitor's limit.
    let cpu_secs = limits.cpu.as_secs() + 2;
    let mut list = vec![
        (libc::RLIMIT_CPU, cpu_secs),
        // One byte past the limit, so that reaching the limit exactly is not OLE.
        (libc::RLIMIT_FSIZE, limits.output + 1),
        (libc::RLIMIT_NPROC, limits.processes),
        (libc::RLIMIT_NOFILE, limits.open_files),
        (libc::RLIMIT_CORE, 0),
        // Unlimited, so glibc gives threads its 8 MiB default stack instead of
        // one the size of this limit; the stack still counts as memory.
        (libc::RLIMIT_STACK, libc::RLIM_INFINITY),
        (libc::RLIMIT_MEMLOCK, 0),
        (libc::RLIMIT_MSGQUEUE, 0),
    ];
    if let Some(bytes) = limits.address_space {
        list.push((libc::RLIMIT_AS, bytes));
    }
    // Never above the judge's own hard limits: raising one needs
    // CAP_SYS_RESOURCE, which a container may not grant.
    for (resource, value) in list.iter_mut() {
        let mut current = libc::rlimit { rlim_cur: 0, rlim_max: libc::RLIM_INFINITY };
        // SAFETY: getrlimit into a valid struct.
        if unsafe { libc::getrlimit(*resource, &mut current) } == 0 {
            *value = (*value).min(current.rlim_max);
        }
    }
    list
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Breach {
    Cpu,
    Wall,
    Memory,
}

/// What the host saw of a run.
#[derive(Debug, Default)]
struct Outcome {
    setup_error: Option<String>,
    exec_failure: Option<(i32, i64)>,
    done: Option<Report>,
    breach: Option<Breach>,
    peak: Sample,
    cpu_sampled_ns: u64,
    init_usage_us: u64,
    wall: Duration,
}

fn supervise(pid: i32, report_read: OwnedFd, limits: &Limits, mounts: &MountPlan) -> Outcome {
    let mut outcome = Outcome::default();
    let mut reports = ReportReader { fd: report_read };
    let setup_started = Instant::now();
    match reports.next(SETUP_TIMEOUT) {
        Some(Ok(r)) if r.kind == child::REPORT_READY => {}
        Some(Ok(r)) if r.kind == child::REPORT_SETUP_FAILED => {
            let what = if r.a >= 0 { mounts.describe(r.a as usize) } else { child::init_step_name(r.a) };
            outcome.setup_error = Some(format!("sandbox setup failed: {what}: {}", errno_text(r.b as i32)));
        }
        Some(Ok(r)) => outcome.setup_error = Some(format!("unexpected report {} during setup", r.kind)),
        Some(Err(e)) => outcome.setup_error = Some(format!("reading sandbox report: {e}")),
        None if setup_started.elapsed() >= SETUP_TIMEOUT => {
            outcome.setup_error = Some("sandbox setup timed out".into())
        }
        None => outcome.setup_error = Some("sandbox init exited during setup".into()),
    }
    if outcome.setup_error.is_some() {
        kill_and_reap(pid);
        return outcome;
    }
    let started = Instant::now();
    let monitor = match attach_monitor(pid) {
        Ok(m) => m,
        Err(e) => {
            outcome.setup_error = Some(format!("attaching the monitor: {e}"));
            kill_and_reap(pid);
            return outcome;
        }
    };
    let cpu_limit_ns = limits.cpu.as_nanos() as u64;
    // Until the program has exec'd it shares the judge's memory, whose size
    // says nothing about the program: memory counts from then on.
    let mut running = false;
    let mut near_limit = false;
    loop {
        let mut interval = sample_interval(started.elapsed());
        if near_limit {
            interval = interval.min(NEAR_LIMIT_INTERVAL);
        }
        match reports.next(interval) {
            Some(Ok(r)) if r.kind == child::REPORT_EXEC_FAILED => {
                outcome.exec_failure = Some((r.a as i32, r.b));
                continue;
            }
            // Look at once: the program may be done before the next interval.
            Some(Ok(r)) if r.kind == child::REPORT_RUNNING => running = true,
            Some(Ok(r)) if r.kind == child::REPORT_DONE => {
                outcome.done = Some(r);
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) => break,
            None if reports.closed() => break,
            None => {}
        }
        let mut s = monitor.as_ref().map(Monitor::sample).unwrap_or_default();
        if !running {
            (s.rss_bytes, s.hwm_bytes) = (0, 0);
        }
        outcome.cpu_sampled_ns = outcome.cpu_sampled_ns.max(s.cpu_ns);
        outcome.peak.rss_bytes = outcome.peak.rss_bytes.max(s.rss_bytes);
        outcome.peak.hwm_bytes = outcome.peak.hwm_bytes.max(s.hwm_bytes);
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

/// Attaches the monitor to init's procfs. A program that ends within a few
/// hundred µs can take init with it before the host looks (a dead init has no
/// root to open); then there is nothing left to sample, init's final report
/// is already in the pipe, and `None` is returned.
fn attach_monitor(pid: i32) -> Result<Option<Monitor>, std::io::Error> {
    // Covers init being between dropping its fs and becoming a zombie.
    let deadline = Instant::now() + Duration::from_millis(100);
    loop {
        match Monitor::attach(pid) {
            Ok(m) => return Ok(Some(m)),
            Err(_) if init_exited(pid) => return Ok(None),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// Whether init has exited, without reaping it.
fn init_exited(pid: i32) -> bool {
    // SAFETY: zeroed siginfo is valid; pid is our unreaped child.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT);
        rc == 0 && info.si_pid() == pid
    }
}

fn classify(outcome: Outcome, limits: &Limits, program: &str) -> RunResult {
    let mut result = RunResult::internal_error("");
    result.wall_ms = outcome.wall.as_millis() as u64;
    if let Some(error) = outcome.setup_error {
        result.message = Some(error);
        return result;
    }
    if let Some((errno, stage)) = outcome.exec_failure {
        let stage = child::STAGE_NAMES.get(stage as usize).copied().unwrap_or("setup");
        result.message = Some(format!("cannot run {program}: {stage}: {}", errno_text(errno)));
        result.exec_errno = Some(errno);
        return result;
    }
    let time_us = match &outcome.done {
        Some(done) => done.b as u64,
        None => outcome.init_usage_us.max(outcome.cpu_sampled_ns / 1000),
    };
    result.time_us = time_us;
    result.time_ms = time_us / 1000;
    let mut memory = outcome.peak.rss_bytes.max(outcome.peak.hwm_bytes) / 1024;
    if let Some(done) = &outcome.done {
        // The program's own peak, read by init when the program exited.
        memory = memory.max(done.e.max(0) as u64);
        // The program starts from init's memory (the judge's, shared), and
        // its ru_maxrss starts at that memory's peak. Above it, ru_maxrss is
        // the program's own exact peak; at or below it, it says nothing.
        let (maxrss, inherited) = (done.c.max(0) as u64, done.d.max(0) as u64);
        if maxrss > inherited + 256 {
            memory = memory.max(maxrss);
        }
    }
    result.memory_kb = memory;
    result.message = None;
    if let Some(done) = &outcome.done {
        let status = done.a as i32;
        if libc::WIFEXITED(status) {
            result.exit_code = Some(libc::WEXITSTATUS(status));
        } else if libc::WIFSIGNALED(status) {
            result.signal = Some(signal_name(libc::WTERMSIG(status)));
        }
    } else {
        result.signal = Some("SIGKILL".into());
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

/// Reads fixed-size reports from init, with a timeout per read.
struct ReportReader {
    fd: OwnedFd,
}

impl ReportReader {
    /// `None` on timeout or end of stream (see `closed`).
    fn next(&mut self, timeout: Duration) -> Option<std::io::Result<Report>> {
        let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let timeout = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::ppoll(&mut pfd, 1, &timeout, std::ptr::null()) };
        if ready <= 0 {
            return None;
        }
        let mut report = Report::default();
        let size = std::mem::size_of::<Report>();
        // SAFETY: reading into a plain-old-data struct of `size` bytes.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), &mut report as *mut Report as *mut libc::c_void, size) };
        match n {
            n if n as usize == size => Some(Ok(report)),
            0 => None,
            n if n < 0 => Some(Err(std::io::Error::last_os_error())),
            _ => Some(Err(std::io::Error::other("short report from sandbox init"))),
        }
    }

    fn closed(&self) -> bool {
        let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 0) > 0 && pfd.revents & libc::POLLHUP != 0 && pfd.revents & libc::POLLIN == 0 }
    }
}

/// Killing init ends the whole PID namespace. Returns init's CPU usage
/// (itself plus what it had reaped) in µs.
fn kill_and_reap(pid: i32) -> u64 {
    // SAFETY: pid is our own child, not yet reaped.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    reap(pid)
}

fn reap(pid: i32) -> u64 {
    let mut status = 0;
    // SAFETY: zeroed rusage is valid; pid is our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let rc = unsafe { libc::wait4(pid, &mut status, libc::__WALL, &mut usage) };
        if rc >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
    let micros = |t: libc::timeval| (t.tv_sec * 1_000_000 + t.tv_usec) as u64;
    micros(usage.ru_utime) + micros(usage.ru_stime)
}

fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("SIG{signal}"))
}

fn errno_text(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno).to_string()
}

/// Host path of a readable directory, for callers that bind one.
pub fn check_dir(dir: &Path) -> Result<PathBuf, String> {
    let canonical = dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::read_dir(&canonical).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(canonical)
}
