//! A `judge serve` for the Judge0 API tests: the real binary on an
//! ephemeral loopback port, inside `unshare --pid --fork --kill-child
//! --mount-proc` with a private tmpfs for its work dirs (common/serve.rs);
//! killed when dropped.

#![allow(dead_code)]

#[path = "../common/serve.rs"]
pub mod serve;

use reqwest::StatusCode;
use serde_json::Value;

use serve::{echo_all, with_own_data_dir, Serve};

pub struct Server {
    pub serve: Serve,
    /// The store's directory, unless the test gave its own `--data-dir`.
    pub data: Option<tempfile::TempDir>,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    pub client: reqwest::Client,
    /// Sent as `X-Auth-Token` when set.
    pub token: Option<String>,
}

impl Server {
    /// Starts `judge serve` with `args` (and a fresh `--data-dir` unless
    /// they give one) and waits until /healthz says 200.
    pub async fn start(args: &[&str]) -> Server {
        let (args, data) = with_own_data_dir(args);
        let serve = Serve::spawn("server", &[], &args, echo_all);
        let server = Server { origin: serve.origin(), serve, data, client: reqwest::Client::new(), token: None };
        server.serve.wait_healthy(&server.client).await;
        server
    }

    /// The Judge0 base URL a client is given.
    pub fn base(&self) -> String {
        format!("{}/judge0", self.origin)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    fn with_token(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.header("x-auth-token", token),
            None => request,
        }
    }

    /// `POST path` with a JSON body; the status and the parsed answer.
    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self.with_token(self.client.post(self.url(path)).json(body)).send().await.expect("POST");
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} answered non-JSON ({e}): {text}")))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self.with_token(self.client.get(self.url(path))).send().await.expect("GET");
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} answered non-JSON ({e}): {text}")))
    }

    /// The server's `/metrics` text (outside `/judge0`).
    pub async fn metrics(&self) -> String {
        let response = self.client.get(format!("{}/metrics", self.origin)).send().await.expect("GET /metrics");
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }

    /// Submits with `wait=true`, all fields; the finished submission.
    pub async fn run(&self, body: &Value, base64: bool) -> Value {
        let (status, json) = self.post(&format!("/submissions?wait=true&fields=*&base64_encoded={base64}"), body).await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        json
    }
}

/// Asserts an error answer: the status, JSON `{"error": …}` containing `needle`.
pub fn assert_error(status: StatusCode, json: &Value, expected: StatusCode, needle: &str) {
    assert_eq!(status, expected, "{json}");
    let message = json["error"].as_str().unwrap_or_else(|| panic!("no \"error\" in {json}"));
    assert!(message.contains(needle), "error {message:?} does not mention {needle:?}");
}
