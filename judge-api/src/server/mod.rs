//! `judge serve`: the HTTP API (README.md, "Use it from a frontend"; `GET /openapi.json`) on axum/tokio.
//!
//! - `mod.rs`: start-up (store, languages, problems, self-check), shutdown;
//! - `config.rs`: flags; `routes.rs`: the router and handlers;
//! - `listen.rs`: the accept loop, connection timeouts and limits;
//!   `hyper_errors.rs`: JSON bodies for hyper's own error answers;
//! - `sandbox_health.rs`: `/healthz` following sandbox start failures;
//! - `submit.rs`: checking submissions into a `job::JobSpec`;
//! - `queue.rs`: accepting jobs into the store, workers leasing them;
//! - `outcome.rs`: rendering and awaiting results; `waiters.rs`: wake-ups;
//! - `callbacks.rs`: result deliveries to `callback_url`;
//! - `problems.rs`: packages in the store, uploads; `packages.rs`: archives;
//! - `metrics.rs`: Prometheus text; `auth.rs`: bearer token;
//! - `openapi.rs`: `GET /openapi.json`; `error.rs`.
//!
//! The state lives in `crate::store`, so a restart loses nothing.

mod auth;
pub(crate) mod callbacks;
mod config;
pub(crate) mod error;
mod hyper_errors;
pub(crate) mod job;
mod listen;
mod metrics;
mod openapi;
pub(crate) mod outcome;
mod packages;
mod problems;
pub(crate) mod queue;
mod routes;
mod sandbox_health;
mod submit;
pub(crate) mod waiters;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use engine::grade::{GradeError, GradeOptions, GradeResult, Grader, Submission};
use engine::language::{LanguageInfo, Languages};
use engine::problem::Problem;
use engine::sandbox::{Command, RunStatus};
use tokio::sync::{watch, Notify};
use tracing::{error, info, warn};

use crate::store::{self as state, Store};
use crate::Failure;
pub use config::{Config, ServeArgs};

/// Inline tests' limits when the request gives none.
pub use engine::limits::{DEFAULT_MEMORY_MIB, DEFAULT_OUTPUT_MIB, DEFAULT_TIME_LIMIT};

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
    /// The self-check at start failed: nothing is graded.
    Failed(String),
    /// A grading's sandboxes could not start (setup failed, out of
    /// descriptors); the next grading that runs clears it.
    Failing(String),
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
    /// Package versions unpacked on this node.
    pub packages: problems::Packages,
    pub grade: GradeFn,
    pub store: Arc<dyn Store>,
    pub metrics: metrics::Metrics,
    /// go-judge's API: its file cache and run slots.
    pub gojudge: Arc<crate::gojudge::GoJudge>,
    /// Judge0's API: its language catalogue and the languages its jobs run with.
    pub judge0: Arc<crate::judge0::Judge0>,
    /// This node's name (`--node-id`).
    pub node: String,
    /// Wakes an idle worker: a job was stored or put back.
    pub wake_worker: Notify,
    pub waiters: waiters::Waiters,
    /// True once shutting down: workers take no new jobs.
    pub draining: watch::Sender<bool>,
    /// Jobs this node's workers are grading.
    running: Mutex<HashSet<String>>,
    health: Mutex<Health>,
}

impl App {
    fn new(
        config: Config,
        store: Arc<dyn Store>,
        grade: GradeFn,
        gojudge: Arc<crate::gojudge::GoJudge>,
        judge0: Arc<crate::judge0::Judge0>,
    ) -> App {
        App {
            gojudge,
            judge0,
            token: None,
            language_list: Vec::new(),
            packages: problems::Packages::new(
                config.data_dir.join("packages"),
                packages::Limits { max_bytes: config.max_package_bytes, max_files: problems::MAX_FILES },
            ),
            grade,
            store,
            metrics: metrics::Metrics::new(config.workers, config.queue),
            node: config.node.clone(),
            wake_worker: Notify::new(),
            waiters: waiters::Waiters::default(),
            draining: watch::Sender::new(false),
            running: Mutex::new(HashSet::new()),
            health: Mutex::new(Health::Pending),
            config,
        }
    }

    pub fn health(&self) -> Health {
        self.health.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_health(&self, health: Health) {
        self.metrics.healthy.store(matches!(health, Health::Ok) as i64, Relaxed);
        *self.health.lock().unwrap_or_else(|p| p.into_inner()) = health;
    }

    pub fn is_draining(&self) -> bool {
        *self.draining.borrow()
    }

    pub fn start_draining(&self) {
        self.draining.send_replace(true);
    }

    pub fn running_here(&self, id: &str, running: bool) {
        let mut set = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running {
            set.insert(id.to_string());
        } else {
            set.remove(id);
        }
    }

    pub fn is_running_here(&self, id: &str) -> bool {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).contains(id)
    }
}

/// The package hash of the unit tests' problem "sum".
#[cfg(test)]
pub const TEST_PACKAGE: &str = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e";

#[cfg(test)]
impl App {
    /// An app with default limits around a stand-in grader, on a fresh
    /// SQLite store in a temporary directory.
    pub async fn for_tests(workers: usize, queue: usize, grade: GradeFn) -> (Arc<App>, tempdir::TempDir) {
        let dir = tempdir::TempDir::new();
        let store = state::SqliteStore::open(&dir.0).await.expect("a store in a temporary directory");
        let config = Config {
            workers,
            queue,
            auth: false,
            max_body_bytes: 1 << 20,
            max_source_bytes: 1 << 10,
            max_tests: 10,
            max_time_limit: 10.0,
            max_memory_mib: 1024,
            max_output_mib: 1024,
            retention: std::time::Duration::from_secs(60),
            lease: std::time::Duration::from_secs(5),
            max_attempts: 3,
            callback_allow: callbacks::Allow::default(),
            callback_secret: None,
            callback_retry: std::time::Duration::from_secs(60),
            max_package_bytes: 1 << 20,
            data_dir: dir.0.clone(),
            node: "test".into(),
        };
        let languages = Arc::new(Languages::embedded().expect("the built-in language definitions"));
        let judge0 = crate::judge0::Judge0::new(languages);
        let app = App::new(config, Arc::new(store), grade, crate::gojudge::GoJudge::for_tests(), judge0);
        let sum =
            Problem::inline("sum", vec![("1".into(), b"1\n".to_vec(), b"1\n".to_vec())], 1.0, 64, 64, vec![]).unwrap();
        app.packages.insert(TEST_PACKAGE, LoadedProblem { problem: Arc::new(sum), time_limit: 1.0 });
        app.set_health(Health::Ok);
        (Arc::new(app), dir)
    }
}

pub fn main(args: ServeArgs) -> Result<ExitCode, Failure> {
    init_logging(args.log_json);
    if let Some(limit) = crate::OPEN_FILES_LIMIT.get() {
        tracing::debug!("{limit}");
    }
    match engine::scratch::remove_stale() {
        Ok(0) => {}
        Ok(removed) => info!(removed, "removed empty scratch dirs that judges killed earlier left in /run/judge/work"),
        Err(e) => warn!("cannot clean up old scratch dirs: {e}"),
    }
    let config = config::check_args(&args)?;
    let token = config::read_token(&args)?;
    let limits = config::connection_limits(&args)?;

    let languages = match &args.languages {
        Some(dir) => {
            Languages::from_dir(dir).map_err(|e| Failure::usage(format!("--languages {}: {e}", dir.display())))?
        }
        None => Languages::embedded().map_err(|e| Failure::internal(format!("built-in language definitions: {e}")))?,
    };
    let language_list = languages.list();
    let problems_dir = config::problems_dir(args.problems.as_deref())?;
    let gojudge = crate::gojudge::GoJudge::new(&args.go_judge).map_err(Failure::usage)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("judge-serve")
        .build()
        .map_err(|e| Failure::internal(format!("cannot start the async runtime: {e}")))?;
    let outcome = runtime.block_on(async move {
        let store = open_store(&args, &config).await?;
        // Workers x tests-at-once stays near the core count, so a busy
        // server queues submissions instead of oversubscribing the CPUs
        // (CPU time stays honest either way; wall limits would not).
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let languages = Arc::new(languages);
        let judge0 = crate::judge0::Judge0::new(languages.clone());
        let grader = Grader::new(languages).with_parallelism(cpus / config.workers.max(1));
        let grade: GradeFn = Box::new(move |problem, submission, options, progress| {
            grader.grade(problem, submission, options, progress)
        });
        let mut app = App::new(config, store, grade, gojudge, judge0);
        app.token = token;
        app.language_list = language_list;
        if let Some(dir) = problems_dir {
            problems::load_dir(app.store.as_ref(), &dir, app.packages.limits).await.map_err(Failure::usage)?;
        }
        serve(Arc::new(app), args.listen, limits).await
    });
    // Gradings still running after the grace period are not waited for:
    // their jobs go back to the queue when their leases expire.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    outcome
}

/// Opens the store. SQLite has one user (the directory is locked), so jobs
/// it shows running were running when this node last stopped: put back now.
/// On PostgreSQL only this node's own (same `--node-id`) are; other nodes'
/// come back when their leases expire.
async fn open_store(args: &ServeArgs, config: &Config) -> Result<Arc<dyn Store>, Failure> {
    let exhausted = state::exhausted_outcome(config.max_attempts);
    let (store, back): (Arc<dyn Store>, _) = match &args.database {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let connections = (config.workers + 10).min(100) as u32;
            let store =
                state::PgStore::open(url, connections).await.map_err(|e| Failure::usage(format!("--database: {e}")))?;
            let back = store
                .requeue_expired(state::now_ms(), Some(&config.node), config.max_attempts, &exhausted)
                .await
                .map_err(|e| Failure::internal(format!("--database: {e}")))?;
            info!("store: PostgreSQL");
            (Arc::new(store), back)
        }
        Some(memory) if memory == "memory" => {
            warn!("store: in memory; everything is lost when the server stops (--database memory)");
            (Arc::new(state::MemoryStore::default()), state::Requeued::default())
        }
        Some(_) => return Err(Failure::usage("--database takes a postgres:// URL (or \"memory\")")),
        None => {
            let store = state::SqliteStore::open(&args.data_dir)
                .await
                .map_err(|e| Failure::usage(format!("--data-dir {}: {e}", args.data_dir.display())))?;
            let back = store
                .requeue_expired(i64::MAX, None, config.max_attempts, &exhausted)
                .await
                .map_err(|e| Failure::internal(format!("{}: {e}", store.path.display())))?;
            info!(path = %store.path.display(), "store: SQLite");
            (Arc::new(store), back)
        }
    };
    if back.requeued > 0 || back.failed > 0 {
        warn!(
            requeued = back.requeued,
            failed = back.failed,
            "jobs that were running when this node last stopped: put back in the queue"
        );
    }
    Ok(store)
}

/// Other nodes' notices wake this node's workers and waiters.
fn listen_to_other_nodes(app: &Arc<App>) {
    let target = app.clone();
    app.store.listen(Arc::new(move |notice| match notice {
        state::Notice::Queued => target.wake_worker.notify_one(),
        state::Notice::Done(id) => target.waiters.wake(&id),
        state::Notice::Resync => {
            target.wake_worker.notify_waiters();
            target.waiters.wake_all();
        }
    }));
}

async fn serve(app: Arc<App>, listen: SocketAddr, limits: listen::Limits) -> Result<ExitCode, Failure> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Failure::internal(format!("cannot listen on {listen}: {e}")))?;
    let address = listener.local_addr().map_err(|e| Failure::internal(format!("listening socket: {e}")))?;

    listen_to_other_nodes(&app);
    let workers = queue::start_workers(&app);
    tokio::spawn(callbacks::deliver(app.clone()));
    tokio::spawn(self_check(app.clone()));
    // The Judge0 language catalogue probes toolchain versions: built now, not on a client's first request.
    let judge0 = app.judge0.clone();
    tokio::spawn(async move { judge0.catalog().await });

    let available: Vec<&str> = app.language_list.iter().filter(|l| l.available).map(|l| l.id.as_str()).collect();
    info!(
        workers = app.config.workers,
        queue = app.config.queue,
        languages = %available.join(","),
        auth = app.config.auth,
        header_timeout_secs = limits.header_timeout.as_secs(),
        idle_timeout_secs = limits.idle_timeout.as_secs(),
        max_connections = limits.max_connections,
        "listening on http://{address}"
    );

    let shutdown = {
        let app = app.clone();
        async move {
            let signal = wait_for_signal().await;
            info!("{signal}: shutting down: no new connections; finishing running submissions");
            app.start_draining();
            tokio::spawn(async {
                let signal = wait_for_signal().await;
                warn!("{signal} again: exiting now");
                std::process::exit(1);
            });
        }
    };
    let started = listen::serve(listener, routes::router(app.clone()), limits, shutdown).await;

    app.start_draining();
    let left = limits.shutdown_grace.saturating_sub(started.elapsed().min(limits.shutdown_grace));
    let workers_done = async {
        for worker in workers {
            let _ = worker.await;
        }
    };
    if tokio::time::timeout(left.max(std::time::Duration::from_secs(1)), workers_done).await.is_err() {
        warn!("gradings still running after the shutdown grace period: leaving them to their leases");
    }
    info!("stopped");
    Ok(ExitCode::SUCCESS)
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
        Health::Pending | Health::Failing(_) => {}
    }
    app.set_health(health);
}

fn init_logging(json: bool) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let asked = std::env::var("RUST_LOG").unwrap_or_default();
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // sqlx's own connection chatter only when asked for by name.
    if !asked.contains("sqlx") {
        if let Ok(directive) = "sqlx=warn".parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

#[cfg(test)]
pub mod tempdir {
    /// A fresh directory, removed on drop.
    pub struct TempDir(pub std::path::PathBuf);

    impl TempDir {
        pub fn new() -> TempDir {
            static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("judge-unit-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
