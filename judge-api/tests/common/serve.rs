//! Starts the real `judge serve` for a test: always inside `unshare --pid
//! --fork --kill-child --mount-proc` (nothing it runs can reach the host's
//! processes) with a private tmpfs at /run/judge/work (no other judge on
//! this machine shares its scratch dirs), on an ephemeral loopback port read
//! from its log. Killed with its whole namespace when dropped.
//!
//! Shared by several test crates (`#[path = "common/serve.rs"] mod serve;`),
//! each using a part.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the server gets to say where it listens, then to be healthy.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// One running `judge serve`.
pub struct Serve {
    /// The `unshare` process; the judge is its only child (PID 1 inside).
    pub child: Child,
    /// `127.0.0.1:PORT`
    pub address: String,
    /// Names this server in echoed log lines and failure messages.
    label: String,
    logs: Arc<Mutex<String>>,
}

/// `args` plus a fresh `--data-dir` unless they give one, so that servers
/// of parallel tests never share (and race for) one store's lock; the
/// directory lives as long as the returned guard.
pub fn with_own_data_dir(args: &[&str]) -> (Vec<String>, Option<tempfile::TempDir>) {
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    if args.iter().any(|a| a == "--data-dir") {
        return (args, None);
    }
    let dir = tempfile::tempdir().expect("a temporary data dir");
    args.extend(["--data-dir".to_string(), dir.path().display().to_string()]);
    (args, Some(dir))
}

impl Serve {
    /// Runs `WRAPPER... judge serve --listen 127.0.0.1:0 ARGS...` with
    /// RUST_LOG=info and returns once it logged its address. Every stderr
    /// line is kept for `logs()`; those `echo` accepts are also printed,
    /// prefixed with `[label]`.
    pub fn spawn<A: AsRef<OsStr>>(label: &str, wrapper: &[&str], args: &[A], echo: fn(&str) -> bool) -> Serve {
        let mut child = Command::new("unshare")
            .args(["--pid", "--fork", "--kill-child", "--mount-proc", "sh", "-c"])
            // The shell mounts the private tmpfs, then the judge (or its
            // wrapper) replaces it as PID 1 of the namespace.
            .arg("mkdir -p /run/judge/work && mount -t tmpfs -o mode=0755 judge-test /run/judge/work && exec \"$0\" \"$@\"")
            .args(wrapper)
            .arg(env!("CARGO_BIN_EXE_judge"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting unshare ... judge serve");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(String::new()));
        let (address_tx, address_rx) = mpsc::channel();
        {
            let logs = logs.clone();
            let label = label.to_string();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if echo(&line) {
                        eprintln!("[{label}] {line}");
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
        let mut serve = Serve { child, address: String::new(), label: label.to_string(), logs };
        // On a panic here, the drop kills what was started.
        let Ok(address) = address_rx.recv_timeout(START_TIMEOUT) else {
            panic!("{label} did not say where it listens; logs:\n{}", serve.logs());
        };
        assert!(address.starts_with("127.0.0.1:"), "{address}");
        serve.address = address;
        serve
    }

    /// `http://127.0.0.1:PORT`
    pub fn origin(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Polls `/healthz` with `client` until it answers 200.
    pub async fn wait_healthy(&self, client: &reqwest::Client) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", self.origin())).send().await {
                if r.status() == reqwest::StatusCode::OK {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "{}: /healthz never answered 200; logs:\n{}", self.label, self.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything the server wrote to stderr so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// The judge's pid (in our namespace): the only child of `unshare`.
    pub fn judge_pid(&self) -> i32 {
        let pid = self.child.id();
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
        children.split_whitespace().next().expect("unshare has a child").parse().unwrap()
    }

    /// SIGKILL: `unshare` dies and `--kill-child` kills the judge with it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Echo every log line.
pub fn echo_all(_line: &str) -> bool {
    true
}

/// The value of the first `/metrics` line that is `line_prefix` then a
/// space, e.g. `judge_submissions_total{verdict="AC"}`.
pub fn metric_value(text: &str, line_prefix: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_prefix).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no metric {line_prefix} in:\n{text}"))
}

/// A response read whole: status, headers, body text and (if it is JSON) its value.
#[derive(Debug)]
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    /// `Null` when the body is not JSON.
    pub json: serde_json::Value,
}

impl Answer {
    pub async fn from(response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Answer { status, headers, text, json }
    }
}
