//! What a program can see or reach: no network, no host files, no host
//! processes, fds, environment or memory.

use std::io::Write;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::assert_status;
use crate::common::*;
use crate::run_hostile;

// ---------------------------------------------------------------------------
// Network

#[test]
fn network_cannot_reach_a_host_listener() {
    let prog = compile("connect");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let _g = shared();
    let r = run_prog(&prog, &[], &[&port]);
    assert_status(&r, "OK");
    let tcp = field(&r.stdout, "tcp").expect("connect result");
    assert_ne!(tcp, "ok", "the sandbox connected to the host: {}", r.stdout);
    assert!(tcp.starts_with('E'), "connect should fail with an errno: {}", r.stdout);
    assert_ne!(field(&r.stdout, "udp"), Some("ok"), "a UDP datagram left the sandbox: {}", r.stdout);
    let ifaces = field(&r.stdout, "interfaces").unwrap_or("");
    assert!(ifaces.split(',').all(|i| i.is_empty() || i == "lo"), "interfaces visible: {ifaces}");
    listener.set_nonblocking(true).unwrap();
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the listener got a connection: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Files

#[test]
fn etc_shadow_is_not_readable() {
    let r = run_hostile("read_files", &["/etc/shadow", "/etc/passwd", "/proc/1/root/etc/shadow"]);
    assert_status(&r, "OK");
    for path in ["/etc/shadow", "/etc/passwd", "/proc/1/root/etc/shadow"] {
        let got = field(&r.stdout, path).unwrap_or_else(|| panic!("no result for {path}: {}", r.stdout));
        assert!(!got.starts_with("ok"), "{path} was readable in the sandbox: {got}");
    }
}

#[test]
fn host_files_outside_the_sandbox_are_not_readable() {
    let prog = compile("read_files");
    let secret = format!("judge-secret-{}", token());
    // World-readable on purpose: only the sandbox's isolation may hide them.
    let planted: Vec<String> = ["/root", "/var/tmp"].iter().map(|d| format!("{d}/{secret}")).collect();
    for path in &planted {
        std::fs::write(path, "TOP SECRET\n").unwrap();
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    }
    let mut tries: Vec<String> = planted.clone();
    tries.extend(planted.iter().map(|p| format!("/proc/1/root{p}")));
    tries.extend(planted.iter().map(|p| format!("/box/../..{p}")));
    let _g = shared();
    let args: Vec<&str> = tries.iter().map(String::as_str).collect();
    let r = run_prog(&prog, &[], &args);
    for path in &planted {
        let _ = std::fs::remove_file(path);
    }
    assert_status(&r, "OK");
    assert!(!r.stdout.contains("TOP SECRET"), "a host secret leaked: {}", r.stdout);
    for path in &tries {
        let got = field(&r.stdout, path).unwrap_or_else(|| panic!("no result for {path}: {}", r.stdout));
        assert!(!got.starts_with("ok"), "{path} was readable: {got}");
    }
}

#[test]
fn writing_to_usr_root_and_box_fails_and_host_is_unchanged() {
    let prog = compile("write_files");
    let name = format!("judge-pwn-{}", token());
    let targets = [format!("/usr/{name}"), format!("/{name}"), format!("/box/{name}"), format!("/etc/{name}")];
    let _g = shared();
    let args: Vec<&str> = targets.iter().map(String::as_str).collect();
    let r = run_prog(&prog, &[], &args);
    assert_status(&r, "OK");
    for target in &targets {
        for path in [target.clone(), format!("{target}.d")] {
            let got = field(&r.stdout, &path).unwrap_or_else(|| panic!("no result for {path}: {}", r.stdout));
            assert!(["EROFS", "EACCES", "EPERM"].contains(&got), "writing {path} gave {got}");
        }
    }
    for host in [
        format!("/usr/{name}"),
        format!("/{name}"),
        format!("/etc/{name}"),
        format!("/run/judge/root/{name}"),
        prog.path().join(&name).display().to_string(),
    ] {
        assert!(!Path::new(&host).exists(), "{host} appeared on the host");
        assert!(!Path::new(&format!("{host}.d")).exists(), "{host}.d appeared on the host");
    }
}

// ---------------------------------------------------------------------------
// Processes

#[test]
fn proc_shows_only_the_sandbox_processes() {
    let r = run_hostile("proc_list", &[]);
    assert_status(&r, "OK");
    let pids: Vec<u32> = field(&r.stdout, "pids")
        .expect("pid list")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert!(!pids.is_empty() && pids.len() <= 3, "pids visible in the sandbox: {pids:?}");
    assert!(pids.iter().all(|&p| p <= 10), "pids visible in the sandbox: {pids:?}");
    assert!(!pids.contains(&std::process::id()), "the test's own pid is visible: {pids:?}");
}

/// The sandbox's init is a clone of the judge, so its /proc entries show the
/// judge's command line (e.g. `judge serve --token T`): they must be hidden.
#[test]
fn sandbox_init_and_the_judge_command_line_are_hidden() {
    let prog = compile("read_files");
    let host_dir = prog.path().display().to_string();
    let paths = ["/proc/1/cmdline", "/proc/1/environ", "/proc/1/status", "/proc/1/maps"];
    let _g = shared();
    let r = run_prog(&prog, &[], &paths);
    assert_status(&r, "OK");
    assert!(!r.stdout.contains(&host_dir), "the judge's command line leaked: {}", r.stdout);
    for path in paths {
        let got = field(&r.stdout, path).unwrap_or_else(|| panic!("no result for {path}: {}", r.stdout));
        assert!(!got.starts_with("ok"), "{path} was readable: {got}");
    }
}

#[test]
fn kill_minus_one_does_not_hurt_the_host() {
    use std::os::unix::process::CommandExt;
    let prog = compile("kill_all");
    let _only_us = exclusive();
    // Host processes the program may signal as far as permissions go (its own
    // sandbox uid, whichever slot it gets), so only the PID namespace protects
    // them; plus one of root's.
    let mut sleepers: Vec<(u32, std::process::Child)> = (SANDBOX_UIDS.start..SANDBOX_UIDS.start + 32)
        .map(|uid| (uid, std::process::Command::new("sleep").arg("60").uid(uid).gid(uid).spawn().unwrap()))
        .collect();
    sleepers.push((0, std::process::Command::new("sleep").arg("60").spawn().unwrap()));
    let mut args: Vec<String> = sleepers.iter().map(|(_, c)| c.id().to_string()).collect();
    args.push(std::process::id().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run_prog(&prog, &[], &args);
    let dead: Vec<u32> =
        sleepers.iter_mut().filter_map(|(uid, c)| c.try_wait().unwrap().is_some().then_some(*uid)).collect();
    for (_, child) in &mut sleepers {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(dead.is_empty(), "host processes of uids {dead:?} died during the run: {r:#?}");
    assert_status(&r, "OK");
    assert_eq!(field(&r.stdout, "survived"), Some("yes"), "{r:#?}");
    let uid: u32 = field(&r.stdout, "uid").unwrap().parse().unwrap();
    assert!(
        sleepers.iter().any(|(u, _)| *u == uid),
        "the program ran as uid {uid}, which had no host process to aim at"
    );
    assert_ne!(field(&r.stdout, "kill_1"), Some("ok"), "the program could signal the sandbox's init: {}", r.stdout);
    for pid in &args {
        assert_ne!(field(&r.stdout, &format!("kill_{pid}")), Some("ok"), "{}", r.stdout);
    }
}

#[test]
fn escaped_daemon_is_gone_after_the_run() {
    let prog = compile("daemon");
    let marker = format!("daemon-{}", token());
    let _only_us = exclusive();
    let r = Judge::new().dir(prog.path()).time_limit(0.5).wall_limit(3.0).run(&["./prog", &marker]).json();
    assert_status(&r, "OK");
    assert_eq!(field(&r.stdout, "daemonized"), Some("yes"), "{r:#?}");
    assert_no_leftover_processes(prog.path(), Some(&marker));
}

// ---------------------------------------------------------------------------
// Leaks

#[test]
fn host_fds_do_not_leak_into_the_sandbox() {
    let prog = compile("fds");
    let secret = std::fs::File::open("/etc/hostname").unwrap();
    let _g = shared();
    // dup2 to fd 77 in the judge process, without close-on-exec.
    let r = Judge::new().dir(prog.path()).inherit_fd(secret.as_raw_fd(), 77).run(&["./prog"]).json();
    assert_status(&r, "OK");
    assert_eq!(field(&r.stdout, "fds"), Some("0,1,2"), "{r:#?}");
}

#[test]
fn host_environment_does_not_leak_into_the_sandbox() {
    let prog = compile("env");
    let _g = shared();
    let r = Judge::new().dir(prog.path()).host_env("JUDGE_SECRET_TEST", "xyz").run(&["./prog"]).json();
    assert_status(&r, "OK");
    assert!(!r.stdout.contains("JUDGE_SECRET_TEST") && !r.stdout.contains("xyz"), "env leaked: {}", r.stdout);
    for line in r.stdout.lines() {
        let key = line.split('=').next().unwrap();
        assert!(["PATH", "HOME", "LANG"].contains(&key), "unexpected variable in the sandbox: {line}");
    }
}

#[test]
fn memory_outside_resident_sets_is_refused() {
    let prog = compile("hidden_memory");
    let _g = shared();
    let r = Judge::new().dir(prog.path()).run(&["./prog"]).json();
    assert_status(&r, "OK");
    assert_eq!(field(&r.stdout, "memfd"), Some("Operation not permitted"), "{}", r.stdout);
    assert_eq!(field(&r.stdout, "shmget"), Some("Operation not permitted"), "{}", r.stdout);
    assert_eq!(field(&r.stdout, "msgget"), Some("Operation not permitted"), "{}", r.stdout);
}

#[test]
fn signals_start_at_their_defaults_and_unblocked() {
    // The judge ignores SIGPIPE (Rust does) and its handlers live in memory
    // the sandbox's init shares; none of that may reach the program.
    let _g = shared();
    let r = Judge::new().run(&["/bin/sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status"]).json();
    assert_status(&r, "OK");
    let mask = |key: &str| r.stdout.lines().find_map(|l| l.strip_prefix(key)).map(str::trim);
    assert_eq!(mask("SigIgn:"), Some("0000000000000000"), "{}", r.stdout);
    assert_eq!(mask("SigBlk:"), Some("0000000000000000"), "{}", r.stdout);
    // So a write to a closed pipe kills with SIGPIPE (exit status 128 + 13).
    let r = Judge::new().run(&["/bin/sh", "-c", "(yes; echo \"status $?\" >&2) | head -c 1 >/dev/null"]).json();
    assert_status(&r, "OK");
    assert_eq!(r.stderr.trim(), "status 141", "{}", r.stderr);
}

#[test]
fn stdin_is_a_sealed_read_only_input() {
    let prog = compile("stdin_write");
    let input_dir = temp_dir("stdin");
    let input = input_dir.path().join("input.txt");
    std::fs::File::create(&input).unwrap().write_all(b"hello\n").unwrap();
    let _g = shared();
    let r = Judge::new().dir(prog.path()).flag("--stdin", &input).run(&["./prog"]).json();
    assert_status(&r, "OK");
    assert_eq!(field(&r.stdout, "read"), Some("hello"), "{}", r.stdout);
    assert_ne!(field(&r.stdout, "write"), Some("ok"), "{}", r.stdout);
    assert_ne!(field(&r.stdout, "truncate"), Some("ok"), "{}", r.stdout);
    assert_ne!(field(&r.stdout, "reopen_write"), Some("ok"), "{}", r.stdout);
    assert_ne!(field(&r.stdout, "reopen_truncate"), Some("ok"), "{}", r.stdout);
    assert_eq!(field(&r.stdout, "reread"), Some("hello"), "{}", r.stdout);
    assert_eq!(std::fs::read(&input).unwrap(), b"hello\n");
}
