//! Crashes are RE with their signal or exit code; a caller's mistakes are
//! one-line usage errors.

use std::path::Path;

use crate::assert_status;
use crate::common::*;
use crate::run_hostile;

// ---------------------------------------------------------------------------
// Crashes

#[test]
fn segfault_is_re_with_sigsegv() {
    let r = run_hostile("segfault", &[]);
    assert_status(&r, "RE");
    assert_eq!(r.signal.as_deref(), Some("SIGSEGV"));
    assert_eq!(r.exit_code, None);
}

#[test]
fn abort_is_re_with_sigabrt() {
    let r = run_hostile("abort", &[]);
    assert_status(&r, "RE");
    assert_eq!(r.signal.as_deref(), Some("SIGABRT"));
}

#[test]
fn division_by_zero_is_re_with_sigfpe() {
    let r = run_hostile("div_zero", &[]);
    assert_status(&r, "RE");
    assert_eq!(r.signal.as_deref(), Some("SIGFPE"));
}

#[test]
fn nonzero_exit_is_re_with_its_exit_code() {
    let r = run_hostile("exit3", &[]);
    assert_status(&r, "RE");
    assert_eq!(r.exit_code, Some(3));
    assert_eq!(r.signal, None);
}

// ---------------------------------------------------------------------------
// Signals a program sends itself (init traces it, to read its memory at exit)

#[test]
fn stop_signals_a_program_raises_are_dropped() {
    let r = run_hostile("signals", &["stop"]);
    assert_status(&r, "OK");
    assert_eq!(r.stdout, "continued\n");
}

#[test]
fn stop_signals_another_thread_takes_do_not_stop_the_program_for_good() {
    let prog = compile("signals");
    let _g = shared();
    let r = Judge::new().dir(prog.path()).time_limit(1.0).wall_limit(5.0).run(&["./prog", "thread_stop"]).json();
    assert_status(&r, "OK");
    assert_eq!(r.stdout, "joined\n");
}

#[test]
fn a_trap_signal_ends_the_program_like_any_other() {
    let r = run_hostile("signals", &["trap"]);
    assert_status(&r, "RE");
    assert_eq!(r.signal.as_deref(), Some("SIGTRAP"), "{r:#?}");
}

#[test]
fn a_forked_child_may_exec() {
    let r = run_hostile("signals", &["fork_exec", "/bin/echo", "hi"]);
    assert_status(&r, "OK");
    assert_eq!(r.stdout, "hi\nchild=0\n");
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
