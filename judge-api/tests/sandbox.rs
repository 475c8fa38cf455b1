//! Security and containment tests of the sandbox (issue 2): hostile C
//! programs from `tests/hostile/` run through the real `judge run`, each
//! asserting the verdict and, where it matters, the state of the host after.
//!
//! Every run goes through `common::Judge`, which wraps the judge in
//! `unshare --pid --fork --kill-child --mount-proc`: a hostile program is
//! never started any other way.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use common::*;

fn assert_status(r: &RunJson, status: &str) {
    assert_eq!(r.status, status, "unexpected verdict: {r:#?}");
}

// ---------------------------------------------------------------------------
// Resource abuse

#[test]
fn fork_bomb_is_contained_and_leaves_no_process_on_the_host() {
    let prog = compile("fork_bomb");
    let marker = format!("forkbomb-{}", token());
    let _only_us = exclusive();
    let before = host_processes().len();
    let r = Judge::new().dir(prog.path()).time_limit(0.5).wall_limit(2.0).run(&["./prog", &marker]).json();
    assert!(r.status != "OK" && r.status != "IE", "fork bomb got {r:#?}");
    assert_no_leftover_processes(prog.path(), Some(&marker));
    // Coarse on purpose (other work on the machine starts processes too): an
    // escaped fork bomb would leave hundreds, capped only by the host's limits.
    let mut after = 0;
    let settled = eventually(Duration::from_secs(5), || {
        after = host_processes().len();
        (after <= before + 50).then_some(())
    });
    assert!(settled.is_ok(), "host process count {before} before the fork bomb, {after} after");
}

#[test]
fn thread_bomb_is_capped_by_the_process_limit() {
    let prog = compile("thread_bomb");
    let _only_us = exclusive();
    let r = Judge::new().dir(prog.path()).time_limit(0.5).wall_limit(2.0).flag("--procs", "16").run(&["./prog"]).json();
    assert_status(&r, "TLE");
    let created: u64 =
        field(&r.stderr, "created").expect("thread bomb reports how many threads it made").parse().unwrap();
    assert!(created < 16, "{created} threads created with --procs 16");
    assert_eq!(field(&r.stderr, "error"), Some("EAGAIN"), "{}", r.stderr);
    assert_no_leftover_processes(prog.path(), None);
}

#[test]
fn memory_bomb_is_mle_even_without_an_address_space_limit() {
    let prog = compile("memory_bomb");
    let _only_us = exclusive();
    let r = Judge::new()
        .dir(prog.path())
        .time_limit(2.0)
        .memory_limit(64)
        .flag("--address-space-limit", "0")
        .run(&["./prog"])
        .json();
    assert_status(&r, "MLE");
    assert_eq!(r.signal.as_deref(), Some("SIGKILL"), "{r:#?}");
    assert!(r.memory_kb > 64 * 1024, "MLE reported with memory_kb {}", r.memory_kb);
    assert!(!r.stdout.contains("malloc failed"), "the monitor, not malloc, must stop it: {r:#?}");
    assert_no_leftover_processes(prog.path(), None);
}

#[test]
fn output_flood_is_ole_and_captured_output_is_capped() {
    let prog = compile("output_flood");
    let _g = shared();
    let r = Judge::new().dir(prog.path()).time_limit(2.0).flag("--output-limit", "1").run(&["./prog"]).json();
    assert_status(&r, "OLE");
    assert!(r.stdout.len() <= 1 << 20, "stdout returned is {} bytes, over the 1 MiB limit", r.stdout.len());
    assert!(r.stdout.len() >= 1 << 19, "expected the captured output up to the limit, got {} bytes", r.stdout.len());
    assert!(r.stdout.bytes().all(|b| b == b'x'));
}

#[test]
fn endless_loop_is_tle_after_the_cpu_limit() {
    let prog = compile("endless_loop");
    let _g = shared();
    let r = Judge::new().dir(prog.path()).time_limit(0.5).wall_limit(5.0).run(&["./prog"]).json();
    assert_status(&r, "TLE");
    assert!(r.time_ms >= 500, "TLE with time_ms {} below the 500 ms limit", r.time_ms);
    assert_eq!(r.signal.as_deref(), Some("SIGKILL"));
}

#[test]
fn endless_sleep_is_tle_by_wall_time() {
    let prog = compile("endless_sleep");
    let _g = shared();
    let dir = prog.path().to_path_buf();
    let run = std::thread::spawn(move || Judge::new().dir(&dir).time_limit(0.5).wall_limit(1.0).run(&["./prog"]));
    // While it sleeps, the host sees it (which also proves that the leftover
    // check used by other tests finds a run's processes).
    let seen = eventually(Duration::from_secs(1), || (!leftover_processes(prog.path(), None).is_empty()).then_some(()));
    let r = run.join().unwrap().json();
    assert!(seen.is_ok(), "the sleeping program was never visible on the host");
    assert_no_leftover_processes(prog.path(), None);
    assert_status(&r, "TLE");
    assert!(r.wall_ms >= 1000, "wall TLE with wall_ms {} below the 1 s limit", r.wall_ms);
    assert!(r.time_ms < 100, "a sleeping program used {} ms of CPU", r.time_ms);
    assert!(r.message.as_deref().unwrap_or("").contains("wall"), "{r:#?}");
}

#[test]
fn filling_tmp_hits_enospc_inside_and_leaves_the_host_disk_alone() {
    let prog = compile("tmpfs_fill");
    let marker = format!("judge-fill-{}", token());
    let host_tmp = std::env::temp_dir();
    let _g = shared();
    let (tmp_before, root_before) = (free_bytes(&host_tmp), free_bytes(Path::new("/")));
    let r = Judge::new().dir(prog.path()).time_limit(5.0).run(&["./prog", &marker]).json();
    let (tmp_after, root_after) = (free_bytes(&host_tmp), free_bytes(Path::new("/")));
    assert_status(&r, "OK");
    assert_eq!(field(&r.stdout, "error"), Some("ENOSPC"), "{r:#?}");
    let written: u64 = field(&r.stdout, "written_mib").unwrap().parse().unwrap();
    assert!((32..=64).contains(&written), "wrote {written} MiB into the 64 MiB /tmp");
    // The tmpfs lived in the sandbox's mount namespace only: nothing of the
    // written MiB may show on the host (the slack is for other work on the machine).
    let slack = 32 << 20;
    assert!(tmp_after + slack >= tmp_before, "host {} lost {} MiB", host_tmp.display(), (tmp_before - tmp_after) >> 20);
    assert!(root_after + slack >= root_before, "host / lost {} MiB", (root_before - root_after) >> 20);
    for dir in [host_tmp.as_path(), Path::new("/tmp"), Path::new("/run/judge/root"), Path::new("/run/judge/root/tmp")] {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        let leaked: Vec<_> = entries.flatten().filter(|e| e.file_name().to_string_lossy().contains(&marker)).collect();
        assert!(leaked.is_empty(), "files written in the sandbox appeared in {}: {leaked:?}", dir.display());
    }
    if let Ok(entries) = std::fs::read_dir("/run/judge/root") {
        let left: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        assert!(left.is_empty(), "the sandbox root left entries on the host: {left:?}");
    }
}

// ---------------------------------------------------------------------------
// Crashes

#[test]
fn segfault_is_re_with_sigsegv() {
    let prog = compile("segfault");
    let _g = shared();
    let r = run_prog(&prog, &[], &[]);
    assert_status(&r, "RE");
    assert_eq!(r.signal.as_deref(), Some("SIGSEGV"));
    assert_eq!(r.exit_code, None);
}

#[test]
fn abort_is_re_with_sigabrt() {
    let prog = compile("abort");
    let _g = shared();
    let r = run_prog(&prog, &[], &[]);
    assert_status(&r, "RE");
    assert_eq!(r.signal.as_deref(), Some("SIGABRT"));
}

#[test]
fn division_by_zero_is_re_with_sigfpe() {
    let prog = compile("div_zero");
    let _g = shared();
    let r = run_prog(&prog, &[], &[]);
    assert_status(&r, "RE");
    assert_eq!(r.signal.as_deref(), Some("SIGFPE"));
}

#[test]
fn nonzero_exit_is_re_with_its_exit_code() {
    let prog = compile("exit3");
    let _g = shared();
    let r = run_prog(&prog, &[], &[]);
    assert_status(&r, "RE");
    assert_eq!(r.exit_code, Some(3));
    assert_eq!(r.signal, None);
}

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
    let prog = compile("read_files");
    let _g = shared();
    let r = run_prog(&prog, &[], &["/etc/shadow", "/etc/passwd", "/proc/1/root/etc/shadow"]);
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
    let prog = compile("proc_list");
    let _g = shared();
    let r = run_prog(&prog, &[], &[]);
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

// ---------------------------------------------------------------------------
// Privileged calls

fn privileged(call: &str) -> String {
    let prog = compile("privileged");
    let _g = shared();
    let r = run_prog(&prog, &[], &[call]);
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

// ---------------------------------------------------------------------------
// seccomp

#[test]
fn x32_syscall_kills_the_program_with_sigsys() {
    let prog = compile("x32");
    let _g = shared();
    let r = run_prog(&prog, &[], &[]);
    assert_status(&r, "RE");
    assert_eq!(r.signal.as_deref(), Some("SIGSYS"), "{r:#?}");
    assert!(!r.stdout.contains("survived"), "{r:#?}");
}

#[test]
fn clone3_is_enosys_and_threads_still_work() {
    let prog = compile("clone3");
    let _g = shared();
    let r = run_prog(&prog, &[], &[]);
    assert_status(&r, "OK");
    assert_eq!(field(&r.stdout, "clone3"), Some("ENOSYS"), "{}", r.stdout);
    assert_eq!(field(&r.stdout, "thread"), Some("ok"), "{}", r.stdout);
}

// ---------------------------------------------------------------------------
// Measurement

#[test]
fn cpu_time_of_all_threads_is_counted() {
    let prog = compile("threads_cpu");
    let _g = shared();
    let r = Judge::new().dir(prog.path()).time_limit(3.0).wall_limit(20.0).memory_limit(64).run(&["./prog"]).json();
    assert_status(&r, "OK");
    assert!(r.time_ms >= 700, "two threads of 0.4 s CPU each reported as {} ms", r.time_ms);
}

#[test]
fn cpu_time_of_child_processes_is_counted() {
    let prog = compile("fork_cpu");
    let _g = shared();
    let r = Judge::new().dir(prog.path()).time_limit(3.0).wall_limit(20.0).run(&["./prog"]).json();
    assert_status(&r, "OK");
    assert!(r.time_ms >= 450, "a child's 0.5 s of CPU reported as {} ms", r.time_ms);
}

#[test]
fn peak_memory_of_100_mib_is_reported_within_15_percent() {
    let prog = compile("mem_touch");
    let _g = shared();
    let r = Judge::new().dir(prog.path()).time_limit(2.0).memory_limit(256).run(&["./prog", "100"]).json();
    assert_status(&r, "OK");
    let (low, high) = (102_400 * 85 / 100, 102_400 * 115 / 100);
    assert!((low..=high).contains(&r.memory_kb), "100 MiB touched, memory_kb {} (want {low}..={high})", r.memory_kb);
}

#[test]
fn small_program_reports_small_memory() {
    let prog = compile("mem_touch");
    let _g = shared();
    let r = Judge::new().dir(prog.path()).time_limit(2.0).run(&["./prog", "1"]).json();
    assert_status(&r, "OK");
    assert!(r.memory_kb < 10 * 1024, "a 1 MiB program reported memory_kb {}", r.memory_kb);
}

/// A program that is over before the host attaches its monitor (init and
/// its procfs already gone) is a normal run, never an internal error.
#[test]
fn programs_that_end_at_once_are_never_internal_errors() {
    let _g = shared();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                (0..40)
                    .map(|_| Judge::new().run(&["/bin/true"]).json())
                    .filter(|r| r.status != "OK")
                    .map(|r| format!("{} {:?}", r.status, r.message))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let failures: Vec<String> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    assert!(failures.is_empty(), "{} of 80 runs of /bin/true failed: {failures:?}", failures.len());
}

// ---------------------------------------------------------------------------
// Bad input

fn assert_usage_error(outcome: &Outcome) {
    assert_eq!(outcome.code, 2, "expected exit 2: {outcome:?}");
    assert!(outcome.stdout.is_empty(), "nothing on stdout for a usage error: {outcome:?}");
    let stderr = outcome.stderr.trim_end();
    assert!(!stderr.is_empty(), "a usage error needs a message: {outcome:?}");
}

fn assert_one_line_error(outcome: &Outcome) {
    assert_usage_error(outcome);
    assert_eq!(outcome.stderr.trim_end().lines().count(), 1, "want a one-line error: {:?}", outcome.stderr);
}

#[test]
fn nonexistent_program_is_a_usage_error() {
    let dir = temp_dir("empty");
    let _g = shared();
    let outcome = Judge::new().dir(dir.path()).run(&["./no-such-program"]);
    assert_one_line_error(&outcome);
    assert!(outcome.stderr.contains("no-such-program"), "{outcome:?}");
    let outcome = Judge::new().run(&["no-such-program-on-path"]);
    assert_one_line_error(&outcome);
}

#[test]
fn missing_or_unusable_dir_is_a_usage_error() {
    let file_dir = temp_dir("notadir");
    let file = file_dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let _g = shared();
    for dir in [Path::new("/nonexistent/judge-test-dir"), file.as_path()] {
        let outcome = Judge::new().dir(dir).run(&["/bin/true"]);
        assert_one_line_error(&outcome);
    }
}

#[test]
fn bad_limits_are_usage_errors() {
    let _g = shared();
    for (flag, value) in [
        ("--time-limit", "-1"),
        ("--time-limit", "0"),
        ("--time-limit", "nan"),
        ("--memory-limit", "0"),
        ("--wall-limit", "-1"),
        ("--output-limit", "0"),
        ("--procs", "0"),
    ] {
        let outcome = Judge::new().flag(flag, value).run(&["/bin/true"]);
        assert_one_line_error(&outcome);
        assert!(outcome.stderr.contains(flag), "the error should name {flag}: {outcome:?}");
    }
}
