-- Result deliveries to a submission's callback_url, made in the same
-- transaction that records the result, so a restart drops none.
CREATE TABLE callbacks (
    submission_id   TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    created_ms      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    claim           TEXT,
    last_error      TEXT
);
CREATE INDEX callbacks_due ON callbacks (next_attempt_ms) WHERE state = 'pending';
