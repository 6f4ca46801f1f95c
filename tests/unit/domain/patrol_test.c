/*
 * Unit tests for patrols (src/domain/patrol): RFC 3339 times, the nearest
 * index against a full scan, GPS batches (checks, sorting, duplicates, caps),
 * tracks, day statistics, duty and the nearest available workers, scope, and
 * household visits whose opinions become events. The store holds the
 * Zhongshan demo city and the default catalogue.
 */
#include "test.h"
#include "testdb.h"
#include "base/mem.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/auth/auth.h"
#include "domain/calendar/calendar.h"
#include "domain/catalogue/catalogue.h"
#include "domain/event/event.h"
#include "domain/grid/demo.h"
#include "domain/grid/index.h"
#include "domain/patrol/patrol.h"
#include "domain/pii/pii.h"

#include <math.h>

/* A point of grid 442000105001001 and one of 442000105207002. */
#define IN_LON 113.160803
#define IN_LAT 22.637102
#define OTHER_LON 113.19
#define OTHER_LAT 22.61

struct fixture {
    struct test_db t;
    struct cg_db *db;
    struct cg_grid_locator *grids;
    struct cg_calendar *cal;
    struct cg_events *ev;
    struct cg_patrols *pm;
};

static const char accounts_sql[] =
    "INSERT INTO account(id, login, display_name, password_hash, password_changed_at,"
    " scope_kind, scope_ref, created_at, updated_at) VALUES"
    " (101, 'w1', 'w1', 'x', 'now', 'grid', '442000105001001', 'now', 'now'),"
    " (102, 'w2', 'w2', 'x', 'now', 'grid', '442000105207002', 'now', 'now'),"
    " (103, 'town', 'town', 'x', 'now', 'grid', '442000105', 'now', 'now'),"
    " (104, 'w3', 'w3', 'x', 'now', 'grid', '442000105001001', 'now', 'now');"
    "UPDATE grid_staff SET account_id = 101 WHERE id = (SELECT MIN(staff_id) FROM"
    " grid_assignment WHERE grid_code = '442000105001001' AND role = 'worker'"
    " AND until IS NULL);";

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct cg_error err = CG_ERROR_INIT;

    test_db_open(&f->t, "patroltest");
    f->db = f->t.db;
    test_db_demo(f->db);
    assert_int_equal(cg_db_write(f->db, test_exec_job, (void *)accounts_sql, &err), 0);
    assert_int_equal(cg_grid_locator_new(f->db, &f->grids, &err), 0);
    assert_int_equal(cg_calendar_load(f->db, &f->cal, &err), 0);
    f->ev = cg_events_new(f->db, f->grids, f->cal);
    f->pm = cg_patrols_new(f->db, f->grids, f->ev);
    cg_patrols_set_rebuild_ms(f->pm, 0);
    assert_int_equal(cg_patrols_load(f->pm, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cg_patrols_free(f->pm);
    cg_events_free(f->ev);
    cg_calendar_release(f->cal);
    cg_grid_locator_free(f->grids);
    test_db_close(&f->t);
    free(f);
    return 0;
}

#define principal test_principal

static const char *const worker_perms[] = {"event.report", "event.read", "patrol.record",
                                           "visit.record", NULL};
static const char *const town_perms[] = {"event.read", "stats.read", "event.dispatch", NULL};

struct cast {
    struct cg_principal w1, w2, town, w3;
};

static void cast_make(struct cast *c)
{
    principal(&c->w1, 101, "w1", CG_SCOPE_GRID, "442000105001001", worker_perms);
    principal(&c->w2, 102, "w2", CG_SCOPE_GRID, "442000105207002", worker_perms);
    principal(&c->town, 103, "town", CG_SCOPE_GRID, "442000105", town_perms);
    principal(&c->w3, 104, "w3", CG_SCOPE_GRID, "442000105001001", worker_perms);
}

static void cast_free(struct cast *c)
{
    cg_principal_release(&c->w1);
    cg_principal_release(&c->w2);
    cg_principal_release(&c->town);
    cg_principal_release(&c->w3);
}

static int64_t start(struct fixture *f, const struct cg_principal *p, const char *grid, int64_t at)
{
    struct cg_error err = CG_ERROR_INIT;
    json_t *out = NULL;
    int rc = cg_patrol_start(f->pm, p, grid, at, &out, &err);
    int64_t id = rc ? rc : json_integer_value(json_object_get(out, "id"));

    json_decref(out);
    return id;
}

/* Uploads a batch given as JSON text; returns 0 or the error (err filled). */
static int upload(struct fixture *f, const struct cg_principal *p, int64_t id, const char *text,
                  json_t **out, struct cg_error *err)
{
    json_t *pts = json_loads(text, 0, NULL);
    json_t *o = NULL;
    int rc;

    assert_non_null(pts);
    rc = cg_patrol_points(f->pm, p, id, pts, &o, err);
    json_decref(pts);
    if (out) {
        *out = o;
    } else {
        json_decref(o);
    }
    return rc;
}

static void test_parse_time(void **state)
{
    int64_t ms = 0;

    (void)state;
    assert_true(cg_patrol_parse_time("2026-05-01T08:00:00Z", &ms));
    assert_int_equal(ms, 1777622400000LL);
    assert_true(cg_patrol_parse_time("2026-05-01T16:00:00.250+08:00", &ms));
    assert_int_equal(ms, 1777622400250LL);
    assert_true(cg_patrol_parse_time("2026-05-01T03:30:00-04:30", &ms));
    assert_int_equal(ms, 1777622400000LL);
    assert_false(cg_patrol_parse_time("2026-02-30T08:00:00Z", &ms));
    assert_false(cg_patrol_parse_time("2026-05-01 08:00:00Z", &ms));
    assert_false(cg_patrol_parse_time("2026-05-01T08:00:00", &ms));
    assert_false(cg_patrol_parse_time("2026-05-01T24:00:00Z", &ms));
    assert_false(cg_patrol_parse_time("2026-05-01T08:00:00Zjunk", &ms));
    assert_false(cg_patrol_parse_time("", &ms));
    assert_true(fabs(cg_patrol_haversine(113.0, 22.0, 113.0, 23.0) - 111195.08) < 1.0);
}

static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double unit(uint64_t *s)
{
    return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* The cell grid gives exactly the answers of a full scan, with filters, inside and outside. */
static void test_index_matches_scan(void **state)
{
    size_t sizes[] = {0, 1, 7, 500, 5000};
    uint64_t seed = 7;

    (void)state;
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t n = sizes[s];
        struct cg_worker_pos *pos = cg_calloc(n + 1, sizeof(*pos));
        struct cg_patrol_index *ix;

        for (size_t i = 0; i < n; i++) {
            pos[i].account_id = (int64_t)i + 1;
            pos[i].lon = 113.5 + 0.7 * unit(&seed);
            pos[i].lat = 22.6 + 0.5 * unit(&seed);
            /* some clustered on one spot, to exercise ties */
            if (i % 50 == 0) {
                pos[i].lon = 113.8;
                pos[i].lat = 22.9;
            }
            pos[i].t_ms = i % 3 ? 1000 : 10;
            snprintf(pos[i].grid, sizeof(pos[i].grid), "%s", i % 2 ? "4419001" : "4419002");
        }
        ix = cg_patrol_index_build(pos, n);
        assert_int_equal(cg_patrol_index_count(ix), n);
        for (int q = 0; q < 300; q++) {
            struct cg_patrol_hit a[CG_PATROL_NEAREST_MAX], b[CG_PATROL_NEAREST_MAX];
            double lon = 113.3 + 1.1 * unit(&seed), lat = 22.4 + 0.9 * unit(&seed);
            size_t k = 1 + (size_t)(q % 12);
            int64_t min_t = q % 4 == 0 ? 100 : 0;
            const char *prefix = q % 5 == 0 ? "4419002" : NULL;
            size_t na, nb;

            if (q == 0) {
                lon = 113.8;
                lat = 22.9;
            }
            na = cg_patrol_index_nearest(ix, lon, lat, min_t, prefix, k, a);
            nb = cg_patrol_index_nearest_scan(ix, lon, lat, min_t, prefix, k, b);
            assert_int_equal(na, nb);
            for (size_t i = 0; i < na; i++) {
                assert_int_equal(a[i].pos->account_id, b[i].pos->account_id);
                assert_true(a[i].pos->t_ms >= min_t);
                assert_true(i == 0 || a[i].distance_m >= a[i - 1].distance_m * 0.995 - 0.5);
            }
        }
        cg_patrol_index_free(ix);
        free(pos);
    }
}

static void test_points(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cast c;
    int64_t now = cg_time_now_ms(), id, id2;
    char text[2048], t1[CG_TIME_ISO_LEN], t2[CG_TIME_ISO_LEN];
    json_t *out = NULL;

    cast_make(&c);
    /* w1 serves 442000105001001 (staff record): the grid comes from it */
    id = start(f, &c.w1, NULL, now - 600000);
    assert_true(id > 0);
    assert_int_equal(start(f, &c.w1, NULL, 0), CG_ECONFLICT);
    /* w3 has no staff record: its grid scope; w2 may not patrol another's grid */
    assert_int_equal(start(f, &c.w2, "442000105001001", 0), CG_EFORBIDDEN);

    /* out of order, a duplicate t (the first one given stays), ms and RFC 3339 */
    cg_time_iso(now - 300000, t1, sizeof(t1));
    cg_time_iso(now - 400000, t2, sizeof(t2));
    snprintf(text, sizeof(text),
             "[{\"t\": \"%s\", \"lon\": 113.1610, \"lat\": 22.6371, \"accuracy_m\": 5},"
             " {\"t\": \"%s\", \"lon\": 113.1600, \"lat\": 22.6371, \"speed\": 1.2},"
             " {\"t\": \"%s\", \"lon\": 113.9, \"lat\": 22.9},"
             " {\"t\": %" PRId64 ", \"lon\": 113.1620, \"lat\": 22.6371}]",
             t1, t2, t1, now - 200000);
    assert_int_equal(upload(f, &c.w1, id, text, &out, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "received")), 4);
    assert_int_equal(json_integer_value(json_object_get(out, "stored")), 3);
    assert_int_equal(json_integer_value(json_object_get(out, "duplicates")), 1);
    json_decref(out);
    /* the same batch again: everything is a duplicate */
    assert_int_equal(upload(f, &c.w1, id, text, &out, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "stored")), 0);
    json_decref(out);

    /* the track in time order; the first of the equal times stayed */
    assert_int_equal(cg_patrol_track(f->pm, &c.w1, id, false, &out, &err), 0);
    {
        json_t *pts = json_object_get(out, "points");

        assert_int_equal(json_array_size(pts), 3);
        assert_true(fabs(json_real_value(json_object_get(json_array_get(pts, 0), "lon")) - 113.16) <
                    1e-9);
        assert_true(
            fabs(json_real_value(json_object_get(json_array_get(pts, 1), "lon")) - 113.161) < 1e-9);
        assert_true(json_real_value(json_object_get(json_array_get(pts, 1), "accuracy_m")) == 5);
        assert_true(fabs(json_real_value(json_object_get(json_array_get(pts, 0), "speed")) - 1.2) <
                    1e-9);
        /* 2 x 0.001 degree of longitude at 22.64 N: about 205 m */
        double d = json_real_value(json_object_get(json_object_get(out, "patrol"), "distance_m"));
        assert_true(fabs(d - 2 * cg_patrol_haversine(113.160, 22.6371, 113.161, 22.6371)) < 0.2);
    }
    json_decref(out);
    assert_int_equal(cg_patrol_track(f->pm, &c.w1, id, true, &out, &err), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "geometry"), "type")), "LineString");
    json_decref(out);

    /* bad points: each refuses the batch and names the point and field */
    static const struct {
        const char *json;
        int code;
        const char *field;
    } bad[] = {
        {"[{\"t\": 1, \"lon\": 113.1, \"lat\": 22.6}]", CG_EINVAL, "points[0].t"},
        {"[{\"lon\": 113.1, \"lat\": 22.6}]", CG_EMISSING, "points[0].t"},
        {"[{\"t\": true, \"lon\": 113.1, \"lat\": 22.6}]", CG_ETYPE, "points[0].t"},
        {"[{\"t\": \"yesterday\", \"lon\": 113.1, \"lat\": 22.6}]", CG_EINVAL, "points[0].t"},
        {"[{\"t\": %NOW%, \"lon\": 181, \"lat\": 22.6}]", CG_EINVAL, "points[0].lon"},
        {"[{\"t\": %NOW%, \"lon\": 113, \"lat\": -90.5}]", CG_EINVAL, "points[0].lat"},
        {"[{\"t\": %NOW%, \"lon\": \"113\", \"lat\": 22}]", CG_ETYPE, "points[0].lon"},
        {"[{\"t\": %NOW%, \"lon\": 113, \"lat\": 22, \"speed\": -1}]", CG_EINVAL,
         "points[0].speed"},
        {"[{\"t\": %NOW%, \"lon\": 113, \"lat\": 22, \"alt\": 5}]", CG_EINVAL, "points[0]"},
        {"[{\"t\": %FUTURE%, \"lon\": 113, \"lat\": 22}]", CG_EINVAL, "points[0].t"},
        {"[5]", CG_ETYPE, "points[0]"},
        {"[]", CG_EINVAL, "points"},
        {"{}", CG_ETYPE, "points"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char buf[256], num[32];
        const char *src = bad[i].json, *m;
        size_t o = 0;

        while (*src && o < sizeof(buf) - 32) {
            if ((m = strchr(src, '%')) == NULL) {
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", src);
                break;
            }
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%.*s", (int)(m - src), src);
            snprintf(num, sizeof(num), "%" PRId64, strncmp(m, "%NOW%", 5) ? now + 300000 : now);
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", num);
            src = strchr(m + 1, '%') + 1;
        }
        cg_error_clear(&err);
        assert_int_equal(upload(f, &c.w1, id, buf, NULL, &err), bad[i].code);
        assert_string_equal(err.field, bad[i].field);
    }
    /* 1,001 points: too many */
    {
        json_t *arr = json_array();

        for (int i = 0; i < CG_PATROL_BATCH_MAX + 1; i++) {
            json_array_append_new(arr, json_pack("{s:I, s:f, s:f}", "t", (json_int_t)(now - i),
                                                 "lon", 113.16, "lat", 22.63));
        }
        cg_error_clear(&err);
        assert_int_equal(cg_patrol_points(f->pm, &c.w1, id, arr, &out, &err), CG_ETOOBIG);
        json_array_remove(arr, 0);
        cg_error_clear(&err);
        assert_int_equal(cg_patrol_points(f->pm, &c.w1, id, arr, &out, &err), 0);
        assert_int_equal(json_integer_value(json_object_get(out, "stored")), 1000);
        json_decref(out);
        json_decref(arr);
    }
    /*
     * 150 points go in as INSERTs of 64, 64, 16, 4, 1 and 1 rows; 37 of them (the odd ones of
     * the first 75) are already stored with another longitude: those stay, the others are
     * added, the optional fields bound row by row (accuracy_m on the odd rows only).
     */
    {
        json_t *first = json_array(), *all = json_array(), *pts;
        int64_t t0 = now - 590000;

        for (int k = 0; k < 150; k++) {
            json_t *pt = json_pack("{s:I, s:f, s:f}", "t", (json_int_t)(t0 + k * 1000LL), "lon",
                                   113.16 + k * 1e-5, "lat", 22.63);

            if (k % 2) {
                json_object_set_new(pt, "accuracy_m", json_integer(k));
            }
            if (k % 2 && k < 75) {
                json_array_append_new(first, json_pack("{s:I, s:f, s:f}", "t",
                                                       (json_int_t)(t0 + k * 1000LL), "lon", 113.5,
                                                       "lat", 22.63));
            }
            json_array_append_new(all, pt);
        }
        assert_int_equal(json_array_size(first), 37);
        assert_int_equal(cg_patrol_points(f->pm, &c.w1, id, first, &out, &err), 0);
        assert_int_equal(json_integer_value(json_object_get(out, "stored")), 37);
        json_decref(out);
        assert_int_equal(cg_patrol_points(f->pm, &c.w1, id, all, &out, &err), 0);
        assert_int_equal(json_integer_value(json_object_get(out, "received")), 150);
        assert_int_equal(json_integer_value(json_object_get(out, "stored")), 113);
        assert_int_equal(json_integer_value(json_object_get(out, "duplicates")), 37);
        json_decref(out);
        json_decref(first);
        json_decref(all);
        /* the earliest points of the track are these 150, in time order */
        assert_int_equal(cg_patrol_track(f->pm, &c.w1, id, false, &out, &err), 0);
        pts = json_object_get(out, "points");
        for (int k = 0; k < 150; k++) {
            json_t *pt = json_array_get(pts, (size_t)k);
            double lon = json_real_value(json_object_get(pt, "lon"));
            json_t *acc = json_object_get(pt, "accuracy_m");

            assert_true(fabs(lon - (k % 2 && k < 75 ? 113.5 : 113.16 + k * 1e-5)) < 1e-9);
            if (k % 2 && k >= 75) {
                assert_true(json_real_value(acc) == k);
            } else {
                assert_true(!acc || json_is_null(acc));
            }
        }
        json_decref(out);
    }
    /* another worker cannot upload to w1's patrol nor see it; the town sees it */
    cg_error_clear(&err);
    snprintf(text, sizeof(text), "[{\"t\": %" PRId64 ", \"lon\": 113.16, \"lat\": 22.63}]", now);
    assert_int_equal(upload(f, &c.w2, id, text, NULL, &err), CG_ENOTFOUND);
    assert_int_equal(upload(f, &c.w3, id, text, NULL, &err), CG_ENOTFOUND);
    assert_int_equal(cg_patrol_get(f->pm, &c.w3, id, &out, &err), CG_ENOTFOUND);
    cg_error_clear(&err);
    assert_int_equal(cg_patrol_get(f->pm, &c.town, id, &out, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "points")), 1153);
    json_decref(out);
    assert_int_equal(upload(f, &c.town, id, text, NULL, &err), CG_EFORBIDDEN);

    /* stop, then stop again; a late point inside the patrol's time is still taken */
    assert_int_equal(cg_patrol_stop(f->pm, &c.w1, id, 0, &out, &err), 0);
    assert_false(json_is_true(json_object_get(out, "running")));
    json_decref(out);
    assert_int_equal(cg_patrol_stop(f->pm, &c.w1, id, 0, &out, &err), CG_EBADSTATE);
    cg_error_clear(&err);
    snprintf(text, sizeof(text), "[{\"t\": %" PRId64 ", \"lon\": 113.16, \"lat\": 22.63}]",
             now - 100);
    assert_int_equal(upload(f, &c.w1, id, text, NULL, &err), 0);
    /* w3 patrols its grid scope */
    id2 = start(f, &c.w3, NULL, 0);
    assert_true(id2 > id);
    cast_free(&c);
}

static void test_stats_duty_nearest(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cast c;
    int64_t now = cg_time_now_ms(), id, id2;
    char text[512];
    json_t *out = NULL, *ws;

    cast_make(&c);
    /* two points 100 m apart, a 10 km jump in 10 s and back (GPS jumps: not counted) */
    id = start(f, &c.w1, NULL, now - 120000);
    snprintf(text, sizeof(text),
             "[{\"t\": %" PRId64 ", \"lon\": 113.1600, \"lat\": 22.6371},"
             " {\"t\": %" PRId64 ", \"lon\": 113.1600, \"lat\": 22.6380},"
             " {\"t\": %" PRId64 ", \"lon\": 113.1600, \"lat\": 22.7280},"
             " {\"t\": %" PRId64 ", \"lon\": 113.1600, \"lat\": 22.6380}]",
             now - 60000, now - 30000, now - 20000, now - 10000);
    assert_int_equal(upload(f, &c.w1, id, text, NULL, &err), 0);
    id2 = start(f, &c.w2, NULL, now - 60000);
    assert_true(id2 > 0);
    snprintf(text, sizeof(text), "[{\"t\": %" PRId64 ", \"lon\": %f, \"lat\": %f}]", now - 1000,
             OTHER_LON, OTHER_LAT);
    assert_int_equal(upload(f, &c.w2, id2, text, NULL, &err), 0);

    assert_int_equal(cg_patrol_stats(f->pm, &c.w1, 0, NULL, NULL, &out, &err), 0);
    ws = json_object_get(out, "rows");
    assert_int_equal(json_array_size(ws), 1);
    {
        json_t *r = json_array_get(ws, 0);
        double d = json_real_value(json_object_get(r, "distance_m"));

        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(r, "worker"), "account_id")), 101);
        assert_true(fabs(d - cg_patrol_haversine(113.16, 22.6371, 113.16, 22.638)) < 0.2);
        assert_int_equal(json_integer_value(json_object_get(r, "points")), 4);
        assert_true(json_real_value(json_object_get(r, "duration_s")) >= 119);
    }
    json_decref(out);
    /* a grid worker cannot ask for another; the town sees both */
    assert_int_equal(cg_patrol_stats(f->pm, &c.w1, 102, NULL, NULL, &out, &err), CG_EFORBIDDEN);
    cg_error_clear(&err);
    assert_int_equal(cg_patrol_stats(f->pm, &c.town, 0, NULL, NULL, &out, &err), 0);
    assert_int_equal(json_array_size(json_object_get(out, "rows")), 2);
    json_decref(out);
    assert_int_equal(cg_patrol_stats(f->pm, &c.town, 0, "2026-01-01", "2026-12-31", &out, &err),
                     CG_EINVAL);
    assert_string_equal(err.field, "to");
    cg_error_clear(&err);
    assert_int_equal(cg_patrol_stats(f->pm, &c.town, 0, "2026-13-01", NULL, &out, &err), CG_EINVAL);
    cg_error_clear(&err);

    /* nearest: both patrolling, so both on duty; w1 is nearer its own grid's point */
    assert_int_equal(cg_patrol_nearest(f->pm, &c.town, IN_LON, IN_LAT, 5, &out, &err), 0);
    ws = json_object_get(out, "workers");
    assert_int_equal(json_array_size(ws), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ws, 0), "login")), "w1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ws, 1), "login")), "w2");
    json_decref(out);
    /* w1 goes off duty; w2 stops its patrol (auto: off duty) then sets itself on duty */
    assert_int_equal(cg_patrol_duty(f->pm, &c.w1, "off", &out, &err), 0);
    assert_false(json_is_true(json_object_get(out, "on_duty")));
    json_decref(out);
    assert_int_equal(cg_patrol_stop(f->pm, &c.w2, id2, 0, &out, &err), 0);
    json_decref(out);
    assert_int_equal(cg_patrol_nearest(f->pm, &c.town, IN_LON, IN_LAT, 5, &out, &err), 0);
    assert_int_equal(json_array_size(json_object_get(out, "workers")), 0);
    json_decref(out);
    assert_int_equal(cg_patrol_duty(f->pm, &c.w2, "on", &out, &err), 0);
    assert_true(json_is_true(json_object_get(out, "on_duty")));
    json_decref(out);
    assert_int_equal(cg_patrol_nearest(f->pm, &c.town, IN_LON, IN_LAT, 1, &out, &err), 0);
    ws = json_object_get(out, "workers");
    assert_int_equal(json_array_size(ws), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ws, 0), "login")), "w2");
    assert_true(json_real_value(json_object_get(json_array_get(ws, 0), "distance_m")) > 1000);
    json_decref(out);
    /* a restart reloads positions, duty flags and running patrols from the store */
    cg_patrols_free(f->pm);
    f->pm = cg_patrols_new(f->db, f->grids, f->ev);
    assert_int_equal(cg_patrols_load(f->pm, &err), 0);
    assert_int_equal(cg_patrol_nearest(f->pm, &c.town, IN_LON, IN_LAT, 5, &out, &err), 0);
    ws = json_object_get(out, "workers");
    assert_int_equal(json_array_size(ws), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ws, 0), "login")), "w2");
    json_decref(out);
    assert_int_equal(cg_patrol_nearest(f->pm, &c.town, IN_LON, IN_LAT, 51, &out, &err), CG_EINVAL);
    cast_free(&c);
}

static void test_visits(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cast c;
    json_t *ops = json_pack("[s, s]", "路灯不亮，晚上出行不便", "希望增加垃圾桶");
    struct cg_visit_input in = {
        .address = "古镇镇中兴大道1号", .household = "独居老人", .opinions = ops};
    json_t *out = NULL;
    int64_t id;

    cast_make(&c);
    assert_int_equal(cg_visit_create(f->pm, &c.w1, &in, &out, &err), 0);
    id = json_integer_value(json_object_get(out, "id"));
    assert_string_equal(json_string_value(json_object_get(out, "grid")), "442000105001001");
    assert_int_equal(json_array_size(json_object_get(out, "opinions")), 2);
    json_decref(out);
    in.grid = "442000105207002";
    assert_int_equal(cg_visit_create(f->pm, &c.w1, &in, &out, &err), CG_EFORBIDDEN);
    cg_error_clear(&err);

    /* listable by grid: the town sees it, another worker does not */
    {
        struct cg_patrol_query q = {.grid = "442000105001", .limit = 10};

        assert_int_equal(cg_visit_list(f->pm, &c.town, &q, &out, &err), 0);
        assert_int_equal(json_array_size(json_object_get(out, "visits")), 1);
        json_decref(out);
        q.grid = NULL;
        assert_int_equal(cg_visit_list(f->pm, &c.w2, &q, &out, &err), 0);
        assert_int_equal(json_array_size(json_object_get(out, "visits")), 0);
        json_decref(out);
    }
    assert_int_equal(cg_visit_get(f->pm, &c.w2, id, &out, &err), CG_ENOTFOUND);
    cg_error_clear(&err);

    /* opinion 1 becomes an event (source patrol), once */
    {
        struct cg_event_input ev = {
            .category_kind = "event", .category_code = "0102", .lon = IN_LON, .lat = IN_LAT};

        assert_int_equal(cg_visit_opinion_event(f->pm, &c.w1, id, 1, &ev, "t", &out, &err), 0);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(out, "event"), "source")), "patrol");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(out, "event"), "title")),
            "路灯不亮，晚上出行不便");
        json_decref(out);
        memset(&ev, 0, sizeof(ev));
        ev = (struct cg_event_input){
            .category_kind = "event", .category_code = "0102", .lon = IN_LON, .lat = IN_LAT};
        assert_int_equal(cg_visit_opinion_event(f->pm, &c.w1, id, 1, &ev, "t", &out, &err),
                         CG_ECONFLICT);
        cg_error_clear(&err);
        assert_int_equal(cg_visit_opinion_event(f->pm, &c.w1, id, 3, &ev, "t", &out, &err),
                         CG_ENOTFOUND);
        cg_error_clear(&err);
    }
    assert_int_equal(cg_visit_get(f->pm, &c.w1, id, &out, &err), 0);
    assert_true(json_integer_value(json_object_get(
                    json_array_get(json_object_get(out, "opinions"), 0), "event")) > 0);
    assert_true(json_is_null(
        json_object_get(json_array_get(json_object_get(out, "opinions"), 1), "event")));
    json_decref(out);
    json_decref(ops);
    cast_free(&c);
}

/* ---- the plain batch read without a JSON tree, against the full path --------------------- */

struct twin {
    struct fixture *f;
    struct cast c;
    int64_t fast_id, full_id; /* w1's patrol (text first), w3's (always the full path) */
    int fast_taken, full_only;
};

/* The API's full path for body: parse as the server does, then cg_patrol_points(). */
static int full_path(struct twin *tw, const struct cg_principal *p, int64_t id, const char *text,
                     size_t len, json_t **out, struct cg_error *err)
{
    json_error_t jerr;
    json_t *body =
        json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    int rc;

    *out = NULL;
    if (!body) {
        return cg_error_set(err, CG_EBADJSON, "malformed JSON");
    }
    if (!json_is_object(body) || json_object_size(body) != 1 || !json_object_get(body, "points")) {
        json_decref(body);
        return cg_error_set(err, CG_EINVAL, "not {points}");
    }
    rc = cg_patrol_points(tw->f->pm, p, id, json_object_get(body, "points"), out, err);
    json_decref(body);
    return rc;
}

/*
 * Sends text to both patrols: w1's through cg_patrol_points_text() (the full path when it
 * declines, as the API does), w3's through the full path only. The answers must agree (but
 * for the patrol's id), and a body the full path refuses must never be taken by the reader.
 */
static void twin_send(struct twin *tw, const char *text, size_t len)
{
    struct cg_error e1 = CG_ERROR_INIT, e2 = CG_ERROR_INIT;
    json_t *o1 = NULL, *o2 = NULL;
    int r1 = cg_patrol_points_text(tw->f->pm, &tw->c.w1, tw->fast_id, text, len, &o1, &e1);
    int r2 = full_path(tw, &tw->c.w3, tw->full_id, text, len, &o2, &e2);

    if (r1 == CG_PATROL_FULL_PATH) {
        assert_null(o1);
        cg_error_clear(&e1);
        r1 = full_path(tw, &tw->c.w1, tw->fast_id, text, len, &o1, &e1);
        tw->full_only++;
    } else {
        if (r2) {
            fprintf(stderr, "taken by the reader, refused by the full path (%s): %.*s\n",
                    e2.message, (int)len, text);
        }
        assert_int_equal(r2, 0);
        tw->fast_taken++;
    }
    assert_int_equal(r1, r2);
    if (!r1) {
        assert_non_null(o1);
        assert_non_null(o2);
        json_object_del(o1, "patrol");
        json_object_del(o2, "patrol");
        assert_true(json_equal(o1, o2));
    } else {
        assert_string_equal(e1.field, e2.field);
        assert_string_equal(e1.message, e2.message);
    }
    json_decref(o1);
    json_decref(o2);
}

/* Both tracks hold the same points. */
static void twin_same_tracks(struct twin *tw)
{
    struct cg_error err = CG_ERROR_INIT;
    json_t *a = NULL, *b = NULL;

    assert_int_equal(cg_patrol_track(tw->f->pm, &tw->c.w1, tw->fast_id, false, &a, &err), 0);
    assert_int_equal(cg_patrol_track(tw->f->pm, &tw->c.w3, tw->full_id, false, &b, &err), 0);
    assert_true(json_equal(json_object_get(a, "points"), json_object_get(b, "points")));
    json_decref(a);
    json_decref(b);
}

static void test_points_text(void **state)
{
    struct twin tw = {.f = *state};
    int64_t now = cg_time_now_ms(), t = now - 590000;
    char text[8192], iso[CG_TIME_ISO_LEN];
    uint64_t seed = 7;

    cast_make(&tw.c);
    tw.fast_id = start(tw.f, &tw.c.w1, NULL, now - 600000);
    tw.full_id = start(tw.f, &tw.c.w3, NULL, now - 600000);
    assert_true(tw.fast_id > 0 && tw.full_id > 0);
    cg_time_iso(t + 7000, iso, sizeof(iso));

    /* what the reader takes: ms or RFC 3339, any order and spacing, numbers in every form */
    static const char *const taken[] = {
        "{\"points\":[{\"t\":%T0%,\"lon\":113.160803,\"lat\":22.637102,\"accuracy_m\":8,"
        "\"speed\":1.5},{\"t\":%T1%,\"lon\":113.160903,\"lat\":22.637112}]}",
        " {\n \"points\" : [ { \"lat\" : 22.6371 , \"t\" : %T3% , \"lon\" : 113.1609 } ,"
        "{\"t\":%T2%,\"lon\":113,\"lat\":2.26371e1,\"speed\":-0,\"accuracy_m\":0.5E1}"
        " ] }\r\n",
        "{\"points\":[{\"t\":\"%ISO%\",\"lon\":-0.0,\"lat\":0}, {\"t\":%T1%,\"lon\":113.1,"
        "\"lat\":22.6}, {\"t\":%T4%,\"lon\":113.1,\"lat\":22.6}, {\"t\":%T4%,\"lon\":1,"
        "\"lat\":2}]}",
    };
    /* what it leaves to the full path (taken or refused there) */
    static const char *const declined[] = {
        "{\"points\":[{\"t\":%T5%,\"lon\":113.1,\"lat\":22.6,\"accuracy_m\":null}]}",
        "{\"points\":[{\"\\u0074\":%T6%,\"lon\":113.1,\"lat\":22.6}]}",
        "{\"points\":[{\"t\":\"%ISO%\\u0000\",\"lon\":113.1,\"lat\":22.6}]}",
        "{\"points\":[{\"t\":%T7%,\"lon\":113.1,\"lat\":22.6,\"alt\":3}]}",
        "{\"points\":[{\"t\":%T7%,\"lon\":113.1,\"lat\":22.6}],\"x\":1}",
        "{\"points\":[{\"t\":%T7%,\"lon\":113.1,\"lon\":113.2,\"lat\":22.6}]}",
        "{\"points\":[{\"t\":1.7e12,\"lon\":113.1,\"lat\":22.6}]}",
        "{\"points\":[{\"t\":%FUTURE%,\"lon\":113.1,\"lat\":22.6}]}",
        "{\"points\":[{\"t\":%T7%,\"lon\":181,\"lat\":22.6}]}",
        "{\"points\":[{\"t\":%T7%,\"lon\":0113.1,\"lat\":22.6}]}",
        "{\"points\":[{\"t\":%T7%,\"lon\":113.,\"lat\":22.6}]}",
        "{\"points\":[{\"t\":%T7%,\"lon\":1e999,\"lat\":22.6}]}",
        "{\"points\":[{\"t\":%T7%,\"lon\":113.1,\"lat\":22.6}]}x",
        "{\"points\":[{\"t\":%T7%,\"lon\":113.1,\"lat\":22.6}]",
        "{\"points\":[]}",
        "{\"points\":[{\"t\":%T7%,\"lon\":113.1}]}",
        "{\"points\":{}}",
        "[]",
        "",
        "{\"points\":[{\"t\":99999999999999999999,\"lon\":113.1,\"lat\":22.6}]}",
        "{\"points\":[{\"t\":%T8%,\"lon\":113.1,\"lat\":22.6,\"speed\":1001}]}",
        "{\"points\":[{\"t\":\"yesterday\",\"lon\":113.1,\"lat\":22.6}]}",
    };
    for (int pass = 0; pass < 2; pass++) {
        const char *const *list = pass ? declined : taken;
        size_t n = pass ? sizeof(declined) / sizeof(*declined) : sizeof(taken) / sizeof(*taken);

        for (size_t i = 0; i < n; i++) {
            const char *src = list[i], *m;
            size_t o = 0;
            int before = tw.fast_taken;

            while (*src) {
                char num[40];

                if (!(m = strchr(src, '%'))) {
                    o += (size_t)snprintf(text + o, sizeof(text) - o, "%s", src);
                    break;
                }
                o += (size_t)snprintf(text + o, sizeof(text) - o, "%.*s", (int)(m - src), src);
                if (!strncmp(m, "%ISO%", 5)) {
                    snprintf(num, sizeof(num), "%s", iso);
                } else if (!strncmp(m, "%FUTURE%", 8)) {
                    snprintf(num, sizeof(num), "%" PRId64, now + 600000);
                } else {
                    snprintf(num, sizeof(num), "%" PRId64, t + (m[2] - '0') * 1000);
                }
                o += (size_t)snprintf(text + o, sizeof(text) - o, "%s", num);
                src = strchr(m + 1, '%') + 1;
            }
            twin_send(&tw, text, o);
            assert_int_equal(tw.fast_taken - before, pass ? 0 : 1);
        }
    }
    twin_same_tracks(&tw);

    /* 1,000 points are read here; 1,001 go the full way (and are refused there) */
    for (int n = 1000; n <= 1001; n++) {
        size_t o = (size_t)snprintf(text, sizeof(text), "{\"points\":[");
        char *big = cg_malloc(n * 64 + 64);

        memcpy(big, text, o);
        for (int i = 0; i < n; i++) {
            o += (size_t)snprintf(big + o, 64, "%s{\"t\":%" PRId64 ",\"lon\":113.1,\"lat\":22.6}",
                                  i ? "," : "", now - 500000 + i * 100);
        }
        o += (size_t)snprintf(big + o, 8, "]}");
        int before = tw.fast_taken;

        twin_send(&tw, big, o);
        assert_int_equal(tw.fast_taken - before, n == 1000);
        free(big);
    }

    /*
     * Mutations of a plain batch (a byte changed, dropped or doubled): whatever the reader
     * takes, the full path takes with the same answer; whatever it does not, nothing of it
     * was stored. Points land in free times (t from the mutation's number).
     */
    for (int k = 0; k < 400; k++) {
        int64_t tk = now - 300000 + k * 500;
        int o = snprintf(text, sizeof(text),
                         "{\"points\":[{\"t\":%" PRId64 ",\"lon\":113.16,\"lat\":22.63,"
                         "\"accuracy_m\":12.5},{\"t\":%" PRId64 ",\"lon\":113.17,\"lat\":22.64}]}",
                         tk, tk + 100);
        size_t at = (size_t)(next_u64(&seed) % (uint64_t)o);
        int what = (int)(next_u64(&seed) % 3);
        static const char alphabet[] = "{}[]:,\" \\-+.eE0123456789tlonaspedrucy\x01\xff";

        if (what == 0) {
            text[at] = alphabet[next_u64(&seed) % (sizeof(alphabet) - 1)];
        } else if (what == 1) {
            memmove(text + at, text + at + 1, (size_t)o - at);
            o--;
        } else {
            memmove(text + at + 1, text + at, (size_t)o - at + 1);
            o++;
        }
        twin_send(&tw, text, (size_t)o);
    }
    fprintf(stderr, "  plain batches taken by the reader: %d, left to the full path: %d\n",
            tw.fast_taken, tw.full_only);
    assert_true(tw.fast_taken > 20 && tw.full_only > 100);
    twin_same_tracks(&tw);
    cast_free(&tw.c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_index_matches_scan),
        cmocka_unit_test_setup_teardown(test_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_points_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_duty_nearest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visits, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
