#!/bin/bash
# postgis_nearest.sh: the PostGIS reference of the nearest-workers benchmark
# (docs/BENCHMARKS.md, docs/PATROL.md).
#
# Starts a throw-away PostgreSQL cluster in a temporary directory (as the postgres
# user when run as root; socket only, no TCP; as tests/bench/postgis.sh does), loads
# the worker positions nearest_bench wrote (--csv-prefix), builds a GiST index and
# measures the k nearest positions to a random point:
#   SELECT id FROM pos ORDER BY geom <-> ST_SetSRID(ST_MakePoint($1,$2),4326) LIMIT k
# with pgbench (prepared statements, a random point of the positions' bounding box per
# transaction), 1 client and 8 clients: throughput and latency. It also checks the
# answers against civgrid's (PREFIX-answers.csv) for a sample of the queries, by the
# set of distances (ties may be broken differently):
#   - the query above ranks by planar distance in degrees (geometry, SRID 4326), which
#     is not the metric order civgrid uses: the count of differing answers is kept;
#   - the same KNN candidates (k * 4 by <->) re-ranked by the haversine distance is the
#     metric answer, which must agree with civgrid's.
# Prints JSON lines (the record format of tests/bench/run.sh) on stdout, progress on
# stderr; {"type":"info","id":"postgis.available","value":false,...} and exit 0 when
# PostgreSQL with PostGIS is missing (postgis.sh installs it as root). The cluster and
# its directory are removed on exit.
#
#   postgis_nearest.sh --csv-prefix PATH [--k N] [--runs N] [--seconds S] [--sample N]
set -u

prefix="" k=5 runs=3 seconds=5 sample=1000
while [ $# -gt 0 ]; do
    case "$1" in
    --csv-prefix) prefix=$2; shift 2 ;;
    --k) k=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --sample) sample=$2; shift 2 ;;
    *) echo "postgis_nearest.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
for f in workers queries answers; do
    if [ ! -r "$prefix-$f.csv" ]; then
        echo "usage: postgis_nearest.sh --csv-prefix PATH (PATH-workers.csv, -queries.csv, -answers.csv)" >&2
        exit 2
    fi
done

log() { echo "  PostGIS nearest: $*" >&2; }
unavailable() { # reason
    log "skipped: $1"
    printf '{"type":"info","id":"postgis.knn.available","value":false,"reason":"%s"}\n' "$1"
    exit 0
}

# ---- PostgreSQL and PostGIS, a private cluster (tests/bench/pg_lib.sh) ------------------

# shellcheck source=tests/bench/pg_lib.sh
. "$(dirname "$0")/pg_lib.sh"
pg_require
pg_start pgknn 54330 128MB
for f in workers queries answers; do
    pg_stage "$prefix-$f.csv" "$f.csv" || unavailable "cannot stage $prefix-$f.csv"
done
sql -c "CREATE EXTENSION postgis" || unavailable "CREATE EXTENSION postgis failed"
postgis_version=$(sql -c "SELECT postgis_lib_version()")

# ---- load ---------------------------------------------------------------------------------

log "loading positions, queries and civgrid's answers"
(cd "$tmp" && sql) <<'EOF' || unavailable "loading the positions failed"
CREATE TABLE pos (id int PRIMARY KEY, lon float8, lat float8, geom geometry(Point, 4326));
\copy pos (id, lon, lat) FROM 'workers.csv' WITH (FORMAT csv)
UPDATE pos SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326);
CREATE TABLE q (id int PRIMARY KEY, lon float8, lat float8);
\copy q FROM 'queries.csv' WITH (FORMAT csv)
CREATE TABLE civ (qid int, rank int, wid int, dist float8, PRIMARY KEY (qid, rank));
\copy civ FROM 'answers.csv' WITH (FORMAT csv)
-- Haversine on civgrid's sphere (mean Earth radius 6,371,008.8 m).
CREATE FUNCTION hav(lon1 float8, lat1 float8, lon2 float8, lat2 float8) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT 2 * 6371008.8 * asin(least(1, sqrt(
        sin(radians(lat2 - lat1) / 2) ^ 2 +
        cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2)))
$$;
EOF
npos=$(sql -c "SELECT count(*) FROM pos")
[ "$npos" -gt 0 ] || unavailable "no positions to load"
read -r x0 y0 x1 y1 <<<"$(sql -F ' ' -c "SELECT min(lon), min(lat), max(lon), max(lat) FROM pos")"
log "$npos positions over [$x0, $y0, $x1, $y1]"

# ---- JSON lines ---------------------------------------------------------------------------

join() { pg_join "$@"; }
emit() { pg_emit "$@"; }
info() { pg_info "$@"; }
fmt_int() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
size="$(fmt_int "$npos") workers, k=$k"

info postgis.knn.available true
info postgis.version "\"PostgreSQL $pg_version, PostGIS $postgis_version\""
info postgis.knn.positions "$npos"

# GiST build, several times.
s=()
for _ in $(seq "$runs"); do
    s+=("$(sql <<'EOF'
DROP INDEX IF EXISTS pos_geom;
SELECT set_config('x.t0', clock_timestamp()::text, false) \g /dev/null
CREATE INDEX pos_geom ON pos USING gist (geom);
SELECT round(extract(epoch FROM clock_timestamp() - current_setting('x.t0')::timestamptz) * 1000, 3);
EOF
)")
done
sql -c "VACUUM ANALYZE pos"
emit postgis.knn.gist_build "PostGIS GiST index build (positions)" "$(fmt_int "$npos") workers" ms lower "$(join "${s[@]}")"

# ---- agreement ----------------------------------------------------------------------------

log "agreement with civgrid on $sample queries"
nsample=$(sql -c "SELECT count(DISTINCT qid) FROM civ WHERE qid <= $sample")
# Rank by rank, the distances of both answers must agree to a centimetre (civgrid's are
# written to the millimetre); a query whose answers differ anywhere counts once.
differ() { # the k nearest distances d of q as SQL (q.lon, q.lat in scope)
    sql -v n="$sample" <<EOF
WITH pg AS (
    SELECT q.id AS qid, a.rank, a.d
    FROM q CROSS JOIN LATERAL (SELECT d, row_number() OVER (ORDER BY d) AS rank FROM ($1) x) a
    WHERE q.id <= :n),
c AS (SELECT qid, rank, dist FROM civ WHERE qid <= :n)
SELECT count(DISTINCT coalesce(c.qid, pg.qid)) FROM c FULL JOIN pg USING (qid, rank)
WHERE c.dist IS NULL OR pg.d IS NULL OR abs(c.dist - pg.d) > 0.01;
EOF
}
knn="SELECT hav(q.lon, q.lat, p.lon, p.lat) AS d FROM pos p
     ORDER BY p.geom <-> ST_SetSRID(ST_MakePoint(q.lon, q.lat), 4326)"
differ_planar=$(differ "$knn LIMIT $k")
differ_metric=$(differ "SELECT d FROM ($knn LIMIT $((k * 4))) cand ORDER BY d LIMIT $k")
info postgis.knn.sample "$nsample"
info postgis.knn.differ_planar "$differ_planar"
info postgis.knn.differ "$differ_metric"
log "of $nsample answers, $differ_planar differ by planar <-> order, $differ_metric by metric order"

# ---- pgbench ------------------------------------------------------------------------------

# A random point of the positions' bounding box per transaction (micro-degree steps).
cat >"$tmp/nearest.sql" <<EOF
\\set x $x0 + ($x1 - $x0) * random(0, 1000000) / 1000000.0
\\set y $y0 + ($y1 - $y0) * random(0, 1000000) / 1000000.0
SELECT id FROM pos ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:x, :y), 4326) LIMIT $k;
EOF
for clients in 1 8; do
    log "pgbench, $clients client(s), $runs x ${seconds}s"
    tps=() lat=()
    for _ in $(seq "$runs"); do
        out=$("$pgbench" -n -M prepared -f "$tmp/nearest.sql" -c "$clients" -j "$((clients < 2 ? 1 : 2))" \
            -T "$seconds" 2>&1) || { echo "$out" >&2; unavailable "pgbench failed"; }
        tps+=("$(echo "$out" | sed -n 's/^tps = \([0-9]*\)[0-9.]* .*/\1/p' | head -1)")
        lat+=("$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' | head -1)")
    done
    emit "postgis.knn.c$clients" "PostGIS KNN <-> via pgbench, $clients $([ "$clients" = 1 ] && echo client || echo clients)" \
        "$size, random points" queries/s higher "$(join "${tps[@]}")"
    if [ "$clients" = 1 ]; then
        us=()
        for l in "${lat[@]}"; do us+=("$(awk -v l="$l" 'BEGIN { printf "%.1f", l * 1000 }')"); done
        emit postgis.knn.latency "PostGIS KNN <-> via pgbench, 1 client, latency" \
            "$size, random points" "us/query" lower "$(join "${us[@]}")"
    fi
done
exit 0
