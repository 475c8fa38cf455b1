//! `judge serve`'s flags, checked into a `Config`; the token; problem
//! packages loaded at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use tracing::info;

use super::callbacks::Allow;
use crate::Failure;

/// Where `--problems` points by default (relative to the working directory).
const DEFAULT_PROBLEMS: &str = "testdata/problems";
/// Where `--data-dir` points by default (relative to the working directory).
const DEFAULT_DATA_DIR: &str = "judge-data";

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one; the log says which).
    #[arg(long, default_value = "127.0.0.1:5050")]
    pub listen: SocketAddr,
    /// Directory of problem packages, one per subdirectory, loaded once at start
    /// [default: testdata/problems, if it exists].
    #[arg(long)]
    pub problems: Option<PathBuf>,
    /// Directory of language definitions (*.toml) [default: the built-in ones].
    #[arg(long)]
    pub languages: Option<PathBuf>,
    /// Submissions graded at once [default: one per CPU].
    #[arg(long)]
    pub workers: Option<usize>,
    /// Submissions that may wait for a worker; beyond that, 503 with Retry-After.
    #[arg(long, default_value_t = 64)]
    pub queue: usize,
    /// Require "Authorization: Bearer T" on every path but /healthz.
    #[arg(long, conflicts_with = "token_file")]
    pub token: Option<String>,
    /// Read the token from this file (keeps it out of the process list).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Request body limit in MiB; past it, 413.
    #[arg(long, default_value_t = 16)]
    pub max_body_mib: usize,
    /// Source code limit in KiB; past it, 413.
    #[arg(long, default_value_t = 512)]
    pub max_source_kib: usize,
    /// Inline tests per submission; past it, 413.
    #[arg(long, default_value_t = 500)]
    pub max_tests: usize,
    /// Highest time limit (seconds) inline tests may ask for.
    #[arg(long, default_value_t = 10.0)]
    pub max_time_limit: f64,
    /// Highest memory limit (MiB) inline tests may ask for.
    #[arg(long, default_value_t = 2048)]
    pub max_memory_mib: u64,
    /// Seconds a finished result stays retrievable at GET /submissions/{id}.
    #[arg(long, default_value_t = 3600)]
    pub retention_secs: u64,
    /// Ignored: results are kept in the store for --retention-secs.
    #[arg(long, hide = true)]
    #[allow(dead_code)]
    pub max_results: Option<usize>,
    /// Directory of the embedded store (SQLite); one server per directory.
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// A PostgreSQL URL (postgres://user:password@host/db) shared by any
    /// number of nodes, instead of the embedded store in --data-dir; or
    /// "memory" to keep nothing across restarts (benchmarks).
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Hosts `callback_url` may point at: host, host:port, *.domain, *, or
    /// an address or range (10.0.0.5, 10.0.0.0/8, [fd00::1]:8080); internal
    /// addresses (loopback, private, link-local) are reached only when an
    /// address or range names them; comma-separated or repeated
    /// [default: none, callbacks refused].
    #[arg(long, value_name = "PATTERNS")]
    pub callback_allow: Vec<String>,
    /// Sign callback bodies: X-Judge-Signature: sha256=<hex HMAC-SHA256>.
    #[arg(long, conflicts_with = "callback_secret_file")]
    pub callback_secret: Option<String>,
    /// Read the callback secret from this file.
    #[arg(long)]
    pub callback_secret_file: Option<PathBuf>,
    /// Seconds after a result during which a failing callback is retried.
    #[arg(long, default_value_t = 600)]
    pub callback_retry_secs: u64,
    /// Largest problem package accepted by PUT /problems/{name}, packed and
    /// unpacked, in MiB.
    #[arg(long, default_value_t = 64)]
    pub max_package_mib: u64,
    /// Seconds a worker's lease on a job lasts unless renewed; after a node
    /// dies, its jobs are graded again once their leases expire.
    #[arg(long, default_value_t = 30.0)]
    pub lease_secs: f64,
    /// Gradings a job may start (its node dying each time) before it ends as IE.
    #[arg(long, default_value_t = 3)]
    pub max_attempts: u32,
    /// This node's name in logs and the store [default: host name and pid].
    #[arg(long)]
    pub node_id: Option<String>,
    /// Seconds a client has to send a request's head (line and headers);
    /// past it, the connection is closed.
    #[arg(long, default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Seconds a client has, after a request's head, to send all of its body;
    /// past it, 408 and the connection is closed. Room for the largest
    /// package (--max-package-mib) over a slow link.
    #[arg(long, default_value_t = 300)]
    pub body_timeout_secs: u64,
    /// Seconds a connection may sit with no request in flight before it is closed.
    #[arg(long, default_value_t = 60)]
    pub idle_timeout_secs: u64,
    /// Open connections at most; past it, new ones wait until one closes.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds after SIGTERM before connections still open are dropped and
    /// the server exits.
    #[arg(long, default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// Log one JSON object per line instead of text.
    #[arg(long)]
    pub log_json: bool,
    #[command(flatten)]
    pub go_judge: crate::gojudge::GoJudgeArgs,
}

/// The server's settings, after checking the flags.
pub struct Config {
    pub workers: usize,
    pub queue: usize,
    pub auth: bool,
    pub max_body_bytes: usize,
    pub max_source_bytes: usize,
    pub max_tests: usize,
    pub max_time_limit: f64,
    pub max_memory_mib: u64,
    pub max_output_mib: u64,
    pub retention: Duration,
    pub lease: Duration,
    pub max_attempts: u32,
    pub callback_allow: Allow,
    pub callback_secret: Option<String>,
    pub callback_retry: Duration,
    pub max_package_bytes: u64,
    /// The node's own files: the SQLite store and the package cache.
    pub data_dir: PathBuf,
    /// This node's name.
    pub node: String,
}

pub fn check_args(args: &ServeArgs) -> Result<Config, Failure> {
    let workers = match args.workers {
        Some(n) => n,
        None => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    };
    // A node on a shared database may only take and answer requests.
    let shared = args.database.as_deref().is_some_and(|d| d != "memory");
    let least = if shared { 0 } else { 1 };
    if workers < least || workers > 1024 {
        return Err(Failure::usage(format!(
            "--workers must be between {least} and 1024{}, got {workers}",
            if least == 0 { "" } else { " (0 only with --database)" }
        )));
    }
    if args.queue == 0 || args.queue > 1_000_000 {
        return Err(Failure::usage(format!("--queue must be between 1 and 1000000, got {}", args.queue)));
    }
    if args.max_body_mib == 0 || args.max_body_mib > 1024 {
        return Err(Failure::usage(format!("--max-body-mib must be between 1 and 1024, got {}", args.max_body_mib)));
    }
    if args.max_source_kib == 0 || args.max_source_kib > 1024 * 1024 {
        return Err(Failure::usage(format!(
            "--max-source-kib must be between 1 and 1048576, got {}",
            args.max_source_kib
        )));
    }
    if args.max_tests == 0 {
        return Err(Failure::usage("--max-tests must be at least 1"));
    }
    if !args.max_time_limit.is_finite() || args.max_time_limit <= 0.0 || args.max_time_limit > 3600.0 {
        return Err(Failure::usage(format!(
            "--max-time-limit must be above 0 and at most 3600, got {}",
            args.max_time_limit
        )));
    }
    if args.max_memory_mib == 0 || args.max_memory_mib > 1 << 20 {
        return Err(Failure::usage(format!(
            "--max-memory-mib must be between 1 and 1048576, got {}",
            args.max_memory_mib
        )));
    }
    if args.max_package_mib == 0 || args.max_package_mib > 64 * 1024 {
        return Err(Failure::usage(format!(
            "--max-package-mib must be between 1 and 65536, got {}",
            args.max_package_mib
        )));
    }
    if args.retention_secs == 0 {
        return Err(Failure::usage("--retention-secs must be at least 1"));
    }
    if !args.lease_secs.is_finite() || args.lease_secs < 0.3 || args.lease_secs > 3600.0 {
        return Err(Failure::usage(format!("--lease-secs must be between 0.3 and 3600, got {}", args.lease_secs)));
    }
    if args.max_attempts == 0 || args.max_attempts > 100 {
        return Err(Failure::usage(format!("--max-attempts must be between 1 and 100, got {}", args.max_attempts)));
    }
    let node = match &args.node_id {
        Some(node) if !node.is_empty() && node.len() <= 100 && node.chars().all(|c| c.is_ascii_graphic()) => {
            node.clone()
        }
        Some(node) => {
            return Err(Failure::usage(format!("--node-id must be 1-100 visible ASCII characters, got {node:?}")))
        }
        None => {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
            let host = if host.trim().is_empty() { "judge" } else { host.trim() };
            format!("{host}-{}", std::process::id())
        }
    };
    Ok(Config {
        workers,
        queue: args.queue,
        auth: args.token.is_some() || args.token_file.is_some(),
        max_body_bytes: args.max_body_mib << 20,
        max_source_bytes: args.max_source_kib << 10,
        max_tests: args.max_tests,
        max_time_limit: args.max_time_limit,
        max_memory_mib: args.max_memory_mib,
        max_output_mib: 1024,
        retention: Duration::from_secs(args.retention_secs),
        lease: Duration::from_secs_f64(args.lease_secs),
        max_attempts: args.max_attempts,
        callback_allow: Allow::parse(&args.callback_allow).map_err(Failure::usage)?,
        callback_secret: read_secret(args)?,
        callback_retry: Duration::from_secs(args.callback_retry_secs),
        max_package_bytes: args.max_package_mib << 20,
        data_dir: args.data_dir.clone(),
        node,
    })
}

/// The connection limits from the flags.
pub fn connection_limits(args: &ServeArgs) -> Result<super::listen::Limits, Failure> {
    let seconds = |name: &str, value: u64| {
        if value == 0 || value > 86_400 {
            Err(Failure::usage(format!("--{name} must be between 1 and 86400, got {value}")))
        } else {
            Ok(Duration::from_secs(value))
        }
    };
    if args.max_connections == 0 || args.max_connections > 1_000_000 {
        return Err(Failure::usage(format!(
            "--max-connections must be between 1 and 1000000, got {}",
            args.max_connections
        )));
    }
    Ok(super::listen::Limits {
        header_timeout: seconds("header-timeout-secs", args.header_timeout_secs)?,
        body_timeout: seconds("body-timeout-secs", args.body_timeout_secs)?,
        idle_timeout: seconds("idle-timeout-secs", args.idle_timeout_secs)?,
        max_connections: args.max_connections,
        shutdown_grace: seconds("shutdown-grace-secs", args.shutdown_grace_secs)?,
    })
}

fn read_secret(args: &ServeArgs) -> Result<Option<String>, Failure> {
    let secret = match (&args.callback_secret, &args.callback_secret_file) {
        (Some(secret), _) => secret.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("--callback-secret-file {}: {e}", path.display())))?
            .trim()
            .to_string(),
        (None, None) => return Ok(None),
    };
    if secret.is_empty() {
        return Err(Failure::usage("the callback secret must not be empty"));
    }
    Ok(Some(secret))
}

pub fn read_token(args: &ServeArgs) -> Result<Option<String>, Failure> {
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => token.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("--token-file {}: {e}", path.display())))?
            .trim()
            .to_string(),
        (None, None) => return Ok(None),
    };
    if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Failure::usage("the token must be non-empty and hold no spaces or control characters"));
    }
    Ok(Some(token))
}

/// The directory whose packages are loaded into the store at start: the
/// `--problems` one (which must exist), else `testdata/problems` if there.
pub fn problems_dir(dir: Option<&Path>) -> Result<Option<PathBuf>, Failure> {
    match dir {
        Some(dir) if dir.is_dir() => Ok(Some(dir.to_path_buf())),
        Some(dir) => Err(Failure::usage(format!("--problems {}: not a directory", dir.display()))),
        None if Path::new(DEFAULT_PROBLEMS).is_dir() => Ok(Some(PathBuf::from(DEFAULT_PROBLEMS))),
        None => {
            info!("no {DEFAULT_PROBLEMS} here; only uploaded problems and inline tests (use --problems DIR)");
            Ok(None)
        }
    }
}
