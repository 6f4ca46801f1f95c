-- 0001_foundation: the tables the foundation itself needs.
-- Migrations are forward-only SQL that SQLite and PostgreSQL both accept
-- (INTEGER PRIMARY KEY becomes a generated identity in the PostgreSQL backend:
-- see docs/STORE.md). Never edit a migration that has shipped; add the next one.

-- Facts about this database: its instance id, when it was created.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Script errors reported by browsers running the web UI, for the operators.
-- Only what helps fix the UI is kept: no account, no address.
CREATE TABLE client_error (
    id INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    message TEXT NOT NULL,
    source TEXT,
    line INTEGER,
    col INTEGER,
    stack TEXT,
    page TEXT,
    lang TEXT,
    user_agent TEXT
);
CREATE INDEX client_error_received ON client_error(received_at);
