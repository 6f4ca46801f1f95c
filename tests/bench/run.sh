#!/bin/bash
# run.sh: the runner of `make bench` (docs/BENCHMARKS.md). `make bench` builds first and
# calls it; run directly it expects build/civgrid and build/bench/bin/* to exist.
#
# Prepares the data sets (cached under build/bench/data/, keyed by seed), runs every
# selected benchmark, each of which prints JSON lines into build/bench/lines.jsonl, runs
# the PostGIS reference when it can, then tests/bench/report.mjs prints the table and
# writes build/bench/results.json (with machine facts) and build/bench/results.md,
# comparing with tests/bench/reference.json (the committed reference run).
#
# Settings (environment):
#   BENCH_ONLY="locate fsync"   which benchmarks (default: all of BENCHES below)
#   BENCH_RUNS=5                timed runs of each measure (PostGIS: at most 3)
#   BENCH_SEED=1                seed of the demo data set and of the random points
#   BENCH_POINTS=1000000        random points of the lookup benchmark
#   BENCH_POSTGIS=1             0: no PostGIS reference; as root it is installed when missing
#   BENCH_PG_POINTS=100000      points loaded into PostGIS; BENCH_PG_SECONDS=5 per pgbench run
#   BENCH_FRESH=1               regenerate the cached data set (also done when the demo
#                               generator, the migrations or data/ changed)
#
# Adding a benchmark: write tests/bench/NAME_bench.c (built by bench.mk) printing the
# records described in report.mjs, add a function bench_NAME below and NAME to BENCHES.
set -u
cd "$(dirname "$0")/../.." || exit 2

BENCHES="locate fsync nearest"
export BENCH_RUNS=${BENCH_RUNS:-5}
export BENCH_SEED=${BENCH_SEED:-1}
export BENCH_POINTS=${BENCH_POINTS:-1000000}
ONLY=${BENCH_ONLY:-$BENCHES}
POSTGIS=${BENCH_POSTGIS:-1}
PG_POINTS=${BENCH_PG_POINTS:-100000}
PG_SECONDS=${BENCH_PG_SECONDS:-5}
PG_RUNS=$((BENCH_RUNS < 3 ? BENCH_RUNS : 3))
CIVGRID=${CIVGRID:-build/civgrid}
OUT=build/bench
BIN=$OUT/bin
DATA=$OUT/data
LINES=$OUT/lines.jsonl

mkdir -p "$DATA"
: >"$LINES"
started=$(date +%s)
loadavg() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo null; }

note() { echo "==> $*" >&2; }
info() { # id json-value
    printf '{"type":"info","id":"%s","value":%s}\n' "$1" "$2" >>"$LINES"
}
skip() { # id reason
    note "skipped: $2"
    printf '{"type":"info","id":"%s","value":"%s"}\n' "$1" "$2" >>"$LINES"
}

# ---- data sets ----------------------------------------------------------------------------

# The Dongguan demo (2,894 grids from the real outline, 9,889 workers): sets DONGGUAN_DB and
# DONGGUAN_GEOJSON, or returns 1 when the CLI cannot make it.
prepare_dongguan() {
    DONGGUAN_DB=$DATA/dongguan-seed$BENCH_SEED.db
    DONGGUAN_GEOJSON=$DATA/dongguan-seed$BENCH_SEED.geojson
    # The demo's personal data is encrypted under a key file of its own, not ./civgrid.keys.
    export CIVGRID_PII_KEY_FILE=$DATA/dongguan-seed$BENCH_SEED.keys
    # The cache is also dropped when what makes the demo changed: its generator, the
    # schema, the outlines and division lists it is drawn from.
    local stamp_file=$DATA/dongguan-seed$BENCH_SEED.stamp stamp
    stamp=$(cat src/domain/grid/demo*.c src/db/migrations/*.sql data/geo/* data/divisions/* \
        2>/dev/null | sha1sum | cut -c1-16)
    if [ "${BENCH_FRESH:-0}" = 1 ] || [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
        rm -f "$DONGGUAN_DB" "$DONGGUAN_DB"-* "$DONGGUAN_GEOJSON"
    fi
    if [ ! -f "$DONGGUAN_DB" ]; then
        note "generating the Dongguan demo (seed $BENCH_SEED) into $DONGGUAN_DB"
        local tmp=$DATA/.tmp-seed$BENCH_SEED.db t0 t1
        rm -f "$tmp" "$tmp"-* "$CIVGRID_PII_KEY_FILE"
        t0=$(date +%s.%N)
        if ! "$CIVGRID" --db "$tmp" init >"$OUT/demo.log" 2>&1 ||
            ! "$CIVGRID" --db "$tmp" demo --city dongguan --seed "$BENCH_SEED" >>"$OUT/demo.log" 2>&1; then
            tail -5 "$OUT/demo.log" >&2
            rm -f "$tmp" "$tmp"-*
            return 1
        fi
        t1=$(date +%s.%N)
        info data.dongguan_generate_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
        # The data set is used read-only from here on; keep it as one file.
        if sqlite3 "$tmp" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null 2>&1; then
            rm -f "$tmp"-wal "$tmp"-shm
        fi
        for sfx in -wal -shm ""; do
            [ -e "$tmp$sfx" ] && mv "$tmp$sfx" "$DONGGUAN_DB$sfx"
        done
        echo "$stamp" >"$stamp_file"
    fi
    if [ ! -s "$DONGGUAN_GEOJSON" ]; then
        "$CIVGRID" --db "$DONGGUAN_DB" grid export --level grid "$DONGGUAN_GEOJSON" >>"$OUT/demo.log" 2>&1 ||
            { rm -f "$DONGGUAN_GEOJSON"; tail -5 "$OUT/demo.log" >&2; return 1; }
    fi
    return 0
}

# ---- benchmarks ---------------------------------------------------------------------------

bench_locate() {
    if ! prepare_dongguan; then
        skip locate.skipped "no Dongguan data set ('civgrid demo --city dongguan' failed, see $OUT/demo.log)"
        return
    fi
    if [ ! -x "$BIN/locate_bench" ]; then
        skip locate.skipped "$BIN/locate_bench is not built"
        return
    fi
    note "point-to-grid lookup: $BENCH_POINTS points, $BENCH_RUNS runs"
    rm -f "$OUT/points.csv"
    "$BIN/locate_bench" --db "$DONGGUAN_DB" --points "$BENCH_POINTS" --runs "$BENCH_RUNS" \
        --seed "$BENCH_SEED" --points-out "$OUT/points.csv" --points-out-count "$PG_POINTS" \
        >>"$LINES" || note "locate_bench failed (exit $?)"
    if [ "$POSTGIS" = 1 ] && [ -s "$OUT/points.csv" ]; then
        note "PostGIS reference: $PG_POINTS points, $PG_RUNS runs"
        tests/bench/postgis.sh --grids "$DONGGUAN_GEOJSON" --points "$OUT/points.csv" \
            --runs "$PG_RUNS" --seconds "$PG_SECONDS" >>"$LINES" || note "postgis.sh failed (exit $?)"
    elif [ "$POSTGIS" != 1 ]; then
        printf '{"type":"info","id":"postgis.available","value":false,"reason":"BENCH_POSTGIS=0"}\n' >>"$LINES"
    fi
}

bench_fsync() {
    note "raw fsync rate in $OUT"
    "$BIN/fsync_bench" --dir "$OUT" --runs "$BENCH_RUNS" --seconds 1 >>"$LINES" ||
        note "fsync_bench failed (exit $?)"
}

bench_nearest() {
    local db_opt=()
    if prepare_dongguan; then
        db_opt=(--db "$DONGGUAN_DB")
    else
        note "no Dongguan data set: positions over the built-in Dongguan bounding box"
    fi
    if [ ! -x "$BIN/nearest_bench" ]; then
        skip nearest.skipped "$BIN/nearest_bench is not built"
        return
    fi
    note "nearest available workers: 10,000 positions, k=5, $BENCH_RUNS runs"
    rm -f "$OUT"/nearest-*.csv
    "$BIN/nearest_bench" "${db_opt[@]}" --workers 10000 --k 5 --runs "$BENCH_RUNS" \
        --seed "$BENCH_SEED" --csv-prefix "$OUT/nearest" >>"$LINES" ||
        note "nearest_bench failed (exit $?)"
    # The PostGIS reference: the same positions, KNN through a GiST index (postgis.sh
    # installs PostGIS as root when the lookup benchmark runs first).
    if [ "$POSTGIS" = 1 ] && [ -s "$OUT/nearest-answers.csv" ]; then
        note "PostGIS nearest reference: $PG_RUNS runs"
        tests/bench/postgis_nearest.sh --csv-prefix "$OUT/nearest" --k 5 --runs "$PG_RUNS" \
            --seconds "$PG_SECONDS" >>"$LINES" || note "postgis_nearest.sh failed (exit $?)"
    elif [ "$POSTGIS" != 1 ]; then
        printf '{"type":"info","id":"postgis.knn.available","value":false,"reason":"BENCH_POSTGIS=0"}\n' >>"$LINES"
    fi
}

# ---- run ----------------------------------------------------------------------------------

# Other work on the machine skews every figure: the load average is kept with the results.
info bench.load_start "$(loadavg)"
for b in $ONLY; do
    case " $BENCHES " in
    *" $b "*) "bench_$b" ;;
    *) echo "run.sh: unknown benchmark '$b' (known: $BENCHES)" >&2; exit 2 ;;
    esac
done
info bench.load_end "$(loadavg)"
info bench.seconds "$(($(date +%s) - started))"

node tests/bench/report.mjs --lines "$LINES" --out "$OUT/results.json" \
    --markdown "$OUT/results.md" --reference tests/bench/reference.json
