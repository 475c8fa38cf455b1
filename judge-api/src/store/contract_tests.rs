//! What every backend must do, run against each.

use super::*;

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

pub async fn leases_guard_results_and_expired_ones_come_back(store: &dyn Store) {
    assert_eq!(store.insert(&new("a", Some("k"))).await.unwrap(), Inserted::Created);
    assert_eq!(store.insert(&new("b", Some("k"))).await.unwrap(), Inserted::Existing("a".into()));
    assert_eq!(store.insert(&new("c", None)).await.unwrap(), Inserted::Created);
    assert_eq!(store.insert(&new("d", None)).await.unwrap(), Inserted::QueueFull);
    assert_eq!(store.queue_depth().await.unwrap(), 2);

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

#[tokio::test]
async fn the_memory_store_keeps_the_contract() {
    leases_guard_results_and_expired_ones_come_back(&MemoryStore::default()).await;
}
