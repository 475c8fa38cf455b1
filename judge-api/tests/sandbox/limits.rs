//! Resource abuse and measurement: every limit turns into its verdict
//! without harm to the host, and the figures reported are the real ones.

use std::path::Path;
use std::time::Duration;

use crate::assert_status;
use crate::common::*;

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
    assert_memory_near(&r, 102_400, "100 MiB touched");
}

#[test]
fn small_program_reports_small_memory() {
    let prog = compile("mem_touch");
    let _g = shared();
    let r = Judge::new().dir(prog.path()).time_limit(2.0).run(&["./prog", "1"]).json();
    assert_status(&r, "OK");
    assert!(r.memory_kb < 10 * 1024, "a 1 MiB program reported memory_kb {}", r.memory_kb);
}

/// A program that is over before the first sample still has its exact
/// peak: init stops it at exit, however soon that comes.
#[test]
fn programs_that_end_at_once_report_their_peak() {
    let _g = shared();
    for _ in 0..20 {
        let r = Judge::new().run(&["/bin/true"]).json();
        assert_status(&r, "OK");
        assert!(r.memory_kb > 0, "/bin/true reported no memory: {r:#?}");
    }
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
