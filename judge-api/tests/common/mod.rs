//! Shared helpers for the judge's integration tests: compile a hostile C
//! program into a fresh temp dir, run it through the real `judge run` binary
//! (always inside `unshare --pid --fork --kill-child --mount-proc`, so nothing
//! that escapes a half-built sandbox can reach the host's processes), parse
//! the JSON result, and inspect the host afterwards.
//!
//! Never run a hostile binary any other way than through `Judge::run`.

#![allow(dead_code)]

use std::ffi::OsString;
use std::os::fd::RawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// The uids sandboxed programs run under (engine::sandbox slot.rs: 61000 + slot, 1024 slots).
pub const SANDBOX_UIDS: std::ops::Range<u32> = 61000..61000 + 1024;

/// How long one `judge run` may take before the test kills it and fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// Serialising runs

static RUNS: RwLock<()> = RwLock::new(());

/// Held by a test that runs sandboxes but does not inspect the host's
/// process table: any number of these run in parallel.
pub fn shared() -> RwLockReadGuard<'static, ()> {
    RUNS.read().unwrap_or_else(|e| e.into_inner())
}

/// Held by a test that checks the host for sandbox processes afterwards: no
/// other sandbox of this test binary runs meanwhile.
pub fn exclusive() -> RwLockWriteGuard<'static, ()> {
    RUNS.write().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------
// Temp dirs and compiling

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub use tempfile::TempDir;

/// The file in every test dir that names it: `judge run --dir` binds a copy, so a run's
/// processes are told by this file at their `/box`, not by the host path.
const RUN_ID_FILE: &str = ".run-id";

/// A fresh directory under the system temp dir, removed on drop.
pub fn temp_dir(label: &str) -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("judge-test-{label}-"))
        // The sandboxed uid must be able to enter it and run what is inside.
        .permissions(std::fs::Permissions::from_mode(0o755))
        .tempdir()
        .unwrap_or_else(|e| panic!("creating a temp dir for {label}: {e}"));
    std::fs::write(dir.path().join(RUN_ID_FILE), run_id(dir.path())).unwrap();
    dir
}

fn run_id(dir: &Path) -> String {
    dir.file_name().expect("a named dir").to_string_lossy().into_owned()
}

/// A random-enough hex token for unique names and process markers.
pub fn token() -> String {
    let mut bytes = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}{n:x}", u64::from_ne_bytes(bytes))
}

/// Directory holding the hostile C sources.
pub fn hostile_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile")
}

/// Compiles `tests/hostile/<name>.c` with the host's gcc into a fresh temp
/// dir as `prog` (world-executable). Run it as `./prog` with `--dir`.
pub fn compile(name: &str) -> TempDir {
    let dir = temp_dir(name);
    let source = hostile_dir().join(format!("{name}.c"));
    let out = dir.path().join("prog");
    let output = Command::new("gcc")
        .args(["-O0", "-pthread", "-Wall", "-o"])
        .arg(&out)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| panic!("running gcc for {}: {e}", source.display()));
    assert!(
        output.status.success(),
        "gcc failed for {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

// ---------------------------------------------------------------------------
// Running the judge

/// The JSON `judge run` prints.
#[derive(Debug, Deserialize)]
pub struct RunJson {
    pub status: String,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    pub time_ms: u64,
    pub wall_ms: u64,
    pub memory_kb: u64,
    pub stdout: String,
    pub stderr: String,
    pub message: Option<String>,
}

/// Asserts that a run's reported peak memory is within 15% of
/// `expected_kb`, what the program is known to have used (`what` says how).
#[track_caller]
pub fn assert_memory_near(r: &RunJson, expected_kb: u64, what: &str) {
    let (low, high) = (expected_kb * 85 / 100, expected_kb * 115 / 100);
    assert!((low..=high).contains(&r.memory_kb), "{what}, memory_kb {} (want {low}..={high})", r.memory_kb);
}

/// What the `judge` process did.
#[derive(Debug)]
pub struct Outcome {
    /// Exit code of the judge (through unshare); -1 if killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// The parsed JSON result; panics (with everything printed) unless the
    /// judge exited 0 with exactly one JSON object on stdout.
    pub fn json(&self) -> RunJson {
        assert_eq!(self.code, 0, "judge exited {}; stdout: {}; stderr: {}", self.code, self.stdout, self.stderr);
        parse(&self.stdout).unwrap_or_else(|e| panic!("{e}; stderr: {}", self.stderr))
    }
}

/// Parses the one JSON line of `judge run`.
pub fn parse(stdout: &str) -> Result<RunJson, String> {
    let line = stdout.trim();
    if line.lines().count() != 1 {
        return Err(format!("expected one JSON line on stdout, got: {line:?}"));
    }
    serde_json::from_str(line).map_err(|e| format!("bad JSON from judge ({e}): {line}"))
}

/// A `judge run` invocation, always wrapped in
/// `unshare --pid --fork --kill-child --mount-proc`.
pub struct Judge {
    dir: Option<PathBuf>,
    flags: Vec<OsString>,
    env: Vec<(String, String)>,
    /// (fd in the test process, number it gets in the judge process), inherited without CLOEXEC.
    inherit: Vec<(RawFd, RawFd)>,
}

impl Judge {
    pub fn new() -> Judge {
        Judge { dir: None, flags: Vec::new(), env: Vec::new(), inherit: Vec::new() }
    }

    /// `--dir DIR`: bound read-only at /box, the program's cwd.
    pub fn dir(mut self, dir: &Path) -> Judge {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// Any `judge run` flag with its value, e.g. `flag("--time-limit", "0.5")`.
    pub fn flag(mut self, name: &str, value: impl Into<OsString>) -> Judge {
        self.flags.push(name.into());
        self.flags.push(value.into());
        self
    }

    pub fn time_limit(self, seconds: f64) -> Judge {
        self.flag("--time-limit", seconds.to_string())
    }

    pub fn wall_limit(self, seconds: f64) -> Judge {
        self.flag("--wall-limit", seconds.to_string())
    }

    pub fn memory_limit(self, mib: u64) -> Judge {
        self.flag("--memory-limit", mib.to_string())
    }

    /// An environment variable of the judge process itself (the host side).
    pub fn host_env(mut self, key: &str, value: &str) -> Judge {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Hands `fd` of the test process to the judge process as `target`, not close-on-exec.
    pub fn inherit_fd(mut self, fd: RawFd, target: RawFd) -> Judge {
        self.inherit.push((fd, target));
        self
    }

    /// Runs `judge run [flags] [--dir DIR] -- command...` and waits (at most 30 s).
    pub fn run(mut self, command: &[&str]) -> Outcome {
        let mut args = std::mem::take(&mut self.flags);
        if let Some(dir) = &self.dir {
            args.push("--dir".into());
            args.push(dir.into());
        }
        args.push("--".into());
        args.extend(command.iter().map(OsString::from));
        self.spawn(&args)
    }

    /// Runs `judge run ARGS...` exactly as given (flags set on the builder are ignored).
    pub fn run_raw(self, args: &[&str]) -> Outcome {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        self.spawn(&args)
    }

    fn spawn(self, args: &[OsString]) -> Outcome {
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--kill-child", "--mount-proc"]);
        cmd.arg(env!("CARGO_BIN_EXE_judge")).arg("run");
        cmd.args(args);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let inherit = self.inherit.clone();
        if !inherit.is_empty() {
            // SAFETY: only dup2, which is async-signal-safe, between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    for &(fd, target) in &inherit {
                        // dup2 leaves the new descriptor without FD_CLOEXEC.
                        if libc::dup2(fd, target) < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().expect("spawning unshare + judge");
        let pid = child.id() as i32;
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            if done_rx.recv_timeout(RUN_TIMEOUT) == Err(mpsc::RecvTimeoutError::Timeout) {
                // Our own child (unshare); --kill-child takes the judge with it.
                // SAFETY: kill has no memory effects; pid is our unreaped child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                true
            } else {
                false
            }
        });
        let output = child.wait_with_output().expect("waiting for the judge");
        let _ = done_tx.send(());
        let timed_out = watchdog.join().unwrap();
        assert!(!timed_out, "judge run {args:?} did not finish within {RUN_TIMEOUT:?}");
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Default for Judge {
    fn default() -> Self {
        Judge::new()
    }
}

/// Runs `./prog args...` from `dir` with the given limit flags and parses the result.
pub fn run_prog(dir: &TempDir, flags: &[(&str, &str)], args: &[&str]) -> RunJson {
    let mut judge = Judge::new().dir(dir.path());
    for (name, value) in flags {
        judge = judge.flag(name, *value);
    }
    let mut command = vec!["./prog"];
    command.extend_from_slice(args);
    judge.run(&command).json()
}

// ---------------------------------------------------------------------------
// Looking at the host

/// One host process, as seen in the host's /proc.
#[derive(Debug, Clone)]
pub struct HostProcess {
    pub pid: i32,
    pub uid: u32,
    pub cmdline: String,
}

/// Every process of the host (threads not included).
pub fn host_processes() -> Vec<HostProcess> {
    let mut list = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return list };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { continue };
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|u| u.parse().ok())
            .unwrap_or(0);
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " ").trim().to_string())
            .unwrap_or_default();
        list.push(HostProcess { pid, uid, cmdline });
    }
    list
}

/// Host processes running under a sandbox uid (of any run, including other
/// judges on the machine).
pub fn sandbox_processes() -> Vec<HostProcess> {
    host_processes().into_iter().filter(|p| SANDBOX_UIDS.contains(&p.uid)).collect()
}

/// Host processes left over from runs that had (a copy of) `run_dir` at /box: those
/// of a sandbox uid whose `/box` holds that dir's run-id file (so sandboxes of other
/// judges on the machine do not count), and any carrying `marker` in their command line.
pub fn leftover_processes(run_dir: &Path, marker: Option<&str>) -> Vec<HostProcess> {
    let id = run_id(run_dir);
    host_processes()
        .into_iter()
        .filter(|p| {
            let ours = || {
                std::fs::read_to_string(format!("/proc/{}/root/box/{RUN_ID_FILE}", p.pid))
                    .is_ok_and(|found| found == id)
            };
            (SANDBOX_UIDS.contains(&p.uid) && ours()) || marker.is_some_and(|m| p.cmdline.contains(m))
        })
        .collect()
}

/// Waits up to `timeout` for `check` to hold, returning its last value.
pub fn eventually<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Result<T, ()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that no process of the runs with `run_dir` at /box (and none
/// carrying `marker`) is left on the host. Killed processes may take a moment
/// to disappear, so this waits up to 2 s.
pub fn assert_no_leftover_processes(run_dir: &Path, marker: Option<&str>) {
    let mut last = Vec::new();
    let clean = eventually(Duration::from_secs(2), || {
        last = leftover_processes(run_dir, marker);
        last.is_empty().then_some(())
    });
    assert!(clean.is_ok(), "sandbox processes survived the run: {last:?}");
}

/// Whether host process `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

/// Free bytes of the file system holding `path`.
pub fn free_bytes(path: &Path) -> u64 {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: an all-zero statvfs is a valid value of this plain C struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid path and out-pointer.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    assert_eq!(rc, 0, "statvfs {}", path.display());
    st.f_bavail as u64 * st.f_frsize as u64
}

/// Looks up `key` in `key=value` lines the hostile programs print.
pub fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}
