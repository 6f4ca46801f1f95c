/* Unit tests for src/app/config.c: defaults, bounds, file and environment. */
#include "test.h"
#include "app/config.h"
#include "base/str.h"

#include <unistd.h>

static void test_defaults(void **state)
{
    struct cg_config cfg;

    (void)state;
    cg_config_init(&cfg);
    assert_int_equal(cfg.http_port, 8080);
    assert_string_equal(cfg.http_address, "127.0.0.1");
    assert_string_equal(cfg.db_synchronous, "full");
    cg_config_release(&cfg);
}

static void test_bounds_and_choices(void **state)
{
    struct cg_config cfg;
    struct cg_error err = CG_ERROR_INIT;

    (void)state;
    cg_config_init(&cfg);
    assert_int_equal(cg_config_set(&cfg, "http.port", "70000", &err), CG_EINVAL);
    assert_string_equal(err.field, "http.port");
    cg_error_clear(&err);
    assert_int_equal(cg_config_set(&cfg, "http.port", "80x", &err), CG_EINVAL);
    cg_error_clear(&err);
    assert_int_equal(cg_config_set(&cfg, "http.port", "", &err), CG_EINVAL);
    cg_error_clear(&err);
    assert_int_equal(cg_config_set(&cfg, "db.synchronous", "off", &err), CG_EINVAL);
    cg_error_clear(&err);
    assert_int_equal(cg_config_set(&cfg, "no.such", "1", &err), CG_EINVAL);
    cg_error_clear(&err);
    assert_int_equal(cg_config_set(&cfg, "http.port", "9090", &err), 0);
    assert_int_equal(cfg.http_port, 9090);
    assert_int_equal(cfg.http_max_body, 1048576); /* untouched */
    cg_config_release(&cfg);
}

static void test_file_then_env(void **state)
{
    struct cg_config cfg;
    struct cg_error err = CG_ERROR_INIT;
    char path[] = "/tmp/civgrid-config-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    (void)state;
    fputs("# comment\n\nhttp.port = 9000   # trailing\ndb.path=/tmp/x.db\n", f);
    fclose(f);
    cg_config_init(&cfg);
    assert_int_equal(cg_config_load_file(&cfg, path, &err), 0);
    assert_int_equal(cfg.http_port, 9000);
    assert_string_equal(cfg.db_path, "/tmp/x.db");
    setenv("CIVGRID_HTTP_PORT", "9100", 1);
    assert_int_equal(cg_config_load_env(&cfg, &err), 0);
    assert_int_equal(cfg.http_port, 9100);
    setenv("CIVGRID_HTTP_PORT", "bad", 1);
    assert_int_equal(cg_config_load_env(&cfg, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "CIVGRID_HTTP_PORT"));
    unsetenv("CIVGRID_HTTP_PORT");
    cg_config_release(&cfg);

    f = fopen(path, "w");
    fputs("http.port 9000\n", f);
    fclose(f);
    cg_config_init(&cfg);
    cg_error_clear(&err);
    assert_int_equal(cg_config_load_file(&cfg, path, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, ":1:"));
    cg_config_release(&cfg);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bounds_and_choices),
        cmocka_unit_test(test_file_then_env),
    };

    return cmocka_run_group_tests_name("app/config", tests, NULL, NULL);
}
