//! The package file rules on fixtures built in temp dirs: links out, magic links, FIFOs,
//! devices and size caps are refused; links within the package are followed.

use std::os::fd::AsRawFd;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use super::*;

fn fixture() -> (tempfile::TempDir, PackageDir) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("pkg/data")).unwrap();
    std::fs::write(tmp.path().join("pkg/data/2.ans"), "two\n").unwrap();
    std::fs::write(tmp.path().join("outside.txt"), "secret outside\n").unwrap();
    let pkg = PackageDir::open(&tmp.path().join("pkg"), PackageLimits::default()).unwrap();
    (tmp, pkg)
}

/// Runs `f` on another thread and fails (instead of hanging) if it takes over 5 s.
pub(crate) fn within_5s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(5)).expect("blocked for over 5 s (a FIFO opened for reading?)")
}

#[test]
fn links_within_the_package_are_followed() {
    let (tmp, pkg) = fixture();
    symlink("2.ans", tmp.path().join("pkg/data/1.ans")).unwrap();
    symlink("../data/2.ans", tmp.path().join("pkg/data/3.ans")).unwrap();
    assert_eq!(pkg.read(Path::new("data/1.ans"), 100).unwrap(), b"two\n");
    assert_eq!(pkg.read(Path::new("data/3.ans"), 100).unwrap(), b"two\n");
    assert_eq!(pkg.kind(Path::new("data")).unwrap(), Some(EntryKind::Dir));
    assert_eq!(pkg.kind(Path::new("data/nothing")).unwrap(), None);
    assert_eq!(pkg.list(Path::new("data")).unwrap(), vec![OsString::from("1.ans"), "2.ans".into(), "3.ans".into()]);
}

#[test]
fn links_out_of_the_package_are_refused() {
    let (tmp, pkg) = fixture();
    let data = tmp.path().join("pkg/data");
    symlink("/etc/shadow", data.join("abs.ans")).unwrap();
    symlink("../../outside.txt", data.join("rel.ans")).unwrap();
    symlink("/proc/self/environ", data.join("env.in")).unwrap();
    symlink(tmp.path(), data.join("secret")).unwrap();
    std::fs::create_dir(tmp.path().join("pkg/proc")).unwrap();
    for name in ["data/abs.ans", "data/rel.ans", "data/env.in", "data/secret/outside.txt", "../outside.txt"] {
        let e = pkg.read(Path::new(name), 1 << 20).unwrap_err();
        assert!(matches!(e, PackageFsError::LeavesPackage { .. }), "{name}: {e}");
        let msg = e.to_string();
        assert!(msg.contains(name) && msg.contains("leaves the package"), "{msg}");
        assert!(!msg.contains("secret outside") && !msg.contains("root:"), "{msg}");
    }
    assert!(matches!(pkg.kind(Path::new("data/secret")), Err(PackageFsError::LeavesPackage { .. })));
    assert!(matches!(pkg.list(Path::new("data/secret")), Err(PackageFsError::LeavesPackage { .. })));
    // A magic link that points back into the package is refused too.
    let fd_link = format!("/proc/self/fd/{}", pkg.root.as_raw_fd());
    symlink(fd_link, data.join("magic")).unwrap();
    assert!(matches!(pkg.kind(Path::new("data/magic")), Err(PackageFsError::LeavesPackage { .. })));
    symlink("loop2", data.join("loop1")).unwrap();
    symlink("loop1", data.join("loop2")).unwrap();
    let e = pkg.read(Path::new("data/loop1"), 10).unwrap_err();
    assert!(e.to_string().ends_with("data/loop1: a link loop, or a /proc magic link"), "{e}");
    // Magic links themselves (a root under /proc) are never followed.
    let proc = PackageDir::open(Path::new("/proc/self"), PackageLimits::default()).unwrap();
    for magic in ["cwd", "root/etc/hostname", "exe", "fd/0"] {
        let e = proc.kind(Path::new(magic)).unwrap_err();
        assert!(matches!(e, PackageFsError::LinkLoop { .. }), "{magic}: {e}");
    }
}

#[test]
fn fifos_and_devices_are_refused_without_blocking() {
    let (tmp, pkg) = fixture();
    let data = tmp.path().join("pkg/data");
    nix::unistd::mkfifo(&data.join("fifo.in"), Mode::from_bits_truncate(0o644)).unwrap();
    let pkg = std::sync::Arc::new(pkg);
    let p = pkg.clone();
    let e = within_5s(move || p.read(Path::new("data/fifo.in"), 100).unwrap_err().to_string());
    assert!(e.contains("data/fifo.in: not a regular file (a FIFO)"), "{e}");
    let p = pkg.clone();
    let e = within_5s(move || p.read_config(Path::new("data/fifo.in")).unwrap_err().to_string());
    assert!(e.contains("not a regular file"), "{e}");
    // Device nodes are refused whatever their size would be.
    for dev in ["/dev/zero", "/dev/urandom"] {
        let name = dev.trim_start_matches("/dev/");
        std::fs::create_dir_all(tmp.path().join("pkg/dev")).unwrap();
        let mknod = std::process::Command::new("mknod")
            .arg(tmp.path().join("pkg/dev").join(name))
            .args(["c", "1", if name == "zero" { "5" } else { "9" }])
            .status()
            .unwrap();
        assert!(mknod.success());
        let rel = format!("dev/{name}");
        let e = pkg.read(Path::new(&rel), 1 << 30).unwrap_err().to_string();
        assert!(e.contains(&rel) && e.contains("a character device"), "{e}");
        // And a link to the host's device leaves the package.
        symlink(dev, data.join(name)).unwrap();
        let e = pkg.read(&Path::new("data").join(name), 1 << 30).unwrap_err();
        assert!(matches!(e, PackageFsError::LeavesPackage { .. }), "{e}");
    }
    let e = pkg.read(Path::new("data"), 100).unwrap_err().to_string();
    assert!(e.contains("not a regular file (a directory)"), "{e}");
}

#[test]
fn sizes_are_capped_per_file_and_per_package() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a"), vec![b'x'; 600]).unwrap();
    std::fs::write(tmp.path().join("b"), vec![b'x'; 600]).unwrap();
    let limits = PackageLimits { max_file_bytes: 1000, max_config_bytes: 500, max_package_bytes: 1000 };
    let pkg = PackageDir::open(tmp.path(), limits).unwrap();
    let e = pkg.read(Path::new("a"), 599).unwrap_err().to_string();
    assert!(e.ends_with("a: larger than 599 bytes"), "{e}");
    let e = pkg.read_config(Path::new("a")).unwrap_err().to_string();
    assert!(e.contains("larger than 500 bytes"), "{e}");
    assert_eq!(pkg.read(Path::new("a"), 600).unwrap().len(), 600);
    assert_eq!(pkg.check_file(Path::new("a")).unwrap(), 600);
    let e = pkg.check_file(Path::new("b")).unwrap_err().to_string();
    assert!(e.contains("b: the package's files add up to more than 1000 bytes"), "{e}");
    assert!(pkg.read_config(Path::new("missing")).unwrap().is_none());
}

#[test]
fn fallback_walk_follows_no_link_and_stays_beneath() {
    let (tmp, pkg) = fixture();
    let data = tmp.path().join("pkg/data");
    symlink("2.ans", data.join("1.ans")).unwrap();
    symlink("/etc/shadow", data.join("abs.ans")).unwrap();
    let root = pkg.root.as_fd();
    let read = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    walk_nofollow(root, Path::new("data/2.ans"), read).unwrap();
    assert_eq!(walk_nofollow(root, Path::new("data/1.ans"), read).err(), Some(Errno::EMLINK));
    assert_eq!(walk_nofollow(root, Path::new("data/abs.ans"), read).err(), Some(Errno::EMLINK));
    assert_eq!(walk_nofollow(root, Path::new("data/abs.ans"), OFlag::O_PATH).err(), Some(Errno::EMLINK));
    assert_eq!(walk_nofollow(root, Path::new("../outside.txt"), read).err(), Some(Errno::EXDEV));
    assert_eq!(walk_nofollow(root, Path::new("/etc/shadow"), read).err(), Some(Errno::EXDEV));
}

#[test]
fn read_beneath_refuses_a_feedback_dir_linked_out() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("t0")).unwrap();
    std::fs::create_dir(tmp.path().join("elsewhere")).unwrap();
    std::fs::write(tmp.path().join("elsewhere/judgemessage.txt"), "host file").unwrap();
    symlink(tmp.path().join("elsewhere"), tmp.path().join("t0/feedback")).unwrap();
    let e = read_beneath(&tmp.path().join("t0"), Path::new("feedback/judgemessage.txt"), 100).unwrap_err();
    assert!(matches!(e, PackageFsError::LeavesPackage { .. }), "{e}");
    std::fs::remove_file(tmp.path().join("t0/feedback")).unwrap();
    std::fs::create_dir(tmp.path().join("t0/feedback")).unwrap();
    std::fs::write(tmp.path().join("t0/feedback/judgemessage.txt"), "too long").unwrap();
    let t0 = tmp.path().join("t0");
    assert_eq!(read_beneath(&t0, Path::new("feedback/judgemessage.txt"), 3).unwrap(), b"too");
    nix::unistd::mkfifo(&t0.join("feedback/fifo"), Mode::from_bits_truncate(0o644)).unwrap();
    let e = within_5s(move || read_beneath(&t0, Path::new("feedback/fifo"), 3).unwrap_err().to_string());
    assert!(e.contains("not a regular file (a FIFO)"), "{e}");
}
