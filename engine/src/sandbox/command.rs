//! The sandbox's public face: a `std::process::Command`-like builder, the
//! limits, and the measured result. `run` prepares everything init needs,
//! clones it into the run's namespaces, and hands over to the supervisor.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde::Serialize;

use super::child::{self, ChildPlan};
use super::classify::classify;
use super::error::SandboxError;
use super::input::Input;
pub use super::mounts::Bind;
use super::mounts::{DetachedBind, MountPlan};
use super::namespaces::RUN_CLONE_FLAGS;
use super::seccomp;
use super::slot::{Slot, UID_BASE};
use super::stack::PooledStack;
use super::supervisor::{kill_and_reap, supervise};
use super::warm;

use crate::limits::MIB;

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
        self.try_run().unwrap_or_else(|e| RunResult::internal_error(e.to_string()))
    }

    fn try_run(self) -> Result<RunResult, SandboxError> {
        self.limits.validate().map_err(SandboxError::Limits)?;
        if self.argv[0].is_empty() {
            return Err(SandboxError::EmptyProgram);
        }
        let filter = seccomp::program().as_ref().map_err(|e| SandboxError::Seccomp(e.clone()))?;
        let claimed;
        let uid = match self.uid {
            Some(uid) => uid,
            None => {
                claimed = Slot::claim(0)?;
                claimed.uid()
            }
        };
        let namespaces = warm::for_slot(uid.saturating_sub(UID_BASE))?;
        let binds =
            self.binds.iter().map(DetachedBind::new).collect::<Result<Vec<_>, _>>().map_err(SandboxError::Bind)?;
        let max_binds = child::MAX_FDS - child::FIRST_BIND_FD as usize;
        if binds.len() > max_binds {
            return Err(SandboxError::TooManyBinds { count: binds.len(), max: max_binds });
        }
        let mounts = MountPlan::per_run(&binds, child::FIRST_BIND_FD, self.limits.tmpfs, warm::skeleton()?);

        let stdin = match self.stdin {
            Stdio::Null | Stdio::Capture => open_dev_null()?,
            Stdio::Input(input) => input.open_read_only().map_err(SandboxError::io("opening the input"))?,
            Stdio::Fd(fd) => fd,
        };
        let stdout = output_fd(self.stdout, "stdout")?;
        let stderr = output_fd(self.stderr, "stderr")?;
        let (report_read, report_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| SandboxError::Io { what: "creating the report pipe".into(), source: e.into() })?;

        let argv_c = to_cstrings(self.argv.iter().map(String::as_str))?;
        let env_c = to_cstrings(
            self.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().iter().map(String::as_str),
        )?;
        let path_var = self.env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_str()).unwrap_or("");
        let candidates = to_cstrings(program_candidates(&self.argv[0], path_var).iter().map(String::as_str))?;
        let argv_ptrs = null_terminated(&argv_c);
        let env_ptrs = null_terminated(&env_c);
        let cwd = CString::new(self.cwd.as_os_str().as_encoded_bytes())
            .map_err(|_| SandboxError::Nul(self.cwd.display().to_string()))?;
        let rlimits = rlimits(&self.limits);
        let mut fds = vec![stdin.as_raw_fd(), stdout.raw_fd(), stderr.raw_fd(), report_write.as_raw_fd()];
        fds.extend(namespaces.raw_fds());
        fds.extend(binds.iter().map(|b| b.fd.as_raw_fd()));
        let program_stack =
            PooledStack::take(child::PROGRAM_STACK_BYTES).map_err(SandboxError::io("mapping the program's stack"))?;
        let init_stack =
            PooledStack::take(child::INIT_STACK_BYTES).map_err(SandboxError::io("mapping init's stack"))?;
        let plan = ChildPlan {
            mounts: &mounts,
            fds: &fds,
            candidates: &candidates,
            argv: &argv_ptrs,
            envp: &env_ptrs,
            cwd: &cwd,
            uid,
            rlimits: &rlimits,
            filter,
            program_stack_top: program_stack.top(),
        };

        // The slot's namespaces are joined by init; the run's own are new.
        // CLONE_VM: init shares our memory instead of copying it (the cost of
        // a copy grows with the judge's size), so everything `plan` points to
        // must outlive init.
        let flags = libc::CLONE_VM | RUN_CLONE_FLAGS | libc::SIGCHLD;
        let plan_ptr = &plan as *const ChildPlan as *mut libc::c_void;
        // SAFETY: init runs `init_entry` on its own guarded stack, reads only
        // `plan` (alive until init is reaped below, by `supervise` or the
        // guard) and makes raw syscalls only.
        let pid = unsafe { libc::clone(child::init_entry, init_stack.top(), flags, plan_ptr) };
        if pid < 0 {
            return Err(SandboxError::io("clone with new namespaces")(std::io::Error::last_os_error()));
        }
        let guard = InitGuard { pid };
        drop((stdin, report_write, binds));
        let (stdout_capture, stderr_capture) = (stdout.into_capture(), stderr.into_capture());

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

fn open_dev_null() -> Result<OwnedFd, SandboxError> {
    File::open("/dev/null").map(Into::into).map_err(SandboxError::io("opening /dev/null"))
}

/// A standard output stream of the program: an fd handed over, or a
/// capture that init writes to (through the same fd) and we read back.
enum Output {
    Handed(OwnedFd),
    Captured(File),
}

impl Output {
    fn raw_fd(&self) -> RawFd {
        match self {
            Output::Handed(fd) => fd.as_raw_fd(),
            Output::Captured(file) => file.as_raw_fd(),
        }
    }

    /// Once init holds its copy: closes a handed fd (a pipe must see EOF when
    /// the program ends) and keeps a capture to read back.
    fn into_capture(self) -> Option<File> {
        match self {
            Output::Handed(_) => None,
            Output::Captured(file) => Some(file),
        }
    }
}

/// Where the program's `name` stream goes. Captured streams go to an
/// unsealed memfd bounded by `RLIMIT_FSIZE`.
fn output_fd(stdio: Stdio, name: &str) -> Result<Output, SandboxError> {
    match stdio {
        Stdio::Capture => {
            let memfd = memfd::MemfdOptions::default().close_on_exec(true).create(name).map_err(|e| {
                SandboxError::Io { what: format!("creating the {name} memfd"), source: std::io::Error::other(e) }
            })?;
            Ok(Output::Captured(memfd.into_file()))
        }
        Stdio::Null | Stdio::Input(_) => {
            let null = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/null")
                .map_err(SandboxError::io("opening /dev/null for writing"))?;
            Ok(Output::Handed(null.into()))
        }
        Stdio::Fd(fd) => Ok(Output::Handed(fd)),
    }
}

/// Reads back at most `limit + 1` bytes, so an overflow is visible. The
/// memfd's size says how much there is: an fstat and one pread, where
/// reading to the end took a seek and two reads (one for an empty stream).
fn read_capture(file: Option<File>, limit: u64) -> Vec<u8> {
    let Some(file) = file else { return Vec::new() };
    let Ok(size) = file.metadata().map(|m| m.len()) else { return Vec::new() };
    let mut out = vec![0; size.min(limit + 1) as usize];
    let mut filled = 0;
    while filled < out.len() {
        match file.read_at(&mut out[filled..], filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    out.truncate(filled);
    out
}

fn to_cstrings<'a>(items: impl Iterator<Item = &'a str>) -> Result<Vec<CString>, SandboxError> {
    items.map(|s| CString::new(s).map_err(|_| SandboxError::Nul(s.to_string()))).collect()
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

/// The rlimits a run with `limits` sets (the bench's kernel floor sets the same).
pub fn rlimits(limits: &Limits) -> Vec<(libc::__rlimit_resource_t, u64)> {
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
        *value = (*value).min(judge_hard_limit(*resource));
    }
    list
}

/// The judge's own hard limit of `resource`, read at the first run: nine
/// getrlimit calls cost a run about 5 µs, and the judge never changes its
/// hard limits (main only raises the soft open-files limit up to the hard one).
fn judge_hard_limit(resource: libc::__rlimit_resource_t) -> u64 {
    // Linux numbers its resources 0 to 15.
    const RESOURCES: usize = 16;
    static HARD: OnceLock<[u64; RESOURCES]> = OnceLock::new();
    let read = |resource: libc::__rlimit_resource_t| {
        let mut current = libc::rlimit { rlim_cur: 0, rlim_max: libc::RLIM_INFINITY };
        // SAFETY: getrlimit writes one rlimit into `current`.
        unsafe { libc::getrlimit(resource, &mut current) };
        current.rlim_max
    };
    match HARD.get_or_init(|| std::array::from_fn(|r| read(r as libc::__rlimit_resource_t))).get(resource as usize) {
        Some(&hard) => hard,
        None => read(resource),
    }
}

/// Host path of a readable directory, for callers that bind one.
pub fn check_dir(dir: &Path) -> Result<PathBuf, String> {
    let canonical = dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::read_dir(&canonical).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(canonical)
}
