//! A store in memory (`--database memory`): everything is lost when the
//! process stops. For benchmarks against the durable backends and for
//! throwaway runs; the same semantics as the others otherwise.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::{
    CallbackJob, CallbackResult, Claimed, Inserted, Lease, NewSubmission, Outcome, ProblemRow, Record, Requeued, State,
    Store, StoreError,
};

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    submissions: HashMap<String, Row>,
    /// Queued ids by (created, sequence): the claim order.
    queue: BTreeMap<(i64, u64), String>,
    sequence: u64,
    keys: HashMap<String, String>,
    problems: BTreeMap<String, ProblemRow>,
    /// Archives by hash, with when each was last stored or stopped being current.
    packages: HashMap<String, (Vec<u8>, i64)>,
    callbacks: HashMap<String, Callback>,
}

struct Row {
    language: String,
    spec: String,
    key: Option<String>,
    callback_url: Option<String>,
    created_ms: i64,
    /// Arrival order among equal `created_ms`.
    sequence: u64,
    attempts: u32,
    lease: Option<(String, String, i64)>,
    progress: (u32, u32),
    outcome: Option<Outcome>,
    finished_ms: Option<i64>,
}

struct Callback {
    url: String,
    created_ms: i64,
    attempts: u32,
    next_attempt_ms: i64,
    claim: Option<String>,
    pending: bool,
}

impl MemoryStore {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    /// Queues `id` in its place by arrival (also when put back).
    fn enqueue(&mut self, id: &str) {
        let Some(row) = self.submissions.get_mut(id) else { return };
        let slot = (row.created_ms, row.sequence);
        self.queue.insert(slot, id.to_string());
    }

    fn done(&mut self, id: &str, outcome: Outcome, now_ms: i64) {
        let Some(row) = self.submissions.get_mut(id) else { return };
        row.outcome = Some(outcome);
        row.finished_ms = Some(now_ms);
        row.lease = None;
        if let Some(url) = row.callback_url.clone() {
            self.callbacks.insert(
                id.to_string(),
                Callback { url, created_ms: now_ms, attempts: 0, next_attempt_ms: now_ms, claim: None, pending: true },
            );
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn insert(&self, new: &NewSubmission) -> Result<Inserted, StoreError> {
        let mut inner = self.lock();
        if let Some(id) = new.idempotency_key.as_ref().and_then(|k| inner.keys.get(k)) {
            return Ok(Inserted::Existing(id.clone()));
        }
        if inner.queue.len() as u64 >= new.queue_capacity {
            return Ok(Inserted::QueueFull);
        }
        inner.sequence += 1;
        let sequence = inner.sequence;
        inner.submissions.insert(
            new.id.clone(),
            Row {
                language: new.language.clone(),
                spec: new.spec.clone(),
                key: new.idempotency_key.clone(),
                callback_url: new.callback_url.clone(),
                created_ms: new.now_ms,
                sequence,
                attempts: 0,
                lease: None,
                progress: (0, 0),
                outcome: None,
                finished_ms: None,
            },
        );
        if let Some(key) = &new.idempotency_key {
            inner.keys.insert(key.clone(), new.id.clone());
        }
        inner.enqueue(&new.id);
        Ok(Inserted::Created)
    }

    async fn claim(&self, node: &str, _now_ms: i64, expires_ms: i64) -> Result<Option<Claimed>, StoreError> {
        let mut inner = self.lock();
        let Some((_, id)) = inner.queue.pop_first() else { return Ok(None) };
        let lease_id = uuid::Uuid::new_v4().simple().to_string();
        let row = inner.submissions.get_mut(&id).ok_or_else(|| StoreError::Internal(format!("lost {id}")))?;
        row.attempts += 1;
        row.progress = (0, 0);
        row.lease = Some((lease_id.clone(), node.to_string(), expires_ms));
        Ok(Some(Claimed {
            id: id.clone(),
            spec: row.spec.clone(),
            attempt: row.attempts,
            lease: Lease { submission: id, id: lease_id },
            created_ms: row.created_ms,
        }))
    }

    async fn renew(&self, lease: &Lease, expires_ms: i64, progress: (u32, u32)) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.submissions.get_mut(&lease.submission) {
            Some(row) if row.lease.as_ref().is_some_and(|(id, ..)| *id == lease.id) => {
                row.lease.as_mut().expect("checked").2 = expires_ms;
                row.progress = progress;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn finish(&self, lease: &Lease, outcome: &Outcome, now_ms: i64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let held = inner
            .submissions
            .get(&lease.submission)
            .is_some_and(|row| row.lease.as_ref().is_some_and(|(id, ..)| *id == lease.id));
        if held {
            inner.done(&lease.submission, outcome.clone(), now_ms);
        }
        Ok(held)
    }

    async fn requeue_expired(
        &self,
        now_ms: i64,
        node: Option<&str>,
        max_attempts: u32,
        exhausted: &Outcome,
    ) -> Result<Requeued, StoreError> {
        let mut inner = self.lock();
        let expired: Vec<(String, u32)> = inner
            .submissions
            .iter()
            .filter(|(_, row)| {
                row.lease
                    .as_ref()
                    .is_some_and(|(_, holder, expires)| *expires < now_ms || Some(holder.as_str()) == node)
            })
            .map(|(id, row)| (id.clone(), row.attempts))
            .collect();
        let mut done = Requeued::default();
        for (id, attempts) in expired {
            if attempts >= max_attempts {
                inner.done(&id, exhausted.clone(), now_ms.min(super::now_ms()));
                done.failed += 1;
            } else {
                if let Some(row) = inner.submissions.get_mut(&id) {
                    row.lease = None;
                }
                inner.enqueue(&id);
                done.requeued += 1;
            }
        }
        Ok(done)
    }

    async fn get(&self, id: &str, expired_before_ms: i64) -> Result<Option<Record>, StoreError> {
        let inner = self.lock();
        let Some(row) = inner.submissions.get(id) else { return Ok(None) };
        if row.finished_ms.is_some_and(|f| f < expired_before_ms) {
            return Ok(None);
        }
        let state = match (&row.outcome, &row.lease) {
            (Some(outcome), _) => State::Done(outcome.clone()),
            (None, Some(_)) => State::Running { done: row.progress.0, total: row.progress.1 },
            (None, None) => State::Queued,
        };
        Ok(Some(Record { id: id.to_string(), language: row.language.clone(), state }))
    }

    async fn job(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock().submissions.get(id).map(|row| row.spec.clone()))
    }

    async fn queue_depth(&self) -> Result<u64, StoreError> {
        Ok(self.lock().queue.len() as u64)
    }

    async fn stored(&self) -> Result<u64, StoreError> {
        Ok(self.lock().submissions.len() as u64)
    }

    async fn purge(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let old: Vec<String> = inner
            .submissions
            .iter()
            .filter(|(_, row)| row.finished_ms.is_some_and(|f| f < before_ms))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &old {
            if let Some(row) = inner.submissions.remove(id) {
                if let Some(key) = row.key {
                    inner.keys.remove(&key);
                }
            }
            inner.callbacks.remove(id);
        }
        Ok(old.len() as u64)
    }

    async fn put_problem(&self, row: &ProblemRow, archive: &[u8], now_ms: i64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        inner.packages.entry(row.hash.clone()).or_insert_with(|| (archive.to_vec(), now_ms)).1 = now_ms;
        let old = inner.problems.insert(row.name.clone(), row.clone());
        if let Some(old) = &old {
            if let Some(package) = inner.packages.get_mut(&old.hash) {
                package.1 = package.1.max(now_ms);
            }
        }
        Ok(old.is_none())
    }

    async fn delete_problem(&self, name: &str) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let Some(old) = inner.problems.remove(name) else { return Ok(false) };
        if let Some(package) = inner.packages.get_mut(&old.hash) {
            package.1 = super::now_ms();
        }
        Ok(true)
    }

    async fn problems(&self, name: Option<&str>) -> Result<Vec<ProblemRow>, StoreError> {
        let inner = self.lock();
        Ok(inner.problems.values().filter(|r| name.is_none_or(|n| n == r.name)).cloned().collect())
    }

    async fn package(&self, hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().packages.get(hash).map(|(archive, _)| archive.clone()))
    }

    async fn prune_packages(&self, retired_before_ms: i64) -> Result<Vec<String>, StoreError> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let unfinished: Vec<&str> =
            inner.submissions.values().filter(|r| r.outcome.is_none()).map(|r| r.spec.as_str()).collect();
        let dead: Vec<String> = inner
            .packages
            .iter()
            .filter(|(hash, (_, touched))| {
                *touched < retired_before_ms
                    && !inner.problems.values().any(|p| &p.hash == *hash)
                    && !unfinished.iter().any(|spec| spec.contains(hash.as_str()))
            })
            .map(|(hash, _)| hash.clone())
            .collect();
        for hash in &dead {
            inner.packages.remove(hash);
        }
        Ok(dead)
    }

    async fn package_hashes(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.lock().packages.keys().cloned().collect())
    }

    async fn claim_callbacks(
        &self,
        now_ms: i64,
        retry_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<CallbackJob>, StoreError> {
        let mut inner = self.lock();
        let claim = uuid::Uuid::new_v4().simple().to_string();
        let mut jobs = Vec::new();
        for (id, callback) in inner.callbacks.iter_mut() {
            if jobs.len() as u32 >= limit {
                break;
            }
            if callback.pending && callback.next_attempt_ms <= now_ms {
                callback.attempts += 1;
                callback.next_attempt_ms = retry_until_ms;
                callback.claim = Some(claim.clone());
                jobs.push(CallbackJob {
                    submission_id: id.clone(),
                    url: callback.url.clone(),
                    attempts: callback.attempts,
                    created_ms: callback.created_ms,
                    claim: claim.clone(),
                });
            }
        }
        Ok(jobs)
    }

    async fn callback_attempted(&self, job: &CallbackJob, result: CallbackResult) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let Some(callback) = inner.callbacks.get_mut(&job.submission_id) else { return Ok(()) };
        if callback.claim.as_deref() != Some(job.claim.as_str()) {
            return Ok(());
        }
        callback.claim = None;
        match result {
            CallbackResult::Delivered | CallbackResult::GaveUp(_) => callback.pending = false,
            CallbackResult::RetryAt(next, _) => callback.next_attempt_ms = next,
        }
        Ok(())
    }
}
