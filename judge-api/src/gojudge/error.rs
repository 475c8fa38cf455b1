//! Errors of the go-judge API, answered as `{"error": "…"}` with a 4xx for
//! the caller's mistakes and a 5xx for the judge's.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum GoJudgeError {
    /// A field with a bad value; the message names it.
    #[error("{0}")]
    BadRequest(String),
    /// Something go-judge has that this judge deliberately does not do.
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    TooLarge(String),
    /// Too many runs waiting; retry after the given seconds.
    #[error("{0}")]
    Busy(String, u64),
    #[error("{0}")]
    Internal(String),
}

impl GoJudgeError {
    pub fn status(&self) -> StatusCode {
        match self {
            GoJudgeError::BadRequest(_) | GoJudgeError::Unsupported(_) => StatusCode::BAD_REQUEST,
            GoJudgeError::NotFound(_) => StatusCode::NOT_FOUND,
            GoJudgeError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            GoJudgeError::Busy(..) => StatusCode::SERVICE_UNAVAILABLE,
            GoJudgeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for GoJudgeError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(json!({ "error": self.to_string() }))).into_response();
        if let GoJudgeError::Busy(_, seconds) = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Shorthand for a 400 naming the field.
pub fn bad(message: impl Into<String>) -> GoJudgeError {
    GoJudgeError::BadRequest(message.into())
}
