//! Code that runs inside the sandbox, between clone and exec.
//!
//! The sandbox's init is cloned from a possibly multi-threaded judge, so
//! until exec nothing here may allocate or take a lock: every string, the
//! mount plan and the seccomp programs are prepared by the parent, and only
//! raw syscalls are made. Init builds the root, forks the program (PID 2),
//! reaps every process of the run, and reports to the host over a pipe.

use std::ffi::CString;

use super::mounts::{errno, MountPlan};

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
pub const REPORT_DONE: i64 = 4; // a = wait status, b = cpu µs of all processes, c = program maxrss kB, d = init's rss kB before fork

/// Stages of the program's own setup, reported with `REPORT_EXEC_FAILED`.
pub const STAGE_NAMES: &[&str] =
    &["set rlimits", "drop capabilities", "set groups", "set gid", "set uid", "chdir", "no_new_privs", "seccomp", "exec"];

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

fn report(r: Report) {
    let bytes = std::mem::size_of::<Report>();
    // SAFETY: writing a plain-old-data struct.
    unsafe { libc::write(REPORT_FD, &r as *const Report as *const libc::c_void, bytes) };
}

fn setup_failed(step: i64, err: i32) -> ! {
    report(Report { kind: REPORT_SETUP_FAILED, a: step, b: err as i64, ..Default::default() });
    // SAFETY: exiting the child.
    unsafe { libc::_exit(1) }
}

/// Moves `fds[i]` to fd number `i` and closes every other fd, without
/// allocating. False if an fd could not be moved.
pub unsafe fn keep_only(fds: &[i32]) -> bool {
    let mut high = [0i32; MAX_FDS];
    if fds.len() > MAX_FDS {
        return false;
    }
    // First above every target, so no dup2 below overwrites a source.
    for (i, fd) in fds.iter().enumerate() {
        high[i] = libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, MAX_FDS as libc::c_int);
        if high[i] < 0 {
            return false;
        }
    }
    for (i, fd) in high[..fds.len()].iter().enumerate() {
        // dup2 clears FD_CLOEXEC on the new fd.
        if libc::dup2(*fd, i as i32) < 0 {
            return false;
        }
    }
    libc::syscall(libc::SYS_close_range, fds.len() as u32, u32::MAX, 0u32);
    true
}

/// The sandbox's PID 1. Never returns.
pub fn init_main(plan: &ChildPlan) -> ! {
    // SAFETY: raw syscalls only; see the module comment.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if !keep_only(plan.fds) {
            libc::_exit(2);
        }
        libc::fcntl(REPORT_FD, libc::F_SETFD, libc::FD_CLOEXEC);
        let joins = [
            (MNT_NS_FD, libc::CLONE_NEWNS, -3),
            (NET_NS_FD, libc::CLONE_NEWNET, -4),
            (UTS_NS_FD, libc::CLONE_NEWUTS, -5),
        ];
        for (fd, kind, step) in joins {
            if libc::setns(fd, kind) != 0 {
                setup_failed(step, errno());
            }
        }
        // A private copy of the skeleton, so this run's mounts are its own.
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            setup_failed(-6, errno());
        }
        if let Err((step, err)) = plan.mounts.execute() {
            setup_failed(step as i64, err);
        }
        // The namespace fds and detached binds are used up; keep only 0..=3.
        libc::syscall(libc::SYS_close_range, MNT_NS_FD as u32, u32::MAX, 0u32);
        report(Report { kind: REPORT_READY, ..Default::default() });

        let carry_kb = own_rss_kb();
        let mut exec_pipe = [0i32; 2];
        if libc::pipe2(exec_pipe.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            setup_failed(-1, errno());
        }
        // vfork-style: the program shares init's memory until it execs, so
        // no page tables are copied, and libc's atfork handlers (whose locks
        // a judge thread that does not exist here may hold) never run. Init
        // sleeps until the exec, so the shared stack and errno are safe.
        let mut args = ProgramArgs { plan, exec_read: exec_pipe[0], exec_write: exec_pipe[1] };
        let stack_top = (plan.program_stack.add(PROGRAM_STACK_BYTES) as usize & !15) as *mut libc::c_void;
        let pid = libc::clone(
            program_entry,
            stack_top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &mut args as *mut ProgramArgs as *mut libc::c_void,
        );
        libc::close(exec_pipe[1]);
        libc::close(0);
        libc::close(1);
        libc::close(2);
        if pid < 0 {
            setup_failed(-2, errno());
        }
        let mut failure = [0i32; 2];
        let n = libc::read(exec_pipe[0], failure.as_mut_ptr() as *mut libc::c_void, 8);
        if n == 8 {
            report(Report { kind: REPORT_EXEC_FAILED, a: failure[0] as i64, b: failure[1] as i64, ..Default::default() });
        }
        libc::close(exec_pipe[0]);

        // Reap everything until the program itself exits.
        let mut status = 0;
        let mut usage: libc::rusage = std::mem::zeroed();
        loop {
            let reaped = libc::wait4(-1, &mut status, libc::__WALL, &mut usage);
            if reaped == pid {
                break;
            }
            if reaped < 0 && errno() != libc::EINTR {
                break;
            }
        }
        let program_maxrss = usage.ru_maxrss;
        // Then end whatever it left behind (daemons included) and reap it too.
        libc::kill(-1, libc::SIGKILL);
        let mut ignored = 0;
        while libc::wait4(-1, &mut ignored, libc::__WALL, std::ptr::null_mut()) > 0 || errno() == libc::EINTR {}

        let mut all: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut all);
        let micros = |t: libc::timeval| t.tv_sec * 1_000_000 + t.tv_usec;
        report(Report {
            kind: REPORT_DONE,
            a: status as i64,
            b: micros(all.ru_utime) + micros(all.ru_stime),
            c: program_maxrss,
            d: carry_kb,
            e: 0,
        });
        libc::_exit(0);
    }
}

/// Size of the stack the program's side runs on until exec.
pub const PROGRAM_STACK_BYTES: usize = 128 * 1024;

struct ProgramArgs<'a> {
    plan: &'a ChildPlan<'a>,
    exec_read: i32,
    exec_write: i32,
}

extern "C" fn program_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: arg is the ProgramArgs init passed to clone, alive while init sleeps.
    unsafe {
        let args = &*(arg as *const ProgramArgs);
        libc::close(args.exec_read);
        program_main(args.plan, args.exec_write)
    }
}

/// The judged program's side: credentials, limits, seccomp, exec.
unsafe fn program_main(plan: &ChildPlan, exec_pipe: i32) -> ! {
    let fail = |stage: i32| -> ! {
        let msg = [errno(), stage];
        libc::write(exec_pipe, msg.as_ptr() as *const libc::c_void, 8);
        libc::_exit(127);
    };
    libc::close(REPORT_FD);
    for &(resource, value) in plan.rlimits {
        let lim = libc::rlimit { rlim_cur: value, rlim_max: value };
        if libc::setrlimit(resource, &lim) != 0 {
            fail(0);
        }
    }
    // Empty the bounding set; EINVAL marks the first capability this kernel
    // does not have. Anything else (EPERM without CAP_SETPCAP) is a failure.
    for cap in 0..=63 {
        if libc::prctl(libc::PR_CAPBSET_DROP, cap) != 0 {
            if errno() == libc::EINVAL {
                break;
            }
            fail(1);
        }
    }
    // Raw syscalls, not libc's wrappers: those broadcast the change to every
    // thread libc believes exists, and threads of the judge copied into
    // libc's bookkeeping by clone would never answer.
    let id = plan.uid as libc::c_long;
    if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0 {
        fail(2);
    }
    if libc::syscall(libc::SYS_setresgid, id, id, id) != 0 {
        fail(3);
    }
    if libc::syscall(libc::SYS_setresuid, id, id, id) != 0 {
        fail(4);
    }
    if libc::chdir(plan.cwd.as_ptr()) != 0 {
        fail(5);
    }
    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
        fail(6);
    }
    for filter in plan.filters {
        let err = super::seccomp::install(filter);
        if err != 0 {
            *libc::__errno_location() = err;
            fail(7);
        }
    }
    let mut last = libc::ENOENT;
    for candidate in plan.candidates {
        libc::execve(candidate.as_ptr(), plan.argv.as_ptr(), plan.envp.as_ptr());
        let err = errno();
        // Keep searching PATH only past "not here"; report anything else.
        if err != libc::ENOENT && err != libc::ENOTDIR {
            last = err;
            break;
        }
    }
    *libc::__errno_location() = last;
    fail(8);
}

/// VmRSS of the calling process in kB, read without allocating. The program
/// is forked from init, so its `ru_maxrss` starts at least this high.
unsafe fn own_rss_kb() -> i64 {
    let fd = libc::open(c"/proc/self/statm".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return 0;
    }
    let mut buf = [0u8; 128];
    let n = libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len());
    libc::close(fd);
    if n <= 0 {
        return 0;
    }
    // statm: size resident shared ... (pages)
    let mut fields = buf[..n as usize].split(|b| *b == b' ');
    fields.next();
    let resident = fields.next().map(parse_u64).unwrap_or(0);
    (resident * (libc::sysconf(libc::_SC_PAGESIZE) as u64) / 1024) as i64
}

fn parse_u64(digits: &[u8]) -> u64 {
    digits.iter().take_while(|b| b.is_ascii_digit()).fold(0, |acc, b| acc * 10 + (b - b'0') as u64)
}
