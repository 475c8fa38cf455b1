//! The shared backend: PostgreSQL, for any number of nodes. Workers claim
//! jobs with `FOR UPDATE SKIP LOCKED`; triggers NOTIFY `judge_queued` and
//! `judge_done`, which every node LISTENs to (polling stays as a slow
//! fallback). Its queries are in `sql.rs`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgQueryResult};
use sqlx::Postgres;
use tracing::{info, warn};

use super::sql::{claim_callbacks_sql, claim_job_sql, Dialect, SqlBackend};
use super::{Notice, NoticeHandler, StoreError};

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
}

impl Dialect for Postgres {
    // Nodes claim at once: each skips the rows another is taking.
    const CLAIM_JOB: &'static str = claim_job_sql!(" FOR UPDATE SKIP LOCKED");
    const CLAIM_CALLBACKS: &'static str = claim_callbacks_sql!(" FOR UPDATE SKIP LOCKED");

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }
}

impl SqlBackend for PgStore {
    type Db = Postgres;

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn listen(&self, handler: NoticeHandler) {
        let pool = self.pool.clone();
        tokio::spawn(async move { listen(pool, handler).await });
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
