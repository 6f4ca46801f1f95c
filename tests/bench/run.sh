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
#   BENCH_HTTP_SECONDS=30       wrk time of the intake benchmark (3 slices)
#   BENCH_HTTP_CONNECTIONS=64   wrk connections (2 threads) of intake and dispatch
#   BENCH_DISPATCH_EVENTS=100000, BENCH_DISPATCH_SECONDS=10   the dispatch benchmark
#   BENCH_YEAR_EVENTS=1700000   events of the dashboard's year (cached by seed and size)
#   BENCH_DASHBOARD_RUNS=20     timed answers of the dashboard and of each KPI query
#   BENCH_GPS_SECONDS=30, BENCH_GPS_BATCH=100, BENCH_GPS_WORKERS=9889   the GPS intake (3 slices)
#   BENCH_LOCATE_SECONDS=15     wrk time of the lookup over HTTP (3 slices)
#   BENCH_OUT=build/bench       where results, logs and the HTTP servers' copies go (two runs
#                               at once need two; the data sets stay in build/bench/data)
#
# Adding a benchmark: write tests/bench/NAME_bench.c (built by bench.mk) printing the
# records described in report.mjs, add a function bench_NAME below and NAME to BENCHES.
set -u
cd "$(dirname "$0")/../.." || exit 2

BENCHES="locate fsync nearest intake dispatch gps locate_http dashboard"
export BENCH_RUNS=${BENCH_RUNS:-5}
export BENCH_SEED=${BENCH_SEED:-1}
export BENCH_POINTS=${BENCH_POINTS:-1000000}
ONLY=${BENCH_ONLY:-$BENCHES}
POSTGIS=${BENCH_POSTGIS:-1}
PG_POINTS=${BENCH_PG_POINTS:-100000}
PG_SECONDS=${BENCH_PG_SECONDS:-5}
PG_RUNS=$((BENCH_RUNS < 3 ? BENCH_RUNS : 3))
CIVGRID=${CIVGRID:-build/civgrid}
CIVGRIDD=${CIVGRIDD:-build/civgridd}
OUT=${BENCH_OUT:-build/bench}       # results, logs and the servers' copies
BIN=${BENCH_BIN:-build/bench/bin}    # the bench programs (bench.mk builds them here)
DATA=${BENCH_DATA:-build/bench/data} # the cached data sets, shared by every OUT
LINES=$OUT/lines.jsonl

mkdir -p "$DATA" "$OUT"
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

# ---- the HTTP benchmarks (intake, dispatch, dashboard) ------------------------------------
#
# Each starts the release civgridd on its own copy of the Dongguan demo under $OUT/http/
# (durable: db.synchronous=full), signs in bench accounts with cheap argon2 (the sign-in is
# not what is measured), drives the API from wrk in a separate process
# (tests/bench/http_post.lua) or times GETs with curl, and stops the server.

HTTP_DIR=$OUT/http
HTTP_PASSWORD=bench-password-1234
HTTP_PID=""
HTTP_PORT=""

# wrk from Debian: installed as root when missing (it is only needed by the bench).
need_wrk() {
    command -v wrk >/dev/null && return 0
    if [ "$(id -u)" = 0 ] && [ "${BENCH_NO_INSTALL:-0}" != 1 ] && command -v apt-get >/dev/null; then
        note "installing wrk (apt)"
        apt-get update -qq >&2 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null 2>&1
    fi
    command -v wrk >/dev/null
}

# http_db NAME: a fresh copy of the Dongguan demo as $HTTP_DIR/NAME.db with the bench
# accounts: bench.citizen (citizen, scope own: reports anywhere) and bench.duty (duty
# officer of all Dongguan, grid:441900: accepts, files, dispatches, reads the KPIs).
http_db() { # name [source-db]
    local db=$HTTP_DIR/$1.db src=${2:-$DONGGUAN_DB}
    mkdir -p "$HTTP_DIR"
    rm -rf "$db" "$db"-* "$HTTP_DIR/media"
    cp "$src" "$db" || return 1
    http_accounts "$db"
}
http_accounts() { # db: adds the bench accounts when missing
    local db=$1
    if [ "$(sqlite3 "$db" "SELECT count(*) FROM account WHERE login = 'bench.citizen'")" = 0 ]; then
        echo "$HTTP_PASSWORD" | "$CIVGRID" --db "$db" user add bench.citizen --name "Bench citizen" \
            --role citizen --scope own --password-stdin >>"$OUT/http.log" 2>&1 || return 1
        echo "$HTTP_PASSWORD" | "$CIVGRID" --db "$db" user add bench.duty --name "Bench duty officer" \
            --role duty_officer --scope grid:441900 --password-stdin >>"$OUT/http.log" 2>&1 || return 1
    fi
}

http_start() { # db: starts civgridd on a free port, sets HTTP_PID and HTTP_PORT
    local db=$1 p i
    for p in $(seq 18311 18399); do
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { HTTP_PORT=$p; break; }
    done
    [ -n "$HTTP_PORT" ] || return 1
    "$CIVGRIDD" --db "$db" --port "$HTTP_PORT" --set db.synchronous=full \
        --set http.workers=256 --set http.max_per_ip=1024 --set http.max_connections=2048 \
        --set auth.argon2_mem_kib=8192 --set auth.argon2_ops=1 --set event.sweep_seconds=3600 \
        --set log.level=warn --set media.dir="$PWD/$HTTP_DIR/media" >>"$OUT/http.log" 2>&1 &
    HTTP_PID=$!
    for i in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$HTTP_PID" 2>/dev/null || break
        sleep 0.1
    done
    note "civgridd did not start (see $OUT/http.log)"
    http_stop
    return 1
}
http_stop() {
    if [ -n "$HTTP_PID" ]; then
        kill "$HTTP_PID" 2>/dev/null
        wait "$HTTP_PID" 2>/dev/null
    fi
    HTTP_PID="" HTTP_PORT=""
}
trap 'http_stop' EXIT

http_login() { # login: prints the session token
    curl -sf -X POST "http://127.0.0.1:$HTTP_PORT/api/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"login\":\"$1\",\"password\":\"$HTTP_PASSWORD\"}" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token||""))'
}
http_metric() { # name: the value of a Prometheus counter of the running server
    curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
# wrk_post MODE INPUT TOKEN SECONDS CONNECTIONS: one wrk run of tests/bench/http_post.lua;
# prints its JSON summary line.
wrk_post() {
    BENCH_MODE=$1 BENCH_INPUT=$2 BENCH_TOKEN=$3 wrk -t2 -c"$5" -d"$4"s --timeout 10s \
        -s tests/bench/http_post.lua "http://127.0.0.1:$HTTP_PORT" -- 2 2>>"$OUT/http.log" | tail -1
}
json_field() { # json field
    node -e 'const o=JSON.parse(process.argv[1]);console.log(o[process.argv[2]]??"null")' "$1" "$2"
}

# The points of the intake: those of the lookup benchmark's points.csv that lie inside a grid
# ("lon lat" lines); made by a short locate_bench run when the lookup benchmark did not run.
http_points() {
    HTTP_POINTS=$HTTP_DIR/points.txt
    local csv=$OUT/points.csv
    mkdir -p "$HTTP_DIR"
    if [ ! -s "$csv" ]; then
        csv=$HTTP_DIR/points.csv
        "$BIN/locate_bench" --db "$DONGGUAN_DB" --points 100000 --runs 1 --seed "$BENCH_SEED" \
            --points-out "$csv" --points-out-count 100000 >/dev/null 2>>"$OUT/http.log" || return 1
    fi
    awk -F, 'NR > 1 && $4 != "" { print $2, $3 }' "$csv" >"$HTTP_POINTS"
    [ -s "$HTTP_POINTS" ]
}

# Prints a result record; samples is a comma-separated list.
result() { # id what size unit better samples [extra-json]
    printf '{"type":"result","id":"%s","what":"%s","size":"%s","unit":"%s","better":"%s","samples":[%s]%s}\n' \
        "$1" "$2" "$3" "$4" "$5" "$6" "${7:+,$7}" >>"$LINES"
}

http_ready() { # name: the common checks; returns 1 (after a skip record) when it cannot run
    if ! prepare_dongguan; then
        skip "$1.skipped" "no Dongguan data set (see $OUT/demo.log)"
        return 1
    fi
    if [ ! -x "$CIVGRIDD" ]; then
        skip "$1.skipped" "$CIVGRIDD is not built"
        return 1
    fi
    if ! command -v sqlite3 >/dev/null; then
        skip "$1.skipped" "the sqlite3 shell is not installed"
        return 1
    fi
    return 0
}

bench_intake() {
    http_ready intake || return
    if ! need_wrk; then
        skip intake.skipped "wrk is not installed (apt-get install wrk)"
        return
    fi
    local secs=${BENCH_HTTP_SECONDS:-30} conns=${BENCH_HTTP_CONNECTIONS:-64} slices=3
    local slice=$(( secs / slices > 1 ? secs / slices : 1 )) i out tok c0 j0 c1 j1 n0 n1
    local rps="" p50="" p99="" bad=0 sock=0
    http_points || { skip intake.skipped "no points inside a grid (locate_bench)"; return; }
    http_db intake && http_start "$HTTP_DIR/intake.db" ||
        { skip intake.skipped "civgridd did not start on the copy (see $OUT/http.log)"; return; }
    tok=$(http_login bench.citizen)
    if [ -z "$tok" ]; then
        http_stop
        skip intake.skipped "sign-in of bench.citizen failed"
        return
    fi
    note "event intake over HTTP: POST /api/v1/events, wrk $conns connections, $slices x ${slice} s, db.synchronous=full"
    c0=$(http_metric civgrid_db_commits_total) j0=$(http_metric civgrid_db_write_jobs_total)
    for i in $(seq 1 $slices); do
        out=$(wrk_post intake "$HTTP_POINTS" "$tok" "$slice" "$conns")
        echo "  intake slice $i: $out" >&2
        [ -n "$out" ] || continue
        rps+="${rps:+,}$(json_field "$out" rps)"
        p50+="${p50:+,}$(awk -v v="$(json_field "$out" p50_us)" 'BEGIN { print v / 1000 }')"
        p99+="${p99:+,}$(awk -v v="$(json_field "$out" p99_us)" 'BEGIN { print v / 1000 }')"
        bad=$((bad + $(json_field "$out" non2xx))) sock=$((sock + $(json_field "$out" socket_errors)))
    done
    c1=$(http_metric civgrid_db_commits_total) j1=$(http_metric civgrid_db_write_jobs_total)
    http_stop
    local size="2,894 grids, $conns connections, fsync at every commit"
    local aim='"static_ref":{"value":20000,"unit":"events/s","source":"aim of issue #6 item 10: 20,000 events/s sustained"}'
    if [ -n "$rps" ]; then
        result intake.rps "event intake, POST /api/v1/events (grid lookup, durable commit), wrk" \
            "$size" "events/s" higher "$rps" "\"ref\":\"fsync.overwrite\",$aim"
        result intake.p50 "the same, median latency" "$size" "ms/request" lower "$p50"
        result intake.p99 "the same, 99th percentile latency" "$size" "ms/request" lower "$p99"
    fi
    info intake.non2xx "$bad"
    info intake.socket_errors "$sock"
    info intake.commits "$((c1 - c0))"
    info intake.write_jobs "$((j1 - j0))"
    info intake.events "$(sqlite3 "$HTTP_DIR/intake.db" 'SELECT count(*) FROM event')"
    info intake.slice_s "$slice"
}

# Filed events made directly in the bench's copy (report, accept, file in the log, as the API
# writes them), then one dispatch each through the API.
bench_dispatch() {
    http_ready dispatch || return
    if ! need_wrk; then
        skip dispatch.skipped "wrk is not installed (apt-get install wrk)"
        return
    fi
    local n=${BENCH_DISPATCH_EVENTS:-100000} secs=${BENCH_DISPATCH_SECONDS:-10}
    local conns=${BENCH_HTTP_CONNECTIONS:-64} tok out duty now
    http_db dispatch || { skip dispatch.skipped "cannot copy the data set"; return; }
    duty=$(sqlite3 "$HTTP_DIR/dispatch.db" "SELECT id FROM account WHERE login = 'bench.duty'")
    now=$(($(date +%s) * 1000))
    sqlite3 "$HTTP_DIR/dispatch.db" -cmd ".parameter set :n $n" -cmd ".parameter set :now $now" \
        -cmd ".parameter set :actor $duty" -cmd ".parameter set :seed $BENCH_SEED" \
        <tests/bench/filed_events.sql >>"$OUT/http.log" 2>&1 ||
        { skip dispatch.skipped "filed_events.sql failed (see $OUT/http.log)"; return; }
    sqlite3 "$HTTP_DIR/dispatch.db" "SELECT id FROM event WHERE state = 'filed' ORDER BY id" >"$HTTP_DIR/filed.txt"
    http_start "$HTTP_DIR/dispatch.db" ||
        { skip dispatch.skipped "civgridd did not start on the copy (see $OUT/http.log)"; return; }
    tok=$(http_login bench.duty)
    note "dispatch over HTTP: POST /api/v1/events/:id/actions, $n filed events, wrk $conns connections, ${secs} s"
    local c0 j0 c1 j1
    c0=$(http_metric civgrid_db_commits_total) j0=$(http_metric civgrid_db_write_jobs_total)
    out=$(wrk_post dispatch "$HTTP_DIR/filed.txt" "$tok" "$secs" "$conns")
    c1=$(http_metric civgrid_db_commits_total) j1=$(http_metric civgrid_db_write_jobs_total)
    http_stop
    echo "  dispatch: $out" >&2
    [ -n "$out" ] || { skip dispatch.skipped "wrk gave no summary (see $OUT/http.log)"; return; }
    local size="$n filed events, $conns connections, fsync at every commit"
    result dispatch.rps "one workflow transition (dispatch) over HTTP, wrk" "$size" "transitions/s" higher \
        "$(json_field "$out" rps)" '"ref":"fsync.overwrite"'
    result dispatch.p50 "the same, median latency" "$size" "ms/request" lower \
        "$(awk -v v="$(json_field "$out" p50_us)" 'BEGIN { print v / 1000 }')"
    result dispatch.p99 "the same, 99th percentile latency" "$size" "ms/request" lower \
        "$(awk -v v="$(json_field "$out" p99_us)" 'BEGIN { print v / 1000 }')"
    info dispatch.non2xx "$(json_field "$out" non2xx)"
    info dispatch.exhausted "$(json_field "$out" exhausted)"
    info dispatch.commits "$((c1 - c0))"
    info dispatch.write_jobs "$((j1 - j0))"
    info dispatch.dispatched "$(sqlite3 "$HTTP_DIR/dispatch.db" "SELECT count(*) FROM event WHERE state = 'dispatched'")"
}

# ---- GPS point intake and the lookup over HTTP ---------------------------------------------
#
# bench_gps: tests/bench/gps_bench prepare gives the demo's grid workers (9,889; BENCH_GPS_WORKERS)
# an account, a running patrol started 6 days ago and a session on the bench's copy (signing in
# 10,000 accounts is not what is measured), then wrk (tests/bench/gps.lua) posts batches of
# BENCH_GPS_BATCH points (100; 5 s and about 2 m apart, each worker's times moving on) to
# POST /api/v1/patrols/:id/points, every worker in turn, durable commits. Each slice of the run
# gets its own 12 hours of the patrols' time, so no point repeats. Then the store alone in
# process (gps_bench store) on a copy taken before the HTTP run.
proc_cpu() { # pid: its user + system CPU time so far, in clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null
}
bench_gps() {
    http_ready gps || return
    if ! need_wrk; then
        skip gps.skipped "wrk is not installed (apt-get install wrk)"
        return
    fi
    if [ ! -x "$BIN/gps_bench" ]; then
        skip gps.skipped "$BIN/gps_bench is not built"
        return
    fi
    local secs=${BENCH_GPS_SECONDS:-${BENCH_HTTP_SECONDS:-30}} conns=${BENCH_HTTP_CONNECTIONS:-64}
    local batch=${BENCH_GPS_BATCH:-100} workers=${BENCH_GPS_WORKERS:-9889} slices=3
    local slice=$(( secs / slices > 1 ? secs / slices : 1 )) i out t0 started csv c0 j0 c1 j1
    local pps="" bps="" p50="" p99="" cpu="" bad=0 sock=0 stored=0 dup=0 size k0 k1
    csv=$OUT/points.csv
    [ -s "$csv" ] || { http_points >/dev/null 2>&1; csv=$HTTP_DIR/points.csv; }
    http_db gps || { skip gps.skipped "cannot copy the data set"; return; }
    started=$(( ($(date +%s) - 6 * 86400) * 1000 ))
    "$BIN/gps_bench" prepare --db "$HTTP_DIR/gps.db" --workers "$workers" \
        --tokens-out "$HTTP_DIR/gps-tokens.txt" --grid-points "$csv" --started-ms "$started" \
        >>"$LINES" 2>>"$OUT/http.log" || { skip gps.skipped "gps_bench prepare failed (see $OUT/http.log)"; return; }
    workers=$(wc -l <"$HTTP_DIR/gps-tokens.txt")
    rm -f "$HTTP_DIR/gps-store.db"*
    cp "$HTTP_DIR/gps.db" "$HTTP_DIR/gps-store.db"
    http_start "$HTTP_DIR/gps.db" ||
        { skip gps.skipped "civgridd did not start on the copy (see $OUT/http.log)"; return; }
    note "GPS intake over HTTP: $workers workers, batches of $batch points, wrk $conns connections, $slices x ${slice} s, db.synchronous=full"
    c0=$(http_metric civgrid_db_commits_total) j0=$(http_metric civgrid_db_write_jobs_total)
    for i in $(seq 1 $slices); do
        t0=$(( started + 3600000 + (i - 1) * 12 * 3600000 ))
        k0=$(proc_cpu "$HTTP_PID")
        out=$(BENCH_INPUT=$HTTP_DIR/gps-tokens.txt BENCH_BATCH=$batch BENCH_T0=$t0 wrk -t2 -c"$conns" \
            -d"$slice"s --timeout 10s -s tests/bench/gps.lua "http://127.0.0.1:$HTTP_PORT" -- 2 \
            2>>"$OUT/http.log" | tail -1)
        echo "  gps slice $i: $out" >&2
        [ -n "$out" ] || continue
        pps+="${pps:+,}$(awk -v n="$(json_field "$out" stored)" -v s="$(json_field "$out" seconds)" 'BEGIN { printf "%.0f", n / s }')"
        bps+="${bps:+,}$(json_field "$out" rps)"
        k1=$(proc_cpu "$HTTP_PID")
        [ -n "$k0" ] && [ -n "$k1" ] &&
            cpu+="${cpu:+,}$(awk -v k="$((k1 - k0))" -v hz="$(getconf CLK_TCK)" -v n="$(json_field "$out" stored)" 'BEGIN { printf "%.2f", k / hz * 1e6 / (n + 1) }')"
        p50+="${p50:+,}$(awk -v v="$(json_field "$out" p50_us)" 'BEGIN { print v / 1000 }')"
        p99+="${p99:+,}$(awk -v v="$(json_field "$out" p99_us)" 'BEGIN { print v / 1000 }')"
        bad=$((bad + $(json_field "$out" non2xx))) sock=$((sock + $(json_field "$out" socket_errors)))
        stored=$((stored + $(json_field "$out" stored))) dup=$((dup + $(json_field "$out" duplicates)))
    done
    c1=$(http_metric civgrid_db_commits_total) j1=$(http_metric civgrid_db_write_jobs_total)
    http_stop
    size="$workers workers, $batch points a batch, $conns connections, fsync at every commit"
    if [ -n "$pps" ]; then
        result gps.points "GPS point intake, POST /api/v1/patrols/:id/points (checks, durable commit), wrk" \
            "$size" "points/s" higher "$pps" \
            '"static_ref":{"value":100000,"unit":"points/s","source":"aim of issue #6 item 10: 100,000 GPS points a second"}'
        result gps.batches "the same, batches (requests)" "$size" "batches/s" higher "$bps"
        result gps.p50 "the same, median latency" "$size" "ms/request" lower "$p50"
        result gps.p99 "the same, 99th percentile latency" "$size" "ms/request" lower "$p99"
        [ -n "$cpu" ] && result gps.cpu "the same, the server's CPU time per point stored" "$size" \
            "us/point" lower "$cpu"
    fi
    info gps.non2xx "$bad"
    info gps.socket_errors "$sock"
    info gps.stored "$stored"
    info gps.duplicates "$dup"
    info gps.points_in_db "$(sqlite3 "$HTTP_DIR/gps.db" 'SELECT count(*) FROM patrol_point')"
    info gps.commits "$((c1 - c0))"
    info gps.write_jobs "$((j1 - j0))"
    [ "$((c1 - c0))" -gt 0 ] &&
        info gps.jobs_per_commit "$(awk -v j="$((j1 - j0))" -v c="$((c1 - c0))" 'BEGIN { printf "%.1f", j / c }')"
    info gps.slice_s "$slice"
    note "GPS points into the store in process: $BENCH_RUNS runs of 3 s"
    "$BIN/gps_bench" store --db "$HTTP_DIR/gps-store.db" --tokens "$HTTP_DIR/gps-tokens.txt" \
        --batch "$batch" --threads "$conns" --runs "$BENCH_RUNS" --seconds 3 >>"$LINES" ||
        note "gps_bench store failed (exit $?)"
    rm -f "$HTTP_DIR/gps-store.db"*
}

# bench_locate_http: GET /api/v1/locate?lon=&lat= from wrk (tests/bench/locate.lua) over the
# lookup benchmark's points that lie inside a grid, signed in as bench.duty (grid.read).
bench_locate_http() {
    http_ready locate_http || return
    if ! need_wrk; then
        skip locate_http.skipped "wrk is not installed (apt-get install wrk)"
        return
    fi
    local secs=${BENCH_LOCATE_SECONDS:-15} conns=${BENCH_HTTP_CONNECTIONS:-64} slices=3 i out tok
    local slice=$(( secs / slices > 1 ? secs / slices : 1 )) rps="" p50="" p99="" bad=0 sock=0
    local found=0 total=0 size
    http_points || { skip locate_http.skipped "no points inside a grid (locate_bench)"; return; }
    http_db locate_http && http_start "$HTTP_DIR/locate_http.db" ||
        { skip locate_http.skipped "civgridd did not start on the copy (see $OUT/http.log)"; return; }
    tok=$(http_login bench.duty)
    if [ -z "$tok" ]; then
        http_stop
        skip locate_http.skipped "sign-in of bench.duty failed"
        return
    fi
    note "point-to-grid lookup over HTTP: GET /api/v1/locate, $(wc -l <"$HTTP_POINTS") points, wrk $conns connections, $slices x ${slice} s"
    for i in $(seq 1 $slices); do
        out=$(BENCH_INPUT=$HTTP_POINTS BENCH_TOKEN=$tok wrk -t2 -c"$conns" -d"$slice"s --timeout 10s \
            -s tests/bench/locate.lua "http://127.0.0.1:$HTTP_PORT" -- 2 2>>"$OUT/http.log" | tail -1)
        echo "  locate_http slice $i: $out" >&2
        [ -n "$out" ] || continue
        rps+="${rps:+,}$(json_field "$out" rps)"
        p50+="${p50:+,}$(awk -v v="$(json_field "$out" p50_us)" 'BEGIN { print v / 1000 }')"
        p99+="${p99:+,}$(awk -v v="$(json_field "$out" p99_us)" 'BEGIN { print v / 1000 }')"
        bad=$((bad + $(json_field "$out" non2xx))) sock=$((sock + $(json_field "$out" socket_errors)))
        found=$((found + $(json_field "$out" found))) total=$((total + $(json_field "$out" requests)))
    done
    http_stop
    size="2,894 grids, $conns connections, points inside a grid"
    if [ -n "$rps" ]; then
        result locate_http.rps "point-to-grid lookup over HTTP, GET /api/v1/locate, wrk" "$size" \
            "lookups/s" higher "$rps" \
            '"ref":"postgis.pgbench.c8","static_ref":{"value":45000,"unit":"queries/s","source":"perf-notes: PostGIS pgbench, 8 clients"}'
        result locate_http.p50 "the same, median latency" "$size" "ms/request" lower "$p50"
        result locate_http.p99 "the same, 99th percentile latency" "$size" "ms/request" lower "$p99"
    fi
    info locate_http.non2xx "$bad"
    info locate_http.socket_errors "$sock"
    info locate_http.found "$found"
    info locate_http.requests "$total"
}

# A year of events (tests/bench/year_events.sql), cached by seed and size: sets YEAR_DB and
# YEAR_END (the end of the year, Unix ms: the day the data set was made).
prepare_year() {
    local n=${BENCH_YEAR_EVENTS:-1700000}
    YEAR_DB=$DATA/dongguan-seed$BENCH_SEED-year$n.db
    local stamp_file=$YEAR_DB.stamp stamp
    stamp="$(cat "$DATA/dongguan-seed$BENCH_SEED.stamp" 2>/dev/null) $(sha1sum <tests/bench/year_events.sql | cut -c1-16)"
    if [ "${BENCH_FRESH:-0}" = 1 ] || [ "$(head -1 "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
        rm -f "$YEAR_DB" "$YEAR_DB"-*
    fi
    if [ ! -f "$YEAR_DB" ]; then
        local tmp=$DATA/.tmp-year.db t0 t1 end reporter
        rm -f "$tmp" "$tmp"-*
        cp "$DONGGUAN_DB" "$tmp" && http_accounts "$tmp" || return 1
        reporter=$(sqlite3 "$tmp" "SELECT id FROM account WHERE login = 'bench.citizen'")
        # the year ends at the start of this hour (China days: the dashboard's today and month)
        end=$(( $(date +%s) / 3600 * 3600 * 1000 ))
        note "generating a year of $n events into $YEAR_DB (once per seed; the roll-up triggers make it minutes)"
        t0=$(date +%s.%N)
        if ! sqlite3 "$tmp" -cmd ".parameter set :n $n" -cmd ".parameter set :end_ms $end" \
            -cmd ".parameter set :seed $BENCH_SEED" -cmd ".parameter set :reporter $reporter" \
            <tests/bench/year_events.sql >>"$OUT/http.log" 2>&1; then
            rm -f "$tmp" "$tmp"-*
            return 1
        fi
        t1=$(date +%s.%N)
        info data.year_generate_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
        mv "$tmp" "$YEAR_DB"
        printf '%s\n%s\n' "$stamp" "$end" >"$stamp_file"
    fi
    YEAR_END=$(sed -n 2p "$stamp_file")
    [ -n "$YEAR_END" ]
}

# DASH_RUNS timed GETs, in ms, comma-separated samples, after one untimed GET (the first
# answer reads its pages from the file).
time_get() { # path token
    local i s=""
    curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT$1" -H "Authorization: Bearer $2"
    for i in $(seq 1 "$DASH_RUNS"); do
        s+="${s:+,}$(curl -sf -o /dev/null -w '%{time_total}' "http://127.0.0.1:$HTTP_PORT$1" \
            -H "Authorization: Bearer $2" | awk '{ printf "%.3f", $1 * 1000 }')"
    done
    echo "$s"
}
# The reference scan of the KPIs in the sqlite3 shell (cg_event__kpi_scan of
# src/domain/event/event_store.c with the bench's period), once: ms samples. It takes tens of
# seconds over the year.
time_sql() { # db sql-file
    sqlite3 "$1" <"$2" 2>&1 | awk '/^Run Time/ { r = $4 } END { printf "%.3f", r * 1000 }'
}
china_date() { # unix-seconds: the China (UTC+8) date
    TZ=Asia/Shanghai date -d "@$1" +%Y-%m-%d
}

bench_dashboard() {
    http_ready dashboard || return
    if ! prepare_year; then
        skip dashboard.skipped "the year of events could not be made (see $OUT/http.log)"
        return
    fi
    local n=${BENCH_YEAR_EVENTS:-1700000} tok from to s size town
    DASH_RUNS=${BENCH_DASHBOARD_RUNS:-20}
    # China days, so that the KPIs read the roll-ups: the 365 days up to the end's day, inclusive
    from=$(china_date $(( YEAR_END / 1000 - 364 * 86400 )))
    to=$(china_date $(( YEAR_END / 1000 + 86400 )))
    http_db dashboard "$YEAR_DB" || { skip dashboard.skipped "cannot copy the data set"; return; }
    town=$(sqlite3 "$HTTP_DIR/dashboard.db" "SELECT substr(grid_code, 1, 9), count(*) AS n FROM event GROUP BY 1 ORDER BY n DESC LIMIT 1" | cut -d'|' -f1)
    http_start "$HTTP_DIR/dashboard.db" ||
        { skip dashboard.skipped "civgridd did not start on the copy (see $OUT/http.log)"; return; }
    tok=$(http_login bench.duty)
    size="$(node -e 'console.log(Number(process.argv[1]).toLocaleString("en-US"))' "$n") events, a year, 2,894 grids"
    note "dashboard and KPIs over a year of $n events ($from to $to), $DASH_RUNS runs each"
    local aim='"static_ref":{"value":5,"unit":"ms","source":"aim of issue #6 item 10: dashboard and KPIs under 5 ms"}'
    # one timed GET a row: id, what, path[, extra json]
    dash_row() { s=$(time_get "$3" "$tok") && result "dashboard.$1" "$2" "$size" ms lower "$s" "${4:-$aim}"; }
    local period="from=$from&to=$to"
    dash_row get "GET /api/v1/dashboard (today, this month, open by state, warnings)" /api/v1/dashboard
    dash_row kpi_town "GET /api/v1/kpi?by=town over the year (roll-ups)" "/api/v1/kpi?by=town&$period" \
        "\"ref\":\"postgis.kpi_town\",$aim"
    dash_row kpi_grid_town "GET /api/v1/kpi?by=grid within the busiest town over the year" \
        "/api/v1/kpi?by=grid&within=$town&$period"
    dash_row kpi_village "GET /api/v1/kpi?by=village over the year (all Dongguan)" "/api/v1/kpi?by=village&$period"
    dash_row kpi_department "GET /api/v1/kpi?by=department over the year" "/api/v1/kpi?by=department&$period"
    dash_row kpi_worker_town "GET /api/v1/kpi?by=worker within the busiest town over the year" \
        "/api/v1/kpi?by=worker&within=$town&$period"
    dash_row kpi_worker "GET /api/v1/kpi?by=worker over the year (all Dongguan: a row per worker)" \
        "/api/v1/kpi?by=worker&$period"
    dash_row kpi_worker_rank "GET /api/v1/kpi?by=worker over the year, a ranking page (50 lowest on-time rates)" \
        "/api/v1/kpi?by=worker&$period&order=on_time_rate&limit=50"
    local ytd
    ytd="from=$(echo "$to" | cut -c1-4)-01-01&to=$to"
    dash_row kpi_worker_ytd "GET /api/v1/kpi?by=worker, the calendar year to date, a ranking page (year roll-ups)" \
        "/api/v1/kpi?by=worker&$ytd&order=-reported&limit=50"
    # the KPIs are the same whichever way they are counted: the roll-ups against one scan
    local a b
    a=$(curl -sf "http://127.0.0.1:$HTTP_PORT/api/v1/kpi?by=town&from=$from&to=$to" -H "Authorization: Bearer $tok")
    # (one millisecond after China midnight is not a roll-up boundary: the server scans)
    b=$(curl -sf --max-time 900 "http://127.0.0.1:$HTTP_PORT/api/v1/kpi?by=town&from=$(date -u -d "$from 00:00 +0800" +%Y-%m-%dT%H:%M:%S).001Z&to=$to" \
        -H "Authorization: Bearer $tok")
    info dashboard.rollup_source "\"$(json_field "$a" source)\""
    http_stop
    # The reference: the scan statement in the sqlite3 shell on the same file.
    {
        echo ".timer on"
        echo ".parameter init"
        echo ".parameter set ?1 \"'$(date -u -d "$from 00:00 +0800" +%Y-%m-%dT%H:%M:%S).000Z'\""
        echo ".parameter set ?2 \"'$(date -u -d "$to 00:00 +0800" +%Y-%m-%dT%H:%M:%S).000Z'\""
        echo ".parameter set ?3 \"'441900'\""
        echo ".parameter set ?4 \"'441900:'\""
        echo ".parameter set ?5 NULL"
        echo ".parameter set ?6 0"
        cat tests/bench/kpi_town.sql
    } >"$HTTP_DIR/kpi_town.sql"
    s=$(time_sql "$HTTP_DIR/dashboard.db" "$HTTP_DIR/kpi_town.sql")
    [ -n "$s" ] && result sqlite.kpi_town "the KPI scan by town in the sqlite3 shell (the reference rule), same file" \
        "$size" ms lower "$s"
    # The PostgreSQL reference: one GROUP BY over the same rows (tests/bench/postgis_kpi.sh),
    # whose totals must be the roll-ups' too.
    if [ "$POSTGIS" = 1 ]; then
        local pg
        pg=$(tests/bench/postgis_kpi.sh --db "$HTTP_DIR/dashboard.db" --runs "$PG_RUNS" \
            --from "$(date -u -d "$from 00:00 +0800" +%Y-%m-%dT%H:%M:%S).000Z" \
            --to "$(date -u -d "$to 00:00 +0800" +%Y-%m-%dT%H:%M:%S).000Z") ||
            note "postgis_kpi.sh failed (exit $?)"
        echo "$pg" >>"$LINES"
        if [ -n "$a" ] && echo "$pg" | grep -q postgis.kpi.totals; then
            info dashboard.rollup_equals_postgres "$(node -e 'const a = JSON.parse(process.argv[1]).total;
                const pg = process.argv[2].split("\n").map((l) => JSON.parse(l)).find((r) => r.id === "postgis.kpi.totals");
                console.log(pg.value === [a.reported, a.filed, a.due, a.closed, a.closed_on_time].join(","))' "$a" "$pg")"
        fi
    fi
    # the roll-ups' answer against the scan's over the same China days (rows only)
    if [ -n "$a" ] && [ -n "$b" ]; then
        info dashboard.rollup_equals_scan "$(node -e 'const [a, b] = process.argv.slice(1).map(JSON.parse);
            console.log(JSON.stringify(a.rows) === JSON.stringify(b.rows) && b.source === "scan")' "$a" "$b")"
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
