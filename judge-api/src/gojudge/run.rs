//! Carries out a checked plan (blocking): one fresh sandbox per command, each
//! with its own tmpfs work dir holding its `copyIn` files; commands of one
//! request run at once, joined by pipes (relayed through the judge for
//! `proxy`); then outputs are collected and `copyOut` files read back.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::Arc;

use engine::limits::MIB;
use engine::sandbox::{Command, Input, RunResult, RunStatus, Stdio};
use engine::scratch::Scratch;

use super::cache::FileCache;
use super::convert::{CmdPlan, CopyOut, InputPlan, OutputPlan, Plan, Source};
use super::model::{CmdResult, FileError, FileErrorKind, Status};
use super::workdir;

/// Room in a work dir beyond the copied-in files, for what programs write.
const WORKDIR_SPARE: u64 = 256 * MIB;

/// A command ready to start: its work dir filled, its stdin sealed.
struct Ready {
    plan: CmdPlan,
    dir: Scratch,
    stdin: Option<Input>,
}

/// Pipe ends handed to commands: stdin, stdout, stderr per command.
type PipeFds = Vec<[Option<OwnedFd>; 3]>;

pub fn execute(plan: Plan, cache: &FileCache) -> Vec<CmdResult> {
    let count = plan.cmds.len();
    let mut fds: PipeFds = (0..count).map(|_| [None, None, None]).collect();
    // Relays to run: (read end of the writer's pipe, write end to the reader, max, writer index, name).
    let mut relays = Vec::new();
    for pipe in &plan.pipes {
        let made = if pipe.proxy {
            make_pipe().and_then(|(a_read, a_write)| {
                make_pipe().map(|(b_read, b_write)| (a_write, b_read, Some((a_read, b_write))))
            })
        } else {
            make_pipe().map(|(read, write)| (write, read, None))
        };
        match made {
            Ok((write_end, read_end, relay)) => {
                fds[pipe.writer.0][pipe.writer.1] = Some(write_end);
                fds[pipe.reader][0] = Some(read_end);
                if let Some((from, to)) = relay {
                    // Unnamed, nothing is recorded.
                    let max = if pipe.name.is_empty() { 0 } else { pipe.max };
                    relays.push((from, to, max, pipe.writer.0, pipe.name.clone()));
                }
            }
            Err(e) => return vec_of_errors(count, &e),
        }
    }

    let prepared: Vec<Result<Ready, Box<CmdResult>>> = plan.cmds.into_iter().map(|cmd| prepare(cmd, cache)).collect();

    let (runs, transcripts) = std::thread::scope(|scope| {
        let relay_threads: Vec<_> = relays
            .into_iter()
            .map(|(from, to, max, writer, name)| (writer, name, scope.spawn(move || relay(from, to, max))))
            .collect();
        let run_threads: Vec<_> = prepared
            .into_iter()
            .zip(fds)
            .map(|(ready, fds)| match ready {
                Ok(ready) => Ok(scope.spawn(move || {
                    let command = command(&ready, fds);
                    (command.run(), ready)
                })),
                // Its pipe ends are dropped here, so its partners see EOF.
                Err(failed) => Err(failed),
            })
            .collect();
        let runs: Vec<Result<(RunResult, Ready), Box<CmdResult>>> = run_threads
            .into_iter()
            .map(|thread| {
                thread.and_then(|t| {
                    t.join().map_err(|_| Box::new(CmdResult::failed(Status::InternalError, "run thread panicked")))
                })
            })
            .collect();
        let transcripts: Vec<_> =
            relay_threads.into_iter().map(|(writer, name, t)| (writer, name, t.join().unwrap_or_default())).collect();
        (runs, transcripts)
    });

    let mut results: Vec<CmdResult> = runs
        .into_iter()
        .map(|run| match run {
            Ok((result, ready)) => finish(result, &ready, cache),
            Err(failed) => *failed,
        })
        .collect();
    for (writer, name, data) in transcripts {
        if !name.is_empty() {
            results[writer].files.insert(name, String::from_utf8_lossy(&data).into_owned());
        }
    }
    results
}

fn vec_of_errors(count: usize, error: &str) -> Vec<CmdResult> {
    (0..count).map(|_| CmdResult::failed(Status::InternalError, error)).collect()
}

fn make_pipe() -> Result<(OwnedFd, OwnedFd), String> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("creating a pipe: {e}"))
}

/// Resolves cached files, fills the work dir, seals stdin. A missing file is
/// go-judge's "File Error" for this command.
fn prepare(plan: CmdPlan, cache: &FileCache) -> Result<Ready, Box<CmdResult>> {
    let mut file_errors = Vec::new();
    let mut resolve = |name: &str, source: &Source| -> Option<Arc<Vec<u8>>> {
        match source {
            Source::Content(bytes) => Some(Arc::new(bytes.clone())),
            Source::Cached(id) => match cache.get(id) {
                Some((_, data)) => Some(data),
                None => {
                    file_errors.push(FileError {
                        name: name.to_string(),
                        kind: FileErrorKind::CopyInOpenFile,
                        message: format!("no cached file with id {id:?} (deleted, expired or evicted)"),
                    });
                    None
                }
            },
        }
    };
    let stdin_bytes = match &plan.stdin {
        InputPlan::File(source) => resolve("stdin", source),
        _ => None,
    };
    let copy_in: Vec<(String, Option<Arc<Vec<u8>>>)> =
        plan.copy_in.iter().map(|(name, source)| (name.clone(), resolve(name, source))).collect();
    if !file_errors.is_empty() {
        let mut failed = CmdResult::failed(Status::FileError, "a file to copy in is missing");
        failed.file_error = file_errors;
        return Err(Box::new(failed));
    }
    let internal = |e: String| Box::new(CmdResult::failed(Status::InternalError, e));
    let stdin = stdin_bytes
        .map(|bytes| Input::from_bytes(&bytes))
        .transpose()
        .map_err(|e| internal(format!("sealing stdin: {e}")))?;
    let copy_in_bytes: u64 = copy_in.iter().map(|(_, data)| data.as_ref().map_or(0, |d| d.len() as u64)).sum();
    let dir = Scratch::new(copy_in_bytes + plan.limits.output.max(WORKDIR_SPARE) + MIB)
        .map_err(|e| internal(format!("creating the work dir: {e}")))?;
    for (name, data) in &copy_in {
        let data = data.as_deref().map(Vec::as_slice).unwrap_or_default();
        if let Err(e) = workdir::write_in(dir.path(), name, data) {
            let mut failed = CmdResult::failed(Status::FileError, format!("copying in {name}: {e}"));
            failed.file_error.push(FileError {
                name: name.clone(),
                kind: FileErrorKind::CopyInCreateFile,
                message: e.to_string(),
            });
            return Err(Box::new(failed));
        }
    }
    // Links last, so that no file above was written through one.
    for (name, target) in &plan.symlinks {
        if let Err(e) = workdir::symlink_in(dir.path(), name, target) {
            let mut failed = CmdResult::failed(Status::FileError, format!("making symlink {name}: {e}"));
            failed.file_error.push(FileError {
                name: name.clone(),
                kind: FileErrorKind::CopyInSymlink,
                message: e.to_string(),
            });
            return Err(Box::new(failed));
        }
    }
    Ok(Ready { plan, dir, stdin })
}

fn command(ready: &Ready, fds: [Option<OwnedFd>; 3]) -> Command {
    let plan = &ready.plan;
    let mut command = Command::new(&plan.argv[0]).args(&plan.argv[1..]).limits(plan.limits.clone());
    for (key, value) in &plan.env {
        command = command.env(key, value);
    }
    let [stdin_fd, stdout_fd, stderr_fd] = fds;
    let stdin = match (&plan.stdin, &ready.stdin, stdin_fd) {
        (_, _, Some(fd)) => Stdio::Fd(fd),
        (_, Some(input), None) => Stdio::Input(input.clone()),
        _ => Stdio::Null,
    };
    let output = |plan: &OutputPlan, fd: Option<OwnedFd>| match (plan, fd) {
        (_, Some(fd)) => Stdio::Fd(fd),
        (OutputPlan::Collect { .. }, None) => Stdio::Capture,
        _ => Stdio::Null,
    };
    command
        .workdir(ready.dir.path(), true)
        .stdin(stdin)
        .stdout(output(&plan.outputs[0], stdout_fd))
        .stderr(output(&plan.outputs[1], stderr_fd))
}

/// Copies one pipe's bytes to the other end, recording at most `max`, until
/// the writer is done. If the reader has gone, the rest is read and dropped
/// (as go-judge's proxy does), so the writer neither blocks nor gets EPIPE.
fn relay(from: OwnedFd, to: OwnedFd, max: u64) -> Vec<u8> {
    let (mut from, mut to) = (std::fs::File::from(from), std::fs::File::from(to));
    let mut recorded = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut reader_gone = false;
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let room = (max as usize).saturating_sub(recorded.len());
        recorded.extend_from_slice(&buffer[..n.min(room)]);
        if !reader_gone && to.write_all(&buffer[..n]).is_err() {
            reader_gone = true;
        }
    }
    recorded
}

/// The engine's result in go-judge's terms, with outputs and copied-out files.
fn finish(run: RunResult, ready: &Ready, cache: &FileCache) -> CmdResult {
    let signal = run.signal.as_deref().map(signal_number);
    let (status, exit_status) = match run.status {
        RunStatus::Ok => (Status::Accepted, 0),
        RunStatus::Re => match signal {
            Some(number) => (Status::Signalled, number),
            None => (Status::NonzeroExit, run.exit_code.unwrap_or(0)),
        },
        RunStatus::Tle => (Status::TimeLimitExceeded, signal.or(run.exit_code).unwrap_or(0)),
        RunStatus::Mle => (Status::MemoryLimitExceeded, signal.or(run.exit_code).unwrap_or(0)),
        RunStatus::Ole => (Status::OutputLimitExceeded, signal.or(run.exit_code).unwrap_or(0)),
        RunStatus::Ie => (Status::InternalError, 0),
    };
    let mut result = CmdResult::failed(status, "");
    result.exit_status = exit_status;
    if status == Status::InternalError {
        result.error = run.message.clone().unwrap_or_else(|| "the sandbox failed".into());
    }
    result.time = run.time_us.saturating_mul(1000);
    result.memory = run.memory_kb.saturating_mul(1024);
    result.run_time = run.wall_ms.saturating_mul(1_000_000);

    // Collected outputs, each bounded by its own `max`.
    let mut collected: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (output, captured) in ready.plan.outputs.iter().zip([&run.stdout, &run.stderr]) {
        if let OutputPlan::Collect { name, max } = output {
            let mut data = captured.clone();
            if data.len() as u64 > *max {
                data.truncate(*max as usize);
                if matches!(result.status, Status::Accepted | Status::NonzeroExit | Status::Signalled) {
                    result.status = Status::OutputLimitExceeded;
                }
                result.file_error.push(FileError {
                    name: name.clone(),
                    kind: FileErrorKind::CollectSizeExceeded,
                    message: format!("{name} is over {max} bytes"),
                });
            }
            result.files.insert(name.clone(), String::from_utf8_lossy(&data).into_owned());
            collected.insert(name.clone(), data);
        }
    }

    let plan = &ready.plan;
    for copy in &plan.copy_out {
        if collected.contains_key(&copy.name) {
            continue;
        }
        if let Some(data) = copy_out(&mut result, ready, copy) {
            result.files.insert(copy.name.clone(), String::from_utf8_lossy(&data).into_owned());
        }
    }
    for copy in &plan.copy_out_cached {
        let data = match collected.get(&copy.name) {
            Some(data) => Some(data.clone()),
            None => copy_out(&mut result, ready, copy),
        };
        let Some(data) = data else { continue };
        match cache.insert(&copy.name, data) {
            Ok(id) => {
                result.file_ids.insert(copy.name.clone(), id);
            }
            Err(e) => file_error(&mut result, &copy.name, FileErrorKind::CopyOutCreateFile, e.to_string()),
        }
    }
    result
}

/// Reads a `copyOut` file, recording a file error when it cannot be had.
fn copy_out(result: &mut CmdResult, ready: &Ready, copy: &CopyOut) -> Option<Vec<u8>> {
    match workdir::read_out(ready.dir.path(), &copy.name, ready.plan.copy_out_max) {
        Ok(data) => Some(data),
        Err((FileErrorKind::CopyOutOpen, _)) if copy.optional => None,
        Err((kind, message)) => {
            file_error(result, &copy.name, kind, message);
            None
        }
    }
}

fn file_error(result: &mut CmdResult, name: &str, kind: FileErrorKind, message: String) {
    if result.status == Status::Accepted {
        result.status = Status::FileError;
        result.error = message.clone();
    }
    result.file_error.push(FileError { name: name.to_string(), kind, message });
}

/// "SIGSEGV" → 11; the engine's "SIG<n>" for unnamed ones → n.
fn signal_number(name: &str) -> i32 {
    name.parse::<nix::sys::signal::Signal>()
        .map(|s| s as i32)
        .unwrap_or_else(|_| name.trim_start_matches("SIG").parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_become_numbers() {
        assert_eq!(signal_number("SIGSEGV"), 11);
        assert_eq!(signal_number("SIGKILL"), 9);
        assert_eq!(signal_number("SIG40"), 40);
    }
}
