/* Unit tests for src/base/err.c and src/base/json.c: the error table and field readers. */
#include "test.h"
#include "base/err.h"
#include "base/json.h"

static void test_table_is_consistent(void **state)
{
    (void)state;
    assert_string_equal(cg_err_code(CG_ENOTFOUND), "not_found");
    assert_int_equal(cg_err_http_status(CG_ENOTFOUND), 404);
    assert_int_equal(cg_err_http_status(CG_ETOOBIG), 413);
    assert_int_equal(cg_err_http_status(CG_EMEDIATYPE), 415);
    assert_int_equal(cg_err_http_status(CG_EMETHOD), 405);
    assert_string_equal(cg_err_code(-9999), "internal_error");
    assert_int_equal(cg_err_http_status(-9999), 500);
}

static void test_first_error_wins(void **state)
{
    struct cg_error err = CG_ERROR_INIT;

    (void)state;
    assert_int_equal(cg_error_field(&err, CG_EINVAL, "line", "bad %s", "line"), CG_EINVAL);
    assert_int_equal(cg_error_set(&err, CG_EDB, "later"), CG_EDB);
    assert_int_equal(err.code, CG_EINVAL);
    assert_string_equal(err.message, "bad line");
    assert_string_equal(err.field, "line");
    cg_error_clear(&err);
    assert_int_equal(err.code, 0);
    assert_int_equal(cg_error_set(NULL, CG_EIO, "no sink"), CG_EIO); /* NULL err is fine */
}

static void test_json_readers(void **state)
{
    json_t *o =
        json_loads("{\"s\":\"网格\",\"n\":5,\"f\":1.5,\"c\":\"a\\u0001b\",\"z\":\"a\\u0000b\","
                   "\"e\":\"zh-CN\",\"nul\":null}",
                   JSON_ALLOW_NUL, NULL);
    static const char *const langs[] = {"zh-CN", "en", NULL};
    static const char *const allowed[] = {"s", "n", NULL};
    struct cg_error err = CG_ERROR_INIT;
    const char *s = NULL;
    int64_t n = 0;

    (void)state;
    assert_non_null(o);
    assert_int_equal(cg_json_get_string(o, "s", true, 1, 2, false, &s, &err), 0);
    assert_string_equal(s, "网格");
    assert_int_equal(cg_json_get_string(o, "s", true, 1, 1, false, &s, &err), CG_EINVAL);
    cg_error_clear(&err);
    assert_int_equal(cg_json_get_string(o, "n", true, 0, 9, false, &s, &err), CG_ETYPE);
    assert_string_equal(err.field, "n");
    cg_error_clear(&err);
    assert_int_equal(cg_json_get_string(o, "c", true, 0, 9, true, &s, &err), CG_EINVAL);
    cg_error_clear(&err);
    assert_int_equal(cg_json_get_string(o, "z", true, 0, 9, true, &s, &err), CG_EINVAL);
    cg_error_clear(&err);
    assert_int_equal(cg_json_get_string(o, "missing", true, 0, 9, true, &s, &err), CG_EMISSING);
    cg_error_clear(&err);
    assert_int_equal(cg_json_get_string(o, "nul", false, 0, 9, true, &s, &err), 0);
    assert_null(s);
    assert_int_equal(cg_json_get_int(o, "n", true, 0, 10, &n, &err), 0);
    assert_int_equal(n, 5);
    assert_int_equal(cg_json_get_int(o, "n", true, 6, 10, &n, &err), CG_EINVAL);
    cg_error_clear(&err);
    assert_int_equal(cg_json_get_int(o, "f", true, 0, 10, &n, &err), CG_ETYPE);
    cg_error_clear(&err);
    assert_int_equal(cg_json_get_enum(o, "e", true, langs, &s, &err), 0);
    assert_int_equal(cg_json_get_enum(o, "s", true, langs, &s, &err), CG_EINVAL);
    cg_error_clear(&err);
    assert_int_equal(cg_json_only_keys(o, allowed, &err), CG_EINVAL);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_consistent),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_json_readers),
    };

    return cmocka_run_group_tests_name("base/err+json", tests, NULL, NULL);
}
