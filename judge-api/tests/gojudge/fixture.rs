//! A `judge serve` for the go-judge API tests: the real binary on an
//! ephemeral loopback port, inside `unshare --pid --fork --kill-child
//! --mount-proc` (nothing it runs can reach the host's processes) with a
//! private tmpfs for its work dirs; killed when dropped.

#![allow(dead_code)]

#[path = "../common/serve.rs"]
mod serve;

use serde_json::Value;

use serve::{echo_all, with_own_data_dir, Serve};

pub struct Server {
    serve: Serve,
    /// The store's directory, unless the test gave its own `--data-dir`.
    _data: Option<tempfile::TempDir>,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    pub client: reqwest::Client,
}

impl Server {
    /// Starts `judge serve` with `args` and waits until /healthz says 200.
    pub async fn start(args: &[&str]) -> Server {
        let (args, data) = with_own_data_dir(args);
        let serve = Serve::spawn("server", &[], &args, echo_all);
        let server = Server { origin: serve.origin(), serve, _data: data, client: reqwest::Client::new() };
        server.serve.wait_healthy(&server.client).await;
        server
    }

    /// The go-judge base URL a client is given.
    pub fn base(&self) -> String {
        format!("{}/go-judge", self.origin)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// `POST /run`; the status and the parsed JSON answer.
    pub async fn run(&self, body: &Value) -> (reqwest::StatusCode, Value) {
        let response = self.client.post(self.url("/run")).json(body).send().await.expect("POST /run");
        let status = response.status();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("/run answered non-JSON ({e}): {text}"));
        (status, json)
    }

    /// `POST /run` that must succeed; the results array.
    pub async fn run_ok(&self, body: &Value) -> Vec<Value> {
        let (status, json) = self.run(body).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{json}");
        json.as_array().unwrap_or_else(|| panic!("/run answered no array: {json}")).clone()
    }

    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, Value) {
        let response = self.client.get(self.url(path)).send().await.expect("GET");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Asserts an error answer: the status, JSON `{"error": …}` containing `needle`.
pub fn assert_error(status: reqwest::StatusCode, json: &Value, expected: reqwest::StatusCode, needle: &str) {
    assert_eq!(status, expected, "{json}");
    let message = json["error"].as_str().unwrap_or_else(|| panic!("no \"error\" in {json}"));
    assert!(message.contains(needle), "error {message:?} does not mention {needle:?}");
}
