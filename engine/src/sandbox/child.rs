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
use super::namespaces::{RUN_UNSHARE_FLAGS, SLOT_KEPT};
use super::protocol::{Done, ExecFailure, ExecStage, InitStep, SetupStep, WireReport};
use super::sys;
use super::trace::{wait_for_program, Handshake};

/// Where init keeps the fds it is given: the program's stdio, its report
/// pipe, the slot's namespaces (in the order of `SLOT_KEPT`), then the
/// run's detached binds.
const REPORT_FD: i32 = 3;
const FIRST_NAMESPACE_FD: i32 = 4;
pub const FIRST_BIND_FD: i32 = FIRST_NAMESPACE_FD + SLOT_KEPT.len() as i32;
/// At most this many fds can be handed to init.
pub const MAX_FDS: usize = 48;

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
    /// The seccomp program (`seccomp.rs`).
    pub filter: &'a [libc::sock_filter],
    /// Top of the stack the program's side runs on until exec
    /// (PROGRAM_STACK_BYTES, with a guard page below).
    pub program_stack_top: *mut libc::c_void,
}

/// Size of the stacks init and the program's side run on until exec.
pub const INIT_STACK_BYTES: usize = 256 * 1024;
pub const PROGRAM_STACK_BYTES: usize = 128 * 1024;

/// Entry point for `clone(CLONE_VM)`: `arg` is the `ChildPlan`.
pub extern "C" fn init_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: the parent passes its ChildPlan and keeps it alive until init is reaped.
    let plan = unsafe { &*(arg as *const ChildPlan) };
    init_main(plan)
}

fn report(r: WireReport) {
    let _ = sys::write(REPORT_FD, r.as_bytes());
}

fn setup_failed(step: SetupStep, err: i32) -> ! {
    report(WireReport::setup_failed(step, err));
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
        match sys::dup_above(*fd, MAX_FDS) {
            Ok(new) => high[i] = new,
            Err(_) => return false,
        }
    }
    for (i, fd) in high[..fds.len()].iter().enumerate() {
        if sys::dup_onto(*fd, i as i32).is_err() {
            return false;
        }
    }
    sys::close_from(fds.len() as i32);
    true
}

/// The sandbox's PID 1. Never returns.
fn init_main(plan: &ChildPlan) -> ! {
    // The judge's signal handlers are in the memory init shares; none of
    // them may run here. wait4 needs no SIGCHLD, and SIGKILL cannot be blocked.
    sys::set_signal_mask(true);
    let _ = sys::set_parent_death_signal(libc::SIGKILL);
    if !keep_only(plan.fds) {
        sys::exit(2);
    }
    let _ = sys::set_cloexec(REPORT_FD);
    for (fd, namespace) in (FIRST_NAMESPACE_FD..).zip(SLOT_KEPT) {
        if let Err(err) = sys::setns(fd, namespace.flag) {
            setup_failed(SetupStep::Init(namespace.join_step), err);
        }
    }
    // A private copy of the skeleton, so this run's mounts are its own.
    if let Err(err) = sys::unshare(RUN_UNSHARE_FLAGS) {
        setup_failed(SetupStep::Init(InitStep::CopyMountNamespace), err);
    }
    if let Err((step, err)) = plan.mounts.execute() {
        setup_failed(step, err);
    }
    // The namespace fds and detached binds are used up; keep only 0..=3.
    sys::close_from(FIRST_NAMESPACE_FD);
    report(WireReport::ready());

    let [exec_read, exec_write] = match sys::pipe() {
        Ok(fds) => fds,
        Err(err) => setup_failed(SetupStep::Init(InitStep::CreateExecPipe), err),
    };
    // The program shares this memory until it execs, so no page tables are
    // copied and no atfork handler runs; it runs on a stack of its own.
    // Not vfork: init seizes it meanwhile (`trace.rs`), and until the exec
    // pipe says it exec'd or failed, init leaves `args` alone (this frame
    // never returns) but for the handshake word. libc's clone wrapper
    // touches no TLS in the child.
    let args = ProgramArgs { plan, exec_read, exec_write, tracing: Handshake::new() };
    let flags = libc::CLONE_VM | libc::SIGCHLD;
    let args_ptr = &args as *const ProgramArgs as *mut libc::c_void;
    // SAFETY: the program's side runs `program_entry` on its own guarded
    // stack, reads only `args` (alive: init_main never returns) and makes
    // raw syscalls only.
    let pid = unsafe { libc::clone(program_entry, plan.program_stack_top, flags, args_ptr) };
    let seized = pid > 0 && args.tracing.seize(pid);
    sys::close(exec_write);
    sys::close(0);
    sys::close(1);
    sys::close(2);
    if pid < 0 {
        setup_failed(SetupStep::Init(InitStep::ForkProgram), libc::EAGAIN);
    }
    let mut failure = ExecFailure::default();
    let failed = sys::read(exec_read, bytemuck::bytes_of_mut(&mut failure)) == Ok(std::mem::size_of::<ExecFailure>());
    // The program's setuid, made on the judge's memory, left the judge
    // undumpable; then its /proc files (and those of every process it
    // clones) need CAP_SYS_PTRACE to open, which a container may not grant.
    // The program runs on memory of its own now (or is failing), so undo it.
    let _ = sys::set_dumpable();
    if failed {
        report(WireReport::exec_failed(failure.stage, failure.errno));
    } else {
        report(WireReport::running());
    }
    sys::close(exec_read);
    // The program's ru_maxrss includes the peak of the judge's memory it
    // ran on until exec; that peak only grows, so read after the exec it
    // bounds what the program inherited (read before, the judge's threads
    // could raise it in between and pass their memory off as the program's).
    let inherited_peak_kb = sys::self_usage().ru_maxrss;

    let end = wait_for_program(pid, seized);
    // Then end whatever it left behind (daemons included) and reap it too.
    let _ = sys::kill(-1, libc::SIGKILL);
    let mut ignored = 0i32;
    while let Ok(_) | Err(libc::EINTR) = sys::wait4(-1, &mut ignored, libc::__WALL, None) {}
    let all = sys::children_usage();
    let micros = |t: libc::timeval| (t.tv_sec * 1_000_000 + t.tv_usec).max(0) as u64;
    report(WireReport::done(Done {
        wait_status: end.status,
        cpu_us: micros(all.ru_utime) + micros(all.ru_stime),
        maxrss_kb: end.maxrss_kb.max(0) as u64,
        inherited_peak_kb: inherited_peak_kb.max(0) as u64,
        exit_peak_kb: end.exit_peak_kb.max(0) as u64,
    }));
    sys::exit(0);
}

struct ProgramArgs<'a> {
    plan: &'a ChildPlan<'a>,
    exec_read: i32,
    exec_write: i32,
    /// Settles whether init seized the program (`trace.rs`).
    tracing: Handshake,
}

extern "C" fn program_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: arg is the ProgramArgs init passed to clone, alive while init lives.
    let args = unsafe { &*(arg as *const ProgramArgs) };
    sys::close(args.exec_read);
    program_main(args)
}

/// The judged program's side: credentials, limits, seccomp, exec.
fn program_main(args: &ProgramArgs) -> ! {
    let (plan, exec_pipe) = (args.plan, args.exec_write);
    let fail = |stage: ExecStage, errno: i32| -> ! {
        let _ = sys::write(exec_pipe, bytemuck::bytes_of(&ExecFailure { errno, stage: stage as i32 }));
        sys::exit(127);
    };
    sys::close(REPORT_FD);
    // The program starts with default signal actions and nothing blocked.
    // Signals stay blocked (as in init) until just before the exec: init
    // waits for the exec, so a signal must not stop this side for its
    // tracer before then.
    sys::default_signal_actions();
    for &(resource, value) in plan.rlimits {
        if let Err(err) = sys::set_rlimit(resource, value) {
            fail(ExecStage::SetRlimits, err);
        }
    }
    // Empty the bounding set; EINVAL marks the first capability this kernel
    // does not have. Anything else (EPERM without CAP_SETPCAP) is a failure.
    for cap in 0..=63usize {
        match sys::drop_bounding_capability(cap) {
            Ok(_) => {}
            Err(libc::EINVAL) => break,
            Err(err) => fail(ExecStage::DropCapabilities, err),
        }
    }
    // Raw syscalls, not libc's wrappers: those broadcast the change to every
    // thread libc believes exists (the judge's, whose memory this shares).
    if let Err(err) = sys::clear_groups() {
        fail(ExecStage::SetGroups, err);
    }
    if let Err(err) = sys::set_gid(plan.uid) {
        fail(ExecStage::SetGid, err);
    }
    if let Err(err) = sys::set_uid(plan.uid) {
        fail(ExecStage::SetUid, err);
    }
    if let Err(err) = sys::chdir(plan.cwd) {
        fail(ExecStage::Chdir, err);
    }
    if let Err(err) = sys::set_no_new_privs() {
        fail(ExecStage::NoNewPrivs, err);
    }
    // Traced by init, to have its peak memory read at exit; before
    // seccomp, which refuses ptrace.
    args.tracing.be_traced();
    if let Err(err) = super::seccomp::install(plan.filter) {
        fail(ExecStage::Seccomp, err);
    }
    sys::set_signal_mask(false);
    let mut last = libc::ENOENT;
    for candidate in plan.candidates {
        // SAFETY: argv and envp are NULL-terminated arrays of C strings the
        // parent built and keeps alive.
        let err = unsafe { sys::execve(candidate, plan.argv.as_ptr(), plan.envp.as_ptr()) };
        // Keep searching PATH only past "not here"; report anything else.
        if err != libc::ENOENT && err != libc::ENOTDIR {
            last = err;
            break;
        }
    }
    fail(ExecStage::Exec, last);
}
