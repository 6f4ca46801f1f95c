#!/bin/bash
# postgis_kpi.sh: the PostgreSQL reference of the KPI benchmark (docs/BENCHMARKS.md): the KPIs
# by town over a year of events as one GROUP BY over the event rows, the way a server without
# roll-ups answers them, next to civgrid's answer from its roll-ups.
#
# Copies the events and the log entries that count as rework (返工) of a civgrid database
# (the year of tests/bench/year_events.sql) into a throw-away cluster (tests/bench/pg_lib.sh),
# with an index on the town, and times the same counts as tests/bench/kpi_town.sql (the
# reference rule of src/domain/event/event_store.c) with all of PostgreSQL's parallel
# workers. Prints JSON lines (the record format of tests/bench/run.sh) and the totals of
# the answer ({"type":"info","id":"postgis.kpi.totals"}), so run.sh can check they agree.
#
#   postgis_kpi.sh --db YEAR.db --from ISO --to ISO [--runs N]
set -u

db="" from="" to="" runs=3
while [ $# -gt 0 ]; do
    case "$1" in
    --db) db=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    --to) to=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "postgis_kpi.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
if [ ! -r "$db" ] || [ -z "$from" ] || [ -z "$to" ]; then
    echo "usage: postgis_kpi.sh --db YEAR.db --from ISO --to ISO [--runs N]" >&2
    exit 2
fi

log() { echo "  PostGIS KPI: $*" >&2; }
unavailable() { # reason
    log "skipped: $1"
    printf '{"type":"info","id":"postgis.kpi.available","value":false,"reason":"%s"}\n' "$1"
    exit 0
}
command -v sqlite3 >/dev/null || unavailable "sqlite3 is not installed"

# shellcheck source=tests/bench/pg_lib.sh
. "$(dirname "$0")/pg_lib.sh"
pg_require
pg_start pgkpi 54331 512MB

log "copying the events of $db"
sqlite3 -csv "$db" "SELECT id, grid_code, department, kind, state, tier, created_at,
    filed_at, dispatched_at, due_at, closed_at, satisfaction, reporter_id FROM event" \
    >"$tmp/events.csv" || unavailable "cannot read the events of $db"
sqlite3 -csv "$db" "SELECT event_id, at FROM event_log WHERE action = 'check_fail'
    OR (action = 'revisit' AND to_state = 'handling')" >"$tmp/rework.csv" ||
    unavailable "cannot read the log of $db"
[ "$(id -u)" != 0 ] || chown postgres: "$tmp"/*.csv
(cd "$tmp" && sql) <<'SQL' || unavailable "loading the events failed"
CREATE TABLE ev (id bigint PRIMARY KEY, grid_code text, department text, kind text, state text,
    tier text, created_at text, filed_at text, dispatched_at text, due_at text, closed_at text,
    satisfaction int, reporter_id bigint);
\copy ev FROM 'events.csv' WITH (FORMAT csv)
CREATE TABLE rework (event_id bigint, at text);
\copy rework FROM 'rework.csv' WITH (FORMAT csv)
CREATE INDEX ev_town ON ev (substr(grid_code, 1, 9));
CREATE INDEX rework_event ON rework (event_id);
VACUUM ANALYZE ev;
VACUUM ANALYZE rework;
SQL
n=$(sql -c "SELECT count(*) FROM ev")
[ "$n" -gt 0 ] || unavailable "no events to load"

# The counts of kpi_town.sql: reported, filed, due (应结案, reckoned on min(due, closed)),
# closed, on time, rework, self-resolved, return visits and the sum of their grades.
cat >"$tmp/kpi.sql" <<SQL
SELECT substr(grid_code, 1, 9) AS town,
    count(*) FILTER (WHERE created_at >= '$from' AND created_at < '$to'),
    count(*) FILTER (WHERE filed_at >= '$from' AND filed_at < '$to'),
    count(*) FILTER (WHERE reckon >= '$from' AND reckon < '$to'),
    count(*) FILTER (WHERE reckon >= '$from' AND reckon < '$to' AND closed_at IS NOT NULL),
    count(*) FILTER (WHERE reckon >= '$from' AND reckon < '$to' AND closed_at <= due_at),
    coalesce(sum(rw.n), 0),
    count(*) FILTER (WHERE state = 'closed' AND closed_at >= '$from' AND closed_at < '$to'
        AND tier IN ('grid', 'village') AND dispatched_at IS NULL),
    count(*) FILTER (WHERE satisfaction IS NOT NULL AND closed_at >= '$from' AND closed_at < '$to'),
    coalesce(sum(satisfaction) FILTER (WHERE closed_at >= '$from' AND closed_at < '$to'), 0)
FROM (SELECT *, CASE WHEN due_at IS NOT NULL THEN least(due_at, coalesce(closed_at, due_at)) END
        AS reckon FROM ev WHERE kind <> 'report_only') e
LEFT JOIN (SELECT event_id, count(*) AS n FROM rework WHERE at >= '$from' AND at < '$to'
        GROUP BY 1) rw ON rw.event_id = e.id
GROUP BY 1 ORDER BY 1;
SQL
log "the KPIs by town over $n events, $runs runs"
sql -f "$tmp/kpi.sql" >/dev/null || unavailable "the KPI query failed" # warm the cache
samples=()
for _ in $(seq 1 "$runs"); do
    ms=$( { echo '\timing on'; cat "$tmp/kpi.sql"; } | sql 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
    [ -n "$ms" ] && samples+=("$ms")
done
[ "${#samples[@]}" -gt 0 ] || unavailable "no timing from psql"
totals=$(sql -F, -c "SELECT sum(r), sum(f), sum(d), sum(c), sum(o) FROM (
    $(sed '$ s/;$//' "$tmp/kpi.sql")) AS k(town, r, f, d, c, o, rw, sr, rv, sat)")

pg_info postgis.kpi.available true
pg_info postgis.kpi.version "\"PostgreSQL $pg_version\""
pg_info postgis.kpi.totals "\"$totals\""
pg_emit postgis.kpi_town "PostgreSQL GROUP BY over the event rows, KPIs by town (parallel workers)" \
    "$(printf "%'d" "$n") events" ms lower "$(pg_join "${samples[@]}")"
