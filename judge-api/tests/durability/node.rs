//! One `judge serve` process under test, always inside `unshare --pid
//! --fork --kill-child --mount-proc` (a private PID namespace and tmpfs work
//! directory); killing it is a SIGKILL of the judge and its whole namespace.

#![allow(dead_code)] // shared by several test crates, each using a part

#[path = "../common/serve.rs"]
mod serve;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

pub use serve::Answer;
use serve::Serve;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("judge-durability-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Node {
    pub name: String,
    serve: Serve,
    pub base: String,
    pub client: reqwest::Client,
}

impl Node {
    /// Starts `judge serve --listen 127.0.0.1:0 ARGS` and waits for /healthz.
    pub async fn start(name: &str, args: &[String]) -> Node {
        let mut serve_args = vec!["--node-id".to_string(), name.to_string()];
        serve_args.extend_from_slice(args);
        // Each grading logs a " graded " line: kept for `graded_ids`, not echoed.
        let serve = Serve::spawn(name, &[], &serve_args, |line| !line.contains(" graded "));
        let node = Node {
            name: name.to_string(),
            base: serve.origin(),
            serve,
            client: reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap(),
        };
        node.serve.wait_healthy(&node.client).await;
        node
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn logs(&self) -> String {
        self.serve.logs()
    }

    /// SIGKILL: `unshare` dies and `--kill-child` kills the judge with it.
    pub fn kill(&mut self) {
        self.serve.kill();
    }

    pub async fn get(&self, path: &str) -> Answer {
        Answer::from(self.client.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn submit(&self, body: &Value) -> Answer {
        Answer::from(self.client.post(self.url("/submit")).json(body).send().await.unwrap()).await
    }

    /// The value of one metric line, e.g. `judge_workers_busy`.
    pub async fn metric(&self, line_prefix: &str) -> f64 {
        serve::metric_value(&self.get("/metrics").await.text, line_prefix)
    }

    /// Ids this node logged as graded (one "graded" line each time a
    /// result was recorded).
    pub fn graded_ids(&self) -> Vec<String> {
        self.logs()
            .lines()
            .filter(|l| l.contains(" graded"))
            .filter_map(|l| l.split(" id=").nth(1).map(|rest| rest.split_whitespace().next().unwrap_or("").to_string()))
            .collect()
    }
}
