-- 0014_event_reporter: a reporter's own events, newest first (the index's rowid order).
--
-- A citizen's "my reports" (the queue in scope own) walked the whole table newest first to
-- find the citizen's few rows: 4.6 s over the bench's year of 1.7 million events. The same
-- index gives a citizen's latest reports to the risk score (repeats by the same person).
CREATE INDEX event_reporter ON event(reporter_id);
