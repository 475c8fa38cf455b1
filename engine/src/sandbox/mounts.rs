//! The sandbox's file system, in two plans of mount operations built in the
//! parent (where allocating is safe) and carried out by children that must
//! not allocate.
//!
//! The *skeleton* is built once per slot, in the slot's own mount namespace
//! (see `warm.rs`): a tmpfs root holding read-only binds of the system
//! directories, a small `/dev`, empty mount points (`/box` among them), and
//! at `/tmp` one empty read-only tmpfs, switched to with `pivot_root` so
//! nothing of the host's tree stays in that namespace, and then made
//! read-only.
//!
//! The *per-run* plan is carried out by each run's init in a private copy of
//! the skeleton namespace: the run's binds (the work dir, language
//! directories) arrive as detached mounts made with `open_tree` in the host,
//! then a fresh read-only `/proc` whose host-revealing entries are masked
//! (directories by binds of the skeleton's empty `/tmp`, so no run needs a
//! file system of its own for them), and a size-capped `/tmp` over the
//! skeleton's. The root is made writable in the copy only while a run's
//! mount points are created; most runs create none.
//!
//! Mounting in place in the slot's namespace instead, and undoing the run's
//! mounts after it, was measured slower (issue 14): each `umount2` waits
//! for an expedited RCU grace period, three a run, while on the kernels
//! measured the copy is torn down outside the run's processes.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use libc::c_ulong;

use super::command::WORKDIR;
use super::protocol::SetupStep;
use super::sys;

/// Host directory the new root is mounted on, inside the sandbox's private
/// mount namespace only (the host never sees anything mounted there).
pub const NEW_ROOT: &str = "/run/judge/root";
/// Where the host's old root goes during `pivot_root`, before it is detached.
const OLD_ROOT: &str = ".old-root";

/// Host paths every sandbox sees read-only, when they exist.
pub const SYSTEM_BINDS: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
];

/// /proc files that tell about the host rather than the run: its boot
/// arguments, kernel symbols and configuration, modules, keys, devices,
/// disks, timers and scheduler state, physical memory. What container
/// runtimes mask, and the like. Read, each shows as empty (or, when only
/// root may read it, fails).
pub const PROC_MASKED_FILES: &[&str] = &[
    "cmdline",
    "config.gz",
    "diskstats",
    "iomem",
    "ioports",
    "kallsyms",
    "kcore",
    "key-users",
    "keys",
    "kmsg",
    "kpagecgroup",
    "kpagecount",
    "kpageflags",
    "latency_stats",
    "modules",
    "partitions",
    "sched_debug",
    "slabinfo",
    "sysrq-trigger",
    "timer_list",
    "timer_stats",
    "vmallocinfo",
];

/// /proc directories of host hardware and drivers, shown empty.
pub const PROC_MASKED_DIRS: &[&str] = &["acpi", "asound", "bus", "driver", "fs", "irq", "scsi"];

/// The masked entries this kernel has (a mount on a missing one would fail).
/// Files only root may read (kcore, kmsg, slabinfo, ...) stay unreadable to
/// the program's uid without a mount, which costs about 10 µs a run each.
fn proc_masks() -> &'static (Vec<&'static str>, Vec<&'static str>) {
    use std::os::unix::fs::PermissionsExt;
    static MASKS: std::sync::OnceLock<(Vec<&'static str>, Vec<&'static str>)> = std::sync::OnceLock::new();
    MASKS.get_or_init(|| {
        let meta = |name: &str| std::fs::symlink_metadata(Path::new("/proc").join(name)).ok();
        let files = PROC_MASKED_FILES
            .iter()
            .filter(|name| meta(name).is_some_and(|m| m.is_file() && m.permissions().mode() & 0o007 != 0))
            .copied()
            .collect();
        let dirs = PROC_MASKED_DIRS.iter().filter(|name| meta(name).is_some_and(|m| m.is_dir())).copied().collect();
        (files, dirs)
    })
}

/// The masks a run applies on this kernel: (files, directories) under
/// /proc. Read-only, for the bench's kernel floor (`benches/sandbox`).
#[doc(hidden)]
pub fn applied_proc_masks() -> (&'static [&'static str], &'static [&'static str]) {
    let (files, dirs) = proc_masks();
    (files, dirs)
}

/// Files and directories the run's /tmp may hold: about 1 KiB of kernel
/// memory each at most, so a few MiB (the monitor counts them too).
pub const TMP_INODES: u64 = 4096;

const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];
const DEV_LINKS: &[(&str, &str)] = &[
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
];

const RO_BIND: c_ulong = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV;

// The new mount API (Linux 5.2+; mount_setattr 5.12+), not all in the libc crate.
const OPEN_TREE_CLONE: libc::c_uint = 1;
const AT_RECURSIVE: libc::c_uint = 0x8000;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// A host path made visible inside the sandbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    pub source: PathBuf,
    pub target: PathBuf,
    pub writable: bool,
}

/// A bind prepared in the host: a detached copy of the source's mount, with
/// its flags already set, waiting to be attached inside the sandbox.
#[derive(Debug)]
pub struct DetachedBind {
    pub source: PathBuf,
    pub target: PathBuf,
    pub is_dir: bool,
    pub fd: OwnedFd,
}

impl DetachedBind {
    /// `open_tree(OPEN_TREE_CLONE)` of `bind.source`, made nosuid, nodev and
    /// (unless writable) read-only. The clone is taken of the host's view, so
    /// nothing inside the source is ever walked by the host.
    pub fn new(bind: &Bind) -> Result<DetachedBind, String> {
        let target = &bind.target;
        if !target.is_absolute()
            || target.components().any(|c| c == std::path::Component::ParentDir)
            || target == Path::new("/")
        {
            return Err(format!("bind target {} must be an absolute path below / without '..'", target.display()));
        }
        let source = cstr(bind.source.as_os_str().as_bytes());
        // SAFETY: plain syscalls on a NUL-terminated path; the fd is checked.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_open_tree,
                libc::AT_FDCWD,
                source.as_ptr(),
                OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | AT_RECURSIVE,
            )
        };
        if fd < 0 {
            return Err(format!("bind source {}: {}", bind.source.display(), std::io::Error::last_os_error()));
        }
        // SAFETY: open_tree returned a new fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // The clone's root is the source itself: its type, without walking the path again.
        // SAFETY: an all-zero stat is a valid value of this plain C struct.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat writes only `stat`; fd is ours.
        if unsafe { libc::fstat(fd.as_raw_fd(), &mut stat) } != 0 {
            return Err(format!("bind source {}: {}", bind.source.display(), std::io::Error::last_os_error()));
        }
        let is_dir = stat.st_mode & libc::S_IFMT == libc::S_IFDIR;
        let mut set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
        if !bind.writable {
            set |= MOUNT_ATTR_RDONLY;
        }
        // Private: a clone of a shared host mount would otherwise be its
        // peer, and mounts and unmounts below it would propagate both ways.
        let attr = MountAttr { attr_set: set, attr_clr: 0, propagation: libc::MS_PRIVATE, userns_fd: 0 };
        // SAFETY: attr is a valid mount_attr of the size passed.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                fd.as_raw_fd(),
                c"".as_ptr(),
                libc::AT_EMPTY_PATH as libc::c_uint | AT_RECURSIVE,
                &attr as *const MountAttr,
                std::mem::size_of::<MountAttr>(),
            )
        };
        if rc != 0 {
            return Err(format!("setting flags on {}: {}", bind.source.display(), std::io::Error::last_os_error()));
        }
        Ok(DetachedBind { source: bind.source.clone(), target: target.clone(), is_dir, fd })
    }
}

enum Op {
    /// An existing directory is fine.
    Mkdir(CString, u32),
    Touch(CString),
    Symlink {
        target: CString,
        link: CString,
    },
    Mount {
        source: CString,
        target: CString,
        fstype: CString,
        flags: c_ulong,
        data: CString,
    },
    PivotRoot,
    /// Attach the detached mount at this fd (inherited by init) to `target`.
    MoveMount {
        fd: i32,
        target: CString,
    },
    /// Per run: remount the root read-only if a Mkdir or Touch had to make
    /// it writable.
    RootReadOnlyAgain,
}

/// Mount steps, each with a readable description used when a step fails.
pub struct MountPlan {
    ops: Vec<(Op, String)>,
    /// Paths (inside the sandbox) this plan or the skeleton it builds on
    /// makes: directories, files and links in the root tmpfs.
    created: BTreeSet<PathBuf>,
    /// Binds of host trees (and links into them) in the skeleton: whatever
    /// is below one exists or not as on the host, and is read-only.
    bound: BTreeSet<PathBuf>,
    /// Whether this plan creates anything (then it needs the root writable).
    creates: bool,
    /// Where the sandbox's "/" is while the plan runs: NEW_ROOT for the
    /// skeleton (before pivot_root), "/" per run.
    prefix: &'static str,
    root: CString,
    old_root: CString,
    old_root_abs: CString,
    slash: CString,
}

fn cstr(p: impl AsRef<[u8]>) -> CString {
    CString::new(p.as_ref()).unwrap_or_else(|_| CString::new("/nonexistent-path-with-nul").unwrap())
}

impl MountPlan {
    fn empty(prefix: &'static str) -> MountPlan {
        MountPlan {
            ops: Vec::new(),
            created: BTreeSet::new(),
            bound: BTreeSet::new(),
            creates: false,
            prefix,
            root: cstr(NEW_ROOT),
            old_root: cstr(OLD_ROOT),
            old_root_abs: cstr(format!("/{OLD_ROOT}")),
            slash: cstr("/"),
        }
    }

    /// The skeleton every run of a slot starts from, read-only once built.
    /// It holds the usual mount point of a run's work dir, and at `/tmp`
    /// (covered by each run's own) one empty read-only tmpfs: the source
    /// of the masks of /proc directories, so no run needs a file system
    /// of its own for them.
    pub fn skeleton() -> Result<MountPlan, String> {
        let mut plan = MountPlan::empty(NEW_ROOT);
        plan.mount("", "/", "", libc::MS_REC | libc::MS_PRIVATE, "", "make the mount tree private");
        plan.mount(
            "tmpfs",
            NEW_ROOT,
            "tmpfs",
            libc::MS_NOSUID | libc::MS_NODEV,
            "size=1m,mode=0755",
            "mount the root tmpfs",
        );
        for source in SYSTEM_BINDS {
            plan.bind_host(Path::new(source), Path::new(source))?;
        }
        plan.add_dev();
        plan.mkdir(Path::new("/proc"), 0o555);
        plan.mkdir(Path::new(WORKDIR), 0o755);
        plan.mkdir(Path::new("/tmp"), 0o755);
        let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        let tmp = format!("{NEW_ROOT}/tmp");
        plan.mount("tmpfs", &tmp, "tmpfs", flags, "size=4k,nr_inodes=1,mode=0555", "mount the empty /tmp");
        plan.mkdir(Path::new(&format!("/{OLD_ROOT}")), 0o700);
        plan.ops.push((Op::PivotRoot, "pivot_root into the new root".into()));
        plan.mount("", "/", "", RO_BIND, "", "make the root read-only");
        Ok(plan)
    }

    /// One run's mounts on top of `skeleton`. `binds[i]` is attached from
    /// the detached mount init holds at fd `first_bind_fd + i`. The root
    /// stays read-only unless a mount point is missing (the copy shares the
    /// skeleton's root tmpfs, so one made by an earlier run is there); then
    /// it is writable only until the binds are made.
    pub fn per_run(binds: &[DetachedBind], first_bind_fd: i32, tmpfs_bytes: u64, skeleton: &MountPlan) -> MountPlan {
        let mut plan = MountPlan::empty("/");
        plan.created = skeleton.created.clone();
        plan.bound = skeleton.bound.clone();
        for (i, bind) in binds.iter().enumerate() {
            if let Some(parent) = bind.target.parent() {
                plan.mkdir(parent, 0o755);
            }
            if bind.is_dir {
                plan.mkdir(&bind.target, 0o755);
            } else {
                plan.touch(&bind.target);
            }
            plan.ops.push((
                Op::MoveMount { fd: first_bind_fd + i as i32, target: cstr(bind.target.as_os_str().as_bytes()) },
                format!("bind {} at {}", bind.source.display(), bind.target.display()),
            ));
        }
        if plan.creates {
            plan.ops.push((Op::RootReadOnlyAgain, "make the root read-only".into()));
        }
        let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        // hidepid=2: the program sees only its own uid's processes. Init is a
        // clone of the judge and would show the judge's command line (e.g.
        // `serve --token T`) in /proc/1/cmdline. The host's monitor, root, sees all.
        plan.mount("proc", "/proc", "proc", flags, "hidepid=2", "mount /proc");
        plan.mask_proc();
        // Files cost kernel memory even when empty (inode, dentry, name), which
        // the size cap does not see: nr_inodes caps them.
        let tmp_data = format!("size={},nr_inodes={TMP_INODES},mode=1777", tmpfs_bytes.max(4096));
        plan.mount("tmpfs", "/tmp", "tmpfs", libc::MS_NOSUID | libc::MS_NODEV, &tmp_data, "mount /tmp");
        plan
    }

    /// Hides what /proc tells of the host (see PROC_MASKED_FILES): files are
    /// covered by /dev/null, directories by binds of the skeleton's empty
    /// read-only `/tmp` (this run's own is not mounted yet).
    fn mask_proc(&mut self) {
        let (files, dirs) = proc_masks();
        for name in files {
            let target = format!("/proc/{name}");
            self.mount("/dev/null", &target, "", libc::MS_BIND, "", &format!("mask {target}"));
        }
        for name in dirs {
            let target = format!("/proc/{name}");
            self.mount("/tmp", &target, "", libc::MS_BIND, "", &format!("mask {target}"));
        }
    }

    fn inside(&self, path: &Path) -> PathBuf {
        Path::new(self.prefix).join(path.strip_prefix("/").unwrap_or(path))
    }

    fn mount(&mut self, source: &str, target: &str, fstype: &str, flags: c_ulong, data: &str, what: &str) {
        self.ops.push((
            Op::Mount { source: cstr(source), target: cstr(target), fstype: cstr(fstype), flags, data: cstr(data) },
            what.to_string(),
        ));
    }

    /// Whether `path` is there before this plan runs: made by the skeleton,
    /// or below one of its host binds (there it cannot be created anyway).
    fn exists(&self, path: &Path) -> bool {
        self.created.contains(path) || path.ancestors().any(|a| self.bound.contains(a))
    }

    /// Creates `path` (inside the new root) and any missing parents.
    fn mkdir(&mut self, path: &Path, mode: u32) {
        let mut ancestors: Vec<&Path> = path.ancestors().filter(|a| a.parent().is_some()).collect();
        ancestors.reverse();
        for dir in ancestors {
            if !self.exists(dir) {
                self.created.insert(dir.to_path_buf());
                self.creates = true;
                let m = if dir == path { mode } else { 0o755 };
                let host = self.inside(dir);
                self.ops.push((Op::Mkdir(cstr(host.as_os_str().as_bytes()), m), format!("create {}", dir.display())));
            }
        }
    }

    /// Creates the empty file `path` (inside the new root) unless it exists.
    fn touch(&mut self, path: &Path) {
        if !self.exists(path) {
            self.created.insert(path.to_path_buf());
            self.creates = true;
            let host = self.inside(path);
            self.ops.push((Op::Touch(cstr(host.as_os_str().as_bytes())), format!("create {}", path.display())));
        }
    }

    /// A read-only bind of a system path that exists (a missing one is skipped).
    fn bind_host(&mut self, source: &Path, target: &Path) -> Result<(), String> {
        let Ok(meta) = std::fs::symlink_metadata(source) else { return Ok(()) };
        if let Some(parent) = target.parent() {
            self.mkdir(parent, 0o755);
        }
        let host_target = self.inside(target);
        if meta.file_type().is_symlink() {
            // Recreate the link itself (e.g. /bin -> usr/bin): binding would follow it.
            let dest = std::fs::read_link(source).map_err(|e| format!("reading link {}: {e}", source.display()))?;
            self.ops.push((
                Op::Symlink {
                    target: cstr(dest.as_os_str().as_bytes()),
                    link: cstr(host_target.as_os_str().as_bytes()),
                },
                format!("link {}", target.display()),
            ));
            // It leads into another bind (/usr): treated as that one.
            self.created.insert(target.to_path_buf());
            self.bound.insert(target.to_path_buf());
            return Ok(());
        }
        if meta.is_dir() {
            self.mkdir(target, 0o755);
            self.bound.insert(target.to_path_buf());
        } else {
            self.touch(target);
        }
        let what = format!("bind {} at {}", source.display(), target.display());
        let src = source.as_os_str().as_bytes();
        let dst = host_target.as_os_str().as_bytes();
        self.ops.push((
            Op::Mount {
                source: cstr(src),
                target: cstr(dst),
                fstype: cstr(""),
                flags: libc::MS_BIND | libc::MS_REC,
                data: cstr(""),
            },
            what.clone(),
        ));
        self.ops.push((
            Op::Mount { source: cstr(""), target: cstr(dst), fstype: cstr(""), flags: RO_BIND, data: cstr("") },
            format!("{what} (set flags)"),
        ));
        Ok(())
    }

    fn add_dev(&mut self) {
        self.mkdir(Path::new("/dev"), 0o755);
        let dev = format!("{NEW_ROOT}/dev");
        let tmpfs_flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        self.mount("tmpfs", &dev, "tmpfs", tmpfs_flags, "size=64k,mode=0755", "mount /dev");
        for name in DEVICES {
            let node = format!("{dev}/{name}");
            self.touch(Path::new(&format!("/dev/{name}")));
            self.mount(&format!("/dev/{name}"), &node, "", libc::MS_BIND, "", &format!("bind /dev/{name}"));
            // Device nodes need device access, so these binds alone are not nodev.
            let flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_NOSUID | libc::MS_NOEXEC;
            self.mount("", &node, "", flags, "", &format!("bind /dev/{name} (set flags)"));
        }
        for (target, name) in DEV_LINKS {
            self.created.insert(PathBuf::from(format!("/dev/{name}")));
            self.ops.push((
                Op::Symlink { target: cstr(target), link: cstr(format!("{dev}/{name}")) },
                format!("link /dev/{name}"),
            ));
        }
        self.mount("", &dev, "", RO_BIND | libc::MS_NOEXEC, "", "make /dev read-only");
    }

    pub fn describe(&self, step: usize) -> &str {
        self.ops.get(step).map(|(_, what)| what.as_str()).unwrap_or("unknown step")
    }

    /// Runs every step. Called between clone and exec: no allocation, raw
    /// syscalls only; returns the failing step and errno.
    pub fn execute(&self) -> Result<(), (SetupStep, i32)> {
        let mut root_writable = false;
        for (step, (op, _)) in self.ops.iter().enumerate() {
            // SAFETY: every pointer is a live NUL-terminated string of the plan.
            let result = unsafe { self.run_op(op, &mut root_writable) };
            result.map_err(|err| (SetupStep::Mount(step), err))?;
        }
        Ok(())
    }

    /// Runs `create`; per run, a read-only root (what the skeleton's is) is
    /// made writable first if it has to be, and `root_writable` says so.
    fn creating(&self, root_writable: &mut bool, create: impl Fn() -> Result<(), i32>) -> Result<(), i32> {
        match create() {
            Err(libc::EROFS) if self.prefix == "/" && !*root_writable => {
                let rw = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_NOSUID | libc::MS_NODEV;
                // SAFETY: mount reads one NUL-terminated path; the rest are null.
                sys::ok(unsafe { sys::syscall(libc::SYS_mount, &[0, self.slash.as_ptr() as usize, 0, rw as usize]) })?;
                *root_writable = true;
                create()
            }
            other => other,
        }
    }

    unsafe fn run_op(&self, op: &Op, root_writable: &mut bool) -> Result<(), i32> {
        let at = libc::AT_FDCWD as usize;
        match op {
            Op::Mkdir(path, mode) => self.creating(root_writable, || {
                match sys::syscall(libc::SYS_mkdirat, &[at, path.as_ptr() as usize, *mode as usize]) {
                    // mkdir honours the umask; chmod sets the mode asked for.
                    Ok(_) => sys::ok(sys::syscall(libc::SYS_fchmodat, &[at, path.as_ptr() as usize, *mode as usize])),
                    // Checked before the mount's read-only flag: no need to make it writable.
                    Err(libc::EEXIST) => Ok(()),
                    Err(err) => Err(err),
                }
            }),
            Op::Touch(path) => self.creating(root_writable, || {
                // Not for writing: an existing file on a read-only mount opens.
                let flags = (libc::O_CREAT | libc::O_RDONLY | libc::O_CLOEXEC) as usize;
                let fd = sys::syscall(libc::SYS_openat, &[at, path.as_ptr() as usize, flags, 0o644])?;
                sys::close(fd as i32);
                Ok(())
            }),
            Op::RootReadOnlyAgain if !*root_writable => Ok(()),
            Op::RootReadOnlyAgain => {
                let args = [0, self.slash.as_ptr() as usize, 0, RO_BIND as usize];
                sys::ok(sys::syscall(libc::SYS_mount, &args))?;
                *root_writable = false;
                Ok(())
            }
            Op::Symlink { target, link } => {
                sys::ok(sys::syscall(libc::SYS_symlinkat, &[target.as_ptr() as usize, at, link.as_ptr() as usize]))
            }
            Op::Mount { source, target, fstype, flags, data } => {
                let opt = |s: &CString| if s.as_bytes().is_empty() { 0 } else { s.as_ptr() as usize };
                let args = [opt(source), target.as_ptr() as usize, opt(fstype), *flags as usize, opt(data)];
                sys::ok(sys::syscall(libc::SYS_mount, &args))
            }
            Op::PivotRoot => self.pivot(),
            Op::MoveMount { fd, target } => {
                let args = [
                    *fd as usize,
                    c"".as_ptr() as usize,
                    at,
                    target.as_ptr() as usize,
                    MOVE_MOUNT_F_EMPTY_PATH as usize,
                ];
                sys::ok(sys::syscall(libc::SYS_move_mount, &args))
            }
        }
    }

    /// pivot_root, then detach the host's tree so nothing of it stays reachable.
    unsafe fn pivot(&self) -> Result<(), i32> {
        sys::syscall(libc::SYS_chdir, &[self.root.as_ptr() as usize])?;
        sys::syscall(libc::SYS_pivot_root, &[c".".as_ptr() as usize, self.old_root.as_ptr() as usize])?;
        sys::syscall(libc::SYS_chdir, &[self.slash.as_ptr() as usize])?;
        sys::syscall(libc::SYS_umount2, &[self.old_root_abs.as_ptr() as usize, libc::MNT_DETACH as usize])?;
        let rmdir = [libc::AT_FDCWD as usize, self.old_root_abs.as_ptr() as usize, libc::AT_REMOVEDIR as usize];
        sys::ok(sys::syscall(libc::SYS_unlinkat, &rmdir))
    }
}

#[cfg(test)]
#[path = "mounts_tests.rs"]
mod tests;
