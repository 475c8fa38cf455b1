//! Undoing a run's mounts in its slot's mount namespace, so that the slot's
//! next run starts from the bare skeleton.
//!
//! A run mounts in place, in the mount namespace its slot keeps (see
//! `warm.rs`). Its [`ResetPlan`], made by the host before init is cloned,
//! names every mount point the run may use and every path its setup may
//! create. Carried out (by init after reaping the run, or by a short helper
//! of the host's when init did not get that far), it detaches the run's
//! mounts, last mounted first, and removes what the setup created, so that
//! not even an empty directory named after one of the run's binds is left.
//!
//! Only mounts that are not the skeleton's are detached: the skeleton's
//! mount IDs are known (read once per slot), and a mount point the run never
//! reached (killed mid-setup) may be one of the skeleton's own (a bind at
//! `/usr/lib/x` would find `/usr` there). Mount IDs are unique among live
//! mounts, and the skeleton's live as long as the slot.

use std::ffi::CString;
use std::sync::Arc;

use super::mounts::MountPlan;
use super::sys;

/// At most this many of a run's mounts can sit on one mount point (a bind
/// listed twice): the reset detaches up to this many there.
const MAX_STACKED: usize = 64;

/// The mount flags that make the slot's root writable again, briefly, for
/// a run's mount points (read-only: see `mounts::RO_BIND`).
const RW_BIND: libc::c_ulong = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_NOSUID | libc::MS_NODEV;

/// Everything a run's init does to its slot's mount namespace.
pub struct RunMounts {
    /// What an earlier run of the slot may have left (it was killed, or the
    /// host's reset failed): undone before anything is mounted.
    pub leftover: Option<ResetPlan>,
    pub setup: MountPlan,
    /// Undone by init once every process of the run is reaped.
    pub reset: ResetPlan,
    /// The skeleton's mount IDs, sorted: never detached.
    pub skeleton_mounts: Arc<[u64]>,
    /// A/B only: false mounts in a private copy of the namespace (as before).
    pub in_place: bool,
}

/// What one run (or several, merged with [`ResetPlan::then`]) may leave in
/// its slot's mount namespace. Carried out with raw syscalls only.
#[derive(Clone, Debug, Default)]
pub struct ResetPlan {
    /// Mount points, the last mounted first.
    detach: Vec<CString>,
    /// Paths the setup may have created in the slot's root, the last
    /// created first, and whether each is a directory.
    remove: Vec<(CString, bool)>,
}

impl ResetPlan {
    /// A plan that detaches `mount_points` (in mount order) and removes
    /// `created` (in creation order).
    pub fn new(mount_points: Vec<CString>, created: Vec<(CString, bool)>) -> ResetPlan {
        let mut plan = ResetPlan { detach: mount_points, remove: created };
        plan.detach.reverse();
        plan.remove.reverse();
        plan
    }

    /// This plan, then `earlier`'s: undoes a run that started on top of
    /// what `earlier`'s run left.
    pub fn then(mut self, earlier: ResetPlan) -> ResetPlan {
        self.detach.extend(earlier.detach);
        self.remove.extend(earlier.remove);
        self
    }

    /// Whether carrying it out needs the slot's root writable.
    pub fn creates(&self) -> bool {
        !self.remove.is_empty()
    }

    /// Carries the plan out in the calling process's mount namespace. No
    /// allocation, raw syscalls only (it runs in init and in a `CLONE_VM`
    /// helper). `skeleton_mounts` (sorted) are never detached. Goes on
    /// past a failure, so as much as possible is undone, and returns the
    /// first errno.
    pub fn execute(&self, skeleton_mounts: &[u64]) -> Result<(), i32> {
        let mut first_error = Ok(());
        let mut note = |result: Result<(), i32>| {
            if first_error.is_ok() {
                first_error = result;
            }
        };
        for target in &self.detach {
            for _ in 0..MAX_STACKED {
                match run_mount_at(target, skeleton_mounts) {
                    Ok(true) => note(detach(target)),
                    Ok(false) => break,
                    Err(err) => {
                        note(Err(err));
                        break;
                    }
                }
            }
        }
        if self.remove.is_empty() {
            return first_error;
        }
        note(remount_root(RW_BIND));
        for (path, is_dir) in &self.remove {
            note(remove(path, *is_dir));
        }
        // Whatever failed above, the root goes back to read-only.
        note(remount_root(super::mounts::RO_BIND));
        first_error
    }
}

/// Whether the topmost mount at `target` is one of a run's (not the
/// skeleton's). A missing path has none.
fn run_mount_at(target: &CString, skeleton_mounts: &[u64]) -> Result<bool, i32> {
    // SAFETY: an all-zero statx is a valid value of this plain C struct.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    let flags = libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT | libc::AT_STATX_DONT_SYNC;
    let args = [
        libc::AT_FDCWD as usize,
        target.as_ptr() as usize,
        flags as usize,
        libc::STATX_MNT_ID as usize,
        &mut stx as *mut libc::statx as usize,
    ];
    // SAFETY: statx writes one statx into `stx`; the path is NUL-terminated.
    match unsafe { sys::syscall(libc::SYS_statx, &args) } {
        Ok(_) => {}
        Err(libc::ENOENT | libc::ENOTDIR) => return Ok(false),
        Err(err) => return Err(err),
    }
    let mount_root = libc::STATX_ATTR_MOUNT_ROOT as u64;
    if stx.stx_attributes_mask & mount_root == 0 || stx.stx_mask & libc::STATX_MNT_ID == 0 {
        // A kernel that cannot tell (before 5.8): nothing is safe to detach.
        return Err(libc::ENOSYS);
    }
    Ok(stx.stx_attributes & mount_root != 0 && skeleton_mounts.binary_search(&stx.stx_mnt_id).is_err())
}

fn detach(target: &CString) -> Result<(), i32> {
    let flags = (libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW) as usize;
    // SAFETY: umount2 reads one NUL-terminated path.
    sys::ok(unsafe { sys::syscall(libc::SYS_umount2, &[target.as_ptr() as usize, flags]) })
}

fn remount_root(flags: libc::c_ulong) -> Result<(), i32> {
    let args = [0, c"/".as_ptr() as usize, 0, flags as usize, 0];
    // SAFETY: mount reads one NUL-terminated path; the other pointers are null.
    sys::ok(unsafe { sys::syscall(libc::SYS_mount, &args) })
}

/// Removes a path the setup may have created. One it did not create is
/// missing, or on a read-only mount (the skeleton's binds, `/dev`), or not
/// of the kind expected: all fine. Anything else (not empty, busy) means
/// something of a run is still there.
fn remove(path: &CString, is_dir: bool) -> Result<(), i32> {
    let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: unlinkat reads one NUL-terminated path.
    match unsafe {
        sys::syscall(libc::SYS_unlinkat, &[libc::AT_FDCWD as usize, path.as_ptr() as usize, flags as usize])
    } {
        Ok(_) | Err(libc::ENOENT | libc::EROFS | libc::ENOTDIR | libc::EISDIR) => Ok(()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    #[test]
    fn undoes_last_first_and_merges_after_the_earlier_run() {
        let run = ResetPlan::new(vec![c("/box"), c("/proc"), c("/tmp")], vec![(c("/a"), true), (c("/a/b"), true)]);
        assert_eq!(run.detach, [c("/tmp"), c("/proc"), c("/box")]);
        assert_eq!(run.remove, [(c("/a/b"), true), (c("/a"), true)]);
        assert!(run.creates());
        let earlier = ResetPlan::new(vec![c("/x")], vec![]);
        let merged = run.then(earlier);
        assert_eq!(merged.detach.last(), Some(&c("/x")));
        assert!(!ResetPlan::new(vec![c("/tmp")], vec![]).creates());
    }
}
