//! The mount namespace the kernel floor's runs start from (`floor.rs`),
//! prepared once by a helper process: private before anything is mounted,
//! a small tmpfs root pivoted into, and new network, UTS and IPC namespaces
//! kept like a slot's.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::floor::{check, fail};

/// A fork-like helper builds the floor's mount namespace and stays alive
/// until its fd is held: made private first (nothing it mounts can reach
/// the host's namespace), a tmpfs root with /proc, /tmp, /dev/null and
/// `true`, pivoted into.
pub fn prepare_namespace(root: &Path, true_bin: &Path, probe: &Path) -> (OwnedFd, [OwnedFd; 3]) {
    std::fs::create_dir_all(root).expect("floor root dir");
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).expect("path");
    let paths = HelperPaths {
        root: c(root),
        proc: c(&root.join("proc")),
        tmp: c(&root.join("tmp")),
        dev: c(&root.join("dev")),
        null: c(&root.join("dev/null")),
        old: c(&root.join(".old")),
        copies: [(c(true_bin), c(&root.join("true"))), (c(probe), c(&root.join("probe")))],
    };
    let pipe = || {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two fds we then own.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0, "pipe");
        // SAFETY: fresh fds from pipe2.
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    };
    let ((ready_read, ready_write), (hold_read, hold_write)) = (pipe(), pipe());
    // New network, UTS and IPC namespaces too, kept like a slot's.
    let flags = libc::CLONE_NEWNS | libc::CLONE_NEWNET | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC | libc::SIGCHLD;
    // SAFETY: a fork-like clone into new namespaces; the child only runs
    // `helper` (raw calls, no allocation) and exits.
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags as libc::c_ulong, 0, 0, 0, 0) } as i32;
    if pid == 0 {
        // SAFETY: our copies of the parent's ends, closed so EOF reaches us.
        unsafe {
            libc::close(ready_read.as_raw_fd());
            libc::close(hold_write.as_raw_fd());
        }
        helper(&paths, ready_write.as_raw_fd(), hold_read.as_raw_fd());
    }
    assert!(pid > 0, "clone for the floor namespace: {}", std::io::Error::last_os_error());
    drop((ready_write, hold_read));
    let mut byte = [0u8; 1];
    // SAFETY: reads into our own buffer.
    let ready = unsafe { libc::read(ready_read.as_raw_fd(), byte.as_mut_ptr() as *mut libc::c_void, 1) } == 1;
    let open = |kind: &str| std::fs::File::open(format!("/proc/{pid}/ns/{kind}")).map(OwnedFd::from);
    let namespaces = ready.then(|| Ok::<_, std::io::Error>((open("mnt")?, [open("net")?, open("uts")?, open("ipc")?])));
    drop(hold_write);
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    match namespaces {
        Some(Ok(fds)) => fds,
        Some(Err(e)) => panic!("opening the floor namespace: {e}"),
        None => panic!("the floor namespace helper failed (status {status:#x})"),
    }
}

struct HelperPaths {
    root: CString,
    proc: CString,
    tmp: CString,
    dev: CString,
    null: CString,
    old: CString,
    /// Host file, file in the floor's root.
    copies: [(CString, CString); 2],
}

fn helper(p: &HelperPaths, ready: i32, hold: i32) -> ! {
    // SAFETY: raw calls on prepared NUL-terminated strings and our own fds.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        // First of all: nothing below may propagate to the host's mounts.
        let private = libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        );
        check(private as i64).unwrap_or_else(|e| fail("make the mount tree private", e));
        let name = b"floor";
        check(libc::sethostname(name.as_ptr() as *const libc::c_char, name.len()) as i64)
            .unwrap_or_else(|e| fail("sethostname", e));
        let flags = libc::MS_NOSUID | libc::MS_NODEV;
        let data = c"size=8m,mode=0755".as_ptr() as *const libc::c_void;
        check(libc::mount(c"tmpfs".as_ptr(), p.root.as_ptr(), c"tmpfs".as_ptr(), flags, data) as i64)
            .unwrap_or_else(|e| fail("mount the floor root", e));
        for (dir, mode) in [(&p.proc, 0o555), (&p.tmp, 0o1777), (&p.dev, 0o755), (&p.old, 0o700)] {
            check(libc::mkdir(dir.as_ptr(), mode) as i64).unwrap_or_else(|e| fail("mkdir", e));
            // mkdir honours the umask.
            check(libc::chmod(dir.as_ptr(), mode) as i64).unwrap_or_else(|e| fail("chmod", e));
        }
        let node = check(libc::open(p.null.as_ptr(), libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC, 0o644) as i64)
            .unwrap_or_else(|e| fail("create dev/null", e));
        libc::close(node as i32);
        let bind =
            libc::mount(c"/dev/null".as_ptr(), p.null.as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null());
        check(bind as i64).unwrap_or_else(|e| fail("bind /dev/null", e));
        for (from, to) in &p.copies {
            copy_file(from, to);
        }
        check(libc::chdir(p.root.as_ptr()) as i64).unwrap_or_else(|e| fail("chdir to the floor root", e));
        check(libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".old".as_ptr()))
            .unwrap_or_else(|e| fail("pivot_root", e));
        check(libc::chdir(c"/".as_ptr()) as i64).unwrap_or_else(|e| fail("chdir /", e));
        check(libc::umount2(c"/.old".as_ptr(), libc::MNT_DETACH) as i64)
            .unwrap_or_else(|e| fail("detach the old root", e));
        check(libc::rmdir(c"/.old".as_ptr()) as i64).unwrap_or_else(|e| fail("rmdir /.old", e));
        libc::write(ready, b"k".as_ptr() as *const libc::c_void, 1);
        let mut byte = [0u8; 1];
        libc::read(hold, byte.as_mut_ptr() as *mut libc::c_void, 1);
        libc::_exit(0)
    }
}

/// Copies `from` to `to` (mode 0755) with sendfile, without allocating.
fn copy_file(from: &CStr, to: &CStr) {
    // SAFETY: raw calls on NUL-terminated paths and the fds they return.
    unsafe {
        let src = check(libc::open(from.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) as i64)
            .unwrap_or_else(|e| fail("open a program to copy", e)) as i32;
        let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC | libc::O_CLOEXEC;
        let dst =
            check(libc::open(to.as_ptr(), flags, 0o755) as i64).unwrap_or_else(|e| fail("create its copy", e)) as i32;
        while check(libc::sendfile(dst, src, std::ptr::null_mut(), 1 << 20) as i64)
            .unwrap_or_else(|e| fail("copy a program", e))
            > 0
        {}
        check(libc::fchmod(dst, 0o755) as i64).unwrap_or_else(|e| fail("chmod a copy", e));
        libc::close(src);
        libc::close(dst);
    }
}
