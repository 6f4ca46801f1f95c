/*
 * nearest_bench.c: the "nearest available workers" benchmark of `make bench`
 * (docs/BENCHMARKS.md, docs/PATROL.md).
 *
 * Draws N synthetic worker positions (default 10,000) with a fixed seed,
 * uniform over the bounding box of the grids of a database (the Dongguan demo)
 * or over --bbox, builds the nearest index (timed), then times on one thread
 * the k nearest (default 5) to Q random query points: the cell grid, and the
 * full scan it must agree with (the mismatch count must be 0). Optionally
 * writes the positions and queries as CSV for the PostGIS reference
 * (ORDER BY p <-> q LIMIT k, tests/bench/postgis_nearest.sh): PREFIX-workers.csv
 * and PREFIX-queries.csv (id,lon,lat, no header; the first 10,000 queries) and
 * PREFIX-answers.csv (query,rank,worker,distance_m: the cell grid's answers).
 *
 * Output: JSON lines in the record format of tests/bench/run.sh; progress on
 * stderr. Exit 0, 1 on a mismatch or an error, 2 on bad usage.
 *
 *   nearest_bench [--db FILE | --bbox W,S,E,N] [--workers N] [--queries N] [--k N]
 *                 [--runs N] [--seed N] [--csv-prefix PATH]
 */
#include "base/cg.h"
#include "base/err.h"
#include "db/db.h"
#include "domain/grid/index.h"
#include "domain/patrol/patrol.h"

#include <jansson.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *state)
{
    return (double)(next_u64(state) >> 11) * (1.0 / 9007199254740992.0);
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

static void emit_result(const char *id, const char *what, const char *size, const char *unit,
                        bool higher, const double *samples, int n, const char *ref)
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
    emit(rec);
}

static void emit_info(const char *id, json_t *value)
{
    emit(json_pack("{s:s, s:s, s:o}", "type", "info", "id", id, "value", value));
}

static long parse_long(const char *name, const char *s, long lo, long hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "nearest_bench: %s must be an integer from %ld to %ld\n", name, lo, hi);
        exit(2);
    }
    return v;
}

static volatile double sink;

typedef size_t nearest_fn(const struct cg_patrol_index *ix, double lon, double lat,
                          int64_t min_t_ms, const char *prefix, size_t k,
                          struct cg_patrol_hit *out);

/* Answers every query once; returns nanoseconds per query. */
static double time_pass(nearest_fn *fn, const struct cg_patrol_index *ix, const double *qlon,
                        const double *qlat, long nq, size_t k)
{
    struct cg_patrol_hit hits[CG_PATROL_NEAREST_MAX];
    double sum = 0, t0 = now_s();

    for (long i = 0; i < nq; i++) {
        size_t n = fn(ix, qlon[i], qlat[i], 0, NULL, k, hits);

        sum += n ? hits[n - 1].distance_m : 0;
    }
    double dt = now_s() - t0;
    sink += sum;
    return dt * 1e9 / (double)nq;
}

int main(int argc, char **argv)
{
    const char *db_path = NULL, *csv = NULL;
    double bbox[4] = {113.52, 22.66, 114.26, 23.15}; /* Dongguan, roughly */
    long workers = 10000, queries = 100000, k = 5;
    int runs = 5;
    uint64_t seed = 1;
    char size[128];
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!v) {
            fprintf(stderr, "nearest_bench: '%s' needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--db")) {
            db_path = v;
        } else if (!strcmp(a, "--csv-prefix")) {
            csv = v;
        } else if (!strcmp(a, "--bbox")) {
            if (sscanf(v, "%lf,%lf,%lf,%lf", &bbox[0], &bbox[1], &bbox[2], &bbox[3]) != 4) {
                fprintf(stderr, "nearest_bench: --bbox W,S,E,N\n");
                return 2;
            }
        } else if (!strcmp(a, "--workers")) {
            workers = parse_long(a, v, 1, 10000000);
        } else if (!strcmp(a, "--queries")) {
            queries = parse_long(a, v, 1000, 100000000);
        } else if (!strcmp(a, "--k")) {
            k = parse_long(a, v, 1, CG_PATROL_NEAREST_MAX);
        } else if (!strcmp(a, "--runs")) {
            runs = (int)parse_long(a, v, 1, 100);
        } else if (!strcmp(a, "--seed")) {
            seed = (uint64_t)parse_long(a, v, 0, 0x7fffffffffffffffL);
        } else {
            fprintf(stderr, "nearest_bench: unknown option '%s'\n", a);
            return 2;
        }
    }
    if (db_path) {
        struct cg_db_options dbo;
        struct cg_db *db = NULL;
        struct cg_grid_index *gix = NULL;
        struct cg_error err = CG_ERROR_INIT;

        cg_db_options_init(&dbo, db_path);
        dbo.create = false;
        dbo.migrate = false;
        if (cg_db_open(&dbo, &db, &err) || cg_grid_index_build(db, NULL, &gix, &err)) {
            fprintf(stderr, "nearest_bench: %s: %s\n", db_path, err.message);
            cg_db_close(db);
            return 1;
        }
        if (cg_grid_index_count(gix)) {
            cg_grid_index_bounds(gix, bbox);
        }
        cg_grid_index_free(gix);
        cg_db_close(db);
    }
    emit_info("nearest.bounds", json_pack("[f,f,f,f]", bbox[0], bbox[1], bbox[2], bbox[3]));

    struct cg_worker_pos *pos = calloc((size_t)workers, sizeof(*pos));
    double *qlon = malloc((size_t)queries * sizeof(double));
    double *qlat = malloc((size_t)queries * sizeof(double));
    double *build_ms = calloc((size_t)runs, sizeof(double));
    double *s_grid = calloc((size_t)runs, sizeof(double));
    double *s_scan = calloc((size_t)runs, sizeof(double));
    CG_ASSERT(pos && qlon && qlat && build_ms && s_grid && s_scan);
    uint64_t st = seed;
    for (long i = 0; i < workers; i++) {
        pos[i].account_id = i + 1;
        pos[i].lon = bbox[0] + (bbox[2] - bbox[0]) * next_unit(&st);
        pos[i].lat = bbox[1] + (bbox[3] - bbox[1]) * next_unit(&st);
        pos[i].t_ms = 1;
    }
    for (long i = 0; i < queries; i++) {
        qlon[i] = bbox[0] + (bbox[2] - bbox[0]) * next_unit(&st);
        qlat[i] = bbox[1] + (bbox[3] - bbox[1]) * next_unit(&st);
    }

    struct cg_patrol_index *ix = NULL;
    for (int r = 0; r < runs; r++) {
        cg_patrol_index_free(ix);
        double t0 = now_s();
        ix = cg_patrol_index_build(pos, (size_t)workers);
        build_ms[r] = (now_s() - t0) * 1000.0;
    }
    snprintf(size, sizeof(size), "%ld workers", workers);
    emit_result("nearest.build", "nearest index build (cell grid)", size, "ms", false, build_ms,
                runs, "postgis.knn.gist_build");

    /* Agreement with the full scan on the first queries. */
    long mismatch = 0, check = queries < 20000 ? queries : 20000;
    for (long i = 0; i < check; i++) {
        struct cg_patrol_hit a[CG_PATROL_NEAREST_MAX], b[CG_PATROL_NEAREST_MAX];
        size_t na = cg_patrol_index_nearest(ix, qlon[i], qlat[i], 0, NULL, (size_t)k, a);
        size_t nb = cg_patrol_index_nearest_scan(ix, qlon[i], qlat[i], 0, NULL, (size_t)k, b);

        mismatch += na != nb;
        for (size_t j = 0; j < na && j < nb; j++) {
            mismatch += a[j].pos != b[j].pos;
        }
    }
    emit_info("nearest.mismatch", json_integer(mismatch));
    fprintf(stderr, "  NEAREST %ld workers, %ld queries, k=%ld, %ld mismatches\n", workers, queries,
            k, mismatch);

    long nscan = queries < 2000 ? queries : 2000;
    time_pass(cg_patrol_index_nearest, ix, qlon, qlat, queries, (size_t)k);
    for (int r = 0; r < runs; r++) {
        s_grid[r] = time_pass(cg_patrol_index_nearest, ix, qlon, qlat, queries, (size_t)k);
        s_scan[r] = time_pass(cg_patrol_index_nearest_scan, ix, qlon, qlat, nscan, (size_t)k);
    }
    snprintf(size, sizeof(size), "%ld workers, k=%ld", workers, k);
    emit_result("nearest.grid.latency", "k nearest available workers, cell grid, one core", size,
                "ns/query", false, s_grid, runs, "postgis.knn.latency");
    emit_result("nearest.scan.latency", "the same by scanning every position", size, "ns/query",
                false, s_scan, runs, NULL);
    fprintf(stderr, "  NEAREST cell grid %.0f ns/query, scan %.0f ns/query\n", s_grid[0],
            s_scan[0]);

    if (csv) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s-workers.csv", csv);
        f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "nearest_bench: cannot write '%s'\n", path);
            goto out;
        }
        for (long i = 0; i < workers; i++) {
            fprintf(f, "%ld,%.9f,%.9f\n", i + 1, pos[i].lon, pos[i].lat);
        }
        fclose(f);
        snprintf(path, sizeof(path), "%s-queries.csv", csv);
        f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "nearest_bench: cannot write '%s'\n", path);
            goto out;
        }
        for (long i = 0; i < (queries < 10000 ? queries : 10000); i++) {
            fprintf(f, "%ld,%.9f,%.9f\n", i + 1, qlon[i], qlat[i]);
        }
        fclose(f);
        /* civgrid's answers to the first queries, for the PostGIS agreement check. */
        snprintf(path, sizeof(path), "%s-answers.csv", csv);
        f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "nearest_bench: cannot write '%s'\n", path);
            goto out;
        }
        for (long i = 0; i < (queries < 10000 ? queries : 10000); i++) {
            struct cg_patrol_hit hits[CG_PATROL_NEAREST_MAX];
            size_t nh = cg_patrol_index_nearest(ix, qlon[i], qlat[i], 0, NULL, (size_t)k, hits);

            for (size_t j = 0; j < nh; j++) {
                fprintf(f, "%ld,%zu,%" PRId64 ",%.3f\n", i + 1, j + 1, hits[j].pos->account_id,
                        hits[j].distance_m);
            }
        }
        fclose(f);
    }
    rc = mismatch ? 1 : 0;
out:
    cg_patrol_index_free(ix);
    free(pos);
    free(qlon);
    free(qlat);
    free(build_ms);
    free(s_grid);
    free(s_scan);
    return rc;
}
