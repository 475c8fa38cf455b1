//! The bounded queue and the fixed pool of workers that drain it. Each
//! worker grades one submission at a time on a blocking thread; a full
//! queue refuses new work (503 + Retry-After) instead of growing.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engine::grade::{GradeError, GradeOptions, GradeResult, Submission};
use engine::problem::Problem;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use super::error::ApiError;
use super::store::State;
use super::App;

/// One accepted submission on its way to a worker.
pub struct Job {
    pub id: String,
    pub language: String,
    /// The problem's name, or `None` for inline tests (for logs only).
    pub problem_name: Option<String>,
    pub problem: Arc<Problem>,
    pub submission: Submission,
    pub options: GradeOptions,
    pub enqueued: Instant,
    /// Set for `wait: true`: the handler waiting for the outcome.
    pub waiter: Option<oneshot::Sender<State>>,
}

pub struct Queue {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    receiver: Mutex<Option<mpsc::Receiver<Job>>>,
    draining: AtomicBool,
}

impl Queue {
    pub fn new(capacity: usize) -> Queue {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        Queue {
            sender: Mutex::new(Some(sender)),
            receiver: Mutex::new(Some(receiver)),
            draining: AtomicBool::new(false),
        }
    }

    /// Queues a job, or says why not: full (503 with Retry-After) or
    /// shutting down (503).
    pub fn submit(&self, app: &App, job: Job) -> Result<(), ApiError> {
        if self.is_draining() {
            return Err(ApiError::unavailable("the server is shutting down; submit elsewhere or later", None));
        }
        let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        let Some(sender) = sender.as_ref() else {
            return Err(ApiError::unavailable("the server is shutting down; submit elsewhere or later", None));
        };
        app.metrics.queue_depth.fetch_add(1, Relaxed);
        match sender.try_send(job) {
            Ok(()) => Ok(()),
            Err(e) => {
                app.metrics.queue_depth.fetch_sub(1, Relaxed);
                match e {
                    mpsc::error::TrySendError::Full(_) => {
                        app.metrics.queue_full();
                        let capacity = app.config.queue;
                        Err(ApiError::unavailable(
                            format!(
                                "the queue is full ({capacity} submissions waiting for {} workers); retry later",
                                app.config.workers
                            ),
                            Some(retry_after(app)),
                        ))
                    }
                    mpsc::error::TrySendError::Closed(_) => {
                        Err(ApiError::unavailable("the server is shutting down; submit elsewhere or later", None))
                    }
                }
            }
        }
    }

    /// From now on, queued jobs nobody waits for are dropped unrun (their
    /// results would die with the process anyway); running ones finish.
    pub fn start_draining(&self) {
        self.draining.store(true, Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Relaxed)
    }

    /// No more jobs: workers exit once the queue is empty.
    pub fn close(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// Seconds a refused client should wait: the queue's expected drain time,
/// from the mean grading time so far, between 1 and 60.
fn retry_after(app: &App) -> u64 {
    let mean = app.metrics.grade_duration.mean().unwrap_or(Duration::from_secs(1));
    let rounds = app.config.queue.div_ceil(app.config.workers.max(1)) as f64;
    (mean.as_secs_f64() * rounds).ceil().clamp(1.0, 60.0) as u64
}

/// Starts the worker pool.
pub fn start_workers(app: &Arc<App>) -> Vec<JoinHandle<()>> {
    let receiver = app.queue.receiver.lock().unwrap_or_else(|p| p.into_inner()).take().expect("workers start once");
    let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
    (0..app.config.workers)
        .map(|index| {
            let app = app.clone();
            let receiver = receiver.clone();
            tokio::spawn(async move { worker(index, app, receiver).await })
        })
        .collect()
}

async fn worker(index: usize, app: Arc<App>, receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let job = receiver.lock().await.recv().await;
        let Some(job) = job else { break };
        app.metrics.queue_depth.fetch_sub(1, Relaxed);
        let nobody_waits = job.waiter.as_ref().is_none_or(|w| w.is_closed());
        if app.queue.is_draining() && nobody_waits {
            info!(id = %job.id, "dropped unrun at shutdown");
            app.store.finish(
                &job.id,
                State::Failed(ApiError::unavailable("the server shut down before grading this", None)),
            );
            continue;
        }
        let id = job.id.clone();
        // A panic here must not take the worker with it.
        if let Err(e) = tokio::spawn(run_job(app.clone(), job)).await {
            error!(worker = index, id = %id, "worker task failed: {e}");
            app.metrics.grading_error(true);
            app.store.finish(&id, State::Failed(ApiError::internal(format!("internal error while grading: {e}"))));
        }
    }
}

async fn run_job(app: Arc<App>, job: Job) {
    let Job { id, language, problem_name, problem, submission, options, enqueued, waiter } = job;
    let queue_wait = enqueued.elapsed();
    app.metrics.queue_wait.observe(queue_wait);
    app.store.set_running(&id, 0, problem.tests.len());
    app.metrics.busy_workers.fetch_add(1, Relaxed);
    let started = Instant::now();

    let grading = {
        let app = app.clone();
        let id = id.clone();
        let problem = problem.clone();
        tokio::task::spawn_blocking(move || {
            let progress = |done: usize, total: usize| app.store.set_running(&id, done, total);
            (app.grade)(&problem, &submission, &options, &progress)
        })
    };
    let outcome = grading.await;
    let elapsed = started.elapsed();
    app.metrics.busy_workers.fetch_sub(1, Relaxed);
    app.metrics.grade_duration.observe(elapsed);

    let problem_label = problem_name.as_deref().unwrap_or("(inline)");
    let state = match outcome {
        Ok(Ok(result)) => {
            record(&app, &result);
            info!(
                id = %id,
                language = %language,
                problem = problem_label,
                verdict = %result.verdict,
                score = result.score,
                tests = result.tests.len(),
                time_ms = result.time_ms,
                memory_kb = result.memory_kb,
                compile_ms = result.compile.time_ms,
                queue_ms = queue_wait.as_millis() as u64,
                grade_ms = elapsed.as_millis() as u64,
                "graded"
            );
            State::Done(Arc::new(result))
        }
        Ok(Err(e)) => {
            let error = grade_error(e, problem_name.as_deref());
            let internal = error.status.is_server_error();
            app.metrics.grading_error(internal);
            let log = |msg: &str| {
                if internal {
                    error!(id = %id, language = %language, problem = problem_label, status = error.status.as_u16(), grade_ms = elapsed.as_millis() as u64, "{msg}: {}", error.message)
                } else {
                    info!(id = %id, language = %language, problem = problem_label, status = error.status.as_u16(), grade_ms = elapsed.as_millis() as u64, "{msg}: {}", error.message)
                }
            };
            log("not graded");
            State::Failed(error)
        }
        Err(e) => {
            let detail = if e.is_panic() { panic_message(e.into_panic()) } else { e.to_string() };
            app.metrics.grading_error(true);
            error!(id = %id, language = %language, problem = problem_label, grade_ms = elapsed.as_millis() as u64, "grading panicked: {detail}");
            State::Failed(ApiError::internal(format!(
                "internal error: the grader failed ({detail}); this is the judge's fault"
            )))
        }
    };
    app.store.finish(&id, state.clone());
    if let Some(waiter) = waiter {
        let _ = waiter.send(state);
    }
}

fn record(app: &App, result: &GradeResult) {
    app.metrics.verdict(result.verdict);
    if result.compile.time_ms > 0 {
        app.metrics.compile_duration.observe(Duration::from_millis(result.compile.time_ms));
    }
    for test in &result.tests {
        app.metrics.run_duration.observe(Duration::from_millis(test.wall_ms));
    }
}

/// The caller's mistakes are 400; the engine's internal errors and a problem
/// package of the server's own that cannot be graded are the judge's (500).
fn grade_error(error: GradeError, problem_name: Option<&str>) -> ApiError {
    match (&error, problem_name) {
        (GradeError::Problem(_), Some(name)) => {
            warn!(problem = name, "problem package cannot be graded: {error}");
            ApiError::internal(format!("problem {name:?} cannot be graded here: {error}"))
        }
        (GradeError::Internal(_), _) => {
            ApiError::internal(format!("internal error: {error}; this is the judge's fault"))
        }
        (GradeError::UnknownLanguage(..) | GradeError::Unavailable(..) | GradeError::Problem(_), _) => {
            ApiError::bad_request(error.to_string())
        }
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
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use engine::grade::CompileInfo;
    use engine::Verdict;

    fn job(app: &App, id: &str, problem_name: Option<&str>, wait: bool) -> (Job, Option<oneshot::Receiver<State>>) {
        let (waiter, receiver) = if wait {
            let (s, r) = oneshot::channel();
            (Some(s), Some(r))
        } else {
            (None, None)
        };
        app.store.insert(id, "c");
        let problem =
            Problem::inline("t", vec![("1".into(), b"1\n".to_vec(), b"1\n".to_vec())], 1.0, 64, 64, vec![]).unwrap();
        let job = Job {
            id: id.to_string(),
            language: "c".into(),
            problem_name: problem_name.map(str::to_string),
            problem: Arc::new(problem),
            submission: Submission { language: "c".into(), source: b"int main(){}".to_vec() },
            options: GradeOptions::default(),
            enqueued: Instant::now(),
            waiter,
        };
        (job, receiver)
    }

    fn accepted() -> GradeResult {
        GradeResult {
            language: "c".into(),
            verdict: Verdict::AC,
            score: 1.0,
            time_ms: 1,
            memory_kb: 1,
            compile: CompileInfo { ok: true, output: String::new(), time_ms: 5 },
            tests: vec![],
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_grader_is_a_500_not_a_crash() {
        let app = App::for_tests(1, 4, Box::new(|_, _, _, _| panic!("boom in the grader")));
        let workers = start_workers(&app);
        let (first, first_outcome) = job(&app, "a", None, true);
        app.queue.submit(&app, first).unwrap();
        let State::Failed(error) = first_outcome.unwrap().await.unwrap() else { panic!("expected a failure") };
        assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(error.message.contains("boom in the grader"), "{}", error.message);
        assert!(matches!(app.store.get("a").unwrap().state, State::Failed(_)));
        // The worker survived and takes the next job.
        let (second, second_outcome) = job(&app, "b", None, true);
        app.queue.submit(&app, second).unwrap();
        assert!(matches!(second_outcome.unwrap().await.unwrap(), State::Failed(_)));
        assert_eq!(app.metrics.sandbox_failures.load(Relaxed), 2);
        assert_eq!(app.metrics.busy_workers.load(Relaxed), 0);
        app.queue.close();
        for w in workers {
            w.await.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grading_errors_are_the_callers_unless_the_package_is_ours() {
        let app = App::for_tests(
            1,
            4,
            Box::new(|_, submission, _, _| match submission.language.as_str() {
                _ if submission.source.starts_with(b"pkg") => {
                    Err(GradeError::Problem("validator does not build".into()))
                }
                _ => Err(GradeError::UnknownLanguage("cobol".into(), "c".into())),
            }),
        );
        let _workers = start_workers(&app);
        let (inline, outcome) = job(&app, "inline", None, true);
        app.queue.submit(&app, inline).unwrap();
        let State::Failed(error) = outcome.unwrap().await.unwrap() else { panic!() };
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        let (mut named, outcome) = job(&app, "named", Some("sum"), true);
        named.submission.source = b"pkg".to_vec();
        app.queue.submit(&app, named).unwrap();
        let State::Failed(error) = outcome.unwrap().await.unwrap() else { panic!() };
        assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(error.message.contains("sum"), "{}", error.message);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_with_retry_after() {
        let app = App::for_tests(
            1,
            1,
            Box::new(|_, _, _, _| {
                std::thread::sleep(Duration::from_millis(300));
                Ok(accepted())
            }),
        );
        let _workers = start_workers(&app);
        let mut refused = None;
        for i in 0..3 {
            let (j, _) = job(&app, &format!("j{i}"), None, false);
            if let Err(e) = app.queue.submit(&app, j) {
                refused = Some(e);
                break;
            }
        }
        let refused = refused.expect("one worker and a queue of one cannot take three jobs at once");
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(refused.retry_after.is_some_and(|s| (1..=60).contains(&s)));
        assert!(refused.message.contains("queue is full"), "{}", refused.message);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn draining_drops_queued_async_jobs_but_runs_waited_ones() {
        let app = App::for_tests(
            1,
            4,
            Box::new(|_, _, _, _| {
                std::thread::sleep(Duration::from_millis(200));
                Ok(accepted())
            }),
        );
        let workers = start_workers(&app);
        let (running, running_outcome) = job(&app, "running", None, true);
        app.queue.submit(&app, running).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (queued_async, _) = job(&app, "async", None, false);
        app.queue.submit(&app, queued_async).unwrap();
        let (queued_sync, sync_outcome) = job(&app, "sync", None, true);
        app.queue.submit(&app, queued_sync).unwrap();
        app.queue.start_draining();
        let (late, _) = job(&app, "late", None, false);
        assert_eq!(app.queue.submit(&app, late).unwrap_err().status, StatusCode::SERVICE_UNAVAILABLE);
        app.queue.close();
        for w in workers {
            w.await.unwrap();
        }
        assert!(matches!(running_outcome.unwrap().await.unwrap(), State::Done(_)));
        assert!(matches!(sync_outcome.unwrap().await.unwrap(), State::Done(_)));
        assert!(matches!(app.store.get("async").unwrap().state, State::Failed(_)));
        assert_eq!(app.metrics.queue_depth.load(Relaxed), 0);
    }
}
