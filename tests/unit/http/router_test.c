/* Unit tests for src/http/router.c and the static path rules of src/http/static.c. */
#include "test.h"
#include "base/mem.h"
#include "base/str.h"
#include "http/http_int.h"

/* static.c's path_is_safe() is file-local: include the file (h2o's habit). */
#include "../../src/http/static.c"

static int h(struct cg_req *req, struct cg_error *err)
{
    (void)req;
    (void)err;
    return 0;
}

static const struct cg_route routes[] = {
    {"GET", "/api/v1/things", h, "public", 0, ""},
    {"POST", "/api/v1/things", h, "thing.create", 0, ""},
    {"GET", "/api/v1/things/:id", h, "public", 0, ""},
    {"POST", "/api/v1/things/:id/steps/:step", h, "public", 0, ""},
};

static void release(struct cg_req *req)
{
    for (int i = 0; i < req->n_params; i++) {
        cg_freez(&req->params[i].value);
    }
    req->n_params = 0;
}

static void test_match(void **state)
{
    struct cg_req req = {0};
    struct cg_str allow = CG_STR_INIT;
    size_t n = CG_ARRAY_LEN(routes);

    (void)state;
    assert_int_equal(cg_http__route_match(routes, n, "GET", "/api/v1/things", &req, NULL), 0);
    assert_int_equal(cg_http__route_match(routes, n, "POST", "/api/v1/things", &req, NULL), 1);
    assert_int_equal(cg_http__route_match(routes, n, "HEAD", "/api/v1/things", &req, NULL), 0);
    assert_int_equal(cg_http__route_match(routes, n, "GET", "/api/v1/things/42", &req, NULL), 2);
    assert_string_equal(cg_req_param(&req, "id"), "42");
    release(&req);
    assert_int_equal(
        cg_http__route_match(routes, n, "POST", "/api/v1/things/7/steps/dispatch", &req, NULL), 3);
    assert_string_equal(cg_req_param(&req, "id"), "7");
    assert_string_equal(cg_req_param(&req, "step"), "dispatch");
    assert_null(cg_req_param(&req, "other"));
    release(&req);
    assert_int_equal(cg_http__route_match(routes, n, "GET", "/api/v1/things/", &req, NULL), -1);
    assert_int_equal(cg_http__route_match(routes, n, "GET", "/api/v1/thing", &req, NULL), -1);
    assert_int_equal(cg_http__route_match(routes, n, "GET", "/api/v1/things/1/x", &req, NULL), -1);
    assert_int_equal(cg_http__route_match(routes, n, "DELETE", "/api/v1/things", &req, &allow), -2);
    assert_string_equal(cg_str_ptr(&allow), "GET, HEAD, POST");
    assert_int_equal(req.n_params, 0);
    cg_str_release(&allow);
}

static void test_static_paths(void **state)
{
    (void)state;
    assert_true(path_is_safe("/"));
    assert_true(path_is_safe("/index.html"));
    assert_true(path_is_safe("/vendor/preact.js"));
    assert_true(path_is_safe("/网格/图.png"));
    assert_false(path_is_safe("/../etc/passwd"));
    assert_false(path_is_safe("/a/../../etc/passwd"));
    assert_false(path_is_safe("/a/./b"));
    assert_false(path_is_safe("/.git/config"));
    assert_false(path_is_safe("/a\\..\\b"));
    assert_false(path_is_safe("relative"));
    assert_false(path_is_safe("/\xff"));
    assert_string_equal(content_type_of("/a/app.js"), "text/javascript; charset=utf-8");
    assert_string_equal(content_type_of("/x.svg"), "image/svg+xml");
    assert_string_equal(content_type_of("/noext"), "application/octet-stream");
    assert_string_equal(content_type_of("/dir.d/noext"), "application/octet-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_static_paths),
    };

    return cmocka_run_group_tests_name("http/router", tests, NULL, NULL);
}
