//! Durability of `judge serve`'s store with real servers: SIGKILL in the
//! middle of grading, restart, and count what was lost, graded twice or
//! ended as IE (all must be zero).

mod node;
mod postgres;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use node::{Node, TempDir};
use postgres::Postgres;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// One test at a time: they kill servers mid-grading and count what
/// happened, which needs the machine's 2 cores to themselves.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A + B that takes ~100 ms of wall time, so some are running at any moment.
const SLOW_AB: &str = "#include <stdio.h>\n#include <unistd.h>\n\
    int main(){long long a,b;scanf(\"%lld %lld\",&a,&b);usleep(100000);printf(\"%lld\\n\",a+b);}";

pub fn ab(source: &str, i: usize) -> Value {
    json!({
        "language": "c",
        "source": source,
        "wait": false,
        "tests": [{"name": "1", "input": format!("{i} 1\n"), "answer": format!("{}\n", i + 1)}],
        "limits": {"time_limit": 2.0, "memory": 64},
    })
}

/// Polls until every id is done on `node`; their final answers by id.
pub async fn all_done(node: &Node, ids: &[String], timeout: Duration) -> HashMap<String, Value> {
    let deadline = Instant::now() + timeout;
    let mut done = HashMap::new();
    while done.len() < ids.len() {
        for id in ids {
            if done.contains_key(id) {
                continue;
            }
            let answer = node.get(&format!("/submissions/{id}")).await;
            if answer.json["status"] == "done" {
                done.insert(id.clone(), answer.json);
            }
        }
        if done.len() < ids.len() {
            assert!(Instant::now() < deadline, "{} of {} done in time", done.len(), ids.len());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    done
}

/// How many ids have each count of "graded" lines over these logs.
pub fn graded_counts(nodes: &[Vec<String>], ids: &[String]) -> BTreeMap<usize, usize> {
    let mut per_id: HashMap<&str, usize> = ids.iter().map(|id| (id.as_str(), 0)).collect();
    for graded in nodes {
        for id in graded {
            if let Some(count) = per_id.get_mut(id.as_str()) {
                *count += 1;
            }
        }
    }
    let mut histogram = BTreeMap::new();
    for count in per_id.values() {
        *histogram.entry(*count).or_insert(0) += 1;
    }
    histogram
}

/// 100 submissions queued, SIGKILL while some run, restart on the same
/// store: all 100 done, each result recorded once, none IE.
pub async fn restart_loses_nothing(store_args: Vec<String>, label: &str) {
    const TOTAL: usize = 100;
    let mut args = store_args.clone();
    args.extend(["--workers", "2", "--queue", "200", "--lease-secs", "2"].map(String::from));
    let mut first = Node::start(&format!("{label}-a"), &args).await;
    let mut ids = Vec::new();
    for i in 0..TOTAL {
        let answer = first.submit(&ab(SLOW_AB, i)).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
        ids.push(answer.json["id"].as_str().unwrap().to_string());
    }
    // Kill it once some are done and some running.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let graded = first.graded_ids().len();
        if graded >= 10 && first.metric("judge_workers_busy").await >= 1.0 {
            break;
        }
        assert!(Instant::now() < deadline, "grading did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();
    let before: Vec<String> = first.graded_ids();
    eprintln!("{label}: SIGKILL after {} of {TOTAL} graded", before.len());

    let second = Node::start(&format!("{label}-b"), &args).await;
    let done = all_done(&second, &ids, Duration::from_secs(240)).await;
    // Log lines trail the commits they report.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = second.graded_ids();
    let counts = graded_counts(&[before.clone(), after.clone()], &ids);
    let ie = done.values().filter(|v| v["verdict"] == "IE" || v.get("error").is_some()).count();
    let wrong: Vec<&Value> = done.values().filter(|v| v["verdict"] != "AC").collect();
    let lost = TOTAL - done.len();
    let duplicated: usize = counts.iter().filter(|(n, _)| **n > 1).map(|(_, ids)| ids).sum();
    let unrecorded = counts.get(&0).copied().unwrap_or(0);
    eprintln!(
        "{label} restart: submissions {TOTAL}, graded before kill {}, after restart {}, lost {lost}, \
         duplicated {duplicated}, unrecorded {unrecorded}, IE {ie}",
        before.len(),
        after.len()
    );
    assert_eq!(lost, 0);
    assert_eq!(duplicated, 0, "{counts:?}");
    // A result committed just before the SIGKILL has no log line: at most
    // one per worker of the killed node.
    assert!(unrecorded <= 2, "{counts:?}");
    assert_eq!(ie, 0);
    assert!(wrong.is_empty(), "{wrong:?}");
    assert!(second.logs().contains("put back"), "the restart found no interrupted job: {}", second.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_restart_after_sigkill_loses_nothing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let data = TempDir::new("sqlite");
    let args = vec!["--data-dir".to_string(), data.0.display().to_string()];
    restart_loses_nothing(args, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restart_after_sigkill_loses_nothing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let pg = Postgres::start();
    restart_loses_nothing(vec!["--database".into(), pg.url()], "pg").await;
}

fn pg_args(pg: &Postgres, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--database".to_string(), pg.url()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// A node without workers answers `wait: true` with the result another
/// node graded, and `GET /submissions/{id}` works on every node.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wait_works_on_any_node() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let pg = Postgres::start();
    // A callback receiver, to see deliveries work on PostgreSQL too.
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let hook = {
        let received = received.clone();
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: axum::Json<Value>| async move {
                received.lock().unwrap().push(body.0);
                StatusCode::NO_CONTENT
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });
    let allow = format!("127.0.0.1:{port}");
    let front = Node::start("front", &pg_args(&pg, &["--workers", "0", "--callback-allow", &allow])).await;
    // Any node may deliver a callback, so every node's allow-list names the receiver.
    let back = Node::start("back", &pg_args(&pg, &["--workers", "2", "--callback-allow", &allow])).await;
    let mut body = ab(SLOW_AB, 41);
    body["wait"] = json!(true);
    body["callback_url"] = json!(format!("http://127.0.0.1:{port}/hook"));
    let started = Instant::now();
    let answer = front.submit(&body).await;
    let took = started.elapsed();
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["verdict"], "AC", "{}", answer.text);
    let id = answer.json["id"].as_str().unwrap().to_string();
    // The grading node logs after it commits, so its line may trail the answer.
    let deadline = Instant::now() + Duration::from_secs(5);
    while back.graded_ids().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(back.graded_ids(), vec![id.clone()], "the node with workers graded it");
    assert!(front.graded_ids().is_empty());
    let elsewhere = back.get(&format!("/submissions/{id}")).await;
    assert_eq!(elsewhere.json, answer.json);

    // A package uploaded to one node is graded by another, which fetches it
    // from the database by hash.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in [
        ("problem.yaml", "name: Sum\nlimits:\n  time_limit: 2\n"),
        ("data/secret/1.in", "40 2\n"),
        ("data/secret/1.ans", "42\n"),
    ] {
        zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut zip, text.as_bytes()).unwrap();
    }
    let archive = zip.finish().unwrap().into_inner();
    let uploaded = front.client.put(front.url("/problems/sum")).body(archive).send().await.unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let named = front.submit(&json!({"language": "c", "source": SLOW_AB, "problem": "sum", "wait": true})).await;
    assert_eq!(named.json["verdict"], "AC", "{}", named.text);
    assert_eq!(back.get("/problems/sum").await.json["package"], named.json["package"]);
    eprintln!("wait on a node without workers: {} ms", took.as_millis());
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no callback");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(received.lock().unwrap()[0], answer.json, "one callback with the result");
    assert_eq!(received.lock().unwrap().len(), 1);
    let health = front.get("/healthz").await;
    assert_eq!(health.json["workers"], 0);
    assert_eq!(health.json["queue_depth"], 0);
}

/// Three nodes on one PostgreSQL, 300 submissions spread over them, one
/// node SIGKILLed in the middle: all 300 done exactly once, no IE, and both
/// survivors graded some.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_one_killed_lose_nothing() {
    const TOTAL: usize = 300;
    let _turn = ONE_AT_A_TIME.lock().await;
    let pg = Postgres::start();
    let args = pg_args(&pg, &["--workers", "2", "--queue", "400", "--lease-secs", "2"]);
    let mut nodes = Vec::new();
    for name in ["n1", "n2", "n3"] {
        nodes.push(Node::start(name, &args).await);
    }
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..TOTAL {
        let answer = nodes[i % 3].submit(&ab(SLOW_AB, i)).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
        ids.push(answer.json["id"].as_str().unwrap().to_string());
    }
    let depth = nodes[2].get("/healthz").await.json["queue_depth"].as_u64().unwrap();
    assert!(depth > 0, "the cluster's queue is seen from every node");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let graded: usize = nodes.iter().map(|n| n.graded_ids().len()).sum();
        if graded >= TOTAL / 3 && nodes[0].metric("judge_workers_busy").await >= 1.0 {
            break;
        }
        assert!(Instant::now() < deadline, "grading did not get going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    nodes[0].kill();
    let killed_graded = nodes[0].graded_ids();
    eprintln!(
        "three nodes: SIGKILL n1 after {} graded in all",
        nodes.iter().map(|n| n.graded_ids().len()).sum::<usize>()
    );
    let done = all_done(&nodes[1], &ids, Duration::from_secs(300)).await;
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let graded: Vec<Vec<String>> = vec![killed_graded.clone(), nodes[1].graded_ids(), nodes[2].graded_ids()];
    let counts = graded_counts(&graded, &ids);
    let lost = TOTAL - done.len();
    let duplicated: usize = counts.iter().filter(|(n, _)| **n > 1).map(|(_, ids)| ids).sum();
    let unrecorded = counts.get(&0).copied().unwrap_or(0);
    let ie = done.values().filter(|v| v["verdict"] == "IE" || v.get("error").is_some()).count();
    let wrong = done.values().filter(|v| v["verdict"] != "AC").count();
    eprintln!(
        "three nodes: submissions {TOTAL}, graded by n1 (killed) {}, n2 {}, n3 {}, lost {lost}, duplicated \
         {duplicated}, unrecorded {unrecorded}, IE {ie}, {:.1} s",
        graded[0].len(),
        graded[1].len(),
        graded[2].len(),
        elapsed.as_secs_f64()
    );
    assert_eq!(lost, 0);
    assert_eq!(duplicated, 0, "{counts:?}");
    assert!(unrecorded <= 2, "{counts:?} (only a commit just before the SIGKILL may lack its log line)");
    assert_eq!(ie, 0);
    assert_eq!(wrong, 0);
    assert!(!graded[1].is_empty() && !graded[2].is_empty(), "both survivors graded some");
    // Answers agree on every node.
    let id = &ids[0];
    assert_eq!(nodes[2].get(&format!("/submissions/{id}")).await.json, done[id]);
}

/// The database is down for 10 s while submissions keep coming: only 503s
/// (with Retry-After and a JSON error) during the outage, never a 500 or a
/// hang, nothing accepted is lost, and grading resumes by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_down_for_10_s_under_load() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let pg = Postgres::start();
    let node = std::sync::Arc::new(
        Node::start("solo", &pg_args(&pg, &["--workers", "2", "--queue", "1000", "--lease-secs", "3"])).await,
    );
    let first = node.submit(&ab(SLOW_AB, 0)).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text);
    let first_id = first.json["id"].as_str().unwrap().to_string();
    // Four clients submit for 20 s; the database is down from 3 s to 13 s.
    const CLIENTS: usize = 4;
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let node = node.clone();
            tokio::spawn(async move {
                let (mut accepted, mut unavailable, mut other, mut slowest) =
                    (Vec::new(), 0, Vec::new(), Duration::ZERO);
                let mut i = client;
                while started.elapsed() < Duration::from_secs(20) {
                    let sent = Instant::now();
                    let answer = node.submit(&ab(SLOW_AB, i)).await;
                    slowest = slowest.max(sent.elapsed());
                    i += CLIENTS;
                    match answer.status {
                        StatusCode::ACCEPTED => accepted.push(answer.json["id"].as_str().unwrap().to_string()),
                        StatusCode::SERVICE_UNAVAILABLE => {
                            unavailable += 1;
                            assert!(answer.json["error"].is_string(), "{}", answer.text);
                            let retry: u64 = answer.headers["retry-after"].to_str().unwrap().parse().unwrap();
                            assert!((1..=60).contains(&retry));
                        }
                        _ => other.push(format!("{} {}", answer.status, answer.text)),
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                (accepted, unavailable, other, slowest)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    tokio::task::block_in_place(|| pg.stop());
    eprintln!("database stopped");
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Reads fail the same way meanwhile.
    let read = node.get(&format!("/submissions/{first_id}")).await;
    assert_eq!(read.status, StatusCode::SERVICE_UNAVAILABLE, "{}", read.text);
    assert_eq!(node.get("/healthz").await.status, StatusCode::SERVICE_UNAVAILABLE);
    tokio::time::sleep(Duration::from_secs(8)).await;
    tokio::task::block_in_place(|| pg.start_again());
    eprintln!("database started again");
    let restored = true;
    let (mut accepted, mut unavailable, mut other, mut slowest) = (vec![first_id], 0, Vec::new(), Duration::ZERO);
    for client in clients {
        let (a, u, o, s) = client.await.unwrap();
        accepted.extend(a);
        unavailable += u;
        other.extend(o);
        slowest = slowest.max(s);
    }
    let i = accepted.len() + unavailable + other.len();
    assert!(restored);
    let done = all_done(&node, &accepted, Duration::from_secs(180)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let wrong = done.values().filter(|v| v["verdict"] != "AC").count();
    let counts = graded_counts(&[node.graded_ids()], &accepted);
    let duplicated: usize = counts.iter().filter(|(n, _)| **n > 1).map(|(_, ids)| ids).sum();
    eprintln!(
        "database down 10 s: {i} submitted, {} accepted (all done: {}), {unavailable} answered 503, \
         other {}, duplicated {duplicated}, slowest answer {} ms",
        accepted.len(),
        done.len(),
        other.len(),
        slowest.as_millis()
    );
    assert!(other.is_empty(), "{other:?}");
    assert!(unavailable > 0, "the outage was never seen");
    assert!(slowest < Duration::from_secs(10), "an answer took {slowest:?}");
    assert_eq!(wrong, 0);
    assert_eq!(duplicated, 0, "{counts:?}");
}
