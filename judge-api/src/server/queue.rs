//! The queue lives in the store; this is the node's side of it: accepting a
//! job (stored before the answer), the fixed pool of workers that lease jobs
//! from the store and grade them on blocking threads, and the sweeper that
//! puts back jobs whose lease expired.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::grade::{Fault, GradeError, GradeResult};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use super::error::ApiError;
use super::job::{JobSpec, ProblemSpec};
use super::App;
use crate::store::{exhausted_outcome, now_ms, Claimed, Inserted, NewSubmission, Outcome, StoreError};

/// Idle workers look at the store this often even without a wake-up.
const POLL: Duration = Duration::from_millis(1000);
/// How long a finished result is retried against an unreachable store.
const FINISH_RETRY: Duration = Duration::from_secs(120);

/// Seconds a client should wait when the store is unreachable.
pub const STORE_RETRY_AFTER: u64 = 5;

pub fn store_unavailable(error: StoreError) -> ApiError {
    ApiError::unavailable(format!("{error}; the submission was not taken, retry later"), Some(STORE_RETRY_AFTER))
}

/// A fresh submission id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Stores a checked job as submission `id`; the answer says which submission it is (a new one,
/// or the one an earlier request with the same idempotency key made).
pub async fn accept(
    app: &App,
    id: String,
    spec: &JobSpec,
    idempotency_key: Option<String>,
    callback_url: Option<String>,
) -> Result<(String, bool), ApiError> {
    if app.is_draining() {
        return Err(ApiError::unavailable("the server is shutting down; submit elsewhere or later", None));
    }
    let new = NewSubmission {
        id: id.clone(),
        idempotency_key,
        language: spec.language.to_string(),
        spec: spec.to_json(),
        callback_url,
        now_ms: now_ms(),
        queue_capacity: app.config.queue as u64,
    };
    match app.store.insert(&new).await {
        Ok(Inserted::Created) => {
            app.wake_worker.notify_one();
            Ok((id, false))
        }
        Ok(Inserted::Existing(id)) => Ok((id, true)),
        Ok(Inserted::QueueFull) => {
            app.metrics.queue_full();
            Err(ApiError::unavailable(
                format!(
                    "the queue is full ({} submissions waiting for {} workers); retry later",
                    app.config.queue, app.config.workers
                ),
                Some(retry_after(app)),
            ))
        }
        Err(e) => {
            warn!("submission not stored: {e}");
            Err(store_unavailable(e))
        }
    }
}

/// Seconds a refused client should wait: the queue's expected drain time,
/// from the mean grading time so far, between 1 and 60.
fn retry_after(app: &App) -> u64 {
    let mean = app.metrics.grade_duration.mean().unwrap_or(Duration::from_secs(1));
    let rounds = app.config.queue.div_ceil(app.config.workers.max(1)) as f64;
    (mean.as_secs_f64() * rounds).ceil().clamp(1.0, 60.0) as u64
}

/// Starts the worker pool and the lease sweeper.
pub fn start_workers(app: &Arc<App>) -> Vec<JoinHandle<()>> {
    let mut tasks: Vec<JoinHandle<()>> =
        (0..app.config.workers).map(|index| tokio::spawn(worker(index, app.clone()))).collect();
    tasks.push(tokio::spawn(sweep(app.clone())));
    tasks
}

async fn worker(index: usize, app: Arc<App>) {
    let mut draining = app.draining.subscribe();
    let mut failures = 0u32;
    while !app.is_draining() {
        // Only a node whose sandbox passed its self-check takes jobs; others
        // leave them to nodes that can grade.
        if !matches!(app.health(), super::Health::Ok | super::Health::Failing(_)) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        // Made before looking, so a wake-up between the look and the wait counts.
        let woken = app.wake_worker.notified();
        let now = now_ms();
        match app.store.claim(&app.node, now, now + app.config.lease.as_millis() as i64).await {
            Ok(Some(job)) => {
                failures = 0;
                let id = job.id.clone();
                // A panic here must not take the worker with it.
                if let Err(e) = tokio::spawn(run_job(app.clone(), job)).await {
                    error!(worker = index, id = %id, "worker task failed: {e}");
                }
            }
            Ok(None) => {
                failures = 0;
                tokio::select! {
                    _ = woken => {}
                    _ = tokio::time::sleep(POLL) => {}
                    _ = draining.changed() => {}
                }
            }
            Err(e) => {
                failures += 1;
                if failures == 1 || failures.is_power_of_two() {
                    warn!(worker = index, failures, "cannot take a job: {e}");
                }
                tokio::time::sleep(Duration::from_millis(200 * u64::from(failures.min(10)))).await;
            }
        }
    }
}

/// Puts back jobs whose lease expired, and deletes expired results and old
/// package versions.
async fn sweep(app: Arc<App>) {
    let exhausted = exhausted_outcome(app.config.max_attempts);
    let period = (app.config.lease / 3).clamp(Duration::from_millis(200), Duration::from_secs(5));
    let mut last_purge = Instant::now();
    let mut draining = app.draining.subscribe();
    while !app.is_draining() {
        match app.store.requeue_expired(now_ms(), None, app.config.max_attempts, &exhausted).await {
            Ok(done) => {
                if done.requeued > 0 || done.failed > 0 {
                    warn!(
                        requeued = done.requeued,
                        failed = done.failed,
                        "leases expired (a node stopped while grading): jobs put back"
                    );
                    app.wake_worker.notify_waiters();
                }
            }
            Err(e) => warn!("cannot check for expired leases: {e}"),
        }
        if last_purge.elapsed() >= (app.config.retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(60)) {
            last_purge = Instant::now();
            let before = now_ms() - app.config.retention.as_millis() as i64;
            if let Err(e) = app.store.purge(before).await {
                warn!("cannot delete expired results: {e}");
            }
            super::problems::prune(&app).await;
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = draining.changed() => {}
        }
    }
}

async fn run_job(app: Arc<App>, job: Claimed) {
    let Claimed { id, spec, attempt, lease, created_ms } = job;
    let queue_wait = Duration::from_millis(now_ms().saturating_sub(created_ms).max(0) as u64);
    app.metrics.queue_wait.observe(queue_wait);
    app.running_here(&id, true);
    app.metrics.busy_workers.fetch_add(1, Relaxed);
    let started = Instant::now();

    let (outcome, language, problem_label) = match JobSpec::from_json(&spec) {
        Ok(JobSpec { language, problem: ProblemSpec::Judge0(job), .. }) => {
            (run_judge0(&app, &id, &lease, *job, started).await, language.to_string(), "(judge0)".to_string())
        }
        parsed => grade_native(&app, &id, &lease, parsed, started).await,
    };
    let elapsed = started.elapsed();
    app.metrics.busy_workers.fetch_sub(1, Relaxed);
    app.metrics.grade_duration.observe(elapsed);

    let written = write_outcome(&app, &lease, &outcome).await;
    app.running_here(&id, false);
    if written {
        let verdict = serde_json::from_str::<serde_json::Value>(&outcome.body).ok().and_then(|v| {
            let verdict = v.get("verdict").and_then(|v| v.as_str()).map(str::to_string);
            verdict.map(|verdict| (verdict, v))
        });
        match verdict {
            Some((verdict, body)) if outcome.status == 200 => info!(
                id = %id,
                language = %language,
                problem = %problem_label,
                verdict = %verdict,
                score = body["score"].as_f64().unwrap_or(0.0),
                tests = body["tests"].as_array().map_or(0, |t| t.len()),
                time_ms = body["time_ms"].as_u64().unwrap_or(0),
                memory_kb = body["memory_kb"].as_u64().unwrap_or(0),
                compile_ms = body["compile"]["time_ms"].as_u64().unwrap_or(0),
                queue_ms = queue_wait.as_millis() as u64,
                grade_ms = elapsed.as_millis() as u64,
                attempt,
                "graded"
            ),
            _ => info!(id = %id, status = outcome.status, attempt, "finished without a result"),
        }
        app.waiters.wake(&id);
    }
}

/// Grades a native job (or answers why it cannot be): its outcome, language and problem label.
async fn grade_native(
    app: &Arc<App>,
    id: &str,
    lease: &crate::store::Lease,
    parsed: Result<JobSpec, ApiError>,
    started: Instant,
) -> (Outcome, String, String) {
    let grading = match parsed {
        Ok(spec) => {
            let language = spec.language.to_string();
            spec.grading(app).await.map(|g| (language, g))
        }
        Err(e) => Err(e),
    };
    match grading {
        Err(error) => (error_outcome(app, id, "(unknown)", "(unknown)", error, started), String::new(), String::new()),
        Ok((language, grading)) => {
            let label = grading.problem_name.clone().unwrap_or_else(|| "(inline)".to_string());
            let package = grading.package.clone();
            let progress = Arc::new(std::sync::Mutex::new((0u32, grading.tests as u32)));
            let task = {
                let app = app.clone();
                let progress = progress.clone();
                tokio::task::spawn_blocking(move || {
                    let report = |done: usize, total: usize| {
                        *progress.lock().unwrap_or_else(|p| p.into_inner()) = (done as u32, total as u32);
                    };
                    (app.grade)(&grading.problem, &grading.submission, &grading.options, &report)
                })
            };
            let result = heartbeat(app, lease, task, &progress).await;
            if let Ok(graded) = &result {
                super::sandbox_health::observe(app, graded);
            }
            let outcome = match result {
                Ok(Ok(result)) => {
                    record(app, &result);
                    let mut body = serde_json::to_string(&result).unwrap_or_default();
                    // The package version graded against, for a named problem.
                    if let (Some(hash), Some(b'}')) = (&package, body.as_bytes().last()) {
                        body.truncate(body.len() - 1);
                        body.push_str(&format!(",\"package\":\"{hash}\"}}"));
                    }
                    Outcome { status: 200, body }
                }
                Ok(Err(e)) => {
                    let error = grade_error(e, grading.problem_name.as_deref());
                    error_outcome(app, id, &language, &label, error, started)
                }
                Err(e) => {
                    let detail = if e.is_panic() { panic_message(e.into_panic()) } else { e.to_string() };
                    let error = ApiError::internal(format!(
                        "internal error: the grader failed ({detail}); this is the judge's fault"
                    ));
                    error_outcome(app, id, &language, &label, error, started)
                }
            };
            (outcome, language, label)
        }
    }
}

/// Runs a Judge0 job on a blocking thread, renewing the lease meanwhile.
async fn run_judge0(
    app: &Arc<App>,
    id: &str,
    lease: &crate::store::Lease,
    job: crate::judge0::model::Job,
    started: Instant,
) -> Outcome {
    let progress = std::sync::Mutex::new((0u32, 1u32));
    let language = job.language.clone();
    let task = {
        let app = app.clone();
        tokio::task::spawn_blocking(move || crate::judge0::run_job(&app.judge0, job))
    };
    match heartbeat(app, lease, task, &progress).await {
        Ok(finished) => {
            let verdict = crate::judge0::model::verdict_of(finished.status_id);
            app.metrics.graded(verdict, finished.compile_duration, finished.run_durations.iter().copied());
            Outcome { status: 200, body: crate::judge0::result_json(&finished) }
        }
        Err(e) => {
            let detail = if e.is_panic() { panic_message(e.into_panic()) } else { e.to_string() };
            let error = ApiError::internal(format!(
                "internal error: the Judge0 run failed ({detail}); this is the judge's fault"
            ));
            error_outcome(app, id, &language, "(judge0)", error, started)
        }
    }
}

/// Waits for the grading while renewing the lease and recording progress.
async fn heartbeat<T>(
    app: &App,
    lease: &crate::store::Lease,
    mut task: JoinHandle<T>,
    progress: &std::sync::Mutex<(u32, u32)>,
) -> Result<T, tokio::task::JoinError> {
    let period = (app.config.lease / 3).clamp(Duration::from_millis(100), Duration::from_secs(1));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut lost = false;
    loop {
        tokio::select! {
            result = &mut task => return result,
            _ = ticks.tick() => {
                if lost {
                    continue;
                }
                let current = *progress.lock().unwrap_or_else(|p| p.into_inner());
                let expires = now_ms() + app.config.lease.as_millis() as i64;
                match app.store.renew(lease, expires, current).await {
                    Ok(true) => {}
                    Ok(false) => {
                        lost = true;
                        warn!(id = %lease.submission, "lease lost (taken over after it expired): this grading's result will be discarded");
                    }
                    Err(e) => warn!(id = %lease.submission, "cannot renew the lease: {e}"),
                }
            }
        }
    }
}

/// Records the outcome under the lease, retrying while the store is
/// unreachable. False if the lease was lost (another grading's result counts).
async fn write_outcome(app: &App, lease: &crate::store::Lease, outcome: &Outcome) -> bool {
    let deadline = Instant::now() + FINISH_RETRY;
    let mut failures = 0u32;
    loop {
        match app.store.finish(lease, outcome, now_ms()).await {
            Ok(true) => return true,
            Ok(false) => {
                warn!(id = %lease.submission, "result discarded: the lease was taken over, so another grading counts");
                return false;
            }
            Err(e) if Instant::now() < deadline => {
                failures += 1;
                if failures == 1 || failures.is_power_of_two() {
                    warn!(id = %lease.submission, failures, "cannot record the result yet: {e}");
                }
                tokio::time::sleep(Duration::from_millis(250 * u64::from(failures.min(8)))).await;
            }
            Err(e) => {
                error!(id = %lease.submission, "result lost: the store stayed unreachable: {e}; the job is graded again once its lease expires");
                return false;
            }
        }
    }
}

fn error_outcome(app: &App, id: &str, language: &str, problem: &str, error: ApiError, started: Instant) -> Outcome {
    let internal = error.status.is_server_error();
    app.metrics.grading_error(internal);
    let grade_ms = started.elapsed().as_millis() as u64;
    let status = error.status.as_u16();
    if internal {
        error!(id = %id, language = %language, problem = %problem, status, grade_ms, "not graded: {}", error.message);
    } else {
        info!(id = %id, language = %language, problem = %problem, status, grade_ms, "not graded: {}", error.message);
    }
    let mut body = error.body(&[]);
    if internal {
        body["verdict"] = serde_json::json!("IE");
    }
    Outcome { status, body: body.to_string() }
}

fn record(app: &App, result: &GradeResult) {
    let runs = result.tests.iter().map(|test| Duration::from_millis(test.wall_ms));
    app.metrics.graded(result.verdict, Some(Duration::from_millis(result.compile.time_ms)), runs);
}

/// Each grading error maps by whose fault it is (`GradeError::fault`): the
/// caller's 400, the package's 422 (the request was fine, the package it
/// names or carries cannot be graded), the judge's 500.
fn grade_error(error: GradeError, problem_name: Option<&str>) -> ApiError {
    match error.fault() {
        Fault::Caller => ApiError::bad_request(error.to_string()),
        Fault::Package => {
            if let Some(name) = problem_name {
                warn!(problem = name, "problem package cannot be graded: {error}");
            }
            let package = problem_name.map(|name| format!("problem {name:?}")).unwrap_or("the problem".into());
            ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, format!("{package} cannot be graded: {error}"))
        }
        Fault::Judge => ApiError::internal(format!("internal error: {error}; this is the judge's fault")),
    }
}

pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
