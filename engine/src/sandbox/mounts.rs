//! The sandbox's file system: a plan of mount operations built in the parent
//! (where allocating is safe) and carried out by the sandbox's init, which
//! must not allocate. The result is a root of read-only binds plus a small
//! `/dev`, a fresh read-only `/proc`, a size-capped `/tmp` and the work dir,
//! switched to with `pivot_root`; the host's tree is detached afterwards.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use libc::c_ulong;

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

const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];
const DEV_LINKS: &[(&str, &str)] = &[
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
];

const RO_BIND: c_ulong = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV;
const RW_BIND: c_ulong = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_NOSUID | libc::MS_NODEV;

/// A host path made visible inside the sandbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    pub source: PathBuf,
    pub target: PathBuf,
    pub writable: bool,
}

enum Op {
    Mkdir(CString, u32),
    Touch(CString),
    Symlink { target: CString, link: CString },
    Mount { source: CString, target: CString, fstype: CString, flags: c_ulong, data: CString },
    PivotRoot,
}

/// The steps that build the sandbox root, each with a readable description
/// used when a step fails.
pub struct MountPlan {
    ops: Vec<(Op, String)>,
    created: BTreeSet<PathBuf>,
    root: CString,
    old_root: CString,
    old_root_abs: CString,
    slash: CString,
}

fn cstr(p: impl AsRef<[u8]>) -> CString {
    CString::new(p.as_ref()).unwrap_or_else(|_| CString::new("/nonexistent-path-with-nul").unwrap())
}

impl MountPlan {
    /// `binds` are the language's and the caller's extra binds; `workdir` is
    /// the host directory shown at `cwd` (read-only unless `writable`).
    pub fn new(binds: &[Bind], tmpfs_bytes: u64) -> Result<MountPlan, String> {
        let mut plan = MountPlan {
            ops: Vec::new(),
            created: BTreeSet::new(),
            root: cstr(NEW_ROOT),
            old_root: cstr(OLD_ROOT),
            old_root_abs: cstr(format!("/{OLD_ROOT}")),
            slash: cstr("/"),
        };
        plan.mount("", "/", "", libc::MS_REC | libc::MS_PRIVATE, "", "make the mount tree private");
        plan.mount("tmpfs", NEW_ROOT, "tmpfs", libc::MS_NOSUID | libc::MS_NODEV, "size=1m,mode=0755", "mount the root tmpfs");
        for source in SYSTEM_BINDS {
            plan.bind_host(Path::new(source), Path::new(source), false, true)?;
        }
        for bind in binds {
            plan.bind_host(&bind.source, &bind.target, bind.writable, false)?;
        }
        plan.add_proc();
        plan.add_dev();
        plan.mkdir(Path::new("/tmp"), 0o1777);
        let tmp_data = format!("size={},mode=1777", tmpfs_bytes.max(4096));
        plan.mount("tmpfs", &format!("{NEW_ROOT}/tmp"), "tmpfs", libc::MS_NOSUID | libc::MS_NODEV, &tmp_data, "mount /tmp");
        plan.mkdir(Path::new(&format!("/{OLD_ROOT}")), 0o700);
        plan.ops.push((Op::PivotRoot, "pivot_root into the new root".into()));
        plan.mount("", "/", "", RO_BIND, "", "make the root read-only");
        Ok(plan)
    }

    fn inside(path: &Path) -> PathBuf {
        Path::new(NEW_ROOT).join(path.strip_prefix("/").unwrap_or(path))
    }

    fn mount(&mut self, source: &str, target: &str, fstype: &str, flags: c_ulong, data: &str, what: &str) {
        self.ops.push((
            Op::Mount { source: cstr(source), target: cstr(target), fstype: cstr(fstype), flags, data: cstr(data) },
            what.to_string(),
        ));
    }

    /// Creates `path` (inside the new root) and any missing parents.
    fn mkdir(&mut self, path: &Path, mode: u32) {
        let mut ancestors: Vec<&Path> = path.ancestors().filter(|a| a.parent().is_some()).collect();
        ancestors.reverse();
        for dir in ancestors {
            if self.created.insert(dir.to_path_buf()) {
                let m = if dir == path { mode } else { 0o755 };
                let host = Self::inside(dir);
                self.ops.push((Op::Mkdir(cstr(host.as_os_str().as_bytes()), m), format!("create {}", dir.display())));
            }
        }
    }

    fn bind_host(&mut self, source: &Path, target: &Path, writable: bool, optional: bool) -> Result<(), String> {
        if !target.is_absolute() || target.components().any(|c| c == std::path::Component::ParentDir) {
            return Err(format!("bind target {} must be an absolute path without '..'", target.display()));
        }
        let meta = match std::fs::symlink_metadata(source) {
            Ok(meta) => meta,
            Err(_) if optional => return Ok(()),
            Err(e) => return Err(format!("bind source {}: {e}", source.display())),
        };
        if let Some(parent) = target.parent() {
            self.mkdir(parent, 0o755);
        }
        let host_target = Self::inside(target);
        if meta.file_type().is_symlink() {
            // Recreate the link itself (e.g. /bin -> usr/bin): binding would follow it.
            let dest = std::fs::read_link(source).map_err(|e| format!("reading link {}: {e}", source.display()))?;
            self.ops.push((
                Op::Symlink { target: cstr(dest.as_os_str().as_bytes()), link: cstr(host_target.as_os_str().as_bytes()) },
                format!("link {}", target.display()),
            ));
            return Ok(());
        }
        if meta.is_dir() {
            self.mkdir(target, 0o755);
        } else {
            self.ops.push((Op::Touch(cstr(host_target.as_os_str().as_bytes())), format!("create {}", target.display())));
        }
        let what = format!("bind {} at {}", source.display(), target.display());
        let src = source.as_os_str().as_bytes();
        let dst = host_target.as_os_str().as_bytes();
        self.ops.push((
            Op::Mount { source: cstr(src), target: cstr(dst), fstype: cstr(""), flags: libc::MS_BIND | libc::MS_REC, data: cstr("") },
            what.clone(),
        ));
        let flags = if writable { RW_BIND } else { RO_BIND };
        self.ops.push((
            Op::Mount { source: cstr(""), target: cstr(dst), fstype: cstr(""), flags, data: cstr("") },
            format!("{what} (set flags)"),
        ));
        Ok(())
    }

    fn add_proc(&mut self) {
        self.mkdir(Path::new("/proc"), 0o555);
        let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        // hidepid=2: the program sees only its own uid's processes. Init is a
        // clone of the judge and would show the judge's command line (e.g.
        // `serve --token T`) in /proc/1/cmdline. The host's monitor, root, sees all.
        self.mount("proc", &format!("{NEW_ROOT}/proc"), "proc", flags, "hidepid=2", "mount /proc");
    }

    fn add_dev(&mut self) {
        self.mkdir(Path::new("/dev"), 0o755);
        let dev = format!("{NEW_ROOT}/dev");
        let tmpfs_flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        self.mount("tmpfs", &dev, "tmpfs", tmpfs_flags, "size=64k,mode=0755", "mount /dev");
        for name in DEVICES {
            let node = format!("{dev}/{name}");
            self.ops.push((Op::Touch(cstr(&node)), format!("create /dev/{name}")));
            self.mount(&format!("/dev/{name}"), &node, "", libc::MS_BIND, "", &format!("bind /dev/{name}"));
            // Device nodes need device access, so these binds alone are not nodev.
            let flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_NOSUID | libc::MS_NOEXEC;
            self.mount("", &node, "", flags, "", &format!("bind /dev/{name} (set flags)"));
        }
        for (target, name) in DEV_LINKS {
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

    /// Runs every step. Called in the sandbox's init: no allocation, returns
    /// the failing step and errno.
    pub fn execute(&self) -> Result<(), (usize, i32)> {
        for (step, (op, _)) in self.ops.iter().enumerate() {
            // SAFETY: every pointer is a live NUL-terminated string of the plan.
            let rc = unsafe {
                match op {
                    Op::Mkdir(path, mode) => {
                        let rc = libc::mkdir(path.as_ptr(), *mode);
                        if rc == 0 {
                            libc::chmod(path.as_ptr(), *mode)
                        } else {
                            rc
                        }
                    }
                    Op::Touch(path) => {
                        let fd = libc::open(path.as_ptr(), libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC, 0o644);
                        if fd >= 0 {
                            libc::close(fd)
                        } else {
                            fd
                        }
                    }
                    Op::Symlink { target, link } => libc::symlink(target.as_ptr(), link.as_ptr()),
                    Op::Mount { source, target, fstype, flags, data } => {
                        let opt = |s: &CString| if s.as_bytes().is_empty() { std::ptr::null() } else { s.as_ptr() };
                        libc::mount(opt(source), target.as_ptr(), opt(fstype), *flags, opt(data) as *const libc::c_void)
                    }
                    Op::PivotRoot => self.pivot(),
                }
            };
            if rc != 0 {
                return Err((step, errno()));
            }
        }
        Ok(())
    }

    /// pivot_root, then detach the host's tree so nothing of it stays reachable.
    unsafe fn pivot(&self) -> i32 {
        if libc::chdir(self.root.as_ptr()) != 0 {
            return -1;
        }
        if libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), self.old_root.as_ptr()) != 0 {
            return -1;
        }
        if libc::chdir(self.slash.as_ptr()) != 0 {
            return -1;
        }
        if libc::umount2(self.old_root_abs.as_ptr(), libc::MNT_DETACH) != 0 {
            return -1;
        }
        libc::rmdir(self.old_root_abs.as_ptr())
    }
}

pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_creates_parents_once_and_links_symlinked_dirs() {
        let plan = MountPlan::new(
            &[Bind { source: "/etc/hostname".into(), target: "/etc/x/hostname".into(), writable: false }],
            1 << 20,
        )
        .unwrap();
        let whats: Vec<&str> = plan.ops.iter().map(|(_, w)| w.as_str()).collect();
        assert_eq!(whats.iter().filter(|w| **w == "create /etc").count(), 1);
        assert!(whats.contains(&"create /etc/x"));
        assert!(whats.contains(&"pivot_root into the new root"));
        if std::fs::symlink_metadata("/bin").map(|m| m.file_type().is_symlink()).unwrap_or(false) {
            assert!(whats.contains(&"link /bin"));
        }
    }

    #[test]
    fn relative_or_dotdot_targets_are_refused() {
        let bad = Bind { source: "/usr".into(), target: "/box/../etc".into(), writable: false };
        assert!(MountPlan::new(&[bad], 1 << 20).is_err());
        let rel = Bind { source: "/usr".into(), target: "usr2".into(), writable: false };
        assert!(MountPlan::new(&[rel], 1 << 20).is_err());
    }

    #[test]
    fn missing_required_source_is_an_error() {
        let bind = Bind { source: "/definitely/not/here".into(), target: "/x".into(), writable: false };
        let err = MountPlan::new(&[bind], 1 << 20).err().unwrap();
        assert!(err.contains("/definitely/not/here"), "{err}");
    }
}
