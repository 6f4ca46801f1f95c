/*
 * gps_bench.c: the GPS point intake benchmark of `make bench` (docs/BENCHMARKS.md), two modes.
 *
 *   gps_bench prepare --db COPY --workers N --tokens-out FILE [--grid-points FILE.csv]
 *                     [--started-ms MS]
 *     On a copy of the Dongguan demo: gives the first N demo grid workers (grid_staff with a
 *     current worker assignment) an account (role grid_worker, scope their grid), a running
 *     patrol started at MS (default 6 days ago), a position row and a session, all in one
 *     write job, and writes one line per worker to FILE: "token patrol_id lon lat" (a point
 *     of the worker's grid: the first point of that grid in FILE.csv, the output of
 *     locate_bench --points-out, else the middle of the grid's bounding box). The HTTP load
 *     (tests/bench/gps.lua, from wrk) reads that file. The accounts have no usable password:
 *     the sessions are the only way in, and signing in 10,000 accounts is not what is measured.
 *
 *   gps_bench store --db COPY --tokens FILE [--batch B] [--threads T] [--seconds S] [--runs R]
 *                   [--t0-ms MS]
 *     The store alone, in process: T threads each take workers of FILE in turn and store
 *     batches of B points (5 s and about 2 m apart) through cg_patrol__add_points(), the call
 *     the API makes once the batch is checked: one write job per batch, durable group commit
 *     (synchronous FULL). Prints points/s per run; no HTTP, no JSON, no checks.
 *
 * Output: JSON lines of tests/bench/run.sh on stdout ({"type":"result"...}, {"type":"info"...});
 * progress on stderr. Exit status 0, 1 on an error, 2 on bad usage.
 */
#include "base/cg.h"
#include "base/err.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/auth/auth.h"
#include "domain/patrol/patrol_int.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <sys/resource.h>
#include <time.h>

struct opts {
    const char *mode, *db, *tokens_out, *grid_points, *tokens;
    long workers;
    int64_t started_ms, t0_ms;
    int batch, threads, runs;
    double seconds;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of the whole process (every thread, the writer's too). */
static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static void usage(void)
{
    fprintf(stderr, "usage: gps_bench prepare --db COPY --workers N --tokens-out FILE"
                    " [--grid-points FILE.csv] [--started-ms MS]\n"
                    "       gps_bench store --db COPY --tokens FILE [--batch B] [--threads T]"
                    " [--seconds S] [--runs R] [--t0-ms MS]\n");
    exit(2);
}

/* A whole number in [lo, hi], else the usage. */
static long long num(const char *s, long long lo, long long hi)
{
    char *end;
    long long v = strtoll(s, &end, 10);

    if (end == s || *end || v < lo || v > hi) {
        usage();
    }
    return v;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->workers = 10000;
    o->batch = 100;
    o->threads = 64;
    o->runs = 3;
    o->seconds = 3;
    if (argc < 2) {
        usage();
    }
    o->mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!v) {
            usage();
        }
        i++;
        if (!strcmp(a, "--db")) {
            o->db = v;
        } else if (!strcmp(a, "--workers")) {
            o->workers = (long)num(v, 1, 1000000);
        } else if (!strcmp(a, "--tokens-out")) {
            o->tokens_out = v;
        } else if (!strcmp(a, "--grid-points")) {
            o->grid_points = v;
        } else if (!strcmp(a, "--started-ms")) {
            o->started_ms = num(v, 1, INT64_MAX);
        } else if (!strcmp(a, "--tokens")) {
            o->tokens = v;
        } else if (!strcmp(a, "--batch")) {
            o->batch = (int)num(v, 1, CG_PATROL_BATCH_MAX);
        } else if (!strcmp(a, "--threads")) {
            o->threads = (int)num(v, 1, 1024);
        } else if (!strcmp(a, "--seconds")) {
            o->seconds = (double)num(v, 1, 3600);
        } else if (!strcmp(a, "--runs")) {
            o->runs = (int)num(v, 1, 100);
        } else if (!strcmp(a, "--t0-ms")) {
            o->t0_ms = num(v, 1, INT64_MAX);
        } else {
            usage();
        }
    }
    if (!o->db || o->workers < 1 || o->batch < 1 || o->batch > CG_PATROL_BATCH_MAX ||
        o->threads < 1 || o->runs < 1 || o->seconds <= 0) {
        usage();
    }
}

/* ---- prepare ------------------------------------------------------------------------------ */

struct grid_point {
    char code[CG_PATROL_GRID_LEN];
    double lon, lat;
};

struct prepare_job {
    const struct opts *o;
    struct grid_point *gp; /* the first point of each grid in --grid-points, sorted by code */
    size_t ngp;
    FILE *out;
    long made;
};

static int cmp_gp(const void *a, const void *b)
{
    return strcmp(((const struct grid_point *)a)->code, ((const struct grid_point *)b)->code);
}

/* Reads "id,lon,lat,code" lines (code empty outside every grid) into pj->gp. */
static void read_grid_points(struct prepare_job *pj, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[256];
    size_t cap = 0;

    if (!f) {
        fprintf(stderr, "gps_bench: cannot read %s: points from the grids' bounding boxes\n", path);
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        struct grid_point p;
        long id;

        if (sscanf(line, "%ld,%lf,%lf,%16[0-9]", &id, &p.lon, &p.lat, p.code) != 4) {
            continue;
        }
        if (pj->ngp == cap) {
            cap = cap ? cap * 2 : 4096;
            pj->gp = realloc(pj->gp, cap * sizeof(*pj->gp));
            CG_ASSERT(pj->gp);
        }
        pj->gp[pj->ngp++] = p;
    }
    fclose(f);
    /* keep the first point of each grid (a stable choice: sort by code, then by file order) */
    qsort(pj->gp, pj->ngp, sizeof(*pj->gp), cmp_gp);
}

static const struct grid_point *grid_point(const struct prepare_job *pj, const char *code)
{
    struct grid_point key;

    snprintf(key.code, sizeof(key.code), "%s", code);
    return pj->ngp ? bsearch(&key, pj->gp, pj->ngp, sizeof(*pj->gp), cmp_gp) : NULL;
}

static int prepare_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct prepare_job *pj = ctx;
    struct cg_stmt *st = NULL;
    char now[CG_TIME_ISO_LEN];
    int64_t now_s = cg_time_now_ms() / 1000;
    int rc;

    cg_time_iso(cg_time_now_ms(), now, sizeof(now));
    rc = cg_db_prepare_bind(c,
                            "SELECT s.id, ga.grid_code, (g.min_lon + g.max_lon) / 2,"
                            " (g.min_lat + g.max_lat) / 2 FROM grid_staff s"
                            " JOIN grid_assignment ga ON ga.staff_id = s.id AND ga.until IS NULL"
                            " AND ga.role = 'worker'"
                            " JOIN grid g ON g.code = ga.grid_code AND g.valid_to IS NULL"
                            " WHERE s.status = 'active' AND s.account_id IS NULL"
                            " ORDER BY s.id LIMIT ?1",
                            &st, err, "i", (int64_t)pj->o->workers);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        int64_t staff = cg_db_column_int64(st, 0), account, patrol;
        char grid[CG_PATROL_GRID_LEN], login[32], token[CG_AUTH_TOKEN_LEN + 1], hash[65];
        unsigned char raw[32], h[32];
        double lon = cg_db_column_double(st, 2), lat = cg_db_column_double(st, 3);
        const struct grid_point *gp;

        snprintf(grid, sizeof(grid), "%s", cg_db_column_text(st, 1));
        snprintf(login, sizeof(login), "gps.%06" PRId64, staff);
        if ((gp = grid_point(pj, grid))) {
            lon = gp->lon;
            lat = gp->lat;
        }
        /* the session token as auth.c makes it, and its BLAKE2b-256 hash as it keeps it */
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2base64(token, sizeof(token), raw, sizeof(raw),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
        sodium_bin2hex(hash, sizeof(hash), h, sizeof(h));
        rc = cg_db_run(c,
                       "INSERT INTO account(login, display_name, password_hash,"
                       " password_changed_at, scope_kind, scope_ref, created_at, updated_at)"
                       " VALUES (?1, 'GPS bench worker', '-', ?2, 'grid', ?3, ?2, ?2)",
                       err, "ttt", login, now, grid);
        if (rc) {
            break;
        }
        account = cg_db_last_insert_id(c);
        rc = cg_db_run(c, "INSERT INTO account_role(account_id, role) VALUES (?1, 'grid_worker')",
                       err, "i", account);
        rc = rc ? rc
                : cg_db_run(c, "UPDATE grid_staff SET account_id = ?2 WHERE id = ?1", err, "ii",
                            staff, account);
        rc = rc ? rc
                : cg_db_run(c,
                            "INSERT INTO patrol(account_id, grid_code, started_ms, created_at)"
                            " VALUES (?1, ?2, ?3, ?4)",
                            err, "itit", account, grid, pj->o->started_ms, now);
        if (rc) {
            break;
        }
        patrol = cg_db_last_insert_id(c);
        rc = cg_db_run(c,
                       "INSERT INTO worker_position(account_id, grid_code, updated_at)"
                       " VALUES (?1, ?2, ?3)",
                       err, "itt", account, grid, now);
        rc = rc ? rc
                : cg_db_run(c,
                            "INSERT INTO session(token_hash, csrf_hash, account_id, created_at,"
                            " last_seen_at, expires_at) VALUES (?1, ?1, ?2, ?3, ?3, ?4)",
                            err, "tiii", hash, account, now_s, now_s + 86400);
        if (rc) {
            break;
        }
        fprintf(pj->out, "%s %" PRId64 " %.7f %.7f\n", token, patrol, lon, lat);
        pj->made++;
        rc = 0;
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

static int prepare(const struct opts *o, struct cg_db *db)
{
    struct prepare_job pj = {o, NULL, 0, NULL, 0};
    struct cg_error err = CG_ERROR_INIT;
    int rc;

    if (!o->tokens_out) {
        usage();
    }
    if (o->grid_points) {
        read_grid_points(&pj, o->grid_points);
    }
    pj.out = fopen(o->tokens_out, "w");
    if (!pj.out) {
        fprintf(stderr, "gps_bench: cannot write %s\n", o->tokens_out);
        free(pj.gp);
        return 1;
    }
    rc = cg_db_write(db, prepare_run, &pj, &err);
    if (fclose(pj.out) || rc) {
        fprintf(stderr, "gps_bench: prepare failed: %s\n", rc ? err.message : "write error");
        free(pj.gp);
        return 1;
    }
    fprintf(stderr, "  GPS     %ld workers with a running patrol and a session\n", pj.made);
    printf("{\"type\":\"info\",\"id\":\"gps.workers\",\"value\":%ld}\n", pj.made);
    free(pj.gp);
    return pj.made ? 0 : 1;
}

/* ---- store -------------------------------------------------------------------------------- */

struct worker {
    int64_t patrol, account, next_ms;
    double lon, lat;
};

struct store_ctx {
    const struct opts *o;
    struct cg_db *db;
    struct worker *w;
    size_t nw;
    _Atomic size_t next; /* the next worker to serve */
    double until;        /* monotonic seconds */
    _Atomic long points, batches, failures;
};

static void *store_thread(void *arg)
{
    struct store_ctx *sc = arg;
    int b = sc->o->batch;
    struct cg_patrol__point *pts = calloc((size_t)b, sizeof(*pts));
    struct cg_error err = CG_ERROR_INIT;

    CG_ASSERT(pts);
    while (now_s() < sc->until) {
        /* each worker is served by one thread at a time: its times never collide */
        struct worker *w = &sc->w[atomic_fetch_add(&sc->next, 1) % sc->nw];
        int64_t stored = 0;

        for (int k = 0; k < b; k++) {
            pts[k].t_ms = w->next_ms + 5000LL * k;
            pts[k].lon = w->lon + 2e-5 * k;
            pts[k].lat = w->lat + 1e-5 * k;
            pts[k].accuracy_m = 8;
            pts[k].speed = 0.4;
        }
        w->next_ms += 5000LL * b;
        if (cg_patrol__add_points(sc->db, w->patrol, w->account, "", pts, (size_t)b, &stored,
                                  &err)) {
            atomic_fetch_add(&sc->failures, 1);
            cg_error_clear(&err);
            continue;
        }
        atomic_fetch_add(&sc->points, (long)stored);
        atomic_fetch_add(&sc->batches, 1);
    }
    free(pts);
    return NULL;
}

static int store(const struct opts *o, struct cg_db *db)
{
    struct store_ctx sc = {.o = o, .db = db};
    FILE *f = o->tokens ? fopen(o->tokens, "r") : NULL;
    char token[64];
    size_t cap = 0;
    double *pps = calloc((size_t)o->runs, sizeof(double));
    pthread_t *th = calloc((size_t)o->threads, sizeof(pthread_t));
    struct cg_db_stats s0, s1;
    struct cg_conn *c;
    struct cg_error err = CG_ERROR_INIT;
    int64_t t0 = o->t0_ms ? o->t0_ms : cg_time_now_ms() - 5 * 24 * 3600 * 1000LL;

    CG_ASSERT(pps && th);
    if (!f) {
        fprintf(stderr, "gps_bench: store needs --tokens FILE (from prepare)\n");
        return 2;
    }
    for (;;) {
        struct worker w = {0};

        if (fscanf(f, "%63s %" SCNd64 " %lf %lf", token, &w.patrol, &w.lon, &w.lat) != 4) {
            break;
        }
        if (sc.nw == cap) {
            cap = cap ? cap * 2 : 1024;
            sc.w = realloc(sc.w, cap * sizeof(*sc.w));
            CG_ASSERT(sc.w);
        }
        w.next_ms = t0;
        sc.w[sc.nw++] = w;
    }
    fclose(f);
    if (!sc.nw || cg_db_reader(db, &c, &err)) {
        fprintf(stderr, "gps_bench: no workers in %s\n", o->tokens);
        return 1;
    }
    for (size_t i = 0; i < sc.nw; i++) {
        if (cg_db_query_int64(c, "SELECT account_id FROM patrol WHERE id = ?1", &sc.w[i].account,
                              &err, "i", sc.w[i].patrol)) {
            fprintf(stderr, "gps_bench: patrol %" PRId64 ": %s\n", sc.w[i].patrol, err.message);
            return 1;
        }
    }
    fprintf(stderr, "  GPS     store: %zu workers, batches of %d, %d threads, %d x %.0f s\n", sc.nw,
            o->batch, o->threads, o->runs, o->seconds);
    cg_db_stats(db, &s0);
    double cpu0 = cpu_s(), *cpu_pp = calloc((size_t)o->runs, sizeof(double));
    long pts0 = atomic_load(&sc.points);
    CG_ASSERT(cpu_pp);
    for (int r = 0; r < o->runs; r++) {
        double start = now_s(), c0 = cpu_s();
        long p0 = atomic_load(&sc.points);

        sc.until = start + o->seconds;
        for (int i = 0; i < o->threads; i++) {
            CG_ASSERT(!pthread_create(&th[i], NULL, store_thread, &sc));
        }
        for (int i = 0; i < o->threads; i++) {
            pthread_join(th[i], NULL);
        }
        pps[r] = (double)(atomic_load(&sc.points) - p0) / (now_s() - start);
        cpu_pp[r] = (cpu_s() - c0) * 1e6 / (double)(atomic_load(&sc.points) - p0 + 1);
        fprintf(stderr, "  GPS     store run %d: %.0f points/s\n", r + 1, pps[r]);
    }
    cg_db_stats(db, &s1);
    double cpu_us = (cpu_s() - cpu0) * 1e6 / (double)(atomic_load(&sc.points) - pts0 + 1);
    fprintf(stderr, "  GPS     store: %.2f us of CPU per point\n", cpu_us);
    printf("{\"type\":\"result\",\"id\":\"gps.store\",\"what\":\"GPS points into the store"
           " in process (one write job per batch, durable group commit)\",\"size\":\"%zu patrols,"
           " %d points a batch, %d threads\",\"unit\":\"points/s\",\"better\":\"higher\","
           "\"samples\":[",
           sc.nw, o->batch, o->threads);
    for (int r = 0; r < o->runs; r++) {
        printf("%s%.0f", r ? "," : "", pps[r]);
    }
    printf("],\"static_ref\":{\"value\":100000,\"unit\":\"points/s\",\"source\":\"aim of issue #6"
           " item 10: 100,000 GPS points a second\"}}\n");
    /* On a busy machine the one writer thread gets a share of a core: the CPU time per point
     * (every thread of the process, the writer's included) says more than the rate. */
    printf("{\"type\":\"result\",\"id\":\"gps.store.cpu\",\"what\":\"the same, CPU time"
           " per point (all threads)\",\"size\":\"%zu patrols, %d points a batch, %d threads\","
           "\"unit\":\"us/point\",\"better\":\"lower\",\"samples\":[",
           sc.nw, o->batch, o->threads);
    for (int r = 0; r < o->runs; r++) {
        printf("%s%.3f", r ? "," : "", cpu_pp[r]);
    }
    printf("]}\n");
    free(cpu_pp);
    printf("{\"type\":\"info\",\"id\":\"gps.store_batches\",\"value\":%ld}\n",
           atomic_load(&sc.batches));
    printf("{\"type\":\"info\",\"id\":\"gps.store_failures\",\"value\":%ld}\n",
           atomic_load(&sc.failures));
    printf("{\"type\":\"info\",\"id\":\"gps.store_cpu_us_per_point\",\"value\":%.2f}\n", cpu_us);
    printf("{\"type\":\"info\",\"id\":\"gps.store_commits\",\"value\":%" PRIu64 "}\n",
           s1.commits - s0.commits);
    free(pps);
    free(th);
    free(sc.w);
    return atomic_load(&sc.failures) ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct cg_db_options dbo;
    struct cg_db *db = NULL;
    struct cg_error err = CG_ERROR_INIT;
    int rc;

    parse_opts(argc, argv, &o);
    if (sodium_init() < 0) {
        fprintf(stderr, "gps_bench: libsodium failed to start\n");
        return 1;
    }
    if (!o.started_ms) {
        o.started_ms = cg_time_now_ms() - 6 * 24 * 3600 * 1000LL;
    }
    cg_db_options_init(&dbo, o.db);
    dbo.create = false;
    if (cg_db_open(&dbo, &db, &err)) {
        fprintf(stderr, "gps_bench: %s\n", err.message);
        return 1;
    }
    if (!strcmp(o.mode, "prepare")) {
        rc = prepare(&o, db);
    } else if (!strcmp(o.mode, "store")) {
        rc = store(&o, db);
    } else {
        usage();
    }
    cg_db_close(db);
    return rc;
}
