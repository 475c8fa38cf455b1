//! go-judge's REST API (`/run`, `/file`, `/version`, `/config`) on this
//! judge's engine and sandbox, so a frontend that speaks go-judge (HydroOJ,
//! HOJ, …) can switch by changing its base URL to `http://host:port/go-judge`.
//!
//! - `model.rs`: the wire format; `convert.rs`: request → checked plan;
//! - `run.rs`: carrying out a plan in sandboxes; `workdir.rs`: files in and out;
//! - `cache.rs`: the cached-file store; `handlers.rs`, `multipart.rs`: HTTP.

mod cache;
mod convert;
mod error;
mod handlers;
mod model;
mod multipart;
pub mod openapi;
mod run;
mod workdir;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use engine::limits::MIB;
use tokio::sync::Semaphore;

/// The `judge serve` flags of the go-judge API.
#[derive(clap::Args, Debug, Clone)]
pub struct GoJudgeArgs {
    /// Bytes (in MiB) the go-judge file cache (/go-judge/file, copyOutCached)
    /// holds; past it, the least recently used files are evicted.
    #[arg(long, default_value_t = 256)]
    pub file_cache_mib: u64,
    /// Seconds a cached go-judge file is kept after its last use.
    #[arg(long, default_value_t = 3600)]
    pub file_ttl_secs: u64,
}

/// What the go-judge handlers share.
pub struct GoJudge {
    cache: cache::FileCache,
    /// Sandboxes running at once for go-judge requests.
    runs: Arc<Semaphore>,
    parallel_runs: usize,
    /// Requests waiting for permits; past `MAX_WAITING`, 503.
    waiting: AtomicUsize,
    file_ttl: Duration,
}

/// `/run` requests that may wait for a sandbox at once.
pub const MAX_WAITING: usize = 64;

impl GoJudge {
    pub fn new(args: &GoJudgeArgs) -> Result<Arc<GoJudge>, String> {
        if args.file_cache_mib == 0 || args.file_cache_mib > 1 << 20 {
            return Err(format!("--file-cache-mib must be between 1 and 1048576, got {}", args.file_cache_mib));
        }
        if args.file_ttl_secs == 0 || args.file_ttl_secs > 30 * 86_400 {
            return Err(format!("--file-ttl-secs must be between 1 and 2592000, got {}", args.file_ttl_secs));
        }
        let parallel_runs = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let file_ttl = Duration::from_secs(args.file_ttl_secs);
        Ok(Arc::new(GoJudge {
            cache: cache::FileCache::new(args.file_cache_mib * MIB, cache::MAX_FILES, file_ttl),
            runs: Arc::new(Semaphore::new(parallel_runs)),
            parallel_runs,
            waiting: AtomicUsize::new(0),
            file_ttl,
        }))
    }

    /// Default settings, for the server's unit tests.
    #[cfg(test)]
    pub fn for_tests() -> Arc<GoJudge> {
        GoJudge::new(&GoJudgeArgs { file_cache_mib: 16, file_ttl_secs: 60 }).expect("valid test settings")
    }
}

/// The go-judge routes, to be nested under `/go-judge`; the server's layers
/// (token, body limit, JSON errors) apply to them as to every other route.
pub fn router<S: Clone + Send + Sync + 'static>(service: Arc<GoJudge>) -> Router<S> {
    Router::new()
        .route("/run", post(handlers::run))
        .route("/file", get(handlers::list_files).post(handlers::upload_file))
        .route("/file/{id}", get(handlers::download_file).delete(handlers::delete_file))
        .route("/version", get(handlers::version))
        .route("/config", get(handlers::config))
        .with_state(service)
}
