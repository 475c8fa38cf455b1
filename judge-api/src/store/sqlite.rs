//! The embedded backend: one SQLite file in WAL mode under `--data-dir`,
//! locked (flock) by the one process that uses it. Its queries are in `sql.rs`.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

use super::sql::{claim_callbacks_sql, claim_job_sql, Dialect, SqlBackend};
use super::StoreError;

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
}

impl Dialect for Sqlite {
    // One writer at a time: nothing to lock.
    const CLAIM_JOB: &'static str = claim_job_sql!("");
    const CLAIM_CALLBACKS: &'static str = claim_callbacks_sql!("");

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}

impl SqlBackend for SqliteStore {
    type Db = Sqlite;

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
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
