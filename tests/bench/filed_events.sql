-- filed_events.sql: events waiting for dispatch, for the dispatch benchmark (docs/BENCHMARKS.md,
-- bench_dispatch in tests/bench/run.sh). Run by the sqlite3 shell on the bench's own copy of
-- the Dongguan demo with :n (events), :now (Unix ms), :actor (the account id of the bench's
-- duty officer) and :seed set. Each event is what the API leaves after report, accept and
-- file: state filed, version 3, three log entries, the dispatch deadline 4 hours ahead.
-- Grids are drawn with a Lehmer generator of the event number and the seed. The copy must
-- hold no events yet (ids run from 1 to :n).
PRAGMA foreign_keys = OFF;
PRAGMA synchronous = OFF;
BEGIN;
CREATE TEMP TABLE g AS
SELECT row_number() OVER (ORDER BY code) AS i, code,
       (min_lon + max_lon) / 2 AS lon, (min_lat + max_lat) / 2 AS lat
FROM grid WHERE valid_to IS NULL AND kind = 'territorial';
CREATE TEMP TABLE f AS
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :n)
SELECT n, (n * 48271 + :seed * 69621 + 777) % 2147483647 AS h,
       strftime('%Y-%m-%dT%H:%M:%fZ', (:now - 7200000) / 1000.0, 'unixepoch') AS t_report,
       strftime('%Y-%m-%dT%H:%M:%fZ', (:now - 3600000) / 1000.0, 'unixepoch') AS t_accept,
       strftime('%Y-%m-%dT%H:%M:%fZ', :now / 1000.0, 'unixepoch') AS t_file,
       strftime('%Y-%m-%dT%H:%M:%fZ', (:now + 14400000) / 1000.0, 'unixepoch') AS t_deadline
FROM s;
INSERT INTO event(id, kind, source, category_kind, category_code, category_name, department,
    urgency, title, lon, lat, grid_code, reporter_id, state, tier, step_started_at, deadline_at,
    risk_score, risk_reasons, version, created_at, updated_at, filed_at)
SELECT f.n, 'normal', 'patrol', 'event', c.code, c.name,
    c.department, 'normal', 'bench event', g.lon, g.lat, g.code, :actor, 'filed', 'grid', f.t_file,
    f.t_deadline, 10, '[{"code":"urgency","detail":"normal","points":10}]', 3, f.t_report, f.t_file,
    f.t_file
FROM f JOIN g ON g.i = f.h % (SELECT count(*) FROM g) + 1
JOIN event_category c ON c.kind = 'event' AND c.code = '0102'
ORDER BY f.n;
INSERT INTO event_log(event_id, at, actor_id, actor_login, action, from_state, to_state, deadline_at)
SELECT id, at, :actor, 'bench.duty', action, from_state, to_state, deadline FROM (
    SELECT f.n AS id, 0 AS k, f.t_report AS at, 'report' AS action, NULL AS from_state,
           'reported' AS to_state, NULL AS deadline FROM f
    UNION ALL SELECT f.n, 1, f.t_accept, 'accept', 'reported', 'accepted', NULL FROM f
    UNION ALL SELECT f.n, 2, f.t_file, 'file', 'accepted', 'filed', f.t_deadline FROM f)
ORDER BY id, k;
COMMIT;
SELECT 'filed events', count(*) FROM event WHERE state = 'filed';
