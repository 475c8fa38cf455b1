//! Durable server state behind one trait: submissions (their job, lease,
//! progress and result), for `judge serve`. Two backends on sqlx: SQLite
//! (embedded, one node) and PostgreSQL (any number of nodes); and one in
//! memory, which keeps nothing across restarts (for benchmarks).
//!
//! A submission's life: `insert` (queued) → `claim` by a worker (running,
//! under a lease with an id and an expiry) → `renew` while it runs →
//! `finish`, which only the lease holder can do, so a result is written
//! once. Leases that expire (a node died) are put back by
//! `requeue_expired`, or end as IE after too many attempts.
//!
//! The two SQL backends share one implementation (`sql.rs`); `sqlite.rs`
//! and `postgres.rs` open them and hold what is their own.

#[cfg(test)]
mod contract_tests;
mod memory;
mod postgres;
mod sql;
mod sqlite;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

pub use memory::MemoryStore;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// What other nodes tell this one (PostgreSQL only).
#[derive(Debug)]
pub enum Notice {
    /// A job was queued or put back: wake an idle worker.
    Queued,
    /// This submission is done: wake its waiters.
    Done(String),
    /// Notices may have been missed (the connection was lost): look again.
    Resync,
}

pub type NoticeHandler = Arc<dyn Fn(Notice) + Send + Sync>;

/// What went wrong talking to the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is overloaded: retry later (503).
    #[error("the submission store is unavailable: {0}")]
    Unavailable(String),
    /// A bug or corrupt data: the judge's fault.
    #[error("the submission store failed: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        use sqlx::Error as E;
        match &error {
            E::Database(db) => {
                use sqlx::error::ErrorKind;
                let code = db.code().map(|c| c.to_string()).unwrap_or_default();
                // Constraint and schema errors are bugs; the rest (connection
                // loss, server shutdown, SQLite busy or locked) pass with time.
                if !matches!(db.kind(), ErrorKind::Other) || code.starts_with("42") {
                    StoreError::Internal(error.to_string())
                } else {
                    StoreError::Unavailable(error.to_string())
                }
            }
            E::Decode(_) | E::ColumnDecode { .. } | E::ColumnNotFound(_) | E::TypeNotFound { .. } | E::RowNotFound => {
                StoreError::Internal(error.to_string())
            }
            _ => StoreError::Unavailable(error.to_string()),
        }
    }
}

/// A submission to store, already checked.
pub struct NewSubmission {
    pub id: String,
    pub idempotency_key: Option<String>,
    pub language: String,
    /// The job as JSON (the server's `JobSpec`).
    pub spec: String,
    pub callback_url: Option<String>,
    pub now_ms: i64,
    /// Refuse when this many submissions already wait (cluster-wide).
    pub queue_capacity: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Inserted {
    Created,
    /// The idempotency key was seen: this is that submission's id.
    Existing(String),
    /// The queue holds `queue_capacity` submissions already.
    QueueFull,
}

/// A job a worker holds under a lease.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: String,
    pub spec: String,
    /// Including this one.
    pub attempt: u32,
    pub lease: Lease,
    pub created_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub submission: String,
    pub id: String,
}

/// A finished submission's answer: HTTP status and JSON body (a result
/// object for 200, `{"error": …}` otherwise; `id`/`status` added on output).
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub status: u16,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum State {
    Queued,
    Running { done: u32, total: u32 },
    Done(Outcome),
}

#[derive(Clone, Debug)]
pub struct Record {
    pub id: String,
    pub language: String,
    pub state: State,
}

/// What `requeue_expired` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Requeued {
    pub requeued: u64,
    /// Out of attempts: finished as IE.
    pub failed: u64,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Stores a queued submission (committed when this returns `Created`).
    async fn insert(&self, new: &NewSubmission) -> Result<Inserted, StoreError>;

    /// Takes the oldest queued job under a fresh lease until `expires_ms`.
    async fn claim(&self, node: &str, now_ms: i64, expires_ms: i64) -> Result<Option<Claimed>, StoreError>;

    /// Extends a lease and records progress; false once the lease is lost.
    async fn renew(&self, lease: &Lease, expires_ms: i64, progress: (u32, u32)) -> Result<bool, StoreError>;

    /// Records the outcome if `lease` still holds the job; false otherwise.
    async fn finish(&self, lease: &Lease, outcome: &Outcome, now_ms: i64) -> Result<bool, StoreError>;

    /// Puts jobs whose lease expired before `now_ms`, or that `node` holds
    /// (it restarted), back in the queue; those that already had
    /// `max_attempts` end with `exhausted`.
    async fn requeue_expired(
        &self,
        now_ms: i64,
        node: Option<&str>,
        max_attempts: u32,
        exhausted: &Outcome,
    ) -> Result<Requeued, StoreError>;

    /// The submission, unless unknown or finished before `expired_before_ms`.
    async fn get(&self, id: &str, expired_before_ms: i64) -> Result<Option<Record>, StoreError>;

    /// The job JSON submission `id` was stored with (`NewSubmission::spec`),
    /// while the store holds it.
    async fn job(&self, id: &str) -> Result<Option<String>, StoreError>;

    /// Submissions waiting for a worker, on every node.
    async fn queue_depth(&self) -> Result<u64, StoreError>;

    /// Submissions held, in any state.
    async fn stored(&self) -> Result<u64, StoreError>;

    /// Stores a package version (once per hash) and points `row.name` at it;
    /// true if the name is new.
    async fn put_problem(&self, row: &ProblemRow, archive: &[u8], now_ms: i64) -> Result<bool, StoreError>;

    /// Removes a problem name (its package versions stay for queued jobs
    /// until `prune_packages`).
    async fn delete_problem(&self, name: &str) -> Result<bool, StoreError>;

    /// Every problem by name, or only `name`.
    async fn problems(&self, name: Option<&str>) -> Result<Vec<ProblemRow>, StoreError>;

    /// A package version's canonical archive.
    async fn package(&self, hash: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Deletes the package versions no problem name points at, that no queued
    /// or running submission was accepted against, and that stopped being
    /// current before `retired_before_ms` (a submission resolves the current
    /// version a moment before it is stored); their hashes.
    async fn prune_packages(&self, retired_before_ms: i64) -> Result<Vec<String>, StoreError>;

    /// The hashes of the package versions held.
    async fn package_hashes(&self) -> Result<Vec<String>, StoreError>;

    /// Takes up to `limit` due result deliveries; until `retry_until_ms`
    /// no other node takes them.
    async fn claim_callbacks(
        &self,
        now_ms: i64,
        retry_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<CallbackJob>, StoreError>;

    /// Records how a delivery went.
    async fn callback_attempted(&self, job: &CallbackJob, result: CallbackResult) -> Result<(), StoreError>;

    /// Starts passing other nodes' notices to `handler`, if the backend has
    /// any (a single SQLite node has no one to hear from).
    fn listen(&self, handler: NoticeHandler) {
        let _ = handler;
    }

    /// Deletes results finished before `before_ms`; how many.
    async fn purge(&self, before_ms: i64) -> Result<u64, StoreError>;
}

/// A result delivery a node took (until `next_attempt_ms`, its lease).
#[derive(Clone, Debug)]
pub struct CallbackJob {
    pub submission_id: String,
    pub url: String,
    /// Including this one.
    pub attempts: u32,
    pub created_ms: i64,
    pub claim: String,
}

#[derive(Debug)]
pub enum CallbackResult {
    Delivered,
    /// Failed with this error; try again at this time.
    RetryAt(i64, String),
    /// Failed with this error and out of time.
    GaveUp(String),
}

/// A problem name's current package and its description (JSON).
#[derive(Clone, Debug, PartialEq)]
pub struct ProblemRow {
    pub name: String,
    pub hash: String,
    pub info: String,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis() as i64
}

/// The error body for a job that ran out of attempts.
pub fn exhausted_outcome(max_attempts: u32) -> Outcome {
    let message = format!(
        "internal error: grading was started {max_attempts} times and each time the node grading it stopped \
         (its lease expired); given up (--max-attempts {max_attempts})"
    );
    Outcome { status: 500, body: serde_json::json!({ "error": message, "verdict": "IE" }).to_string() }
}
