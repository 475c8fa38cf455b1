//! Security and containment tests of the sandbox (issue 2): hostile C
//! programs from `tests/hostile/` run through the real `judge run`, each
//! asserting the verdict and, where it matters, the state of the host after.
//! One file per theme under `sandbox/`.
//!
//! Every run goes through `common::Judge`, which wraps the judge in
//! `unshare --pid --fork --kill-child --mount-proc`: a hostile program is
//! never started any other way.

mod common;
#[path = "sandbox/isolation.rs"]
mod isolation;
#[path = "sandbox/limits.rs"]
mod limits;
#[path = "sandbox/privileges.rs"]
mod privileges;
#[path = "sandbox/verdicts.rs"]
mod verdicts;

use common::{compile, run_prog, shared, RunJson};

fn assert_status(r: &RunJson, status: &str) {
    assert_eq!(r.status, status, "unexpected verdict: {r:#?}");
}

/// `tests/hostile/<name>.c` compiled and run once with `args`, beside
/// other tests' runs (`common::shared`).
fn run_hostile(name: &str, args: &[&str]) -> RunJson {
    let prog = compile(name);
    let _g = shared();
    run_prog(&prog, &[], args)
}
