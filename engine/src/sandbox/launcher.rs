//! A thread of the judge that clones every run's init with an empty
//! capability bounding set, so that no run has to empty its own.
//!
//! The program must start with an empty bounding set. Emptying one takes a
//! prctl per capability (41 here), each committing new credentials: a
//! measurable part of every run. The set belongs to a thread, is inherited
//! at clone and only limits what an exec can grant: a thread whose set is
//! empty keeps its capabilities, so init cloned from it can still join
//! namespaces, mount and change uid, and the program init clones inherits
//! the empty set. Nothing between that clone and the program's exec can
//! fill it again (only entering a user namespace does, and no run does:
//! see the assertion below).
//!
//! So a launcher empties its set once, at its start, and checks it (every
//! drop succeeded, every capability reads as absent, and /proc shows
//! `CapBnd: 0`); if any of that fails there is no launcher and each run
//! empties the set itself, as it did before. The caller hands the launcher
//! everything clone needs (prepared before, as always) and gets init's pid
//! back; it supervises and reaps init itself, as wait4 reaps a child of
//! any thread of the process. Init's parent-death signal follows the
//! thread that cloned it, so a launcher never exits while the process lives.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::{self, Thread};

use super::namespaces::{RUN_CLONE_FLAGS, RUN_UNSHARE_FLAGS, SLOT_CLONE_FLAGS};
use super::sys;

// Entering a user namespace gives a thread a full bounding set again: a
// run must never create or join one, or its program would inherit that.
const _: () = assert!((RUN_CLONE_FLAGS | RUN_UNSHARE_FLAGS | SLOT_CLONE_FLAGS) & libc::CLONE_NEWUSER == 0);

/// The launcher's own stack: it only queues, clones and parks.
const STACK_BYTES: usize = 64 * 1024;

/// What `clone` is given to start init.
pub struct CloneArgs {
    entry: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    stack_top: *mut libc::c_void,
    flags: libc::c_int,
    arg: *mut libc::c_void,
}

// SAFETY: the pointers are only handed to clone; `CloneArgs::new`'s caller
// keeps what they point to alive until init is reaped, on whichever thread.
unsafe impl Send for CloneArgs {}

impl CloneArgs {
    /// # Safety
    /// `entry` must be fit to run on the stack below `stack_top` with `arg`
    /// in a child cloned with `flags`, and the stack and whatever `arg`
    /// points to must outlive that child.
    pub unsafe fn new(
        entry: extern "C" fn(*mut libc::c_void) -> libc::c_int,
        stack_top: *mut libc::c_void,
        flags: libc::c_int,
        arg: *mut libc::c_void,
    ) -> CloneArgs {
        CloneArgs { entry, stack_top, flags, arg }
    }

    /// Clones from the calling thread: the child's pid, or the errno.
    pub fn clone_here(&self) -> Result<i32, i32> {
        // SAFETY: `new`'s caller vouched for entry, stack and arg.
        let pid = unsafe { libc::clone(self.entry, self.stack_top, self.flags, self.arg) };
        if pid < 0 {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EINVAL))
        } else {
            Ok(pid)
        }
    }
}

/// The launcher of this process, started at first use; `None` if its
/// bounding set could not be emptied and checked (then never tried again).
pub fn get() -> Option<&'static Launcher> {
    static LAUNCHER: OnceLock<Option<Launcher>> = OnceLock::new();
    LAUNCHER.get_or_init(|| Launcher::start().ok()).as_ref()
}

/// A launcher thread and its queue of clones to make.
pub struct Launcher {
    queue: Arc<Mutex<VecDeque<Request>>>,
    thread: Thread,
    /// The kernel's last capability: the highest one the launcher dropped.
    last_capability: usize,
}

struct Request {
    args: CloneArgs,
    reply: Arc<Reply>,
}

/// The pid (or `-errno`) of one clone, and who waits for it.
struct Reply {
    result: AtomicI64,
    waiter: Thread,
}

const PENDING: i64 = i64::MIN;

impl Launcher {
    fn start() -> Result<Launcher, String> {
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let served = Arc::clone(&queue);
        let (ready, started) = sync_channel(1);
        let handle = thread::Builder::new()
            .name("sandbox-launcher".into())
            .stack_size(STACK_BYTES)
            .spawn(move || {
                // Process-directed signals go to the judge's other threads,
                // and init starts with all of them blocked.
                let _ = nix::sys::signal::pthread_sigmask(
                    nix::sys::signal::SigmaskHow::SIG_BLOCK,
                    Some(&nix::sys::signal::SigSet::all()),
                    None,
                );
                let emptied = empty_bounding_set();
                let usable = emptied.is_ok();
                let _ = ready.send(emptied);
                if usable {
                    serve(&served);
                }
            })
            .map_err(|e| format!("starting the launcher thread: {e}"))?;
        match started.recv() {
            Ok(Ok(last_capability)) => Ok(Launcher { queue, thread: handle.thread().clone(), last_capability }),
            Ok(Err(why)) => Err(why),
            Err(_) => Err("the launcher thread ended before it was ready".into()),
        }
    }

    pub fn last_capability(&self) -> usize {
        self.last_capability
    }

    /// Clones on the launcher thread: the child's pid, or the errno.
    pub fn clone_init(&self, args: CloneArgs) -> Result<i32, i32> {
        let reply = Arc::new(Reply { result: AtomicI64::new(PENDING), waiter: thread::current() });
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(Request { args, reply: Arc::clone(&reply) });
        self.thread.unpark();
        loop {
            match reply.result.load(Ordering::Acquire) {
                PENDING => thread::park(),
                pid if pid >= 0 => return Ok(pid as i32),
                errno => return Err(-errno as i32),
            }
        }
    }
}

/// The launcher's loop, for as long as the process lives.
fn serve(queue: &Mutex<VecDeque<Request>>) -> ! {
    loop {
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
        match next {
            Some(Request { args, reply }) => {
                let result = match args.clone_here() {
                    Ok(pid) => i64::from(pid),
                    Err(errno) => -i64::from(errno),
                };
                reply.result.store(result, Ordering::Release);
                reply.waiter.unpark();
            }
            None => thread::park(),
        }
    }
}

/// Empties the calling thread's bounding set and checks that it is empty;
/// returns the kernel's last capability.
fn empty_bounding_set() -> Result<usize, String> {
    // EINVAL marks the first capability this kernel does not have.
    let mut known = 0;
    for cap in 0..=63usize {
        match sys::drop_bounding_capability(cap) {
            Ok(()) => known = cap + 1,
            Err(libc::EINVAL) => break,
            Err(errno) => {
                let why = std::io::Error::from_raw_os_error(errno);
                return Err(format!("dropping capability {cap} from the bounding set: {why}"));
            }
        }
    }
    if known == 0 {
        return Err("the kernel knows no capability".into());
    }
    if let Some(cap) = (0..known).find(|&cap| sys::bounding_capability(cap) != Ok(false)) {
        return Err(format!("capability {cap} is still in the bounding set"));
    }
    let status = std::fs::read_to_string("/proc/thread-self/status")
        .map_err(|e| format!("reading /proc/thread-self/status: {e}"))?;
    match status.lines().find_map(|line| line.strip_prefix("CapBnd:")).map(str::trim) {
        Some("0000000000000000") => Ok(known - 1),
        other => Err(format!("the bounding set is not empty: CapBnd {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capabilities(status: &str, key: &str) -> u64 {
        let line = status.lines().find_map(|l| l.strip_prefix(key)).expect("a capability line");
        u64::from_str_radix(line.trim(), 16).expect("hex")
    }

    /// Blocks on the pipe `arg` points to, then exits: long enough for its
    /// /proc status to be read.
    extern "C" fn wait_for_pipe(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: arg is the pipe's read end, in memory the fork-like child copied.
        let fd = unsafe { *(arg as *const i32) };
        let mut byte = [0u8; 1];
        let _ = sys::read(fd, &mut byte);
        sys::exit(0)
    }

    #[test]
    fn a_launched_child_keeps_its_capabilities_with_an_empty_bounding_set() {
        let Some(launcher) = get() else {
            // Only root (CAP_SETPCAP) can empty a bounding set.
            assert_ne!(nix::unistd::geteuid().as_raw(), 0, "root has no launcher");
            return;
        };
        let mine = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        assert_ne!(capabilities(&mine, "CapBnd:"), 0, "the caller's bounding set changed");
        // Twice: the launcher serves every run, not just its first.
        for _ in 0..2 {
            let [read_end, write_end] = sys::pipe().unwrap();
            let mut stack = vec![0u8; 64 * 1024];
            let top = stack.as_mut_ptr_range().end.cast::<libc::c_void>();
            let arg = &read_end as *const i32 as *mut libc::c_void;
            // SAFETY: a fork-like child (no CLONE_VM) runs on its own copy
            // of `stack` and of `read_end`, and makes raw syscalls only.
            let args = unsafe { CloneArgs::new(wait_for_pipe, top, libc::SIGCHLD, arg) };
            let pid = launcher.clone_init(args).expect("clone");
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
            let _ = sys::write(write_end, b"x");
            let mut wait_status = 0;
            assert_eq!(sys::wait4(pid, &mut wait_status, 0, None), Ok(pid as usize), "reaped by the caller");
            assert_eq!(wait_status, 0);
            sys::close(read_end);
            sys::close(write_end);
            assert_eq!(capabilities(&status, "CapBnd:"), 0, "{status}");
            assert_eq!(capabilities(&status, "CapEff:"), capabilities(&mine, "CapEff:"), "{status}");
        }
    }
}
