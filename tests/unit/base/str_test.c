/* Unit tests for src/base/str.c: growth, the maximum, the sticky error, UTF-8. */
#include "test.h"
#include "base/err.h"
#include "base/str.h"

static void test_empty_does_not_allocate(void **state)
{
    struct cg_str s = CG_STR_INIT;

    (void)state;
    assert_string_equal(cg_str_ptr(&s), "");
    assert_int_equal(cg_str_len(&s), 0);
    cg_str_release(&s);
}

static void test_append_and_format(void **state)
{
    struct cg_str s = CG_STR_INIT;

    (void)state;
    cg_str_adds(&s, "grid ");
    cg_str_addf(&s, "%d/%s", 68, "古镇");
    cg_str_addch(&s, '!');
    assert_string_equal(cg_str_ptr(&s), "grid 68/古镇!");
    assert_int_equal(cg_str_error(&s), 0);
    cg_str_release(&s);
}

static void test_grows_past_initial_capacity(void **state)
{
    struct cg_str s = CG_STR_INIT;

    (void)state;
    for (int i = 0; i < 10000; i++) {
        cg_str_addch(&s, (char)('a' + i % 26));
    }
    assert_int_equal(cg_str_len(&s), 10000);
    assert_int_equal(cg_str_ptr(&s)[25], 'z');
    assert_int_equal(cg_str_ptr(&s)[10000], '\0');
    cg_str_release(&s);
}

static void test_max_is_sticky(void **state)
{
    struct cg_str s = CG_STR_INIT_MAX(8);

    (void)state;
    cg_str_adds(&s, "12345");
    cg_str_adds(&s, "6789"); /* would make 9 bytes */
    assert_int_equal(cg_str_error(&s), CG_ETOOBIG);
    assert_string_equal(cg_str_ptr(&s), "12345");
    cg_str_adds(&s, "x"); /* later appends do nothing */
    assert_string_equal(cg_str_ptr(&s), "12345");
    cg_str_reset(&s);
    assert_int_equal(cg_str_error(&s), 0);
    cg_str_adds(&s, "12345678");
    assert_int_equal(cg_str_error(&s), 0);
    cg_str_release(&s);
}

static void test_detach_hands_over(void **state)
{
    struct cg_str s = CG_STR_INIT;
    size_t len;
    char *p;

    (void)state;
    cg_str_adds(&s, "abc");
    p = cg_str_detach(&s, &len);
    assert_string_equal(p, "abc");
    assert_int_equal(len, 3);
    assert_int_equal(cg_str_len(&s), 0);
    free(p);
    p = cg_str_detach(&s, NULL); /* empty: still a heap string */
    assert_string_equal(p, "");
    free(p);
}

static void test_utf8(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        bool ok;
    } cases[] = {
        {"", 0, true},
        {"ascii", 5, true},
        {"网格化社会治理", 21, true},
        {"\xF0\x9F\x98\x80", 4, true},  /* U+1F600 */
        {"\xC0\xAF", 2, false},         /* overlong '/' */
        {"\xE0\x80\xAF", 3, false},     /* overlong '/' */
        {"\xED\xA0\x80", 3, false},     /* surrogate */
        {"\xF4\x90\x80\x80", 4, false}, /* beyond U+10FFFF */
        {"\xFF", 1, false},
        {"\xE7\xBD", 2, false}, /* truncated */
        {"a\0b", 3, false},     /* NUL */
        {"\x80", 1, false},     /* lone continuation */
    };

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        assert_int_equal(cg_utf8_valid(cases[i].s, cases[i].len), cases[i].ok);
    }
    assert_int_equal(cg_utf8_count("网格a", 7), 3);
}

static void test_parse_int64(void **state)
{
    static const struct {
        const char *s;
        bool ok;
        int64_t v;
    } cases[] = {
        {"0", true, 0},
        {"42", true, 42},
        {"-7", true, -7},
        {"9223372036854775807", true, INT64_MAX},
        {"9223372036854775808", false, 0}, /* overflow is refused, never clamped */
        {"-9223372036854775809", false, 0},
        {"", false, 0},
        {"-", false, 0},
        {" 1", false, 0},
        {"1 ", false, 0},
        {"+1", false, 0},
        {"0x10", false, 0},
        {"1e3", false, 0},
        {"--1", false, 0},
    };
    int64_t v;

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        v = 12345;
        assert_int_equal(cg_parse_int64(cases[i].s, INT64_MIN, INT64_MAX, &v), cases[i].ok);
        assert_true(v == (cases[i].ok ? cases[i].v : 12345)); /* untouched when refused */
    }
    assert_false(cg_parse_int64("0", 1, 10, &v));
    assert_false(cg_parse_int64("11", 1, 10, &v));
    assert_true(cg_parse_int64("10", 1, 10, &v) && v == 10);
}

static void test_parse_double(void **state)
{
    double v = 0;

    (void)state;
    assert_true(cg_parse_double("113.5", &v) && v == 113.5);
    assert_true(cg_parse_double("-22.25", &v) && v == -22.25);
    assert_true(cg_parse_double("1e2", &v) && v == 100);
    assert_false(cg_parse_double("", &v));
    assert_false(cg_parse_double("inf", &v));
    assert_false(cg_parse_double("nan", &v));
    assert_false(cg_parse_double("0x1p3", &v));
    assert_false(cg_parse_double(" 1", &v));
    assert_false(cg_parse_double("1,5", &v));
    assert_false(cg_parse_double("1e999", &v)); /* out of range */
    assert_false(cg_parse_double("1.2.3", &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_does_not_allocate),
        cmocka_unit_test(test_append_and_format),
        cmocka_unit_test(test_grows_past_initial_capacity),
        cmocka_unit_test(test_max_is_sticky),
        cmocka_unit_test(test_detach_hands_over),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_parse_int64),
        cmocka_unit_test(test_parse_double),
    };

    return cmocka_run_group_tests_name("base/str", tests, NULL, NULL);
}
