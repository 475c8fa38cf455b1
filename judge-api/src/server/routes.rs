//! The router and its handlers.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use super::auth;
use super::error::ApiError;
use super::metrics;
use super::openapi;
use super::queue::{self, panic_message};
use super::{outcome, problems, submit};
use super::{App, Health};

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/submit", post(submit))
        .route("/submissions/{id}", get(submission))
        .route("/languages", get(languages))
        .route("/problems", get(problems::list))
        .route(
            "/problems/{name}",
            get(problems::get)
                .delete(problems::delete)
                .put(problems::put)
                .layer(DefaultBodyLimit::max(app.config.max_package_bytes as usize)),
        )
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_json))
        .nest("/go-judge", crate::gojudge::router(app.gojudge.clone()))
        .nest("/judge0", crate::judge0::router())
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
    let mut response = next.run(request).await;
    let status = response.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // The body was refused unread, so this connection cannot carry another request:
        // say so, or a client's next request on it fails half-way.
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    }
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

async fn submit(State(app): State<Arc<App>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_error(&app, rejection).into_response(),
    };
    match submit_inner(app, &headers, &body).await {
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

/// Longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

async fn submit_inner(app: Arc<App>, headers: &HeaderMap, body: &[u8]) -> Result<Response, ApiError> {
    if let Health::Failed(reason) = app.health() {
        return Err(ApiError::unavailable(
            format!("the sandbox self-check failed, so nothing can be graded: {reason}"),
            None,
        ));
    }
    let key = idempotency_key(headers)?;
    let checked = submit::parse(&app, body).await?;
    let new_id = queue::new_id();
    // Registered before storing, so a result that comes at once is not missed.
    let registration = app.waiters.register(&new_id);
    let just_stored = registration.notify.notified();
    let (id, replayed) = queue::accept(&app, new_id.clone(), &checked.spec, key, checked.callback_url).await?;
    let mut response = match (checked.wait, replayed) {
        (false, _) => outcome::accepted(&id),
        (true, false) => outcome::wait_registered(&app, &id, &registration, Some(just_stored)).await,
        (true, true) => outcome::wait_for(&app, &id).await,
    };
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The `Idempotency-Key` header: printable ASCII, at most 255 bytes.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    match value.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY && key.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(key.to_string()))
        }
        _ => Err(ApiError::bad_request(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters without spaces"
        ))),
    }
}

async fn submission(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match app.store.get(&id, outcome::kept_since(&app)).await {
        Ok(Some(record)) => outcome::render(&record),
        Ok(None) => outcome::not_found(&app, &id).into_response(),
        Err(e) => queue::store_unavailable(e).into_response(),
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

/// The cluster's queue depth from the store, kept in the gauge.
async fn refresh_queue_depth(app: &App) -> Result<u64, crate::store::StoreError> {
    let depth = app.store.queue_depth().await?;
    app.metrics.queue_depth.store(depth as i64, Relaxed);
    Ok(depth)
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    let depth = match refresh_queue_depth(&app).await {
        Ok(depth) => depth,
        Err(e) => return ApiError::unavailable(e.to_string(), Some(queue::STORE_RETRY_AFTER)).into_response(),
    };
    match app.health() {
        Health::Ok => Json(json!({
            "status": "ok",
            "node": app.node,
            "workers": app.config.workers,
            "workers_busy": app.metrics.busy_workers.load(Relaxed),
            "queue_depth": depth,
        }))
        .into_response(),
        Health::Pending => {
            ApiError::unavailable("the sandbox self-check has not finished yet", Some(1)).into_response()
        }
        Health::Failed(reason) => {
            ApiError::unavailable(format!("the sandbox self-check failed: {reason}"), None).into_response()
        }
        Health::Failing(reason) => {
            ApiError::unavailable(format!("sandboxes could not be started in the last grading: {reason}"), None)
                .into_response()
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    // A store that does not answer leaves the last depth seen.
    let _ = refresh_queue_depth(&app).await;
    let stored = app.store.stored().await.unwrap_or(0);
    let text = app.metrics.render(stored as usize);
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}

async fn openapi_json(State(app): State<Arc<App>>) -> Response {
    Json(openapi::document(&app.config)).into_response()
}
