//! Integration tests of `judge serve` (see `server.rs`) for the caller's
//! side of things: every error of issue 4 as a 4xx JSON answer, the token
//! guarding every path but /healthz, and a full queue answering 503.

#[path = "server/fixture.rs"]
mod fixture;

use std::time::{Duration, Instant};

use fixture::{inline, Answer, Server, AC, TLE};
use reqwest::{Method, StatusCode};
use serde_json::json;

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
