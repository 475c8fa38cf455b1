//! Init traces the judged program only to stop it at exit, while its memory
//! still exists, and read its exact peak (VmHWM): its `ru_maxrss` cannot
//! tell, as it starts from the judge's memory (see `classify.rs`).
//!
//! Init seizes the program (`PTRACE_SEIZE`) right after cloning it, while
//! the program's side prepares its exec: a seized program stops at its exit
//! only, never at an exec. A handshake word settles the race without
//! either side waiting: if the program's side gets to the point where it
//! must be traced (just before seccomp, which refuses ptrace) before init
//! has seized it, or init cannot seize it, the program asks to be traced
//! itself (`PTRACE_TRACEME`, as before seizing existed): its first exec then
//! stops it once, and init sets the options at that stop. Either way the
//! program is traced before its exec, so its exit stop is never missed.
//! Runs between clone and exec: raw syscalls only, no allocation.

use std::ffi::CStr;
use std::sync::atomic::{AtomicU32, Ordering};

use super::sys;

/// Who settles the tracing of one program, shared by init and the
/// program's side (they share memory until the exec).
pub struct Handshake(AtomicU32);

/// Neither side has got there yet.
const UNDECIDED: u32 = 0;
/// Init seized the program.
const SEIZED: u32 = 1;
/// Init could not seize it: the program asks to be traced itself.
const NOT_SEIZED: u32 = 2;
/// The program's side got there first and asks to be traced itself.
const PROGRAM_FIRST: u32 = 3;

/// Stop at exit (to read the peak), and die if init dies.
const OPTIONS: i32 = libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_EXITKILL;

impl Handshake {
    pub const fn new() -> Handshake {
        Handshake(AtomicU32::new(UNDECIDED))
    }

    /// Init, right after the clone: seizes program `pid`; true if it did.
    pub fn seize(&self, pid: i32) -> bool {
        // Pointless once the program's side has settled it.
        let seized = self.0.load(Ordering::Acquire) == UNDECIDED && sys::ptrace_seize(pid, OPTIONS as usize).is_ok();
        // If the program's side got there first, it asks to be traced
        // itself; that fails harmlessly if the seize came before it.
        let _ = self.0.compare_exchange(
            UNDECIDED,
            if seized { SEIZED } else { NOT_SEIZED },
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        seized
    }

    /// The program's side, before seccomp (which refuses ptrace): unless
    /// init has seized it, asks init to trace it. Without either (ptrace
    /// refused, as in some containers) only the samples measure its memory.
    pub fn be_traced(&self) {
        match self.0.compare_exchange(UNDECIDED, PROGRAM_FIRST, Ordering::AcqRel, Ordering::Acquire) {
            Err(SEIZED) => {}
            _ => {
                let _ = sys::ptrace_traceme();
            }
        }
    }
}

/// How the program ended, as its tracer saw it.
pub struct ProgramEnd {
    /// Its wait status.
    pub status: i32,
    /// Its `ru_maxrss` in kB.
    pub maxrss_kb: i64,
    /// Its VmHWM in kB, read when it stopped at exit (0 if never traced).
    pub exit_peak_kb: i64,
}

/// Reaps everything until the program (`pid`, seized or not) itself exits.
/// Signals are passed on unchanged; stop signals are dropped (nobody would
/// continue the program).
pub fn wait_for_program(pid: i32, seized: bool) -> ProgramEnd {
    let mut status = 0i32;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut exit_peak_kb = 0i64;
    // Only a program that asked to be traced stops at its first exec.
    let mut exec_stop_due = !seized;
    loop {
        let reaped = sys::wait4(-1, &mut status, libc::__WALL, Some(&mut usage));
        match reaped {
            Ok(p) if p as i32 == pid && libc::WIFSTOPPED(status) => {
                let signal = libc::WSTOPSIG(status);
                let deliver = match status >> 16 {
                    libc::PTRACE_EVENT_EXIT => {
                        exit_peak_kb = peak_kb_of(pid);
                        0
                    }
                    // A group-stop of a seized program (or, after the
                    // SIGCONT below, the notice that it ended).
                    libc::PTRACE_EVENT_STOP => {
                        continue_group(pid, signal);
                        0
                    }
                    // A later exec of a program that asked to be traced (a
                    // launcher script's `exec java ...`): nothing to deliver.
                    libc::PTRACE_EVENT_EXEC => 0,
                    0 if signal == libc::SIGTRAP && exec_stop_due => {
                        // The stop after its first exec: ask to be told of
                        // its exit, and of later execs as events (without
                        // TRACEEXEC each one would raise a real SIGTRAP).
                        exec_stop_due = false;
                        let _ = sys::ptrace_set_options(pid, (OPTIONS | libc::PTRACE_O_TRACEEXEC) as usize);
                        0
                    }
                    0 if is_stop_signal(signal) => {
                        // A stop signal about to be delivered is dropped
                        // here. One another thread took has stopped the
                        // whole program: a group-stop, which a seized
                        // program reports as PTRACE_EVENT_STOP and one
                        // that asked to be traced by having no siginfo.
                        if !seized && sys::ptrace_has_siginfo(pid) == Err(libc::EINVAL) {
                            continue_group(pid, signal);
                        }
                        0
                    }
                    0 => signal,
                    _ => 0,
                };
                let _ = sys::ptrace_cont(pid, deliver as usize);
            }
            Ok(p) if p as i32 == pid => break,
            Err(libc::EINTR) | Ok(_) => {}
            Err(_) => break,
        }
    }
    ProgramEnd { status, maxrss_kb: usage.ru_maxrss, exit_peak_kb }
}

fn is_stop_signal(signal: i32) -> bool {
    matches!(signal, libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU)
}

/// Ends a group-stop of the program caused by `signal`: its other threads
/// would otherwise stay stopped for good.
fn continue_group(pid: i32, signal: i32) {
    if is_stop_signal(signal) {
        let _ = sys::kill(pid, libc::SIGCONT);
    }
}

/// VmHWM of process `pid` (of init's PID namespace) in kB.
fn peak_kb_of(pid: i32) -> i64 {
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
    // The buffer is longer than any such path, so a NUL always follows it.
    CStr::from_bytes_until_nul(&path).map_or(0, vm_hwm_kb)
}

/// The VmHWM line of a /proc status file, read without allocating.
fn vm_hwm_kb(path: &CStr) -> i64 {
    let Ok(fd) = sys::open_read_only(path) else { return 0 };
    let mut buf = [0u8; 4096];
    let n = sys::read(fd, &mut buf).unwrap_or(0);
    sys::close(fd);
    let text = &buf[..n.min(buf.len())];
    let key = b"VmHWM:";
    let Some(at) = text.windows(key.len()).position(|w| w == key) else { return 0 };
    let digits = text[at + key.len()..].iter().skip_while(|b| !b.is_ascii_digit());
    digits.take_while(|b| b.is_ascii_digit()).fold(0i64, |acc, b| acc * 10 + (b - b'0') as i64)
}
