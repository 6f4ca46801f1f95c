-- 0013_event_open_index: the open events' partial indexes of 0010, with their condition spelled
-- as four comparisons instead of NOT IN (...).
--
-- SQLite evaluates a NOT IN list of more than two constants through a temporary b-tree that
-- each statement builds on first use: every INSERT and UPDATE of an event built two of them
-- (one per partial index), a good part of the writer's time per report. Queries that use these
-- indexes repeat the same terms (OPEN_STATE in src/domain/event/event_store.c).
DROP INDEX event_open_deadline;
DROP INDEX event_open_state;
CREATE INDEX event_open_deadline ON event(deadline_at, grid_code, department, reporter_id,
    step_started_at, state) WHERE deadline_at IS NOT NULL
    AND state <> 'closed' AND state <> 'cancelled' AND state <> 'recorded' AND state <> 'merged';
CREATE INDEX event_open_state ON event(state, grid_code, department, reporter_id)
    WHERE state <> 'closed' AND state <> 'cancelled' AND state <> 'recorded' AND state <> 'merged';
