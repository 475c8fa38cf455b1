//! Raw Linux syscalls for the code between clone and exec.
//!
//! The sandbox's init shares the judge's memory (`CLONE_VM`, so starting a
//! run copies no page tables), and with it the calling thread's TLS. libc's
//! wrappers store failures in that TLS's `errno`, which the judge thread is
//! using at the same moment; these wrappers touch no memory but their
//! arguments and return the error number instead. x86_64 only, like the
//! seccomp filter.

use std::arch::asm;

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

/// The struct as a byte slice, for fixed-size messages on pipes.
pub fn as_bytes<T: Copy>(value: &T) -> &[u8] {
    // SAFETY: T is plain old data (Copy, repr(C) at the call sites).
    unsafe { std::slice::from_raw_parts(value as *const T as *const u8, std::mem::size_of::<T>()) }
}

pub fn as_bytes_mut<T: Copy>(value: &mut T) -> &mut [u8] {
    // SAFETY: as above; every bit pattern of the call sites' types is valid.
    unsafe { std::slice::from_raw_parts_mut(value as *mut T as *mut u8, std::mem::size_of::<T>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_come_back_as_numbers() {
        assert_eq!(write(-1, b"x"), Err(libc::EBADF));
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 into a two-int array.
        unsafe { syscall(libc::SYS_pipe2, &[fds.as_mut_ptr() as usize, libc::O_CLOEXEC as usize]) }.unwrap();
        assert_eq!(write(fds[1], b"hi"), Ok(2));
        let mut buf = [0u8; 4];
        assert_eq!(read(fds[0], &mut buf), Ok(2));
        assert_eq!(&buf[..2], b"hi");
        close(fds[0]);
        close(fds[1]);
    }
}
