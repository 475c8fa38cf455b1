//! One `judge serve` process under test, always inside `unshare --pid
//! --fork --kill-child --mount-proc` (a private PID namespace and tmpfs work
//! directory); killing it is a SIGKILL of the judge and its whole namespace.

#![allow(dead_code)] // shared by several test crates, each using a part

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

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
    child: Child,
    pub base: String,
    logs: Arc<Mutex<String>>,
    pub client: reqwest::Client,
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Answer {
    pub async fn from(response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, headers, json, text }
    }
}

impl Node {
    /// Starts `judge serve --listen 127.0.0.1:0 ARGS` and waits for /healthz.
    pub async fn start(name: &str, args: &[String]) -> Node {
        let mut command = Command::new("unshare");
        command
            .args(["--pid", "--fork", "--kill-child", "--mount-proc", "sh", "-c"])
            .arg("mkdir -p /run/judge/work && mount -t tmpfs -o mode=0755 judge-test /run/judge/work && exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_judge"))
            .args(["serve", "--listen", "127.0.0.1:0", "--node-id", name])
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("starting unshare ... judge serve");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(String::new()));
        let (address_tx, address_rx) = mpsc::channel();
        {
            let logs = logs.clone();
            let name = name.to_string();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if !line.contains(" graded ") {
                        eprintln!("[{name}] {line}");
                    }
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        let address: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                        let _ = address_tx.send(address);
                    }
                    let mut logs = logs.lock().unwrap();
                    logs.push_str(&line);
                    logs.push('\n');
                }
            });
        }
        let Ok(address) = address_rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} did not say where it listens; logs:\n{}", logs.lock().unwrap());
        };
        let node = Node {
            name: name.to_string(),
            child,
            base: format!("http://{address}"),
            logs,
            client: reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = node.client.get(node.url("/healthz")).send().await {
                if r.status() == StatusCode::OK {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "{name}: /healthz never answered 200; logs:\n{}", node.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// SIGKILL: `unshare` dies and `--kill-child` kills the judge with it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub async fn get(&self, path: &str) -> Answer {
        Answer::from(self.client.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn submit(&self, body: &Value) -> Answer {
        Answer::from(self.client.post(self.url("/submit")).json(body).send().await.unwrap()).await
    }

    /// The value of one metric line, e.g. `judge_workers_busy`.
    pub async fn metric(&self, line_prefix: &str) -> f64 {
        let text = self.get("/metrics").await.text;
        text.lines()
            .find_map(|l| l.strip_prefix(line_prefix).and_then(|rest| rest.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no metric {line_prefix} in:\n{text}"))
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

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
