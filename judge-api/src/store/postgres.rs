//! The shared backend: PostgreSQL, for any number of nodes. Workers claim
//! jobs with `FOR UPDATE SKIP LOCKED`; triggers NOTIFY `judge_queued` and
//! `judge_done`, which every node LISTENs to (polling stays as a slow
//! fallback).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::Row;
use tracing::{info, warn};

use super::{
    CallbackJob, CallbackResult, Claimed, Inserted, Lease, NewSubmission, Notice, NoticeHandler, Outcome, ProblemRow,
    Record, Requeued, State, Store, StoreError,
};

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects and migrates (nodes starting at once take turns: sqlx
    /// migrations hold an advisory lock).
    pub async fn open(url: &str, max_connections: u32) -> Result<PgStore, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| StoreError::Internal(format!("--database: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrating the database: {e}")))?;
        Ok(PgStore { pool })
    }

    async fn existing(&self, key: &str) -> Result<Option<String>, StoreError> {
        let id = sqlx::query_scalar("SELECT id FROM submissions WHERE idempotency_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(id)
    }
}

/// Passes notices on for as long as the process runs, reconnecting after
/// errors; after a reconnection, a `Resync` covers what was missed.
async fn listen(pool: PgPool, handler: NoticeHandler) {
    let mut failures = 0u32;
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(e) => {
                failures += 1;
                if failures == 1 || failures.is_power_of_two() {
                    warn!(failures, "cannot listen for other nodes' notices: {e}");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen_all(["judge_queued", "judge_done"]).await {
            warn!("LISTEN failed: {e}");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        if failures > 0 {
            info!("listening for other nodes' notices again");
            handler(Notice::Resync);
        }
        failures = 0;
        loop {
            match listener.try_recv().await {
                Ok(Some(notice)) => match notice.channel() {
                    "judge_queued" => handler(Notice::Queued),
                    _ => handler(Notice::Done(notice.payload().to_string())),
                },
                Ok(None) => handler(Notice::Resync),
                Err(e) => {
                    failures += 1;
                    warn!("lost the notice connection: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}

#[async_trait]
impl Store for PgStore {
    async fn insert(&self, new: &NewSubmission) -> Result<Inserted, StoreError> {
        if let Some(key) = &new.idempotency_key {
            if let Some(id) = self.existing(key).await? {
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
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(done) if done.rows_affected() == 1 => Ok(Inserted::Created),
            Ok(_) => Ok(Inserted::QueueFull),
            // Two requests with one key at once: the other one won.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() && new.idempotency_key.is_some() => {
                match self.existing(new.idempotency_key.as_deref().unwrap_or_default()).await? {
                    Some(id) => Ok(Inserted::Existing(id)),
                    None => Err(StoreError::Internal(format!("inserting submission {}: {e}", new.id))),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn claim(&self, node: &str, _now_ms: i64, expires_ms: i64) -> Result<Option<Claimed>, StoreError> {
        let lease_id = uuid::Uuid::new_v4().simple().to_string();
        let row = sqlx::query(
            "UPDATE submissions
             SET state = 'running', attempts = attempts + 1, lease_id = $1, lease_node = $2, lease_expires_ms = $3,
                 progress_done = 0, progress_total = 0
             WHERE id = (SELECT id FROM submissions WHERE state = 'queued' ORDER BY created_ms LIMIT 1
                         FOR UPDATE SKIP LOCKED)
             RETURNING id, spec, attempts, created_ms",
        )
        .bind(&lease_id)
        .bind(node)
        .bind(expires_ms)
        .fetch_optional(&self.pool)
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
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
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
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn requeue_expired(
        &self,
        now_ms: i64,
        node: Option<&str>,
        max_attempts: u32,
        exhausted: &Outcome,
    ) -> Result<Requeued, StoreError> {
        let mut tx = self.pool.begin().await?;
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
        .await?
        .rows_affected();
        let requeued = sqlx::query(
            "UPDATE submissions SET state = 'queued', lease_id = NULL, lease_node = NULL, lease_expires_ms = NULL
             WHERE state = 'running' AND (lease_expires_ms < $1 OR lease_node = $2)",
        )
        .bind(now_ms)
        .bind(node)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(Requeued { requeued, failed })
    }

    async fn get(&self, id: &str, expired_before_ms: i64) -> Result<Option<Record>, StoreError> {
        let row = sqlx::query(
            "SELECT id, language, state, progress_done, progress_total, result_status, result_body
             FROM submissions WHERE id = $1 AND (finished_ms IS NULL OR finished_ms >= $2)",
        )
        .bind(id)
        .bind(expired_before_ms)
        .fetch_optional(&self.pool)
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

    async fn queue_depth(&self) -> Result<u64, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM submissions WHERE state = 'queued'").fetch_one(&self.pool).await?;
        Ok(count as u64)
    }

    fn listen(&self, handler: NoticeHandler) {
        let pool = self.pool.clone();
        tokio::spawn(async move { listen(pool, handler).await });
    }

    async fn stored(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM submissions").fetch_one(&self.pool).await?;
        Ok(count as u64)
    }

    async fn purge(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM submissions WHERE state = 'done' AND finished_ms < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM callbacks WHERE created_ms < $1").bind(before_ms).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn put_problem(&self, row: &ProblemRow, archive: &[u8], now_ms: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO packages (hash, archive, size, created_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING")
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
        tx.commit().await?;
        Ok(existed.is_none())
    }

    async fn delete_problem(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM problems WHERE name = $1").bind(name).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn problems(&self, name: Option<&str>) -> Result<Vec<ProblemRow>, StoreError> {
        let rows = sqlx::query("SELECT name, hash, info FROM problems WHERE $1 IS NULL OR name = $1 ORDER BY name")
            .bind(name)
            .fetch_all(&self.pool)
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
            .fetch_optional(&self.pool)
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
        let rows = sqlx::query(
            "UPDATE callbacks SET next_attempt_ms = $1, claim = $2, attempts = attempts + 1
             WHERE submission_id IN (SELECT submission_id FROM callbacks
                                     WHERE state = 'pending' AND next_attempt_ms <= $3
                                     ORDER BY next_attempt_ms LIMIT $4 FOR UPDATE SKIP LOCKED)
             RETURNING submission_id, url, attempts, created_ms",
        )
        .bind(retry_until_ms)
        .bind(&claim)
        .bind(now_ms)
        .bind(limit as i64)
        .fetch_all(&self.pool)
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
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
