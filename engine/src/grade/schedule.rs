//! Running a submission's tests: several at once, each in its own sandbox,
//! each output checked by the problem's validator.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::build::Program;
use super::inputs::InputCache;
use super::TestResult;
use crate::problem::{Problem, TestCase, ValidatorProtocol, ValidatorSpec};
use crate::sandbox::{Command, Limits, RunResult, RunStatus, Slot, Stdio};
use crate::validate::{self, custom, interactive, testlib};
use crate::Verdict;

/// What every test of one submission shares.
pub(crate) struct TestPlan<'a> {
    pub problem: &'a Problem,
    pub program: &'a Program,
    pub limits: &'a Limits,
    /// The package's output validator; `None` for the default one.
    pub validator: Option<&'a Program>,
    /// An interactive testlib problem's checker of the interactor's tout, when a program.
    pub tout_checker: Option<&'a Program>,
    pub inputs: &'a InputCache,
}

/// Runs the tests on up to `threads` threads, launching them in order. With
/// `stop_early`, nothing after the first failure is launched and results end
/// at the first failure, exactly as a sequential run.
pub(crate) fn run_tests(
    plan: &TestPlan,
    threads: usize,
    stop_early: bool,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<TestResult> {
    let tests = &plan.problem.tests;
    let total = tests.len();
    let next = AtomicUsize::new(0);
    let first_failure = AtomicUsize::new(usize::MAX);
    let finished = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<TestResult>>> = (0..total).map(|_| Mutex::new(None)).collect();
    let worker = || {
        let slots = WorkerSlots::claim(plan.problem.interactive);
        loop {
            let index = next.fetch_add(1, Ordering::SeqCst);
            if index >= total || (stop_early && index > first_failure.load(Ordering::SeqCst)) {
                break;
            }
            let outcome = run_test(plan, &tests[index], &slots);
            if outcome.verdict != Verdict::AC {
                first_failure.fetch_min(index, Ordering::SeqCst);
            }
            *results[index].lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
            progress(finished.fetch_add(1, Ordering::SeqCst) + 1, total);
        }
    };
    let threads = threads.min(total).max(1);
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(worker);
        }
        worker();
    });
    let cut = if stop_early { first_failure.load(Ordering::SeqCst).saturating_add(1).min(total) } else { total };
    results.into_iter().take(cut).filter_map(|slot| slot.into_inner().unwrap_or_else(|p| p.into_inner())).collect()
}

/// The sandbox slots one worker runs all its tests in, claimed once instead
/// of at every run (a claim is a mkdir, an open and a flock, more when other
/// judges hold the first slots). Runs of one slot never overlap: the program
/// and a validator that checks its output afterwards share one; an
/// interactive validator runs beside the program, so it has its own. A slot
/// that cannot be claimed here is left to each run, which then reports why.
struct WorkerSlots {
    program: Option<Slot>,
    beside: Option<Slot>,
}

impl WorkerSlots {
    fn claim(interactive: bool) -> WorkerSlots {
        let program = Slot::claim(0).ok();
        let beside = if interactive { Slot::claim(0).ok() } else { None };
        WorkerSlots { program, beside }
    }

    /// `command` run in the program's slot: the program, or a validator run after it.
    fn program(&self, command: Command) -> Command {
        match &self.program {
            Some(slot) => command.slot(slot),
            None => command,
        }
    }

    /// `command` run in the slot for a validator running beside the program.
    fn beside(&self, command: Command) -> Command {
        match &self.beside {
            Some(slot) => command.slot(slot),
            None => command,
        }
    }
}

fn test_result(test: &TestCase, verdict: Verdict, run: &RunResult, feedback: Option<String>) -> TestResult {
    TestResult {
        name: test.name.clone(),
        verdict,
        time_ms: run.time_ms,
        wall_ms: run.wall_ms,
        memory_kb: run.memory_kb,
        exit_code: run.exit_code,
        signal: run.signal.clone(),
        feedback,
        partial: None,
    }
}

/// An IE for a test: the judge could not run or check it.
fn internal(test: &TestCase, message: String) -> TestResult {
    test_result(test, Verdict::IE, &RunResult::internal_error(""), Some(message))
}

fn status_verdict(status: RunStatus) -> Verdict {
    match status {
        RunStatus::Ok => Verdict::AC,
        RunStatus::Tle => Verdict::TLE,
        RunStatus::Mle => Verdict::MLE,
        RunStatus::Ole => Verdict::OLE,
        RunStatus::Re => Verdict::RE,
        RunStatus::Ie => Verdict::IE,
    }
}

fn run_test(plan: &TestPlan, test: &TestCase, slots: &WorkerSlots) -> TestResult {
    if plan.problem.interactive {
        return run_interactive(plan, test, slots);
    }
    let stdin = match plan.inputs.get(&test.input) {
        Ok(i) => i,
        Err(e) => return internal(test, format!("preparing input of {}: {e}", test.name)),
    };
    let run = slots.program(plan.program.command(plan.limits.clone())).stdin(Stdio::Input(stdin)).run();
    if run.status != RunStatus::Ok {
        let feedback = (run.status == RunStatus::Ie).then(|| run.message.clone().unwrap_or_default());
        return test_result(test, status_verdict(run.status), &run, feedback);
    }
    let answer = match test.answer.read() {
        Ok(bytes) => bytes,
        Err(e) => return internal(test, format!("reading answer of {}: {e}", test.name)),
    };
    let Some(validator) = plan.validator else {
        return match validate::compare(&answer, &run.stdout, &test.default_flags) {
            validate::Outcome::Accepted => test_result(test, Verdict::AC, &run, None),
            validate::Outcome::WrongAnswer(why) => test_result(test, Verdict::WA, &run, Some(why)),
        };
    };
    let team_output = match crate::sandbox::Input::from_bytes(&run.stdout) {
        Ok(i) => i,
        Err(e) => return internal(test, format!("preparing output of {} for the validator: {e}", test.name)),
    };
    let input = match test.input.read() {
        Ok(bytes) => bytes,
        Err(e) => return internal(test, format!("reading input of {}: {e}", test.name)),
    };
    let command = slots.program(validator.command(custom::validator_limits(plan.limits)));
    if plan.problem.validator_protocol == ValidatorProtocol::Testlib {
        return checked_result(test, &run, testlib::check(command, &input, &run.stdout, &answer));
    }
    match custom::run(command, &input, &answer, &test.validator_flags, Stdio::Input(team_output), Stdio::Capture) {
        Ok(judged) => test_result(test, judged.verdict, &run, judged.feedback),
        Err(e) => internal(test, format!("{}: {e}", test.name)),
    }
}

fn run_interactive(plan: &TestPlan, test: &TestCase, slots: &WorkerSlots) -> TestResult {
    let Some(validator) = plan.validator else {
        return internal(test, "interactive problem without an output validator".into());
    };
    let (input, answer) = match (test.input.read(), test.answer.read()) {
        (Ok(input), Ok(answer)) => (input, answer),
        (Err(e), _) | (_, Err(e)) => return internal(test, format!("reading data of {}: {e}", test.name)),
    };
    let submission = slots.program(plan.program.command(plan.limits.clone()));
    let validator = slots.beside(validator.command(custom::validator_limits(plan.limits)));
    if plan.problem.validator_protocol == ValidatorProtocol::Testlib {
        return run_testlib_interactor(plan, test, slots, submission, validator, &input, &answer);
    }
    match interactive::run(submission, validator, &input, &answer, &test.validator_flags) {
        Ok(exchange) => test_result(test, exchange.verdict, &exchange.run, exchange.feedback),
        Err(e) => internal(test, format!("{}: {e}", test.name)),
    }
}

/// A test's result from a testlib checker's judgement (a checker failure is an IE).
fn checked_result(
    test: &TestCase,
    run: &RunResult,
    checked: Result<testlib::Checked, validate::ValidatorError>,
) -> TestResult {
    match checked {
        Ok(checked) => {
            let mut result = test_result(test, checked.verdict, run, checked.feedback);
            result.partial = checked.partial;
            result
        }
        Err(e) => internal(test, format!("{}: {e}", test.name)),
    }
}

/// A testlib interactor's exchange, then the problem's checker on its tout when the
/// interactor accepted.
fn run_testlib_interactor(
    plan: &TestPlan,
    test: &TestCase,
    slots: &WorkerSlots,
    submission: Command,
    interactor: Command,
    input: &[u8],
    answer: &[u8],
) -> TestResult {
    let interaction = match testlib::interact(submission, interactor, input, answer) {
        Ok(interaction) => interaction,
        Err(e) => return internal(test, format!("{}: {e}", test.name)),
    };
    let testlib::Interaction { run, checked, tout } = interaction;
    if checked.verdict != Verdict::AC {
        return checked_result(test, &run, Ok(checked));
    }
    match (&plan.problem.tout_checker, plan.tout_checker) {
        (Some(ValidatorSpec::Custom(_)), Some(checker)) => {
            let command = slots.program(checker.command(custom::validator_limits(plan.limits)));
            checked_result(test, &run, testlib::check(command, input, &tout, answer))
        }
        (Some(ValidatorSpec::Custom(_)), None) => {
            internal(test, "the checker of the interactor's output is not built".into())
        }
        (Some(ValidatorSpec::Default), _) => match validate::compare(answer, &tout, &test.default_flags) {
            validate::Outcome::Accepted => test_result(test, Verdict::AC, &run, checked.feedback),
            validate::Outcome::WrongAnswer(why) => test_result(test, Verdict::WA, &run, Some(why)),
        },
        (None, _) => checked_result(test, &run, Ok(checked)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interactive_validator_runs_in_a_slot_of_its_own() {
        // Claiming slots needs root (as every sandboxed run does).
        // SAFETY: geteuid has no memory effects.
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let interactive = WorkerSlots::claim(true);
        let (program, beside) = (interactive.program.as_ref().unwrap(), interactive.beside.as_ref().unwrap());
        assert_ne!(program.uid(), beside.uid());
        let other = WorkerSlots::claim(false);
        let other_program = other.program.as_ref().unwrap();
        assert!(other.beside.is_none());
        // Held until the worker ends: another worker never gets the same uid.
        assert!(![program.uid(), beside.uid()].contains(&other_program.uid()));
    }
}
