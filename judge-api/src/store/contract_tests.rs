//! What every backend must do, run against each: in memory, SQLite and a
//! throwaway PostgreSQL cluster (`tests/durability/postgres.rs`).

#[path = "../../tests/durability/postgres.rs"]
mod postgres;

use super::*;

/// Every part of the contract, on a fresh store.
pub async fn keeps_the_contract(store: &dyn Store) {
    leases_guard_results_and_expired_ones_come_back(store).await;
    packages_are_kept_by_hash_under_names(store).await;
    finished_callbacks_are_claimed_and_settled_once(store).await;
}

fn new(id: &str, key: Option<&str>) -> NewSubmission {
    NewSubmission {
        id: id.into(),
        idempotency_key: key.map(str::to_string),
        language: "c".into(),
        spec: "{}".into(),
        callback_url: None,
        now_ms: now_ms(),
        queue_capacity: 2,
    }
}

async fn leases_guard_results_and_expired_ones_come_back(store: &dyn Store) {
    assert_eq!(store.insert(&new("a", Some("k"))).await.unwrap(), Inserted::Created);
    assert_eq!(store.insert(&new("b", Some("k"))).await.unwrap(), Inserted::Existing("a".into()));
    assert_eq!(store.insert(&new("c", None)).await.unwrap(), Inserted::Created);
    assert_eq!(store.insert(&new("d", None)).await.unwrap(), Inserted::QueueFull);
    assert_eq!(store.queue_depth().await.unwrap(), 2);
    assert_eq!(store.job("a").await.unwrap().as_deref(), Some("{}"));
    assert_eq!(store.job("d").await.unwrap(), None);

    let now = now_ms();
    let first = store.claim("n1", now, now - 1).await.unwrap().unwrap();
    assert_eq!((first.id.as_str(), first.attempt), ("a", 1));
    // Its lease expired: requeued, and the old holder can no longer finish it.
    let requeued = store.requeue_expired(now, None, 3, &exhausted_outcome(3)).await.unwrap();
    assert_eq!(requeued, Requeued { requeued: 1, failed: 0 });
    let outcome = Outcome { status: 200, body: "{}".into() };
    let second = store.claim("n2", now, now + 60_000).await.unwrap().unwrap();
    assert_eq!((second.id.as_str(), second.attempt), ("a", 2));
    assert!(!store.finish(&first.lease, &outcome, now).await.unwrap());
    assert!(store.renew(&second.lease, now + 60_000, (1, 2)).await.unwrap());
    assert!(matches!(store.get("a", 0).await.unwrap().unwrap().state, State::Running { done: 1, total: 2 }));
    assert!(store.finish(&second.lease, &outcome, now).await.unwrap());
    assert!(!store.finish(&second.lease, &outcome, now).await.unwrap(), "written once");
    assert_eq!(store.get("a", 0).await.unwrap().unwrap().state, State::Done(outcome));

    // Out of attempts: IE with the reason.
    let third = store.claim("n1", now, now - 1).await.unwrap().unwrap();
    assert_eq!(third.id, "c");
    let requeued = store.requeue_expired(now, None, 1, &exhausted_outcome(1)).await.unwrap();
    assert_eq!(requeued, Requeued { requeued: 0, failed: 1 });
    let State::Done(failed) = store.get("c", 0).await.unwrap().unwrap().state else { panic!() };
    assert_eq!(failed.status, 500);
    assert!(failed.body.contains("--max-attempts 1"), "{}", failed.body);

    // Retention.
    assert!(store.get("a", now + 1).await.unwrap().is_none());
    assert_eq!(store.purge(now + 1).await.unwrap(), 2);
}

async fn packages_are_kept_by_hash_under_names(store: &dyn Store) {
    let now = now_ms();
    let row =
        |name: &str, hash: &str| ProblemRow { name: name.into(), hash: hash.into(), info: format!("{{\"{hash}\":1}}") };
    assert!(store.put_problem(&row("sum", "h1"), b"one", now).await.unwrap(), "a new name");
    assert!(!store.put_problem(&row("sum", "h2"), b"two", now).await.unwrap(), "a replaced name");
    assert!(store.put_problem(&row("add", "h1"), b"one", now).await.unwrap(), "a known package, a new name");
    assert_eq!(store.problems(None).await.unwrap(), [row("add", "h1"), row("sum", "h2")], "by name");
    assert_eq!(store.problems(Some("sum")).await.unwrap(), [row("sum", "h2")]);
    assert_eq!(store.problems(Some("nope")).await.unwrap(), []);
    assert_eq!(store.package("h1").await.unwrap().as_deref(), Some(&b"one"[..]));
    assert_eq!(store.package("h3").await.unwrap(), None);
    assert!(store.delete_problem("sum").await.unwrap());
    assert!(!store.delete_problem("sum").await.unwrap());
    assert_eq!(store.problems(None).await.unwrap(), [row("add", "h1")]);
    // Queued jobs may still grade against the old version.
    assert_eq!(store.package("h2").await.unwrap().as_deref(), Some(&b"two"[..]));

    // A version goes once no name points at it, no unfinished job was
    // accepted against it, and it was retired long enough ago.
    let job = NewSubmission { spec: r#"{"problem":{"name":"sum","hash":"h2"}}"#.into(), ..new("p1", None) };
    assert_eq!(store.insert(&job).await.unwrap(), Inserted::Created);
    let later = now_ms() + 60_000;
    assert_eq!(store.prune_packages(later).await.unwrap(), Vec::<String>::new(), "queued against h2; h1 current");
    let claimed = store.claim("n1", now, later).await.unwrap().unwrap();
    assert_eq!(claimed.id, "p1");
    assert_eq!(store.prune_packages(later).await.unwrap(), Vec::<String>::new(), "running against h2");
    assert!(store.finish(&claimed.lease, &Outcome { status: 200, body: "{}".into() }, now).await.unwrap());
    assert_eq!(store.prune_packages(now - 60_000).await.unwrap(), Vec::<String>::new(), "retired just now");
    assert_eq!(store.prune_packages(later).await.unwrap(), ["h2"]);
    assert_eq!(store.package("h2").await.unwrap(), None);
    assert_eq!(store.package_hashes().await.unwrap(), ["h1"]);
    // Uploaded again: stored again.
    assert!(store.put_problem(&row("sum", "h2"), b"two", now).await.unwrap());
    assert_eq!(store.package("h2").await.unwrap().as_deref(), Some(&b"two"[..]));
}

async fn finished_callbacks_are_claimed_and_settled_once(store: &dyn Store) {
    let now = now_ms();
    for id in ["cb1", "cb2"] {
        let new = NewSubmission {
            callback_url: Some(format!("http://hooks.example/{id}")),
            queue_capacity: 10,
            ..new(id, None)
        };
        assert_eq!(store.insert(&new).await.unwrap(), Inserted::Created);
        let claimed = store.claim("n1", now, now + 60_000).await.unwrap().unwrap();
        assert!(store.finish(&claimed.lease, &Outcome { status: 200, body: "{}".into() }, now).await.unwrap());
    }
    let first = store.claim_callbacks(now, now + 10_000, 1).await.unwrap();
    assert_eq!(first.len(), 1, "the limit");
    assert_eq!(first[0].attempts, 1);
    assert_eq!(first[0].url, format!("http://hooks.example/{}", first[0].submission_id));
    let second = store.claim_callbacks(now, now + 10_000, 10).await.unwrap();
    assert_eq!(second.len(), 1, "a claimed delivery is not due again until its retry time");
    assert_ne!(second[0].submission_id, first[0].submission_id);
    assert!(store.claim_callbacks(now, now + 10_000, 10).await.unwrap().is_empty());

    store.callback_attempted(&first[0], CallbackResult::RetryAt(now + 5, "refused".into())).await.unwrap();
    store.callback_attempted(&second[0], CallbackResult::Delivered).await.unwrap();
    let retry = store.claim_callbacks(now + 5, now + 20_000, 10).await.unwrap();
    assert_eq!(retry.len(), 1, "only the retried one");
    assert_eq!((retry[0].submission_id.as_str(), retry[0].attempts), (first[0].submission_id.as_str(), 2));
    // A stale claim settles nothing.
    store.callback_attempted(&first[0], CallbackResult::GaveUp("late".into())).await.unwrap();
    assert_eq!(store.claim_callbacks(now + 20_000, now + 30_000, 10).await.unwrap().len(), 1);
    let last = store.claim_callbacks(now + 30_000, now + 40_000, 10).await.unwrap();
    store.callback_attempted(&last[0], CallbackResult::GaveUp("refused".into())).await.unwrap();
    assert!(store.claim_callbacks(i64::MAX / 2, i64::MAX / 2, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_memory_store_keeps_the_contract() {
    keeps_the_contract(&MemoryStore::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_keeps_the_contract() {
    let cluster = tokio::task::spawn_blocking(postgres::Postgres::start).await.unwrap();
    let store = PgStore::open(&cluster.url(), 4).await.unwrap();
    keeps_the_contract(&store).await;
    // Two claimers at once never take the same job (SKIP LOCKED).
    for i in 0..20 {
        let new = NewSubmission { queue_capacity: 100, ..new(&format!("race{i}"), None) };
        assert_eq!(store.insert(&new).await.unwrap(), Inserted::Created);
    }
    let now = now_ms();
    let store = Arc::new(store);
    let mut claims = tokio::task::JoinSet::new();
    for k in 0..20 {
        let store = store.clone();
        claims.spawn(async move { store.claim(&format!("n{k}"), now, now + 60_000).await.unwrap().map(|c| c.id) });
    }
    let mut claimed: Vec<String> = claims.join_all().await.into_iter().flatten().collect();
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), 20, "{claimed:?}");
    drop(store);
    drop(cluster);
}
