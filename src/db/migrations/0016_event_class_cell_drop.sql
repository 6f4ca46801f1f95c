-- 0016_event_class_cell_drop: the index of the near-duplicate look-ups is no longer used.
--
-- A report's repeats and near-duplicates, and the event page's near-duplicates, come from the
-- recent events in memory (src/domain/event/event_recent.c), not from SQL. The index cost every
-- report one more b-tree entry on a page of its own (the class and the cell spread the entries
-- over the whole index), so one more page in every commit's write-ahead log. The SQL look-up
-- that remains (cg_event__nearby, the unit tests' reference for the memory) reads the table.
DROP INDEX IF EXISTS event_class_cell;
