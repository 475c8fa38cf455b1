//! The router and its handlers.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use super::auth;
use super::error::ApiError;
use super::metrics;
use super::openapi;
use super::queue::{panic_message, Job};
use super::store::{Entry, State as JobState};
use super::submit;
use super::{App, Health};

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/submit", post(submit))
        .route("/submissions/{id}", get(submission))
        .route("/languages", get(languages))
        .route("/problems", get(problems))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_json))
        .nest("/go-judge", crate::gojudge::router(app.gojudge.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(app.config.max_body_bytes))
        .layer(middleware::from_fn_with_state(app.clone(), auth::require_token))
        .layer(middleware::from_fn(json_errors))
        .layer(CatchPanicLayer::custom(|payload: Box<dyn std::any::Any + Send>| {
            let detail = panic_message(payload);
            tracing::error!("request handler panicked: {detail}");
            ApiError::internal(format!("internal error: {detail}; this is the judge's fault")).into_response()
        }))
        .layer(middleware::from_fn_with_state(app.clone(), count_responses))
        .with_state(app)
}

async fn count_responses(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    app.metrics.http_status(response.status().as_u16());
    response
}

/// Turns any error answer that is not JSON yet (axum's own extractor
/// rejections, say) into `{"error": "…"}` with the same status.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) if !bytes.is_empty() => String::from_utf8_lossy(&bytes).trim().to_string(),
        _ => status.canonical_reason().unwrap_or("error").to_string(),
    };
    let mut error = ApiError::new(status, text).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            error.headers_mut().insert(name.clone(), value.clone());
        }
    }
    error
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no such endpoint: {method} {}; see GET /openapi.json", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, format!("{method} is not allowed on {}", uri.path()))
}

async fn submit(State(app): State<Arc<App>>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_error(&app, rejection).into_response(),
    };
    match submit_inner(app, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

fn body_error(app: &App, rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let limit = app.config.max_body_bytes;
        ApiError::too_large(format!(
            "the request body is over the limit of {limit} bytes ({} MiB, --max-body-mib)",
            limit >> 20
        ))
    } else if rejection.status().is_client_error() {
        ApiError::new(rejection.status(), format!("cannot read the request body: {}", rejection.body_text()))
    } else {
        ApiError::internal(format!("cannot read the request body: {}", rejection.body_text()))
    }
}

async fn submit_inner(app: Arc<App>, body: &[u8]) -> Result<Response, ApiError> {
    if let Health::Failed(reason) = app.health() {
        return Err(ApiError::unavailable(
            format!("the sandbox self-check failed, so nothing can be graded: {reason}"),
            None,
        ));
    }
    let checked = submit::parse(&app, body)?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (waiter, outcome) = if checked.wait {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        (Some(sender), Some(receiver))
    } else {
        (None, None)
    };
    let job = Job {
        id: id.clone(),
        language: checked.language.clone(),
        problem_name: checked.problem_name,
        problem: checked.problem,
        submission: checked.submission,
        options: checked.options,
        enqueued: Instant::now(),
        waiter,
    };
    app.store.insert(&id, &checked.language);
    if let Err(e) = app.queue.submit(&app, job) {
        app.store.remove(&id);
        return Err(e);
    }
    let Some(outcome) = outcome else {
        let mut response = (StatusCode::ACCEPTED, Json(json!({ "id": id, "status": "queued" }))).into_response();
        if let Ok(location) = HeaderValue::from_str(&format!("/submissions/{id}")) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        return Ok(response);
    };
    match outcome.await {
        Ok(state) => Ok(render(&id, &checked.language, &state)),
        Err(_) => Err(ApiError::internal(format!("internal error: submission {id} was lost by its worker"))),
    }
}

async fn submission(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match app.store.get(&id) {
        Some(Entry { language, state, .. }) => render(&id, &language, &state),
        None => ApiError::not_found(format!(
            "no submission {id:?}: unknown, or its result expired (results are kept {} s)",
            app.config.retention.as_secs()
        ))
        .into_response(),
    }
}

#[derive(Serialize)]
struct Finished<'a> {
    id: &'a str,
    status: &'static str,
    #[serde(flatten)]
    result: &'a engine::grade::GradeResult,
}

/// A submission as the API shows it, by state.
fn render(id: &str, language: &str, state: &JobState) -> Response {
    match state {
        JobState::Queued => Json(json!({ "id": id, "status": "queued", "language": language })).into_response(),
        JobState::Running { done, total } => Json(json!({
            "id": id, "status": "running", "language": language,
            "progress": { "done": done, "total": total }
        }))
        .into_response(),
        JobState::Done(result) => Json(Finished { id, status: "done", result }).into_response(),
        JobState::Failed(error) => error.clone().into_response_with(&[
            ("id", json!(id)),
            ("status", json!("done")),
            ("language", json!(language)),
        ]),
    }
}

async fn languages(State(app): State<Arc<App>>) -> Response {
    let list: Vec<_> = app
        .language_list
        .iter()
        .map(|l| json!({ "id": l.id, "name": l.name, "extensions": l.extensions, "available": l.available }))
        .collect();
    Json(list).into_response()
}

async fn problems(State(app): State<Arc<App>>) -> Response {
    let list: Vec<_> = app
        .problems
        .iter()
        .map(|(name, p)| {
            json!({
                "name": name,
                "tests": p.problem.tests.len(),
                "time_limit": p.time_limit,
                "memory": p.problem.memory_mib,
                "output": p.problem.output_mib,
                "interactive": p.problem.interactive,
                "scoring": p.problem.scoring,
            })
        })
        .collect();
    Json(list).into_response()
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    match app.health() {
        Health::Ok => Json(json!({
            "status": "ok",
            "workers": app.config.workers,
            "queue_depth": app.metrics.queue_depth.load(std::sync::atomic::Ordering::Relaxed),
        }))
        .into_response(),
        Health::Pending => {
            ApiError::unavailable("the sandbox self-check has not finished yet", Some(1)).into_response()
        }
        Health::Failed(reason) => {
            ApiError::unavailable(format!("the sandbox self-check failed: {reason}"), None).into_response()
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let text = app.metrics.render(app.store.len());
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}

async fn openapi_json(State(app): State<Arc<App>>) -> Response {
    Json(openapi::document(&app.config)).into_response()
}
