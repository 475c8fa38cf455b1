//! A stored submission as the API shows it, and waiting for one to finish.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::sync::futures::Notified;

use super::error::ApiError;
use super::queue::STORE_RETRY_AFTER;
use super::waiters::Registration;
use super::App;
use crate::store::{now_ms, Record, State};

/// Waiters look at the store this often even without a wake-up.
const WAIT_POLL: Duration = Duration::from_millis(1000);
/// A waiter gives up (503, the id kept) after the store failed this long.
const WAIT_STORE_OUTAGE: Duration = Duration::from_secs(30);

pub fn not_found(app: &App, id: &str) -> ApiError {
    ApiError::not_found(format!(
        "no submission {id:?}: unknown, or its result expired (results are kept {} s)",
        app.config.retention.as_secs()
    ))
}

/// The earliest finishing time of a result still kept.
pub fn kept_since(app: &App) -> i64 {
    now_ms() - app.config.retention.as_millis() as i64
}

/// `202 {"id", "status": "queued"}` with a Location to poll.
pub fn accepted(id: &str) -> Response {
    let mut response = (StatusCode::ACCEPTED, Json(json!({ "id": id, "status": "queued" }))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/submissions/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

pub fn render(record: &Record) -> Response {
    let Record { id, language, state, .. } = record;
    match state {
        State::Queued => Json(json!({ "id": id, "status": "queued", "language": language })).into_response(),
        State::Running { done, total } => Json(json!({
            "id": id, "status": "running", "language": language,
            "progress": { "done": done, "total": total }
        }))
        .into_response(),
        State::Done(outcome) if outcome.status == 200 && outcome.body.starts_with('{') => {
            // The stored result object, with id and status first.
            let rest = &outcome.body[1..];
            let comma = if rest.trim_start().starts_with('}') { "" } else { "," };
            let body = format!("{{\"id\":{},\"status\":\"done\"{comma}{rest}", json!(id));
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        State::Done(outcome) => {
            let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut body: serde_json::Value =
                serde_json::from_str(&outcome.body).unwrap_or_else(|_| json!({ "error": outcome.body }));
            body["id"] = json!(id);
            body["status"] = json!("done");
            body["language"] = json!(language);
            (status, Json(body)).into_response()
        }
    }
}

/// A rendered answer's body, as bytes (for callbacks).
pub async fn body_bytes(response: Response) -> Vec<u8> {
    axum::body::to_bytes(response.into_body(), usize::MAX).await.map(|b| b.to_vec()).unwrap_or_default()
}

/// Waits until submission `id` is done and answers with it. While the node
/// shuts down, a job not running here is answered 202 (it stays stored and
/// is graded after a restart or by another node).
pub async fn wait_for(app: &App, id: &str) -> Response {
    let registration = app.waiters.register(id);
    wait_registered(app, id, &registration, None).await
}

/// `wait_for` with the waiter registered by the caller. `just_stored` is a
/// wake-up made before the submission was stored: there is nothing to read
/// until it fires (or the poll comes round), which saves a read per request.
pub async fn wait_registered(
    app: &App,
    id: &str,
    registration: &Registration<'_>,
    just_stored: Option<Notified<'_>>,
) -> Response {
    let mut draining = app.draining.subscribe();
    if let Some(woken) = just_stored {
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep(WAIT_POLL) => {}
            _ = draining.changed() => {}
        }
    }
    let mut outage_since: Option<std::time::Instant> = None;
    loop {
        let woken = registration.notify.notified();
        match app.store.get(id, kept_since(app)).await {
            Ok(Some(record)) => {
                outage_since = None;
                if matches!(record.state, State::Done(_)) {
                    return render(&record);
                }
                if app.is_draining() && !app.is_running_here(id) {
                    return accepted(id);
                }
            }
            Ok(None) => return not_found(app, id).into_response(),
            Err(e) => {
                let since = *outage_since.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() >= WAIT_STORE_OUTAGE {
                    return store_unavailable_for(id, e);
                }
            }
        }
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep(WAIT_POLL) => {}
            _ = draining.changed() => {}
        }
    }
}

/// The store failed while a stored submission was awaited: 503, with the
/// id to poll later (the submission itself is safe).
fn store_unavailable_for(id: &str, error: crate::store::StoreError) -> Response {
    ApiError::unavailable(
        format!("{error}; submission {id} is stored: poll GET /submissions/{id}"),
        Some(STORE_RETRY_AFTER),
    )
    .into_response_with(&[("id", json!(id))])
}
