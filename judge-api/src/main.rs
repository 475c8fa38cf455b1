//! The `judge` command line: `serve`, `grade`, `verify`, `run`, `languages`.
//! Parses flags, calls the engine, prints results. No sandbox logic here.

mod cli_grade;
mod cli_run;
mod gojudge;
mod judge0;
mod server;
mod store;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "judge", version, about = "Online-judge code execution engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start; the size of the serve flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve(server::ServeArgs),
    /// Grade submissions against a problem package.
    Grade(cli_grade::GradeArgs),
    /// Grade every file under submissions/<kind>/ and check its verdict.
    Verify(cli_grade::VerifyArgs),
    /// Run one command in a fresh sandbox and print a JSON result.
    Run(cli_run::RunArgs),
    /// List language ids.
    Languages(cli_grade::LanguagesArgs),
}

/// Gives the judge its own mount namespace, so the tmpfs work dirs it mounts
/// are invisible to the host and vanish with the process even if it crashes.
/// Must run before any thread starts. Without it (not root, say) work dirs are
/// still unmounted when dropped.
fn private_mounts() {
    use nix::mount::{mount, MsFlags};
    if nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).is_ok() {
        let _ = mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>);
    }
}

/// What `raise_open_files_limit` did, logged once logging is set up.
pub static OPEN_FILES_LIMIT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Raises the soft `RLIMIT_NOFILE` to the hard one: systemd's default soft
/// limit (1024) is below what a busy server's connections and sandboxes use.
fn raise_open_files_limit() -> String {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return format!("cannot read RLIMIT_NOFILE: {}", std::io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    if before == limit.rlim_max {
        return format!("open files limit already at the hard limit ({before})");
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: setrlimit reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return format!(
            "cannot raise RLIMIT_NOFILE from {before} to {}: {}",
            limit.rlim_max,
            std::io::Error::last_os_error()
        );
    }
    format!("open files limit raised from {before} to {}", limit.rlim_max)
}

fn main() -> ExitCode {
    private_mounts();
    let _ = OPEN_FILES_LIMIT.set(raise_open_files_limit());
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let sandboxes = !matches!(cli.command, Command::Languages(_));
    // SAFETY: geteuid has no preconditions.
    if sandboxes && unsafe { libc::geteuid() } != 0 {
        eprintln!("judge: the sandbox needs root (it creates namespaces, mounts and per-run uids); run it as root");
        return ExitCode::from(2);
    }
    let outcome = match cli.command {
        Command::Serve(args) => server::main(args),
        Command::Grade(args) => cli_grade::grade(args),
        Command::Verify(args) => cli_grade::verify(args),
        Command::Run(args) => cli_run::main(args),
        Command::Languages(args) => cli_grade::languages(args),
    };
    match outcome {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("judge: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// A command's failure: a one-line message and the exit code.
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    /// The caller's mistake (bad flags, missing files): exit 2.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), code: 2 }
    }

    /// Something failed on the judge's side: exit 1.
    pub fn internal(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), code: 1 }
    }
}
