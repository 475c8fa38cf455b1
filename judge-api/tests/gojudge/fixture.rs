//! A `judge serve` for the go-judge API tests: the real binary on an
//! ephemeral loopback port, inside `unshare --pid --fork --kill-child
//! --mount-proc` (nothing it runs can reach the host's processes) with a
//! private tmpfs for its work dirs; killed when dropped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    pub client: reqwest::Client,
}

impl Server {
    /// Starts `judge serve` with `args` and waits until /healthz says 200.
    pub async fn start(args: &[&str]) -> Server {
        let mut child = Command::new("unshare")
            .args(["--pid", "--fork", "--kill-child", "--mount-proc", "sh", "-c"])
            .arg("mkdir -p /run/judge/work && mount -t tmpfs -o mode=0755 judge-test /run/judge/work && exec \"$0\" \"$@\"")
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
        let (address_tx, address_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("[server] {line}");
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let address: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                    let _ = address_tx.send(address);
                }
            }
        });
        let address = match address_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                panic!("judge serve did not say where it listens within 60 s");
            }
        };
        let server = Server { child, origin: format!("http://{address}"), client: reqwest::Client::new() };
        let started = Instant::now();
        loop {
            if let Ok(r) = server.client.get(format!("{}/healthz", server.origin)).send().await {
                if r.status() == reqwest::StatusCode::OK {
                    break;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(60), "/healthz never answered 200");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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

impl Drop for Server {
    fn drop(&mut self) {
        // Killing unshare kills the judge (--kill-child) and with it the namespace.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts an error answer: the status, JSON `{"error": …}` containing `needle`.
pub fn assert_error(status: reqwest::StatusCode, json: &Value, expected: reqwest::StatusCode, needle: &str) {
    assert_eq!(status, expected, "{json}");
    let message = json["error"].as_str().unwrap_or_else(|| panic!("no \"error\" in {json}"));
    assert!(message.contains(needle), "error {message:?} does not mention {needle:?}");
}
