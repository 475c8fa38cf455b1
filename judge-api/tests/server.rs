//! Integration tests of `judge serve`: the real binary on an ephemeral
//! loopback port, always inside `unshare --pid --fork --kill-child
//! --mount-proc` so nothing it runs can touch the host's processes; killed
//! when the test ends (`Server`'s Drop).
//!
//! Every endpoint of the HTTP API (README.md), every error of issue 4, shutdown, and a
//! bounded load test (200 submissions at 32 concurrent; timing printed, not
//! asserted).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;

const AC: &str = "#include <stdio.h>\nint main(){long long a,b;scanf(\"%lld %lld\",&a,&b);printf(\"%lld\\n\",a+b);}";
const WA: &str = "#include <stdio.h>\nint main(){long long a,b;scanf(\"%lld %lld\",&a,&b);printf(\"%lld\\n\",a+b+1);}";
const TLE: &str = "int main(){volatile unsigned long x=0;for(;;)x++;}";
const CE: &str = "int main(){ this is not C }";
const FIVE_XX: &str = "judge_http_responses_total{code=\"5xx\"}";
/// Never to appear in the server's logs.
const SECRET_MARKER: &str = "SOURCE_MUST_NOT_BE_LOGGED_7f3a";

// ---------------------------------------------------------------------------
// Fixtures

/// A fresh directory, removed on drop.
fn temp_dir(label: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("judge-server-test-{label}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("creating a temp dir for {label}: {e}"))
}

/// A problems directory with one legacy-layout package, `sum` (a + b):
/// one sample and two secret tests, 1 s, 128 MiB.
fn problems_dir() -> TempDir {
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

fn inline(language: &str, source: &str, time_limit: f64) -> Value {
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
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Server {
    /// The `unshare` process; the judge is its only child (PID 1 inside).
    child: Child,
    base: String,
    logs: Arc<Mutex<String>>,
    client: reqwest::Client,
    token: Option<String>,
    /// 5xx answers before the test began (the 503s of /healthz at start).
    baseline_5xx: f64,
    _problems: TempDir,
    _data: TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Server {
    /// Starts `judge serve` with `args` and waits until /healthz says 200.
    async fn start(args: &[&str]) -> Server {
        let turn = ONE_AT_A_TIME.lock().await;
        let problems = problems_dir();
        let data = temp_dir("data");
        let mut command = Command::new("unshare");
        // The server gets a private tmpfs at /run/judge/work (its scratch
        // dirs) so that no other judge on this machine shares them; then
        // it replaces the shell as PID 1 of the namespace.
        command
            .args(["--pid", "--fork", "--kill-child", "--mount-proc", "sh", "-c"])
            .arg("mkdir -p /run/judge/work && mount -t tmpfs -o mode=0755 judge-test /run/judge/work && exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_judge"))
            .args(["serve", "--listen", "127.0.0.1:0", "--problems"])
            .arg(problems.path())
            .arg("--data-dir")
            .arg(data.path())
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
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    eprintln!("[server] {line}");
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
        let address = match address_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not say where it listens; logs:\n{}", logs.lock().unwrap());
            }
        };
        assert!(address.starts_with("127.0.0.1:"), "{address}");
        let token = args.iter().position(|a| *a == "--token").map(|i| args[i + 1].to_string());
        let mut server = Server {
            child,
            base: format!("http://{address}"),
            logs,
            client: reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap(),
            token,
            baseline_5xx: 0.0,
            _problems: problems,
            _data: data,
            _turn: turn,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = server.client.get(server.url("/healthz")).send().await {
                if r.status() == StatusCode::OK {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "/healthz never answered 200; logs:\n{}", server.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server.baseline_5xx = server.metric(FIVE_XX).await;
        server
    }

    /// 5xx answers since the server became healthy.
    async fn new_5xx(&self) -> f64 {
        self.metric(FIVE_XX).await - self.baseline_5xx
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// The judge's pid (in our namespace): the only child of `unshare`.
    fn judge_pid(&self) -> i32 {
        let pid = self.child.id();
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
        children.split_whitespace().next().expect("unshare has a child").parse().unwrap()
    }

    /// A request with the server's token (if any); the body parsed as JSON.
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Answer::from(request.send().await.unwrap()).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    async fn submit(&self, body: &Value) -> Answer {
        self.call(Method::POST, "/submit", Some(body)).await
    }

    async fn raw_submit(&self, body: Vec<u8>) -> Answer {
        let mut request = self.client.post(self.url("/submit")).header("content-type", "application/json").body(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        Answer::from(request.send().await.unwrap()).await
    }

    /// Polls until the submission is done.
    async fn wait_done(&self, id: &str) -> (Answer, Vec<String>) {
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

    async fn metric(&self, line_prefix: &str) -> f64 {
        let text = self.get("/metrics").await.text;
        metric_value(&text, line_prefix)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Killing unshare kills the judge (--kill-child) and with it the namespace.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn metric_value(text: &str, line_prefix: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_prefix).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no metric {line_prefix} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
    json: Value,
}

impl Answer {
    async fn from(response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, headers, text, json }
    }

    /// Asserts a JSON error of this status whose message contains `needle`.
    #[track_caller]
    fn error(&self, status: StatusCode, needle: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        let content_type = self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(content_type.starts_with("application/json"), "error without a JSON content type: {content_type}");
        let message = self.json["error"].as_str().unwrap_or_else(|| panic!("no \"error\" string in {}", self.text));
        assert!(message.contains(needle), "error {message:?} does not mention {needle:?}");
    }

    #[track_caller]
    fn verdict(&self) -> &str {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        self.json["verdict"].as_str().unwrap_or_else(|| panic!("no verdict in {}", self.text))
    }
}

// ---------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_endpoint_answers_as_the_contract_says() {
    let server = Server::start(&[]).await;

    let health = server.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json["status"], "ok");

    let languages = server.get("/languages").await;
    assert_eq!(languages.status, StatusCode::OK);
    let c = languages.json.as_array().unwrap().iter().find(|l| l["id"] == "c").expect("c is listed");
    assert!(c["name"].is_string());
    assert_eq!(c["extensions"], json!(["c"]));
    assert_eq!(c["available"], true);

    let problems = server.get("/problems").await;
    assert_eq!(problems.status, StatusCode::OK);
    assert_eq!(problems.json.as_array().unwrap().len(), 1, "{}", problems.text);
    let sum = &problems.json[0];
    assert_eq!(sum["name"], "sum");
    assert_eq!(sum["tests"], 3);
    assert_eq!(sum["time_limit"].as_f64(), Some(1.0));
    assert_eq!(sum["memory"], 128);

    // Inline tests, waiting (the default): 200 and the whole result object.
    let source = format!("// {SECRET_MARKER}\n{AC}");
    let done = server.submit(&inline("c", &source, 1.0)).await;
    assert_eq!(done.verdict(), "AC", "{}", done.text);
    let result = &done.json;
    assert_eq!(result["status"], "done");
    assert_eq!(result["language"], "c");
    assert_eq!(result["score"].as_f64(), Some(1.0));
    assert_eq!(result["compile"]["ok"], true);
    assert!(result["compile"]["output"].is_string() && result["compile"]["time_ms"].is_u64());
    assert!(result["time_ms"].is_u64() && result["memory_kb"].is_u64());
    assert!(result.get("file").is_none(), "file is for the CLI only");
    let tests = result["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 2);
    for (test, name) in tests.iter().zip(["1", "2"]) {
        assert_eq!(test["name"], name);
        assert_eq!(test["verdict"], "AC");
        assert_eq!(test["exit_code"], 0);
        assert_eq!(test["signal"], Value::Null);
        assert!(test["time_ms"].is_u64() && test["wall_ms"].is_u64() && test["memory_kb"].is_u64());
    }
    let id = result["id"].as_str().unwrap().to_string();
    let again = server.get(&format!("/submissions/{id}")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json, done.json, "GET gives the same object as the waited POST");

    // A named problem from --problems.
    let named = server.submit(&json!({"language": "c", "source": AC, "problem": "sum"})).await;
    assert_eq!(named.verdict(), "AC", "{}", named.text);
    assert_eq!(named.json["tests"].as_array().unwrap().len(), 3);
    let named = server.submit(&json!({"language": "c", "source": WA, "problem": "sum", "wait": true})).await;
    assert_eq!(named.verdict(), "WA");
    assert_eq!(named.json["tests"][0]["verdict"], "WA");

    // Validator flags on inline tests.
    let float = json!({
        "language": "c",
        "source": "#include <stdio.h>\nint main(){printf(\"3.0001\\n\");}",
        "tests": [{"input": "", "answer": "3\n"}],
        "validator": {"float_absolute_tolerance": 0.001},
    });
    assert_eq!(server.submit(&float).await.verdict(), "AC");
    let mut strict = float.clone();
    strict["validator"] = json!(["float_absolute_tolerance", "0.00001"]);
    assert_eq!(server.submit(&strict).await.verdict(), "WA");

    // Compile errors are verdicts, not errors.
    let ce = server.submit(&inline("c", CE, 1.0)).await;
    assert_eq!(ce.verdict(), "CE");
    assert_eq!(ce.json["compile"]["ok"], false);

    // Not waiting: 202, then poll.
    let queued = server.submit(&json!({"language": "c", "source": TLE, "problem": "sum", "wait": false})).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
    assert_eq!(queued.json["status"], "queued");
    let id = queued.json["id"].as_str().unwrap();
    assert_eq!(queued.headers["location"].to_str().unwrap(), format!("/submissions/{id}"));
    let (done, seen) = server.wait_done(id).await;
    assert_eq!(done.verdict(), "TLE", "{}", done.text);
    assert_eq!(done.json["tests"][0]["signal"], "SIGKILL");
    eprintln!("async submission went through {seen:?}");

    // Metrics in the Prometheus text format.
    let metrics = server.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(metrics.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = &metrics.text;
    assert_eq!(metric_value(text, "judge_submissions_total{verdict=\"AC\"}"), 3.0);
    assert_eq!(metric_value(text, "judge_submissions_total{verdict=\"WA\"}"), 2.0);
    assert_eq!(metric_value(text, "judge_submissions_total{verdict=\"TLE\"}"), 1.0);
    assert_eq!(metric_value(text, "judge_submissions_total{verdict=\"CE\"}"), 1.0);
    assert_eq!(metric_value(text, "judge_sandbox_failures_total"), 0.0);
    assert_eq!(metric_value(text, "judge_queue_depth"), 0.0);
    assert_eq!(metric_value(text, "judge_workers_busy"), 0.0);
    assert!(metric_value(text, "judge_workers") >= 1.0);
    assert!(metric_value(text, "judge_compile_duration_seconds_count") >= 1.0);
    assert!(metric_value(text, "judge_run_duration_seconds_count") >= 9.0);
    assert!(text.contains("# TYPE judge_run_duration_seconds histogram"));
    assert!(text.contains("judge_compile_duration_seconds_bucket{le=\"+Inf\"}"));
    assert_eq!(server.new_5xx().await, 0.0);

    // One log line per submission, with its id and verdict; never the source.
    let logs = server.logs();
    let graded = logs.lines().filter(|l| l.contains("graded")).count();
    assert_eq!(graded, 7, "{logs}");
    assert!(logs.lines().any(|l| l.contains(&id.to_string()) && l.contains("TLE")), "{logs}");
    assert!(!logs.contains(SECRET_MARKER), "the source reached the logs");
    assert!(!logs.contains("scanf"), "the source reached the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn openapi_document_matches_the_routes() {
    let server = Server::start(&[]).await;
    let doc = server.get("/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.json["openapi"], "3.1.0");
    let paths = doc.json["paths"].as_object().unwrap();
    let mut documented: Vec<String> = Vec::new();
    for (path, operations) in paths {
        for (method, _) in operations.as_object().unwrap() {
            documented.push(format!("{} {path}", method.to_uppercase()));
            let concrete = path.replace("{id}", "0123").replace("{name}", "no-such-problem");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (method == Method::POST).then(|| json!({}));
            let answer = server.call(method.clone(), &concrete, body.as_ref()).await;
            assert!(
                answer.status != StatusCode::METHOD_NOT_ALLOWED
                    && (answer.status != StatusCode::NOT_FOUND
                        || concrete.starts_with("/submissions/")
                        || concrete.starts_with("/problems/")),
                "{method} {concrete} is documented but answers {}",
                answer.status
            );
            let code = answer.status.as_str().to_string();
            let responses = operations[method.as_str().to_lowercase()]["responses"].as_object().unwrap();
            assert!(
                responses.contains_key(&code),
                "{method} {concrete} answered {code}, which the document does not list"
            );
        }
    }
    documented.sort();
    let mut served = vec![
        "GET /healthz",
        "GET /languages",
        "GET /metrics",
        "GET /openapi.json",
        "GET /problems",
        "GET /problems/{name}",
        "PUT /problems/{name}",
        "DELETE /problems/{name}",
        "GET /submissions/{id}",
        "POST /submit",
    ];
    served.sort();
    assert_eq!(documented, served);
    // The result schema is the engine's, with the fields of the result object in README.md.
    let schemas = &doc.json["components"]["schemas"];
    let contract = ["language", "verdict", "score", "time_ms", "memory_kb", "compile", "tests"];
    assert_eq!(schemas["GradeResult"]["required"], json!(contract), "{}", schemas["GradeResult"]);
    for field in contract {
        assert!(schemas["GradeResult"]["properties"].get(field).is_some(), "GradeResult lacks {field}");
    }
    let test_fields = ["name", "verdict", "time_ms", "wall_ms", "memory_kb", "exit_code", "signal"];
    assert_eq!(schemas["TestResult"]["required"], json!(test_fields), "{}", schemas["TestResult"]);
    assert_eq!(schemas["CompileInfo"]["required"], json!(["ok", "output", "time_ms"]));
    let finished = schemas["Finished"].to_string();
    assert!(finished.contains("#/components/schemas/GradeResult"), "{finished}");
    let submit_ok = &doc.json["paths"]["/submit"]["post"]["responses"]["200"];
    assert!(submit_ok.to_string().contains("#/components/schemas/Finished"), "{submit_ok}");
    // Every schema reference resolves.
    let text = doc.text.clone();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = reference.split('"').next().unwrap();
        let pointer = target.trim_start_matches('#');
        assert!(doc.json.pointer(pointer).is_some(), "dangling $ref {target}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn caller_mistakes_are_4xx_json_errors() {
    let server = Server::start(&["--max-body-mib", "1", "--max-source-kib", "1", "--max-tests", "3"]).await;

    server.raw_submit(b"{not json".to_vec()).await.error(StatusCode::BAD_REQUEST, "not valid JSON");
    server.raw_submit(Vec::new()).await.error(StatusCode::BAD_REQUEST, "not valid JSON");
    server.raw_submit(b"[1,2]".to_vec()).await.error(StatusCode::BAD_REQUEST, "schema");
    server
        .submit(&json!({"source": AC, "problem": "sum"}))
        .await
        .error(StatusCode::BAD_REQUEST, "missing field `language`");
    server
        .submit(&json!({"language": "c", "problem": "sum"}))
        .await
        .error(StatusCode::BAD_REQUEST, "missing field `source`");
    server
        .submit(&json!({"language": "c", "source": 5, "problem": "sum"}))
        .await
        .error(StatusCode::BAD_REQUEST, "invalid type");
    server
        .submit(&json!({"language": "c", "source": AC, "problem": "sum", "wait": "yes"}))
        .await
        .error(StatusCode::BAD_REQUEST, "invalid type");
    server
        .submit(&json!({"language": "c", "source": AC, "problem": "sum", "langauge": "c"}))
        .await
        .error(StatusCode::BAD_REQUEST, "unknown field `langauge`");
    server
        .submit(&json!({"language": "cobol", "source": AC, "problem": "sum"}))
        .await
        .error(StatusCode::BAD_REQUEST, "unknown language \"cobol\"");
    server
        .submit(&json!({"language": "c", "source": AC, "problem": "nosuch"}))
        .await
        .error(StatusCode::BAD_REQUEST, "unknown problem \"nosuch\"");
    server.submit(&json!({"language": "c", "source": AC})).await.error(StatusCode::BAD_REQUEST, "missing \"problem\"");
    let mut both = inline("c", AC, 1.0);
    both["problem"] = json!("sum");
    server.submit(&both).await.error(StatusCode::BAD_REQUEST, "not both");
    server
        .submit(&json!({"language": "c", "source": AC, "problem": "sum", "limits": {"time_limit": 5}}))
        .await
        .error(StatusCode::BAD_REQUEST, "inline");
    server.submit(&json!({"language": "c", "source": AC, "tests": []})).await.error(StatusCode::BAD_REQUEST, "empty");
    server
        .submit(&json!({"language": "c", "source": AC, "tests": [{"input": "1 2\n"}]}))
        .await
        .error(StatusCode::BAD_REQUEST, "missing field `answer`");
    for (limits, needle) in [
        (json!({"time_limit": -1}), "limits.time_limit"),
        (json!({"time_limit": 1e-10}), "limits.time_limit"),
        (json!({"time_limit": 5e-324}), "limits.time_limit"),
        (json!({"time_limit": 1000}), "--max-time-limit"),
        (json!({"time_limit": "1"}), "invalid type"),
        (json!({"memory": 0}), "limits.memory"),
        (json!({"memory": 1_000_000}), "--max-memory-mib"),
        (json!({"output": 0}), "limits.output"),
        (json!({"time": 1}), "unknown field `time`"),
    ] {
        let mut body = inline("c", AC, 1.0);
        body["limits"] = limits;
        server.submit(&body).await.error(StatusCode::BAD_REQUEST, needle);
    }
    let mut body = inline("c", AC, 1.0);
    body["validator"] = json!({"case_insensitive": true});
    server.submit(&body).await.error(StatusCode::BAD_REQUEST, "unknown validator flag \"case_insensitive\"");

    // Size limits name the limit.
    let big_source = format!("{AC}\n//{}", "x".repeat(2000));
    server.submit(&inline("c", &big_source, 1.0)).await.error(StatusCode::PAYLOAD_TOO_LARGE, "--max-source-kib");
    let mut many = inline("c", AC, 1.0);
    many["tests"] = json!((0..4).map(|_| json!({"input": "1 2\n", "answer": "3\n"})).collect::<Vec<_>>());
    server.submit(&many).await.error(StatusCode::PAYLOAD_TOO_LARGE, "--max-tests");
    let mut huge = inline("c", AC, 1.0);
    huge["tests"][0]["input"] = json!("1 2\n".repeat(400_000));
    server.submit(&huge).await.error(StatusCode::PAYLOAD_TOO_LARGE, "--max-body-mib");

    // Paths and methods.
    server.get("/submissions/does-not-exist").await.error(StatusCode::NOT_FOUND, "no submission");
    server.get("/nope").await.error(StatusCode::NOT_FOUND, "no such endpoint");
    server.get("/submissions/%FF").await.error(StatusCode::BAD_REQUEST, "UTF-8");
    server.call(Method::DELETE, "/submit", None).await.error(StatusCode::METHOD_NOT_ALLOWED, "not allowed");
    server.call(Method::POST, "/languages", None).await.error(StatusCode::METHOD_NOT_ALLOWED, "not allowed");

    // The server is fine after all that, and nothing was the judge's fault.
    assert_eq!(server.submit(&inline("c", AC, 1.0)).await.verdict(), "AC");
    assert_eq!(server.new_5xx().await, 0.0);
    assert_eq!(server.metric("judge_submissions_total{verdict=\"AC\"}").await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_token_guards_every_path_but_healthz() {
    let server = Server::start(&["--token", "s3cret-token"]).await;
    let bare = reqwest::Client::new();
    let health = bare.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    for (method, path) in [
        (Method::GET, "/languages"),
        (Method::GET, "/problems"),
        (Method::GET, "/metrics"),
        (Method::GET, "/openapi.json"),
        (Method::GET, "/submissions/abc"),
        (Method::POST, "/submit"),
        (Method::GET, "/no-such-path"),
    ] {
        let missing = Answer::from(bare.request(method.clone(), server.url(path)).send().await.unwrap()).await;
        missing.error(StatusCode::UNAUTHORIZED, "Authorization");
        assert_eq!(missing.headers["www-authenticate"], "Bearer");
        let wrong = Answer::from(
            bare.request(method.clone(), server.url(path)).bearer_auth("s3cret-tokeN").send().await.unwrap(),
        )
        .await;
        wrong.error(StatusCode::UNAUTHORIZED, "wrong token");
        let basic = Answer::from(
            bare.request(method.clone(), server.url(path))
                .basic_auth("user", Some("s3cret-token"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        basic.error(StatusCode::UNAUTHORIZED, "Bearer");
    }
    // With the token, everything works.
    assert_eq!(server.get("/languages").await.status, StatusCode::OK);
    assert_eq!(server.submit(&json!({"language": "c", "source": AC, "problem": "sum"})).await.verdict(), "AC");
    let doc = server.get("/openapi.json").await;
    assert_eq!(doc.json["security"], json!([{"bearer": []}]));
    assert_eq!(doc.json["paths"]["/healthz"]["get"]["security"], json!([]));
    assert!(!server.logs().contains("s3cret-token"), "the token reached the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_queue_answers_503_with_retry_after() {
    let server = Server::start(&["--workers", "1", "--queue", "1"]).await;
    let slow = json!({
        "language": "c", "source": TLE, "wait": false,
        "tests": [{"input": "", "answer": ""}], "limits": {"time_limit": 1.0},
    });
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..4 {
        let answer = server.submit(&slow).await;
        match answer.status {
            StatusCode::ACCEPTED => accepted.push(answer.json["id"].as_str().unwrap().to_string()),
            _ => refused.push(answer),
        }
    }
    assert!(!refused.is_empty(), "1 worker and a queue of 1 took 4 slow submissions at once");
    assert!(accepted.len() <= 2, "{accepted:?}");
    for answer in &refused {
        answer.error(StatusCode::SERVICE_UNAVAILABLE, "queue is full");
        let retry: u64 = answer.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
    }
    assert_eq!(server.metric("judge_submissions_rejected_total{reason=\"queue_full\"}").await, refused.len() as f64);
    // The worker takes its job from the store a moment after it is stored.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.metric("judge_workers_busy").await < 1.0 {
        assert!(Instant::now() < deadline, "the worker never took a job");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.metric("judge_workers_busy").await, 1.0);

    let mut saw_running = false;
    for id in &accepted {
        let (done, seen) = server.wait_done(id).await;
        assert_eq!(done.verdict(), "TLE");
        saw_running |= seen.iter().any(|s| s == "running");
    }
    assert!(saw_running, "no submission was seen running");
    // Once drained, the queue takes work again.
    let mut fast = slow.clone();
    fast["source"] = json!(AC);
    fast["tests"] = json!([{"input": "1 2", "answer": "3"}]);
    fast["wait"] = json!(true);
    assert_eq!(server.submit(&fast).await.verdict(), "AC");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn results_expire_after_the_retention_time() {
    let server = Server::start(&["--retention-secs", "1"]).await;
    let queued = server.submit(&json!({"language": "c", "source": AC, "problem": "sum", "wait": false})).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED);
    let id = queued.json["id"].as_str().unwrap();
    let (done, _) = server.wait_done(id).await;
    assert_eq!(done.verdict(), "AC");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.get(&format!("/submissions/{id}")).await.error(StatusCode::NOT_FOUND, "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_running_work_then_exits() {
    let mut server = Server::start(&["--workers", "1"]).await;
    let slow = inline("c", TLE, 2.0);
    let request = {
        let client = server.client.clone();
        let url = server.url("/submit");
        tokio::spawn(async move { Answer::from(client.post(url).json(&slow).send().await.unwrap()).await })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.metric("judge_workers_busy").await < 1.0 {
        assert!(Instant::now() < deadline, "the submission never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = server.judge_pid();
    let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());

    // No new connections once shutting down...
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fresh = reqwest::Client::new();
    assert!(fresh.get(server.url("/healthz")).send().await.is_err(), "still accepting after SIGTERM");
    // ...but the running submission finishes and its client gets the result.
    let answer = request.await.unwrap();
    assert_eq!(answer.verdict(), "TLE", "{}", answer.text);

    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "the server did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit:?}");
    let logs = server.logs();
    assert!(logs.contains("SIGTERM: shutting down"), "{logs}");
    assert!(logs.contains("stopped"), "{logs}");
}

/// 200 submissions at 32 concurrent: AC, WA, TLE and CE C programs. All
/// verdicts right, no 5xx. Timing is printed for the bench, not asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn load_200_submissions_at_32_concurrent() {
    const TOTAL: usize = 200;
    const CONCURRENCY: usize = 32;
    let server = Arc::new(Server::start(&["--queue", "64"]).await);
    let kinds = [("AC", AC, 1.0), ("WA", WA, 1.0), ("TLE", TLE, 0.2), ("CE", CE, 1.0)];
    let limit = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..TOTAL {
        let (expected, source, time_limit) = kinds[i % kinds.len()];
        let server = server.clone();
        let limit = limit.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            let sent = Instant::now();
            let answer = server.submit(&inline("c", source, time_limit)).await;
            (expected, answer, sent.elapsed())
        }));
    }
    let mut latencies: std::collections::BTreeMap<&str, Vec<Duration>> = Default::default();
    let mut wrong = Vec::new();
    for task in tasks {
        let (expected, answer, latency) = task.await.unwrap();
        assert!(!answer.status.is_server_error(), "5xx under load: {}", answer.text);
        if answer.status != StatusCode::OK || answer.json["verdict"] != expected {
            wrong.push(format!("expected {expected}, got {} {}", answer.status, answer.text));
        }
        latencies.entry(expected).or_default().push(latency);
    }
    let elapsed = started.elapsed();
    assert!(wrong.is_empty(), "{} of {TOTAL} wrong, e.g. {}", wrong.len(), wrong[0]);

    let workers = server.metric("judge_workers").await;
    eprintln!(
        "load: {TOTAL} submissions at {CONCURRENCY} concurrent, {workers} workers: {:.2} s, {:.1} submissions/s",
        elapsed.as_secs_f64(),
        TOTAL as f64 / elapsed.as_secs_f64()
    );
    for (verdict, mut list) in latencies {
        list.sort();
        let mean = list.iter().sum::<Duration>() / list.len() as u32;
        eprintln!(
            "load: {verdict}: n={} mean {:.0} ms, p50 {:.0} ms, max {:.0} ms",
            list.len(),
            mean.as_secs_f64() * 1e3,
            list[list.len() / 2].as_secs_f64() * 1e3,
            list[list.len() - 1].as_secs_f64() * 1e3
        );
    }
    let text = server.get("/metrics").await.text;
    assert_eq!(server.new_5xx().await, 0.0);
    assert_eq!(metric_value(&text, "judge_submissions_rejected_total{reason=\"queue_full\"}"), 0.0);
    assert_eq!(metric_value(&text, "judge_sandbox_failures_total"), 0.0);
    for (verdict, ..) in kinds {
        assert_eq!(
            metric_value(&text, &format!("judge_submissions_total{{verdict=\"{verdict}\"}}")),
            (TOTAL / 4) as f64
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idempotency_key_gives_the_same_submission_again() {
    let server = Server::start(&[]).await;
    let send = |key: &'static str, body: Value| {
        let request = server.client.post(server.url("/submit")).header("Idempotency-Key", key).json(&body);
        async move { Answer::from(request.send().await.unwrap()).await }
    };
    let mut body = inline("c", AC, 1.0);
    body["wait"] = json!(false);
    let first = send("order-42", body.clone()).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = send("order-42", body.clone()).await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(again.json["id"], first.json["id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    // Waiting on a replay gives the first submission's result.
    body["wait"] = json!(true);
    let waited = send("order-42", body.clone()).await;
    assert_eq!(waited.verdict(), "AC");
    assert_eq!(waited.json["id"], first.json["id"]);
    // Another key is another submission; a bad key is the caller's mistake.
    let other = send("order-43", body.clone()).await;
    assert_eq!(other.verdict(), "AC");
    assert_ne!(other.json["id"], first.json["id"]);
    send("has space", body).await.error(StatusCode::BAD_REQUEST, "Idempotency-Key");
    let logs = server.logs();
    assert_eq!(logs.lines().filter(|l| l.contains(" graded")).count(), 2, "graded once per key:\n{logs}");
}
