//! Warm sandboxes: the namespaces a slot's runs share, built once.
//!
//! Building a root (a few dozen mounts and `pivot_root`) and a network
//! namespace costs several milliseconds; a run needs neither afresh. For each
//! slot a short-lived helper builds the skeleton root in a new mount
//! namespace, with new network and UTS namespaces, and the judge keeps the
//! namespaces alive through fds to them. Each run's init joins them, takes a
//! private copy of the mount namespace and adds only its own mounts, in a
//! fresh PID and IPC namespace of its own.
//!
//! What a run could leave behind: its processes all die with its PID
//! namespace (and with them its sockets, abstract unix ones included, which
//! live in the slot's network namespace); its IPC namespace and mount copy go
//! with its last process; its `/tmp` is its own tmpfs; the skeleton is
//! read-only to it. Runs of one slot never overlap, so nothing of one run is
//! reachable from the next.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, OnceLock};

use super::child;
use super::mounts::{MountPlan, NEW_ROOT};

/// Namespaces shared by the runs of one slot.
#[derive(Debug)]
pub struct SlotNamespaces {
    pub mnt: OwnedFd,
    pub net: OwnedFd,
    pub uts: OwnedFd,
}

static SLOTS: OnceLock<Mutex<HashMap<u32, Arc<SlotNamespaces>>>> = OnceLock::new();

/// The namespaces of slot `index`, built on first use.
pub fn for_slot(index: u32) -> Result<Arc<SlotNamespaces>, String> {
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

fn skeleton() -> Result<&'static MountPlan, String> {
    static SKELETON: OnceLock<Result<MountPlan, String>> = OnceLock::new();
    SKELETON.get_or_init(MountPlan::skeleton).as_ref().map_err(Clone::clone)
}

fn build() -> Result<SlotNamespaces, String> {
    let plan = skeleton()?;
    std::fs::create_dir_all(NEW_ROOT).map_err(|e| format!("creating {NEW_ROOT}: {e}"))?;
    let pipe = || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("creating pipe: {e}"));
    let (status_read, status_write) = pipe()?;
    let (hold_read, hold_write) = pipe()?;
    let hostname = c"sandbox";
    let flags = libc::CLONE_NEWNS | libc::CLONE_NEWNET | libc::CLONE_NEWUTS | libc::SIGCHLD;
    // SAFETY: fork-like clone (a copy of our memory, built once per slot);
    // the child only makes syscalls and exits.
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags as libc::c_ulong, 0, 0, 0, 0) } as i32;
    if pid == 0 {
        // SAFETY: raw syscalls only, no allocation (see child.rs).
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if !child::keep_only(&[status_write.as_raw_fd(), hold_read.as_raw_fd()]) {
                libc::_exit(2);
            }
            let (status, hold) = (0, 1);
            let mut report = [0i64; 2];
            if let Err((step, err)) = plan.execute() {
                report = [step as i64 + 1, err as i64];
            } else if libc::sethostname(hostname.as_ptr(), hostname.count_bytes()) != 0 {
                report = [-1, std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as i64];
            }
            libc::write(status, report.as_ptr() as *const libc::c_void, 16);
            // Stay alive until the judge holds the namespaces.
            let mut byte = 0u8;
            libc::read(hold, &mut byte as *mut u8 as *mut libc::c_void, 1);
            libc::_exit(0);
        }
    }
    if pid < 0 {
        return Err(format!("clone for the sandbox skeleton: {}", std::io::Error::last_os_error()));
    }
    drop((status_write, hold_read));
    let result = collect(pid, &status_read, plan);
    drop(hold_write);
    let mut status = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
    result
}

fn collect(pid: i32, status: &OwnedFd, plan: &MountPlan) -> Result<SlotNamespaces, String> {
    let mut report = [0i64; 2];
    // SAFETY: reading 16 bytes into a 16-byte buffer.
    let n = unsafe { libc::read(status.as_raw_fd(), report.as_mut_ptr() as *mut libc::c_void, 16) };
    if n != 16 {
        return Err("the sandbox skeleton helper died during setup".into());
    }
    match report {
        [0, _] => {}
        [-1, err] => {
            return Err(format!("setting the sandbox hostname: {}", std::io::Error::from_raw_os_error(err as i32)))
        }
        [step, err] => {
            return Err(format!(
                "building the sandbox root: {}: {}",
                plan.describe(step as usize - 1),
                std::io::Error::from_raw_os_error(err as i32)
            ))
        }
    }
    let open = |kind: &str| -> Result<OwnedFd, String> {
        let path = format!("/proc/{pid}/ns/{kind}");
        File::open(&path).map(Into::into).map_err(|e| format!("{path}: {e}"))
    };
    Ok(SlotNamespaces { mnt: open("mnt")?, net: open("net")?, uts: open("uts")? })
}
