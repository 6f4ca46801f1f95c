-- year_events.sql: a synthetic year of events for the dashboard benchmark (docs/BENCHMARKS.md,
-- bench_dashboard in tests/bench/run.sh). Run by the sqlite3 shell on the bench's own copy of
-- the Dongguan demo, with these parameters set (.parameter set):
--   :n        events to make (1,700,000: Dongguan's year)
--   :end_ms   the end of the year, Unix milliseconds (the events are in the 365 days before)
--   :seed     the seed (BENCH_SEED): the same seed gives the same rows
--   :reporter the account id of the actor of every step and the reporter of hotline events
--             (a bench account); the patrol events' reporter is one of their grid's workers
--             (below)
-- Deterministic: a Lehmer generator of the event number and the seed, no random().
--
-- The mix follows the seeds of the issue (grid workers solve most of it in their grid):
--   2 %  report-only records (事件报备): state recorded, one log entry;
--   88 % resolved on the spot by a grid worker (自行处置): closed at once, report + resolve;
--   10 % through the command center: report, accept, file, dispatch (due in 3 days), sign,
--        feedback (after 1 to 5 days), check_fail for 5 % of them (返工), check_pass, close;
--        the steps that lie after :end_ms are not taken, so the last days hold open events
--        in every state, with deadlines (some past: red warnings).
-- Times are RFC 3339 UTC with milliseconds, as the server writes them. The KPI roll-ups
-- (migration 0010) are kept by the triggers on event and event_log as the rows go in, exactly
-- as for the server's own writes.

PRAGMA foreign_keys = OFF;
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;

BEGIN;
CREATE TEMP TABLE g AS
SELECT row_number() OVER (ORDER BY code) AS i, code,
       (min_lon + max_lon) / 2 AS lon, (min_lat + max_lat) / 2 AS lat
FROM grid WHERE valid_to IS NULL AND kind = 'territorial';

-- h1..h4: four draws in [0, 2^31 - 1) per event.
CREATE TEMP TABLE b AS
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :n),
h AS (SELECT n, (n * 48271 + :seed * 69621 + 12345) % 2147483647 AS h1 FROM s),
hh AS (SELECT n, h1, (h1 * 48271) % 2147483647 AS h2 FROM h),
hhh AS (SELECT n, h1, h2, (h2 * 48271) % 2147483647 AS h3 FROM hh)
SELECT n, h1, h2, h3, (h3 * 48271) % 2147483647 AS h4,
       h1 % 1000 AS p,
       :end_ms - 31536000000 + (h2 % 31536000) * 1000 + h3 % 1000 AS t0
FROM hhh;

-- Per event: its grid, its class and the time of each step of the command-center path
-- (NULL when the step is past :end_ms or not on its path).
CREATE TEMP TABLE e AS
SELECT b.n AS id, b.p, b.t0, g.code AS grid_code, g.lon, g.lat,
       CASE WHEN b.p < 20 THEN 'report_only' WHEN b.p < 900 THEN 'self_resolved' ELSE 'normal' END AS kind,
       CASE (b.h4 % 4) WHEN 0 THEN '0102' WHEN 1 THEN '0103' WHEN 2 THEN '0104' ELSE '0106' END AS cat,
       b.h4 % 100 < 5 AS rework,
       b.t0 + 3600000 AS t_accept, b.t0 + 7200000 AS t_file, b.t0 + 10800000 AS t_dispatch,
       b.t0 + 10800000 + 259200000 AS t_due, b.t0 + 14400000 AS t_sign,
       b.t0 + 14400000 + (86400000 + (b.h3 % 345600) * 1000) AS t_feedback
FROM b JOIN g ON g.i = b.h2 % (SELECT count(*) FROM g) + 1;
-- rework: the check fails 2 hours after the first feedback, the second feedback comes a day
-- later; then check_pass 2 hours and close 3 hours after the (last) feedback.
ALTER TABLE e ADD COLUMN t_fail INTEGER;
ALTER TABLE e ADD COLUMN t_feedback2 INTEGER;
UPDATE e SET t_fail = t_feedback + 7200000, t_feedback2 = t_feedback + 86400000 WHERE rework;
ALTER TABLE e ADD COLUMN t_pass INTEGER;
ALTER TABLE e ADD COLUMN t_close INTEGER;
UPDATE e SET t_pass = COALESCE(t_feedback2, t_feedback) + 7200000,
             t_close = COALESCE(t_feedback2, t_feedback) + 10800000;

-- The reporter: one of the grid's workers for what a patrol found (the demo's staff have no
-- accounts: their staff id + 1,000,000 stands for one, so that the KPIs by worker have the
-- city's 9,889 workers to count), the bench account for the hotline's events.
CREATE TEMP TABLE wk AS
SELECT grid_code, staff_id, row_number() OVER (PARTITION BY grid_code ORDER BY staff_id) AS k,
       count(*) OVER (PARTITION BY grid_code) AS n
FROM grid_assignment WHERE role = 'worker' AND until IS NULL;
CREATE INDEX temp.wk_grid ON wk(grid_code, k);
ALTER TABLE e ADD COLUMN reporter INTEGER;
UPDATE e SET reporter = CASE WHEN kind = 'normal' AND p % 2 = 1 THEN :reporter ELSE COALESCE(
    (SELECT 1000000 + wk.staff_id FROM wk WHERE wk.grid_code = e.grid_code
     AND wk.k = e.id % wk.n + 1), :reporter) END;

CREATE TEMP TABLE step(k INTEGER PRIMARY KEY, action TEXT, from_state TEXT, to_state TEXT);
INSERT INTO step VALUES (1, 'accept', 'reported', 'accepted'), (2, 'file', 'accepted', 'filed'),
    (3, 'dispatch', 'filed', 'dispatched'), (4, 'sign', 'dispatched', 'handling'),
    (5, 'feedback', 'handling', 'handled'), (6, 'check_fail', 'handled', 'handling'),
    (7, 'feedback', 'handling', 'handled'), (8, 'check_pass', 'handled', 'checked'),
    (9, 'close', 'checked', 'closed');

-- The time of step k of event x, NULL when not taken (past the end, or no rework).
CREATE TEMP VIEW st AS
SELECT e.id, s.k, s.action, s.from_state, s.to_state,
       CASE s.k WHEN 1 THEN t_accept WHEN 2 THEN t_file WHEN 3 THEN t_dispatch WHEN 4 THEN t_sign
                WHEN 5 THEN t_feedback WHEN 6 THEN t_fail WHEN 7 THEN t_feedback2
                WHEN 8 THEN t_pass ELSE t_close END AS t
FROM e JOIN step s WHERE e.kind = 'normal';

CREATE TEMP TABLE last AS
SELECT id, max(k) AS k, max(t) AS t FROM st WHERE t IS NOT NULL AND t < :end_ms GROUP BY id;

INSERT INTO event(id, kind, source, category_kind, category_code, category_name, department,
    urgency, title, description, address, lon, lat, grid_code, reporter_id, state, tier,
    supervised, rework_count, step_started_at, deadline_at, due_at, closure_type, satisfaction,
    people, risk_score, risk_reasons, merged_into, version, created_at, updated_at, closed_at,
    filed_at, dispatched_at)
SELECT e.id, e.kind, CASE WHEN e.kind = 'normal' AND e.p % 2 = 1 THEN 'hotline' ELSE 'patrol' END,
    'event', e.cat, c.name, c.department, 'normal', 'bench event ' || e.id, '', '', e.lon, e.lat,
    e.grid_code, e.reporter,
    CASE e.kind WHEN 'report_only' THEN 'recorded' WHEN 'self_resolved' THEN 'closed'
        ELSE COALESCE((SELECT to_state FROM step WHERE step.k = l.k), 'reported') END,
    'grid', 0,
    CASE WHEN e.kind = 'normal' AND l.k >= 6 AND e.rework THEN 1 ELSE 0 END,
    strftime('%Y-%m-%dT%H:%M:%fZ', COALESCE(l.t, e.t0) / 1000.0, 'unixepoch'),
    -- the deadline of the open step: 4 hours to accept and to file, the due time to handle,
    -- a day to check; none once closed
    CASE WHEN e.kind <> 'normal' OR l.k = 9 THEN NULL
        ELSE strftime('%Y-%m-%dT%H:%M:%fZ', (CASE
            WHEN l.k IS NULL OR l.k <= 2 THEN COALESCE(l.t, e.t0) + 14400000
            WHEN l.k IN (3, 4, 6) THEN e.t_due
            ELSE l.t + 86400000 END) / 1000.0, 'unixepoch') END,
    CASE WHEN e.kind = 'normal' AND l.k >= 3 THEN strftime('%Y-%m-%dT%H:%M:%fZ', e.t_due / 1000.0, 'unixepoch') END,
    CASE WHEN e.kind = 'self_resolved' THEN 'normal'
        WHEN e.kind = 'normal' AND l.k = 9 THEN CASE WHEN e.t_close > e.t_due THEN 'overdue' ELSE 'normal' END END,
    NULL, 0, 10, '[{"code":"urgency","detail":"normal","points":10}]', NULL,
    1 + COALESCE((SELECT count(*) FROM st WHERE st.id = e.id AND st.t < :end_ms), e.kind = 'self_resolved'),
    strftime('%Y-%m-%dT%H:%M:%fZ', e.t0 / 1000.0, 'unixepoch'),
    strftime('%Y-%m-%dT%H:%M:%fZ', COALESCE(l.t, e.t0) / 1000.0, 'unixepoch'),
    CASE WHEN e.kind = 'self_resolved' THEN strftime('%Y-%m-%dT%H:%M:%fZ', e.t0 / 1000.0, 'unixepoch')
        WHEN e.kind = 'normal' AND l.k = 9 THEN strftime('%Y-%m-%dT%H:%M:%fZ', e.t_close / 1000.0, 'unixepoch') END,
    CASE WHEN e.kind = 'normal' AND l.k >= 2 THEN strftime('%Y-%m-%dT%H:%M:%fZ', e.t_file / 1000.0, 'unixepoch') END,
    CASE WHEN e.kind = 'normal' AND l.k >= 3 THEN strftime('%Y-%m-%dT%H:%M:%fZ', e.t_dispatch / 1000.0, 'unixepoch') END
FROM e LEFT JOIN last l ON l.id = e.id
LEFT JOIN event_category c ON c.kind = 'event' AND c.code = e.cat
ORDER BY e.id;

-- The log: the report of every event, the resolve of those resolved on the spot, the steps
-- taken by the others, in time order (ids follow the times within an event).
INSERT INTO event_log(event_id, at, actor_id, actor_login, action, from_state, to_state, note,
    detail, deadline_at)
SELECT id, strftime('%Y-%m-%dT%H:%M:%fZ', t / 1000.0, 'unixepoch'), :reporter, 'bench', action,
    from_state, to_state, '', detail, NULL
FROM (
    SELECT id, t0 AS t, 0 AS k, 'report' AS action, NULL AS from_state,
           CASE kind WHEN 'report_only' THEN 'recorded' ELSE 'reported' END AS to_state,
           NULL AS detail
    FROM e
    UNION ALL
    SELECT id, t0, 1, 'resolve', 'reported', 'closed', NULL FROM e WHERE kind = 'self_resolved'
    UNION ALL
    SELECT st.id, st.t, st.k, st.action, st.from_state, st.to_state,
           CASE WHEN st.k = 3 THEN json_object('due_at', strftime('%Y-%m-%dT%H:%M:%fZ', e.t_due / 1000.0, 'unixepoch'))
                WHEN st.k = 9 THEN json_object('closure', CASE WHEN e.t_close > e.t_due THEN 'overdue' ELSE 'normal' END) END
    FROM st JOIN e ON e.id = st.id WHERE st.t IS NOT NULL AND st.t < :end_ms
)
ORDER BY id, k;
COMMIT;

PRAGMA journal_mode = WAL;
-- No ANALYZE: the server never runs it, so its plans are those of a database without statistics.
SELECT 'events', count(*) FROM event;
SELECT 'log entries', count(*) FROM event_log;
