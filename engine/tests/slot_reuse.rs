//! Runs of one slot, one after another, on the slot's kept skeleton: nothing
//! of one run (its binds, its `/tmp` and the memory that holds) may reach the
//! next, however the run ended, and the root stays read-only to every run,
//! also to one whose mount points had to be created. And a run's binds
//! never share mount events with the host's mounts. Needs root.
//!
//! Each test re-executes this test binary for itself inside `unshare --pid
//! --fork --kill-child --mount-proc`, so nothing a half-built sandbox let
//! out could reach the host's processes.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use engine::sandbox::{Command, Limits, RunResult, RunStatus, Slot};

const INSIDE: &str = "ENGINE_SLOT_REUSE_INSIDE";
const MIB: u64 = 1024 * 1024;

/// Runs `body` inside a throwaway PID namespace (this binary, re-executed
/// for test `name` only).
fn isolated(name: &str, body: impl FnOnce()) {
    if std::env::var_os(INSIDE).is_some() {
        body();
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = std::process::Command::new("timeout")
        .args(["-s", "KILL", "300", "unshare", "--pid", "--fork", "--kill-child", "--mount-proc"])
        .arg(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .output()
        .expect("running unshare");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{name} failed inside its namespace:\n{text}");
    assert!(text.contains("1 passed"), "{name} did not run inside its namespace:\n{text}");
}

/// A host dir the sandboxed uid may read and write.
fn temp_dir(label: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix(&format!("engine-slot-{label}-")).tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    dir
}

fn sh(script: &str) -> Command {
    Command::new("/bin/sh").args(["-c", script])
}

fn stdout(result: &RunResult) -> String {
    String::from_utf8_lossy(&result.stdout).into_owned()
}

/// A run with a writable work dir and a read-only bind at a path no
/// skeleton has (`/extra/deep/x`), that leaves a file in its `/tmp`, shows
/// its root's mount options, and then runs `then`.
fn leave_traces(slot: &Slot, work: &Path, extra: &Path, then: &str, limits: Limits) -> RunResult {
    let script = format!(
        "ls /extra/deep/x && echo kept > /tmp/trace && echo mine > /box/out && \
         awk '$5 == \"/\" {{ print \"root \" $6 }}' /proc/self/mountinfo && {then}"
    );
    sh(&script).workdir(work, true).bind_ro(extra, "/extra/deep/x").slot(slot).limits(limits).run()
}

/// What the next run of `slot` sees: nothing of the earlier run's.
fn assert_no_traces(slot: &Slot) {
    let script = concat!(
        "echo tmp=$(ls -A /tmp | tr '\\n' ' '); ",
        "echo extra=$(ls -A /extra/deep/x 2>/dev/null | tr '\\n' ' '); ",
        "cat /proc/self/mountinfo"
    );
    let result = sh(script).slot(slot).run();
    assert_eq!(result.status, RunStatus::Ok, "{result:?}");
    let out = stdout(&result);
    assert!(out.lines().any(|l| l == "tmp="), "/tmp is not empty:\n{out}");
    // An empty mount point may be left (they live in the skeleton's root
    // tmpfs, as before), never what was bound there.
    assert!(out.lines().any(|l| l == "extra="), "an earlier run's bind is visible:\n{out}");
    let mounts: Vec<&str> = out.lines().filter(|l| l.split(' ').nth(4).is_some()).collect();
    assert!(!mounts.iter().any(|l| l.split(' ').nth(4).is_some_and(|at| at.starts_with("/extra"))), "{out}");
    // The root is read-only to the program. One /proc and one /tmp of this
    // run's (on the skeleton's empty /tmp), none at /box (no work dir here).
    let root_mount = mounts.iter().find(|l| l.split(' ').nth(4) == Some("/")).expect("a root mount");
    assert!(root_mount.split(' ').nth(5).is_some_and(|o| o.split(',').any(|f| f == "ro")), "{root_mount}");
    for (at, expected) in [("/proc", 1), ("/tmp", 2), ("/box", 0)] {
        let count = mounts.iter().filter(|l| l.split(' ').nth(4) == Some(at)).count();
        assert_eq!(count, expected, "mounts at {at}:\n{out}");
    }
}

#[test]
fn a_later_run_sees_nothing_of_an_earlier_one() {
    isolated("a_later_run_sees_nothing_of_an_earlier_one", || {
        let (work, extra) = (temp_dir("work"), temp_dir("extra"));
        std::fs::write(extra.path().join("seen-inside"), "").unwrap();
        let slot = Slot::claim(900).expect("slot");
        for _ in 0..3 {
            let result = leave_traces(&slot, work.path(), extra.path(), "true", Limits::default());
            assert_eq!(result.status, RunStatus::Ok, "{result:?}");
            assert!(stdout(&result).contains("seen-inside"), "{result:?}");
            assert!(stdout(&result).contains("root ro,"), "the root is writable: {result:?}");
            assert_no_traces(&slot);
        }
        assert_eq!(std::fs::read_to_string(work.path().join("out")).unwrap(), "mine\n");
        assert_eq!(engine::sandbox::warm_slots(), 1);
    });
}

#[test]
fn a_run_killed_at_a_limit_leaves_nothing() {
    isolated("a_run_killed_at_a_limit_leaves_nothing", || {
        let (work, extra) = (temp_dir("work"), temp_dir("extra"));
        let slot = Slot::claim(900).expect("slot");
        let limits = Limits::new(Duration::from_millis(300), 256 * MIB);
        let result = leave_traces(&slot, work.path(), extra.path(), "while :; do :; done", limits);
        assert_eq!(result.status, RunStatus::Tle, "{result:?}");
        assert_no_traces(&slot);
    });
}

#[test]
fn a_run_that_fails_mid_setup_leaves_nothing() {
    isolated("a_run_that_fails_mid_setup_leaves_nothing", || {
        let extra = temp_dir("extra");
        let slot = Slot::claim(900).expect("slot");
        // The first bind is made, the second cannot be (no such mount point
        // in the read-only /usr): setup fails with the first in place.
        let result = sh("true")
            .bind_ro(extra.path(), "/extra/deep/x")
            .bind_ro(extra.path(), "/usr/engine-slot-test-missing")
            .slot(&slot)
            .run();
        assert_eq!(result.status, RunStatus::Ie, "{result:?}");
        assert!(result.message.as_deref().unwrap_or("").contains("engine-slot-test-missing"), "{result:?}");
        assert_no_traces(&slot);
    });
}

/// Shmem of /proc/meminfo (tmpfs pages), in bytes.
fn shmem_bytes() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").expect("meminfo");
    let line = meminfo.lines().find(|l| l.starts_with("Shmem:")).expect("a Shmem line");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).expect("Shmem kB") * 1024
}

#[test]
fn tmp_memory_is_freed_when_a_killed_run_ends() {
    isolated("tmp_memory_is_freed_when_a_killed_run_ends", || {
        let slot = Slot::claim(900).expect("slot");
        let mut limits = Limits::new(Duration::from_millis(500), 512 * MIB);
        (limits.tmpfs, limits.output) = (128 * MIB, 128 * MIB);
        let before = shmem_bytes();
        let script = "head -c 104857600 /dev/zero > /tmp/fill && echo filled && while :; do :; done";
        let result = sh(script).slot(&slot).limits(limits).run();
        assert_eq!(result.status, RunStatus::Tle, "{result:?}");
        assert!(stdout(&result).contains("filled"), "{result:?}");
        assert!(result.memory_kb >= 100 * 1024, "the monitor did not see /tmp: {result:?}");
        // Other work on the machine moves Shmem too: a margin of half the
        // fill, and a few looks, since the run has already returned.
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut after = shmem_bytes();
        while after > before + 50 * MIB && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            after = shmem_bytes();
        }
        assert!(after <= before + 50 * MIB, "Shmem {} MiB before, {} MiB after", before / MIB, after / MIB);
    });
}

#[test]
fn binds_of_shared_host_mounts_are_private() {
    isolated("binds_of_shared_host_mounts_are_private", || {
        use nix::mount::{mount, umount2, MntFlags, MsFlags};
        // A shared mount in this test's own mount namespace, as / is on
        // most hosts: a bind of a dir on it must not join its peer group.
        let dir = temp_dir("shared");
        mount(Some("tmpfs"), dir.path(), Some("tmpfs"), MsFlags::empty(), Some("size=1m,mode=0777")).unwrap();
        mount(None::<&str>, dir.path(), None::<&str>, MsFlags::MS_SHARED, None::<&str>).unwrap();
        let slot = Slot::claim(900).expect("slot");
        let result = sh("grep ' /box ' /proc/self/mountinfo").workdir(dir.path(), false).slot(&slot).run();
        umount2(dir.path(), MntFlags::MNT_DETACH).unwrap();
        assert_eq!(result.status, RunStatus::Ok, "{result:?}");
        let line = stdout(&result);
        assert!(line.contains(" /box "), "{line}");
        assert!(!line.contains("shared:") && !line.contains("master:"), "the bind propagates: {line}");
    });
}
