//! Running one Judge0 submission (blocking, on a worker's thread): compile
//! it with our language definition in the sandbox, run it on its stdin
//! `number_of_runs` times with its limits, and give Judge0's status.

use std::time::Duration;

use engine::grade::{compile_failure, sandboxed};
use engine::language::Language;
use engine::limits::MIB;
use engine::sandbox::{Input, RunResult, RunStatus, Stdio};
use engine::scratch::Scratch;

use super::model::*;

/// Room for the source and what the compiler writes.
const WORKDIR_BYTES: u64 = 256 * MIB;
/// Compiler messages kept.
const COMPILE_OUTPUT_LIMIT: usize = 64 * 1024;

/// Runs `job` with `language` (the definition its id mapped to when it was accepted).
pub fn execute(job: Job, language: &Language, now_ms: impl Fn() -> i64) -> Finished {
    let mut finished = Finished::new(job, INTERNAL_ERROR);
    let outcome = compile_and_run(&mut finished, language);
    if let Err(message) = outcome {
        finished.status_id = INTERNAL_ERROR;
        finished.message = Some(message);
    }
    finished.finished_ms = now_ms();
    finished
}

fn compile_and_run(finished: &mut Finished, lang: &Language) -> Result<(), String> {
    let job = finished.job.clone();
    let text = String::from_utf8_lossy(&job.source_code).into_owned();
    let dir = Scratch::new(WORKDIR_BYTES).map_err(|e| format!("creating the work dir: {e}"))?;
    let source_name = lang.source_name(&text);
    if source_name.contains('/') || source_name.starts_with('.') || source_name.len() > 255 {
        finished.status_id = COMPILATION_ERROR;
        finished.compile_output = Some(format!("{source_name:?} cannot be a source file name").into_bytes());
        return Ok(());
    }
    dir.write(&source_name, &job.source_code).map_err(|e| format!("writing the source: {e}"))?;

    if let Some(mut argv) = lang.compile_command(&text) {
        if let Some(options) = &job.compiler_options {
            let options = shlex::split(options).unwrap_or_default();
            argv.splice(1..1, options);
        }
        let result = sandboxed(lang, argv, lang.compile_limits()).workdir(dir.path(), true).run();
        finished.compile_duration = Some(Duration::from_millis(result.time_ms));
        let mut output = result.stdout.clone();
        output.extend_from_slice(&result.stderr);
        output.truncate(COMPILE_OUTPUT_LIMIT);
        let failure = compile_failure(lang, &result)?;
        if let Some(reason) = failure {
            let mut text = reason.into_bytes();
            if !text.is_empty() {
                text.push(b'\n');
            }
            text.extend_from_slice(&output);
            finished.status_id = COMPILATION_ERROR;
            finished.compile_output = Some(text);
            finished.exit_code = result.exit_code;
            return Ok(());
        }
        if !output.is_empty() && !super::languages::INTERPRETED.contains(&lang.id.as_str()) {
            finished.compile_output = Some(output);
        }
    }

    let limits = &job.limits;
    let memory_mib = limits.memory_limit.div_ceil(1024).max(1);
    let mut argv = lang.run_command(&text, memory_mib);
    if let Some(arguments) = &job.command_line_arguments {
        argv.extend(shlex::split(arguments).unwrap_or_default());
    }
    // Stopped at limit + extra time; over the limit is still a TLE (as isolate's -x).
    let cpu = Duration::from_secs_f64(limits.cpu_time_limit + limits.cpu_extra_time);
    let mut run_limits = lang.run_limits(cpu, limits.memory_limit * 1024, (limits.max_file_size * 1024).max(1024));
    run_limits.wall = Duration::from_secs_f64(limits.wall_time_limit);
    run_limits.processes = if limits.processes_given {
        limits.max_processes_and_or_threads
    } else {
        limits.max_processes_and_or_threads.max(lang.processes)
    };
    let stdin =
        Input::from_bytes(job.stdin.as_deref().unwrap_or_default()).map_err(|e| format!("sealing stdin: {e}"))?;

    let runs = limits.number_of_runs.max(1);
    let (mut time, mut wall, mut memory) = (0.0, 0.0, 0u64);
    let mut done = 0u32;
    let mut last = None;
    for _ in 0..runs {
        let result = sandboxed(lang, argv.clone(), run_limits.clone())
            .workdir(dir.path(), false)
            .stdin(Stdio::Input(stdin.clone()))
            .stdout(Stdio::Capture)
            .stderr(Stdio::Capture)
            .run();
        done += 1;
        finished.run_durations.push(Duration::from_millis(result.wall_ms));
        time += result.time_us as f64 / 1e6;
        wall += result.wall_ms as f64 / 1e3;
        memory += result.memory_kb;
        let failed = result.status != RunStatus::Ok;
        last = Some(result);
        if failed {
            break;
        }
    }
    let result = last.ok_or("no run happened")?;
    // Judge0 reports the mean over the runs.
    finished.time = Some(round3(time / f64::from(done)));
    finished.wall_time = Some(round3(wall / f64::from(done)));
    finished.memory = Some(memory / u64::from(done));
    classify(finished, result);
    Ok(())
}

fn round3(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// Judge0's status, exit code, signal and message for a finished run.
fn classify(finished: &mut Finished, result: RunResult) {
    let limits = finished.job.limits.clone();
    let signal = result.signal.as_deref().map(signal_number);
    let (mut stdout, stderr) = (result.stdout, result.stderr);
    let stderr = if limits.redirect_stderr_to_stdout {
        stdout.extend_from_slice(&stderr);
        Vec::new()
    } else {
        stderr
    };
    finished.stdout = (!stdout.is_empty()).then_some(stdout);
    finished.stderr = (!stderr.is_empty()).then_some(stderr);
    finished.exit_code = result.exit_code;
    finished.exit_signal = signal;
    let over_time = finished.time.is_some_and(|t| t > limits.cpu_time_limit);
    let (status, message) = match result.status {
        RunStatus::Ok if over_time => (TIME_LIMIT, Some("Time limit exceeded".to_string())),
        RunStatus::Ok => {
            let matches = match &finished.job.expected_output {
                Some(expected) => outputs_match(expected, finished.stdout.as_deref().unwrap_or_default()),
                None => true,
            };
            (if matches { ACCEPTED } else { WRONG_ANSWER }, None)
        }
        RunStatus::Tle => {
            let wall = result.message.as_deref().is_some_and(|m| m.contains("wall"));
            (
                TIME_LIMIT,
                Some(if wall { "Time limit exceeded (wall clock)" } else { "Time limit exceeded" }.to_string()),
            )
        }
        // Judge0 has no memory verdict: a program over its memory limit is
        // killed, which it reports as a runtime error (SIGKILL, "Other").
        RunStatus::Mle => {
            finished.exit_signal = Some(9);
            (RUNTIME_OTHER, Some("Memory limit exceeded (killed by signal 9)".to_string()))
        }
        // Output past max_file_size: the file size limit's signal, as in Judge0.
        RunStatus::Ole => {
            finished.exit_signal = Some(25);
            (SIGXFSZ, Some("File size limit exceeded".to_string()))
        }
        RunStatus::Re => match signal {
            Some(number) => {
                let status = match number {
                    11 => SIGSEGV,
                    25 => SIGXFSZ,
                    8 => SIGFPE,
                    6 => SIGABRT,
                    _ => RUNTIME_OTHER,
                };
                (status, Some(format!("Caught fatal signal {number}")))
            }
            None => (NZEC, Some(format!("Exited with error status {}", result.exit_code.unwrap_or(0)))),
        },
        RunStatus::Ie if result.exec_errno == Some(libc::ENOEXEC) => {
            (EXEC_FORMAT_ERROR, Some("Exec format error: the program cannot be executed".to_string()))
        }
        RunStatus::Ie => (INTERNAL_ERROR, Some(result.message.unwrap_or_else(|| "internal error".into()))),
    };
    finished.status_id = status;
    finished.message = message;
}

fn signal_number(name: &str) -> i32 {
    name.parse::<nix::sys::signal::Signal>()
        .map(|s| s as i32)
        .unwrap_or_else(|_| name.trim_start_matches("SIG").parse().unwrap_or(0))
}
