-- 0012_event_intake: what reporting needs at volume.
--
-- Near-duplicates and repeats look events up by a cell of 0.002 degrees
-- (about 200 x 200 m in south China) and time, instead of a band of longitude over all time.
-- The band grew with the table: a year at Dongguan scale holds thousands of events of a busy
-- class in any band (about 0.4 ms a look-up, two per report); the cells around a point hold a
-- handful, and the index's created_at skips the old ones.
--
-- cell = row * 180000 + column, row = floor((lat + 90) / 0.002), column = floor((lon + 180) /
-- 0.002) (both non-negative, so CAST truncates as floor does). A generated column, so rows
-- written by SQL (the bench's year of events) have it too; src/domain/event/event_store.c
-- computes the same cells for the look-up.
ALTER TABLE event ADD COLUMN cell INTEGER GENERATED ALWAYS AS
    (CAST((lat + 90) / 0.002 AS INTEGER) * 180000 + CAST((lon + 180) / 0.002 AS INTEGER)) VIRTUAL;
CREATE INDEX event_class_cell ON event(category_kind, category_code, cell, created_at);
DROP INDEX event_class_place;

-- Retries: a phone that sent a report and lost the answer sends it again with the same
-- Idempotency-Key; the reporter's key names the first event, which is answered again
-- instead of a second one being made (docs/EVENTS.md, "Reporting").
ALTER TABLE event ADD COLUMN client_key TEXT;
CREATE UNIQUE INDEX event_client_key ON event(reporter_id, client_key) WHERE client_key IS NOT NULL;
