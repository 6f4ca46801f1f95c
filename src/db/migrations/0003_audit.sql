-- 0003_audit: the tamper-evident audit trail (src/domain/audit/audit.h).
-- Each record carries the SHA-256 of the one before it (prev_hash) and its own
-- (hash); the chain is checked by cg_audit_verify(). Records are append-only:
-- no UPDATE ever, and no DELETE of a record younger than 180 days, the legal
-- floor for keeping network logs (网络安全法 Art 21: six months).
-- Times are RFC 3339 UTC with milliseconds ("2026-11-23T09:00:00.123Z"), so
-- text order is time order. The triggers are SQLite syntax; the PostgreSQL
-- backend ships its own variant of this file (docs/STORE.md).

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_id INTEGER,
    actor_login TEXT,
    remote TEXT,
    action TEXT NOT NULL,
    object_type TEXT,
    object_id TEXT,
    result TEXT NOT NULL CHECK (result IN ('ok', 'denied', 'failed')),
    detail TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_actor ON audit_log(actor_id);
CREATE INDEX audit_log_action ON audit_log(action);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_keep_180_days BEFORE DELETE ON audit_log
WHEN OLD.at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-180 days')
BEGIN
    SELECT RAISE(ABORT, 'audit_log records are kept at least 180 days');
END;

-- Where the chain starts after a purge: the id and hash of the last purged
-- record. One row at most; it only moves forward and is never deleted.
CREATE TABLE audit_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_purged_id INTEGER NOT NULL,
    last_purged_hash TEXT NOT NULL
);

CREATE TRIGGER audit_anchor_forward BEFORE UPDATE ON audit_anchor
WHEN NEW.last_purged_id <= OLD.last_purged_id
BEGIN
    SELECT RAISE(ABORT, 'audit_anchor only moves forward');
END;

CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor
BEGIN
    SELECT RAISE(ABORT, 'audit_anchor is never deleted');
END;
