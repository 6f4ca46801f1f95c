/*
 * Unit tests for the grid map (src/domain/grid): the import plan against the
 * store (parents, children inside parents, gaps, overlaps with stored grids,
 * versions, numbering, partial imports), the point index (cell cover against
 * the STRtree, shared borders, outside points, rebuilds), GCJ-02 and the
 * demo city.
 */
#include "test.h"
#include "testdb.h"
#include "base/mem.h"
#include "base/str.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/grid/crs.h"
#include "domain/grid/demo.h"
#include "domain/grid/grid.h"
#include "domain/grid/index.h"

#include <math.h>
#include <unistd.h>

struct fixture {
    struct test_db t;
    struct cg_db *db;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    test_db_open(&f->t, "gridtest");
    f->db = f->t.db;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    test_db_close(&f->t);
    free(f);
    return 0;
}

/* ---- building files --------------------------------------------------------------------- */

/* A feature for the box lon0..lon1 x lat0..lat1; props is the inside of the properties object. */
static void box(struct cg_str *sb, const char *props, double lon0, double lat0, double lon1,
                double lat1)
{
    cg_str_addf(sb,
                "%s{\"type\":\"Feature\",\"properties\":{%s},\"geometry\":{\"type\":\"Polygon\","
                "\"coordinates\":[[[%.6f,%.6f],[%.6f,%.6f],[%.6f,%.6f],[%.6f,%.6f],[%.6f,%.6f]]]}}",
                cg_str_len(sb) > 40 ? "," : "", props, lon0, lat0, lon1, lat0, lon1, lat1, lon0,
                lat1, lon0, lat0);
}

static void begin(struct cg_str *sb)
{
    cg_str_init(sb, 1 << 20);
    cg_str_adds(sb, "{\"type\":\"FeatureCollection\",\"features\":[");
}

/* The city, town and village 442000105001 around (113.00..113.02, 22.00..22.02). */
static void hierarchy(struct cg_str *sb)
{
    box(sb, "\"code\":\"442000\",\"name\":\"中山市\"", 112.9, 21.9, 113.1, 22.1);
    box(sb, "\"code\":\"442000105\",\"name\":\"古镇镇\"", 112.95, 21.95, 113.05, 22.05);
    box(sb, "\"code\":\"442000105001\",\"name\":\"古镇社区\"", 113.0, 22.0, 113.02, 22.02);
}

/* Four quadrant grids of the village; which == 4 leaves out the south-east one. */
static void quadrants(struct cg_str *sb, int which)
{
    box(sb, "\"code\":\"442000105001001\",\"name\":\"一\"", 113.0, 22.01, 113.01, 22.02);
    box(sb, "\"code\":\"442000105001002\",\"name\":\"二\"", 113.01, 22.01, 113.02, 22.02);
    box(sb, "\"code\":\"442000105001003\",\"name\":\"三\"", 113.0, 22.0, 113.01, 22.01);
    if (which != 4) {
        box(sb, "\"code\":\"442000105001004\",\"name\":\"四\"", 113.01, 22.0, 113.02, 22.01);
    }
}

static char *end(struct cg_str *sb)
{
    cg_str_adds(sb, "]}");
    assert_int_equal(cg_str_error(sb), 0);
    return cg_str_detach(sb, NULL);
}

static struct cg_grid_plan *plan_of(struct cg_db *db, const char *text, bool number)
{
    struct cg_grid_import_opts o = {.seq_width = 3, .number = number};
    struct cg_grid_plan *p = NULL;
    struct cg_error err = CG_ERROR_INIT;

    assert_int_equal(cg_grid_plan_new(db, NULL, text, strlen(text), &o, &p, &err), 0);
    return p;
}

/* The first problem of kind (about code, unless NULL) in a report (borrowed), or NULL. */
static json_t *problem_of(json_t *rep, const char *kind, const char *code)
{
    size_t i;
    json_t *p;

    json_array_foreach(json_object_get(rep, "problems"), i, p)
    {
        const char *c = json_string_value(json_object_get(p, "code"));

        if (!strcmp(json_string_value(json_object_get(p, "kind")), kind) &&
            (!code || (c && !strcmp(c, code)))) {
            return p;
        }
    }
    return NULL;
}

static json_t *problem(json_t *rep, const char *kind)
{
    return problem_of(rep, kind, NULL);
}

static int apply(struct cg_db *db, struct cg_grid_plan *p, bool partial, json_t **result)
{
    struct cg_error err = CG_ERROR_INIT;
    json_t *r = NULL;
    int rc = cg_grid_plan_apply(db, p, NULL, "test", partial, &r, &err);

    if (result) {
        *result = r;
    } else {
        json_decref(r);
    }
    return rc;
}

static void load(struct cg_db *db, const char *text)
{
    struct cg_grid_plan *p = plan_of(db, text, false);

    assert_int_equal(cg_grid_plan_errors(p), 0);
    assert_int_equal(apply(db, p, false, NULL), 0);
    cg_grid_plan_free(p);
}

static int64_t count(struct cg_db *db, const char *sql)
{
    struct cg_conn *c;
    struct cg_error err = CG_ERROR_INIT;
    int64_t n = -1;

    assert_int_equal(cg_db_reader(db, &c, &err), 0);
    assert_int_equal(cg_db_query_int64(c, sql, &n, &err, ""), 0);
    return n;
}

/* ---- the plan --------------------------------------------------------------------------- */

static void test_import_then_unchanged(void **state)
{
    struct fixture *f = *state;
    struct cg_str sb;
    struct cg_grid_plan *p;
    json_t *rep;
    char *text;

    begin(&sb);
    hierarchy(&sb);
    quadrants(&sb, 0);
    text = end(&sb);
    load(f->db, text);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM grid WHERE valid_to IS NULL"), 4);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM division"), 3);
    /* The same file again changes nothing. */
    p = plan_of(f->db, text, false);
    rep = cg_grid_plan_report(p);
    assert_true(json_is_true(json_object_get(rep, "ok")));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(rep, "changes"), "grids_unchanged")), 4);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(rep, "changes"), "divisions")), 0);
    json_decref(rep);
    cg_grid_plan_free(p);
    free(text);
}

static void test_gap_is_a_warning(void **state)
{
    struct fixture *f = *state;
    struct cg_str sb;
    struct cg_grid_plan *p;
    json_t *rep, *gap;
    char *text;

    begin(&sb);
    hierarchy(&sb);
    quadrants(&sb, 4);
    text = end(&sb);
    p = plan_of(f->db, text, false);
    rep = cg_grid_plan_report(p);
    gap = problem_of(rep, "gap", "442000105001");
    assert_non_null(gap);
    assert_string_equal(json_string_value(json_object_get(gap, "severity")), "warning");
    assert_string_equal(json_string_value(json_object_get(gap, "code")), "442000105001");
    /* a quarter of a 0.02 x 0.02 degree village: ~1.14 km2 at 22 N */
    assert_true(fabs(json_real_value(json_object_get(gap, "area_m2")) - 1.1413e6) < 0.01e6);
    assert_true(json_real_value(json_object_get(gap, "lon")) > 113.01);
    assert_true(json_real_value(json_object_get(gap, "lat")) < 22.01);
    assert_true(json_is_true(json_object_get(rep, "ok")));
    assert_int_equal(cg_grid_plan_errors(p), 0);
    assert_int_equal(apply(f->db, p, false, NULL), 0);
    json_decref(rep);
    cg_grid_plan_free(p);
    free(text);
}

static void test_outside_parent_refused_whole(void **state)
{
    struct fixture *f = *state;
    struct cg_str sb;
    struct cg_grid_plan *p;
    json_t *rep, *pr;
    char *text;

    begin(&sb);
    hierarchy(&sb);
    quadrants(&sb, 4);
    /* The fourth grid reaches 0.005 degrees east of its village. */
    box(&sb, "\"code\":\"442000105001004\",\"name\":\"四\"", 113.01, 22.0, 113.025, 22.01);
    text = end(&sb);
    p = plan_of(f->db, text, false);
    rep = cg_grid_plan_report(p);
    pr = problem(rep, "outside_parent");
    assert_non_null(pr);
    assert_string_equal(json_string_value(json_object_get(pr, "code")), "442000105001004");
    assert_true(fabs(json_real_value(json_object_get(pr, "area_m2")) -
                     0.005 * 0.01 * 110574 * 111320 * cos(22.005 * M_PI / 180)) < 1000);
    assert_int_equal(apply(f->db, p, false, NULL), CG_EINVALIDGRIDS);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM grid"), 0);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM division"), 0);
    json_decref(rep);
    cg_grid_plan_free(p);
    free(text);
}

static void test_partial_skips_the_bad(void **state)
{
    struct fixture *f = *state;
    struct cg_str sb;
    struct cg_grid_plan *p;
    json_t *result = NULL, *skipped;
    char *text;

    begin(&sb);
    hierarchy(&sb);
    quadrants(&sb, 4);
    box(&sb, "\"code\":\"442000105001004\",\"name\":\"四\"", 113.01, 22.0, 113.025, 22.01);
    text = end(&sb);
    p = plan_of(f->db, text, false);
    assert_int_equal(apply(f->db, p, true, &result), 0);
    skipped = json_object_get(result, "skipped");
    assert_int_equal(json_array_size(skipped), 1);
    assert_int_equal(json_integer_value(json_array_get(skipped, 0)), 6);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM grid"), 3);
    json_decref(result);
    cg_grid_plan_free(p);
    free(text);
}

static void test_missing_parent_and_overlap_with_store(void **state)
{
    struct fixture *f = *state;
    struct cg_str sb;
    struct cg_grid_plan *p;
    json_t *rep, *pr;
    char *text;

    begin(&sb);
    hierarchy(&sb);
    quadrants(&sb, 0);
    text = end(&sb);
    load(f->db, text);
    free(text);
    begin(&sb);
    /* a grid of a village that does not exist, and one overlapping stored grid 001 */
    box(&sb, "\"code\":\"442000105002001\",\"name\":\"无村\"", 113.03, 22.03, 113.04, 22.04);
    box(&sb, "\"code\":\"442000105001005\",\"name\":\"重叠\"", 113.005, 22.015, 113.008, 22.018);
    text = end(&sb);
    p = plan_of(f->db, text, false);
    rep = cg_grid_plan_report(p);
    pr = problem(rep, "missing_parent");
    assert_non_null(pr);
    assert_string_equal(json_string_value(json_object_get(pr, "code")), "442000105002001");
    pr = problem(rep, "overlap");
    assert_non_null(pr);
    assert_string_equal(json_string_value(json_object_get(pr, "code")), "442000105001005");
    assert_string_equal(json_string_value(json_object_get(pr, "other_code")), "442000105001001");
    assert_null(json_object_get(pr, "other_feature")); /* stored, not in the file */
    assert_true(json_real_value(json_object_get(pr, "area_m2")) > 1e5);
    json_decref(rep);
    cg_grid_plan_free(p);
    free(text);
}

static void test_redraw_keeps_version(void **state)
{
    struct fixture *f = *state;
    struct cg_str sb;
    struct cg_error err = CG_ERROR_INIT;
    char *text, before[CG_TIME_ISO_LEN];
    json_t *card = NULL;

    begin(&sb);
    hierarchy(&sb);
    quadrants(&sb, 0);
    text = end(&sb);
    load(f->db, text);
    free(text);
    cg_time_iso(cg_time_now_ms(), before, sizeof(before));
    usleep(5000);
    /* 001 and 002 move their shared border east; 003 changes households only. */
    begin(&sb);
    box(&sb, "\"code\":\"442000105001001\",\"name\":\"一\"", 113.0, 22.01, 113.012, 22.02);
    box(&sb, "\"code\":\"442000105001002\",\"name\":\"二\"", 113.012, 22.01, 113.02, 22.02);
    box(&sb, "\"code\":\"442000105001003\",\"name\":\"三\",\"households\":400", 113.0, 22.0, 113.01,
        22.01);
    text = end(&sb);
    load(f->db, text);
    free(text);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM grid"), 6);
    assert_int_equal(count(f->db, "SELECT MAX(version) FROM grid WHERE code = '442000105001001'"),
                     2);
    assert_int_equal(count(f->db, "SELECT MAX(version) FROM grid WHERE code = '442000105001003'"),
                     1);
    assert_int_equal(count(f->db, "SELECT households FROM grid WHERE code = '442000105001003'"),
                     400);
    assert_int_equal(cg_grid_get(f->db, NULL, "442000105001001", before, &card, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(card, "version")), 1);
    assert_int_equal(json_array_size(json_object_get(card, "versions")), 2);
    json_decref(card);
    assert_int_equal(cg_grid_get(f->db, NULL, "442000105001001", NULL, &card, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(card, "version")), 2);
    json_decref(card);
    assert_int_equal(
        cg_grid_get(f->db, NULL, "442000105001001", "2000-01-01T00:00:00.000Z", &card, &err),
        CG_ENOTFOUND);
}

static void test_numbering_west_east_north_south(void **state)
{
    struct fixture *f = *state;
    struct cg_str sb;
    struct cg_grid_plan *p;
    json_t *rep;
    char *text;

    begin(&sb);
    hierarchy(&sb);
    text = end(&sb);
    load(f->db, text);
    free(text);
    begin(&sb);
    /* given out of order: SE, NW, SW, NE */
    box(&sb, "\"community\":\"442000105001\",\"name\":\"东南\"", 113.01, 22.0, 113.02, 22.01);
    box(&sb, "\"community\":\"442000105001\",\"name\":\"西北\"", 113.0, 22.01, 113.01, 22.02);
    box(&sb, "\"community\":\"442000105001\",\"name\":\"西南\"", 113.0, 22.0, 113.01, 22.01);
    box(&sb, "\"community\":\"442000105001\",\"name\":\"东北\"", 113.01, 22.01, 113.02, 22.02);
    text = end(&sb);
    /* Without numbering they have no code. */
    p = plan_of(f->db, text, false);
    rep = cg_grid_plan_report(p);
    assert_non_null(problem(rep, "missing_code"));
    json_decref(rep);
    cg_grid_plan_free(p);
    p = plan_of(f->db, text, true);
    assert_int_equal(cg_grid_plan_errors(p), 0);
    assert_int_equal(apply(f->db, p, false, NULL), 0);
    cg_grid_plan_free(p);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM grid WHERE code = '442000105001001'"
                                  " AND name = '西北'"),
                     1);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM grid WHERE code = '442000105001002'"
                                  " AND name = '东北'"),
                     1);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM grid WHERE code = '442000105001003'"
                                  " AND name = '西南'"),
                     1);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM grid WHERE code = '442000105001004'"
                                  " AND name = '东南'"),
                     1);
    /* More grids continue the sequence. */
    free(text);
    begin(&sb);
    box(&sb, "\"community\":\"442000105001\",\"name\":\"外\"", 113.02, 22.02, 113.03, 22.03);
    text = end(&sb);
    p = plan_of(f->db, text, true);
    rep = cg_grid_plan_report(p);
    assert_non_null(problem(rep, "outside_parent"));
    json_decref(rep);
    cg_grid_plan_free(p);
    free(text);
}

static void test_export_round_trip(void **state)
{
    struct fixture *f = *state;
    struct cg_grid_export_opts o = {0};
    struct cg_str sb, out = CG_STR_INIT_MAX(1 << 24);
    struct cg_error err = CG_ERROR_INIT;
    struct cg_grid_plan *p;
    json_t *rep, *fc;
    char *text;

    begin(&sb);
    hierarchy(&sb);
    quadrants(&sb, 0);
    text = end(&sb);
    load(f->db, text);
    free(text);
    assert_int_equal(cg_grid_export(f->db, NULL, &o, &out, &err), 0);
    fc = json_loads(cg_str_ptr(&out), 0, NULL);
    assert_non_null(fc);
    assert_int_equal(json_array_size(json_object_get(fc, "features")), 7);
    json_decref(fc);
    p = plan_of(f->db, cg_str_ptr(&out), false);
    rep = cg_grid_plan_report(p);
    assert_true(json_is_true(json_object_get(rep, "ok")));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(rep, "changes"), "grids_unchanged")), 4);
    json_decref(rep);
    cg_grid_plan_free(p);
    cg_str_release(&out);
}

/* ---- the index -------------------------------------------------------------------------- */

static void test_index_lookup(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_grid_index *ix = NULL;
    struct cg_grid_place pl;
    struct cg_str sb;
    char *text;
    int mismatches = 0;

    begin(&sb);
    hierarchy(&sb);
    quadrants(&sb, 0);
    text = end(&sb);
    load(f->db, text);
    free(text);
    assert_int_equal(cg_grid_index_build(f->db, NULL, &ix, &err), 0);
    assert_int_equal(cg_grid_index_count(ix), 4);
    assert_string_equal(cg_grid_index_code(ix, cg_grid_index_locate(ix, 113.005, 22.015)),
                        "442000105001001");
    assert_string_equal(cg_grid_index_code(ix, cg_grid_index_locate(ix, 113.015, 22.005)),
                        "442000105001004");
    cg_grid_index_place(ix, cg_grid_index_locate(ix, 113.015, 22.015), &pl);
    assert_string_equal(pl.code, "442000105001002");
    assert_string_equal(pl.community_name, "古镇社区");
    assert_string_equal(pl.town_code, "442000105");
    /* Shared borders: the smallest code; the corner of all four is 001's. */
    assert_string_equal(cg_grid_index_code(ix, cg_grid_index_locate(ix, 113.01, 22.015)),
                        "442000105001001");
    assert_string_equal(cg_grid_index_code(ix, cg_grid_index_locate(ix, 113.015, 22.01)),
                        "442000105001002");
    assert_string_equal(cg_grid_index_code(ix, cg_grid_index_locate(ix, 113.01, 22.01)),
                        "442000105001001");
    assert_true(cg_grid_index_on_border(ix, 0, 113.01, 22.015));
    assert_false(cg_grid_index_on_border(ix, 0, 113.005, 22.015));
    /* Outside, and not numbers. */
    assert_int_equal(cg_grid_index_locate(ix, 113.03, 22.015), -1);
    assert_int_equal(cg_grid_index_locate(ix, NAN, 22.015), -1);
    assert_int_equal(cg_grid_index_locate(ix, 113.005, INFINITY), -1);
    /* The cover answers what the STRtree answers, on and off every border. */
    for (int i = 0; i <= 400; i++) {
        for (int k = 0; k <= 40; k++) {
            double lon = 112.999 + i * 0.0000551, lat = 21.999 + k * 0.000551;

            mismatches +=
                cg_grid_index_locate(ix, lon, lat) != cg_grid_index_locate_strtree(ix, lon, lat);
        }
    }
    assert_int_equal(mismatches, 0);
    cg_grid_index_free(ix);
}

static void test_locator_rebuild(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_grid_locator *loc = NULL;
    struct cg_grid_index *old, *cur;
    struct cg_str sb;
    char *text;

    assert_int_equal(cg_grid_locator_new(f->db, &loc, &err), 0);
    old = cg_grid_locator_acquire(loc);
    assert_int_equal(cg_grid_index_count(old), 0);
    assert_int_equal(cg_grid_index_locate(old, 113.005, 22.015), -1);
    begin(&sb);
    hierarchy(&sb);
    quadrants(&sb, 0);
    text = end(&sb);
    load(f->db, text);
    free(text);
    assert_int_equal(cg_grid_locator_rebuild(loc, &err), 0);
    /* A reader holding the old snapshot keeps it until it lets go. */
    assert_int_equal(cg_grid_index_count(old), 0);
    cur = cg_grid_locator_acquire(loc);
    assert_int_equal(cg_grid_index_count(cur), 4);
    assert_int_equal(cg_grid_index_locate(cur, 113.005, 22.015), 0);
    cg_grid_locator_release(loc, old);
    cg_grid_locator_release(loc, cur);
    cg_grid_locator_free(loc);
}

/* ---- coordinates and time --------------------------------------------------------------- */

static void test_gcj02(void **state)
{
    double lon, lat, back_lon, back_lat;

    (void)state;
    /* Pinned against an independent implementation of the published formula (Python). */
    cg_crs_wgs84_to_gcj02(113.19, 22.61, &lon, &lat);
    assert_true(fabs(lon - 113.195346861) < 1e-8 && fabs(lat - 22.607195057) < 1e-8);
    cg_crs_wgs84_to_gcj02(116.397428, 39.90923, &lon, &lat);
    assert_true(fabs(lon - 116.403671626) < 1e-8 && fabs(lat - 39.910633506) < 1e-8);
    cg_crs_gcj02_to_wgs84(lon, lat, &back_lon, &back_lat);
    assert_true(fabs(back_lon - 116.397428) < 1e-8 && fabs(back_lat - 39.90923) < 1e-8);
    /* Outside China nothing moves. */
    cg_crs_wgs84_to_gcj02(2.35, 48.85, &lon, &lat);
    assert_true(lon == 2.35 && lat == 48.85);
}

static void test_time_parse(void **state)
{
    int64_t ms;

    (void)state;
    assert_true(cg_time_parse_iso("2026-01-31", &ms));
    assert_int_equal(ms, INT64_C(1769817600000));
    assert_true(cg_time_parse_iso("2026-01-31T08:00:00Z", &ms));
    assert_int_equal(ms, INT64_C(1769846400000));
    assert_true(cg_time_parse_iso("2026-01-31T08:00:00.250Z", &ms));
    assert_int_equal(ms, INT64_C(1769846400250));
    assert_false(cg_time_parse_iso("2026-02-30", &ms));
    assert_false(cg_time_parse_iso("2026-01-31T08:00:00", &ms));
    assert_false(cg_time_parse_iso("2026-01-31T08:00:00+08:00", &ms));
    assert_false(cg_time_parse_iso("2026-1-31", &ms));
    assert_false(cg_time_parse_iso("yesterday", &ms));
    assert_false(cg_time_parse_iso("", &ms));
}

/* ---- the demo city ---------------------------------------------------------------------- */

static void test_demo_zhongshan(void **state)
{
    struct cg_grid_demo_stats st, st2;
    struct cg_error err = CG_ERROR_INIT;
    json_t *a = NULL, *b = NULL, *c = NULL;
    char *ta, *tb, *tc;

    (void)state;
    assert_int_equal(cg_grid_demo_collection("zhongshan", 1, 3, &a, &st, &err), 0);
    assert_int_equal(st.towns, 1);
    assert_int_equal(st.villages, 13);
    assert_int_equal(st.grids, 68);
    assert_int_equal(st.workers, 958);
    assert_true(fabs(st.town_area_m2 - 48e6) < 0.5e6);
    /* 1 city + 1 town + 13 villages + 68 grids */
    assert_int_equal(json_array_size(json_object_get(a, "features")), 83);
    assert_int_equal(cg_grid_demo_collection("zhongshan", 1, 3, &b, &st2, &err), 0);
    assert_int_equal(cg_grid_demo_collection("zhongshan", 2, 3, &c, &st2, &err), 0);
    ta = json_dumps(a, JSON_COMPACT);
    tb = json_dumps(b, JSON_COMPACT);
    tc = json_dumps(c, JSON_COMPACT);
    assert_string_equal(ta, tb); /* same seed, same city */
    assert_true(strcmp(ta, tc) != 0);
    free(ta);
    free(tb);
    free(tc);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    assert_int_equal(cg_grid_demo_collection("paris", 1, 3, &a, &st, &err), CG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_import_then_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_is_a_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outside_parent_refused_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_skips_the_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_parent_and_overlap_with_store, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redraw_keeps_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbering_west_east_north_south, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locator_rebuild, setup, teardown),
        cmocka_unit_test(test_gcj02),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_demo_zhongshan),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
