//! `--token T`: every path but `/healthz` needs `Authorization: Bearer T`
//! (under `/judge0`, Judge0's `X-Auth-Token: T` does too).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::App;

pub async fn require_token(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if let Some(token) = &app.token {
        let judge0_header = request.headers().get("x-auth-token").and_then(|v| v.to_str().ok());
        let judge0_ok = request.uri().path().starts_with("/judge0/")
            && judge0_header.is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()));
        if request.uri().path() != "/healthz" && !judge0_ok {
            let given = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            if let Err(message) = check(given, token) {
                return ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
            }
        }
    }
    next.run(request).await
}

fn check(header: Option<&str>, token: &str) -> Result<(), &'static str> {
    let Some(header) = header else {
        return Err("missing Authorization header; this server needs \"Authorization: Bearer <token>\"");
    };
    let (scheme, given) = header.trim().split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("the Authorization header must be \"Bearer <token>\"");
    }
    if !constant_time_eq(given.trim().as_bytes(), token.as_bytes()) {
        return Err("wrong token");
    }
    Ok(())
}

/// Compares without an early exit, so timing tells nothing about the token.
/// Hand-written: eight lines, where a crate (`subtle`) would add a dependency for one call.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() != b.len()) as u8;
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        assert!(check(Some("Bearer s3cret"), "s3cret").is_ok());
        assert!(check(Some("bearer   s3cret "), "s3cret").is_ok());
        assert_eq!(check(Some("Bearer s3cre"), "s3cret"), Err("wrong token"));
        assert_eq!(check(Some("Bearer s3cretX"), "s3cret"), Err("wrong token"));
        assert!(check(Some("Basic s3cret"), "s3cret").is_err());
        assert!(check(Some("s3cret"), "s3cret").is_err());
        assert!(check(None, "s3cret").is_err());
    }
}
