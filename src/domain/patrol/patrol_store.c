/*
 * patrol_store.c: the SQL of the patrol module: patrols, their points, the
 * workers' positions and duty flags, visits and their opinions. A batch of
 * points and the position it moves commit together in one job.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/patrol/patrol_int.h"

#include <math.h>
#include <pthread.h>

static void copy(struct cg_stmt *st, int i, char *out, size_t size)
{
    snprintf(out, size, "%s", cg_db_column_text(st, i));
}

static void now_iso(char buf[CG_TIME_ISO_LEN])
{
    cg_time_iso(cg_time_now_ms(), buf, CG_TIME_ISO_LEN);
}

int cg_patrol__assigned_grid(struct cg_db *db, int64_t account_id, char out[CG_PATROL_GRID_LEN],
                             struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT ga.grid_code FROM grid_staff s JOIN grid_assignment ga"
                                 " ON ga.staff_id = s.id AND ga.until IS NULL"
                                 " AND ga.role IN ('worker', 'leader')"
                                 " WHERE s.account_id = ?1 AND s.status = 'active'"
                                 " ORDER BY ga.since DESC, ga.id DESC LIMIT 1",
                                 &st, err, "i", account_id);
    rc = rc ? rc : cg_db_step(st, err);
    if (rc == CG_DB_ROW) {
        copy(st, 0, out, CG_PATROL_GRID_LEN);
        rc = 0;
    } else if (rc == CG_DB_DONE) {
        rc = CG_ENOTFOUND;
    }
    cg_db_finalize(st);
    return rc;
}

struct insert_job {
    int64_t account_id, started_ms, id;
    const char *grid;
};

static int insert_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct insert_job *j = ctx;
    char now[CG_TIME_ISO_LEN];
    int rc;

    now_iso(now);
    rc = cg_db_run(c,
                   "INSERT INTO patrol(account_id, grid_code, started_ms, created_at)"
                   " VALUES (?1, ?2, ?3, ?4)",
                   err, "itit", j->account_id, j->grid, j->started_ms, now);
    if (rc) {
        return rc;
    }
    j->id = cg_db_last_insert_id(c);
    return cg_db_run(c,
                     "INSERT INTO worker_position(account_id, grid_code, updated_at)"
                     " VALUES (?1, ?2, ?3) ON CONFLICT (account_id) DO UPDATE"
                     " SET grid_code = excluded.grid_code, updated_at = excluded.updated_at",
                     err, "itt", j->account_id, j->grid, now);
}

int cg_patrol__insert(struct cg_db *db, int64_t account_id, const char *grid, int64_t started_ms,
                      int64_t *out_id, struct cg_error *err)
{
    struct insert_job j = {account_id, started_ms, 0, grid};
    int rc = cg_db_write(db, insert_run, &j, err);

    *out_id = j.id;
    return rc;
}

int cg_patrol__running(struct cg_db *db, int64_t account_id, int64_t *out_id, struct cg_error *err)
{
    struct cg_conn *c;
    int rc = cg_db_reader(db, &c, err);

    *out_id = 0;
    rc = rc ? rc
            : cg_db_query_int64(c,
                                "SELECT COALESCE(MAX(id), 0) FROM patrol"
                                " WHERE account_id = ?1 AND ended_ms IS NULL",
                                out_id, err, "i", account_id);
    return rc;
}

struct end_job {
    int64_t id, ended_ms;
};

static int end_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct end_job *j = ctx;
    int rc = cg_db_run(c, "UPDATE patrol SET ended_ms = ?2 WHERE id = ?1 AND ended_ms IS NULL", err,
                       "ii", j->id, j->ended_ms);

    if (!rc && !cg_db_changes(c)) {
        return cg_error_set(err, CG_EBADSTATE, "patrol %" PRId64 " has already stopped", j->id);
    }
    return rc;
}

int cg_patrol__end(struct cg_db *db, int64_t id, int64_t ended_ms, struct cg_error *err)
{
    struct end_job j = {id, ended_ms};

    return cg_db_write(db, end_run, &j, err);
}

#define PATROL_COLUMNS                                                                             \
    "p.id, p.account_id, p.grid_code, p.started_ms, COALESCE(p.ended_ms, 0), a.login"

static void read_patrol(struct cg_stmt *st, struct cg_patrol__row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = cg_db_column_int64(st, 0);
    r->account_id = cg_db_column_int64(st, 1);
    copy(st, 2, r->grid, sizeof(r->grid));
    r->started_ms = cg_db_column_int64(st, 3);
    r->ended_ms = cg_db_column_int64(st, 4);
    copy(st, 5, r->login, sizeof(r->login));
}

int cg_patrol__load(struct cg_db *db, int64_t id, struct cg_patrol__row *out, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT " PATROL_COLUMNS " FROM patrol p"
                                 " JOIN account a ON a.id = p.account_id WHERE p.id = ?1",
                                 &st, err, "i", id);
    rc = rc ? rc : cg_db_step(st, err);
    if (rc == CG_DB_ROW) {
        read_patrol(st, out);
        rc = 0;
    } else if (rc == CG_DB_DONE) {
        rc = cg_error_field(err, CG_ENOTFOUND, "id", "no patrol %" PRId64, id);
    }
    cg_db_finalize(st);
    return rc;
}

struct points_job {
    int64_t patrol_id, account_id, stored;
    const char *grid;
    const struct cg_patrol__point *pts;
    size_t n;
};

static int bind_opt(struct cg_stmt *st, int idx, double v)
{
    return isnan(v) ? cg_db_bind_null(st, idx) : cg_db_bind_double(st, idx, v);
}

/*
 * Points go in with multi-row INSERTs of 64, 16, 4 and 1 rows (a batch of 100 is 64 + 16 + 16 +
 * 4): most of an INSERT's cost is per statement (step, savepoint, cursors, reset), not per row,
 * and four texts keep the connection's statement cache small. ?1 is the patrol, then five
 * parameters a row. Built once; the statement cache knows them by their address.
 */
#define CHUNK_KINDS 4
static const int chunk_rows[CHUNK_KINDS] = {64, 16, 4, 1};
static char chunk_sql[CHUNK_KINDS][64 * 40 + 128];
static pthread_once_t chunk_once = PTHREAD_ONCE_INIT;

static void chunk_build(void)
{
    for (int k = 0; k < CHUNK_KINDS; k++) {
        char *p = chunk_sql[k], *end = p + sizeof(chunk_sql[k]);

        p += snprintf(p, (size_t)(end - p),
                      "INSERT INTO patrol_point(patrol_id, t_ms, lon, lat, accuracy_m, speed)"
                      " VALUES ");
        for (int r = 0; r < chunk_rows[k]; r++) {
            int b = 2 + 5 * r;

            p += snprintf(p, (size_t)(end - p), "%s(?1, ?%d, ?%d, ?%d, ?%d, ?%d)", r ? ", " : "", b,
                          b + 1, b + 2, b + 3, b + 4);
        }
        snprintf(p, (size_t)(end - p), " ON CONFLICT DO NOTHING");
    }
}

/* Inserts pts[0..rows) with chunk statement k; adds the rows stored to *stored. */
static int insert_chunk(struct cg_conn *c, int k, int64_t patrol_id,
                        const struct cg_patrol__point *pts, int64_t *stored, struct cg_error *err)
{
    struct cg_stmt *st = NULL;
    int rc = cg_db_prepare(c, chunk_sql[k], &st, err);

    rc = rc ? rc : cg_db_bind_int64(st, 1, patrol_id);
    for (int r = 0; r < chunk_rows[k] && !rc; r++) {
        const struct cg_patrol__point *p = &pts[r];
        int b = 2 + 5 * r;

        rc = cg_db_bind_int64(st, b, p->t_ms);
        rc = rc ? rc : cg_db_bind_double(st, b + 1, p->lon);
        rc = rc ? rc : cg_db_bind_double(st, b + 2, p->lat);
        rc = rc ? rc : bind_opt(st, b + 3, p->accuracy_m);
        rc = rc ? rc : bind_opt(st, b + 4, p->speed);
    }
    rc = rc ? rc : cg_db_step_done(st, err);
    cg_db_finalize(st);
    *stored += rc ? 0 : cg_db_changes(c);
    return rc;
}

static int points_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct points_job *j = ctx;
    const struct cg_patrol__point *last = &j->pts[j->n - 1];
    char now[CG_TIME_ISO_LEN];
    size_t i = 0;
    int rc = 0;

    pthread_once(&chunk_once, chunk_build);
    j->stored = 0;
    for (int k = 0; k < CHUNK_KINDS && !rc; k++) {
        for (; !rc && j->n - i >= (size_t)chunk_rows[k]; i += (size_t)chunk_rows[k]) {
            rc = insert_chunk(c, k, j->patrol_id, &j->pts[i], &j->stored, err);
        }
    }
    if (rc) {
        return rc;
    }
    now_iso(now);
    return cg_db_run(
        c,
        "INSERT INTO worker_position(account_id, lon, lat, t_ms, grid_code, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (account_id) DO UPDATE"
        " SET lon = excluded.lon, lat = excluded.lat, t_ms = excluded.t_ms,"
        " grid_code = excluded.grid_code, updated_at = excluded.updated_at"
        " WHERE worker_position.t_ms IS NULL OR worker_position.t_ms < excluded.t_ms",
        err, "idditt", j->account_id, last->lon, last->lat, last->t_ms, j->grid, now);
}

int cg_patrol__add_points(struct cg_db *db, int64_t patrol_id, int64_t account_id, const char *grid,
                          const struct cg_patrol__point *pts, size_t n, int64_t *out_stored,
                          struct cg_error *err)
{
    struct points_job j = {patrol_id, account_id, 0, grid, pts, n};
    int rc;

    CG_ASSERT(n > 0);
    rc = cg_db_write(db, points_run, &j, err);
    *out_stored = j.stored;
    return rc;
}

int cg_patrol__points(struct cg_db *db, int64_t patrol_id, cg_patrol__point_fn *fn, void *ctx,
                      struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT t_ms, lon, lat, accuracy_m, speed FROM patrol_point"
                                 " WHERE patrol_id = ?1 ORDER BY t_ms",
                                 &st, err, "i", patrol_id);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        struct cg_patrol__point p = {
            cg_db_column_int64(st, 0),
            cg_db_column_double(st, 1),
            cg_db_column_double(st, 2),
            cg_db_column_is_null(st, 3) ? NAN : cg_db_column_double(st, 3),
            cg_db_column_is_null(st, 4) ? NAN : cg_db_column_double(st, 4),
        };

        fn(ctx, &p);
        rc = 0;
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

static int each_patrol(struct cg_stmt *st, cg_patrol__row_fn *fn, void *ctx, struct cg_error *err)
{
    int rc;

    while ((rc = cg_db_step(st, err)) == CG_DB_ROW) {
        struct cg_patrol__row r;

        read_patrol(st, &r);
        fn(ctx, &r);
    }
    return rc < 0 ? rc : 0;
}

int cg_patrol__list(struct cg_db *db, int64_t worker, const char *prefix, int64_t before_id,
                    int limit, cg_patrol__row_fn *fn, void *ctx, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT " PATROL_COLUMNS " FROM patrol p"
                                 " JOIN account a ON a.id = p.account_id"
                                 " WHERE (?1 = 0 OR p.account_id = ?1)"
                                 " AND substr(p.grid_code, 1, length(?2)) = ?2"
                                 " AND (?3 = 0 OR p.id < ?3) ORDER BY p.id DESC LIMIT ?4",
                                 &st, err, "itii", worker, prefix ? prefix : "", before_id,
                                 (int64_t)limit);
    rc = rc ? rc : each_patrol(st, fn, ctx, err);
    cg_db_finalize(st);
    return rc;
}

int cg_patrol__overlapping(struct cg_db *db, int64_t worker, const char *prefix, int64_t from_ms,
                           int64_t to_ms, cg_patrol__row_fn *fn, void *ctx, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(
                  c,
                  "SELECT " PATROL_COLUMNS " FROM patrol p"
                  " JOIN account a ON a.id = p.account_id"
                  " WHERE (?1 = 0 OR p.account_id = ?1)"
                  " AND substr(p.grid_code, 1, length(?2)) = ?2"
                  " AND p.started_ms < ?4 AND (p.ended_ms IS NULL OR p.ended_ms >= ?3)"
                  " ORDER BY p.account_id, p.started_ms",
                  &st, err, "itii", worker, prefix ? prefix : "", from_ms, to_ms);
    rc = rc ? rc : each_patrol(st, fn, ctx, err);
    cg_db_finalize(st);
    return rc;
}

struct duty_job {
    int64_t account_id;
    const char *duty;
};

static int duty_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct duty_job *j = ctx;
    char now[CG_TIME_ISO_LEN];

    now_iso(now);
    return cg_db_run(c,
                     "INSERT INTO worker_position(account_id, duty, updated_at) VALUES (?1, ?2, ?3)"
                     " ON CONFLICT (account_id) DO UPDATE SET duty = excluded.duty,"
                     " updated_at = excluded.updated_at",
                     err, "itt", j->account_id, j->duty, now);
}

int cg_patrol__set_duty(struct cg_db *db, int64_t account_id, const char *duty,
                        struct cg_error *err)
{
    struct duty_job j = {account_id, duty};

    return cg_db_write(db, duty_run, &j, err);
}

int cg_patrol__positions(struct cg_db *db, cg_patrol__live_fn *fn, void *ctx, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc =
        rc ? rc
           : cg_db_prepare_bind(
                 c,
                 "SELECT w.account_id, COALESCE(w.t_ms, 0), COALESCE(w.lon, 0), COALESCE(w.lat, 0),"
                 " w.grid_code, w.duty, a.login, COALESCE((SELECT MAX(p.id) FROM patrol p"
                 " WHERE p.account_id = w.account_id AND p.ended_ms IS NULL), 0)"
                 " FROM worker_position w JOIN account a ON a.id = w.account_id",
                 &st, err, "");
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        struct cg_patrol__live l = {0};
        const char *duty = cg_db_column_text(st, 5);

        l.account_id = cg_db_column_int64(st, 0);
        l.t_ms = cg_db_column_int64(st, 1);
        l.lon = cg_db_column_double(st, 2);
        l.lat = cg_db_column_double(st, 3);
        copy(st, 4, l.grid, sizeof(l.grid));
        l.duty = !strcmp(duty, "on") ? 'o' : !strcmp(duty, "off") ? 'f' : 'a';
        copy(st, 6, l.login, sizeof(l.login));
        l.running = cg_db_column_int64(st, 7);
        fn(ctx, &l);
        rc = 0;
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

/* ---- visits ------------------------------------------------------------------------------ */

struct visit_job {
    int64_t account_id, id;
    const char *grid, *address, *household, *visited_at;
    json_t *opinions;
};

static int visit_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct visit_job *j = ctx;
    char now[CG_TIME_ISO_LEN];
    size_t i;
    json_t *v;
    int rc;

    now_iso(now);
    rc = cg_db_run(c,
                   "INSERT INTO visit(account_id, grid_code, address, household, visited_at,"
                   " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                   err,
                   "itttt"
                   "t",
                   j->account_id, j->grid, j->address, j->household ? j->household : "",
                   j->visited_at, now);
    if (rc) {
        return rc;
    }
    j->id = cg_db_last_insert_id(c);
    json_array_foreach(j->opinions, i, v)
    {
        rc = cg_db_run(c, "INSERT INTO visit_opinion(visit_id, position, text) VALUES (?1, ?2, ?3)",
                       err, "iit", j->id, (int64_t)i + 1, json_string_value(v));
        if (rc) {
            return rc;
        }
    }
    return 0;
}

int cg_visit__insert(struct cg_db *db, int64_t account_id, const char *grid, const char *address,
                     const char *household, json_t *opinions, const char *visited_at,
                     int64_t *out_id, struct cg_error *err)
{
    struct visit_job j = {account_id, 0, grid, address, household, visited_at, opinions};
    int rc = cg_db_write(db, visit_run, &j, err);

    *out_id = j.id;
    return rc;
}

#define VISIT_COLUMNS                                                                              \
    "v.id, v.account_id, a.login, v.grid_code, v.address, v.household, v.visited_at,"              \
    " v.created_at"

static json_t *visit_json(struct cg_stmt *st)
{
    return json_pack("{s:I, s:{s:I, s:s}, s:s, s:s, s:s, s:s, s:s}", "id",
                     (json_int_t)cg_db_column_int64(st, 0), "worker", "account_id",
                     (json_int_t)cg_db_column_int64(st, 1), "login", cg_db_column_text(st, 2),
                     "grid", cg_db_column_text(st, 3), "address", cg_db_column_text(st, 4),
                     "household", cg_db_column_text(st, 5), "visited_at", cg_db_column_text(st, 6),
                     "created_at", cg_db_column_text(st, 7));
}

static int opinions_json(struct cg_conn *c, int64_t id, json_t *list, struct cg_error *err)
{
    struct cg_stmt *st = NULL;
    int rc = cg_db_prepare_bind(c,
                                "SELECT position, text, event_id FROM visit_opinion"
                                " WHERE visit_id = ?1 ORDER BY position",
                                &st, err, "i", id);

    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        json_t *o = json_pack("{s:I, s:s}", "n", (json_int_t)cg_db_column_int64(st, 0), "text",
                              cg_db_column_text(st, 1));

        json_object_set_new(o, "event",
                            cg_db_column_is_null(st, 2)
                                ? json_null()
                                : json_integer((json_int_t)cg_db_column_int64(st, 2)));
        json_array_append_new(list, o);
        rc = 0;
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

int cg_visit__load(struct cg_db *db, int64_t id, json_t **out, int64_t *out_account,
                   char grid[CG_PATROL_GRID_LEN], struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    json_t *v = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT " VISIT_COLUMNS " FROM visit v"
                                 " JOIN account a ON a.id = v.account_id WHERE v.id = ?1",
                                 &st, err, "i", id);
    rc = rc ? rc : cg_db_step(st, err);
    if (rc == CG_DB_ROW) {
        v = visit_json(st);
        *out_account = cg_db_column_int64(st, 1);
        copy(st, 3, grid, CG_PATROL_GRID_LEN);
        rc = 0;
    } else if (rc == CG_DB_DONE) {
        rc = cg_error_field(err, CG_ENOTFOUND, "id", "no visit %" PRId64, id);
    }
    cg_db_finalize(st);
    if (!rc) {
        json_t *ops = json_array();

        json_object_set_new(v, "opinions", ops);
        rc = opinions_json(c, id, ops, err);
    }
    if (rc) {
        json_decref(v);
        return rc;
    }
    *out = v;
    return 0;
}

int cg_visit__list(struct cg_db *db, int64_t worker, const char *prefix, int64_t before_id,
                   int limit, json_t *list, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT " VISIT_COLUMNS ", (SELECT COUNT(*) FROM visit_opinion o"
                                 " WHERE o.visit_id = v.id) FROM visit v"
                                 " JOIN account a ON a.id = v.account_id"
                                 " WHERE (?1 = 0 OR v.account_id = ?1)"
                                 " AND substr(v.grid_code, 1, length(?2)) = ?2"
                                 " AND (?3 = 0 OR v.id < ?3) ORDER BY v.id DESC LIMIT ?4",
                                 &st, err, "itii", worker, prefix ? prefix : "", before_id,
                                 (int64_t)limit);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        json_t *v = visit_json(st);

        json_object_set_new(v, "opinion_count", json_integer(cg_db_column_int64(st, 8)));
        json_array_append_new(list, v);
        rc = 0;
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

struct link_job {
    int64_t id, event_id;
    int n;
};

static int link_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct link_job *j = ctx;
    int rc = cg_db_run(c,
                       "UPDATE visit_opinion SET event_id = ?3"
                       " WHERE visit_id = ?1 AND position = ?2 AND event_id IS NULL",
                       err, "iii", j->id, (int64_t)j->n, j->event_id);

    if (!rc && !cg_db_changes(c)) {
        return cg_error_set(err, CG_ECONFLICT,
                            "opinion %d of visit %" PRId64 " has already become an event", j->n,
                            j->id);
    }
    return rc;
}

int cg_visit__link(struct cg_db *db, int64_t id, int n, int64_t event_id, struct cg_error *err)
{
    struct link_job j = {id, event_id, n};

    return cg_db_write(db, link_run, &j, err);
}
