//! Which namespaces isolate a run, and where each comes from.
//!
//! A slot keeps mount, network, UTS and IPC namespaces, built once by
//! `warm.rs` and held open through fds; each run's init joins them
//! (`child.rs`), then takes a private copy of the mount namespace. The PID
//! namespace is new for every run: the clone of init (`command.rs`)
//! creates it. The IPC namespace can be the slot's because nothing can be
//! created in it: seccomp refuses SysV shared memory, message queues and
//! semaphores and POSIX message queues (`seccomp.rs`), so a run finds it
//! as empty as a new one, for a fraction of the cost (a new IPC namespace
//! mounts its own mqueue file system and tears it down after the run).

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::protocol::InitStep;

/// A namespace a slot keeps for its runs.
#[derive(Clone, Copy, Debug)]
pub struct SlotNamespace {
    /// The clone / setns flag.
    pub flag: libc::c_int,
    /// Its name under `/proc/PID/ns/`.
    pub proc_name: &'static str,
    /// The step init reports when joining it fails.
    pub join_step: InitStep,
}

/// The namespaces a slot keeps, in the order init receives their fds.
pub const SLOT_KEPT: [SlotNamespace; 4] = [
    SlotNamespace { flag: libc::CLONE_NEWNS, proc_name: "mnt", join_step: InitStep::JoinMountNamespace },
    SlotNamespace { flag: libc::CLONE_NEWNET, proc_name: "net", join_step: InitStep::JoinNetworkNamespace },
    SlotNamespace { flag: libc::CLONE_NEWUTS, proc_name: "uts", join_step: InitStep::JoinUtsNamespace },
    SlotNamespace { flag: libc::CLONE_NEWIPC, proc_name: "ipc", join_step: InitStep::JoinIpcNamespace },
];

/// Clone flags that create a slot's kept namespaces (in `warm.rs`).
pub const SLOT_CLONE_FLAGS: libc::c_int = {
    let mut flags = 0;
    let mut i = 0;
    while i < SLOT_KEPT.len() {
        flags |= SLOT_KEPT[i].flag;
        i += 1;
    }
    flags
};

/// Clone flags that give each run a namespace of its own: its processes
/// die with its PID namespace.
pub const RUN_CLONE_FLAGS: libc::c_int = libc::CLONE_NEWPID;

/// What init unshares after joining the slot's namespaces: a private copy
/// of the skeleton's mount namespace, so the run's mounts are its own.
pub const RUN_UNSHARE_FLAGS: libc::c_int = libc::CLONE_NEWNS;

/// The kept namespaces of one slot, as fds in the order of [`SLOT_KEPT`].
#[derive(Debug)]
pub struct SlotNamespaces {
    fds: Vec<OwnedFd>,
}

impl SlotNamespaces {
    /// Opens the kept namespaces of process `pid`.
    pub fn open(pid: i32) -> std::io::Result<SlotNamespaces> {
        let fds = SLOT_KEPT
            .iter()
            .map(|ns| {
                let path = format!("/proc/{pid}/ns/{}", ns.proc_name);
                File::open(&path)
                    .map(OwnedFd::from)
                    .map_err(|e| std::io::Error::new(e.kind(), format!("opening {path}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(SlotNamespaces { fds })
    }

    /// The raw fds, in the order of [`SLOT_KEPT`].
    pub fn raw_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.fds.iter().map(AsRawFd::as_raw_fd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_flags_cover_every_kept_namespace_and_no_run_one() {
        assert_eq!(SLOT_CLONE_FLAGS, libc::CLONE_NEWNS | libc::CLONE_NEWNET | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC);
        assert_eq!(SLOT_CLONE_FLAGS & RUN_CLONE_FLAGS, 0);
    }
}
