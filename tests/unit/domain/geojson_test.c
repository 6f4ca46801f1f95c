/*
 * Unit tests for the grid GeoJSON validator (src/domain/grid/geojson.c):
 * valid neighbours, overlaps with their area, invalid geometry, bad rings and
 * coordinates, duplicate codes and files that are not GeoJSON.
 */
#include "test.h"
#include "base/mem.h"
#include "base/str.h"
#include "domain/grid/geojson.h"

#include <math.h>

/* A FeatureCollection of features given as JSON text fragments. */
static char *collection(const char *const *features, size_t n)
{
    struct cg_str sb;

    cg_str_init(&sb, 1 << 20);
    cg_str_adds(&sb, "{\"type\":\"FeatureCollection\",\"features\":[");
    for (size_t i = 0; i < n; i++) {
        cg_str_addf(&sb, "%s%s", i ? "," : "", features[i]);
    }
    cg_str_adds(&sb, "]}");
    assert_int_equal(cg_str_error(&sb), 0);
    return cg_str_detach(&sb, NULL);
}

/* A Polygon feature with code for the box lon0..lon1 x lat0..lat1. */
static char *box(const char *code, double lon0, double lat0, double lon1, double lat1)
{
    struct cg_str sb;

    cg_str_init(&sb, 4096);
    cg_str_addf(&sb,
                "{\"type\":\"Feature\",\"properties\":{\"code\":\"%s\"},\"geometry\":"
                "{\"type\":\"Polygon\",\"coordinates\":[[[%.6f,%.6f],[%.6f,%.6f],[%.6f,%.6f],"
                "[%.6f,%.6f],[%.6f,%.6f]]]}}",
                code, lon0, lat0, lon1, lat0, lon1, lat1, lon0, lat1, lon0, lat0);
    return cg_str_detach(&sb, NULL);
}

static int validate(const char *text, struct cg_grid_report *r)
{
    struct cg_error err = CG_ERROR_INIT;
    int rc = cg_grid_validate_geojson(text, strlen(text), r, &err);

    assert_true(rc == 0 || err.message[0] != '\0');
    return rc;
}

static const struct cg_grid_problem *find(const struct cg_grid_report *r, const char *kind)
{
    for (size_t i = 0; i < r->count; i++) {
        if (!strcmp(r->problems[i].kind, kind)) {
            return &r->problems[i];
        }
    }
    return NULL;
}

/* Validates one feature given as text and expects exactly one problem of kind. */
static const struct cg_grid_problem *expect_one(struct cg_grid_report *r, const char *feature,
                                                const char *kind)
{
    char *text = collection(&feature, 1);

    assert_int_equal(validate(text, r), 0);
    free(text);
    assert_int_equal(r->count, 1);
    assert_string_equal(r->problems[0].kind, kind);
    assert_int_equal(r->problems[0].feature, 0);
    return &r->problems[0];
}

static void test_adjacent_squares_pass(void **state)
{
    char *f[2] = {box("4420001050010001", 113.19, 22.61, 113.20, 22.62),
                  box("4420001050010002", 113.20, 22.61, 113.21, 22.62)};
    char *text = collection((const char *const *)f, 2);
    struct cg_grid_report r;
    json_t *j;

    (void)state;
    assert_int_equal(validate(text, &r), 0);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.features, 2);
    assert_int_equal(r.polygons, 2);
    /* two 0.01 x 0.01 degree squares: about 1.03 km x 1.11 km each */
    assert_true(r.total_area_m2 > 2.2e6 && r.total_area_m2 < 2.4e6);
    j = cg_grid_report_json(&r);
    assert_true(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    cg_grid_report_release(&r);
    free(text);
    free(f[0]);
    free(f[1]);
}

static void test_overlap_area(void **state)
{
    char *f[2] = {box("442000105001001", 113.19, 22.61, 113.20, 22.62),
                  box("442000105001002", 113.195, 22.61, 113.205, 22.62)};
    char *text = collection((const char *const *)f, 2);
    struct cg_grid_report r;
    const struct cg_grid_problem *p;
    /* independent reference: WGS-84 ellipsoid radii of curvature at the middle latitude */
    double a = 6378137.0, e2 = 0.00669437999014, phi = 22.615 * M_PI / 180.0;
    double w = sqrt(1 - e2 * sin(phi) * sin(phi));
    double m_lon = M_PI / 180.0 * a * cos(phi) / w,
           m_lat = M_PI / 180.0 * a * (1 - e2) / (w * w * w);
    double expected = 0.005 * m_lon * 0.01 * m_lat;

    (void)state;
    assert_int_equal(validate(text, &r), 0);
    assert_int_equal(r.count, 1);
    p = &r.problems[0];
    assert_string_equal(p->kind, "overlap");
    assert_int_equal(p->feature, 0);
    assert_string_equal(p->code, "442000105001001");
    assert_int_equal(p->other, 1);
    assert_string_equal(p->other_code, "442000105001002");
    assert_true(fabs(p->area_m2 - expected) < 0.05 * expected);
    assert_true(p->has_location);
    assert_true(fabs(p->lon - 113.1975) < 1e-6 && fabs(p->lat - 22.615) < 1e-6);
    cg_grid_report_release(&r);
    free(text);
    free(f[0]);
    free(f[1]);
}

static void test_bow_tie(void **state)
{
    struct cg_grid_report r;
    const struct cg_grid_problem *p =
        expect_one(&r,
                   "{\"type\":\"Feature\",\"properties\":{\"code\":\"442000105001006\"},"
                   "\"geometry\":{\"type\":\"Polygon\","
                   "\"coordinates\":[[[113.19,22.61],[113.20,22.62],[113.20,22.61],[113.19,22.62],"
                   "[113.19,22.61]]]}}",
                   "invalid_geometry");

    (void)state;
    assert_true(p->has_location);
    assert_true(fabs(p->lon - 113.195) < 1e-9 && fabs(p->lat - 22.615) < 1e-9);
    assert_non_null(strstr(p->message, "Self-intersection"));
    assert_int_equal(r.polygons, 0);
    cg_grid_report_release(&r);
}

static void test_open_ring_and_few_points(void **state)
{
    struct cg_grid_report r;

    (void)state;
    expect_one(&r,
               "{\"type\":\"Feature\",\"properties\":{\"code\":\"442000105001006\"},\"geometry\":{"
               "\"type\":"
               "\"Polygon\",\"coordinates\":[[[113.19,22.61],[113.20,22.61],[113.20,22.62],"
               "[113.19,22.62]]]}}",
               "ring_not_closed");
    cg_grid_report_release(&r);
    expect_one(&r,
               "{\"type\":\"Feature\",\"properties\":{\"code\":\"442000105001006\"},\"geometry\":{"
               "\"type\":"
               "\"Polygon\",\"coordinates\":[[[113.19,22.61],[113.20,22.61],[113.19,22.61]]]}}",
               "too_few_points");
    cg_grid_report_release(&r);
}

static void test_swapped_and_outside(void **state)
{
    struct cg_grid_report r;
    char *f = box("442000105001003", 22.61, 113.19, 22.62, 113.20);
    const struct cg_grid_problem *p = expect_one(&r, f, "swapped_lon_lat");

    (void)state;
    assert_true(p->has_location && fabs(p->lon - 113.19) < 1e-9);
    cg_grid_report_release(&r);
    free(f);
    f = box("442000105001004", 2.35, 48.85, 2.36, 48.86); /* Paris */
    expect_one(&r, f, "outside_china");
    cg_grid_report_release(&r);
    free(f);
}

static void test_duplicate_and_missing_code(void **state)
{
    char *f[3] = {box("442000105001005", 113.19, 22.61, 113.20, 22.62),
                  box("442000105001005", 113.20, 22.61, 113.21, 22.62),
                  cg_strdup("{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":"
                            "\"MultiPolygon\",\"coordinates\":[[[[113.30,22.61],[113.31,22.61],"
                            "[113.31,22.62],[113.30,22.61]]]]}}")};
    char *text = collection((const char *const *)f, 3);
    struct cg_grid_report r;
    const struct cg_grid_problem *p;

    (void)state;
    assert_int_equal(validate(text, &r), 0);
    assert_int_equal(r.count, 2);
    p = find(&r, "duplicate_code");
    assert_non_null(p);
    assert_int_equal(p->feature, 1);
    assert_int_equal(p->other, 0);
    p = find(&r, "missing_code");
    assert_non_null(p);
    assert_int_equal(p->feature, 2);
    assert_int_equal(r.polygons, 3); /* the MultiPolygon is fine */
    cg_grid_report_release(&r);
    free(text);
    for (size_t i = 0; i < 3; i++) {
        free(f[i]);
    }
}

static void test_point_feature(void **state)
{
    struct cg_grid_report r;

    (void)state;
    expect_one(&r,
               "{\"type\":\"Feature\",\"properties\":{\"code\":\"442000105001007\"},\"geometry\":{"
               "\"type\":"
               "\"Point\",\"coordinates\":[113.19,22.61]}}",
               "not_polygon");
    cg_grid_report_release(&r);
}

static void test_not_geojson(void **state)
{
    struct cg_grid_report r;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_str deep;

    (void)state;
    assert_int_equal(validate("this is not json", &r), CG_EBADJSON);
    assert_int_equal(r.count, 1);
    assert_string_equal(r.problems[0].kind, "not_geojson");
    cg_grid_report_release(&r);
    assert_int_equal(validate("{\"type\":\"Feature\"}", &r), CG_EINVAL);
    assert_string_equal(r.problems[0].kind, "not_geojson");
    cg_grid_report_release(&r);
    cg_str_init(&deep, 1 << 20);
    for (int i = 0; i < 5000; i++) {
        cg_str_addch(&deep, '[');
    }
    for (int i = 0; i < 5000; i++) {
        cg_str_addch(&deep, ']');
    }
    assert_int_equal(validate(cg_str_ptr(&deep), &r), CG_EBADJSON);
    assert_string_equal(r.problems[0].kind, "not_geojson");
    assert_non_null(strstr(r.problems[0].message, "nested"));
    cg_grid_report_release(&r);
    cg_str_release(&deep);
    assert_int_equal(cg_grid_validate_geojson("{}", CG_GRID_GEOJSON_MAX + 1, &r, &err), CG_ETOOBIG);
    cg_grid_report_release(&r);
}

static void test_empty_collection(void **state)
{
    struct cg_grid_report r;

    (void)state;
    assert_int_equal(validate("{\"type\":\"FeatureCollection\",\"features\":[]}", &r), 0);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.features, 0);
    assert_true(r.total_area_m2 == 0);
    cg_grid_report_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adjacent_squares_pass),
        cmocka_unit_test(test_overlap_area),
        cmocka_unit_test(test_bow_tie),
        cmocka_unit_test(test_open_ring_and_few_points),
        cmocka_unit_test(test_swapped_and_outside),
        cmocka_unit_test(test_duplicate_and_missing_code),
        cmocka_unit_test(test_point_feature),
        cmocka_unit_test(test_not_geojson),
        cmocka_unit_test(test_empty_collection),
    };

    return cmocka_run_group_tests_name("grid_geojson", tests, NULL, NULL);
}
