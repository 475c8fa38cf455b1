//! The Judge0 routes' handlers. Errors are Judge0's: 422 `{field: [..]}`
//! for a bad submission, `{"error": "…"}` otherwise.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::model::{status_json, Job, STATUSES};
use super::request::{parse, Invalid};
use super::view::{parse_fields, select};
use super::{view_of, Settings, VERSION};
use crate::server::error::ApiError;
use crate::server::job::{JobSpec, LanguageId, ProblemSpec};
use crate::server::{outcome, queue, App, Health};
use crate::store::{now_ms, State as Stored};

type Params = Query<HashMap<String, String>>;

/// A waiting `wait=true` request looks at the store this often even without a wake-up.
const WAIT_POLL: Duration = Duration::from_millis(1000);

fn flag(params: &HashMap<String, String>, name: &str) -> bool {
    params.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn invalid(fields: Invalid) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, Json(json!(fields))).into_response()
}

/// The body as JSON, or the error answer's status and message.
fn json_body(app: &App, body: Result<Bytes, BytesRejection>) -> Result<Value, (StatusCode, String)> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            let limit = app.config.max_body_bytes;
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is over the limit of {limit} bytes (--max-body-mib)"),
            )
        } else {
            (rejection.status(), format!("cannot read the request body: {}", rejection.body_text()))
        }
    })?;
    serde_json::from_slice(&body).map_err(|e| (StatusCode::BAD_REQUEST, format!("the body is not valid JSON: {e}")))
}

/// A submitting request's body as JSON; refused with the answer when
/// nothing can be run here (the sandbox self-check failed) or the body is
/// not JSON.
pub struct Submitted(Value);

impl FromRequest<Arc<App>> for Submitted {
    type Rejection = Response;

    async fn from_request(request: Request, app: &Arc<App>) -> Result<Submitted, Response> {
        if let Health::Failed(reason) = app.health() {
            let message = format!("the sandbox self-check failed, so nothing can be run: {reason}");
            return Err(ApiError::unavailable(message, None).into_response());
        }
        let body = Bytes::from_request(request, app).await;
        json_body(app, body).map(Submitted).map_err(|(status, message)| error(status, message))
    }
}

/// Stores a checked job; its token.
async fn store(app: &App, job: Job, token: String) -> Result<String, ApiError> {
    let callback_url = job.callback_url.clone();
    let spec = JobSpec {
        language: LanguageId::checked(job.language.clone()),
        source: String::from_utf8_lossy(&job.source_code).into_owned(),
        problem: ProblemSpec::Judge0(Box::new(job)),
        run_all: false,
    };
    queue::accept(app, token, &spec, None, callback_url).await.map(|(id, _)| id)
}

fn new_token() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

pub async fn create(State(app): State<Arc<App>>, Query(params): Params, Submitted(value): Submitted) -> Response {
    let fields = match parse_fields(params.get("fields").map(String::as_str)) {
        Ok(fields) => fields,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let settings = Settings::of(&app).await;
    let base64 = flag(&params, "base64_encoded");
    let job = match parse(&app, &settings, &value, base64, now_ms()) {
        Ok(job) => job,
        Err(fields) => return invalid(fields),
    };
    let token = new_token();
    let wait = flag(&params, "wait");
    // Registered before storing, so a result that comes at once is not missed.
    let registration = app.waiters.register(&token);
    if let Err(e) = store(&app, job, token.clone()).await {
        return e.into_response();
    }
    if !wait {
        return (StatusCode::CREATED, Json(json!({ "token": token }))).into_response();
    }
    let mut draining = app.draining.subscribe();
    loop {
        let woken = registration.notify.notified();
        match app.store.get(&token, outcome::kept_since(&app)).await {
            Ok(Some(record)) if matches!(record.state, Stored::Done(_)) => {
                return match view_of(&app, &record, &settings).await.map(|f| f.map(|f| select(&f, &fields, base64))) {
                    Ok(Some(Ok(body))) => (StatusCode::CREATED, Json(body)).into_response(),
                    Ok(Some(Err(message))) => error(StatusCode::BAD_REQUEST, message),
                    Ok(None) => error(StatusCode::INTERNAL_SERVER_ERROR, "the stored result is not a Judge0 one"),
                    Err(e) => queue::store_unavailable(e).into_response(),
                };
            }
            Ok(_) if app.is_draining() && !app.is_running_here(&token) => {
                // Stored: it runs after a restart or on another node.
                return (StatusCode::CREATED, Json(json!({ "token": token }))).into_response();
            }
            Ok(_) => {}
            Err(e) => return queue::store_unavailable(e).into_response(),
        }
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep(WAIT_POLL) => {}
            _ = draining.changed() => {}
        }
    }
}

pub async fn create_batch(State(app): State<Arc<App>>, Query(params): Params, Submitted(value): Submitted) -> Response {
    let settings = Settings::of(&app).await;
    let Some(items) = value.get("submissions").and_then(Value::as_array) else {
        return error(StatusCode::BAD_REQUEST, "the body must be {\"submissions\": [...]}");
    };
    let max = settings.max_submission_batch_size;
    if items.is_empty() || items.len() > max {
        return error(
            StatusCode::BAD_REQUEST,
            format!("number of submissions in a batch must be between 1 and {max}, got {}", items.len()),
        );
    }
    let base64 = flag(&params, "base64_encoded");
    let mut answers = Vec::with_capacity(items.len());
    for item in items {
        let answer = match parse(&app, &settings, item, base64, now_ms()) {
            Ok(job) => match store(&app, job, new_token()).await {
                Ok(token) => json!({ "token": token }),
                Err(e) => json!({ "error": e.message }),
            },
            Err(fields) => json!(fields),
        };
        answers.push(answer);
    }
    (StatusCode::CREATED, Json(Value::Array(answers))).into_response()
}

pub async fn get_one(State(app): State<Arc<App>>, Path(token): Path<String>, Query(params): Params) -> Response {
    let fields = match parse_fields(params.get("fields").map(String::as_str)) {
        Ok(fields) => fields,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let settings = Settings::of(&app).await;
    match lookup(&app, &settings, &token).await {
        Ok(Some(found)) => match select(&found, &fields, flag(&params, "base64_encoded")) {
            Ok(body) => Json(body).into_response(),
            Err(message) => error(StatusCode::BAD_REQUEST, message),
        },
        Ok(None) => not_found(&app, &token),
        Err(response) => response,
    }
}

fn not_found(app: &App, token: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no Judge0 submission with token {token:?}: unknown, or its result expired (kept {} s)",
            app.config.retention.as_secs()
        ),
    )
}

async fn lookup(app: &App, settings: &Settings, token: &str) -> Result<Option<Map<String, Value>>, Response> {
    let found = match app.store.get(token, outcome::kept_since(app)).await {
        Ok(Some(record)) => view_of(app, &record, settings).await,
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    found.map_err(|e| queue::store_unavailable(e).into_response())
}

pub async fn get_batch(State(app): State<Arc<App>>, Query(params): Params) -> Response {
    let fields = match parse_fields(params.get("fields").map(String::as_str)) {
        Ok(fields) => fields,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let settings = Settings::of(&app).await;
    let tokens: Vec<&str> = params
        .get("tokens")
        .map(|t| t.split(',').map(str::trim).filter(|t| !t.is_empty()).collect())
        .unwrap_or_default();
    let max = settings.max_submission_batch_size;
    if tokens.is_empty() || tokens.len() > max {
        return error(StatusCode::BAD_REQUEST, format!("give 1 to {max} comma-separated tokens in ?tokens="));
    }
    let base64 = flag(&params, "base64_encoded");
    let mut submissions = Vec::with_capacity(tokens.len());
    for token in tokens {
        let found = match lookup(&app, &settings, token).await {
            Ok(found) => found,
            Err(response) => return response,
        };
        submissions.push(match found.map(|f| select(&f, &fields, base64)) {
            Some(Ok(body)) => body,
            Some(Err(message)) => return error(StatusCode::BAD_REQUEST, message),
            None => Value::Null,
        });
    }
    Json(json!({ "submissions": submissions })).into_response()
}

/// Judge0 deletes only when its `enable_submission_delete` is on; it is off
/// here (results expire after `--retention-secs` instead).
pub async fn delete(Path(_token): Path<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "delete not allowed")
}

pub async fn languages(State(app): State<Arc<App>>) -> Response {
    let catalog = app.judge0.catalog().await;
    Json(catalog.entries.iter().map(|e| e.summary()).collect::<Vec<_>>()).into_response()
}

pub async fn language(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let catalog = app.judge0.catalog().await;
    match id.parse::<u32>().ok().and_then(|id| catalog.get(id)) {
        Some(entry) => Json(entry.detail()).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no language with id {id:?}; see GET /judge0/languages")),
    }
}

pub async fn statuses() -> Response {
    Json(STATUSES.iter().map(|(id, _)| status_json(*id)).collect::<Vec<_>>()).into_response()
}

pub async fn about() -> Response {
    Json(json!({
        "version": VERSION,
        "homepage": "",
        "source_code": "",
        "maintainer": concat!("judge ", env!("CARGO_PKG_VERSION"), " (Judge0-compatible API)"),
    }))
    .into_response()
}

pub async fn version() -> Response {
    VERSION.into_response()
}

pub async fn config_info(State(app): State<Arc<App>>) -> Response {
    let s = Settings::of(&app).await;
    Json(json!({
        "maintenance_mode": false,
        "enable_wait_result": true,
        "enable_compiler_options": true,
        "allowed_languages_for_compile_options": s.catalog.compiler_option_languages(),
        "enable_command_line_arguments": true,
        "enable_submission_delete": false,
        "enable_callbacks": true,
        "callbacks_max_tries": callback_tries(app.config.callback_retry),
        // server/callbacks.rs: one attempt's time limit.
        "callbacks_timeout": 10.0,
        "enable_additional_files": false,
        "max_queue_size": app.config.queue,
        "cpu_time_limit": s.cpu_time_limit,
        "max_cpu_time_limit": s.max_cpu_time_limit,
        "cpu_extra_time": s.cpu_extra_time,
        "max_cpu_extra_time": s.max_cpu_extra_time,
        "wall_time_limit": s.wall_time_limit,
        "max_wall_time_limit": s.max_wall_time_limit,
        "memory_limit": s.memory_limit,
        "max_memory_limit": s.max_memory_limit,
        "stack_limit": s.stack_limit,
        "max_stack_limit": s.max_stack_limit,
        "max_processes_and_or_threads": s.max_processes_and_or_threads,
        "max_max_processes_and_or_threads": s.max_max_processes_and_or_threads,
        "enable_per_process_and_thread_time_limit": false,
        "allow_enable_per_process_and_thread_time_limit": false,
        "enable_per_process_and_thread_memory_limit": false,
        "allow_enable_per_process_and_thread_memory_limit": false,
        "max_file_size": s.max_file_size,
        "max_max_file_size": s.max_max_file_size,
        "number_of_runs": 1,
        "max_number_of_runs": s.max_number_of_runs,
        "redirect_stderr_to_stdout": false,
        "max_extract_size": 0,
        "enable_batched_submissions": true,
        "max_submission_batch_size": s.max_submission_batch_size,
        "submission_cache_duration": 0.0,
        "use_docs_as_homepage": false,
        "allow_enable_network": false,
        "enable_network": false,
    }))
    .into_response()
}

/// Deliveries a callback gets: the first, then retries 1 s, 2 s, 4 s … (up
/// to 64 s) apart for as long as `--callback-retry-secs` allows.
fn callback_tries(retry: Duration) -> u64 {
    let limit = retry.as_millis() as u64;
    let (mut elapsed, mut tries) = (0u64, 1u64);
    loop {
        let backoff = 1000u64 << (tries - 1).min(6);
        if elapsed + backoff > limit {
            return tries;
        }
        elapsed += backoff;
        tries += 1;
    }
}
