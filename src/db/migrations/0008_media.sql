-- 0008_media: photos of events (docs/MEDIA.md). The bytes live in content-addressed files
-- under media.dir (named by their SHA-256); a media row describes each distinct file once,
-- and event_photo attaches it to an event at a stage of its handling. The same photo on two
-- events is one file and one media row with two event_photo rows. Every attachment also
-- writes an event_log row (action 'photo') in the same transaction.

CREATE TABLE media (
    hash TEXT PRIMARY KEY,                -- SHA-256 of the bytes, 64 lowercase hex digits
    type TEXT NOT NULL CHECK (type IN ('image/jpeg', 'image/png', 'image/webp')),
    size INTEGER NOT NULL CHECK (size > 0), -- bytes
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    thumb_size INTEGER NOT NULL DEFAULT 0, -- bytes of the JPEG thumbnail, 0: none
    created_at TEXT NOT NULL
);

CREATE TABLE event_photo (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES event(id),
    hash TEXT NOT NULL REFERENCES media(hash),
    stage TEXT NOT NULL CHECK (stage IN ('report', 'before', 'after', 'handling', 'check')),
    uploaded_at TEXT NOT NULL,
    uploader_id INTEGER REFERENCES account(id),
    uploader_login TEXT,
    UNIQUE (event_id, hash, stage)
);
CREATE INDEX event_photo_event ON event_photo(event_id, id);
CREATE INDEX event_photo_hash ON event_photo(hash);
