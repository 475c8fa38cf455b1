-- A delivery row is written by the same statement that finishes a
-- submission with a callback_url, so the common case is one write.
CREATE TRIGGER submissions_callback AFTER UPDATE OF state ON submissions
WHEN NEW.state = 'done' AND OLD.state <> 'done' AND NEW.callback_url IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO callbacks (submission_id, url, created_ms, next_attempt_ms)
    VALUES (NEW.id, NEW.callback_url, NEW.finished_ms, NEW.finished_ms);
END;
