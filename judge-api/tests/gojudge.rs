//! The go-judge API (`/go-judge/...`) over raw HTTP, for what go-judge's
//! Python client does not exercise: pipeMapping, copyOutCached → fileId,
//! every status string, hostile names, symlinked copyOut files, oversized
//! bodies, a full file cache, the token. The client itself is driven in
//! `gojudge_client.rs`.

#[path = "gojudge/fixture.rs"]
mod fixture;

use fixture::{assert_error, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};

const SUM_CPP: &str = "#include <iostream>\nint main(){long long a,b;std::cin>>a>>b;std::cout<<a+b<<std::endl;}";

fn collect() -> Value {
    json!([{"content": ""}, {"name": "stdout", "max": 10240}, {"name": "stderr", "max": 10240}])
}

fn sh(script: &str) -> Value {
    json!({"args": ["/bin/sh", "-c", script], "files": collect(), "cpuLimit": 2_000_000_000u64, "memoryLimit": 128 << 20})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn interactive_pair_through_pipe_mapping() {
    let server = Server::start(&[]).await;
    // The program doubles what it reads; the interactor asks three times and checks.
    let program = "while read x; do echo $((x*2)); done";
    let interactor =
        "for q in 1 21 500; do echo $q; read a; [ \"$a\" = $((q*2)) ] || exit 1; done; echo verdict ok >&2";
    for proxy in [false, true] {
        let body = json!({
            "cmd": [
                {"args": ["sh", "-c", program], "files": [null, null, {"name": "stderr", "max": 100}]},
                {"args": ["sh", "-c", interactor], "files": [null, null, {"name": "stderr", "max": 100}]},
            ],
            "pipeMapping": [
                {"in": {"index": 0, "fd": 1}, "out": {"index": 1, "fd": 0}, "proxy": proxy, "name": "answers", "max": 4},
                {"in": {"index": 1, "fd": 1}, "out": {"index": 0, "fd": 0}},
            ],
        });
        let results = server.run_ok(&body).await;
        assert_eq!(results.len(), 2);
        for result in &results {
            assert_eq!(result["status"], "Accepted", "proxy {proxy}: {result}");
        }
        assert_eq!(results[1]["files"]["stderr"], "verdict ok\n");
        // With proxy, what the program wrote is recorded (up to max) under the name.
        let transcript = &results[0]["files"]["answers"];
        if proxy {
            assert_eq!(transcript, "2\n42", "{}", results[0]);
        } else {
            assert!(transcript.is_null(), "{}", results[0]);
        }
    }
    // A wrong answer: the interactor exits 1; the program sees EOF and ends.
    let body = json!({
        "cmd": [
            {"args": ["sh", "-c", "read x; echo 7"]},
            {"args": ["sh", "-c", "echo 1; read a; [ \"$a\" = 2 ]"]},
        ],
        "pipeMapping": [
            {"in": {"index": 0, "fd": 1}, "out": {"index": 1, "fd": 0}},
            {"in": {"index": 1, "fd": 1}, "out": {"index": 0, "fd": 0}},
        ],
    });
    let results = server.run_ok(&body).await;
    assert_eq!(results[1]["status"], "Nonzero Exit Status");
    assert_eq!(results[1]["exitStatus"], 1);

    // The reader leaves early: a plain pipe gives the writer SIGPIPE; through
    // the proxy the rest is drained, as in go-judge, and the writer ends normally.
    for (proxy, status) in [(false, "Signalled"), (true, "Accepted")] {
        let body = json!({
            "cmd": [{"args": ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done"]},
                    {"args": ["sh", "-c", "read first"]}],
            "pipeMapping": [{"in": {"index": 0, "fd": 1}, "out": {"index": 1, "fd": 0}, "proxy": proxy}],
        });
        let results = server.run_ok(&body).await;
        assert_eq!(results[1]["status"], "Accepted", "{}", results[1]);
        assert_eq!(results[0]["status"], status, "proxy {proxy}: {}", results[0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copy_out_cached_binary_is_reused_by_file_id() {
    let server = Server::start(&[]).await;
    let compile = json!({"cmd": [{
        "args": ["g++", "a.cc", "-o", "a"], "env": ["PATH=/usr/bin:/bin"], "files": collect(),
        "cpuLimit": 30_000_000_000u64, "clockLimit": 60_000_000_000u64, "memoryLimit": 512 << 20, "procLimit": 50,
        "copyIn": {"a.cc": {"content": SUM_CPP}}, "copyOut": ["stdout", "stderr"], "copyOutCached": ["a", "missing?"],
    }]});
    let compiled = server.run_ok(&compile).await;
    assert_eq!(compiled[0]["status"], "Accepted", "{}", compiled[0]);
    let id = compiled[0]["fileIds"]["a"].as_str().expect("fileIds.a").to_string();
    assert!(compiled[0]["fileIds"].get("missing").is_none(), "an optional missing file has no id");

    let (status, list) = server.get_json("/file").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[&id], "a", "{list}");
    let binary = server.client.get(server.url(&format!("/file/{id}"))).send().await.unwrap();
    assert_eq!(binary.status(), StatusCode::OK);
    assert!(binary.bytes().await.unwrap().starts_with(b"\x7fELF"));

    for (input, sum) in [("1 2", "3\n"), ("40 2", "42\n"), ("-5 5", "0\n")] {
        let run = json!({"cmd": [{
            "args": ["./a"], "env": ["PATH=/usr/bin:/bin"],
            "files": [{"content": input}, {"name": "stdout", "max": 100}, {"name": "stderr", "max": 100}],
            "cpuLimit": 1_000_000_000u64, "memoryLimit": 64 << 20, "procLimit": 5,
            "copyIn": {"a": {"fileId": id}},
        }]});
        let result = &server.run_ok(&run).await[0];
        assert_eq!(result["status"], "Accepted", "{result}");
        assert_eq!(result["files"]["stdout"], sum);
        assert!(result["time"].as_u64().unwrap() > 0 && result["memory"].as_u64().unwrap() > 0, "{result}");
    }

    let deleted = server.client.delete(server.url(&format!("/file/{id}"))).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let (status, json) = server.get_json(&format!("/file/{id}")).await;
    assert_error(status, &json, StatusCode::NOT_FOUND, &id);
    let gone = json!({"cmd": [{"args": ["./a"], "copyIn": {"a": {"fileId": id}}}]});
    let result = &server.run_ok(&gone).await[0];
    assert_eq!(result["status"], "File Error", "{result}");
    assert_eq!(result["fileError"][0]["type"], "CopyInOpenFile");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_status_string() {
    let server = Server::start(&[]).await;
    let mut tle = sh("while :; do :; done");
    tle["cpuLimit"] = json!(300_000_000u64);
    let mut mle = json!({"args": ["/usr/bin/python3", "-c", "x = bytearray(300 << 20)"], "files": collect()});
    mle["memoryLimit"] = json!(64 << 20);
    let mut ole = sh("yes");
    ole["files"][1]["max"] = json!(1000);
    let cases = [
        (sh("echo hi"), "Accepted", 0),
        (sh("exit 3"), "Nonzero Exit Status", 3),
        (sh("kill -SEGV $$"), "Signalled", 11),
        (tle, "Time Limit Exceeded", -1),
        (mle, "Memory Limit Exceeded", -1),
        (ole, "Output Limit Exceeded", -1),
        (json!({"args": ["cat", "x"], "copyIn": {"x": {"fileId": "NOSUCHFILE000000"}}}), "File Error", 0),
        (json!({"args": ["/no/such/program"]}), "Internal Error", 0),
    ];
    for (cmd, expected, exit) in cases {
        let result = &server.run_ok(&json!({"cmd": [cmd]})).await[0];
        assert_eq!(result["status"], expected, "{result}");
        if exit >= 0 {
            assert_eq!(result["exitStatus"], exit, "{result}");
        }
        for field in ["exitStatus", "time", "memory", "runTime"] {
            assert!(result[field].is_number(), "{field} missing: {result}");
        }
        assert!(result["files"].is_object(), "{result}");
        match expected {
            "Accepted" => assert_eq!(result["files"]["stdout"], "hi\n"),
            "Output Limit Exceeded" => assert_eq!(result["files"]["stdout"].as_str().unwrap().len(), 1000),
            "Internal Error" | "File Error" => assert!(!result["error"].as_str().unwrap_or("").is_empty()),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_names_and_host_paths_are_refused() {
    let server = Server::start(&[]).await;
    for name in ["../x", "/etc/x", "a\0b", "a/../../x", ""] {
        let body = json!({"cmd": [{"args": ["true"], "copyIn": {name: {"content": "x"}}}]});
        let (status, json) = server.run(&body).await;
        assert_error(status, &json, StatusCode::BAD_REQUEST, "cmd[0].copyIn");
        let body = json!({"cmd": [{"args": ["true"], "copyOut": [name]}]});
        let (status, json) = server.run(&body).await;
        assert_error(status, &json, StatusCode::BAD_REQUEST, "cmd[0].copyOut");
    }
    for file in [json!({"src": "/etc/shadow"})] {
        let (status, json) = server.run(&json!({"cmd": [{"args": ["cat", "x"], "copyIn": {"x": file}}]})).await;
        assert_error(status, &json, StatusCode::BAD_REQUEST, "src");
        let (status, json) = server.run(&json!({"cmd": [{"args": ["cat"], "files": [file]}]})).await;
        assert_error(status, &json, StatusCode::BAD_REQUEST, "src");
    }
    let (status, json) = server.run(&json!({"cmd": [{"args": ["true"], "copyOutDir": "/tmp"}]})).await;
    assert_error(status, &json, StatusCode::BAD_REQUEST, "copyOutDir");
    let (status, json) = server.run(&json!({"cmd": [{"args": ["cat"], "files": [{"streamIn": "in"}]}]})).await;
    assert_error(status, &json, StatusCode::BAD_REQUEST, "streams");
    for (field, value) in [("cpuLimit", json!(u64::MAX)), ("memoryLimit", json!(1)), ("procLimit", json!(1u64 << 40))] {
        let (status, json) = server.run(&json!({"cmd": [{"args": ["true"], field: value}]})).await;
        assert_error(status, &json, StatusCode::BAD_REQUEST, &format!("cmd[0].{field}"));
    }
    let (status, json) = server.run(&json!({"cmd": [{"args": ["true"], "cpuLimit": -1}]})).await;
    assert_error(status, &json, StatusCode::BAD_REQUEST, "cpuLimit");
    let response = server.client.post(server.url("/run")).body("{not json").send().await.unwrap();
    let status = response.status();
    assert_error(status, &response.json().await.unwrap(), StatusCode::BAD_REQUEST, "go-judge run request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copy_out_symlinks_fifos_and_dirs_are_file_errors() {
    let server = Server::start(&[]).await;
    // A host file the sandboxed program must never get back through a link.
    let secret = std::env::temp_dir().join(format!("gojudge-secret-{}", std::process::id()));
    std::fs::write(&secret, "HOST_SECRET_5c1e\n").unwrap();
    let script = format!("ln -s {} out; ln -s /etc etc; mkfifo fifo; mkdir dir; echo fine > good", secret.display());
    let mut cmd = sh(&script);
    cmd["copyOut"] = json!(["out", "etc/passwd", "fifo", "dir", "good", "absent?"]);
    cmd["copyOutCached"] = json!(["out"]);
    let result = server.run_ok(&json!({"cmd": [cmd]})).await.remove(0);
    std::fs::remove_file(&secret).unwrap();
    assert_eq!(result["status"], "File Error", "{result}");
    assert!(!result.to_string().contains("HOST_SECRET"), "a host file leaked: {result}");
    assert!(!result.to_string().contains("root:"), "/etc/passwd leaked: {result}");
    assert_eq!(result["files"]["good"], "fine\n");
    assert!(result.get("fileIds").is_none(), "{result}");
    let errors = result["fileError"].as_array().unwrap();
    let kind_of =
        |name: &str| errors.iter().find(|e| e["name"] == name).map(|e| e["type"].clone()).unwrap_or(Value::Null);
    for name in ["out", "etc/passwd", "fifo", "dir"] {
        assert_eq!(kind_of(name), "CopyOutNotRegularFile", "{name}: {result}");
    }
    assert_eq!(kind_of("absent"), Value::Null, "an optional missing file is no error");

    // copyIn symlinks: made for the program, never followed by the judge.
    let mut cmd = sh("cat alias");
    cmd["copyIn"] = json!({"real.txt": {"content": "via link"}, "alias": {"symlink": "real.txt"}});
    cmd["copyOut"] = json!(["alias"]);
    let result = server.run_ok(&json!({"cmd": [cmd]})).await.remove(0);
    assert_eq!(result["fileError"][0]["type"], "CopyOutNotRegularFile", "{result}");
    assert_eq!(result["files"]["stdout"], "via link", "the program reads through its link: {result}");
    // A file is never written through a link, whatever the names.
    let escape = format!("gojudge-escape-{}", std::process::id());
    let mut cmd = sh("true");
    cmd["copyIn"] = json!({"d": {"symlink": "/tmp"}, format!("d/{escape}"): {"content": "x"}});
    let result = server.run_ok(&json!({"cmd": [cmd]})).await.remove(0);
    assert_eq!(result["status"], "File Error", "{result}");
    assert_eq!(result["fileError"][0]["type"], "CopyInSymlink", "{result}");
    assert!(!std::env::temp_dir().join(&escape).exists());
}

/// A multipart/form-data body with one field `file`.
fn multipart(name: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = "gojudgeTestBoundary7d1";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oversized_bodies_and_a_full_file_cache_are_4xx() {
    let server = Server::start(&["--max-body-mib", "4", "--file-cache-mib", "1"]).await;
    let upload = |name: &str, size: usize| {
        let (content_type, body) = multipart(name, &vec![b'x'; size]);
        server.client.post(server.url("/file")).header("content-type", content_type).body(body).send()
    };
    // Over the body limit; on a connection of its own, which the server
    // closes without reading the rest of the body.
    let big = json!({"cmd": [{"args": ["cat"], "files": [{"content": "y".repeat(5 << 20)}]}]});
    let response = reqwest::Client::new().post(server.url("/run")).json(&big).send().await.unwrap();
    let status = response.status();
    assert_error(status, &response.json().await.unwrap(), StatusCode::PAYLOAD_TOO_LARGE, "max-body-mib");
    // Under the body limit, over the cache.
    let response = upload("huge", 2 << 20).await.unwrap();
    let status = response.status();
    assert_error(status, &response.json().await.unwrap(), StatusCode::PAYLOAD_TOO_LARGE, "file-cache-mib");
    // Filling the cache evicts the least recently used file.
    let mut ids = Vec::new();
    for i in 0..3 {
        let response = upload(&format!("part{i}"), 400 << 10).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        ids.push(response.json::<String>().await.unwrap());
    }
    let (_, list) = server.get_json("/file").await;
    assert_eq!(list.as_object().unwrap().len(), 2, "{list}");
    assert!(list.get(&ids[0]).is_none() && list[&ids[2]] == "part2", "{list}");
    let (status, json) = server.get_json(&format!("/file/{}", ids[0])).await;
    assert_error(status, &json, StatusCode::NOT_FOUND, "evicted");
    // A program's output too large for the cache is a file error, not a crash.
    let mut cmd = sh("head -c 2000000 /dev/zero > big");
    cmd["copyOutCached"] = json!(["big"]);
    let result = server.run_ok(&json!({"cmd": [cmd]})).await.remove(0);
    assert_eq!(result["status"], "File Error", "{result}");
    assert_eq!(result["fileError"][0]["type"], "CopyOutCreateFile", "{result}");
    // A form without the field, and no form at all.
    let (content_type, body) = multipart("x", b"data");
    let wrong = String::from_utf8(body).unwrap().replace("name=\"file\"", "name=\"other\"");
    let response =
        server.client.post(server.url("/file")).header("content-type", content_type).body(wrong).send().await.unwrap();
    let status = response.status();
    assert_error(status, &response.json().await.unwrap(), StatusCode::BAD_REQUEST, "no field named \"file\"");
    let response = server.client.post(server.url("/file")).body("plain").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Still serving.
    let (status, _) = server.get_json("/version").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn version_config_and_the_token() {
    let server = Server::start(&["--token", "gj-s3cret"]).await;
    let response = server.client.get(server.url("/version")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = server.client.post(server.url("/run")).json(&json!({"cmd": [sh("true")]})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let authorized = |path: &str| server.client.get(server.url(path)).bearer_auth("gj-s3cret").send();
    let version: Value = authorized("/version").await.unwrap().json().await.unwrap();
    assert_eq!(version["copyOutOptional"], true);
    assert_eq!(version["pipeProxy"], true);
    assert_eq!(version["symlink"], true);
    assert!(version["buildVersion"].is_string());
    let config: Value = authorized("/config").await.unwrap().json().await.unwrap();
    assert_eq!(config["copyOutOptional"], true);
    assert!(config["runnerConfig"].is_object(), "{config}");
    let files: Value = authorized("/file").await.unwrap().json().await.unwrap();
    assert_eq!(files, json!({}));
}
