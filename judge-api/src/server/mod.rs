//! `judge serve`: the HTTP API (README.md, "Use it from a frontend"; `GET /openapi.json`) on axum/tokio.
//!
//! - `mod.rs`: flags, start-up (languages, problems, self-check), shutdown;
//! - `routes.rs`: the router and handlers; `submit.rs`: checking submissions;
//! - `queue.rs`: the bounded queue and the worker pool;
//! - `store.rs`: results by id with retention; `metrics.rs`: Prometheus text;
//! - `auth.rs`: bearer token; `openapi.rs`: `GET /openapi.json`; `error.rs`.

mod auth;
mod error;
mod metrics;
mod openapi;
mod queue;
mod routes;
mod store;
mod submit;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use engine::grade::{GradeError, GradeOptions, GradeResult, Grader, Submission};
use engine::language::{LanguageInfo, Languages};
use engine::problem::Problem;
use engine::sandbox::{Command, RunStatus};
use tracing::{error, info, warn};

use crate::Failure;

/// Inline tests' limits when the request gives none.
pub use engine::limits::{DEFAULT_MEMORY_MIB, DEFAULT_OUTPUT_MIB, DEFAULT_TIME_LIMIT};
/// Where `--problems` points by default (relative to the working directory).
const DEFAULT_PROBLEMS: &str = "testdata/problems";

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one; the log says which).
    #[arg(long, default_value = "127.0.0.1:5050")]
    listen: SocketAddr,
    /// Directory of problem packages, one per subdirectory, loaded once at start
    /// [default: testdata/problems, if it exists].
    #[arg(long)]
    problems: Option<PathBuf>,
    /// Directory of language definitions (*.toml) [default: the built-in ones].
    #[arg(long)]
    languages: Option<PathBuf>,
    /// Submissions graded at once [default: one per CPU].
    #[arg(long)]
    workers: Option<usize>,
    /// Submissions that may wait for a worker; beyond that, 503 with Retry-After.
    #[arg(long, default_value_t = 64)]
    queue: usize,
    /// Require "Authorization: Bearer T" on every path but /healthz.
    #[arg(long, conflicts_with = "token_file")]
    token: Option<String>,
    /// Read the token from this file (keeps it out of the process list).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Request body limit in MiB; past it, 413.
    #[arg(long, default_value_t = 16)]
    max_body_mib: usize,
    /// Source code limit in KiB; past it, 413.
    #[arg(long, default_value_t = 512)]
    max_source_kib: usize,
    /// Inline tests per submission; past it, 413.
    #[arg(long, default_value_t = 500)]
    max_tests: usize,
    /// Highest time limit (seconds) inline tests may ask for.
    #[arg(long, default_value_t = 10.0)]
    max_time_limit: f64,
    /// Highest memory limit (MiB) inline tests may ask for.
    #[arg(long, default_value_t = 2048)]
    max_memory_mib: u64,
    /// Seconds a finished result stays retrievable at GET /submissions/{id}.
    #[arg(long, default_value_t = 3600)]
    retention_secs: u64,
    /// Results kept at most; the oldest finished go first.
    #[arg(long, default_value_t = 10_000)]
    max_results: usize,
    /// Log one JSON object per line instead of text.
    #[arg(long)]
    log_json: bool,
    #[command(flatten)]
    go_judge: crate::gojudge::GoJudgeArgs,
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
}

/// A problem package loaded at start.
pub struct LoadedProblem {
    pub problem: Arc<Problem>,
    /// Seconds: the package's, else the default.
    pub time_limit: f64,
}

#[derive(Clone, Debug)]
pub enum Health {
    Pending,
    Ok,
    Failed(String),
}

/// Grades one submission (blocking); `Grader::grade` outside unit tests.
pub type GradeFn = Box<
    dyn Fn(&Problem, &Submission, &GradeOptions, &(dyn Fn(usize, usize) + Sync)) -> Result<GradeResult, GradeError>
        + Send
        + Sync,
>;

/// Everything the handlers and workers share.
pub struct App {
    pub config: Config,
    pub token: Option<String>,
    pub language_list: Vec<LanguageInfo>,
    pub problems: BTreeMap<String, LoadedProblem>,
    pub grade: GradeFn,
    pub store: store::Store,
    pub metrics: metrics::Metrics,
    pub queue: queue::Queue,
    pub gojudge: Arc<crate::gojudge::GoJudge>,
    health: Mutex<Health>,
}

impl App {
    pub fn health(&self) -> Health {
        self.health.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_health(&self, health: Health) {
        self.metrics.healthy.store(matches!(health, Health::Ok) as i64, Relaxed);
        *self.health.lock().unwrap_or_else(|p| p.into_inner()) = health;
    }
}

#[cfg(test)]
impl App {
    /// An app with default limits around a stand-in grader.
    pub fn for_tests(workers: usize, queue: usize, grade: GradeFn) -> Arc<App> {
        Arc::new(App {
            config: Config {
                workers,
                queue,
                auth: false,
                max_body_bytes: 1 << 20,
                max_source_bytes: 1 << 10,
                max_tests: 10,
                max_time_limit: 10.0,
                max_memory_mib: 1024,
                max_output_mib: 1024,
                retention: Duration::from_secs(60),
            },
            token: None,
            language_list: Vec::new(),
            problems: BTreeMap::new(),
            grade,
            store: store::Store::new(Duration::from_secs(60), 100),
            metrics: metrics::Metrics::new(workers, queue),
            queue: queue::Queue::new(queue),
            gojudge: crate::gojudge::GoJudge::for_tests(),
            health: Mutex::new(Health::Ok),
        })
    }
}

pub fn main(args: ServeArgs) -> Result<ExitCode, Failure> {
    init_logging(args.log_json);
    let config = check_args(&args)?;
    let token = read_token(&args)?;

    let languages = match &args.languages {
        Some(dir) => {
            Languages::from_dir(dir).map_err(|e| Failure::usage(format!("--languages {}: {e}", dir.display())))?
        }
        None => Languages::embedded().map_err(|e| Failure::internal(format!("built-in language definitions: {e}")))?,
    };
    let language_list = languages.list();
    let problems = load_problems(args.problems.as_deref())?;

    let app = Arc::new(App {
        store: store::Store::new(config.retention, args.max_results),
        metrics: metrics::Metrics::new(config.workers, config.queue),
        queue: queue::Queue::new(config.queue),
        grade: {
            // Workers x tests-at-once stays near the core count, so a busy
            // server queues submissions instead of oversubscribing the CPUs
            // (CPU time stays honest either way; wall limits would not).
            let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            let grader = Grader::new(Arc::new(languages)).with_parallelism(cpus / config.workers.max(1));
            Box::new(move |problem, submission, options, progress| grader.grade(problem, submission, options, progress))
        },
        config,
        token,
        language_list,
        problems,
        gojudge: crate::gojudge::GoJudge::new(&args.go_judge).map_err(Failure::usage)?,
        health: Mutex::new(Health::Pending),
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("judge-serve")
        .build()
        .map_err(|e| Failure::internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(app, args.listen))
}

async fn serve(app: Arc<App>, listen: SocketAddr) -> Result<ExitCode, Failure> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Failure::internal(format!("cannot listen on {listen}: {e}")))?;
    let address = listener.local_addr().map_err(|e| Failure::internal(format!("listening socket: {e}")))?;

    let workers = queue::start_workers(&app);
    tokio::spawn(self_check(app.clone()));
    tokio::spawn(sweep_results(app.clone()));

    let available: Vec<&str> = app.language_list.iter().filter(|l| l.available).map(|l| l.id.as_str()).collect();
    info!(
        workers = app.config.workers,
        queue = app.config.queue,
        problems = app.problems.len(),
        languages = %available.join(","),
        auth = app.config.auth,
        "listening on http://{address}"
    );

    let shutdown = {
        let app = app.clone();
        async move {
            let signal = wait_for_signal().await;
            info!("{signal}: shutting down: no new connections; finishing running submissions");
            app.queue.start_draining();
            tokio::spawn(async {
                let signal = wait_for_signal().await;
                warn!("{signal} again: exiting now");
                std::process::exit(1);
            });
        }
    };
    let served = axum::serve(listener, routes::router(app.clone())).with_graceful_shutdown(shutdown).await;

    app.queue.start_draining();
    app.queue.close();
    for worker in workers {
        let _ = worker.await;
    }
    match served {
        Ok(()) => {
            info!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(Failure::internal(format!("serving on {address}: {e}"))),
    }
}

async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            error!("cannot handle SIGTERM: {e}");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    }
}

/// Runs `/bin/true` in a real sandbox; `/healthz` answers 200 only after it passed.
async fn self_check(app: Arc<App>) {
    let started = Instant::now();
    let outcome = tokio::task::spawn_blocking(|| Command::new("/bin/true").run()).await;
    let health = match outcome {
        Ok(result) if result.status == RunStatus::Ok && result.exit_code == Some(0) => Health::Ok,
        Ok(result) => Health::Failed(format!(
            "/bin/true in the sandbox gave {:?} (exit {:?}): {}",
            result.status,
            result.exit_code,
            result.message.as_deref().unwrap_or("no message")
        )),
        Err(e) => Health::Failed(format!("the self-check failed: {e}")),
    };
    match &health {
        Health::Ok => info!(ms = started.elapsed().as_millis() as u64, "sandbox self-check passed"),
        Health::Failed(reason) => {
            app.metrics.sandbox_failures.fetch_add(1, Relaxed);
            error!("sandbox self-check failed; /healthz answers 503 and submissions are refused: {reason}")
        }
        Health::Pending => {}
    }
    app.set_health(health);
}

async fn sweep_results(app: Arc<App>) {
    let period = (app.config.retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut interval = tokio::time::interval(period);
    loop {
        interval.tick().await;
        app.store.sweep();
    }
}

fn init_logging(json: bool) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

fn check_args(args: &ServeArgs) -> Result<Config, Failure> {
    let workers = match args.workers {
        Some(n) => n,
        None => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    };
    if workers == 0 || workers > 1024 {
        return Err(Failure::usage(format!("--workers must be between 1 and 1024, got {workers}")));
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
    if args.retention_secs == 0 {
        return Err(Failure::usage("--retention-secs must be at least 1"));
    }
    if args.max_results <= workers + args.queue {
        return Err(Failure::usage(format!(
            "--max-results ({}) must exceed --workers + --queue ({}), so every accepted submission has room",
            args.max_results,
            workers + args.queue
        )));
    }
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
    })
}

fn read_token(args: &ServeArgs) -> Result<Option<String>, Failure> {
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

/// Loads every subdirectory holding a `problem.yaml`. A package that does
/// not load is logged and left out; a missing explicit directory is an error.
fn load_problems(dir: Option<&Path>) -> Result<BTreeMap<String, LoadedProblem>, Failure> {
    let (dir, explicit) = match dir {
        Some(dir) => (dir, true),
        None => (Path::new(DEFAULT_PROBLEMS), false),
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {
            info!("no {DEFAULT_PROBLEMS} here; serving inline tests only (use --problems DIR)");
            return Ok(BTreeMap::new());
        }
        Err(e) => return Err(Failure::usage(format!("--problems {}: {e}", dir.display()))),
    };
    let mut problems = BTreeMap::new();
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if !path.is_dir() {
            continue;
        }
        if !path.join("problem.yaml").is_file() {
            warn!(dir = %path.display(), "skipping a directory without problem.yaml");
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            warn!(path = %path.display(), "skipping a problem directory whose name is not UTF-8");
            continue;
        };
        match Problem::load(&path) {
            Ok(problem) => {
                let time_limit = problem.time_limit.unwrap_or(DEFAULT_TIME_LIMIT);
                info!(problem = %name, tests = problem.tests.len(), time_limit, memory_mib = problem.memory_mib, "loaded problem");
                problems.insert(name, LoadedProblem { problem: Arc::new(problem), time_limit });
            }
            Err(e) => error!(problem = %name, "problem package left out: {e}"),
        }
    }
    Ok(problems)
}
