//! The embedded backend: one SQLite file in WAL mode under `--data-dir`,
//! locked (flock) by the one process that uses it.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::{
    CallbackJob, CallbackResult, Claimed, Inserted, Lease, NewSubmission, Outcome, ProblemRow, Record, Requeued, State,
    Store, StoreError,
};

/// How long to wait for another process to release the data directory.
const LOCK_WAIT: Duration = Duration::from_secs(10);

pub struct SqliteStore {
    /// The one connection that writes: writers queue here instead of
    /// sleeping on SQLite's busy lock.
    writer: SqlitePool,
    /// Readers, which WAL lets run beside the writer.
    reader: SqlitePool,
    /// Held open for the flock on `lock` in the data directory.
    _lock: File,
    pub path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) `judge.db` in `dir`, migrated. Fails if
    /// another process holds the directory.
    pub async fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_waiting(dir, LOCK_WAIT).await
    }

    async fn open_waiting(dir: &Path, lock_wait: Duration) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Internal(format!("cannot create the data directory {}: {e}", dir.display())))?;
        let lock_path = dir.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::Internal(format!("cannot open {}: {e}", lock_path.display())))?;
        // A previous server may still be exiting (killed a moment ago): give
        // it a few seconds to let go.
        let deadline = std::time::Instant::now() + lock_wait;
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        while unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            if std::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            return Err(StoreError::Internal(format!(
                "the data directory {} is in use by another judge (it holds {}); give each server its own \
                 --data-dir, or share --database postgres://… between nodes",
                dir.display(),
                lock_path.display()
            )));
        }
        let path = dir.join("judge.db");
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Internal(format!("{url}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL survives a crash or kill of the process; only a
            // power loss may cost the last commits.
            .synchronous(SqliteSynchronous::Normal)
            // Checkpoints (each one an fsync) every 16 MiB of log instead of 4.
            .pragma("wal_autocheckpoint", "4000")
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|e| StoreError::Internal(format!("migrating {}: {e}", path.display())))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteStore { writer, reader, _lock: lock, path })
    }

    async fn existing(&self, key: &str) -> Result<Option<String>, StoreError> {
        let id = sqlx::query_scalar("SELECT id FROM submissions WHERE idempotency_key = ?")
            .bind(key)
            .fetch_optional(&self.reader)
            .await?;
        Ok(id)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert(&self, new: &NewSubmission) -> Result<Inserted, StoreError> {
        if let Some(key) = &new.idempotency_key {
            if let Some(id) = self.existing(key).await? {
                return Ok(Inserted::Existing(id));
            }
        }
        let inserted = sqlx::query(
            "INSERT INTO submissions (id, idempotency_key, language, spec, callback_url, state, created_ms)
             SELECT ?, ?, ?, ?, ?, 'queued', ?
             WHERE (SELECT count(*) FROM submissions WHERE state = 'queued') < ?",
        )
        .bind(&new.id)
        .bind(&new.idempotency_key)
        .bind(&new.language)
        .bind(&new.spec)
        .bind(&new.callback_url)
        .bind(new.now_ms)
        .bind(new.queue_capacity as i64)
        .execute(&self.writer)
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
             SET state = 'running', attempts = attempts + 1, lease_id = ?, lease_node = ?, lease_expires_ms = ?,
                 progress_done = 0, progress_total = 0
             WHERE id = (SELECT id FROM submissions WHERE state = 'queued' ORDER BY created_ms LIMIT 1)
             RETURNING id, spec, attempts, created_ms",
        )
        .bind(&lease_id)
        .bind(node)
        .bind(expires_ms)
        .fetch_optional(&self.writer)
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
            "UPDATE submissions SET lease_expires_ms = ?, progress_done = ?, progress_total = ?
             WHERE id = ? AND lease_id = ? AND state = 'running'",
        )
        .bind(expires_ms)
        .bind(progress.0 as i64)
        .bind(progress.1 as i64)
        .bind(&lease.submission)
        .bind(&lease.id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish(&self, lease: &Lease, outcome: &Outcome, now_ms: i64) -> Result<bool, StoreError> {
        // A callback's delivery row comes with it (a trigger).
        let done = sqlx::query(
            "UPDATE submissions
             SET state = 'done', result_status = ?, result_body = ?, finished_ms = ?, lease_expires_ms = NULL
             WHERE id = ? AND lease_id = ? AND state = 'running'",
        )
        .bind(outcome.status as i64)
        .bind(&outcome.body)
        .bind(now_ms)
        .bind(&lease.submission)
        .bind(&lease.id)
        .execute(&self.writer)
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
        let mut tx = self.writer.begin().await?;
        let failed = sqlx::query(
            "UPDATE submissions
             SET state = 'done', result_status = ?, result_body = ?, finished_ms = ?, lease_id = NULL,
                 lease_expires_ms = NULL
             WHERE state = 'running' AND (lease_expires_ms < ? OR lease_node = ?) AND attempts >= ?",
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
             WHERE state = 'running' AND (lease_expires_ms < ? OR lease_node = ?)",
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
             FROM submissions WHERE id = ? AND (finished_ms IS NULL OR finished_ms >= ?)",
        )
        .bind(id)
        .bind(expired_before_ms)
        .fetch_optional(&self.reader)
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
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM submissions WHERE state = 'queued'")
            .fetch_one(&self.reader)
            .await?;
        Ok(count as u64)
    }

    async fn stored(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM submissions").fetch_one(&self.reader).await?;
        Ok(count as u64)
    }

    async fn purge(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("DELETE FROM submissions WHERE state = 'done' AND finished_ms < ?")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM callbacks WHERE created_ms < ?").bind(before_ms).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn put_problem(&self, row: &ProblemRow, archive: &[u8], now_ms: i64) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO packages (hash, archive, size, created_ms) VALUES (?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING",
        )
        .bind(&row.hash)
        .bind(archive)
        .bind(archive.len() as i64)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let existed: Option<String> = sqlx::query_scalar("SELECT hash FROM problems WHERE name = ?")
            .bind(&row.name)
            .fetch_optional(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO problems (name, hash, info, updated_ms) VALUES (?, ?, ?, ?)
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
        let done = sqlx::query("DELETE FROM problems WHERE name = ?").bind(name).execute(&self.writer).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn problems(&self, name: Option<&str>) -> Result<Vec<ProblemRow>, StoreError> {
        let rows = sqlx::query("SELECT name, hash, info FROM problems WHERE ?1 IS NULL OR name = ?1 ORDER BY name")
            .bind(name)
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ProblemRow { name: row.try_get("name")?, hash: row.try_get("hash")?, info: row.try_get("info")? })
            })
            .collect()
    }

    async fn package(&self, hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let archive = sqlx::query_scalar("SELECT archive FROM packages WHERE hash = ?")
            .bind(hash)
            .fetch_optional(&self.reader)
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
            "UPDATE callbacks SET next_attempt_ms = ?, claim = ?, attempts = attempts + 1
             WHERE submission_id IN (SELECT submission_id FROM callbacks
                                     WHERE state = 'pending' AND next_attempt_ms <= ?
                                     ORDER BY next_attempt_ms LIMIT ?)
             RETURNING submission_id, url, attempts, created_ms",
        )
        .bind(retry_until_ms)
        .bind(&claim)
        .bind(now_ms)
        .bind(limit as i64)
        .fetch_all(&self.writer)
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
            "UPDATE callbacks SET state = ?, next_attempt_ms = ?, last_error = ?, claim = NULL
             WHERE submission_id = ? AND claim = ?",
        )
        .bind(state)
        .bind(next)
        .bind(error)
        .bind(&job.submission_id)
        .bind(&job.claim)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_store_contract_and_locks_its_directory() {
        let dir = std::env::temp_dir().join(format!("judge-store-sqlite-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = SqliteStore::open(&dir).await.unwrap();
        let second = SqliteStore::open_waiting(&dir, Duration::from_millis(200)).await;
        assert!(second.is_err(), "a second process must not share the directory");
        super::super::contract_tests::keeps_the_contract(&store).await;
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
