//! Privileged calls and the seccomp filter: refused, or fatal for
//! foreign-architecture syscalls.

use crate::assert_status;
use crate::common::*;
use crate::run_hostile;

// ---------------------------------------------------------------------------
// Privileged calls

fn privileged(call: &str) -> String {
    let r = run_hostile("privileged", &[call]);
    assert_status(&r, "OK");
    let got = field(&r.stdout, call).unwrap_or_else(|| panic!("no result for {call}: {r:#?}")).to_string();
    assert_ne!(got, "ok", "{call} succeeded in the sandbox: {}", r.stdout);
    assert!(got.starts_with('E'), "{call}: {}", r.stdout);
    got
}

#[test]
fn mount_is_refused() {
    privileged("mount");
    privileged("mount_proc");
}

#[test]
fn unshare_of_a_user_namespace_is_refused() {
    privileged("unshare_user");
    privileged("unshare_mount");
    privileged("clone_newuser");
}

#[test]
fn ptrace_is_refused() {
    privileged("ptrace_traceme");
    privileged("ptrace_attach");
}

#[test]
fn setuid_root_is_refused() {
    assert_eq!(privileged("setuid"), "EPERM");
}

#[test]
fn chroot_is_refused() {
    privileged("chroot");
}

#[test]
fn the_program_has_no_capabilities_and_an_empty_bounding_set() {
    // The program reads its own status: grep exec'd by the sandbox, and a
    // shell whose status a process it started reads.
    let _g = shared();
    let by_child = "grep '^Cap' /proc/$$/status";
    for command in [&["/bin/grep", "^Cap", "/proc/self/status"][..], &["/bin/sh", "-c", by_child]] {
        let r = Judge::new().run(command).json();
        assert_status(&r, "OK");
        for key in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
            let values: Vec<&str> = r.stdout.lines().filter_map(|l| l.strip_prefix(key)).map(str::trim).collect();
            assert_eq!(values, ["0000000000000000"], "{key} {command:?}: {}", r.stdout);
        }
    }
}

// ---------------------------------------------------------------------------
// seccomp

#[test]
fn x32_syscall_kills_the_program_with_sigsys() {
    let r = run_hostile("x32", &[]);
    assert_status(&r, "RE");
    assert_eq!(r.signal.as_deref(), Some("SIGSYS"), "{r:#?}");
    assert!(!r.stdout.contains("survived"), "{r:#?}");
}

#[test]
fn clone3_is_enosys_and_threads_still_work() {
    let r = run_hostile("clone3", &[]);
    assert_status(&r, "OK");
    assert_eq!(field(&r.stdout, "clone3"), Some("ENOSYS"), "{}", r.stdout);
    assert_eq!(field(&r.stdout, "thread"), Some("ok"), "{}", r.stdout);
}
