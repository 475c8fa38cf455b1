-- Every accepted submission: its job, its lease while a worker holds it, its
-- progress and, once done, its answer (HTTP status and JSON body).
CREATE TABLE submissions (
    id               TEXT PRIMARY KEY,
    idempotency_key  TEXT UNIQUE,
    language         TEXT NOT NULL,
    spec             TEXT NOT NULL,
    callback_url     TEXT,
    state            TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done')),
    created_ms       BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    lease_id         TEXT,
    lease_node       TEXT,
    lease_expires_ms BIGINT,
    progress_done    BIGINT NOT NULL DEFAULT 0,
    progress_total   BIGINT NOT NULL DEFAULT 0,
    result_status    BIGINT,
    result_body      TEXT,
    finished_ms      BIGINT
);
CREATE INDEX submissions_queued ON submissions (created_ms) WHERE state = 'queued';
CREATE INDEX submissions_leased ON submissions (lease_expires_ms) WHERE state = 'running';
CREATE INDEX submissions_finished ON submissions (finished_ms) WHERE state = 'done';

-- Idle workers wait on judge_queued; requests waiting for a result on
-- judge_done (payload: the id). Sent on commit, to every node.
CREATE FUNCTION judge_notify() RETURNS trigger AS $$
BEGIN
    IF NEW.state = 'queued' THEN
        PERFORM pg_notify('judge_queued', NEW.id);
    ELSIF NEW.state = 'done' THEN
        PERFORM pg_notify('judge_done', NEW.id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER submissions_notify_insert AFTER INSERT ON submissions
    FOR EACH ROW EXECUTE FUNCTION judge_notify();
CREATE TRIGGER submissions_notify_update AFTER UPDATE OF state ON submissions
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION judge_notify();
