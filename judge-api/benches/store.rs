//! Submissions per second through `judge serve` for each store: in memory
//! (nothing kept, as before the store), SQLite (the default) and PostgreSQL
//! (fsync on), in one run on this machine. A+B in C with inline tests,
//! `wait: true`, 32 at once; each backend started fresh per round, rounds
//! interleaved, the median reported.
//!
//! `cargo bench -p judge-api --bench store` (as root, like the tests;
//! JUDGE_BENCH_SUBMISSIONS and JUDGE_BENCH_ROUNDS change the counts).

#[path = "../tests/durability/node.rs"]
mod node;
#[path = "../tests/durability/postgres.rs"]
mod postgres;

use std::sync::Arc;
use std::time::Instant;

use node::{Node, TempDir};
use serde_json::json;

const AB: &str = "#include <stdio.h>\nint main(){long long a,b;scanf(\"%lld %lld\",&a,&b);printf(\"%lld\\n\",a+b);}";
const CONCURRENCY: usize = 32;

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Submissions per second for `total` A+B submissions on a fresh node.
async fn rate(name: &str, args: Vec<String>, total: usize) -> f64 {
    let node = Arc::new(Node::start(name, &args).await);
    let body = |i: usize| {
        json!({"language": "c", "source": AB, "limits": {"time_limit": 1.0, "memory": 64},
               "tests": [{"input": format!("{i} 2\n"), "answer": format!("{}\n", i + 2)},
                         {"input": "20 22\n", "answer": "42\n"}]})
    };
    // Warm the compile cache and the connections.
    for i in 0..8 {
        let answer = node.submit(&body(i)).await;
        assert_eq!(answer.json["verdict"], "AC", "{}", answer.text);
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..total {
        let (node, limit, body) = (node.clone(), limit.clone(), body(i));
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            node.submit(&body).await
        }));
    }
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.json["verdict"], "AC", "{}", answer.text);
    }
    total as f64 / started.elapsed().as_secs_f64()
}

fn median(list: &mut [f64]) -> f64 {
    list.sort_by(|a, b| a.total_cmp(b));
    list[list.len() / 2]
}

fn main() {
    let total = env_count("JUDGE_BENCH_SUBMISSIONS", 300);
    let rounds = env_count("JUDGE_BENCH_ROUNDS", 3);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let pg = postgres::Postgres::start_durable();
        let mut rates: [(&str, Vec<f64>); 3] = [("memory", vec![]), ("sqlite", vec![]), ("postgres", vec![])];
        for round in 0..rounds {
            for (backend, list) in rates.iter_mut() {
                let data = TempDir::new("bench");
                let args: Vec<String> = match *backend {
                    "memory" => vec!["--database".into(), "memory".into()],
                    "sqlite" => vec!["--data-dir".into(), data.0.display().to_string()],
                    _ => vec!["--database".into(), pg.url()],
                };
                let args = [args, vec!["--queue".into(), "1000".into()]].concat();
                let r = rate(&format!("bench-{backend}"), args, total).await;
                eprintln!("round {}: {backend}: {r:.1} submissions/s", round + 1);
                list.push(r);
            }
        }
        // Rounds ran back to back, so each round's ratio to memory compares
        // like with like on a machine whose load changes.
        let memory_rates = rates[0].1.clone();
        println!("\nA+B (C, 2 inline tests), {total} submissions at {CONCURRENCY} concurrent, {rounds} rounds:");
        for (backend, list) in rates.iter_mut() {
            let mut ratios: Vec<f64> = list.iter().zip(&memory_rates).map(|(r, m)| (r / m - 1.0) * 100.0).collect();
            let ratio = median(&mut ratios);
            let m = median(list);
            println!("  {backend:<9} median {m:7.1} submissions/s, median per-round change vs memory {ratio:+.1}%");
        }
    });
}
