//! `judge run`: one command in a fresh sandbox, result as JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use engine::limits::MIB;
use engine::sandbox::{check_dir, Command, Input, Limits, RunStatus, Stdio};
use engine::scratch::Scratch;
use serde_json::json;

use crate::Failure;

#[derive(Args)]
pub struct RunArgs {
    /// CPU time limit in seconds.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    time_limit: f64,
    /// Wall time limit in seconds (default: 3 x CPU limit + 1).
    #[arg(long, allow_negative_numbers = true)]
    wall_limit: Option<f64>,
    /// Peak resident memory limit in MiB.
    #[arg(long, default_value_t = 256)]
    memory_limit: u64,
    /// Address-space backstop in MiB; 0 for none (JVMs, Go). Default: 2 x memory + 512.
    #[arg(long)]
    address_space_limit: Option<u64>,
    /// Output limit in MiB, for stdout and stderr each.
    #[arg(long, default_value_t = 64)]
    output_limit: u64,
    /// Maximum processes and threads.
    #[arg(long, default_value_t = 64)]
    procs: u64,
    /// File given to the program as standard input.
    #[arg(long)]
    stdin: Option<PathBuf>,
    /// Directory whose copy is bound read-only at the working directory (/box).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The command and its arguments.
    #[arg(required = true, last = true)]
    command: Vec<String>,
}

/// The most `--dir` may hold: it is copied to a tmpfs for the run.
const DIR_COPY_LIMIT: u64 = 1024 * MIB;

fn seconds(value: f64, flag: &str) -> Result<Duration, Failure> {
    if !value.is_finite() || value <= 0.0 || value > 86_400.0 {
        return Err(Failure::usage(format!("--{flag} must be between 0 and 86400 seconds, got {value}")));
    }
    Ok(Duration::from_secs_f64(value))
}

fn mebibytes(value: u64, flag: &str) -> Result<u64, Failure> {
    if value == 0 || value > 1 << 20 {
        return Err(Failure::usage(format!("--{flag} must be between 1 and 1048576 MiB, got {value}")));
    }
    Ok(value << 20)
}

pub fn main(args: RunArgs) -> Result<ExitCode, Failure> {
    let mut limits =
        Limits::new(seconds(args.time_limit, "time-limit")?, mebibytes(args.memory_limit, "memory-limit")?);
    if let Some(wall) = args.wall_limit {
        limits.wall = seconds(wall, "wall-limit")?;
    }
    limits.output = mebibytes(args.output_limit, "output-limit")?;
    match args.address_space_limit {
        Some(0) => limits.address_space = None,
        Some(mib) => limits.address_space = Some(mebibytes(mib, "address-space-limit")?),
        None => {}
    }
    if args.procs == 0 || args.procs > 4096 {
        return Err(Failure::usage(format!("--procs must be between 1 and 4096, got {}", args.procs)));
    }
    limits.processes = args.procs;

    let mut command = Command::new(&args.command[0]).args(&args.command[1..]).limits(limits);
    // A copy on a tmpfs, so the sandbox's mount table shows neither the
    // directory's host path nor its disk; dropped (unmounted) after the run.
    let mut _workdir = None;
    if let Some(dir) = &args.dir {
        let dir = check_dir(dir).map_err(|e| Failure::usage(format!("--dir {e}")))?;
        let copy = Scratch::copy_of(&dir, DIR_COPY_LIMIT).map_err(|e| Failure::usage(format!("--dir {e}")))?;
        command = command.workdir(copy.path(), false);
        _workdir = Some(copy);
    }
    if let Some(path) = &args.stdin {
        let input = Input::from_file(path).map_err(|e| Failure::usage(format!("--stdin {e}")))?;
        command = command.stdin(Stdio::Input(input));
    }
    let result = command.run();
    if let Some(errno) = result.exec_errno {
        if errno == libc::ENOENT || errno == libc::EACCES || errno == libc::ENOEXEC {
            let detail = result.message.unwrap_or_default();
            return Err(Failure::usage(detail));
        }
    }
    let body = json!({
        "status": result.status,
        "exit_code": result.exit_code,
        "signal": result.signal,
        "time_ms": result.time_ms,
        "wall_ms": result.wall_ms,
        "memory_kb": result.memory_kb,
        "stdout": String::from_utf8_lossy(&result.stdout),
        "stderr": String::from_utf8_lossy(&result.stderr),
        "message": result.message,
    });
    println!("{body}");
    Ok(if result.status == RunStatus::Ie { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
