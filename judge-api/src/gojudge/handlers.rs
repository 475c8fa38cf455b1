//! The HTTP handlers of the go-judge API: `/run`, `/file`, `/version`, `/config`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::convert::{self, DEFAULT_OUTPUT, MAX_CMDS, MAX_OUTPUT};
use super::error::{bad, GoJudgeError};
use super::model::RunRequest;
use super::{multipart, run, GoJudge, MAX_WAITING};

pub async fn run(State(service): State<Arc<GoJudge>>, body: Result<Bytes, BytesRejection>) -> Response {
    match run_inner(service, body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn run_inner(service: Arc<GoJudge>, body: Result<Bytes, BytesRejection>) -> Result<Response, GoJudgeError> {
    let body = body.map_err(body_error)?;
    let request: RunRequest = parse(&body)?;
    let plan = convert::plan(request)?;
    // Commands of one request run at once (a pipe's ends must), so a request
    // takes as many permits as it has commands, up to all of them.
    let wanted = plan.cmds.len().min(service.parallel_runs) as u32;
    let permits = {
        let _waiting = Waiting::enter(&service.waiting)?;
        service
            .runs
            .clone()
            .acquire_many_owned(wanted)
            .await
            .map_err(|e| GoJudgeError::Internal(format!("run permits: {e}")))?
    };
    let worker = service.clone();
    let results = tokio::task::spawn_blocking(move || {
        let _permits = permits;
        run::execute(plan, &worker.cache)
    })
    .await
    .map_err(|e| GoJudgeError::Internal(format!("internal error: the run failed: {e}; this is the judge's fault")))?;
    Ok(Json(results).into_response())
}

/// A place among the requests waiting for a sandbox, given back on drop
/// (also when the client goes away while waiting).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(counter: &'a AtomicUsize) -> Result<Waiting<'a>, GoJudgeError> {
        if counter.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
            counter.fetch_sub(1, Ordering::SeqCst);
            return Err(GoJudgeError::Busy(
                format!("{MAX_WAITING} go-judge runs are already waiting for a sandbox; retry later"),
                1,
            ));
        }
        Ok(Waiting(counter))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The request, or a 400 naming the field that did not fit (`cmd[0].cpuLimit: …`).
fn parse(body: &[u8]) -> Result<RunRequest, GoJudgeError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let what = "the body is not a go-judge run request ({\"cmd\": [...]})";
    let request = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." { String::new() } else { format!("{path}: ") };
        bad(format!("{what}: {at}{}", e.inner()))
    })?;
    deserializer.end().map_err(|e| bad(format!("{what}: {e}")))?;
    Ok(request)
}

fn body_error(rejection: BytesRejection) -> GoJudgeError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        GoJudgeError::TooLarge(format!(
            "the request body is over the server's limit (--max-body-mib): {}",
            rejection.body_text()
        ))
    } else {
        bad(format!("cannot read the request body: {}", rejection.body_text()))
    }
}

/// `GET /file`: id → name of every cached file.
pub async fn list_files(State(service): State<Arc<GoJudge>>) -> Response {
    Json(service.cache.list()).into_response()
}

/// `POST /file`: a multipart form with field `file`; answers its id as a JSON string.
pub async fn upload_file(
    State(service): State<Arc<GoJudge>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let upload = || -> Result<String, GoJudgeError> {
        let body = body.map_err(body_error)?;
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let (name, data) = multipart::file_field(content_type, &body, "file").map_err(|e| bad(e.to_string()))?;
        service.cache.insert(&name, data).map_err(|e| GoJudgeError::TooLarge(e.to_string()))
    };
    match upload() {
        Ok(id) => Json(id).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `GET /file/{id}`: the bytes.
pub async fn download_file(State(service): State<Arc<GoJudge>>, Path(id): Path<String>) -> Response {
    let Some((name, data)) = service.cache.get(&id) else {
        return not_found(&id).into_response();
    };
    let mut response = (StatusCode::OK, data.as_ref().clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    let safe: String = name.chars().filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\').collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `DELETE /file/{id}`.
pub async fn delete_file(State(service): State<Arc<GoJudge>>, Path(id): Path<String>) -> Response {
    if service.cache.remove(&id) {
        Json(serde_json::Value::Null).into_response()
    } else {
        not_found(&id).into_response()
    }
}

fn not_found(id: &str) -> GoJudgeError {
    GoJudgeError::NotFound(format!("no cached file {id:?}: unknown, deleted, expired or evicted"))
}

/// What this server can do, in go-judge's `/version` shape.
pub async fn version() -> Response {
    Json(json!({
        "buildVersion": format!("judge {}", env!("CARGO_PKG_VERSION")),
        "goVersion": "none (the judge is written in Rust)",
        "platform": std::env::consts::ARCH,
        "os": std::env::consts::OS,
        "copyOutOptional": true,
        "pipeProxy": true,
        "symlink": true,
        "fileStorePath": "",
    }))
    .into_response()
}

/// The settings that shape runs, in go-judge's `/config` shape.
pub async fn config(State(service): State<Arc<GoJudge>>) -> Response {
    Json(json!({
        "copyOutOptional": true,
        "pipeProxy": true,
        "symlink": true,
        "fileStorePath": "",
        "runnerConfig": {
            "timeLimitCheckerInterval": 2_000_000,
            "outputLimit": DEFAULT_OUTPUT,
            "copyOutLimit": MAX_OUTPUT,
            "openFileLimit": 256,
            "extraMemoryLimit": 0,
            "cpuset": "",
            "enableCpuRate": false,
            "maxCmds": MAX_CMDS,
            "parallelRuns": service.parallel_runs,
            "maxWaitingRuns": MAX_WAITING,
            "fileCacheBytes": service.cache.capacity(),
            "fileCacheUsedBytes": service.cache.used_bytes(),
            "fileTtlSeconds": service.file_ttl.as_secs(),
        },
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_runs_are_bounded() {
        let counter = AtomicUsize::new(0);
        let mut places: Vec<_> = (0..MAX_WAITING).map(|_| Waiting::enter(&counter).unwrap()).collect();
        let refused = Waiting::enter(&counter).err().expect("one too many");
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        places.pop();
        assert!(Waiting::enter(&counter).is_ok());
        drop(places);
        assert_eq!(counter.load(Ordering::SeqCst), 0);
    }
}
