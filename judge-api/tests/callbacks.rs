//! `callback_url` against a real local receiver: delivered once with a
//! valid signature, retried until a failing receiver accepts, refused at
//! submit for hosts outside `--callback-allow`, and refused at send time for
//! names that resolve to internal addresses the allow-list does not name.

#[path = "durability/node.rs"]
mod node;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use node::{Node, TempDir};
use serde_json::{json, Value};
use sha2::Sha256;

const AB: &str = "#include <stdio.h>\nint main(){long long a,b;scanf(\"%lld %lld\",&a,&b);printf(\"%lld\\n\",a+b);}";
const SECRET: &str = "callback-s3cret";

/// Path, signature header and body of one POST.
type Post = (String, Option<String>, Vec<u8>);

#[derive(Clone, Default)]
struct Receiver {
    /// Every POST, accepted or not.
    posts: Arc<Mutex<Vec<Post>>>,
}

async fn hook(
    State(receiver): State<Receiver>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let signature = headers.get("x-judge-signature").and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut posts = receiver.posts.lock().unwrap();
    posts.push((path.clone(), signature, body.to_vec()));
    let seen = posts.iter().filter(|(p, ..)| *p == path).count();
    // "flaky" fails its first two deliveries.
    if path == "flaky" && seen <= 2 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

async fn start_receiver() -> (Receiver, u16) {
    let receiver = Receiver::default();
    let app = Router::new().route("/hook/{path}", post(hook)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (receiver, port)
}

fn verify(signature: &str, body: &[u8]) {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(signature, expected, "the signature does not match the body");
}

fn submission(url: &str) -> Value {
    json!({
        "language": "c", "source": AB, "wait": false, "callback_url": url,
        "tests": [{"input": "1 2\n", "answer": "3\n"}],
    })
}

async fn posts_to(receiver: &Receiver, path: &str, count: usize) -> Vec<(Option<String>, Vec<u8>)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let posts: Vec<_> = receiver
            .posts
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, ..)| p == path)
            .map(|(_, s, b)| (s.clone(), b.clone()))
            .collect();
        if posts.len() >= count {
            return posts;
        }
        assert!(Instant::now() < deadline, "{} of {count} callbacks to {path} in time", posts.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn callbacks_are_signed_retried_and_only_to_allowed_hosts() {
    let (receiver, port) = start_receiver().await;
    let data = TempDir::new("callbacks");
    let args: Vec<String> = [
        "--data-dir",
        data.0.to_str().unwrap(),
        "--callback-allow",
        &format!("127.0.0.1:{port}"),
        "--callback-secret",
        SECRET,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let node = Node::start("callbacks", &args).await;

    // Delivered once, signed, with the same object GET gives.
    let answer = node.submit(&submission(&format!("http://127.0.0.1:{port}/hook/ok"))).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let id = answer.json["id"].as_str().unwrap().to_string();
    let posts = posts_to(&receiver, "ok", 1).await;
    let (signature, body) = &posts[0];
    verify(signature.as_deref().expect("signed"), body);
    let delivered: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(delivered["id"], id.as_str());
    assert_eq!(delivered["verdict"], "AC");
    assert_eq!(delivered, node.get(&format!("/submissions/{id}")).await.json);

    // A receiver that fails twice gets the result on the third try.
    let started = Instant::now();
    let answer = node.submit(&submission(&format!("http://127.0.0.1:{port}/hook/flaky"))).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let posts = posts_to(&receiver, "flaky", 3).await;
    let (signature, body) = &posts[2];
    verify(signature.as_deref().unwrap(), body);
    assert_eq!(serde_json::from_slice::<Value>(body).unwrap()["verdict"], "AC");
    eprintln!("flaky receiver: accepted after {:.1} s", started.elapsed().as_secs_f64());

    // Nothing more arrives for either.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(posts_to(&receiver, "ok", 1).await.len(), 1, "delivered once");
    assert_eq!(posts_to(&receiver, "flaky", 3).await.len(), 3, "no delivery after the accepted one");

    // Hosts outside --callback-allow, and odd URLs, are refused at submit.
    for (url, needle) in [
        (format!("http://localhost:{port}/hook/x"), "not allowed"),
        (format!("http://127.0.0.1:{}/hook/x", port + 1), "not allowed"),
        ("http://internal.example/hook".to_string(), "not allowed"),
        ("file:///etc/passwd".to_string(), "http"),
        ("not a url".to_string(), "callback_url"),
    ] {
        let refused = node.submit(&submission(&url)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{url}: {}", refused.text);
        let message = refused.json["error"].as_str().unwrap();
        assert!(message.contains(needle), "{url}: {message}");
    }
    let unsent: Vec<String> = receiver.posts.lock().unwrap().iter().map(|(p, ..)| p.clone()).collect();
    assert!(!unsent.contains(&"x".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_callback_allow_no_callback_is_taken() {
    let data = TempDir::new("no-callbacks");
    let node = Node::start("no-callbacks", &["--data-dir".to_string(), data.0.display().to_string()]).await;
    let refused = node.submit(&submission("http://127.0.0.1:9/hook/x")).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.json["error"].as_str().unwrap().contains("allowed (--callback-allow): none"), "{}", refused.text);
}

/// A callback still pending when the server is SIGKILLed is delivered after
/// the restart: its state is in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pending_callback_survives_a_restart() {
    // A port with nobody listening yet: deliveries fail (connection refused).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let data = TempDir::new("callback-restart");
    let args: Vec<String> = ["--data-dir", data.0.to_str().unwrap(), "--callback-allow", &format!("127.0.0.1:{port}")]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut first = Node::start("before", &args).await;
    let answer = first.submit(&submission(&format!("http://127.0.0.1:{port}/hook/late"))).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !first.logs().contains("callback failed, retrying") {
        assert!(Instant::now() < deadline, "no failed delivery");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();

    let receiver = Receiver::default();
    let app = Router::new().route("/hook/{path}", post(hook)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let second = Node::start("after", &args).await;
    let posts = posts_to(&receiver, "late", 1).await;
    let delivered: Value = serde_json::from_slice(&posts[0].1).unwrap();
    assert_eq!(delivered["id"], answer.json["id"]);
    assert_eq!(delivered["verdict"], "AC");
    assert!(second.logs().contains("callback delivered"));
}

/// A host allowed by name is resolved when the delivery is sent: an
/// internal address it resolves to is refused unless the allow-list names
/// that address; literal internal addresses are refused at submit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn internal_addresses_need_to_be_named_in_the_allow_list() {
    let (receiver, named_port) = start_receiver().await;
    let (unnamed, unnamed_port) = start_receiver().await;
    let data = TempDir::new("callback-addresses");
    let allow = format!("*,127.0.0.1:{named_port}");
    let args: Vec<String> =
        ["--data-dir", data.0.to_str().unwrap(), "--callback-allow", &allow].iter().map(|s| s.to_string()).collect();
    let node = Node::start("callback-addresses", &args).await;

    // `*` admits the name localhost; only the port whose address is listed gets the result.
    let refused = node.submit(&submission(&format!("http://localhost:{unnamed_port}/hook/unnamed"))).await;
    assert_eq!(refused.status, StatusCode::ACCEPTED, "{}", refused.text);
    let delivered = node.submit(&submission(&format!("http://localhost:{named_port}/hook/named"))).await;
    assert_eq!(delivered.status, StatusCode::ACCEPTED, "{}", delivered.text);
    let posts = posts_to(&receiver, "named", 1).await;
    assert_eq!(serde_json::from_slice::<Value>(&posts[0].1).unwrap()["id"], delivered.json["id"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !node.logs().contains("callback refused") {
        assert!(Instant::now() < deadline, "no refusal logged:\n{}", node.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(node.logs().contains("localhost resolves to 127.0.0.1"), "{}", node.logs());
    // Refused for good: not retried.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(unnamed.posts.lock().unwrap().is_empty(), "a callback reached an address the list does not name");
    assert_eq!(node.logs().matches("callback refused").count(), 1, "{}", node.logs());

    // Internal address literals are refused at submit, however they are written.
    for url in [
        format!("http://127.0.0.1:{unnamed_port}/hook/x"),
        format!("http://[::ffff:127.0.0.1]:{unnamed_port}/hook/x"),
        "http://169.254.169.254/latest/meta-data".to_string(),
        "http://[::1]/hook".to_string(),
        "http://0.0.0.0/hook".to_string(),
        "http://10.0.0.1/hook".to_string(),
    ] {
        let answer = node.submit(&submission(&url)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{url}: {}", answer.text);
        assert!(answer.json["error"].as_str().unwrap().contains("internal address"), "{url}: {}", answer.text);
    }
    // The listed address itself is allowed as a literal too.
    let literal = node.submit(&submission(&format!("http://127.0.0.1:{named_port}/hook/literal"))).await;
    assert_eq!(literal.status, StatusCode::ACCEPTED, "{}", literal.text);
    posts_to(&receiver, "literal", 1).await;
}
