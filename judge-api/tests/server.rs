//! Integration tests of `judge serve`: the real binary on an ephemeral
//! loopback port, always inside `unshare --pid --fork --kill-child
//! --mount-proc` so nothing it runs can touch the host's processes; killed
//! when the test ends (`common/serve.rs`).
//!
//! Every endpoint of the HTTP API (README.md) and its results, retention,
//! idempotency, shutdown, and a bounded load test (200 submissions at 32
//! concurrent; timing printed, not asserted). Caller mistakes, the token and
//! limits are in `server_errors.rs`.

#[path = "server/fixture.rs"]
mod fixture;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fixture::{inline, metric_value, Answer, Server, AC, CE, SECRET_MARKER, TLE, WA};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

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
                        || concrete.starts_with("/problems/")
                        || concrete.starts_with("/judge0/submissions/")
                        || concrete.starts_with("/judge0/languages/")
                        || concrete.starts_with("/go-judge/file/")),
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
        "POST /judge0/submissions",
        "POST /judge0/submissions/batch",
        "GET /judge0/submissions/batch",
        "GET /judge0/submissions/{token}",
        "DELETE /judge0/submissions/{token}",
        "GET /judge0/languages",
        "GET /judge0/languages/all",
        "GET /judge0/languages/{id}",
        "GET /judge0/statuses",
        "GET /judge0/about",
        "GET /judge0/version",
        "GET /judge0/config_info",
        "POST /go-judge/run",
        "GET /go-judge/file",
        "POST /go-judge/file",
        "GET /go-judge/file/{id}",
        "DELETE /go-judge/file/{id}",
        "GET /go-judge/version",
        "GET /go-judge/config",
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
        if let Some(exit) = server.serve.child.try_wait().unwrap() {
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
