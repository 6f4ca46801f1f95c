#!/bin/bash
# postgis.sh: the PostGIS reference of the point-to-grid benchmark (docs/BENCHMARKS.md).
#
# Starts a throw-away PostgreSQL cluster in a temporary directory (as the
# postgres user when run as root; socket only, no TCP), loads the territorial
# grids of a GeoJSON export and a CSV of points, and measures the same lookups
# civgrid's locate_bench times:
#   - pgbench, one random point per transaction (ST_Contains through the GiST
#     index, prepared statements), 1 client and 8 clients: throughput and latency;
#   - a batch join of every point against the grids on one core;
#   - the GiST index build;
#   - how many points PostGIS places in another grid than civgrid did.
# Prints JSON lines (the record format of tests/bench/run.sh) on stdout, progress
# on stderr. When PostgreSQL or PostGIS is missing it installs them as root on
# Debian (unless BENCH_NO_INSTALL=1), else prints {"type":"info","id":
# "postgis.available","value":false,...} and exits 0. The cluster and its
# directory are removed on exit.
#
#   postgis.sh --grids FILE.geojson --points FILE.csv [--runs N] [--seconds S]
#
# The CSV has a header and the columns id,lon,lat,code (code: civgrid's answer,
# empty outside every grid). id runs from 1 to the number of points.
set -u

grids="" points="" runs=3 seconds=5
while [ $# -gt 0 ]; do
    case "$1" in
    --grids) grids=$2; shift 2 ;;
    --points) points=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "postgis.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
if [ ! -r "$grids" ] || [ ! -r "$points" ]; then
    echo "usage: postgis.sh --grids FILE.geojson --points FILE.csv [--runs N] [--seconds S]" >&2
    exit 2
fi

log() { echo "  PostGIS $*" >&2; }
unavailable() { # reason
    log "skipped: $1"
    printf '{"type":"info","id":"postgis.available","value":false,"reason":"%s"}\n' "$1"
    exit 0
}

# ---- PostgreSQL and PostGIS, a private cluster (tests/bench/pg_lib.sh) ------------------

# shellcheck source=tests/bench/pg_lib.sh
. "$(dirname "$0")/pg_lib.sh"
pg_require install
pg_start pg 54329 256MB
pg_stage "$grids" grids.geojson && pg_stage "$points" points.csv ||
    unavailable "cannot stage the input files"
sql -c "CREATE EXTENSION postgis" || unavailable "CREATE EXTENSION postgis failed"
postgis_version=$(sql -c "SELECT postgis_lib_version()")
geos_version=$(sql -c "SELECT postgis_geos_version()")

# ---- load ---------------------------------------------------------------------------------

log "loading grids and points"
(cd "$tmp" && sql -v dir="$tmp") <<'EOF' || unavailable "loading the grids failed"
CREATE TABLE doc AS SELECT pg_read_file(:'dir' || '/grids.geojson')::jsonb AS j;
CREATE TABLE grids AS
    SELECT f -> 'properties' ->> 'code' AS code,
           ST_SetSRID(ST_GeomFromGeoJSON(f ->> 'geometry'), 4326) AS geom
    FROM doc, jsonb_array_elements(j -> 'features') AS f
    WHERE coalesce(f -> 'properties' ->> 'level', 'grid') = 'grid'
      AND coalesce(f -> 'properties' ->> 'kind', 'territorial') = 'territorial';
DROP TABLE doc;
CREATE TABLE pts (id int PRIMARY KEY, lon float8, lat float8, code text, geom geometry(Point, 4326));
\copy pts (id, lon, lat, code) FROM 'points.csv' WITH (FORMAT csv, HEADER)
EOF
sql <<'EOF' || unavailable "preparing the points failed"
UPDATE pts SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326), code = coalesce(code, '');
VACUUM ANALYZE pts;
EOF
ngrids=$(sql -c "SELECT count(*) FROM grids")
npts=$(sql -c "SELECT count(*) FROM pts")
nverts=$(sql -c "SELECT sum(ST_NPoints(geom)) FROM grids")
log "$ngrids grids ($nverts vertices), $npts points"
[ "$ngrids" -gt 0 ] && [ "$npts" -gt 0 ] || unavailable "no grids or no points to load"

# ---- JSON lines ---------------------------------------------------------------------------

join() { pg_join "$@"; }
emit() { pg_emit "$@"; }
info() { pg_info "$@"; }
fmt_int() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
size_g="$(fmt_int "$ngrids") grids"

info postgis.available true
info postgis.version "\"PostgreSQL $pg_version, PostGIS $postgis_version, GEOS $geos_version\""
info postgis.grids "$ngrids"
info postgis.points "$npts"

# GiST build, several times.
s=()
for _ in $(seq "$runs"); do
    s+=("$(sql <<'EOF'
DROP INDEX IF EXISTS grids_geom;
SELECT set_config('x.t0', clock_timestamp()::text, false) \g /dev/null
CREATE INDEX grids_geom ON grids USING gist (geom);
SELECT round(extract(epoch FROM clock_timestamp() - current_setting('x.t0')::timestamptz) * 1000, 3);
EOF
)")
done
sql -c "ANALYZE grids"
emit postgis.gist_build "PostGIS GiST index build" "$size_g" ms lower "$(join "${s[@]}")"

# Batch join on one core (no parallel workers), as count(*) so no row leaves the server.
log "batch join, $runs runs"
s=()
for _ in $(seq "$runs"); do
    s+=("$(sql <<'EOF'
SET max_parallel_workers_per_gather = 0;
SELECT set_config('x.t0', clock_timestamp()::text, false) \g /dev/null
SELECT count(*) FROM pts p JOIN grids g ON ST_Contains(g.geom, p.geom) \g /dev/null
SELECT round((SELECT count(*) FROM pts) /
             extract(epoch FROM clock_timestamp() - current_setting('x.t0')::timestamptz));
EOF
)")
done
emit postgis.join "PostGIS batch join ST_Contains, GiST, one core" \
    "$size_g x $(fmt_int "$npts") points" points/s higher "$(join "${s[@]}")"

# Agreement with civgrid's answers (ST_Covers, so a point on an edge still finds a grid;
# the lowest code when two grids cover it).
found=$(sql -c "SELECT count(*) FROM pts p WHERE EXISTS
                (SELECT 1 FROM grids g WHERE ST_Contains(g.geom, p.geom))")
differ=$(sql -c "SELECT count(*) FROM pts p LEFT JOIN LATERAL
                 (SELECT g.code FROM grids g WHERE ST_Covers(g.geom, p.geom)
                  ORDER BY g.code LIMIT 1) g ON true
                 WHERE coalesce(g.code, '') <> p.code")
info postgis.found_share "$(awk -v a="$found" -v b="$npts" 'BEGIN { printf "%.4f", a / b }')"
info postgis.differ "$differ"
log "points in a grid: $found of $npts; answers that differ from civgrid's: $differ"

# pgbench: one random point of the table per transaction.
cat >"$tmp/locate.sql" <<EOF
\\set i random(1, $npts)
SELECT g.code FROM pts p JOIN grids g ON ST_Contains(g.geom, p.geom) WHERE p.id = :i;
EOF
for clients in 1 8; do
    log "pgbench, $clients client(s), $runs x ${seconds}s"
    tps=() lat=()
    for _ in $(seq "$runs"); do
        out=$("$pgbench" -n -M prepared -f "$tmp/locate.sql" -c "$clients" -j "$((clients < 2 ? 1 : 2))" \
            -T "$seconds" 2>&1) || { echo "$out" >&2; unavailable "pgbench failed"; }
        tps+=("$(echo "$out" | sed -n 's/^tps = \([0-9]*\)[0-9.]* .*/\1/p' | head -1)")
        lat+=("$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' | head -1)")
    done
    emit "postgis.pgbench.c$clients" "PostGIS ST_Contains via pgbench, $clients $([ "$clients" = 1 ] && echo client || echo clients)" \
        "$size_g, random points" queries/s higher "$(join "${tps[@]}")"
    if [ "$clients" = 1 ]; then
        us=()
        for l in "${lat[@]}"; do us+=("$(awk -v l="$l" 'BEGIN { printf "%.1f", l * 1000 }')"); done
        emit postgis.pgbench.c1.latency "PostGIS ST_Contains via pgbench, 1 client, latency" \
            "$size_g, random points" "us/query" lower "$(join "${us[@]}")"
    fi
done
exit 0
