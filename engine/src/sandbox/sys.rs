//! Raw Linux syscalls for the code between clone and exec.
//!
//! The sandbox's init shares the judge's memory (`CLONE_VM`, so starting a
//! run copies no page tables), and with it the calling thread's TLS. libc's
//! wrappers store failures in that TLS's `errno`, which the judge thread is
//! using at the same moment; these wrappers touch no memory but their
//! arguments and return the error number instead. x86_64 only, like the
//! seccomp filter.

use std::arch::asm;
use std::ffi::CStr;

/// A syscall result: the return value, or the error number.
pub type SysResult = Result<usize, i32>;

/// # Safety
/// The arguments must be valid for syscall `nr`.
#[inline(always)]
pub unsafe fn syscall6(nr: i64, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, a6: usize) -> SysResult {
    let ret: isize;
    asm!(
        "syscall",
        inlateout("rax") nr as isize => ret,
        in("rdi") a1,
        in("rsi") a2,
        in("rdx") a3,
        in("r10") a4,
        in("r8") a5,
        in("r9") a6,
        lateout("rcx") _,
        lateout("r11") _,
        options(nostack),
    );
    if (-4095..0).contains(&ret) {
        Err(-ret as i32)
    } else {
        Ok(ret as usize)
    }
}

/// # Safety
/// See `syscall6`.
#[inline(always)]
pub unsafe fn syscall(nr: i64, args: &[usize]) -> SysResult {
    let a = |i: usize| args.get(i).copied().unwrap_or(0);
    syscall6(nr, a(0), a(1), a(2), a(3), a(4), a(5))
}

/// Success or the error number, for calls whose return value is not needed.
pub fn ok(result: SysResult) -> Result<(), i32> {
    result.map(|_| ())
}

pub fn exit(code: i32) -> ! {
    // SAFETY: exit_group ends the calling process (init's or the program's
    // own thread group; they share memory, not a thread group, with the judge).
    unsafe {
        let _ = syscall6(libc::SYS_exit_group, code as usize, 0, 0, 0, 0, 0);
    }
    loop {
        std::hint::spin_loop();
    }
}

pub fn write(fd: i32, bytes: &[u8]) -> SysResult {
    // SAFETY: the buffer is valid for its length.
    unsafe { syscall(libc::SYS_write, &[fd as usize, bytes.as_ptr() as usize, bytes.len()]) }
}

pub fn read(fd: i32, buf: &mut [u8]) -> SysResult {
    // SAFETY: the buffer is valid and writable for its length.
    unsafe { syscall(libc::SYS_read, &[fd as usize, buf.as_mut_ptr() as usize, buf.len()]) }
}

pub fn close(fd: i32) {
    // SAFETY: closing an fd number is always memory-safe.
    let _ = unsafe { syscall(libc::SYS_close, &[fd as usize]) };
}

pub fn close_from(first: i32) {
    // SAFETY: close_range only closes fds.
    let _ = unsafe { syscall(libc::SYS_close_range, &[first as usize, u32::MAX as usize, 0]) };
}

/// The kernel's `struct sigaction` for x86_64 `rt_sigaction`.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// Sets the signal mask: all blockable signals when `block_all`, none otherwise.
pub fn set_signal_mask(block_all: bool) {
    let mask: u64 = if block_all { !0 } else { 0 };
    // SAFETY: rt_sigprocmask reads an 8-byte mask.
    let _ =
        unsafe { syscall(libc::SYS_rt_sigprocmask, &[libc::SIG_SETMASK as usize, &mask as *const u64 as usize, 0, 8]) };
}

/// Resets every signal to its default action. Handlers reset
/// themselves at exec, but ignored signals stay ignored (Rust ignores SIGPIPE).
pub fn default_signal_actions() {
    let action = KernelSigaction { handler: 0, flags: 0, restorer: 0, mask: 0 };
    for signal in 1..=64usize {
        if signal == libc::SIGKILL as usize || signal == libc::SIGSTOP as usize {
            continue;
        }
        // SAFETY: rt_sigaction reads a valid kernel sigaction of sigsetsize 8.
        let _ = unsafe { syscall(libc::SYS_rt_sigaction, &[signal, &action as *const KernelSigaction as usize, 0, 8]) };
    }
}

/// Restores the flags of `fd` to close-on-exec.
pub fn set_cloexec(fd: i32) -> Result<(), i32> {
    // SAFETY: fcntl(F_SETFD) only changes a flag of the fd table.
    ok(unsafe { syscall(libc::SYS_fcntl, &[fd as usize, libc::F_SETFD as usize, libc::FD_CLOEXEC as usize]) })
}

/// A close-on-exec duplicate of `fd` numbered `min` or above.
pub fn dup_above(fd: i32, min: usize) -> Result<i32, i32> {
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) only creates an fd.
    unsafe { syscall(libc::SYS_fcntl, &[fd as usize, libc::F_DUPFD_CLOEXEC as usize, min]) }.map(|fd| fd as i32)
}

/// `fd` duplicated onto number `target`, left open across exec.
pub fn dup_onto(fd: i32, target: i32) -> Result<(), i32> {
    // SAFETY: dup3 only changes the fd table.
    ok(unsafe { syscall(libc::SYS_dup3, &[fd as usize, target as usize, 0]) })
}

/// A close-on-exec pipe: `[read end, write end]`.
pub fn pipe() -> Result<[i32; 2], i32> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two ints into `fds`.
    unsafe { syscall(libc::SYS_pipe2, &[fds.as_mut_ptr() as usize, libc::O_CLOEXEC as usize]) }?;
    Ok(fds)
}

/// Joins the namespace `fd` refers to, of kind `flag` (a `CLONE_NEW*` flag).
pub fn setns(fd: i32, flag: libc::c_int) -> Result<(), i32> {
    // SAFETY: setns takes no pointers.
    ok(unsafe { syscall(libc::SYS_setns, &[fd as usize, flag as usize]) })
}

/// Moves the calling process into new namespaces (`CLONE_NEW*` flags).
pub fn unshare(flags: libc::c_int) -> Result<(), i32> {
    // SAFETY: unshare takes no pointers.
    ok(unsafe { syscall(libc::SYS_unshare, &[flags as usize]) })
}

/// Asks for `signal` when the parent dies.
pub fn set_parent_death_signal(signal: i32) -> Result<(), i32> {
    // SAFETY: PR_SET_PDEATHSIG takes an integer and reads no memory.
    ok(unsafe { syscall(libc::SYS_prctl, &[libc::PR_SET_PDEATHSIG as usize, signal as usize]) })
}

/// Makes the calling process's memory dumpable again (a change of uid
/// clears the flag), so that processes of the same uid may open its /proc files.
pub fn set_dumpable() -> Result<(), i32> {
    // SAFETY: PR_SET_DUMPABLE takes an integer and reads no memory.
    ok(unsafe { syscall(libc::SYS_prctl, &[libc::PR_SET_DUMPABLE as usize, 1]) })
}

/// Removes capability `cap` from the bounding set.
pub fn drop_bounding_capability(cap: usize) -> Result<(), i32> {
    // SAFETY: PR_CAPBSET_DROP takes an integer and reads no memory.
    ok(unsafe { syscall(libc::SYS_prctl, &[libc::PR_CAPBSET_DROP as usize, cap]) })
}

/// Sets `no_new_privs`, which seccomp filters need.
pub fn set_no_new_privs() -> Result<(), i32> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integers and reads no memory.
    ok(unsafe { syscall(libc::SYS_prctl, &[libc::PR_SET_NO_NEW_PRIVS as usize, 1, 0, 0, 0]) })
}

pub fn kill(pid: i32, signal: i32) -> Result<(), i32> {
    // SAFETY: kill takes no pointers.
    ok(unsafe { syscall(libc::SYS_kill, &[pid as usize, signal as usize]) })
}

/// `wait4` for `pid` (-1: any child); the reaped pid.
pub fn wait4(pid: i32, status: &mut i32, options: i32, usage: Option<&mut libc::rusage>) -> SysResult {
    let usage = usage.map_or(0, |u| u as *mut libc::rusage as usize);
    // SAFETY: wait4 writes only to `status` and, when given, `usage`.
    unsafe { syscall(libc::SYS_wait4, &[pid as isize as usize, status as *mut i32 as usize, options as usize, usage]) }
}

/// Lets the parent trace the calling process.
pub fn ptrace_traceme() -> Result<(), i32> {
    // SAFETY: PTRACE_TRACEME ignores its other arguments.
    ok(unsafe { syscall(libc::SYS_ptrace, &[libc::PTRACE_TRACEME as usize, 0, 0, 0]) })
}

/// Traces `pid` without stopping it, with `PTRACE_O_*` `options`. A seized
/// tracee gets no SIGTRAP at exec, and stops only for the events the
/// options ask for and for signals.
pub fn ptrace_seize(pid: i32, options: usize) -> Result<(), i32> {
    // SAFETY: PTRACE_SEIZE takes the options as an integer; no memory is read.
    ok(unsafe { syscall(libc::SYS_ptrace, &[libc::PTRACE_SEIZE as usize, pid as usize, 0, options]) })
}

/// Whether stopped tracee `pid` has a signal's siginfo: `Err(EINVAL)` in
/// a group-stop, which has none.
pub fn ptrace_has_siginfo(pid: i32) -> Result<(), i32> {
    // SAFETY: an all-zero siginfo_t is a valid value of this plain C struct.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let at = &mut info as *mut libc::siginfo_t as usize;
    // SAFETY: PTRACE_GETSIGINFO writes one siginfo_t into `info`.
    ok(unsafe { syscall(libc::SYS_ptrace, &[libc::PTRACE_GETSIGINFO as usize, pid as usize, 0, at]) })
}

/// Sets the `PTRACE_O_*` options for tracee `pid`.
pub fn ptrace_set_options(pid: i32, options: usize) -> Result<(), i32> {
    // SAFETY: PTRACE_SETOPTIONS takes the options as an integer; no memory is read.
    ok(unsafe { syscall(libc::SYS_ptrace, &[libc::PTRACE_SETOPTIONS as usize, pid as usize, 0, options]) })
}

/// Resumes stopped tracee `pid`, delivering `signal` (0: none).
pub fn ptrace_cont(pid: i32, signal: usize) -> Result<(), i32> {
    // SAFETY: PTRACE_CONT takes the signal as an integer; no memory is read.
    ok(unsafe { syscall(libc::SYS_ptrace, &[libc::PTRACE_CONT as usize, pid as usize, 0, signal]) })
}

/// Resource usage of the reaped children of the calling process.
pub fn children_usage() -> libc::rusage {
    usage(libc::RUSAGE_CHILDREN)
}

/// The calling process's own rusage; its `ru_maxrss` is the peak (VmHWM)
/// of the memory it runs on.
pub fn self_usage() -> libc::rusage {
    usage(libc::RUSAGE_SELF)
}

fn usage(who: i32) -> libc::rusage {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let who = who as usize;
    // SAFETY: getrusage writes one rusage into `usage`.
    let _ = unsafe { syscall(libc::SYS_getrusage, &[who, &mut usage as *mut libc::rusage as usize]) };
    usage
}

/// Sets both the soft and the hard limit of `resource` to `value`.
pub fn set_rlimit(resource: libc::__rlimit_resource_t, value: u64) -> Result<(), i32> {
    let limit = libc::rlimit { rlim_cur: value, rlim_max: value };
    // SAFETY: prlimit64 reads one rlimit from `limit` and writes nothing (old limit NULL).
    ok(unsafe { syscall(libc::SYS_prlimit64, &[0, resource as usize, &limit as *const libc::rlimit as usize, 0]) })
}

/// Drops every supplementary group.
pub fn clear_groups() -> Result<(), i32> {
    // SAFETY: setgroups with size 0 reads no list.
    ok(unsafe { syscall(libc::SYS_setgroups, &[0, 0]) })
}

pub fn set_gid(gid: u32) -> Result<(), i32> {
    let id = gid as usize;
    // SAFETY: setresgid takes no pointers.
    ok(unsafe { syscall(libc::SYS_setresgid, &[id, id, id]) })
}

pub fn set_uid(uid: u32) -> Result<(), i32> {
    let id = uid as usize;
    // SAFETY: setresuid takes no pointers.
    ok(unsafe { syscall(libc::SYS_setresuid, &[id, id, id]) })
}

pub fn chdir(path: &CStr) -> Result<(), i32> {
    // SAFETY: chdir reads a NUL-terminated path.
    ok(unsafe { syscall(libc::SYS_chdir, &[path.as_ptr() as usize]) })
}

pub fn sethostname(name: &CStr) -> Result<(), i32> {
    let bytes = name.to_bytes();
    // SAFETY: sethostname reads `bytes.len()` bytes of `bytes`.
    ok(unsafe { syscall(libc::SYS_sethostname, &[bytes.as_ptr() as usize, bytes.len()]) })
}

/// Opens `path` read-only (close-on-exec).
pub fn open_read_only(path: &CStr) -> Result<i32, i32> {
    let flags = libc::O_RDONLY as usize | libc::O_CLOEXEC as usize;
    // SAFETY: openat reads a NUL-terminated path.
    unsafe { syscall(libc::SYS_openat, &[libc::AT_FDCWD as usize, path.as_ptr() as usize, flags]) }.map(|fd| fd as i32)
}

/// Replaces the calling process with `path`; returns only on failure.
///
/// # Safety
/// `argv` and `envp` must be NULL-terminated arrays of NUL-terminated strings.
pub unsafe fn execve(path: &CStr, argv: *const *const libc::c_char, envp: *const *const libc::c_char) -> i32 {
    // SAFETY: the path is NUL-terminated; the caller vouches for argv and envp.
    match unsafe { syscall(libc::SYS_execve, &[path.as_ptr() as usize, argv as usize, envp as usize]) } {
        Ok(_) => libc::EINVAL,
        Err(err) => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_come_back_as_numbers() {
        assert_eq!(write(-1, b"x"), Err(libc::EBADF));
        let fds = pipe().unwrap();
        assert_eq!(write(fds[1], b"hi"), Ok(2));
        let mut buf = [0u8; 4];
        assert_eq!(read(fds[0], &mut buf), Ok(2));
        assert_eq!(&buf[..2], b"hi");
        close(fds[0]);
        close(fds[1]);
    }
}
