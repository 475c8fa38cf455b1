//! Code that runs inside the sandbox, between clone and exec.
//!
//! The sandbox's init is cloned from a possibly multi-threaded judge with
//! `CLONE_VM`: it shares the judge's memory (so no page tables are copied,
//! however large the judge is) and runs on a stack of its own. Until exec
//! nothing here may allocate, take a lock or touch `errno`: every string, the
//! mount plan and the seccomp programs are prepared by the parent, and only
//! raw syscalls (`sys.rs`) are made. Init joins the slot's namespaces, adds
//! the run's mounts, starts the program (PID 2), reaps every process of the
//! run, and reports to the host over a pipe.

use std::ffi::CString;

use super::mounts::MountPlan;
use super::sys;

/// Messages from init to the host, each one fixed-size write (atomic on a pipe).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Report {
    pub kind: i64,
    pub a: i64,
    pub b: i64,
    pub c: i64,
    pub d: i64,
    pub e: i64,
}

pub const REPORT_SETUP_FAILED: i64 = 1; // a = step, b = errno
pub const REPORT_READY: i64 = 2; // the root is built, the program is about to start
pub const REPORT_EXEC_FAILED: i64 = 3; // a = errno, b = stage
pub const REPORT_DONE: i64 = 4; // a = wait status, b = cpu µs of all processes, c = program maxrss kB, d = peak kB of the memory it started from, e = program's VmHWM kB at exit
pub const REPORT_RUNNING: i64 = 5; // the program has exec'd (until then it shares the judge's memory)

/// Stages of the program's own setup, reported with `REPORT_EXEC_FAILED`.
pub const STAGE_NAMES: &[&str] = &[
    "set rlimits",
    "drop capabilities",
    "set groups",
    "set gid",
    "set uid",
    "chdir",
    "no_new_privs",
    "seccomp",
    "exec",
];

/// Where init keeps the fds it is given: the program's stdio, its report
/// pipe, the slot's namespaces, then the run's detached binds.
const REPORT_FD: i32 = 3;
const MNT_NS_FD: i32 = 4;
const NET_NS_FD: i32 = 5;
const UTS_NS_FD: i32 = 6;
pub const FIRST_BIND_FD: i32 = 7;
/// At most this many fds can be handed to init.
pub const MAX_FDS: usize = 48;

/// Steps of init's own setup, reported as negative step numbers.
pub fn init_step_name(step: i64) -> &'static str {
    match step {
        -1 => "create the exec pipe",
        -2 => "fork the program",
        -3 => "join the slot's mount namespace",
        -4 => "join the slot's network namespace",
        -5 => "join the slot's UTS namespace",
        -6 => "copy the mount namespace",
        _ => "unknown step",
    }
}

/// Everything the child needs, prepared by the parent.
pub struct ChildPlan<'a> {
    pub mounts: &'a MountPlan,
    /// Fds in the parent, in the order init keeps them (see FIRST_BIND_FD).
    pub fds: &'a [i32],
    pub candidates: &'a [CString],
    pub argv: &'a [*const libc::c_char],
    pub envp: &'a [*const libc::c_char],
    pub cwd: &'a CString,
    pub uid: u32,
    pub rlimits: &'a [(libc::__rlimit_resource_t, u64)],
    pub filters: [&'a [libc::sock_filter]; 2],
    /// PROGRAM_STACK_BYTES of memory for the program's side before exec.
    pub program_stack: *mut u8,
}

/// Size of the stacks init and the program's side run on until exec.
pub const INIT_STACK_BYTES: usize = 256 * 1024;
pub const PROGRAM_STACK_BYTES: usize = 128 * 1024;

/// The 16-byte aligned top of a stack.
pub fn stack_top(stack: *mut u8, len: usize) -> *mut libc::c_void {
    (stack.wrapping_add(len) as usize & !15) as *mut libc::c_void
}

/// Entry point for `clone(CLONE_VM)`: `arg` is the `ChildPlan`.
pub extern "C" fn init_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: the parent passes its ChildPlan and keeps it alive until init is reaped.
    init_main(unsafe { &*(arg as *const ChildPlan) })
}

fn report(r: Report) {
    let _ = sys::write(REPORT_FD, sys::as_bytes(&r));
}

fn setup_failed(step: i64, err: i32) -> ! {
    report(Report { kind: REPORT_SETUP_FAILED, a: step, b: err as i64, ..Default::default() });
    sys::exit(1)
}

/// Moves `fds[i]` to fd number `i` and closes every other fd, without
/// allocating. False if an fd could not be moved.
pub fn keep_only(fds: &[i32]) -> bool {
    let mut high = [0i32; MAX_FDS];
    if fds.len() > MAX_FDS {
        return false;
    }
    // First above every target, so no dup below overwrites a source.
    for (i, fd) in fds.iter().enumerate() {
        // SAFETY: fcntl(F_DUPFD_CLOEXEC) only creates an fd.
        match unsafe { sys::syscall(libc::SYS_fcntl, &[*fd as usize, libc::F_DUPFD_CLOEXEC as usize, MAX_FDS]) } {
            Ok(new) => high[i] = new as i32,
            Err(_) => return false,
        }
    }
    for (i, fd) in high[..fds.len()].iter().enumerate() {
        // dup3 without O_CLOEXEC: the new fd stays open across exec.
        // SAFETY: dup3 only changes the fd table.
        if unsafe { sys::syscall(libc::SYS_dup3, &[*fd as usize, i, 0]) }.is_err() {
            return false;
        }
    }
    sys::close_from(fds.len() as i32);
    true
}

/// The sandbox's PID 1. Never returns.
pub fn init_main(plan: &ChildPlan) -> ! {
    // SAFETY: raw syscalls on valid arguments; see the module comment.
    unsafe {
        // The judge's signal handlers are in the memory init shares; none of
        // them may run here. wait4 needs no SIGCHLD, and SIGKILL cannot be blocked.
        sys::set_signal_mask(true);
        let _ = sys::syscall(libc::SYS_prctl, &[libc::PR_SET_PDEATHSIG as usize, libc::SIGKILL as usize]);
        if !keep_only(plan.fds) {
            sys::exit(2);
        }
        let _ = sys::syscall(libc::SYS_fcntl, &[REPORT_FD as usize, libc::F_SETFD as usize, libc::FD_CLOEXEC as usize]);
        let joins = [
            (MNT_NS_FD, libc::CLONE_NEWNS, -3),
            (NET_NS_FD, libc::CLONE_NEWNET, -4),
            (UTS_NS_FD, libc::CLONE_NEWUTS, -5),
        ];
        for (fd, kind, step) in joins {
            if let Err(err) = sys::syscall(libc::SYS_setns, &[fd as usize, kind as usize]) {
                setup_failed(step, err);
            }
        }
        // A private copy of the skeleton, so this run's mounts are its own.
        if let Err(err) = sys::syscall(libc::SYS_unshare, &[libc::CLONE_NEWNS as usize]) {
            setup_failed(-6, err);
        }
        if let Err((step, err)) = plan.mounts.execute() {
            setup_failed(step as i64, err);
        }
        // The namespace fds and detached binds are used up; keep only 0..=3.
        sys::close_from(MNT_NS_FD);
        report(Report { kind: REPORT_READY, ..Default::default() });

        let carry_kb = own_peak_kb();
        let mut exec_pipe = [0i32; 2];
        if let Err(err) = sys::syscall(libc::SYS_pipe2, &[exec_pipe.as_mut_ptr() as usize, libc::O_CLOEXEC as usize]) {
            setup_failed(-1, err);
        }
        // vfork-style: the program shares this memory until it execs, so no
        // page tables are copied and no atfork handler runs. Init sleeps
        // until the exec. libc's clone wrapper touches no TLS in the child.
        let mut args = ProgramArgs { plan, exec_read: exec_pipe[0], exec_write: exec_pipe[1] };
        let pid = libc::clone(
            program_entry,
            stack_top(plan.program_stack, PROGRAM_STACK_BYTES),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &mut args as *mut ProgramArgs as *mut libc::c_void,
        );
        sys::close(exec_pipe[1]);
        sys::close(0);
        sys::close(1);
        sys::close(2);
        if pid < 0 {
            setup_failed(-2, libc::EAGAIN);
        }
        let mut failure = [0i32; 2];
        if sys::read(exec_pipe[0], sys::as_bytes_mut(&mut failure)) == Ok(8) {
            report(Report {
                kind: REPORT_EXEC_FAILED,
                a: failure[0] as i64,
                b: failure[1] as i64,
                ..Default::default()
            });
        } else {
            report(Report { kind: REPORT_RUNNING, ..Default::default() });
        }
        sys::close(exec_pipe[0]);

        // Reap everything until the program itself exits. The program is
        // traced (PTRACE_TRACEME before its exec) only so that its exit
        // stops it while its memory still exists: that is when its exact
        // peak (VmHWM) is read. Signals are passed on unchanged; stop
        // signals are dropped (nobody would continue the program).
        let mut status = 0i32;
        let mut usage: libc::rusage = std::mem::zeroed();
        let mut exit_peak_kb = 0i64;
        let mut options_set = false;
        loop {
            let reaped = sys::syscall(
                libc::SYS_wait4,
                &[
                    usize::MAX,
                    &mut status as *mut i32 as usize,
                    libc::__WALL as usize,
                    &mut usage as *mut libc::rusage as usize,
                ],
            );
            match reaped {
                Ok(p) if p as i32 == pid && libc::WIFSTOPPED(status) => {
                    let signal = libc::WSTOPSIG(status);
                    let deliver = if status >> 16 == libc::PTRACE_EVENT_EXIT {
                        exit_peak_kb = peak_kb_of(pid);
                        0
                    } else if status >> 16 == libc::PTRACE_EVENT_EXEC {
                        // A later exec of the program (a launcher script's
                        // `exec java ...`): nothing to deliver.
                        0
                    } else if signal == libc::SIGTRAP && !options_set {
                        // The stop after the first exec: ask to be told of the
                        // exit, and of later execs as events (without
                        // TRACEEXEC each one would raise a real SIGTRAP).
                        options_set = true;
                        let options =
                            (libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACEEXEC) as usize;
                        let _ = sys::syscall(
                            libc::SYS_ptrace,
                            &[libc::PTRACE_SETOPTIONS as usize, pid as usize, 0, options],
                        );
                        0
                    } else if matches!(signal, libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU) {
                        0
                    } else {
                        signal
                    };
                    let _ = sys::syscall(
                        libc::SYS_ptrace,
                        &[libc::PTRACE_CONT as usize, pid as usize, 0, deliver as usize],
                    );
                }
                Ok(p) if p as i32 == pid => break,
                Err(libc::EINTR) | Ok(_) => {}
                Err(_) => break,
            }
        }
        let program_maxrss = usage.ru_maxrss;
        // Then end whatever it left behind (daemons included) and reap it too.
        let _ = sys::syscall(libc::SYS_kill, &[usize::MAX, libc::SIGKILL as usize]);
        let mut ignored = 0i32;
        let reap_any = [usize::MAX, &mut ignored as *mut i32 as usize, libc::__WALL as usize, 0];
        while let Ok(_) | Err(libc::EINTR) = sys::syscall(libc::SYS_wait4, &reap_any) {}
        let mut all: libc::rusage = std::mem::zeroed();
        let _ = sys::syscall(
            libc::SYS_getrusage,
            &[libc::RUSAGE_CHILDREN as usize, &mut all as *mut libc::rusage as usize],
        );
        let micros = |t: libc::timeval| t.tv_sec * 1_000_000 + t.tv_usec;
        report(Report {
            kind: REPORT_DONE,
            a: status as i64,
            b: micros(all.ru_utime) + micros(all.ru_stime),
            c: program_maxrss,
            d: carry_kb,
            e: exit_peak_kb,
        });
        sys::exit(0);
    }
}

struct ProgramArgs<'a> {
    plan: &'a ChildPlan<'a>,
    exec_read: i32,
    exec_write: i32,
}

extern "C" fn program_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: arg is the ProgramArgs init passed to clone, alive while init sleeps.
    let args = unsafe { &*(arg as *const ProgramArgs) };
    sys::close(args.exec_read);
    // SAFETY: raw syscalls on arguments the parent prepared.
    unsafe { program_main(args.plan, args.exec_write) }
}

/// The judged program's side: credentials, limits, seccomp, exec.
unsafe fn program_main(plan: &ChildPlan, exec_pipe: i32) -> ! {
    let fail = |stage: i32, err: i32| -> ! {
        let _ = sys::write(exec_pipe, sys::as_bytes(&[err, stage]));
        sys::exit(127);
    };
    sys::close(REPORT_FD);
    // The program starts with default signal actions and nothing blocked.
    sys::default_signal_actions();
    sys::set_signal_mask(false);
    for &(resource, value) in plan.rlimits {
        let lim = libc::rlimit { rlim_cur: value, rlim_max: value };
        let rc = sys::syscall(libc::SYS_prlimit64, &[0, resource as usize, &lim as *const libc::rlimit as usize, 0]);
        if let Err(err) = rc {
            fail(0, err);
        }
    }
    // Empty the bounding set; EINVAL marks the first capability this kernel
    // does not have. Anything else (EPERM without CAP_SETPCAP) is a failure.
    for cap in 0..=63usize {
        match sys::syscall(libc::SYS_prctl, &[libc::PR_CAPBSET_DROP as usize, cap]) {
            Ok(_) => {}
            Err(libc::EINVAL) => break,
            Err(err) => fail(1, err),
        }
    }
    // Let init trace this process, to read its peak memory at exit. Without
    // it (ptrace refused, as in some containers) only the samples measure.
    let _ = sys::syscall(libc::SYS_ptrace, &[libc::PTRACE_TRACEME as usize, 0, 0, 0]);
    // Raw syscalls, not libc's wrappers: those broadcast the change to every
    // thread libc believes exists (the judge's, whose memory this shares).
    let id = plan.uid as usize;
    let steps: [(i64, [usize; 3], i32); 3] = [
        (libc::SYS_setgroups, [0, 0, 0], 2),
        (libc::SYS_setresgid, [id, id, id], 3),
        (libc::SYS_setresuid, [id, id, id], 4),
    ];
    for (nr, args, stage) in steps {
        if let Err(err) = sys::syscall(nr, &args) {
            fail(stage, err);
        }
    }
    if let Err(err) = sys::syscall(libc::SYS_chdir, &[plan.cwd.as_ptr() as usize]) {
        fail(5, err);
    }
    if let Err(err) = sys::syscall(libc::SYS_prctl, &[libc::PR_SET_NO_NEW_PRIVS as usize, 1, 0, 0, 0]) {
        fail(6, err);
    }
    for filter in plan.filters {
        if let Err(err) = super::seccomp::install(filter) {
            fail(7, err);
        }
    }
    let mut last = libc::ENOENT;
    for candidate in plan.candidates {
        let err = match sys::syscall(
            libc::SYS_execve,
            &[candidate.as_ptr() as usize, plan.argv.as_ptr() as usize, plan.envp.as_ptr() as usize],
        ) {
            Ok(_) => continue,
            Err(err) => err,
        };
        // Keep searching PATH only past "not here"; report anything else.
        if err != libc::ENOENT && err != libc::ENOTDIR {
            last = err;
            break;
        }
    }
    fail(8, last);
}

/// VmHWM (peak resident memory) of the calling process's memory in kB. The
/// program starts from this memory, so its `ru_maxrss` starts at least this high.
unsafe fn own_peak_kb() -> i64 {
    vm_hwm_kb(c"/proc/self/status".as_ptr())
}

/// VmHWM of process `pid` (of init's PID namespace) in kB.
unsafe fn peak_kb_of(pid: i32) -> i64 {
    // "/proc/<pid>/status", built without allocating.
    let mut path = [0u8; 32];
    let prefix = b"/proc/";
    path[..prefix.len()].copy_from_slice(prefix);
    let mut digits = [0u8; 10];
    let mut n = 0;
    let mut rest = pid.max(0) as u32;
    loop {
        digits[n] = b'0' + (rest % 10) as u8;
        n += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut at = prefix.len();
    for i in (0..n).rev() {
        path[at] = digits[i];
        at += 1;
    }
    let suffix = b"/status";
    path[at..at + suffix.len()].copy_from_slice(suffix);
    vm_hwm_kb(path.as_ptr() as *const libc::c_char)
}

/// The VmHWM line of a /proc status file, read without allocating.
unsafe fn vm_hwm_kb(path: *const libc::c_char) -> i64 {
    let flags = libc::O_RDONLY as usize | libc::O_CLOEXEC as usize;
    let Ok(fd) = sys::syscall(libc::SYS_openat, &[libc::AT_FDCWD as usize, path as usize, flags]) else {
        return 0;
    };
    let mut buf = [0u8; 4096];
    let n = sys::read(fd as i32, &mut buf).unwrap_or(0);
    sys::close(fd as i32);
    let text = &buf[..n.min(buf.len())];
    let key = b"VmHWM:";
    let Some(at) = text.windows(key.len()).position(|w| w == key) else { return 0 };
    let digits = text[at + key.len()..].iter().skip_while(|b| !b.is_ascii_digit());
    digits.take_while(|b| b.is_ascii_digit()).fold(0i64, |acc, b| acc * 10 + (b - b'0') as i64)
}
