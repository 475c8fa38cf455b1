//! The `Store` of both SQL backends, written once over `sqlx::Database`.
//! The queries are the same text for SQLite and PostgreSQL (`$N`
//! placeholders, which both read); what differs per dialect (`Dialect`) is
//! how a claim locks the rows it picks. Each backend (`sqlite.rs`,
//! `postgres.rs`) opens its pools and says which to read and write through.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use super::{
    CallbackJob, CallbackResult, Claimed, Inserted, Lease, NewSubmission, NoticeHandler, Outcome, ProblemRow, Record,
    Requeued, State, Store, StoreError,
};

/// What differs between the SQL dialects.
pub trait Dialect: Database {
    /// `CLAIM_JOB` and `CLAIM_CALLBACKS` with the dialect's row locking.
    const CLAIM_JOB: &'static str;
    const CLAIM_CALLBACKS: &'static str;

    /// Rows an `UPDATE`/`INSERT`/`DELETE` touched.
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

/// Takes the oldest queued job under a new lease ($1 lease id, $2 node,
/// $3 expiry); `$lock` goes after the subquery that picks the row.
macro_rules! claim_job_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE submissions
             SET state = 'running', attempts = attempts + 1, lease_id = $1, lease_node = $2, lease_expires_ms = $3,
                 progress_done = 0, progress_total = 0
             WHERE id = (SELECT id FROM submissions WHERE state = 'queued' ORDER BY created_ms LIMIT 1",
            $lock,
            ")
             RETURNING id, spec, attempts, created_ms"
        )
    };
}

/// Takes up to $4 due deliveries (due at $3) until $1 under claim $2.
macro_rules! claim_callbacks_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE callbacks SET next_attempt_ms = $1, claim = $2, attempts = attempts + 1
             WHERE submission_id IN (SELECT submission_id FROM callbacks
                                     WHERE state = 'pending' AND next_attempt_ms <= $3
                                     ORDER BY next_attempt_ms LIMIT $4",
            $lock,
            ")
             RETURNING submission_id, url, attempts, created_ms"
        )
    };
}

pub(super) use {claim_callbacks_sql, claim_job_sql};

/// A backend: its pools (a single SQLite writer beside readers, or one
/// PostgreSQL pool for both) and how it hears from other nodes.
pub trait SqlBackend: Send + Sync {
    type Db: Dialect;
    fn writer(&self) -> &Pool<Self::Db>;
    fn reader(&self) -> &Pool<Self::Db>;
    fn listen(&self, handler: NoticeHandler) {
        let _ = handler;
    }
}

const EXISTING: &str = "SELECT id FROM submissions WHERE idempotency_key = $1";

#[async_trait]
impl<B> Store for B
where
    B: SqlBackend,
    for<'c> &'c mut <B::Db as Database>::Connection: Executor<'c, Database = B::Db>,
    <B::Db as Database>::Arguments: IntoArguments<B::Db>,
    for<'a> &'a str: ColumnIndex<<B::Db as Database>::Row> + Encode<'a, B::Db> + Type<B::Db>,
    usize: ColumnIndex<<B::Db as Database>::Row>,
    for<'a> &'a [u8]: Encode<'a, B::Db> + Type<B::Db>,
    for<'a> i64: Encode<'a, B::Db> + Decode<'a, B::Db> + Type<B::Db>,
    for<'a> String: Encode<'a, B::Db> + Decode<'a, B::Db> + Type<B::Db>,
    for<'a> Vec<u8>: Decode<'a, B::Db> + Type<B::Db>,
    for<'a> Option<&'a str>: Encode<'a, B::Db>,
    for<'a> Option<String>: Encode<'a, B::Db> + Decode<'a, B::Db>,
    for<'a> Option<i64>: Decode<'a, B::Db>,
{
    async fn insert(&self, new: &NewSubmission) -> Result<Inserted, StoreError> {
        let existing = async |key: &str| -> Result<Option<String>, StoreError> {
            Ok(sqlx::query_scalar(EXISTING).bind(key).fetch_optional(self.reader()).await?)
        };
        if let Some(key) = &new.idempotency_key {
            if let Some(id) = existing(key).await? {
                return Ok(Inserted::Existing(id));
            }
        }
        let inserted = sqlx::query(
            "INSERT INTO submissions (id, idempotency_key, language, spec, callback_url, state, created_ms)
             SELECT $1, $2, $3, $4, $5, 'queued', $6
             WHERE (SELECT count(*) FROM submissions WHERE state = 'queued') < $7",
        )
        .bind(&new.id)
        .bind(&new.idempotency_key)
        .bind(&new.language)
        .bind(&new.spec)
        .bind(&new.callback_url)
        .bind(new.now_ms)
        .bind(new.queue_capacity as i64)
        .execute(self.writer())
        .await;
        match inserted {
            Ok(done) if B::Db::rows_affected(&done) == 1 => Ok(Inserted::Created),
            Ok(_) => Ok(Inserted::QueueFull),
            // Two requests with one key at once: the other one won.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() && new.idempotency_key.is_some() => {
                match existing(new.idempotency_key.as_deref().unwrap_or_default()).await? {
                    Some(id) => Ok(Inserted::Existing(id)),
                    None => Err(StoreError::Internal(format!("inserting submission {}: {e}", new.id))),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn claim(&self, node: &str, _now_ms: i64, expires_ms: i64) -> Result<Option<Claimed>, StoreError> {
        let lease_id = uuid::Uuid::new_v4().simple().to_string();
        let row = sqlx::query(B::Db::CLAIM_JOB)
            .bind(&lease_id)
            .bind(node)
            .bind(expires_ms)
            .fetch_optional(self.writer())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get("id")?;
        Ok(Some(Claimed {
            lease: Lease { submission: id.clone(), id: lease_id },
            id,
            spec: row.try_get("spec")?,
            attempt: row.try_get::<i64, _>("attempts")? as u32,
            created_ms: row.try_get("created_ms")?,
        }))
    }

    async fn renew(&self, lease: &Lease, expires_ms: i64, progress: (u32, u32)) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE submissions SET lease_expires_ms = $1, progress_done = $2, progress_total = $3
             WHERE id = $4 AND lease_id = $5 AND state = 'running'",
        )
        .bind(expires_ms)
        .bind(progress.0 as i64)
        .bind(progress.1 as i64)
        .bind(&lease.submission)
        .bind(&lease.id)
        .execute(self.writer())
        .await?;
        Ok(B::Db::rows_affected(&done) == 1)
    }

    async fn finish(&self, lease: &Lease, outcome: &Outcome, now_ms: i64) -> Result<bool, StoreError> {
        // A callback's delivery row comes with it (a trigger).
        let done = sqlx::query(
            "UPDATE submissions
             SET state = 'done', result_status = $1, result_body = $2, finished_ms = $3, lease_expires_ms = NULL
             WHERE id = $4 AND lease_id = $5 AND state = 'running'",
        )
        .bind(outcome.status as i64)
        .bind(&outcome.body)
        .bind(now_ms)
        .bind(&lease.submission)
        .bind(&lease.id)
        .execute(self.writer())
        .await?;
        Ok(B::Db::rows_affected(&done) == 1)
    }

    async fn requeue_expired(
        &self,
        now_ms: i64,
        node: Option<&str>,
        max_attempts: u32,
        exhausted: &Outcome,
    ) -> Result<Requeued, StoreError> {
        let mut tx = self.writer().begin().await?;
        let failed = sqlx::query(
            "UPDATE submissions
             SET state = 'done', result_status = $1, result_body = $2, finished_ms = $3, lease_id = NULL,
                 lease_expires_ms = NULL
             WHERE state = 'running' AND (lease_expires_ms < $4 OR lease_node = $5) AND attempts >= $6",
        )
        .bind(exhausted.status as i64)
        .bind(&exhausted.body)
        .bind(now_ms.min(super::now_ms()))
        .bind(now_ms)
        .bind(node)
        .bind(max_attempts as i64)
        .execute(&mut *tx)
        .await?;
        let requeued = sqlx::query(
            "UPDATE submissions SET state = 'queued', lease_id = NULL, lease_node = NULL, lease_expires_ms = NULL
             WHERE state = 'running' AND (lease_expires_ms < $1 OR lease_node = $2)",
        )
        .bind(now_ms)
        .bind(node)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Requeued { requeued: B::Db::rows_affected(&requeued), failed: B::Db::rows_affected(&failed) })
    }

    async fn get(&self, id: &str, expired_before_ms: i64) -> Result<Option<Record>, StoreError> {
        let row = sqlx::query(
            "SELECT id, language, state, progress_done, progress_total, result_status, result_body
             FROM submissions WHERE id = $1 AND (finished_ms IS NULL OR finished_ms >= $2)",
        )
        .bind(id)
        .bind(expired_before_ms)
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let state: String = row.try_get("state")?;
        let state = match state.as_str() {
            "queued" => State::Queued,
            "running" => State::Running {
                done: row.try_get::<i64, _>("progress_done")? as u32,
                total: row.try_get::<i64, _>("progress_total")? as u32,
            },
            _ => State::Done(Outcome {
                status: row.try_get::<Option<i64>, _>("result_status")?.unwrap_or(500) as u16,
                body: row.try_get::<Option<String>, _>("result_body")?.unwrap_or_default(),
            }),
        };
        Ok(Some(Record { id: row.try_get("id")?, language: row.try_get("language")?, state }))
    }

    async fn job(&self, id: &str) -> Result<Option<String>, StoreError> {
        let spec = sqlx::query_scalar("SELECT spec FROM submissions WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        Ok(spec)
    }

    async fn queue_depth(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM submissions WHERE state = 'queued'")
            .fetch_one(self.reader())
            .await?;
        Ok(count as u64)
    }

    async fn stored(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM submissions").fetch_one(self.reader()).await?;
        Ok(count as u64)
    }

    fn listen(&self, handler: NoticeHandler) {
        SqlBackend::listen(self, handler);
    }

    async fn purge(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut tx = self.writer().begin().await?;
        let done = sqlx::query("DELETE FROM submissions WHERE state = 'done' AND finished_ms < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM callbacks WHERE created_ms < $1").bind(before_ms).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(B::Db::rows_affected(&done))
    }

    async fn put_problem(&self, row: &ProblemRow, archive: &[u8], now_ms: i64) -> Result<bool, StoreError> {
        let mut tx = self.writer().begin().await?;
        // `created_ms` is when the version was last stored or stopped being
        // current: `prune_packages` waits a while after either. Updating the
        // row also locks it against a prune running at once (PostgreSQL).
        sqlx::query(
            "INSERT INTO packages (hash, archive, size, created_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (hash) DO UPDATE SET created_ms = excluded.created_ms",
        )
        .bind(&row.hash)
        .bind(archive)
        .bind(archive.len() as i64)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let existed: Option<String> = sqlx::query_scalar("SELECT hash FROM problems WHERE name = $1")
            .bind(&row.name)
            .fetch_optional(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO problems (name, hash, info, updated_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, info = excluded.info, updated_ms = excluded.updated_ms",
        )
        .bind(&row.name)
        .bind(&row.hash)
        .bind(&row.info)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if let Some(old) = existed.as_deref().filter(|old| *old != row.hash) {
            sqlx::query("UPDATE packages SET created_ms = $1 WHERE hash = $2")
                .bind(now_ms)
                .bind(old)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(existed.is_none())
    }

    async fn delete_problem(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.writer().begin().await?;
        let hash: Option<String> = sqlx::query_scalar("DELETE FROM problems WHERE name = $1 RETURNING hash")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(hash) = &hash {
            sqlx::query("UPDATE packages SET created_ms = $1 WHERE hash = $2")
                .bind(super::now_ms())
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(hash.is_some())
    }

    async fn prune_packages(&self, retired_before_ms: i64) -> Result<Vec<String>, StoreError> {
        // A job names its version in its spec (JSON); matching the hash as
        // text can only keep a version too many, never drop one in use.
        let hashes = sqlx::query_scalar(
            "DELETE FROM packages
             WHERE created_ms < $1
               AND hash NOT IN (SELECT hash FROM problems)
               AND NOT EXISTS (SELECT 1 FROM submissions
                               WHERE state IN ('queued', 'running') AND spec LIKE '%' || packages.hash || '%')
             RETURNING hash",
        )
        .bind(retired_before_ms)
        .fetch_all(self.writer())
        .await?;
        Ok(hashes)
    }

    async fn package_hashes(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT hash FROM packages").fetch_all(self.reader()).await?)
    }

    async fn problems(&self, name: Option<&str>) -> Result<Vec<ProblemRow>, StoreError> {
        let rows = sqlx::query("SELECT name, hash, info FROM problems WHERE $1 IS NULL OR name = $1 ORDER BY name")
            .bind(name)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ProblemRow { name: row.try_get("name")?, hash: row.try_get("hash")?, info: row.try_get("info")? })
            })
            .collect()
    }

    async fn package(&self, hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let archive = sqlx::query_scalar("SELECT archive FROM packages WHERE hash = $1")
            .bind(hash)
            .fetch_optional(self.reader())
            .await?;
        Ok(archive)
    }

    async fn claim_callbacks(
        &self,
        now_ms: i64,
        retry_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<CallbackJob>, StoreError> {
        let claim = uuid::Uuid::new_v4().simple().to_string();
        let rows = sqlx::query(B::Db::CLAIM_CALLBACKS)
            .bind(retry_until_ms)
            .bind(&claim)
            .bind(now_ms)
            .bind(limit as i64)
            .fetch_all(self.writer())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(CallbackJob {
                    submission_id: row.try_get("submission_id")?,
                    url: row.try_get("url")?,
                    attempts: row.try_get::<i64, _>("attempts")? as u32,
                    created_ms: row.try_get("created_ms")?,
                    claim: claim.clone(),
                })
            })
            .collect()
    }

    async fn callback_attempted(&self, job: &CallbackJob, result: CallbackResult) -> Result<(), StoreError> {
        let (state, next, error) = match result {
            CallbackResult::Delivered => ("delivered", 0, None),
            CallbackResult::RetryAt(next, error) => ("pending", next, Some(error)),
            CallbackResult::GaveUp(error) => ("failed", 0, Some(error)),
        };
        sqlx::query(
            "UPDATE callbacks SET state = $1, next_attempt_ms = $2, last_error = $3, claim = NULL
             WHERE submission_id = $4 AND claim = $5",
        )
        .bind(state)
        .bind(next)
        .bind(error)
        .bind(&job.submission_id)
        .bind(&job.claim)
        .execute(self.writer())
        .await?;
        Ok(())
    }
}
