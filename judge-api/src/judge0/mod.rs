//! Judge0 CE's API (`/submissions`, `/submissions/batch`, `/languages`,
//! `/statuses`, `/about`, `/config_info`) on this judge's queue, store and
//! sandbox, so a frontend that speaks Judge0 switches by changing its base
//! URL to `http://host:port/judge0`.
//!
//! A Judge0 submission is a job like a native one (`server::job`, kind
//! `judge0`), so it waits in the same queue, is run by the same workers and
//! is kept by the same store; its result is stored under `"judge0"` in the
//! result JSON.
//!
//! - `model.rs`: statuses, the stored job and result; `request.rs`: checking a body;
//! - `languages.rs`: Judge0 ids → our languages; `execute.rs`: compile and run;
//! - `view.rs`: fields and base64 on the way out; `handlers.rs`: HTTP;
//! - `openapi.rs`: these routes in `/openapi.json`.

mod execute;
mod handlers;
pub mod languages;
pub mod model;
pub mod openapi;
mod request;
mod view;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use engine::language::Languages;
use tokio::sync::OnceCell;

use crate::server::job::{JobSpec, ProblemSpec};
use crate::server::App;
use crate::store::{Record, State, StoreError};
use languages::Catalog;

/// Judge0's `/about` version: the newest the official client knows, whose
/// language ids (its alias table) this server answers to.
pub const VERSION: &str = "1.14.0";

/// What the Judge0 handlers and workers share.
pub struct Judge0 {
    languages: Arc<Languages>,
    catalog: OnceCell<Arc<Catalog>>,
}

impl Judge0 {
    pub fn new(languages: Arc<Languages>) -> Arc<Judge0> {
        Arc::new(Judge0 { languages, catalog: OnceCell::new() })
    }

    /// The language catalogue, built on first use (version probes run once).
    pub async fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .get_or_init(|| async {
                let languages = self.languages.clone();
                let built = tokio::task::spawn_blocking(move || Catalog::build(&languages)).await;
                Arc::new(built.unwrap_or(Catalog { entries: Vec::new() }))
            })
            .await
            .clone()
    }
}

/// Judge0's configuration values (`/config_info`), with this server's
/// maxima where they are lower than Judge0's.
pub struct Settings {
    pub catalog: Arc<Catalog>,
    pub cpu_time_limit: f64,
    pub max_cpu_time_limit: f64,
    pub cpu_extra_time: f64,
    pub max_cpu_extra_time: f64,
    pub wall_time_limit: f64,
    pub max_wall_time_limit: f64,
    /// KB.
    pub memory_limit: u64,
    pub max_memory_limit: u64,
    pub stack_limit: u64,
    pub max_stack_limit: u64,
    pub max_processes_and_or_threads: u64,
    pub max_max_processes_and_or_threads: u64,
    pub max_file_size: u64,
    pub max_max_file_size: u64,
    pub max_number_of_runs: u64,
    pub max_submission_batch_size: usize,
}

impl Settings {
    pub async fn of(app: &App) -> Settings {
        let c = &app.config;
        let max_cpu = c.max_time_limit.min(15.0);
        let max_memory = (c.max_memory_mib * 1024).min(512_000);
        let max_file = (c.max_output_mib * 1024).min(4096);
        Settings {
            catalog: app.judge0.catalog().await,
            cpu_time_limit: max_cpu.min(5.0),
            max_cpu_time_limit: max_cpu,
            cpu_extra_time: 1.0,
            max_cpu_extra_time: 5.0,
            wall_time_limit: 10.0,
            max_wall_time_limit: 20.0,
            memory_limit: max_memory.min(128_000),
            max_memory_limit: max_memory,
            stack_limit: 64_000,
            max_stack_limit: 128_000,
            max_processes_and_or_threads: 60,
            max_max_processes_and_or_threads: 120,
            max_file_size: max_file.min(1024),
            max_max_file_size: max_file,
            max_number_of_runs: 20,
            max_submission_batch_size: 20,
        }
    }
}

/// Runs a stored Judge0 job (on a worker's blocking thread); the result
/// JSON the store keeps is [`result_json`] of it.
pub fn run_job(judge0: &Judge0, job: model::Job) -> model::Finished {
    match judge0.languages.get(&job.language) {
        Some(language) => execute::execute(job, language, crate::store::now_ms),
        None => {
            let mut finished = model::Finished::new(job, model::INTERNAL_ERROR);
            finished.message = Some(format!("language {} is no longer defined here", finished.job.language));
            finished.finished_ms = crate::store::now_ms();
            finished
        }
    }
}

/// `{"verdict", "judge0": Finished}`, as the store keeps a finished Judge0 job.
pub fn result_json(finished: &model::Finished) -> String {
    serde_json::json!({ "verdict": model::verdict_of(finished.status_id).as_str(), "judge0": finished }).to_string()
}

/// The Judge0 routes, nested under `/judge0`; the server's layers (token,
/// body limit, JSON errors) apply to them as to every other route.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/submissions", post(handlers::create))
        .route("/submissions/batch", post(handlers::create_batch).get(handlers::get_batch))
        .route("/submissions/{token}", get(handlers::get_one).delete(handlers::delete))
        .route("/languages", get(handlers::languages))
        .route("/languages/all", get(handlers::languages))
        .route("/languages/{id}", get(handlers::language))
        .route("/statuses", get(handlers::statuses))
        .route("/about", get(handlers::about))
        .route("/version", get(handlers::version))
        .route("/config_info", get(handlers::config_info))
}

/// `record` in Judge0's terms (`view::full`), reading its stored request
/// when the result does not carry it; `None` for a native submission.
pub async fn view_of(
    app: &App,
    record: &Record,
    settings: &Settings,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, StoreError> {
    let result_has_job = matches!(&record.state, State::Done(outcome) if outcome.status == 200);
    let job = if result_has_job { None } else { stored_job(app, &record.id).await? };
    Ok(view::full(record, job.as_ref(), settings))
}

/// The Judge0 request submission `id` was stored with; `None` for a native one.
async fn stored_job(app: &App, id: &str) -> Result<Option<model::Job>, StoreError> {
    let Some(spec) = app.store.job(id).await? else { return Ok(None) };
    Ok(match JobSpec::from_json(&spec) {
        Ok(JobSpec { problem: ProblemSpec::Judge0(job), .. }) => Some(*job),
        _ => None,
    })
}

/// A finished Judge0 submission's callback body (Judge0's default fields,
/// base64; also for one that ended without running, as status 13), or
/// `None` for a native submission.
pub async fn callback_body(app: &App, record: &Record) -> Result<Option<Vec<u8>>, StoreError> {
    let State::Done(outcome) = &record.state else { return Ok(None) };
    // Most are native results: told apart without the catalogue (`Settings`).
    let stored = serde_json::from_str::<serde_json::Value>(&outcome.body).unwrap_or_default();
    let job = match stored.get("judge0") {
        Some(_) => None,
        None => match stored_job(app, &record.id).await? {
            Some(job) => Some(job),
            None => return Ok(None),
        },
    };
    let settings = Settings::of(app).await;
    let Some(found) = view::full(record, job.as_ref(), &settings) else { return Ok(None) };
    Ok(view::select(&found, view::DEFAULT_FIELDS, true).ok().and_then(|body| serde_json::to_vec(&body).ok()))
}
