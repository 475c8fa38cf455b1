-- Every accepted submission: its job, its lease while a worker holds it, its
-- progress and, once done, its answer (HTTP status and JSON body).
CREATE TABLE submissions (
    id               TEXT PRIMARY KEY,
    idempotency_key  TEXT UNIQUE,
    language         TEXT NOT NULL,
    spec             TEXT NOT NULL,
    callback_url     TEXT,
    state            TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done')),
    created_ms       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_id         TEXT,
    lease_node       TEXT,
    lease_expires_ms INTEGER,
    progress_done    INTEGER NOT NULL DEFAULT 0,
    progress_total   INTEGER NOT NULL DEFAULT 0,
    result_status    INTEGER,
    result_body      TEXT,
    finished_ms      INTEGER
);
CREATE INDEX submissions_queued ON submissions (created_ms) WHERE state = 'queued';
CREATE INDEX submissions_leased ON submissions (lease_expires_ms) WHERE state = 'running';
CREATE INDEX submissions_finished ON submissions (finished_ms) WHERE state = 'done';
