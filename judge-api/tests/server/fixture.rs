//! The fixture of the `judge serve` endpoint tests (`server.rs`,
//! `server_errors.rs`): a problems directory, inline submissions, and the
//! server under test (started by `common/serve.rs`, one at a time) with
//! typed answers.

#![allow(dead_code)] // shared by two test crates, each using a part

#[path = "../common/serve.rs"]
mod serve;

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;

use serve::{echo_all, Serve};
pub use serve::{metric_value, Answer};

pub const AC: &str =
    "#include <stdio.h>\nint main(){long long a,b;scanf(\"%lld %lld\",&a,&b);printf(\"%lld\\n\",a+b);}";
pub const WA: &str =
    "#include <stdio.h>\nint main(){long long a,b;scanf(\"%lld %lld\",&a,&b);printf(\"%lld\\n\",a+b+1);}";
pub const TLE: &str = "int main(){volatile unsigned long x=0;for(;;)x++;}";
pub const CE: &str = "int main(){ this is not C }";
pub const FIVE_XX: &str = "judge_http_responses_total{code=\"5xx\"}";
/// Never to appear in the server's logs.
pub const SECRET_MARKER: &str = "SOURCE_MUST_NOT_BE_LOGGED_7f3a";

// ---------------------------------------------------------------------------
// Fixtures

/// A fresh directory, removed on drop.
pub fn temp_dir(label: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("judge-server-test-{label}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("creating a temp dir for {label}: {e}"))
}

/// A problems directory with one legacy-layout package, `sum` (a + b):
/// one sample and two secret tests, 1 s, 128 MiB.
pub fn problems_dir() -> TempDir {
    let dir = temp_dir("problems");
    let sum = dir.path().join("sum");
    let write = |path: &str, text: &str| {
        let path = sum.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("problem.yaml", "name: Sum\nvalidation: default\nlimits:\n  memory: 128\n");
    write(".timelimit", "1\n");
    write("data/sample/1.in", "1 2\n");
    write("data/sample/1.ans", "3\n");
    write("data/secret/1.in", "40 2\n");
    write("data/secret/1.ans", "42\n");
    write("data/secret/2.in", "-5 5\n");
    write("data/secret/2.ans", "0\n");
    // Not a package: ignored.
    std::fs::create_dir_all(dir.path().join("notes")).unwrap();
    dir
}

pub fn inline(language: &str, source: &str, time_limit: f64) -> Value {
    json!({
        "language": language,
        "source": source,
        "tests": [{"name": "1", "input": "1 2\n", "answer": "3\n"}, {"name": "2", "input": "20 22\n", "answer": "42\n"}],
        "limits": {"time_limit": time_limit, "memory": 64, "output": 8},
    })
}

// ---------------------------------------------------------------------------
// The server under test

/// One server at a time, so that the load test's timing means something on
/// a 2-core box and the other tests' waits stay short.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct Server {
    /// First field: the judge dies before its directories are removed.
    pub serve: Serve,
    base: String,
    pub client: reqwest::Client,
    token: Option<String>,
    /// 5xx answers before the test began (the 503s of /healthz at start).
    baseline_5xx: f64,
    _problems: TempDir,
    _data: TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Server {
    /// Starts `judge serve` with `args` and waits until /healthz says 200.
    pub async fn start(args: &[&str]) -> Server {
        let turn = ONE_AT_A_TIME.lock().await;
        let problems = problems_dir();
        let data = temp_dir("data");
        let mut serve_args = vec![std::ffi::OsStr::new("--problems"), problems.path().as_os_str()];
        serve_args.extend([std::ffi::OsStr::new("--data-dir"), data.path().as_os_str()]);
        serve_args.extend(args.iter().map(std::ffi::OsStr::new));
        let serve = Serve::spawn("server", &[], &serve_args, echo_all);
        let token = args.iter().position(|a| *a == "--token").map(|i| args[i + 1].to_string());
        let mut server = Server {
            base: serve.origin(),
            serve,
            client: reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap(),
            token,
            baseline_5xx: 0.0,
            _problems: problems,
            _data: data,
            _turn: turn,
        };
        server.serve.wait_healthy(&server.client).await;
        server.baseline_5xx = server.metric(FIVE_XX).await;
        server
    }

    /// 5xx answers since the server became healthy.
    pub async fn new_5xx(&self) -> f64 {
        self.metric(FIVE_XX).await - self.baseline_5xx
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn logs(&self) -> String {
        self.serve.logs()
    }

    /// The judge's pid (in our namespace): the only child of `unshare`.
    pub fn judge_pid(&self) -> i32 {
        self.serve.judge_pid()
    }

    /// A request with the server's token (if any); the body parsed as JSON.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Answer::from(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub async fn submit(&self, body: &Value) -> Answer {
        self.call(Method::POST, "/submit", Some(body)).await
    }

    pub async fn raw_submit(&self, body: Vec<u8>) -> Answer {
        let mut request = self.client.post(self.url("/submit")).header("content-type", "application/json").body(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        Answer::from(request.send().await.unwrap()).await
    }

    /// Polls until the submission is done.
    pub async fn wait_done(&self, id: &str) -> (Answer, Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = Vec::new();
        loop {
            let answer = self.get(&format!("/submissions/{id}")).await;
            let status = answer.json["status"].as_str().unwrap_or_default().to_string();
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            if status == "done" {
                return (answer, seen);
            }
            assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json);
            assert!(Instant::now() < deadline, "submission {id} not done in time: {:?}", answer.json);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn metric(&self, line_prefix: &str) -> f64 {
        let text = self.get("/metrics").await.text;
        metric_value(&text, line_prefix)
    }
}

impl Answer {
    /// Asserts a JSON error of this status whose message contains `needle`.
    #[track_caller]
    pub fn error(&self, status: StatusCode, needle: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        let content_type = self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(content_type.starts_with("application/json"), "error without a JSON content type: {content_type}");
        let message = self.json["error"].as_str().unwrap_or_else(|| panic!("no \"error\" string in {}", self.text));
        assert!(message.contains(needle), "error {message:?} does not mention {needle:?}");
    }

    #[track_caller]
    pub fn verdict(&self) -> &str {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        self.json["verdict"].as_str().unwrap_or_else(|| panic!("no verdict in {}", self.text))
    }
}
