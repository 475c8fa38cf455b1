//! Warm sandboxes: the namespaces a slot's runs share, built once.
//!
//! Building a root (a few dozen mounts and `pivot_root`) and a network
//! namespace costs several milliseconds; a run needs neither afresh. For each
//! slot a short-lived helper builds the skeleton root in a new mount
//! namespace, with new network, UTS and IPC namespaces, and the judge keeps
//! the namespaces alive through fds to them. Each run's init joins them and
//! adds its own mounts in place, in the slot's mount namespace, in a fresh
//! PID namespace of its own.
//!
//! What is kept: the skeleton (read-only, and no run can mount: seccomp
//! refuses the mount calls and the program has no capabilities), the
//! network, UTS and IPC namespaces. What is reset after every run: the
//! run's mounts (its binds, `/proc` with its masks, its `/tmp`) and the
//! mount points its setup created (`reset.rs`). Init undoes them once it has
//! reaped every process of the run, before its final report, so the run's
//! `/tmp` is freed with the run; when init did not get that far (killed at
//! a limit, or it died) the host does it, with a short helper that joins
//! the slot's mount namespace. What the run's reset will undo is recorded
//! per slot before init is cloned, so a run killed mid-setup is undone too;
//! if even that fails, the slot's namespaces are dropped and built anew.
//!
//! Why that is safe: runs of one slot never overlap (a lock per slot is
//! held for the whole run), so what a reset finds beyond the skeleton is one
//! earlier run's; that run's processes all died with its PID namespace
//! before the reset (and with them its sockets, abstract unix ones included,
//! which live in the slot's network namespace); nothing can be created in
//! the slot's IPC namespace (seccomp); the skeleton is read-only to a run.
//! Nothing of one run is reachable from the next.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::child;
use super::error::{Errno, SandboxError};
use super::mounts::{MountPlan, NEW_ROOT};
use super::namespaces::{SlotNamespaces, SLOT_CLONE_FLAGS};
use super::protocol::{InitStep, Report, SetupStep, WireReport};
use super::reset::ResetPlan;
use super::stack::PooledStack;
use super::sys;

/// A slot's kept namespaces, and what its runs may have left in them.
#[derive(Debug)]
pub struct WarmSlot {
    namespaces: SlotNamespaces,
    /// Mount IDs of the skeleton, sorted: a reset never detaches these.
    skeleton_mounts: Arc<[u64]>,
    /// Held for the whole of a run, so that runs of the slot never overlap.
    /// It holds what a run that was not (yet) undone may have mounted.
    leftover: Mutex<Option<ResetPlan>>,
}

impl WarmSlot {
    pub fn namespaces(&self) -> &SlotNamespaces {
        &self.namespaces
    }

    pub fn skeleton_mounts(&self) -> Arc<[u64]> {
        self.skeleton_mounts.clone()
    }

    /// Waits until no other run uses the slot; the guard holds what an
    /// earlier run may have left.
    pub fn claim(&self) -> MutexGuard<'_, Option<ResetPlan>> {
        // A run that panicked left its plan in place: still right to undo.
        self.leftover.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Carries `plan` out from the host, for a run whose init did not: a
    /// helper cloned with our memory (`CLONE_VM | CLONE_VFORK`, so nothing
    /// is copied and we sleep until it is done) joins the slot's mount
    /// namespace and detaches. Err holds the errno it failed with.
    pub fn reset(&self, plan: &ResetPlan) -> Result<(), SandboxError> {
        let stack = PooledStack::take(child::INIT_STACK_BYTES).map_err(SandboxError::io("mapping a stack"))?;
        let args = ResetArgs { plan, skeleton_mounts: &self.skeleton_mounts, mount_ns: self.namespaces.mount_fd() };
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
        let args_ptr = &args as *const ResetArgs as *mut libc::c_void;
        // SAFETY: the helper runs `reset_entry` on its own guarded stack,
        // reads only `args` (alive: we sleep until it exits) and makes raw
        // syscalls only.
        let pid = unsafe { libc::clone(reset_entry, stack.top(), flags, args_ptr) };
        if pid < 0 {
            return Err(SandboxError::io("clone for the slot reset")(std::io::Error::last_os_error()));
        }
        let mut status = 0;
        loop {
            // SAFETY: waitpid writes only `status`; pid is our own child.
            let rc = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
            if rc >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                break;
            }
        }
        match (libc::WIFEXITED(status), libc::WEXITSTATUS(status)) {
            (true, 0) => Ok(()),
            (true, errno) => Err(SandboxError::SlotReset(Errno(errno).to_string())),
            _ => Err(SandboxError::SlotReset(format!("the helper ended with status {status:#x}"))),
        }
    }
}

struct ResetArgs<'a> {
    plan: &'a ResetPlan,
    skeleton_mounts: &'a [u64],
    mount_ns: i32,
}

extern "C" fn reset_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: arg is the ResetArgs `reset` passed, alive while it sleeps.
    let args = unsafe { &*(arg as *const ResetArgs) };
    // The judge's signal handlers are in the memory we share: none may run here.
    sys::set_signal_mask(true);
    let _ = sys::set_parent_death_signal(libc::SIGKILL);
    let result = sys::setns(args.mount_ns, libc::CLONE_NEWNS).and_then(|()| args.plan.execute(args.skeleton_mounts));
    sys::exit(result.err().map_or(0, |errno| errno.clamp(1, 255)))
}

static SLOTS: OnceLock<Mutex<HashMap<u32, Arc<WarmSlot>>>> = OnceLock::new();

fn slots() -> MutexGuard<'static, HashMap<u32, Arc<WarmSlot>>> {
    SLOTS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner())
}

/// The namespaces of slot `index`, built on first use.
pub fn for_slot(index: u32) -> Result<Arc<WarmSlot>, SandboxError> {
    let mut slots = slots();
    if let Some(slot) = slots.get(&index) {
        return Ok(slot.clone());
    }
    let slot = Arc::new(build()?);
    slots.insert(index, slot.clone());
    Ok(slot)
}

/// Forgets `slot` (of slot `index`) when it could not be reset: its
/// namespaces go with the last run holding it, and the next run builds new ones.
pub fn discard(index: u32, slot: &Arc<WarmSlot>) {
    let mut slots = slots();
    if slots.get(&index).is_some_and(|kept| Arc::ptr_eq(kept, slot)) {
        slots.remove(&index);
    }
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

fn build() -> Result<WarmSlot, SandboxError> {
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

fn collect(pid: i32, status: &OwnedFd, plan: &MountPlan) -> Result<WarmSlot, SandboxError> {
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
    let namespaces = SlotNamespaces::open(pid).map_err(SandboxError::io("holding the slot's namespaces"))?;
    let skeleton_mounts = mount_ids(pid).map_err(SandboxError::io("listing the skeleton's mounts"))?;
    Ok(WarmSlot { namespaces, skeleton_mounts, leftover: Mutex::new(None) })
}

/// The IDs of every mount in the mount namespace of `pid`, sorted.
fn mount_ids(pid: i32) -> std::io::Result<Arc<[u64]>> {
    let path = format!("/proc/{pid}/mountinfo");
    let text = std::fs::read_to_string(&path)?;
    let mut ids = text
        .lines()
        .map(|line| line.split(' ').next().and_then(|id| id.parse().ok()))
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(|| std::io::Error::other(format!("{path}: a line without a mount ID")))?;
    ids.sort_unstable();
    Ok(ids.into())
}
