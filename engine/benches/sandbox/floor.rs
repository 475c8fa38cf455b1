//! The kernel floor of a sandboxed run: what a run must have, built step by
//! step from raw syscalls, each step adding one must-have to the one above.
//! No engine code path runs here: only the judge's list of /proc masks, its
//! /tmp inode cap and its seccomp program are taken from it (read-only).
//!
//! Every floor run is started like the judge starts init: a clone sharing
//! the bench's memory (`CLONE_VM`, here with `CLONE_VFORK`: the bench waits
//! anyway) into a new PID namespace. From the mount step on, it joins a
//! mount namespace the bench prepared once (`floor_namespace.rs`: a tmpfs root holding
//! `/proc`, `/tmp`, `/dev/null` and a static `true`, pivoted into, so the
//! host's tree is not in it) and takes a private copy of it, so its mounts
//! vanish with it. Nothing is ever mounted in the host's namespace. The last
//! step joins network, UTS and IPC namespaces kept like a slot's.
//!
//! Two other ways, measured next to it (see `Way`): mounting in place
//! without a copy, and /proc with subset=pid instead of the masks. Before
//! timing, a probe program (`probe.c`) checks at each step that the run
//! really has what the step claims.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::floor_namespace::prepare_namespace;
use engine::sandbox::floor_parts::{applied_proc_masks, seccomp_program, TMP_INODES};
use engine::sandbox::Limits;

/// How much of a run a floor run carries out; each level includes the ones
/// before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// clone(CLONE_NEWPID) + exec + wait.
    PidNamespace,
    /// Adds setns into the prepared mount namespace and unshare(CLONE_NEWNS):
    /// scaffolding only, what the mount steps below need to happen in.
    MountCopy,
    /// Adds a fresh procfs for the new PID namespace (hidepid=2, read-only).
    Proc,
    /// Adds the judge's /proc masks.
    Masks,
    /// Adds a size-capped tmpfs on /tmp.
    Tmp,
    /// Adds an init: PID 1 starts the program (PID 2) and waits for it.
    Init,
    /// Adds the judge's rlimits, setgroups/setgid/setuid, no_new_privs and
    /// the judge's seccomp program.
    Credentials,
    /// Adds the bounding-set drop and a PTRACE_TRACEME exit stop with the
    /// /proc/2/status read the judge makes there.
    Trace,
    /// Adds joining kept network, UTS and IPC namespaces (no network, its
    /// own hostname, no SysV IPC of the host), as a judge's slot does.
    Namespaces,
}

/// How a floor run makes its mounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    /// In a private copy of the prepared namespace, as the judge does.
    Copy,
    /// In place, in a second prepared namespace (runs of a slot never
    /// overlap), the previous run's /proc and /tmp detached first. Only
    /// from `Tmp` on.
    InPlace,
    /// As `Copy`, but /proc mounted with subset=pid (process directories
    /// only) and no masks: it hides all the masks hide and more
    /// (/proc/meminfo, /proc/sys, ...), so it changes what programs see.
    ProcSubset,
}

/// Steps made the other ways, each timed next to its `Copy` twin.
pub const OTHER_WAYS: [(Level, Way, &str); 4] = [
    (Level::Tmp, Way::InPlace, "4' = 4, mounted in place (no copy)"),
    (Level::Namespaces, Way::InPlace, "8' = 8, mounted in place (no copy)"),
    (Level::Masks, Way::ProcSubset, "3* = 3 by proc subset=pid, no masks"),
    (Level::Namespaces, Way::ProcSubset, "8* = 8 by proc subset=pid, no masks"),
];

/// The probe: exits 0 only if it runs with what its step claims (argv: step
/// number, the program's uid, the host's net, UTS and IPC namespace links,
/// 1 if /proc is mounted with subset=pid).
/// Static, like `true`.
pub const PROBE_SOURCE: &str = include_str!("probe.c");

/// Every step, in order, with its label.
pub const STEPS: [(Level, &str); 9] = [
    (Level::PidNamespace, "1 clone(NEWPID, vfork-style)+exec+wait"),
    (Level::MountCopy, "  + setns/unshare only (scaffolding)"),
    (Level::Proc, "2 + fresh ro procfs (hidepid=2)"),
    (Level::Masks, "3 + the judge's /proc masks"),
    (Level::Tmp, "4 + size-capped tmpfs /tmp"),
    (Level::Init, "5 + init (program is PID 2)"),
    (Level::Credentials, "6 + rlimits, uid/gid, NNP, seccomp"),
    (Level::Trace, "7 + bounding-set drop, ptrace exit stop"),
    (Level::Namespaces, "8 + join kept net, UTS, IPC namespaces"),
];

const STACK_BYTES: usize = 256 * 1024;

/// One mount(2) call, its strings prepared before any clone.
struct Mount {
    source: CString,
    target: CString,
    fstype: CString,
    flags: libc::c_ulong,
    data: CString,
}

impl Mount {
    fn new(source: &str, target: &str, fstype: &str, flags: libc::c_ulong, data: &str) -> Mount {
        let c = |s: &str| CString::new(s).expect("no NUL");
        Mount { source: c(source), target: c(target), fstype: c(fstype), flags, data: c(data) }
    }

    fn apply(&self) -> Result<(), i32> {
        let opt = |s: &CString| if s.as_bytes().is_empty() { std::ptr::null() } else { s.as_ptr() };
        let data = opt(&self.data) as *const libc::c_void;
        // SAFETY: every pointer is a live NUL-terminated string or NULL.
        let rc = unsafe { libc::mount(opt(&self.source), self.target.as_ptr(), opt(&self.fstype), self.flags, data) };
        check(rc as i64).map(drop)
    }
}

/// errno of a failed raw call (reading errno does not allocate).
pub(crate) fn check(rc: i64) -> Result<i64, i32> {
    if rc < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
    } else {
        Ok(rc)
    }
}

/// Writes "floor: WHAT failed: errno N" to stderr and exits, without allocating.
pub(crate) fn fail(what: &str, errno: i32) -> ! {
    let mut line = [0u8; 160];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        let n = bytes.len().min(line.len() - at);
        line[at..at + n].copy_from_slice(&bytes[..n]);
        at += n;
    };
    put(b"floor: ");
    put(what.as_bytes());
    put(b" failed: errno ");
    let mut digits = [0u8; 10];
    let (mut n, mut rest) = (0, errno.unsigned_abs());
    loop {
        digits[n] = b'0' + (rest % 10) as u8;
        n += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    digits[..n].reverse();
    put(&digits[..n]);
    put(b"\n");
    // SAFETY: writes our own buffer to stderr, then ends this process only.
    unsafe {
        libc::write(2, line.as_ptr() as *const libc::c_void, at);
        libc::_exit(120);
    }
}

/// The rlimits a judge's run gets with `limits`: the judge's own list.
fn rlimits(limits: &Limits) -> Vec<(libc::__rlimit_resource_t, libc::rlimit)> {
    let list = engine::sandbox::floor_parts::rlimits(limits);
    list.into_iter().map(|(resource, value)| (resource, libc::rlimit { rlim_cur: value, rlim_max: value })).collect()
}

/// A program and its argv (argv[0] is the path), prepared before any clone.
struct Exec {
    _strings: Vec<CString>,
    argv: Vec<*const libc::c_char>,
}

impl Exec {
    fn new(args: &[&[u8]]) -> Exec {
        let strings: Vec<CString> = args.iter().map(|a| CString::new(*a).expect("no NUL")).collect();
        let argv = strings.iter().map(|s| s.as_ptr()).chain([std::ptr::null()]).collect();
        Exec { _strings: strings, argv }
    }
}

/// A stack for a `CLONE_VM` child, never freed while a child runs on it.
struct Stack(Box<[u8]>);

impl Stack {
    fn new() -> Stack {
        Stack(vec![0u8; STACK_BYTES].into_boxed_slice())
    }

    fn top(&self) -> *mut libc::c_void {
        let end = self.0.as_ptr() as usize + self.0.len();
        (end & !15) as *mut libc::c_void
    }
}

/// Everything a floor run needs, prepared once.
pub struct Floor {
    /// The prepared mount namespaces (each lives as long as its fd): one
    /// each run copies, one the in-place runs mount in.
    copied_ns: OwnedFd,
    in_place_ns: OwnedFd,
    /// Network, UTS and IPC namespaces, kept like a slot's.
    kept: [OwnedFd; 3],
    host_true: Exec,
    inside_true: Exec,
    host_probe: Vec<u8>,
    proc: Mount,
    proc_subset: Mount,
    masks: Vec<Mount>,
    tmp: Mount,
    uid: u32,
    filter: &'static [libc::sock_filter],
    rlimits: Vec<(libc::__rlimit_resource_t, libc::rlimit)>,
    status_path: CString,
    init_stack: Stack,
    program_stack: Stack,
    /// How many /proc files and directories are masked.
    pub masked: (usize, usize),
}

struct RunArgs<'a> {
    floor: &'a Floor,
    level: Level,
    way: Way,
    exec: &'a Exec,
}

impl Floor {
    /// Prepares the mount namespaces under `dir` (the bench's scratch dir,
    /// in private namespaces only) with `true_bin`, a static `true`, and
    /// `probe`, PROBE_SOURCE built static. Programs run as `uid`.
    pub fn new(dir: &Path, true_bin: &Path, probe: &Path, uid: u32) -> Floor {
        let (copied_ns, kept) = prepare_namespace(&dir.join("floor-copied"), true_bin, probe);
        let (in_place_ns, _) = prepare_namespace(&dir.join("floor-in-place"), true_bin, probe);
        let (files, dirs) = applied_proc_masks();
        let mut masks: Vec<Mount> =
            files.iter().map(|f| Mount::new("/dev/null", &format!("/proc/{f}"), "", libc::MS_BIND, "")).collect();
        // The judge's way: one empty read-only tmpfs, bound over the other dirs.
        let hidden = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        if let Some((first, rest)) = dirs.split_first() {
            let empty = format!("/proc/{first}");
            masks.push(Mount::new("tmpfs", &empty, "tmpfs", hidden, "size=4k,nr_inodes=1,mode=0555"));
            masks.extend(rest.iter().map(|d| Mount::new(&empty, &format!("/proc/{d}"), "", libc::MS_BIND, "")));
        }
        let tmp_data = format!("size={},nr_inodes={TMP_INODES},mode=1777", Limits::default().tmpfs);
        let filter = seccomp_program().as_ref().expect("the judge's seccomp program");
        Floor {
            copied_ns,
            in_place_ns,
            kept,
            host_true: Exec::new(&[true_bin.as_os_str().as_bytes()]),
            inside_true: Exec::new(&[b"/true"]),
            host_probe: probe.as_os_str().as_bytes().to_vec(),
            proc: Mount::new("proc", "/proc", "proc", hidden, "hidepid=2"),
            proc_subset: Mount::new("proc", "/proc", "proc", hidden, "hidepid=2,subset=pid"),
            masks,
            tmp: Mount::new("tmpfs", "/tmp", "tmpfs", libc::MS_NOSUID | libc::MS_NODEV, &tmp_data),
            uid,
            filter,
            rlimits: rlimits(&Limits::default()),
            status_path: c"/proc/2/status".into(),
            init_stack: Stack::new(),
            program_stack: Stack::new(),
            masked: (files.len(), dirs.len()),
        }
    }

    /// One run of `true` at `level`, its mounts made `way`.
    pub fn run(&self, level: Level, way: Way) {
        let exec = if level == Level::PidNamespace { &self.host_true } else { &self.inside_true };
        let status = self.start(&RunArgs { floor: self, level, way, exec });
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "floor {level:?}: status {status:#x}");
    }

    /// Runs the probe at `level`: panics unless the run has what the level claims.
    pub fn check(&self, level: Level, way: Way) {
        let step = (level as u8).to_string();
        let uid = self.uid.to_string();
        let path: &[u8] = if level == Level::PidNamespace { &self.host_probe } else { b"/probe" };
        let host = |kind: &str| {
            let link = std::fs::read_link(format!("/proc/self/ns/{kind}")).expect("the host's namespace link");
            link.into_os_string().into_encoded_bytes()
        };
        let (net, uts, ipc) = (host("net"), host("uts"), host("ipc"));
        let subset: &[u8] = if way == Way::ProcSubset { b"1" } else { b"0" };
        let exec = Exec::new(&[path, step.as_bytes(), uid.as_bytes(), &net, &uts, &ipc, subset]);
        let status = self.start(&RunArgs { floor: self, level, way, exec: &exec });
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "floor probe at {level:?} ({way:?}): status {status:#x}"
        );
    }

    /// PID 1 of a new PID namespace, waited for; its wait status.
    fn start(&self, args: &RunArgs) -> i32 {
        assert!(args.way != Way::InPlace || args.level >= Level::Tmp, "in place only from Tmp on");
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_NEWPID | libc::SIGCHLD;
        let arg = args as *const RunArgs as *mut libc::c_void;
        // SAFETY: the child runs `pid_one` on its own stack, reads only
        // `args` (alive: with CLONE_VFORK we sleep until it execs or exits),
        // allocates nothing and makes raw calls only.
        let pid = unsafe { libc::clone(pid_one, self.init_stack.top(), flags, arg) };
        assert!(pid > 0, "floor clone: {}", std::io::Error::last_os_error());
        let mut status = 0;
        // SAFETY: waits for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        status
    }
}

extern "C" fn pid_one(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `Floor::run` passes its RunArgs and sleeps until we exec or exit.
    let args = unsafe { &*(arg as *const RunArgs) };
    let (floor, level) = (args.floor, args.level);
    if level >= Level::MountCopy {
        let in_place = args.way == Way::InPlace;
        let namespace = if in_place { &floor.in_place_ns } else { &floor.copied_ns };
        // SAFETY: plain syscalls on an fd we hold.
        check(unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNS) } as i64)
            .unwrap_or_else(|e| fail("setns", e));
        if in_place {
            // The previous run's /proc (with its masks) and /tmp; none before the first.
            for target in [c"/proc", c"/tmp"] {
                // SAFETY: a plain syscall on a NUL-terminated path.
                match check(unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } as i64) {
                    Ok(_) | Err(libc::EINVAL) => {}
                    Err(e) => fail("detach the last run's mounts", e),
                }
            }
        } else {
            // SAFETY: a plain syscall.
            check(unsafe { libc::unshare(libc::CLONE_NEWNS) } as i64).unwrap_or_else(|e| fail("unshare", e));
        }
    }
    if level >= Level::Namespaces {
        for namespace in &floor.kept {
            // SAFETY: a plain syscall on an fd we hold.
            check(unsafe { libc::setns(namespace.as_raw_fd(), 0) } as i64).unwrap_or_else(|e| fail("setns", e));
        }
    }
    if level >= Level::Proc {
        let proc = if args.way == Way::ProcSubset { &floor.proc_subset } else { &floor.proc };
        proc.apply().unwrap_or_else(|e| fail("mount /proc", e));
    }
    if level >= Level::Masks && args.way != Way::ProcSubset {
        for mask in &floor.masks {
            mask.apply().unwrap_or_else(|e| fail("mask /proc", e));
        }
    }
    if level >= Level::Tmp {
        floor.tmp.apply().unwrap_or_else(|e| fail("mount /tmp", e));
    }
    if level < Level::Init {
        program(args);
    }
    let arg = args as *const RunArgs as *mut libc::c_void;
    let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
    // SAFETY: as in `Floor::run`, one level down: the program's side runs
    // on its own stack and we sleep until it execs or exits.
    let pid = unsafe { libc::clone(program_entry, floor.program_stack.top(), flags, arg) };
    if pid < 0 {
        fail("clone the program", libc::EAGAIN);
    }
    let status = wait_for_program(floor, pid, level >= Level::Trace);
    // What the judge's init does after the program: reap whatever is left
    // (nothing here; this wait answers ECHILD). The judge first kills what
    // is left with kill(-1) in its PID namespace, which this bench never calls.
    let mut ignored = 0;
    // SAFETY: reaps only our own children.
    unsafe { libc::wait4(-1, &mut ignored, libc::__WALL, std::ptr::null_mut()) };
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 121 };
    // SAFETY: ends this process only.
    unsafe { libc::_exit(code) }
}

/// Waits for the program like the judge's init: with `traced`, it handles
/// the stop after exec (asking for an exit stop) and reads the program's
/// /proc status at its exit stop.
fn wait_for_program(floor: &Floor, pid: i32, traced: bool) -> i32 {
    let mut status = 0;
    let mut options_set = false;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 writes only `status` and `usage`.
        let reaped = unsafe { libc::wait4(-1, &mut status, libc::__WALL, &mut usage) };
        if reaped == pid && traced && libc::WIFSTOPPED(status) {
            if status >> 16 == libc::PTRACE_EVENT_EXIT {
                read_status(&floor.status_path);
            } else if libc::WSTOPSIG(status) == libc::SIGTRAP && !options_set {
                options_set = true;
                let options = libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACEEXEC;
                // SAFETY: ptrace of our own stopped tracee.
                unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, options) };
            }
            // SAFETY: ptrace of our own stopped tracee.
            unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, 0) };
        } else if reaped == pid {
            return status;
        } else if reaped < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            fail("wait for the program", std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
        }
    }
}

/// Reads a /proc status file into a stack buffer, as the judge's init does
/// at the program's exit stop.
fn read_status(path: &CStr) {
    let mut buf = [0u8; 4096];
    // SAFETY: plain syscalls on our own buffer and a NUL-terminated path.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd >= 0 {
            libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len());
            libc::close(fd);
        }
    }
    std::hint::black_box(&buf);
}

extern "C" fn program_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `pid_one` passes its RunArgs and sleeps until we exec or exit.
    program(unsafe { &*(arg as *const RunArgs) })
}

/// The program's side: what the level asks for, then exec.
fn program(args: &RunArgs) -> ! {
    let (floor, level) = (args.floor, args.level);
    if level >= Level::Trace {
        for cap in 0..=63 {
            // SAFETY: a plain prctl.
            match check(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) } as i64) {
                Ok(_) => {}
                Err(libc::EINVAL) => break,
                Err(e) => fail("drop a bounding capability", e),
            }
        }
        // SAFETY: a plain ptrace request about ourselves.
        check(unsafe { libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) }).unwrap_or_else(|e| fail("PTRACE_TRACEME", e));
    }
    if level >= Level::Credentials {
        for (resource, limit) in &floor.rlimits {
            // SAFETY: prlimit of this process, reading one live rlimit.
            check(unsafe { libc::prlimit(0, *resource, limit, std::ptr::null_mut()) } as i64)
                .unwrap_or_else(|e| fail("setrlimit", e));
        }
        let id = floor.uid as libc::c_long;
        // Raw syscalls, not libc's wrappers: those would signal every thread
        // libc believes exists (the bench's, whose memory this shares).
        // SAFETY: plain syscalls changing this task's credentials only.
        unsafe {
            check(libc::syscall(libc::SYS_setgroups, 0, 0)).unwrap_or_else(|e| fail("setgroups", e));
            check(libc::syscall(libc::SYS_setresgid, id, id, id)).unwrap_or_else(|e| fail("setresgid", e));
            check(libc::syscall(libc::SYS_setresuid, id, id, id)).unwrap_or_else(|e| fail("setresuid", e));
            check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) as i64).unwrap_or_else(|e| fail("NNP", e));
            let prog = libc::sock_fprog { len: floor.filter.len() as u16, filter: floor.filter.as_ptr() as *mut _ };
            let rc = libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &prog as *const _);
            check(rc).unwrap_or_else(|e| fail("seccomp", e));
        }
    }
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: argv and envp are NULL-terminated and alive.
    unsafe { libc::execve(args.exec.argv[0], args.exec.argv.as_ptr(), envp.as_ptr()) };
    fail("execve", std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
}
