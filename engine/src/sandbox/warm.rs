//! Warm sandboxes: the namespaces a slot's runs share, built once.
//!
//! Building a root (a few dozen mounts and `pivot_root`) and a network
//! namespace costs several milliseconds; a run needs neither afresh. For each
//! slot a short-lived helper builds the skeleton root in a new mount
//! namespace, with new network, UTS and IPC namespaces, and the judge keeps
//! the namespaces alive through fds to them. Each run's init joins them,
//! takes a private copy of the mount namespace and adds only its own mounts,
//! in a fresh PID namespace of its own.
//!
//! What a run could leave behind: its processes all die with its PID
//! namespace (and with them its sockets, abstract unix ones included, which
//! live in the slot's network namespace); its mount copy goes with its last
//! process; nothing can be created in the slot's IPC namespace (seccomp);
//! its `/tmp` is its own tmpfs; the skeleton is read-only to it. Runs of one slot never overlap, so nothing of one run is
//! reachable from the next.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, OnceLock};

use super::child;
use super::error::SandboxError;
use super::mounts::{MountPlan, NEW_ROOT};
use super::namespaces::{SlotNamespaces, SLOT_CLONE_FLAGS};
use super::protocol::{InitStep, Report, SetupStep, WireReport};
use super::sys;

static SLOTS: OnceLock<Mutex<HashMap<u32, Arc<SlotNamespaces>>>> = OnceLock::new();

/// The namespaces of slot `index`, built on first use.
pub fn for_slot(index: u32) -> Result<Arc<SlotNamespaces>, SandboxError> {
    let mut slots = SLOTS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(ns) = slots.get(&index) {
        return Ok(ns.clone());
    }
    let ns = Arc::new(build()?);
    slots.insert(index, ns.clone());
    Ok(ns)
}

/// How many slots have warm namespaces in this process.
pub fn warm_slots() -> usize {
    SLOTS.get().map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len()).unwrap_or(0)
}

/// The skeleton plan every slot is built from.
pub fn skeleton() -> Result<&'static MountPlan, SandboxError> {
    static SKELETON: OnceLock<Result<MountPlan, String>> = OnceLock::new();
    SKELETON.get_or_init(MountPlan::skeleton).as_ref().map_err(|e| SandboxError::Skeleton(e.clone()))
}

fn build() -> Result<SlotNamespaces, SandboxError> {
    let plan = skeleton()?;
    std::fs::create_dir_all(NEW_ROOT).map_err(SandboxError::io(format!("creating {NEW_ROOT}")))?;
    let pipe = || {
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| SandboxError::Io { what: "creating a pipe for the skeleton helper".into(), source: e.into() })
    };
    let (status_read, status_write) = pipe()?;
    let (hold_read, hold_write) = pipe()?;
    let flags = SLOT_CLONE_FLAGS | libc::SIGCHLD;
    // SAFETY: a fork-like clone (a copy of our memory, built once per slot);
    // the child only runs `skeleton_helper`, which makes raw syscalls and exits.
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags as libc::c_ulong, 0, 0, 0, 0) } as i32;
    if pid == 0 {
        skeleton_helper(plan, status_write.as_raw_fd(), hold_read.as_raw_fd());
    }
    if pid < 0 {
        return Err(SandboxError::io("clone for the sandbox skeleton")(std::io::Error::last_os_error()));
    }
    drop((status_write, hold_read));
    let result = collect(pid, &status_read, plan);
    drop(hold_write);
    let mut status = 0;
    // SAFETY: waitpid writes only `status`; pid is our own child.
    unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
    result
}

/// The child that builds the skeleton in the new namespaces, reports, and
/// stays alive until the judge holds them. Raw syscalls only (see child.rs).
fn skeleton_helper(plan: &MountPlan, status_fd: i32, hold_fd: i32) -> ! {
    let _ = sys::set_parent_death_signal(libc::SIGKILL);
    // Its memory is a copy of the judge's, flags included: undumpable if a
    // run's setuid just cleared the flag. The judge opens this process's
    // namespaces, which without CAP_SYS_PTRACE needs it dumpable.
    let _ = sys::set_dumpable();
    if !child::keep_only(&[status_fd, hold_fd]) {
        sys::exit(2);
    }
    let (status, hold) = (0, 1);
    let report = if let Err((step, err)) = plan.execute() {
        WireReport::setup_failed(step, err)
    } else if let Err(err) = sys::sethostname(c"sandbox") {
        WireReport::setup_failed(SetupStep::Init(InitStep::SetHostname), err)
    } else {
        WireReport::ready()
    };
    let _ = sys::write(status, report.as_bytes());
    let mut byte = [0u8; 1];
    let _ = sys::read(hold, &mut byte);
    sys::exit(0)
}

fn collect(pid: i32, status: &OwnedFd, plan: &MountPlan) -> Result<SlotNamespaces, SandboxError> {
    let mut wire = WireReport::default();
    if sys::read(status.as_raw_fd(), wire.as_bytes_mut()) != Ok(WireReport::SIZE) {
        return Err(SandboxError::SetupDied("skeleton helper"));
    }
    match wire.decode()? {
        Report::Ready => {}
        Report::SetupFailed { step, errno } => {
            return Err(SandboxError::setup_failed(step, errno, plan));
        }
        other => return Err(SandboxError::UnexpectedReport(format!("{other:?}"))),
    }
    SlotNamespaces::open(pid).map_err(SandboxError::io("holding the slot's namespaces"))
}
