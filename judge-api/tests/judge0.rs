//! The Judge0 API (`/judge0/...`) over raw HTTP, for what Judge0's Python
//! client does not exercise: every status id, base64 round trips of
//! non-UTF-8 bytes, 422 shapes, unknown languages, enable_network, the
//! X-Auth-Token header, oversized bodies, the fields filter, batches, a
//! restart of the store, and callbacks. The client itself is driven in
//! `judge0_client.rs`.

#[path = "judge0/fixture.rs"]
mod fixture;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use fixture::serve::metric_value;
use fixture::{assert_error, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn c(source: &str) -> Value {
    json!({ "source_code": source, "language_id": 50 })
}

/// The status id of a finished submission.
fn status(result: &Value) -> u64 {
    result["status"]["id"].as_u64().unwrap_or_else(|| panic!("no status id in {result}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_status_the_engine_can_give() {
    let server = Arc::new(Server::start(&["--workers", "2"]).await);
    let hog = "#include <stdlib.h>\n#include <string.h>\nint main(void){for(int i=0;i<32;i++){char*p=malloc(8<<20);if(!p)return 9;memset(p,1,8<<20);}return 0;}";
    let cases: Vec<(&str, u64, Value)> = vec![
        (
            "ac",
            3,
            json!({ "source_code": "print(input())", "language_id": 71, "stdin": "x", "expected_output": "x\n\n" }),
        ),
        ("ruby", 3, json!({ "source_code": "puts 1", "language_id": 72 })),
        ("wa", 4, json!({ "source_code": "print(1)", "language_id": 71, "expected_output": "2" })),
        (
            "cpu",
            5,
            json!({ "source_code": "while True: pass", "language_id": 71, "cpu_time_limit": 0.3, "cpu_extra_time": 0 }),
        ),
        ("wall", 5, json!({ "source_code": "import time\ntime.sleep(5)", "language_id": 71, "wall_time_limit": 1 })),
        ("ce", 6, c("int main( {")),
        ("segv", 7, c("int main(void){volatile int*p=0;*p=1;return 0;}")),
        ("xfsz", 8, json!({ "source_code": "while True: print('x' * 4096)", "language_id": 71, "max_file_size": 16 })),
        ("fpe", 9, c("int main(void){volatile int a=7,z=0;return a/z;}")),
        ("abrt", 10, c("#include <stdlib.h>\nint main(void){abort();}")),
        ("nzec", 11, c("int main(void){return 4;}")),
        ("usr1", 12, c("#include <signal.h>\nint main(void){raise(SIGUSR1);return 0;}")),
        // Memory over the limit: killed; Judge0 has no memory status, so 12 with SIGKILL.
        ("memory", 12, json!({ "source_code": hog, "language_id": 50, "memory_limit": 65536 })),
    ];
    let mut tasks = tokio::task::JoinSet::new();
    for (label, expected, body) in cases {
        let server = server.clone();
        tasks.spawn(async move { (label, expected, server.run(&body, false).await) });
    }
    let mut seen = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (label, expected, result) = done.unwrap();
        assert_eq!(status(&result), expected, "{label}: {result}");
        seen.push(expected);
        let message = result["message"].as_str().unwrap_or_default();
        match label {
            "ac" => assert_eq!(result["stdout"], "x\n"),
            // Judge0 runs Ruby without a compile step: our syntax check's "Syntax OK" is not shown.
            "ruby" => assert!(result["compile_output"].is_null(), "{result}"),
            "cpu" => {
                assert!(result["time"].as_str().unwrap().parse::<f64>().unwrap() >= 0.3, "{result}");
                assert_eq!(message, "Time limit exceeded");
            }
            "wall" => assert_eq!(message, "Time limit exceeded (wall clock)", "{result}"),
            "ce" => assert!(result["compile_output"].as_str().unwrap().contains("error"), "{result}"),
            "segv" => assert_eq!((result["exit_signal"].as_i64(), message), (Some(11), "Caught fatal signal 11")),
            "xfsz" => assert_eq!(result["exit_signal"], 25),
            "fpe" => assert_eq!(result["exit_signal"], 8),
            "abrt" => assert_eq!(result["exit_signal"], 6),
            "nzec" => {
                assert_eq!(result["exit_code"], 4);
                assert_eq!(message, "Exited with error status 4");
            }
            "usr1" => assert_eq!(result["exit_signal"], 10),
            "memory" => {
                assert_eq!(result["exit_signal"], 9, "{result}");
                assert!(result["memory"].as_u64().unwrap() >= 60_000, "{result}");
            }
            _ => {}
        }
        assert!(result["created_at"].as_str().unwrap().ends_with('Z'), "{result}");
        assert!(result["finished_at"].is_string(), "{result}");
    }
    seen.sort();
    assert_eq!(seen, vec![3, 3, 4, 5, 5, 6, 7, 8, 9, 10, 11, 12, 12]);

    // Counted in the same metrics as native submissions.
    let metrics = server.metrics().await;
    let verdicts = [("AC", 2.0), ("WA", 1.0), ("TLE", 2.0), ("CE", 1.0), ("RE", 7.0), ("IE", 0.0)];
    for (verdict, count) in verdicts {
        let line = format!("judge_submissions_total{{verdict=\"{verdict}\"}}");
        assert_eq!(metric_value(&metrics, &line), count, "{line}");
    }
    // One run each, except the compile error; the seven C programs compiled.
    assert_eq!(metric_value(&metrics, "judge_run_duration_seconds_count"), 12.0);
    assert!(metric_value(&metrics, "judge_compile_duration_seconds_count") >= 7.0, "{metrics}");
}

/// 13 and 14 need a toolchain that misbehaves: a language directory whose
/// "C" builds a file that is no program (exec fails: ENOEXEC → 14) and
/// whose "C++" runs a program that is not there (the sandbox cannot start
/// it: the judge's fault → 13).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exec_format_error_and_internal_error_from_broken_toolchains() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        "id = \"c\"\nname = \"C building a non-program\"\nextensions = [\"c\"]\nsource = \"main.c\"\n\
         compile = [\"/bin/sh\", \"-c\", \"printf 'not a program' > main && chmod +x main\"]\nrun = [\"./main\"]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("cpp.toml"),
        "id = \"cpp\"\nname = \"C++ without its program\"\nextensions = [\"cpp\"]\nsource = \"main.cpp\"\n\
         compile = [\"/bin/true\"]\nrun = [\"./missing\"]\n",
    )
    .unwrap();
    let server = Server::start(&["--languages", dir.path().to_str().unwrap()]).await;
    let exec_format = server.run(&c("int main(){}"), false).await;
    assert_eq!(status(&exec_format), 14, "{exec_format}");
    let internal = server.run(&json!({ "source_code": "int main(){}", "language_id": 54 }), false).await;
    assert_eq!(status(&internal), 13, "{internal}");
    assert!(internal["message"].as_str().unwrap().contains("ENOENT"), "{internal}");
    // Python is not in that directory: its id is unknown here.
    let (code, json) = server.post("/submissions", &json!({ "source_code": "print(1)", "language_id": 71 })).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
    assert!(json["language_id"][0].as_str().unwrap().contains("doesn't exist"), "{json}");
}

/// 1 In Queue and 2 Processing: one worker busy with a sleeping program,
/// a second submission waits behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_queue_then_processing_then_done() {
    let server = Server::start(&["--workers", "1"]).await;
    let sleeper =
        json!({ "source_code": "import time\ntime.sleep(4)\nprint('up')", "language_id": 71, "wall_time_limit": 15 });
    let (_, first) = server.post("/submissions", &sleeper).await;
    let (_, second) = server.post("/submissions", &json!({ "source_code": "print(2)", "language_id": 71 })).await;
    let (first, second) = (first["token"].as_str().unwrap(), second["token"].as_str().unwrap());
    // The request is shown while it waits and while it runs, as Judge0 does.
    let fields = "?fields=source_code,language_id,stdin,wall_time_limit,created_at,finished_at,status_id,status,stdout";
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut saw = false;
    loop {
        // Every check is on one answer per submission, and the second is
        // read before the first: if the first is still Processing when read
        // after it, the only worker was busy with the first throughout, so
        // the second cannot have started. Read the other way round, the
        // first can end and the second start between the two reads.
        let (_, b) = server.get(&format!("/submissions/{second}{fields}")).await;
        let (_, a) = server.get(&format!("/submissions/{first}{fields}")).await;
        if status(&a) == 2 {
            assert_eq!(status(&b), 1, "the second waits while the only worker runs the first: {b}");
            assert_eq!(b["status"]["description"], "In Queue");
            assert!(a["stdout"].is_null() && a["finished_at"].is_null(), "{a}");
            assert_eq!(a["source_code"], sleeper["source_code"], "{a}");
            assert_eq!(a["wall_time_limit"], "15.0", "{a}");
            assert_eq!(b["source_code"], "print(2)", "{b}");
            assert_eq!(b["language_id"], 71, "{b}");
            assert!(b["stdin"].is_null() && b["created_at"].is_string() && b["finished_at"].is_null(), "{b}");
            saw = true;
        }
        if status(&a) == 3 && status(&b) == 3 {
            assert_eq!(a["stdout"], "up\n");
            assert_eq!(b["stdout"], "2\n");
            assert!(a["finished_at"].is_string() && b["finished_at"].is_string(), "{a} {b}");
            break;
        }
        assert!(Instant::now() < deadline, "not done in time: {a} {b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(saw, "never saw Processing while In Queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn base64_round_trips_bytes_that_are_not_utf8() {
    let server = Server::start(&[]).await;
    let cat = "#include <stdio.h>\nint main(void){int c;while((c=getchar())!=EOF)putchar(c);fputs(\"\\xff\\xfe\",stderr);return 0;}";
    let input: Vec<u8> = vec![0x00, 0xff, 0x80, b'a', 0xc3, 0x28, b'\n'];
    let body = json!({ "source_code": B64.encode(cat), "language_id": 50, "stdin": B64.encode(&input) });
    let result = server.run(&body, true).await;
    assert_eq!(status(&result), 3, "{result}");
    assert_eq!(B64.decode(result["stdout"].as_str().unwrap()).unwrap(), input);
    assert_eq!(B64.decode(result["stderr"].as_str().unwrap()).unwrap(), vec![0xff, 0xfe]);
    assert_eq!(B64.decode(result["stdin"].as_str().unwrap()).unwrap(), input);
    assert_eq!(B64.decode(result["source_code"].as_str().unwrap()).unwrap(), cat.as_bytes());
    // Without base64 the bytes cannot go out as JSON text: Judge0's 400 says to ask for base64.
    let token = result["token"].as_str().unwrap();
    let (code, json) = server.get(&format!("/submissions/{token}?base64_encoded=false&fields=stdout")).await;
    assert_error(code, &json, StatusCode::BAD_REQUEST, "use base64_encoded=true");
    // Fields that are text go out as text.
    let (code, json) = server.get(&format!("/submissions/{token}?fields=status,time")).await;
    assert_eq!(code, StatusCode::OK, "{json}");
    // Bad base64 in is the field's 422.
    let (code, json) =
        server.post("/submissions?base64_encoded=true", &json!({ "source_code": "%%%", "language_id": 50 })).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(json["source_code"][0].as_str().unwrap().contains("base64"), "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_submissions_get_judge0_shaped_errors() {
    let server = Server::start(&["--max-body-mib", "1"]).await;
    let cases = [
        (json!({}), vec!["source_code", "language_id"]),
        (json!({ "source_code": "x", "language_id": 9999 }), vec!["language_id"]),
        (json!({ "source_code": "x", "language_id": "abc" }), vec!["language_id"]),
        (json!({ "source_code": "x", "language_id": 50, "enable_network": true }), vec!["enable_network"]),
        (json!({ "source_code": "x", "language_id": 50, "cpu_time_limit": 100 }), vec!["cpu_time_limit"]),
        (json!({ "source_code": "x", "language_id": 50, "cpu_time_limit": "fast" }), vec!["cpu_time_limit"]),
        (json!({ "source_code": "x", "language_id": 50, "memory_limit": 100 }), vec!["memory_limit"]),
        (json!({ "source_code": "x", "language_id": 50, "number_of_runs": 0 }), vec!["number_of_runs"]),
        (json!({ "source_code": "x", "language_id": 50, "wall_time_limit": 0 }), vec!["wall_time_limit"]),
        (json!({ "source_code": "x", "language_id": 71, "compiler_options": "-O3" }), vec!["compiler_options"]),
        (
            json!({ "source_code": "x", "language_id": 50, "command_line_arguments": "'open" }),
            vec!["command_line_arguments"],
        ),
        (json!({ "source_code": "x", "language_id": 50, "additional_files": "UEsFBg==" }), vec!["additional_files"]),
        (
            json!({ "source_code": "x", "language_id": 50, "enable_per_process_and_thread_time_limit": true }),
            vec!["enable_per_process_and_thread_time_limit"],
        ),
        (
            json!({ "source_code": "x", "language_id": 50, "callback_url": "http://10.0.0.1/hook" }),
            vec!["callback_url"],
        ),
        (json!({ "source_code": 5, "language_id": 50 }), vec!["source_code"]),
    ];
    for (body, fields) in cases {
        let (code, json) = server.post("/submissions", &body).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {json}");
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        let mut expected = fields.clone();
        expected.sort();
        assert_eq!(keys, expected, "{body} → {json}");
        for field in fields {
            let messages = json[field].as_array().unwrap_or_else(|| panic!("{field} is no list: {json}"));
            assert!(!messages.is_empty() && messages.iter().all(|m| m.is_string()), "{json}");
        }
    }
    let (code, json) = server.post("/submissions", &json!({ "source_code": "x", "language_id": 9999 })).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json["language_id"][0], "language with id 9999 doesn't exist");
    // Not JSON at all, and an unknown field name in ?fields=.
    let response = server.client.post(server.url("/submissions")).body("{not json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (code, json) = server.get("/submissions/whatever?fields=stdout,bogus").await;
    assert_error(code, &json, StatusCode::BAD_REQUEST, "invalid fields: [bogus]");
    // Over --max-body-mib: 413 as JSON, nothing stored.
    let big = json!({ "source_code": "x".repeat(2 << 20), "language_id": 50 });
    let (code, json) = server.post("/submissions", &big).await;
    assert_error(code, &json, StatusCode::PAYLOAD_TOO_LARGE, "over the limit");
    // The server is fine afterwards.
    let ok = server.run(&json!({ "source_code": "print(6*7)", "language_id": 71 }), false).await;
    assert_eq!(ok["stdout"], "42\n");
    // Unknown token; DELETE as Judge0 answers it with deletion off.
    let (code, json) = server.get("/submissions/3b0e5b06-0000-4000-8000-000000000000").await;
    assert_error(code, &json, StatusCode::NOT_FOUND, "no Judge0 submission");
    let response = server
        .client
        .delete(server.url(&format!("/submissions/{}", ok["token"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "delete not allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fields_filter_and_defaults() {
    let server = Server::start(&[]).await;
    let (code, created) =
        server.post("/submissions?wait=true", &json!({ "source_code": "print(5)", "language_id": 71 })).await;
    assert_eq!(code, StatusCode::CREATED);
    let mut keys: Vec<&str> = created.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["compile_output", "memory", "message", "status", "stderr", "stdout", "time", "token"]);
    let token = created["token"].as_str().unwrap();
    let (_, some) = server.get(&format!("/submissions/{token}?fields=stdout,status_id,language")).await;
    assert_eq!(some, json!({ "stdout": "5\n", "status_id": 3, "language": some["language"].clone() }));
    assert!(some["language"]["name"].as_str().unwrap().starts_with("Python"), "{some}");
    let (_, all) = server.get(&format!("/submissions/{token}?fields=*")).await;
    for field in
        ["source_code", "language_id", "cpu_time_limit", "memory_limit", "wall_time", "exit_code", "created_at"]
    {
        assert!(all.get(field).is_some(), "{field} missing from fields=*: {all}");
    }
    assert_eq!(all["cpu_time_limit"], "5.0");
    assert_eq!(all["memory_limit"], 128000);
    assert_eq!(all["exit_code"], 0);
    // Without wait: 201 with the token only.
    let (code, json) = server.post("/submissions", &json!({ "source_code": "print(5)", "language_id": 71 })).await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(json.as_object().unwrap().keys().collect::<Vec<_>>(), ["token"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_create_and_read_several() {
    let server = Server::start(&[]).await;
    let body = json!({ "submissions": [
        { "source_code": "print(1)", "language_id": 71 },
        { "source_code": "x", "language_id": 12345 },
        { "source_code": "print(3)", "language_id": 113 },
    ]});
    let (code, created) = server.post("/submissions/batch", &body).await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    assert!(created[0]["token"].is_string() && created[2]["token"].is_string(), "{created}");
    assert!(created[1]["language_id"].is_array(), "a bad one is its own 422 body: {created}");
    let tokens = format!("{},nope,{}", created[0]["token"].as_str().unwrap(), created[2]["token"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, got) = server.get(&format!("/submissions/batch?tokens={tokens}&fields=stdout,status")).await;
        assert_eq!(code, StatusCode::OK, "{got}");
        let list = got["submissions"].as_array().unwrap();
        assert_eq!(list.len(), 3);
        assert!(list[1].is_null(), "an unknown token is null: {got}");
        if status(&list[0]) == 3 && status(&list[2]) == 3 {
            assert_eq!(list[0]["stdout"], "1\n");
            assert_eq!(list[2]["stdout"], "3\n");
            break;
        }
        assert!(Instant::now() < deadline, "{got}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (code, json) = server.get("/submissions/batch").await;
    assert_error(code, &json, StatusCode::BAD_REQUEST, "tokens");
    let too_many = json!({ "submissions": vec![json!({ "source_code": "print(1)", "language_id": 71 }); 21] });
    let (code, json) = server.post("/submissions/batch", &too_many).await;
    assert_error(code, &json, StatusCode::BAD_REQUEST, "between 1 and 20");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn auth_takes_x_auth_token_or_bearer() {
    let mut server = Server::start(&["--token", "t0ken"]).await;
    let (code, _) = server.get("/statuses").await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    server.token = Some("wrong".into());
    let (code, _) = server.get("/statuses").await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    server.token = Some("t0ken".into());
    let (code, json) = server.get("/statuses").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(json.as_array().unwrap().len(), 14);
    let bearer = server.client.get(server.url("/about")).bearer_auth("t0ken").send().await.unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
    // X-Auth-Token is Judge0's header: the native API keeps to Bearer.
    let native =
        server.client.get(format!("{}/languages", server.origin)).header("x-auth-token", "t0ken").send().await.unwrap();
    assert_eq!(native.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn catalogue_endpoints() {
    let server = Server::start(&[]).await;
    let (_, languages) = server.get("/languages").await;
    let ids: Vec<u64> = languages.as_array().unwrap().iter().map(|l| l["id"].as_u64().unwrap()).collect();
    for id in [50, 54, 62, 63, 71, 73, 103, 105, 113] {
        assert!(ids.contains(&id), "{id} missing: {languages}");
    }
    let (code, c) = server.get("/languages/50").await;
    assert_eq!(code, StatusCode::OK);
    assert!(c["name"].as_str().unwrap().starts_with("C (GCC "), "{c}");
    assert_eq!(c["source_file"], "main.c");
    let (code, _) = server.get("/languages/9999").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (_, statuses) = server.get("/statuses").await;
    let expected = [
        "In Queue",
        "Processing",
        "Accepted",
        "Wrong Answer",
        "Time Limit Exceeded",
        "Compilation Error",
        "Runtime Error (SIGSEGV)",
        "Runtime Error (SIGXFSZ)",
        "Runtime Error (SIGFPE)",
        "Runtime Error (SIGABRT)",
        "Runtime Error (NZEC)",
        "Runtime Error (Other)",
        "Internal Error",
        "Exec Format Error",
    ];
    for (i, description) in expected.iter().enumerate() {
        assert_eq!(statuses[i], json!({ "id": i + 1, "description": description }));
    }
    // Every key of Judge0's config_info (the official client refuses a partial one).
    let (_, config) = server.get("/config_info").await;
    let keys = [
        "allow_enable_network",
        "allow_enable_per_process_and_thread_memory_limit",
        "allow_enable_per_process_and_thread_time_limit",
        "allowed_languages_for_compile_options",
        "callbacks_max_tries",
        "callbacks_timeout",
        "cpu_extra_time",
        "cpu_time_limit",
        "enable_additional_files",
        "enable_batched_submissions",
        "enable_callbacks",
        "enable_command_line_arguments",
        "enable_compiler_options",
        "enable_network",
        "enable_per_process_and_thread_memory_limit",
        "enable_per_process_and_thread_time_limit",
        "enable_submission_delete",
        "enable_wait_result",
        "maintenance_mode",
        "max_cpu_extra_time",
        "max_cpu_time_limit",
        "max_extract_size",
        "max_file_size",
        "max_max_file_size",
        "max_max_processes_and_or_threads",
        "max_memory_limit",
        "max_number_of_runs",
        "max_processes_and_or_threads",
        "max_queue_size",
        "max_stack_limit",
        "max_submission_batch_size",
        "max_wall_time_limit",
        "memory_limit",
        "number_of_runs",
        "redirect_stderr_to_stdout",
        "stack_limit",
        "submission_cache_duration",
        "use_docs_as_homepage",
        "wall_time_limit",
    ];
    for key in keys {
        assert!(config.get(key).is_some(), "config_info lacks {key}: {config}");
    }
    assert_eq!(config["enable_network"], false);
    let (_, about) = server.get("/about").await;
    assert_eq!(about["version"], "1.14.0");
    let version = server.client.get(server.url("/version")).send().await.unwrap().text().await.unwrap();
    assert_eq!(version, "1.14.0");
}

/// Judge0 submissions live in the store: after a restart on the same
/// SQLite directory a finished one is still there, and one that was only
/// queued is run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn submissions_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap().to_string();
    let (done, queued) = {
        let server = Server::start(&["--data-dir", &dir, "--workers", "1"]).await;
        let finished =
            server.run(&json!({ "source_code": "print('kept')", "language_id": 71, "stdin": "in" }), false).await;
        let slow = json!({ "source_code": "import time\ntime.sleep(30)", "language_id": 71, "wall_time_limit": 20 });
        let (_, busy) = server.post("/submissions", &slow).await;
        let (_, waiting) =
            server.post("/submissions", &json!({ "source_code": "print('later')", "language_id": 71 })).await;
        let (_, before) = server.get(&format!("/submissions/{}", waiting["token"].as_str().unwrap())).await;
        assert_eq!(status(&before), 1, "{before} (busy: {busy})");
        (finished["token"].as_str().unwrap().to_string(), waiting["token"].as_str().unwrap().to_string())
        // Dropped: SIGKILL, mid-run.
    };
    let server = Server::start(&["--data-dir", &dir, "--workers", "1"]).await;
    let (code, kept) = server.get(&format!("/submissions/{done}?fields=*")).await;
    assert_eq!(code, StatusCode::OK, "{kept}");
    assert_eq!(kept["stdout"], "kept\n");
    assert_eq!(kept["stdin"], "in");
    assert_eq!(status(&kept), 3);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, later) = server.get(&format!("/submissions/{queued}")).await;
        if status(&later) == 3 {
            assert_eq!(later["stdout"], "later\n");
            break;
        }
        assert!(Instant::now() < deadline, "the queued submission never ran after the restart: {later}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A loopback endpoint that answers 204 to any request on `/hook`, keeping
/// each request's method and body; its port.
async fn hook() -> (u16, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::any(
                |axum::extract::State(seen): axum::extract::State<Seen>,
                 method: axum::http::Method,
                 body: axum::body::Bytes| async move {
                    seen.lock().unwrap().push((method.to_string(), body.to_vec()));
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, seen)
}

/// The first request `hook` got, waiting up to a minute for it.
async fn first_call(seen: &Seen) -> (String, Value) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((method, body)) = seen.lock().unwrap().first() {
            return (method.clone(), serde_json::from_slice(body).unwrap());
        }
        assert!(Instant::now() < deadline, "no callback came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `callback_url`: Judge0 PUTs the result (default fields, base64) there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn callbacks_are_put_with_the_judge0_result() {
    let (port, seen) = hook().await;
    let allow = format!("127.0.0.1:{port}");
    let server = Server::start(&["--callback-allow", &allow]).await;
    let url = format!("http://127.0.0.1:{port}/hook");
    let (code, created) = server
        .post("/submissions", &json!({ "source_code": "print('hi')", "language_id": 71, "callback_url": url }))
        .await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    let (method, result) = first_call(&seen).await;
    assert_eq!(method, "PUT");
    assert_eq!(result["token"], created["token"]);
    assert_eq!(result["status"]["id"], 3);
    assert_eq!(B64.decode(result["stdout"].as_str().unwrap()).unwrap(), b"hi\n");
}

/// A job whose node stopped while running it, restarted with
/// `--max-attempts 1`, ends as 13 Internal Error; its callback is still
/// Judge0's PUT, and GET still shows the request.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn out_of_attempts_is_internal_error_and_its_callback_a_judge0_put() {
    let (port, seen) = hook().await;
    let allow = format!("127.0.0.1:{port}");
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap().to_string();
    let slow = json!({
        "source_code": "import time\ntime.sleep(30)",
        "language_id": 71,
        "wall_time_limit": 20,
        "callback_url": format!("http://127.0.0.1:{port}/hook"),
    });
    let token = {
        let server = Server::start(&["--data-dir", &dir, "--workers", "1", "--callback-allow", &allow]).await;
        let (_, created) = server.post("/submissions", &slow).await;
        let token = created["token"].as_str().unwrap().to_string();
        let deadline = Instant::now() + Duration::from_secs(60);
        while status(&server.get(&format!("/submissions/{token}")).await.1) != 2 {
            assert!(Instant::now() < deadline, "never Processing");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        token
        // Dropped: SIGKILL, mid-run.
    };
    let server =
        Server::start(&["--data-dir", &dir, "--workers", "1", "--max-attempts", "1", "--callback-allow", &allow]).await;
    let (method, result) = first_call(&seen).await;
    assert_eq!(method, "PUT", "{result}");
    assert_eq!(result["token"], token.as_str());
    assert_eq!(result["status"]["id"], 13, "{result}");
    assert!(result["message"].as_str().unwrap().contains("--max-attempts 1"), "{result}");
    let (_, shown) = server.get(&format!("/submissions/{token}?fields=status_id,source_code,language_id")).await;
    assert_eq!(shown["status_id"], 13, "{shown}");
    assert_eq!(shown["source_code"], "import time\ntime.sleep(30)");
    assert_eq!(shown["language_id"], 71);
}
