/*
 * locate_bench.c: the point-to-grid lookup benchmark of `make bench` (docs/BENCHMARKS.md).
 *
 * Builds the grid index from a database (timed, several times), draws N random
 * points with a fixed seed inside the index bounds, then times on one thread,
 * run after run over the same points:
 *   - cg_grid_index_locate(), the fast path (cell cover + prepared geometries),
 *     over all points and over those inside a grid only;
 *   - cg_grid_index_locate_strtree(), GEOS STRtree + prepared geometries;
 * checks that both give the same slot for every point (the mismatch count must
 * be 0), and times the fast path on every core at once. Optionally writes the
 * first points with civgrid's answers as CSV for the PostGIS reference.
 *
 * Output: one JSON object per line on stdout, the record format of
 * tests/bench/run.sh ({"type":"result",...} and {"type":"info",...}); progress
 * on stderr. Exit status 0, 1 on a mismatch or an error, 2 on bad usage.
 *
 *   locate_bench --db FILE [--points N] [--runs N] [--seed N] [--threads N]
 *                [--at RFC3339] [--points-out FILE.csv] [--points-out-count N]
 */
#include "base/cg.h"
#include "base/err.h"
#include "db/db.h"
#include "domain/grid/index.h"

#include <jansson.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

struct opts {
    const char *db;
    const char *at;
    const char *points_out;
    long points;    /* random points per run */
    long out_count; /* points written to points_out */
    int runs;       /* timed repetitions of each measure */
    int threads;    /* for the all-cores measure; 0 = one per online CPU */
    uint64_t seed;  /* of the point generator */
};

/* ---- small helpers ------------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of the calling thread: compared with the wall clock, it shows whether the
 * thread had its core to itself while it was timed. */
static double cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Lowest share of the wall time that a timed thread was on a CPU, over all measures. */
static double min_cpu_share = 1.0;

static void note_share(double cpu, double wall)
{
    double share = wall > 0 ? cpu / wall : 1.0;

    if (share < min_cpu_share) {
        min_cpu_share = share;
    }
}

/* splitmix64: a fixed, portable sequence for a given seed. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *state)
{
    return (double)(next_u64(state) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
}

/* "1234567" -> "1,234,567" into buf. */
static const char *thousands(long v, char *buf, size_t size)
{
    char digits[32];
    int n = snprintf(digits, sizeof(digits), "%ld", v < 0 ? -v : v);
    size_t o = 0;

    if (v < 0 && o + 1 < size) {
        buf[o++] = '-';
    }
    for (int i = 0; i < n && o + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0) {
            buf[o++] = ',';
        }
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "VmRSS:", 6)) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

static void emit(json_t *rec)
{
    char *s = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(10));

    CG_ASSERT(s);
    puts(s);
    fflush(stdout);
    free(s);
    json_decref(rec);
}

/* {"type":"result", id, what, size, unit, better, samples, ref?, static_ref?} */
static void emit_result(const char *id, const char *what, const char *size, const char *unit,
                        bool higher, const double *samples, int n, const char *ref,
                        double static_value, const char *static_unit, const char *static_source)
{
    json_t *rec =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "result", "id", id, "what", what,
                  "size", size, "unit", unit, "better", higher ? "higher" : "lower");
    json_t *arr = json_array();

    for (int i = 0; i < n; i++) {
        json_array_append_new(arr, json_real(samples[i]));
    }
    json_object_set_new(rec, "samples", arr);
    if (ref) {
        json_object_set_new(rec, "ref", json_string(ref));
    }
    if (static_source) {
        json_object_set_new(rec, "static_ref",
                            json_pack("{s:f, s:s, s:s}", "value", static_value, "unit", static_unit,
                                      "source", static_source));
    }
    emit(rec);
}

static void emit_info(const char *id, json_t *value)
{
    emit(json_pack("{s:s, s:s, s:o}", "type", "info", "id", id, "value", value));
}

/* ---- the measures ------------------------------------------------------------------------- */

typedef int locate_fn(const struct cg_grid_index *ix, double lon, double lat);

/* Sum of slots keeps the compiler from dropping the calls. */
static volatile long sink;

/* Looks up n points once; returns lookups per second. out (may be NULL) gets the slots. */
static double time_pass(locate_fn *fn, const struct cg_grid_index *ix, const double *lon,
                        const double *lat, long n, int *out)
{
    long sum = 0;
    double c0 = cpu_s(), t0 = now_s();

    for (long i = 0; i < n; i++) {
        int slot = fn(ix, lon[i], lat[i]);

        sum += slot;
        if (out) {
            out[i] = slot;
        }
    }
    double dt = now_s() - t0;
    note_share(cpu_s() - c0, dt);
    sink += sum;
    return (double)n / (dt > 0 ? dt : 1e-9);
}

struct worker {
    const struct cg_grid_index *ix;
    const double *lon, *lat;
    long n, first; /* each worker walks all n points starting at its own offset */
    pthread_barrier_t *start;
    double seconds; /* out: time of the walk */
    double cpu;     /* out: CPU time of the walk */
    long sum;       /* out: sum of the slots */
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    long sum = 0;

    pthread_barrier_wait(w->start);
    double c0 = cpu_s(), t0 = now_s();
    for (long k = 0; k < w->n; k++) {
        long i = (w->first + k) % w->n;

        sum += cg_grid_index_locate(w->ix, w->lon[i], w->lat[i]);
    }
    w->seconds = now_s() - t0;
    w->cpu = cpu_s() - c0;
    w->sum = sum;
    return NULL;
}

/* Every thread looks up every point; returns the total lookups per second. */
static double time_threads(const struct cg_grid_index *ix, const double *lon, const double *lat,
                           long n, int threads)
{
    pthread_t tid[64];
    struct worker w[64];
    pthread_barrier_t start;
    double slowest = 0;

    pthread_barrier_init(&start, NULL, (unsigned)threads);
    for (int t = 0; t < threads; t++) {
        w[t] = (struct worker){ix, lon, lat, n, n / threads * t, &start, 0, 0, 0};
        if (pthread_create(&tid[t], NULL, worker_main, &w[t])) {
            fprintf(stderr, "locate_bench: cannot start a thread\n");
            exit(1);
        }
    }
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        sink += w[t].sum;
        note_share(w[t].cpu, w[t].seconds);
        if (w[t].seconds > slowest) {
            slowest = w[t].seconds;
        }
    }
    pthread_barrier_destroy(&start);
    return (double)n * threads / (slowest > 0 ? slowest : 1e-9);
}

static int write_points(const char *path, const struct cg_grid_index *ix, const double *lon,
                        const double *lat, const int *slot, long n)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        fprintf(stderr, "locate_bench: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    fputs("id,lon,lat,code\n", f);
    for (long i = 0; i < n; i++) {
        const char *code = slot[i] >= 0 ? cg_grid_index_code(ix, slot[i]) : "";

        fprintf(f, "%ld,%.17g,%.17g,%s\n", i + 1, lon[i], lat[i], code ? code : "");
    }
    if (fclose(f)) {
        fprintf(stderr, "locate_bench: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- main --------------------------------------------------------------------------------- */

static long parse_long(const char *name, const char *s, long lo, long hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "locate_bench: %s must be an integer from %ld to %ld\n", name, lo, hi);
        exit(2);
    }
    return v;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.points = 1000000, .out_count = 100000, .runs = 5, .seed = 42};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!v) {
            fprintf(stderr, "locate_bench: '%s' needs a value\n", a);
            exit(2);
        }
        i++;
        if (!strcmp(a, "--db")) {
            o->db = v;
        } else if (!strcmp(a, "--at")) {
            o->at = v;
        } else if (!strcmp(a, "--points-out")) {
            o->points_out = v;
        } else if (!strcmp(a, "--points")) {
            o->points = parse_long(a, v, 1000, 100000000);
        } else if (!strcmp(a, "--points-out-count")) {
            o->out_count = parse_long(a, v, 1, 100000000);
        } else if (!strcmp(a, "--runs")) {
            o->runs = (int)parse_long(a, v, 1, 100);
        } else if (!strcmp(a, "--threads")) {
            o->threads = (int)parse_long(a, v, 0, 64);
        } else if (!strcmp(a, "--seed")) {
            o->seed = (uint64_t)parse_long(a, v, 0, 0x7fffffffffffffffL);
        } else {
            fprintf(stderr, "locate_bench: unknown option '%s'\n", a);
            exit(2);
        }
    }
    if (!o->db) {
        fprintf(stderr, "usage: locate_bench --db FILE [--points N] [--runs N] [--seed N] "
                        "[--threads N] [--at RFC3339] [--points-out FILE.csv] "
                        "[--points-out-count N]\n");
        exit(2);
    }
    if (!o->threads) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        o->threads = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
    }
}

int main(int argc, char **argv)
{
    struct opts o;
    struct cg_db_options dbo;
    struct cg_db *db = NULL;
    struct cg_grid_index *ix = NULL;
    struct cg_error err = CG_ERROR_INIT;
    char a[32], b[32], size[128], what[160];
    int rc = 1;

    parse_opts(argc, argv, &o);
    cg_db_options_init(&dbo, o.db);
    dbo.create = false;
    if (cg_db_open(&dbo, &db, &err)) {
        fprintf(stderr, "locate_bench: %s\n", err.message);
        return 1;
    }

    /* Index build: at most 3 times (it is slow next to the lookups), the last one kept. */
    int builds = o.runs < 3 ? o.runs : 3;
    double *build_ms = calloc((size_t)builds, sizeof(double));
    long rss_before = rss_kib();
    CG_ASSERT(build_ms);
    for (int r = 0; r < builds; r++) {
        cg_grid_index_free(ix);
        ix = NULL;
        double t0 = now_s();
        if (cg_grid_index_build(db, o.at, &ix, &err)) {
            fprintf(stderr, "locate_bench: cannot build the grid index: %s\n", err.message);
            goto out;
        }
        build_ms[r] = (now_s() - t0) * 1000.0;
    }
    long rss_after = rss_kib();
    size_t ngrids = cg_grid_index_count(ix);
    if (!ngrids) {
        fprintf(stderr, "locate_bench: the database has no territorial grid\n");
        goto out;
    }
    double bbox[4];
    cg_grid_index_bounds(ix, bbox);
    snprintf(size, sizeof(size), "%s grids", thousands((long)ngrids, a, sizeof(a)));
    emit_result("locate.build", "grid index build (from the database)", size, "ms", false, build_ms,
                builds, "postgis.gist_build", 0, NULL, NULL);
    emit_info("locate.grids", json_integer((json_int_t)ngrids));
    emit_info("locate.bounds", json_pack("[f,f,f,f]", bbox[0], bbox[1], bbox[2], bbox[3]));
    size_t cells = 0, boundary = 0;
    cg_grid_index_cover_stats(ix, &cells, &boundary);
    emit_info("locate.cover_cells", json_integer((json_int_t)cells));
    emit_info("locate.cover_boundary_cells", json_integer((json_int_t)boundary));
    if (rss_before >= 0 && rss_after >= 0) {
        emit_info("locate.index_rss_mib", json_real((double)(rss_after - rss_before) / 1024.0));
    }
    fprintf(stderr, "  LOCATE  %zu grids, index built in %.0f ms\n", ngrids, build_ms[0]);

    /* Points: uniform in the bounding box, the same for every run and every method. */
    long n = o.points;
    double *lon = malloc((size_t)n * sizeof(double)), *lat = malloc((size_t)n * sizeof(double));
    double *ilon = malloc((size_t)n * sizeof(double)), *ilat = malloc((size_t)n * sizeof(double));
    int *fast = malloc((size_t)n * sizeof(int)), *tree = malloc((size_t)n * sizeof(int));
    double *samples = calloc((size_t)o.runs, sizeof(double));
    CG_ASSERT(lon && lat && ilon && ilat && fast && tree && samples);
    uint64_t state = o.seed;
    for (long i = 0; i < n; i++) {
        lon[i] = bbox[0] + (bbox[2] - bbox[0]) * next_unit(&state);
        lat[i] = bbox[1] + (bbox[3] - bbox[1]) * next_unit(&state);
    }
    snprintf(size, sizeof(size), "%s grids x %s points", thousands((long)ngrids, a, sizeof(a)),
             thousands(n, b, sizeof(b)));

    /* Answers of both methods (also the warm-up), then the comparison. */
    time_pass(cg_grid_index_locate, ix, lon, lat, n, fast);
    time_pass(cg_grid_index_locate_strtree, ix, lon, lat, n, tree);
    long mismatch = 0, inside = 0;
    for (long i = 0; i < n; i++) {
        mismatch += fast[i] != tree[i];
        if (fast[i] >= 0) {
            ilon[inside] = lon[i];
            ilat[inside] = lat[i];
            inside++;
        }
    }
    emit_info("locate.found_share", json_real((double)inside / (double)n));
    emit_info("locate.mismatch", json_integer(mismatch));
    fprintf(stderr, "  LOCATE  %ld points, %.1f%% in a grid, %ld mismatches\n", n,
            100.0 * (double)inside / (double)n, mismatch);

    /* The measures are interleaved run by run, so that a slow moment of the machine
     * falls on all of them alike rather than on one. */
    double *s_fast = samples, *s_lat = calloc((size_t)o.runs, sizeof(double));
    double *s_in = calloc((size_t)o.runs, sizeof(double));
    double *s_tree = calloc((size_t)o.runs, sizeof(double));
    double *s_thr = calloc((size_t)o.runs, sizeof(double));
    CG_ASSERT(s_lat && s_in && s_tree && s_thr);
    fprintf(stderr, "  LOCATE  fast path, inside only, STRtree, %d threads: %d runs\n", o.threads,
            o.runs);
    for (int r = 0; r < o.runs; r++) {
        s_fast[r] = time_pass(cg_grid_index_locate, ix, lon, lat, n, NULL);
        s_lat[r] = 1e9 / s_fast[r];
        s_in[r] = inside ? time_pass(cg_grid_index_locate, ix, ilon, ilat, inside, NULL) : 0;
        s_tree[r] = time_pass(cg_grid_index_locate_strtree, ix, lon, lat, n, NULL);
        s_thr[r] = time_threads(ix, lon, lat, n, o.threads);
    }
    emit_result("locate.fast", "point-to-grid lookup, cell cover + prepared GEOS, one core", size,
                "lookups/s", true, s_fast, o.runs, "postgis.join", 53000, "points/s",
                "perf-notes: PostGIS batch join");
    emit_result("locate.fast.latency", "the same, time per lookup", size, "ns/lookup", false, s_lat,
                o.runs, "postgis.pgbench.c1.latency", 137, "us/query",
                "perf-notes: PostGIS pgbench, 1 client (7,300/s)");
    if (inside > 0) {
        snprintf(what, sizeof(what), "%s grids x %s points", thousands((long)ngrids, a, sizeof(a)),
                 thousands(inside, b, sizeof(b)));
        emit_result("locate.fast.inside", "the same, points inside a grid only", what, "lookups/s",
                    true, s_in, o.runs, "postgis.join", 53000, "points/s",
                    "perf-notes: PostGIS batch join");
    }
    emit_result("locate.strtree", "point-to-grid lookup, GEOS STRtree + prepared, one core", size,
                "lookups/s", true, s_tree, o.runs, "postgis.join", 606000, "lookups/s",
                "perf-notes: GEOS STRtree + prepared, 10,000 polygons");
    snprintf(what, sizeof(what), "point-to-grid lookup, cell cover, %d threads", o.threads);
    emit_result("locate.threads", what, size, "lookups/s", true, s_thr, o.runs,
                "postgis.pgbench.c8", 45000, "queries/s", "perf-notes: PostGIS pgbench, 8 clients");
    free(s_lat);
    free(s_in);
    free(s_tree);
    free(s_thr);
    emit_info("locate.thread_count", json_integer(o.threads));

    emit_info("locate.cpu_share", json_real(min_cpu_share));
    if (min_cpu_share < 0.9) {
        fprintf(stderr,
                "  LOCATE  warning: a timed thread had only %.0f%% of a CPU: other work "
                "disturbed the measure\n",
                min_cpu_share * 100);
    }

    if (o.points_out &&
        write_points(o.points_out, ix, lon, lat, fast, o.out_count < n ? o.out_count : n)) {
        goto out_points;
    }
    rc = mismatch ? 1 : 0;
    if (mismatch) {
        fprintf(stderr, "locate_bench: %ld points got different grids from the two methods\n",
                mismatch);
    }
out_points:
    free(lon);
    free(lat);
    free(ilon);
    free(ilat);
    free(fast);
    free(tree);
    free(samples);
out:
    free(build_ms);
    cg_grid_index_free(ix);
    cg_db_close(db);
    return rc;
}
