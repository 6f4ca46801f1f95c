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
-- by grid over a year inside a town are the town's grids times 12 months.

-- When a step was filed (立案) and first dispatched: a pure function of the row needs them.
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

-- Open events by state, for the same targets (no period).
CREATE TABLE event_open (
    dim INTEGER NOT NULL,
    lvl INTEGER NOT NULL,
    area TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (dim, lvl, area, key, state)
) WITHOUT ROWID;

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

INSERT INTO event_open(dim, lvl, area, key, state, n)
SELECT t.dim, t.lvl, CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END, CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END, p.state, count(*)
FROM (SELECT e.grid_code AS g, e.department AS d, COALESCE(CAST(e.reporter_id AS TEXT), '') AS r, e.state FROM event e WHERE e.state NOT IN ('closed', 'cancelled', 'recorded', 'merged')) p,
    event_rollup_target t WHERE t.span = 10 GROUP BY 1, 2, 3, 4, 5;

-- The dashboard's red and yellow warnings count the open events with a deadline in scope:
-- a small index of those only (it covers what the count and the yellow rule read).
CREATE INDEX event_open_deadline ON event(deadline_at, grid_code, department, reporter_id,
    step_started_at, state) WHERE deadline_at IS NOT NULL
    AND state NOT IN ('closed', 'cancelled', 'recorded', 'merged');

CREATE TRIGGER event_rollup_insert AFTER INSERT ON event
BEGIN
    INSERT INTO event_rollup(dim, lvl, bucket, area, key, reported)
    SELECT t.dim, t.lvl, substr(p.day, 1, t.span), CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END,
        CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END, p.s * p.reported
    FROM (SELECT 1 AS s, NEW.grid_code AS g, NEW.department AS d, COALESCE(CAST(NEW.reporter_id AS TEXT), '') AS r,
            CASE WHEN NEW.kind <> 'report_only' THEN date(NEW.created_at, '+8 hours') END AS day, 1 AS reported) p, event_rollup_target t
    WHERE p.day IS NOT NULL
    ON CONFLICT (dim, lvl, bucket, area, key) DO UPDATE SET
        reported = reported + excluded.reported;
    INSERT INTO event_rollup(dim, lvl, bucket, area, key, filed)
    SELECT t.dim, t.lvl, substr(p.day, 1, t.span), CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END,
        CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END, p.s * p.filed
    FROM (SELECT 1 AS s, NEW.grid_code AS g, NEW.department AS d, COALESCE(CAST(NEW.reporter_id AS TEXT), '') AS r,
            CASE WHEN NEW.kind <> 'report_only' AND NEW.filed_at IS NOT NULL THEN date(NEW.filed_at, '+8 hours') END AS day, 1 AS filed) p, event_rollup_target t
    WHERE p.day IS NOT NULL
    ON CONFLICT (dim, lvl, bucket, area, key) DO UPDATE SET
        filed = filed + excluded.filed;
    INSERT INTO event_rollup(dim, lvl, bucket, area, key, due, closed, on_time)
    SELECT t.dim, t.lvl, substr(p.day, 1, t.span), CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END,
        CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END, p.s * p.due, p.s * p.closed, p.s * p.on_time
    FROM (SELECT 1 AS s, NEW.grid_code AS g, NEW.department AS d, COALESCE(CAST(NEW.reporter_id AS TEXT), '') AS r,
            CASE WHEN NEW.kind <> 'report_only' AND NEW.due_at IS NOT NULL
            THEN date(min(NEW.due_at, COALESCE(NEW.closed_at, NEW.due_at)), '+8 hours') END AS day, 1 AS due, NEW.closed_at IS NOT NULL AS closed, COALESCE(NEW.closed_at <= NEW.due_at, 0) AS on_time) p, event_rollup_target t
    WHERE p.day IS NOT NULL
    ON CONFLICT (dim, lvl, bucket, area, key) DO UPDATE SET
        due = due + excluded.due, closed = closed + excluded.closed, on_time = on_time + excluded.on_time;
    INSERT INTO event_rollup(dim, lvl, bucket, area, key, self_resolved, revisits, satisfaction)
    SELECT t.dim, t.lvl, substr(p.day, 1, t.span), CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END,
        CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END, p.s * p.self_resolved, p.s * p.revisits, p.s * p.satisfaction
    FROM (SELECT 1 AS s, NEW.grid_code AS g, NEW.department AS d, COALESCE(CAST(NEW.reporter_id AS TEXT), '') AS r,
            CASE WHEN NEW.kind <> 'report_only' AND NEW.closed_at IS NOT NULL AND ((NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL) OR (NEW.satisfaction IS NOT NULL))
            THEN date(NEW.closed_at, '+8 hours') END AS day, (NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL) AS self_resolved, (NEW.satisfaction IS NOT NULL) AS revisits, COALESCE(NEW.satisfaction, 0) AS satisfaction) p, event_rollup_target t
    WHERE p.day IS NOT NULL
    ON CONFLICT (dim, lvl, bucket, area, key) DO UPDATE SET
        self_resolved = self_resolved + excluded.self_resolved, revisits = revisits + excluded.revisits, satisfaction = satisfaction + excluded.satisfaction;
    INSERT INTO event_open(dim, lvl, area, key, state, n)
    SELECT t.dim, t.lvl, CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END, CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END, p.state, p.s
    FROM (SELECT 1 AS s, NEW.grid_code AS g, NEW.department AS d, COALESCE(CAST(NEW.reporter_id AS TEXT), '') AS r, NEW.state AS state WHERE NEW.state NOT IN ('closed', 'cancelled', 'recorded', 'merged')) p, event_rollup_target t
    WHERE t.span = 10
    ON CONFLICT (dim, lvl, area, key, state) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER event_rollup_update AFTER UPDATE ON event
WHEN (OLD.kind, OLD.created_at, OLD.filed_at, OLD.dispatched_at, OLD.due_at, OLD.closed_at, OLD.state, OLD.tier, OLD.satisfaction, OLD.department, OLD.grid_code, OLD.reporter_id)
    IS NOT (NEW.kind, NEW.created_at, NEW.filed_at, NEW.dispatched_at, NEW.due_at, NEW.closed_at, NEW.state, NEW.tier, NEW.satisfaction, NEW.department, NEW.grid_code, NEW.reporter_id)
BEGIN
    INSERT INTO event_rollup(dim, lvl, bucket, area, key, reported)
    SELECT t.dim, t.lvl, substr(p.day, 1, t.span), CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END,
        CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END, p.s * p.reported
    FROM (SELECT -1 AS s, OLD.grid_code AS g, OLD.department AS d, COALESCE(CAST(OLD.reporter_id AS TEXT), '') AS r,
            CASE WHEN OLD.kind <> 'report_only' THEN date(OLD.created_at, '+8 hours') END AS day, 1 AS reported
        UNION ALL SELECT 1 AS s, NEW.grid_code AS g, NEW.department AS d, COALESCE(CAST(NEW.reporter_id AS TEXT), '') AS r,
            CASE WHEN NEW.kind <> 'report_only' THEN date(NEW.created_at, '+8 hours') END AS day, 1 AS reported) p, event_rollup_target t
    WHERE p.day IS NOT NULL
      AND (OLD.grid_code, OLD.department, OLD.reporter_id, CASE WHEN OLD.kind <> 'report_only' THEN date(OLD.created_at, '+8 hours') END, 1)
      IS NOT (NEW.grid_code, NEW.department, NEW.reporter_id, CASE WHEN NEW.kind <> 'report_only' THEN date(NEW.created_at, '+8 hours') END, 1)
    ON CONFLICT (dim, lvl, bucket, area, key) DO UPDATE SET
        reported = reported + excluded.reported;
    INSERT INTO event_rollup(dim, lvl, bucket, area, key, filed)
    SELECT t.dim, t.lvl, substr(p.day, 1, t.span), CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END,
        CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END, p.s * p.filed
    FROM (SELECT -1 AS s, OLD.grid_code AS g, OLD.department AS d, COALESCE(CAST(OLD.reporter_id AS TEXT), '') AS r,
            CASE WHEN OLD.kind <> 'report_only' AND OLD.filed_at IS NOT NULL THEN date(OLD.filed_at, '+8 hours') END AS day, 1 AS filed
        UNION ALL SELECT 1 AS s, NEW.grid_code AS g, NEW.department AS d, COALESCE(CAST(NEW.reporter_id AS TEXT), '') AS r,
            CASE WHEN NEW.kind <> 'report_only' AND NEW.filed_at IS NOT NULL THEN date(NEW.filed_at, '+8 hours') END AS day, 1 AS filed) p, event_rollup_target t
    WHERE p.day IS NOT NULL
      AND (OLD.grid_code, OLD.department, OLD.reporter_id, CASE WHEN OLD.kind <> 'report_only' AND OLD.filed_at IS NOT NULL THEN date(OLD.filed_at, '+8 hours') END, 1)
      IS NOT (NEW.grid_code, NEW.department, NEW.reporter_id, CASE WHEN NEW.kind <> 'report_only' AND NEW.filed_at IS NOT NULL THEN date(NEW.filed_at, '+8 hours') END, 1)
    ON CONFLICT (dim, lvl, bucket, area, key) DO UPDATE SET
        filed = filed + excluded.filed;
    INSERT INTO event_rollup(dim, lvl, bucket, area, key, due, closed, on_time)
    SELECT t.dim, t.lvl, substr(p.day, 1, t.span), CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END,
        CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END, p.s * p.due, p.s * p.closed, p.s * p.on_time
    FROM (SELECT -1 AS s, OLD.grid_code AS g, OLD.department AS d, COALESCE(CAST(OLD.reporter_id AS TEXT), '') AS r,
            CASE WHEN OLD.kind <> 'report_only' AND OLD.due_at IS NOT NULL
            THEN date(min(OLD.due_at, COALESCE(OLD.closed_at, OLD.due_at)), '+8 hours') END AS day, 1 AS due, OLD.closed_at IS NOT NULL AS closed, COALESCE(OLD.closed_at <= OLD.due_at, 0) AS on_time
        UNION ALL SELECT 1 AS s, NEW.grid_code AS g, NEW.department AS d, COALESCE(CAST(NEW.reporter_id AS TEXT), '') AS r,
            CASE WHEN NEW.kind <> 'report_only' AND NEW.due_at IS NOT NULL
            THEN date(min(NEW.due_at, COALESCE(NEW.closed_at, NEW.due_at)), '+8 hours') END AS day, 1 AS due, NEW.closed_at IS NOT NULL AS closed, COALESCE(NEW.closed_at <= NEW.due_at, 0) AS on_time) p, event_rollup_target t
    WHERE p.day IS NOT NULL
      AND (OLD.grid_code, OLD.department, OLD.reporter_id, CASE WHEN OLD.kind <> 'report_only' AND OLD.due_at IS NOT NULL
            THEN date(min(OLD.due_at, COALESCE(OLD.closed_at, OLD.due_at)), '+8 hours') END, 1, OLD.closed_at IS NOT NULL, COALESCE(OLD.closed_at <= OLD.due_at, 0))
      IS NOT (NEW.grid_code, NEW.department, NEW.reporter_id, CASE WHEN NEW.kind <> 'report_only' AND NEW.due_at IS NOT NULL
            THEN date(min(NEW.due_at, COALESCE(NEW.closed_at, NEW.due_at)), '+8 hours') END, 1, NEW.closed_at IS NOT NULL, COALESCE(NEW.closed_at <= NEW.due_at, 0))
    ON CONFLICT (dim, lvl, bucket, area, key) DO UPDATE SET
        due = due + excluded.due, closed = closed + excluded.closed, on_time = on_time + excluded.on_time;
    INSERT INTO event_rollup(dim, lvl, bucket, area, key, self_resolved, revisits, satisfaction)
    SELECT t.dim, t.lvl, substr(p.day, 1, t.span), CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END,
        CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END, p.s * p.self_resolved, p.s * p.revisits, p.s * p.satisfaction
    FROM (SELECT -1 AS s, OLD.grid_code AS g, OLD.department AS d, COALESCE(CAST(OLD.reporter_id AS TEXT), '') AS r,
            CASE WHEN OLD.kind <> 'report_only' AND OLD.closed_at IS NOT NULL AND ((OLD.state = 'closed' AND OLD.tier IN ('grid', 'village') AND OLD.dispatched_at IS NULL) OR (OLD.satisfaction IS NOT NULL))
            THEN date(OLD.closed_at, '+8 hours') END AS day, (OLD.state = 'closed' AND OLD.tier IN ('grid', 'village') AND OLD.dispatched_at IS NULL) AS self_resolved, (OLD.satisfaction IS NOT NULL) AS revisits, COALESCE(OLD.satisfaction, 0) AS satisfaction
        UNION ALL SELECT 1 AS s, NEW.grid_code AS g, NEW.department AS d, COALESCE(CAST(NEW.reporter_id AS TEXT), '') AS r,
            CASE WHEN NEW.kind <> 'report_only' AND NEW.closed_at IS NOT NULL AND ((NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL) OR (NEW.satisfaction IS NOT NULL))
            THEN date(NEW.closed_at, '+8 hours') END AS day, (NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL) AS self_resolved, (NEW.satisfaction IS NOT NULL) AS revisits, COALESCE(NEW.satisfaction, 0) AS satisfaction) p, event_rollup_target t
    WHERE p.day IS NOT NULL
      AND (OLD.grid_code, OLD.department, OLD.reporter_id, CASE WHEN OLD.kind <> 'report_only' AND OLD.closed_at IS NOT NULL AND ((OLD.state = 'closed' AND OLD.tier IN ('grid', 'village') AND OLD.dispatched_at IS NULL) OR (OLD.satisfaction IS NOT NULL))
            THEN date(OLD.closed_at, '+8 hours') END, (OLD.state = 'closed' AND OLD.tier IN ('grid', 'village') AND OLD.dispatched_at IS NULL), (OLD.satisfaction IS NOT NULL), COALESCE(OLD.satisfaction, 0))
      IS NOT (NEW.grid_code, NEW.department, NEW.reporter_id, CASE WHEN NEW.kind <> 'report_only' AND NEW.closed_at IS NOT NULL AND ((NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL) OR (NEW.satisfaction IS NOT NULL))
            THEN date(NEW.closed_at, '+8 hours') END, (NEW.state = 'closed' AND NEW.tier IN ('grid', 'village') AND NEW.dispatched_at IS NULL), (NEW.satisfaction IS NOT NULL), COALESCE(NEW.satisfaction, 0))
    ON CONFLICT (dim, lvl, bucket, area, key) DO UPDATE SET
        self_resolved = self_resolved + excluded.self_resolved, revisits = revisits + excluded.revisits, satisfaction = satisfaction + excluded.satisfaction;
    INSERT INTO event_open(dim, lvl, area, key, state, n)
    SELECT t.dim, t.lvl, CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END, CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END, p.state, p.s
    FROM (SELECT -1 AS s, OLD.grid_code AS g, OLD.department AS d, COALESCE(CAST(OLD.reporter_id AS TEXT), '') AS r, OLD.state AS state WHERE OLD.state NOT IN ('closed', 'cancelled', 'recorded', 'merged')
        UNION ALL SELECT 1 AS s, NEW.grid_code AS g, NEW.department AS d, COALESCE(CAST(NEW.reporter_id AS TEXT), '') AS r, NEW.state AS state WHERE NEW.state NOT IN ('closed', 'cancelled', 'recorded', 'merged')) p, event_rollup_target t
    WHERE t.span = 10
      AND (OLD.state, OLD.grid_code, OLD.department, OLD.reporter_id)
      IS NOT (NEW.state, NEW.grid_code, NEW.department, NEW.reporter_id)
    ON CONFLICT (dim, lvl, area, key, state) DO UPDATE SET n = n + excluded.n;
    -- the returns to work logged so far follow the event to its new department
    INSERT INTO event_rollup(dim, lvl, bucket, area, key, rework)
    SELECT t.dim, t.lvl, substr(x.day, 1, t.span), CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END, CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END, p.s * x.n
    FROM (SELECT date(at, '+8 hours') AS day, count(*) AS n FROM event_log
          WHERE event_id = NEW.id AND (action = 'check_fail' OR (action = 'revisit' AND to_state = 'handling')) GROUP BY 1) x,
        (SELECT -1 AS s, OLD.grid_code AS g, OLD.department AS d, COALESCE(CAST(OLD.reporter_id AS TEXT), '') AS r WHERE OLD.kind <> 'report_only'
         UNION ALL SELECT 1, NEW.grid_code AS g, NEW.department AS d, COALESCE(CAST(NEW.reporter_id AS TEXT), '') AS r WHERE NEW.kind <> 'report_only') p,
        event_rollup_target t
    WHERE (OLD.grid_code, OLD.department, OLD.reporter_id, OLD.kind)
        IS NOT (NEW.grid_code, NEW.department, NEW.reporter_id, NEW.kind)
    ON CONFLICT (dim, lvl, bucket, area, key) DO UPDATE SET
        rework = rework + excluded.rework;
END;

CREATE TRIGGER event_rollup_rework AFTER INSERT ON event_log
WHEN NEW.action = 'check_fail' OR (NEW.action = 'revisit' AND NEW.to_state = 'handling')
BEGIN
    INSERT INTO event_rollup(dim, lvl, bucket, area, key, rework)
    SELECT t.dim, t.lvl, substr(date(NEW.at, '+8 hours'), 1, t.span), CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END, CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END, 1
    FROM (SELECT e.grid_code AS g, e.department AS d, COALESCE(CAST(e.reporter_id AS TEXT), '') AS r FROM event e WHERE e.id = NEW.event_id AND e.kind <> 'report_only') p,
        event_rollup_target t
    WHERE true
    ON CONFLICT (dim, lvl, bucket, area, key) DO UPDATE SET
        rework = rework + excluded.rework;
END;
