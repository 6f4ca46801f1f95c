-- 0010_event_rollup: KPI roll-ups kept up to date in the write transaction of every event
-- change (docs/EVENTS.md, "KPIs"), so that the KPIs and the dashboard read a few rows instead
-- of scanning the events.
--
-- An event's contribution is a pure function of its row: reported on the China day of
-- created_at; filed on the day of filed_at; 应结案 (due), 结案 (closed) and 按期结案 (on time) on
-- the day of min(due_at, closed_at); self-resolved, return visits and satisfaction on the day
-- of closed_at. The triggers below subtract the old row's contribution and add the new one's
-- at every INSERT and UPDATE of an event, whoever writes it (the API, the sweep's 督办, the
-- demo, SQL run by hand), inside the same transaction. Returns to work (返工) are the log's:
-- each check_fail and unsatisfied revisit entry adds one on its own day. Report-only records
-- (事件报备) contribute nothing. Events are never deleted.
--
-- Rows are kept per China day ('YYYY-MM-DD', Asia/Shanghai) and per month ('YYYY-MM'), for
-- each target of event_rollup_target: dim 0 the area alone at four levels (city: the first 6
-- characters of the grid code, town 9, village 12, the grid), dim 1 a department in an area
-- (city, town, grid), dim 2 a reporter in a grid. A whole city's dashboard is one row; the KPIs
-- by grid over a year inside a town are the town's grids times 12 months. Each change writes its
-- parts to event_rollup_pending, folded into event_rollup every 256 rows (below).

-- When an event was filed (立案) and first dispatched: a pure function of the row needs them.
ALTER TABLE event ADD COLUMN filed_at TEXT;
ALTER TABLE event ADD COLUMN dispatched_at TEXT;
UPDATE event SET
    filed_at = (SELECT min(at) FROM event_log l WHERE l.event_id = event.id AND l.action = 'file'),
    dispatched_at = (SELECT min(at) FROM event_log l WHERE l.event_id = event.id
                     AND l.action = 'dispatch')
WHERE id IN (SELECT event_id FROM event_log WHERE action IN ('file', 'dispatch'));

-- What each change writes: (dim, lvl) at the area length len (0: the whole grid code), for
-- the day (span 10) and the month (span 7).
-- The key's columns come first: SQLite 3.40's integrity_check misreads a NOT NULL column that
-- a WITHOUT ROWID table stores in another place than declared ("NULL value in ...").
CREATE TABLE event_rollup_target (
    dim INTEGER NOT NULL,
    lvl INTEGER NOT NULL,
    span INTEGER NOT NULL,
    len INTEGER NOT NULL,
    PRIMARY KEY (dim, lvl, span)
) WITHOUT ROWID;
INSERT INTO event_rollup_target(dim, lvl, len, span)
SELECT dim, lvl, len, span FROM (SELECT 0 AS dim, 0 AS lvl, 6 AS len UNION ALL SELECT 0, 1, 9
    UNION ALL SELECT 0, 2, 12 UNION ALL SELECT 0, 3, 0 UNION ALL SELECT 1, 0, 6
    UNION ALL SELECT 1, 1, 9 UNION ALL SELECT 1, 3, 0 UNION ALL SELECT 2, 3, 0),
    (SELECT 10 AS span UNION ALL SELECT 7);

CREATE TABLE event_rollup (
    dim INTEGER NOT NULL,      -- 0 the area, 1 a department in it, 2 a reporter in a grid
    lvl INTEGER NOT NULL,      -- 0 city, 1 town, 2 village, 3 grid
    bucket TEXT NOT NULL,      -- China day 'YYYY-MM-DD' or month 'YYYY-MM'
    area TEXT NOT NULL,        -- the grid code's prefix at lvl
    key TEXT NOT NULL,         -- '' (dim 0), the department (1), the reporter's id (2)
    reported INTEGER NOT NULL DEFAULT 0,      -- 上报数
    filed INTEGER NOT NULL DEFAULT 0,         -- 立案数
    due INTEGER NOT NULL DEFAULT 0,           -- 应结案数
    closed INTEGER NOT NULL DEFAULT 0,        -- 结案数
    on_time INTEGER NOT NULL DEFAULT 0,       -- 按期结案数
    rework INTEGER NOT NULL DEFAULT 0,        -- 返工数
    self_resolved INTEGER NOT NULL DEFAULT 0, -- closed at grid or village tier, never dispatched
    revisits INTEGER NOT NULL DEFAULT 0,      -- return visits that closed events
    satisfaction INTEGER NOT NULL DEFAULT 0,  -- the sum of their grades
    PRIMARY KEY (dim, lvl, bucket, area, key)
) WITHOUT ROWID;

-- Changes not folded into event_rollup yet: each event change writes one row per
-- part it changes (a few rows), and every 256 rows the trigger event_rollup_fold adds them up
-- into the roll-ups in one grouped write. Readers add the pending rows to what they read, so the
-- counts are exact at every commit.
CREATE TABLE event_rollup_pending (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,         -- the China day of the part
    g TEXT NOT NULL,           -- grid code
    d TEXT NOT NULL,           -- department
    r TEXT NOT NULL,           -- reporter id as text, '' for none
    reported INTEGER NOT NULL DEFAULT 0,
    filed INTEGER NOT NULL DEFAULT 0,
    due INTEGER NOT NULL DEFAULT 0,
    closed INTEGER NOT NULL DEFAULT 0,
    on_time INTEGER NOT NULL DEFAULT 0,
    rework INTEGER NOT NULL DEFAULT 0,
    self_resolved INTEGER NOT NULL DEFAULT 0,
    revisits INTEGER NOT NULL DEFAULT 0,
    satisfaction INTEGER NOT NULL DEFAULT 0
);

-- Backfill: the same contributions, computed for the events already there.
CREATE TEMP TABLE rollup_part AS
SELECT g, d, r, day, SUM(reported) AS reported, SUM(filed) AS filed, SUM(due) AS due, SUM(closed) AS closed, SUM(on_time) AS on_time, SUM(self_resolved) AS self_resolved, SUM(revisits) AS revisits, SUM(satisfaction) AS satisfaction, SUM(rework) AS rework
FROM (
    SELECT e.grid_code AS g, e.department AS d, COALESCE(CAST(e.reporter_id AS TEXT), '') AS r,
        CASE WHEN e.kind <> 'report_only' THEN date(e.created_at, '+8 hours') END AS day,
        1 AS reported, 0 AS filed, 0 AS due, 0 AS closed, 0 AS on_time, 0 AS self_resolved, 0 AS revisits, 0 AS satisfaction, 0 AS rework
    FROM event e
    UNION ALL
    SELECT e.grid_code AS g, e.department AS d, COALESCE(CAST(e.reporter_id AS TEXT), '') AS r,
        CASE WHEN e.kind <> 'report_only' AND e.filed_at IS NOT NULL THEN date(e.filed_at, '+8 hours') END AS day,
        0 AS reported, 1 AS filed, 0 AS due, 0 AS closed, 0 AS on_time, 0 AS self_resolved, 0 AS revisits, 0 AS satisfaction, 0 AS rework
    FROM event e
    UNION ALL
    SELECT e.grid_code AS g, e.department AS d, COALESCE(CAST(e.reporter_id AS TEXT), '') AS r,
        CASE WHEN e.kind <> 'report_only' AND e.due_at IS NOT NULL
            THEN date(min(e.due_at, COALESCE(e.closed_at, e.due_at)), '+8 hours') END AS day,
        0 AS reported, 0 AS filed, 1 AS due, e.closed_at IS NOT NULL AS closed, COALESCE(e.closed_at <= e.due_at, 0) AS on_time, 0 AS self_resolved, 0 AS revisits, 0 AS satisfaction, 0 AS rework
    FROM event e
    UNION ALL
    SELECT e.grid_code AS g, e.department AS d, COALESCE(CAST(e.reporter_id AS TEXT), '') AS r,
        CASE WHEN e.kind <> 'report_only' AND e.closed_at IS NOT NULL AND ((e.state = 'closed' AND e.tier IN ('grid', 'village') AND e.dispatched_at IS NULL) OR (e.satisfaction IS NOT NULL))
            THEN date(e.closed_at, '+8 hours') END AS day,
        0 AS reported, 0 AS filed, 0 AS due, 0 AS closed, 0 AS on_time, (e.state = 'closed' AND e.tier IN ('grid', 'village') AND e.dispatched_at IS NULL) AS self_resolved, (e.satisfaction IS NOT NULL) AS revisits, COALESCE(e.satisfaction, 0) AS satisfaction, 0 AS rework
    FROM event e
    UNION ALL
    SELECT e.grid_code AS g, e.department AS d, COALESCE(CAST(e.reporter_id AS TEXT), '') AS r,
        date(l.at, '+8 hours'), 0, 0, 0, 0, 0, 0, 0, 0, 1
    FROM event_log l JOIN event e ON e.id = l.event_id
    WHERE e.kind <> 'report_only' AND (l.action = 'check_fail' OR (l.action = 'revisit' AND l.to_state = 'handling'))
) WHERE day IS NOT NULL GROUP BY g, d, r, day;

INSERT INTO event_rollup(dim, lvl, bucket, area, key, reported, filed, due, closed, on_time, self_resolved, revisits, satisfaction, rework)
SELECT t.dim, t.lvl, substr(p.day, 1, t.span), CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END, CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END,
    SUM(p.reported), SUM(p.filed), SUM(p.due), SUM(p.closed), SUM(p.on_time), SUM(p.self_resolved), SUM(p.revisits), SUM(p.satisfaction), SUM(p.rework)
FROM rollup_part p, event_rollup_target t GROUP BY 1, 2, 3, 4, 5;
DROP TABLE rollup_part;

-- The dashboard's red and yellow warnings count the open events with a deadline in scope:
-- a small index of those only (it covers what the count and the yellow rule read).
CREATE INDEX event_open_deadline ON event(deadline_at, grid_code, department, reporter_id,
    step_started_at, state) WHERE deadline_at IS NOT NULL
    AND state NOT IN ('closed', 'cancelled', 'recorded', 'merged');

-- The dashboard's open events by state: a count over the open events only (the backlog, not
-- the year), in any scope.
CREATE INDEX event_open_state ON event(state, grid_code, department, reporter_id)
    WHERE state NOT IN ('closed', 'cancelled', 'recorded', 'merged');

CREATE TRIGGER event_rollup_insert AFTER INSERT ON event
BEGIN
    INSERT INTO event_rollup_pending(day, g, d, r, reported)
    SELECT CASE WHEN NEW.kind <> 'report_only' THEN date(NEW.created_at, '+8 hours') END,
        NEW.grid_code, NEW.department, COALESCE(CAST(NEW.reporter_id AS TEXT), ''),
        1
    WHERE (CASE WHEN NEW.kind <> 'report_only' THEN date(NEW.created_at, '+8 hours') END) IS NOT NULL;
    INSERT INTO event_rollup_pending(day, g, d, r, filed)
    SELECT CASE WHEN NEW.kind <> 'report_only' AND NEW.filed_at IS NOT NULL THEN date(NEW.filed_at, '+8 hours') END,
        NEW.grid_code, NEW.department, COALESCE(CAST(NEW.reporter_id AS TEXT), ''),
        1
    WHERE (CASE WHEN NEW.kind <> 'report_only' AND NEW.filed_at IS NOT NULL THEN date(NEW.filed_at, '+8 hours') END) IS NOT NULL;
    INSERT INTO event_rollup_pending(day, g, d, r, due, closed, on_time)
    SELECT CASE WHEN NEW.kind <> 'report_only' AND NEW.due_at IS NOT NULL
            THEN date(min(NEW.due_at, COALESCE(NEW.closed_at, NEW.due_at)), '+8 hours') END,
        NEW.grid_code, NEW.department, COALESCE(CAST(NEW.reporter_id AS TEXT), ''),
        1, NEW.closed_at IS NOT NULL, COALESCE(NEW.closed_at <= NEW.due_at, 0)
    WHERE (CASE WHEN NEW.kind <> 'report_only' AND NEW.due_at IS NOT NULL
            THEN date(min(NEW.due_at, COALESCE(NEW.closed_at, NEW.due_at)), '+8 hours') END) IS NOT NULL;
    INSERT INTO event_rollup_pending(day, g, d, r, self_resolved, revisits, satisfaction)
    SELECT CASE WHEN NEW.kind <> 'report_only' AND NEW.closed_at IS NOT NULL AND ((NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL) OR (NEW.satisfaction IS NOT NULL))
            THEN date(NEW.closed_at, '+8 hours') END,
        NEW.grid_code, NEW.department, COALESCE(CAST(NEW.reporter_id AS TEXT), ''),
        (NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL), (NEW.satisfaction IS NOT NULL), COALESCE(NEW.satisfaction, 0)
    WHERE (CASE WHEN NEW.kind <> 'report_only' AND NEW.closed_at IS NOT NULL AND ((NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL) OR (NEW.satisfaction IS NOT NULL))
            THEN date(NEW.closed_at, '+8 hours') END) IS NOT NULL;
END;

CREATE TRIGGER event_rollup_update AFTER UPDATE ON event
WHEN (OLD.kind, OLD.created_at, OLD.filed_at, OLD.dispatched_at, OLD.due_at, OLD.closed_at, OLD.state, OLD.tier, OLD.satisfaction, OLD.department, OLD.grid_code, OLD.reporter_id)
    IS NOT (NEW.kind, NEW.created_at, NEW.filed_at, NEW.dispatched_at, NEW.due_at, NEW.closed_at, NEW.state, NEW.tier, NEW.satisfaction, NEW.department, NEW.grid_code, NEW.reporter_id)
BEGIN
    INSERT INTO event_rollup_pending(day, g, d, r, reported)
    SELECT CASE WHEN OLD.kind <> 'report_only' THEN date(OLD.created_at, '+8 hours') END,
        OLD.grid_code, OLD.department, COALESCE(CAST(OLD.reporter_id AS TEXT), ''),
        -(1)
    WHERE (CASE WHEN OLD.kind <> 'report_only' THEN date(OLD.created_at, '+8 hours') END) IS NOT NULL
      AND (OLD.grid_code, OLD.department, OLD.reporter_id, CASE WHEN OLD.kind <> 'report_only' THEN date(OLD.created_at, '+8 hours') END, 1)
      IS NOT (NEW.grid_code, NEW.department, NEW.reporter_id, CASE WHEN NEW.kind <> 'report_only' THEN date(NEW.created_at, '+8 hours') END, 1);
    INSERT INTO event_rollup_pending(day, g, d, r, reported)
    SELECT CASE WHEN NEW.kind <> 'report_only' THEN date(NEW.created_at, '+8 hours') END,
        NEW.grid_code, NEW.department, COALESCE(CAST(NEW.reporter_id AS TEXT), ''),
        1
    WHERE (CASE WHEN NEW.kind <> 'report_only' THEN date(NEW.created_at, '+8 hours') END) IS NOT NULL
      AND (OLD.grid_code, OLD.department, OLD.reporter_id, CASE WHEN OLD.kind <> 'report_only' THEN date(OLD.created_at, '+8 hours') END, 1)
      IS NOT (NEW.grid_code, NEW.department, NEW.reporter_id, CASE WHEN NEW.kind <> 'report_only' THEN date(NEW.created_at, '+8 hours') END, 1);
    INSERT INTO event_rollup_pending(day, g, d, r, filed)
    SELECT CASE WHEN OLD.kind <> 'report_only' AND OLD.filed_at IS NOT NULL THEN date(OLD.filed_at, '+8 hours') END,
        OLD.grid_code, OLD.department, COALESCE(CAST(OLD.reporter_id AS TEXT), ''),
        -(1)
    WHERE (CASE WHEN OLD.kind <> 'report_only' AND OLD.filed_at IS NOT NULL THEN date(OLD.filed_at, '+8 hours') END) IS NOT NULL
      AND (OLD.grid_code, OLD.department, OLD.reporter_id, CASE WHEN OLD.kind <> 'report_only' AND OLD.filed_at IS NOT NULL THEN date(OLD.filed_at, '+8 hours') END, 1)
      IS NOT (NEW.grid_code, NEW.department, NEW.reporter_id, CASE WHEN NEW.kind <> 'report_only' AND NEW.filed_at IS NOT NULL THEN date(NEW.filed_at, '+8 hours') END, 1);
    INSERT INTO event_rollup_pending(day, g, d, r, filed)
    SELECT CASE WHEN NEW.kind <> 'report_only' AND NEW.filed_at IS NOT NULL THEN date(NEW.filed_at, '+8 hours') END,
        NEW.grid_code, NEW.department, COALESCE(CAST(NEW.reporter_id AS TEXT), ''),
        1
    WHERE (CASE WHEN NEW.kind <> 'report_only' AND NEW.filed_at IS NOT NULL THEN date(NEW.filed_at, '+8 hours') END) IS NOT NULL
      AND (OLD.grid_code, OLD.department, OLD.reporter_id, CASE WHEN OLD.kind <> 'report_only' AND OLD.filed_at IS NOT NULL THEN date(OLD.filed_at, '+8 hours') END, 1)
      IS NOT (NEW.grid_code, NEW.department, NEW.reporter_id, CASE WHEN NEW.kind <> 'report_only' AND NEW.filed_at IS NOT NULL THEN date(NEW.filed_at, '+8 hours') END, 1);
    INSERT INTO event_rollup_pending(day, g, d, r, due, closed, on_time)
    SELECT CASE WHEN OLD.kind <> 'report_only' AND OLD.due_at IS NOT NULL
            THEN date(min(OLD.due_at, COALESCE(OLD.closed_at, OLD.due_at)), '+8 hours') END,
        OLD.grid_code, OLD.department, COALESCE(CAST(OLD.reporter_id AS TEXT), ''),
        -(1), -(OLD.closed_at IS NOT NULL), -(COALESCE(OLD.closed_at <= OLD.due_at, 0))
    WHERE (CASE WHEN OLD.kind <> 'report_only' AND OLD.due_at IS NOT NULL
            THEN date(min(OLD.due_at, COALESCE(OLD.closed_at, OLD.due_at)), '+8 hours') END) IS NOT NULL
      AND (OLD.grid_code, OLD.department, OLD.reporter_id, CASE WHEN OLD.kind <> 'report_only' AND OLD.due_at IS NOT NULL
            THEN date(min(OLD.due_at, COALESCE(OLD.closed_at, OLD.due_at)), '+8 hours') END, 1, OLD.closed_at IS NOT NULL, COALESCE(OLD.closed_at <= OLD.due_at, 0))
      IS NOT (NEW.grid_code, NEW.department, NEW.reporter_id, CASE WHEN NEW.kind <> 'report_only' AND NEW.due_at IS NOT NULL
            THEN date(min(NEW.due_at, COALESCE(NEW.closed_at, NEW.due_at)), '+8 hours') END, 1, NEW.closed_at IS NOT NULL, COALESCE(NEW.closed_at <= NEW.due_at, 0));
    INSERT INTO event_rollup_pending(day, g, d, r, due, closed, on_time)
    SELECT CASE WHEN NEW.kind <> 'report_only' AND NEW.due_at IS NOT NULL
            THEN date(min(NEW.due_at, COALESCE(NEW.closed_at, NEW.due_at)), '+8 hours') END,
        NEW.grid_code, NEW.department, COALESCE(CAST(NEW.reporter_id AS TEXT), ''),
        1, NEW.closed_at IS NOT NULL, COALESCE(NEW.closed_at <= NEW.due_at, 0)
    WHERE (CASE WHEN NEW.kind <> 'report_only' AND NEW.due_at IS NOT NULL
            THEN date(min(NEW.due_at, COALESCE(NEW.closed_at, NEW.due_at)), '+8 hours') END) IS NOT NULL
      AND (OLD.grid_code, OLD.department, OLD.reporter_id, CASE WHEN OLD.kind <> 'report_only' AND OLD.due_at IS NOT NULL
            THEN date(min(OLD.due_at, COALESCE(OLD.closed_at, OLD.due_at)), '+8 hours') END, 1, OLD.closed_at IS NOT NULL, COALESCE(OLD.closed_at <= OLD.due_at, 0))
      IS NOT (NEW.grid_code, NEW.department, NEW.reporter_id, CASE WHEN NEW.kind <> 'report_only' AND NEW.due_at IS NOT NULL
            THEN date(min(NEW.due_at, COALESCE(NEW.closed_at, NEW.due_at)), '+8 hours') END, 1, NEW.closed_at IS NOT NULL, COALESCE(NEW.closed_at <= NEW.due_at, 0));
    INSERT INTO event_rollup_pending(day, g, d, r, self_resolved, revisits, satisfaction)
    SELECT CASE WHEN OLD.kind <> 'report_only' AND OLD.closed_at IS NOT NULL AND ((OLD.state = 'closed' AND OLD.tier IN ('grid', 'village') AND OLD.dispatched_at IS NULL) OR (OLD.satisfaction IS NOT NULL))
            THEN date(OLD.closed_at, '+8 hours') END,
        OLD.grid_code, OLD.department, COALESCE(CAST(OLD.reporter_id AS TEXT), ''),
        -((OLD.state = 'closed' AND OLD.tier IN ('grid', 'village') AND OLD.dispatched_at IS NULL)), -((OLD.satisfaction IS NOT NULL)), -(COALESCE(OLD.satisfaction, 0))
    WHERE (CASE WHEN OLD.kind <> 'report_only' AND OLD.closed_at IS NOT NULL AND ((OLD.state = 'closed' AND OLD.tier IN ('grid', 'village') AND OLD.dispatched_at IS NULL) OR (OLD.satisfaction IS NOT NULL))
            THEN date(OLD.closed_at, '+8 hours') END) IS NOT NULL
      AND (OLD.grid_code, OLD.department, OLD.reporter_id, CASE WHEN OLD.kind <> 'report_only' AND OLD.closed_at IS NOT NULL AND ((OLD.state = 'closed' AND OLD.tier IN ('grid', 'village') AND OLD.dispatched_at IS NULL) OR (OLD.satisfaction IS NOT NULL))
            THEN date(OLD.closed_at, '+8 hours') END, (OLD.state = 'closed' AND OLD.tier IN ('grid', 'village') AND OLD.dispatched_at IS NULL), (OLD.satisfaction IS NOT NULL), COALESCE(OLD.satisfaction, 0))
      IS NOT (NEW.grid_code, NEW.department, NEW.reporter_id, CASE WHEN NEW.kind <> 'report_only' AND NEW.closed_at IS NOT NULL AND ((NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL) OR (NEW.satisfaction IS NOT NULL))
            THEN date(NEW.closed_at, '+8 hours') END, (NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL), (NEW.satisfaction IS NOT NULL), COALESCE(NEW.satisfaction, 0));
    INSERT INTO event_rollup_pending(day, g, d, r, self_resolved, revisits, satisfaction)
    SELECT CASE WHEN NEW.kind <> 'report_only' AND NEW.closed_at IS NOT NULL AND ((NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL) OR (NEW.satisfaction IS NOT NULL))
            THEN date(NEW.closed_at, '+8 hours') END,
        NEW.grid_code, NEW.department, COALESCE(CAST(NEW.reporter_id AS TEXT), ''),
        (NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL), (NEW.satisfaction IS NOT NULL), COALESCE(NEW.satisfaction, 0)
    WHERE (CASE WHEN NEW.kind <> 'report_only' AND NEW.closed_at IS NOT NULL AND ((NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL) OR (NEW.satisfaction IS NOT NULL))
            THEN date(NEW.closed_at, '+8 hours') END) IS NOT NULL
      AND (OLD.grid_code, OLD.department, OLD.reporter_id, CASE WHEN OLD.kind <> 'report_only' AND OLD.closed_at IS NOT NULL AND ((OLD.state = 'closed' AND OLD.tier IN ('grid', 'village') AND OLD.dispatched_at IS NULL) OR (OLD.satisfaction IS NOT NULL))
            THEN date(OLD.closed_at, '+8 hours') END, (OLD.state = 'closed' AND OLD.tier IN ('grid', 'village') AND OLD.dispatched_at IS NULL), (OLD.satisfaction IS NOT NULL), COALESCE(OLD.satisfaction, 0))
      IS NOT (NEW.grid_code, NEW.department, NEW.reporter_id, CASE WHEN NEW.kind <> 'report_only' AND NEW.closed_at IS NOT NULL AND ((NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL) OR (NEW.satisfaction IS NOT NULL))
            THEN date(NEW.closed_at, '+8 hours') END, (NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL), (NEW.satisfaction IS NOT NULL), COALESCE(NEW.satisfaction, 0));
    -- the returns to work logged so far follow the event to its new department
    INSERT INTO event_rollup_pending(day, g, d, r, rework)
    SELECT x.day, p.g, p.d, p.r, p.s * x.n
    FROM (SELECT date(at, '+8 hours') AS day, count(*) AS n FROM event_log
          WHERE event_id = NEW.id AND (action = 'check_fail' OR (action = 'revisit' AND to_state = 'handling')) GROUP BY 1) x,
        (SELECT -1 AS s, OLD.grid_code AS g, OLD.department AS d, COALESCE(CAST(OLD.reporter_id AS TEXT), '') AS r WHERE OLD.kind <> 'report_only'
         UNION ALL SELECT 1, NEW.grid_code AS g, NEW.department AS d, COALESCE(CAST(NEW.reporter_id AS TEXT), '') AS r WHERE NEW.kind <> 'report_only') p
    WHERE (OLD.grid_code, OLD.department, OLD.reporter_id, OLD.kind)
        IS NOT (NEW.grid_code, NEW.department, NEW.reporter_id, NEW.kind);
END;

CREATE TRIGGER event_rollup_rework AFTER INSERT ON event_log
WHEN NEW.action = 'check_fail' OR (NEW.action = 'revisit' AND NEW.to_state = 'handling')
BEGIN
    INSERT INTO event_rollup_pending(day, g, d, r, rework)
    SELECT date(NEW.at, '+8 hours'), e.grid_code, e.department, COALESCE(CAST(e.reporter_id AS TEXT), ''), 1
    FROM event e WHERE e.id = NEW.event_id AND e.kind <> 'report_only';
END;

-- Every 256 pending rows, in the write that adds the 256th: folded into the roll-ups at once,
-- grouped (a city's or a town's day row takes all its events' changes in one write).
CREATE TRIGGER event_rollup_fold AFTER INSERT ON event_rollup_pending WHEN NEW.id >= 256
BEGIN
    INSERT INTO event_rollup(dim, lvl, bucket, area, key, reported, filed, due, closed, on_time, self_resolved, revisits, satisfaction, rework)
    SELECT t.dim, t.lvl, substr(p.day, 1, t.span), CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END, CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END,
        SUM(p.reported), SUM(p.filed), SUM(p.due), SUM(p.closed), SUM(p.on_time), SUM(p.self_resolved), SUM(p.revisits), SUM(p.satisfaction), SUM(p.rework)
    FROM event_rollup_pending p, event_rollup_target t WHERE p.day IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (dim, lvl, bucket, area, key) DO UPDATE SET
        reported = reported + excluded.reported, filed = filed + excluded.filed, due = due + excluded.due, closed = closed + excluded.closed, on_time = on_time + excluded.on_time, self_resolved = self_resolved + excluded.self_resolved, revisits = revisits + excluded.revisits, satisfaction = satisfaction + excluded.satisfaction, rework = rework + excluded.rework;
    DELETE FROM event_rollup_pending;
END;
