//! Durability of `judge serve`'s store with real servers: SIGKILL in the
//! middle of grading, restart, and count what was lost, graded twice or
//! ended as IE (all must be zero).

mod node;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use node::{Node, TempDir};
use reqwest::StatusCode;
use serde_json::{json, Value};

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
    assert_eq!(unrecorded, 0, "{counts:?}");
    assert_eq!(ie, 0);
    assert!(wrong.is_empty(), "{wrong:?}");
    assert!(second.logs().contains("put back"), "the restart found no interrupted job: {}", second.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_restart_after_sigkill_loses_nothing() {
    let data = TempDir::new("sqlite");
    let args = vec!["--data-dir".to_string(), data.0.display().to_string()];
    restart_loses_nothing(args, "sqlite").await;
}
