/*
 * Unit tests for the working calendar (src/domain/calendar): the seeded years
 * against data/calendar/cn-YYYY.csv, deadlines in working hours and days across the
 * 2026 Spring Festival (with its swapped Saturdays) and the 2026 National Day
 * week, starts on a holiday, at lunch time, after hours and on a swapped day,
 * elapsed working time, natural units, bad input and years without data, CSV
 * import and hours versions through the store, and a minute-by-minute oracle
 * built from the CSV files alone.
 */
#include "test.h"
#include "testdb.h"
#include "base/mem.h"
#include "base/str.h"
#include "db/db.h"
#include "domain/audit/audit.h"
#include "domain/calendar/calendar.h"

#include <limits.h>
#include <pthread.h>
#include <unistd.h>

#define H (INT64_C(3600000))
#define MIN (INT64_C(60000))

struct fixture {
    struct test_db t;
    struct cg_db *db;
    struct cg_calendar *cal;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct cg_error err = CG_ERROR_INIT;

    test_db_open(&f->t, "caltest");
    f->db = f->t.db;
    assert_int_equal(cg_calendar_load(f->db, &f->cal, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cg_calendar_release(f->cal);
    test_db_close(&f->t);
    free(f);
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static int64_t T(const char *s)
{
    int64_t ms = 0;

    if (!cg_calendar_parse_time(s, &ms)) {
        fail_msg("bad test time '%s'", s);
    }
    return ms;
}

/* The deadline of start + amount unit in China time, or the error's message. */
static char last_message[CG_ERROR_MSG_MAX];
static int last_rc;

static const char *deadline(const struct cg_calendar *cal, const char *start, const char *amount,
                            const char *unit)
{
    static char buf[CG_CALENDAR_TIME_LEN];
    struct cg_error err = CG_ERROR_INIT;
    enum cg_calendar_unit u;
    int64_t milli, out = 0;

    assert_int_equal(cg_calendar_amount_parse(amount, &milli, &err), 0);
    assert_int_equal(cg_calendar_unit_parse(unit, &u, &err), 0);
    last_rc = cg_calendar_add(cal, T(start), milli, u, &out, &err);
    snprintf(last_message, sizeof(last_message), "%s", err.message);
    if (last_rc) {
        return "error";
    }
    assert_true(out >= T(start));
    cg_calendar_format_cn(out, buf, sizeof(buf));
    return buf;
}

static int64_t elapsed(const struct cg_calendar *cal, const char *a, const char *b)
{
    struct cg_error err = CG_ERROR_INIT;
    int64_t out = 0;

    assert_int_equal(cg_calendar_elapsed(cal, T(a), T(b), &out, &err), 0);
    return out;
}

static bool working(const struct cg_calendar *cal, const char *t)
{
    struct cg_error err = CG_ERROR_INIT;
    bool out = false;

    assert_int_equal(cg_calendar_is_working(cal, T(t), &out, &err), 0);
    return out;
}

/* Reads data/calendar/<name> from the working directory or a parent of the test binary. */
static char *read_data(const char *name, size_t *out_len)
{
    char exe[PATH_MAX], path[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    FILE *fp = NULL;
    struct cg_str sb = CG_STR_INIT_MAX(1 << 20);
    char chunk[4096];
    size_t got;

    snprintf(path, sizeof(path), "data/calendar/%s", name);
    fp = fopen(path, "rb");
    if (n > 0) {
        exe[n] = '\0';
    }
    while (!fp && n > 0) {
        char *slash = strrchr(exe, '/');

        if (!slash || slash == exe) {
            break;
        }
        *slash = '\0';
        snprintf(path, sizeof(path), "%s/data/calendar/%s", exe, name);
        fp = fopen(path, "rb");
    }
    if (!fp) {
        fail_msg("cannot find data/calendar/%s (run from the repository)", name);
    }
    while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        cg_str_add(&sb, chunk, got);
    }
    fclose(fp);
    assert_int_equal(cg_str_error(&sb), 0);
    return cg_str_detach(&sb, out_len);
}

static void parse_year_file(const char *name, struct cg_calendar_year *y)
{
    struct cg_error err = CG_ERROR_INIT;
    size_t len;
    char *text = read_data(name, &len);
    int rc = cg_calendar_year_parse(text, len, y, &err);

    free(text);
    if (rc) {
        fail_msg("%s: %s", name, err.message);
    }
}

static int parse_text(const char *text, struct cg_calendar_year *y, struct cg_error *err)
{
    return cg_calendar_year_parse(text, strlen(text), y, err);
}

/* ---- the seed --------------------------------------------------------------------------- */

/* The migration seeds exactly the rows of data/calendar/cn-2025.csv and cn-2026.csv. */
static void test_seed_matches_csv(void **state)
{
    struct fixture *f = *state;
    const char *files[] = {"cn-2025.csv", "cn-2026.csv"};

    assert_int_equal(cg_calendar_year_count(f->cal), 2);
    for (size_t k = 0; k < CG_ARRAY_LEN(files); k++) {
        struct cg_calendar_year y;
        struct cg_calendar_year_info info;
        struct cg_error err = CG_ERROR_INIT;

        parse_year_file(files[k], &y);
        assert_int_equal(cg_calendar_year_get(f->cal, y.year, &info, &err), 0);
        assert_string_equal(info.source, y.source);
        assert_int_equal((size_t)(info.holidays + info.swapped), y.n);
        for (size_t i = 0; i < y.n; i++) {
            struct cg_calendar_day d;

            assert_int_equal(cg_calendar_day_info(f->cal, y.e[i].date, &d, &err), 0);
            assert_int_equal(d.kind, y.e[i].workday ? CG_CALENDAR_SWAPPED : CG_CALENDAR_HOLIDAY);
            assert_string_equal(d.name, y.e[i].name);
            assert_int_equal(d.work_ms, y.e[i].workday ? 7 * H : 0);
        }
        cg_calendar_year_release(&y);
    }
}

/* 13 statutory days a year since 2025: 261 weekdays - 13 = 248 working days in both years. */
static void test_year_counts(void **state)
{
    struct fixture *f = *state;
    struct cg_calendar_year_info y;
    struct cg_error err = CG_ERROR_INIT;

    assert_int_equal(cg_calendar_year_get(f->cal, 2025, &y, &err), 0);
    assert_int_equal(y.working_days, 248);
    assert_int_equal(y.holidays, 28);
    assert_int_equal(y.swapped, 5);
    assert_int_equal(y.holiday_weekdays - y.swapped, 13);
    assert_string_equal(y.loaded_by, "migration 0005_calendar");
    assert_int_equal(cg_calendar_year_get(f->cal, 2026, &y, &err), 0);
    assert_int_equal(y.working_days, 248);
    assert_int_equal(y.holidays, 33);
    assert_int_equal(y.swapped, 6);
    assert_int_equal(y.holiday_weekdays - y.swapped, 13);
    assert_int_equal(cg_calendar_year_get(f->cal, 2027, &y, &err), CG_ENOTFOUND);
    assert_non_null(strstr(err.message, "2027"));
}

static void test_day_kinds(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_calendar_day d;

    assert_int_equal(cg_calendar_day_info(f->cal, "2026-02-13", &d, &err), 0);
    assert_int_equal(d.kind, CG_CALENDAR_WORKDAY);
    assert_int_equal(d.weekday, 5);
    assert_int_equal(d.work_ms, 7 * H);
    assert_string_equal(d.name, "");
    assert_int_equal(cg_calendar_day_info(f->cal, "2026-02-14", &d, &err), 0);
    assert_int_equal(d.kind, CG_CALENDAR_SWAPPED);
    assert_int_equal(d.weekday, 6);
    assert_string_equal(d.name, "春节");
    assert_int_equal(cg_calendar_day_info(f->cal, "2026-02-21", &d, &err), 0);
    assert_int_equal(d.kind, CG_CALENDAR_HOLIDAY); /* a Saturday inside the holiday */
    assert_int_equal(d.work_ms, 0);
    assert_int_equal(cg_calendar_day_info(f->cal, "2026-02-23", &d, &err), 0);
    assert_int_equal(d.kind, CG_CALENDAR_HOLIDAY); /* a Monday, 正月初七 */
    assert_int_equal(cg_calendar_day_info(f->cal, "2026-03-07", &d, &err), 0);
    assert_int_equal(d.kind, CG_CALENDAR_WEEKEND);
    assert_int_equal(cg_calendar_day_info(f->cal, "2026-10-10", &d, &err), 0);
    assert_int_equal(d.kind, CG_CALENDAR_SWAPPED);
    assert_string_equal(d.name, "国庆节");
    assert_int_equal(cg_calendar_day_info(f->cal, "2025-10-08", &d, &err), 0);
    assert_string_equal(d.name, "国庆节、中秋节");
    assert_int_equal(cg_calendar_day_info(f->cal, "2026-02-30", &d, &err), CG_EINVAL);
    assert_int_equal(cg_calendar_day_info(f->cal, "2027-01-04", &d, &err), CG_ENOTFOUND);
}

/* ---- working hours ---------------------------------------------------------------------- */

static void test_work_hours_spring_festival(void **state)
{
    struct fixture *f = *state;

    /* Friday 16:00 + 8: 1.5 h on Friday, then the swapped Saturday before the festival. */
    assert_string_equal(deadline(f->cal, "2026-02-13T16:00:00+08:00", "8", "work_hour"),
                        "2026-02-14T17:00:00+08:00");
    /* the same start in UTC */
    assert_string_equal(deadline(f->cal, "2026-02-13T08:00:00Z", "8", "work_hour"),
                        "2026-02-14T17:00:00+08:00");
    /* Saturday 02-14 16:00 + 2: the nine days off, then Tuesday 02-24 */
    assert_string_equal(deadline(f->cal, "2026-02-14T16:00:00+08:00", "2", "work_hour"),
                        "2026-02-24T09:00:00+08:00");
    /* starting on a holiday (正月初一): counted from the first working period after it */
    assert_string_equal(deadline(f->cal, "2026-02-17T10:00:00+08:00", "4", "work_hour"),
                        "2026-02-24T14:30:00+08:00");
    /* at lunch time: from 14:00 */
    assert_string_equal(deadline(f->cal, "2026-02-24T12:30:00+08:00", "1", "work_hour"),
                        "2026-02-24T15:00:00+08:00");
    /* after hours: from the next morning */
    assert_string_equal(deadline(f->cal, "2026-02-24T19:00:00+08:00", "1", "work_hour"),
                        "2026-02-25T09:30:00+08:00");
    /* before hours */
    assert_string_equal(deadline(f->cal, "2026-02-25T06:00:00+08:00", "0.5", "work_hour"),
                        "2026-02-25T09:00:00+08:00");
    /* on the swapped Saturday after the festival, and into it from Friday */
    assert_string_equal(deadline(f->cal, "2026-02-28T08:00:00+08:00", "7", "work_hour"),
                        "2026-02-28T17:30:00+08:00");
    assert_string_equal(deadline(f->cal, "2026-02-27T17:00:00+08:00", "1", "work_hour"),
                        "2026-02-28T09:00:00+08:00");
    /* Saturday 17:30 + 7: Sunday is a weekend again */
    assert_string_equal(deadline(f->cal, "2026-02-28T17:30:00+08:00", "7", "work_hour"),
                        "2026-03-02T17:30:00+08:00");
    /* using up the morning exactly ends at 12:00, not at 14:00 */
    assert_string_equal(deadline(f->cal, "2026-03-02T08:30:00+08:00", "3.5", "work_hour"),
                        "2026-03-02T12:00:00+08:00");
    assert_string_equal(deadline(f->cal, "2026-03-02T08:30:00+08:00", "3.501", "work_hour"),
                        "2026-03-02T14:00:03.600+08:00");
    /* 0 is due at once, even outside working time */
    assert_string_equal(deadline(f->cal, "2026-02-17T10:00:00+08:00", "0", "work_hour"),
                        "2026-02-17T10:00:00+08:00");
    /* 2025: the swapped Sunday 01-26 before the festival, 8 days off from 01-28 */
    assert_string_equal(deadline(f->cal, "2025-01-24T17:00:00+08:00", "1", "work_hour"),
                        "2025-01-26T09:00:00+08:00");
    assert_string_equal(deadline(f->cal, "2025-01-27T17:00:00+08:00", "1", "work_hour"),
                        "2025-02-05T09:00:00+08:00");
}

static void test_work_days(void **state)
{
    struct fixture *f = *state;

    /* same position, N working days later; the swapped Saturday counts */
    assert_string_equal(deadline(f->cal, "2026-02-13T10:00:00+08:00", "1", "work_day"),
                        "2026-02-14T10:00:00+08:00");
    assert_string_equal(deadline(f->cal, "2026-02-13T10:00:00+08:00", "2", "work_day"),
                        "2026-02-24T10:00:00+08:00");
    /* a start on a holiday: the end of the first working day after it */
    assert_string_equal(deadline(f->cal, "2026-02-18T10:00:00+08:00", "1", "work_day"),
                        "2026-02-24T17:30:00+08:00");
    assert_string_equal(deadline(f->cal, "2026-02-18T10:00:00+08:00", "5", "work_day"),
                        "2026-02-28T17:30:00+08:00");
    /* after hours on Friday: the swapped Saturday is the next working day */
    assert_string_equal(deadline(f->cal, "2026-02-27T18:00:00+08:00", "1", "work_day"),
                        "2026-02-28T17:30:00+08:00");
    /* at the opening: the same day's close (7 working hours) */
    assert_string_equal(deadline(f->cal, "2026-03-02T08:30:00+08:00", "1", "work_day"),
                        "2026-03-02T17:30:00+08:00");
    /* at lunch time the position is the end of the morning: 12:00 the next working day */
    assert_string_equal(deadline(f->cal, "2026-03-02T13:00:00+08:00", "1", "work_day"),
                        "2026-03-03T12:00:00+08:00");
    /* half a day is half the day's working time */
    assert_string_equal(deadline(f->cal, "2026-03-02T08:30:00+08:00", "0.5", "work_day"),
                        "2026-03-02T12:00:00+08:00");
    assert_string_equal(deadline(f->cal, "2026-03-02T10:00:00+08:00", "1.5", "work_day"),
                        "2026-03-03T15:30:00+08:00");
    /* the National Day week: 09-29, 09-30, 10-08, 10-09 and the swapped 10-10 */
    assert_string_equal(deadline(f->cal, "2026-09-28T09:00:00+08:00", "5", "work_day"),
                        "2026-10-10T09:00:00+08:00");
    assert_string_equal(deadline(f->cal, "2026-09-28T09:00:00+08:00", "6", "work_day"),
                        "2026-10-12T09:00:00+08:00");
    /* across the year: 2025-12-31 (Wednesday) to 2026-01-05, the 元旦 days and the swap */
    assert_string_equal(deadline(f->cal, "2025-12-31T15:00:00+08:00", "1", "work_day"),
                        "2026-01-04T15:00:00+08:00");
    assert_string_equal(deadline(f->cal, "2025-12-31T15:00:00+08:00", "2", "work_day"),
                        "2026-01-05T15:00:00+08:00");
}

static void test_national_day_week(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(deadline(f->cal, "2026-09-30T17:00:00+08:00", "1", "work_hour"),
                        "2026-10-08T09:00:00+08:00");
    assert_string_equal(deadline(f->cal, "2026-09-30T16:00:00+08:00", "7", "work_hour"),
                        "2026-10-08T16:00:00+08:00");
    /* from a holiday in the week */
    assert_string_equal(deadline(f->cal, "2026-10-03T11:00:00+08:00", "4", "work_hour"),
                        "2026-10-08T14:30:00+08:00");
    /* a weekend Saturday, then the swapped Sunday 09-20 */
    assert_string_equal(deadline(f->cal, "2026-09-19T10:00:00+08:00", "1", "work_hour"),
                        "2026-09-20T09:30:00+08:00");
    /* 中秋 09-25..27 (Friday to Sunday, no swap) */
    assert_string_equal(deadline(f->cal, "2026-09-24T17:00:00+08:00", "1", "work_hour"),
                        "2026-09-28T09:00:00+08:00");
    /* 2025: 国庆节、中秋节 together, 8 days, swapped 09-28 and 10-11 */
    assert_string_equal(deadline(f->cal, "2025-09-30T17:00:00+08:00", "1", "work_hour"),
                        "2025-10-09T09:00:00+08:00");
    assert_string_equal(deadline(f->cal, "2025-10-10T17:00:00+08:00", "1", "work_hour"),
                        "2025-10-11T09:00:00+08:00");
}

static void test_elapsed(void **state)
{
    struct fixture *f = *state;

    /* 09-30, 10-08 and 10-09: the holiday week counts nothing */
    assert_int_equal(elapsed(f->cal, "2026-09-30T08:30:00+08:00", "2026-10-09T17:30:00+08:00"),
                     21 * H);
    assert_int_equal(elapsed(f->cal, "2026-10-01T00:00:00+08:00", "2026-10-08T00:00:00+08:00"), 0);
    assert_int_equal(elapsed(f->cal, "2026-10-09T17:30:00+08:00", "2026-09-30T08:30:00+08:00"),
                     -21 * H);
    /* the festival: Friday 02-13 16:00 to Tuesday 02-24 09:00 = 1.5 + 7 (02-14) + 0.5 */
    assert_int_equal(elapsed(f->cal, "2026-02-13T16:00:00+08:00", "2026-02-24T09:00:00+08:00"),
                     9 * H);
    /* lunch counts nothing */
    assert_int_equal(elapsed(f->cal, "2026-03-02T11:30:00+08:00", "2026-03-02T14:30:00+08:00"),
                     60 * MIN);
    assert_int_equal(elapsed(f->cal, "2026-03-02T12:00:00+08:00", "2026-03-02T14:00:00+08:00"), 0);
    /* a whole year of 248 working days */
    assert_int_equal(elapsed(f->cal, "2026-01-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00"),
                     248 * 7 * H);
    /* the time left before a deadline turns negative once it is overdue (yellow / red) */
    assert_int_equal(elapsed(f->cal, "2026-10-08T16:00:00+08:00", "2026-10-08T17:00:00+08:00"), H);
    assert_int_equal(elapsed(f->cal, "2026-10-09T09:00:00+08:00", "2026-10-08T17:00:00+08:00"), -H);
}

static void test_is_working(void **state)
{
    struct fixture *f = *state;

    assert_true(working(f->cal, "2026-03-02T08:30:00+08:00"));
    assert_false(working(f->cal, "2026-03-02T08:29:59+08:00"));
    assert_true(working(f->cal, "2026-03-02T11:59:59.999+08:00"));
    assert_false(working(f->cal, "2026-03-02T12:00:00+08:00"));
    assert_false(working(f->cal, "2026-03-02T13:59:59+08:00"));
    assert_true(working(f->cal, "2026-03-02T14:00:00+08:00"));
    assert_false(working(f->cal, "2026-03-02T17:30:00+08:00"));
    assert_true(working(f->cal, "2026-02-14T10:00:00+08:00"));  /* swapped Saturday */
    assert_false(working(f->cal, "2026-02-16T10:00:00+08:00")); /* holiday Monday */
    assert_false(working(f->cal, "2026-03-07T10:00:00+08:00")); /* plain Saturday */
    assert_true(working(f->cal, "2026-03-02T01:00:00Z"));       /* 09:00 China time */
    assert_false(working(f->cal, "2026-03-01T23:00:00Z"));      /* 07:00 China time */
}

static void test_natural_units(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(deadline(f->cal, "2026-02-17T10:00:00+08:00", "24", "natural_hour"),
                        "2026-02-18T10:00:00+08:00");
    assert_string_equal(deadline(f->cal, "2026-09-30T10:00:00+08:00", "7", "natural_day"),
                        "2026-10-07T10:00:00+08:00");
    assert_string_equal(deadline(f->cal, "2026-02-13T23:00:00+08:00", "1.5", "natural_hour"),
                        "2026-02-14T00:30:00+08:00");
    /* natural time never needs the calendar */
    assert_string_equal(deadline(f->cal, "2031-06-01T10:00:00+08:00", "2", "natural_day"),
                        "2031-06-03T10:00:00+08:00");
}

/* ---- bad input and missing data --------------------------------------------------------- */

static void test_bad_input(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    enum cg_calendar_unit u;
    int64_t ms = 0, milli = 0;
    bool b;
    const char *bad_amounts[] = {"-1",  "",   "1e3",    "0.1234", ".5",  "5.",
                                 "1,5", " 1", "100001", "+1",     "0x10"};
    const char *bad_times[] = {"2026-02-13T16:00:00",       "2026-02-13 16:00:00+08:00",
                               "2026-02-30T16:00:00Z",      "2026-02-13T24:00:00Z",
                               "2026-02-13T16:00:00+08:60", "2026-02-13T16:00Z",
                               "1969-12-31T23:59:59Z",      "2026-02-13T16:00:00+0800"};

    assert_int_equal(cg_calendar_unit_parse("work_week", &u, &err), CG_EINVAL);
    assert_string_equal(err.field, "unit");
    cg_error_clear(&err);
    assert_int_equal(cg_calendar_unit_parse(NULL, &u, &err), CG_EINVAL);
    cg_error_clear(&err);
    assert_int_equal(cg_calendar_add(f->cal, T("2026-03-02T09:00:00Z"), 1000,
                                     (enum cg_calendar_unit)42, &ms, &err),
                     CG_EINVAL);
    assert_string_equal(err.field, "unit");
    cg_error_clear(&err);
    assert_int_equal(
        cg_calendar_add(f->cal, T("2026-03-02T09:00:00Z"), -1000, CG_CALENDAR_WORK_HOUR, &ms, &err),
        CG_EINVAL);
    assert_string_equal(err.field, "amount");
    cg_error_clear(&err);
    assert_int_equal(cg_calendar_add(f->cal, T("2026-03-02T09:00:00Z"),
                                     (int64_t)CG_CALENDAR_AMOUNT_MAX * 1000 + 1,
                                     CG_CALENDAR_NATURAL_HOUR, &ms, &err),
                     CG_EINVAL);
    for (size_t i = 0; i < CG_ARRAY_LEN(bad_amounts); i++) {
        cg_error_clear(&err);
        if (cg_calendar_amount_parse(bad_amounts[i], &milli, &err) != CG_EINVAL) {
            fail_msg("amount '%s' was accepted", bad_amounts[i]);
        }
        assert_string_equal(err.field, "amount");
    }
    assert_int_equal(cg_calendar_amount_parse("2.25", &milli, &err), 0);
    assert_int_equal(milli, 2250);
    assert_int_equal(cg_calendar_amount_parse("100000", &milli, &err), 0);
    for (size_t i = 0; i < CG_ARRAY_LEN(bad_times); i++) {
        if (cg_calendar_parse_time(bad_times[i], &ms)) {
            fail_msg("time '%s' was accepted", bad_times[i]);
        }
    }
    assert_true(cg_calendar_parse_time("2026-02-13T16:00:00.5-01:30", &ms));
    assert_int_equal(ms, T("2026-02-13T17:30:00.500Z"));
    /* a natural deadline past 9999 */
    cg_error_clear(&err);
    assert_int_equal(cg_calendar_add(f->cal, T("9999-12-31T00:00:00Z"), 2000,
                                     CG_CALENDAR_NATURAL_DAY, &ms, &err),
                     CG_EINVAL);
    (void)b;
}

static void test_year_without_data(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    int64_t ms = 0;
    bool b;

    /* a start in 2027, a deadline that runs into 2027, a start in 2024: no guessed date */
    assert_string_equal(deadline(f->cal, "2027-01-04T09:00:00+08:00", "1", "work_hour"), "error");
    assert_int_equal(last_rc, CG_ENOTFOUND);
    assert_non_null(strstr(last_message, "no working calendar for 2027"));
    assert_string_equal(deadline(f->cal, "2026-12-31T10:00:00+08:00", "5", "work_hour"),
                        "2026-12-31T17:00:00+08:00");
    assert_string_equal(deadline(f->cal, "2026-12-31T10:00:00+08:00", "8", "work_hour"), "error");
    assert_int_equal(last_rc, CG_ENOTFOUND);
    assert_non_null(strstr(last_message, "2027"));
    assert_string_equal(deadline(f->cal, "2026-12-31T18:00:00+08:00", "1", "work_day"), "error");
    assert_int_equal(last_rc, CG_ENOTFOUND);
    assert_string_equal(deadline(f->cal, "2026-12-25T10:00:00+08:00", "10", "work_day"), "error");
    assert_int_equal(last_rc, CG_ENOTFOUND);
    assert_string_equal(deadline(f->cal, "2024-12-31T10:00:00+08:00", "1", "work_hour"), "error");
    assert_non_null(strstr(last_message, "2024"));
    assert_int_equal(cg_calendar_elapsed(f->cal, T("2026-12-31T10:00:00+08:00"),
                                         T("2027-01-04T10:00:00+08:00"), &ms, &err),
                     CG_ENOTFOUND);
    assert_string_equal(err.field, "calendar");
    cg_error_clear(&err);
    assert_int_equal(cg_calendar_is_working(f->cal, T("2027-03-01T10:00:00+08:00"), &b, &err),
                     CG_ENOTFOUND);
}

/* A year missing between two loaded ones is refused, not skipped as if it had no work. */
static void test_gap_year(void **state)
{
    struct cg_calendar_hours h;
    struct cg_calendar_year ys[2];
    struct cg_calendar *cal = NULL;
    struct cg_error err = CG_ERROR_INIT;

    (void)state;
    assert_int_equal(cg_calendar_hours_parse("08:30-12:00,14:00-17:30", "2000-01-01", &h, &err), 0);
    parse_year_file("cn-2025.csv", &ys[0]);
    assert_int_equal(parse_text("# source: test data, not a notice\n# year: 2027\n"
                                "date,kind,name\n",
                                &ys[1], &err),
                     0);
    assert_int_equal(cg_calendar_build(&h, 1, ys, 2, &cal, &err), 0);
    assert_string_equal(deadline(cal, "2025-12-31T17:00:00+08:00", "1", "work_hour"), "error");
    assert_non_null(strstr(last_message, "2026"));
    assert_string_equal(deadline(cal, "2025-12-31T17:00:00+08:00", "1", "work_day"), "error");
    assert_non_null(strstr(last_message, "2026"));
    assert_string_equal(deadline(cal, "2025-12-31T17:00:00+08:00", "1", "natural_day"),
                        "2026-01-01T17:00:00+08:00");
    assert_string_equal(deadline(cal, "2027-01-01T17:00:00+08:00", "1", "work_hour"),
                        "2027-01-04T09:00:00+08:00"); /* 0.5 h on Friday */
    assert_int_equal(cg_calendar_year_count(cal), 2);
    /* the same year twice */
    cg_calendar_release(cal);
    cal = NULL;
    ys[1].year = 2025;
    assert_int_equal(cg_calendar_build(&h, 1, ys, 2, &cal, &err), CG_EINVAL);
    assert_null(cal);
    /* no hours */
    cg_error_clear(&err);
    assert_int_equal(cg_calendar_build(&h, 0, ys, 1, &cal, &err), CG_EINVAL);
    cg_calendar_year_release(&ys[0]);
    cg_calendar_year_release(&ys[1]);
}

/* ---- files ------------------------------------------------------------------------------ */

static void expect_parse_error(const char *text, int code, const char *needle)
{
    struct cg_calendar_year y;
    struct cg_error err = CG_ERROR_INIT;
    int rc = parse_text(text, &y, &err);

    if (rc != code || !strstr(err.message, needle)) {
        fail_msg("got %d '%s', wanted %d and '%s' for:\n%s", rc, err.message, code, needle, text);
    }
    cg_calendar_year_release(&y);
}

#define SRC "# source: test data, not a notice\n"

static void test_csv_parse(void **state)
{
    struct cg_calendar_year y;
    struct cg_error err = CG_ERROR_INIT;

    (void)state;
    /* spreadsheet habits: a byte order mark, CRLF, spaces, blank lines, rows out of order */
    assert_int_equal(parse_text("\xEF\xBB\xBF" SRC "\r\ndate,kind,name\r\n"
                                "2026-02-15, holiday ,春节\r\n\r\n2026-02-14,workday,春节\r\n",
                                &y, &err),
                     0);
    assert_int_equal(y.year, 2026);
    assert_int_equal(y.n, 2);
    assert_string_equal(y.e[0].date, "2026-02-14");
    assert_true(y.e[0].workday);
    assert_string_equal(y.e[1].name, "春节");
    assert_string_equal(y.source, "test data, not a notice");
    cg_calendar_year_release(&y);
    /* a row of the December before, with the year named */
    assert_int_equal(parse_text(SRC "# year: 2012\ndate,kind,name\n2011-12-31,workday,元旦\n"
                                    "2012-01-02,holiday,元旦\n",
                                &y, &err),
                     0);
    assert_int_equal(y.year, 2012);
    cg_calendar_year_release(&y);

    expect_parse_error(SRC "date,kind,name\n2026-02-13,workday,春节\n", CG_EINVAL, "Friday");
    expect_parse_error(SRC "date,kind,name\n2026-02-14,off,春节\n", CG_EINVAL,
                       "holiday or workday");
    expect_parse_error(SRC "date,kind,name\n2026-02-30,holiday,春节\n", CG_EINVAL, "not a date");
    expect_parse_error(SRC "date,kind,name\n2026-2-3,holiday,春节\n", CG_EINVAL, "line 3");
    expect_parse_error(SRC "date,kind,name\n2026-02-15,holiday,\n", CG_EINVAL, "name");
    expect_parse_error(SRC "date,kind,name\n2026-02-15,holiday,春节,x\n", CG_EINVAL,
                       "three fields");
    expect_parse_error(SRC "date,kind,name\n2026-02-15,holiday\n", CG_EINVAL, "three fields");
    expect_parse_error(SRC "date,kind,name\n2026-02-15,holiday,春节\n2026-02-15,holiday,春节\n",
                       CG_EINVAL, "already on line 3");
    expect_parse_error("date,kind,name\n2026-02-15,holiday,春节\n", CG_EINVAL, "source");
    expect_parse_error(SRC "2026-02-15,holiday,春节\n", CG_EINVAL, "header");
    expect_parse_error(SRC, CG_EINVAL, "header");
    expect_parse_error(SRC "date,kind,name\n2025-12-31,holiday,x\n2026-01-01,holiday,元旦\n",
                       CG_EINVAL, "# year:");
    expect_parse_error(SRC "# year: 2026\ndate,kind,name\n2026-05-01,holiday,劳动节\n"
                           "2025-05-01,holiday,劳动节\n",
                       CG_EINVAL, "not in 2026");
    expect_parse_error(SRC "# year: 1999\ndate,kind,name\n", CG_EINVAL, "outside");
    expect_parse_error(SRC "date,kind,name\n2026-02-15,holiday,"
                           "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三\n",
                       CG_EINVAL, "name");
    expect_parse_error(SRC "date,kind,name\n2026-02-15,holiday,\"春节\"\n", CG_EINVAL, "quotes");
    expect_parse_error(SRC "date,kind,name\n2026-02-15,holiday,\xff\n", CG_EINVAL, "UTF-8");
}

static void test_hours_parse(void **state)
{
    struct cg_calendar_hours h;
    struct cg_error err = CG_ERROR_INIT;
    const char *bad[] = {"08:30-12:00,11:00-13:00",
                         "25:00-26:00",
                         "08:30-12:00,",
                         "12:00-08:30",
                         "8:30-12:00",
                         "",
                         "08:30-12:00,13:00-14:00,15:00-16:00,17:00-18:00,19:00-20:00",
                         "08:30-24:30"};

    (void)state;
    assert_int_equal(cg_calendar_hours_parse("08:30-12:00,14:00-17:30", "2026-06-01", &h, &err), 0);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.p[1].end_min, 17 * 60 + 30);
    assert_int_equal(cg_calendar_hours_parse("00:00-24:00", "2026-06-01", &h, &err), 0);
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++) {
        cg_error_clear(&err);
        if (cg_calendar_hours_parse(bad[i], "2026-06-01", &h, &err) != CG_EINVAL) {
            fail_msg("hours '%s' were accepted", bad[i]);
        }
        assert_string_equal(err.field, "hours");
    }
    cg_error_clear(&err);
    assert_int_equal(cg_calendar_hours_parse("08:30-12:00", "2026-06-31", &h, &err), CG_EINVAL);
    assert_string_equal(err.field, "from");
}

/* ---- the store -------------------------------------------------------------------------- */

static void import_text(struct cg_db *db, const char *text, int code,
                        struct cg_calendar_import_result *res)
{
    struct cg_calendar_year y;
    struct cg_error err = CG_ERROR_INIT;

    assert_int_equal(parse_text(text, &y, &err), 0);
    if (cg_calendar_import(db, &y, 0, "tester", "unit", res, &err) != code) {
        fail_msg("import: wanted %d, got '%s'", code, err.message);
    }
    cg_calendar_year_release(&y);
}

static void test_import_and_reload(void **state)
{
    struct fixture *f = *state;
    struct cg_calendar_import_result res = {0};
    struct cg_calendar *cal = NULL;
    struct cg_calendar_year_info info;
    struct cg_calendar_day d;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_audit_query q = {.action = "calendar.", .limit = 10};
    json_t *recs = NULL;
    int64_t next = 0;

    import_text(f->db,
                SRC "# year: 2027\ndate,kind,name\n2027-01-01,holiday,测试\n"
                    "2027-01-02,workday,测试\n",
                0, &res);
    assert_false(res.replaced);
    assert_int_equal(res.holidays, 1);
    assert_int_equal(res.workdays, 1);
    /* the snapshot loaded before is unchanged; a new one sees the year */
    assert_string_equal(deadline(f->cal, "2027-01-04T09:00:00+08:00", "1", "work_hour"), "error");
    assert_int_equal(cg_calendar_load(f->db, &cal, &err), 0);
    assert_string_equal(deadline(cal, "2026-12-31T17:00:00+08:00", "1", "work_hour"),
                        "2027-01-02T09:00:00+08:00");
    assert_int_equal(cg_calendar_year_get(cal, 2027, &info, &err), 0);
    assert_string_equal(info.loaded_by, "tester");
    cg_calendar_release(cal);
    /* importing the year again replaces its rows */
    import_text(f->db, SRC "# year: 2027\ndate,kind,name\n2027-01-01,holiday,测试\n", 0, &res);
    assert_true(res.replaced);
    assert_int_equal(cg_calendar_load(f->db, &cal, &err), 0);
    assert_string_equal(deadline(cal, "2026-12-31T17:00:00+08:00", "1", "work_hour"),
                        "2027-01-04T09:00:00+08:00");
    cg_calendar_release(cal);
    /* a date that belongs to another year's arrangement: refused, nothing changed */
    import_text(f->db, SRC "# year: 2028\ndate,kind,name\n2027-12-31,holiday,测试\n", 0, &res);
    import_text(f->db, SRC "# year: 2027\ndate,kind,name\n2027-12-31,holiday,测试\n", CG_ECONFLICT,
                &res);
    assert_int_equal(cg_calendar_load(f->db, &cal, &err), 0);
    assert_int_equal(cg_calendar_year_count(cal), 4);
    /* 2027-01-01 from the 2027 rows the failed import left, 2027-12-31 from 2028's notice */
    assert_int_equal(cg_calendar_year_get(cal, 2027, &info, &err), 0);
    assert_int_equal(info.holidays, 2);
    assert_int_equal(cg_calendar_day_info(cal, "2027-12-31", &d, &err), 0);
    assert_int_equal(d.kind, CG_CALENDAR_HOLIDAY);
    cg_calendar_release(cal);
    /* every import left an audit record */
    assert_int_equal(cg_audit_search(f->db, &q, &recs, &next, &err), 0);
    assert_int_equal(json_array_size(recs), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "action")),
                        "calendar.import");
    json_decref(recs);
}

static void test_hours_versions(void **state)
{
    struct fixture *f = *state;
    struct cg_calendar_hours h;
    struct cg_calendar *cal = NULL;
    struct cg_calendar_day d;
    struct cg_error err = CG_ERROR_INIT;

    assert_int_equal(cg_calendar_hours_parse("09:00-12:00,13:30-18:00", "2026-06-01", &h, &err), 0);
    assert_int_equal(cg_calendar_set_hours(f->db, &h, 0, "tester", "unit", &err), 0);
    assert_int_equal(cg_calendar_load(f->db, &cal, &err), 0);
    assert_int_equal(cg_calendar_hours_count(cal), 2);
    assert_int_equal(cg_calendar_day_info(cal, "2026-05-29", &d, &err), 0);
    assert_int_equal(d.work_ms, 7 * H);
    assert_string_equal(d.hours->valid_from, "2000-01-01");
    assert_int_equal(cg_calendar_day_info(cal, "2026-06-01", &d, &err), 0);
    assert_int_equal(d.work_ms, 7 * H + 30 * MIN);
    /* the old hours up to Friday 05-29, the new ones from Monday 06-01 */
    assert_string_equal(deadline(cal, "2026-05-29T17:00:00+08:00", "1", "work_hour"),
                        "2026-06-01T09:30:00+08:00");
    assert_string_equal(deadline(cal, "2026-06-01T12:30:00+08:00", "1", "work_hour"),
                        "2026-06-01T14:30:00+08:00");
    /* a working day lands on the same position: 6.5 working hours into the day */
    assert_string_equal(deadline(cal, "2026-05-29T17:00:00+08:00", "1", "work_day"),
                        "2026-06-01T17:00:00+08:00");
    /* earlier deadlines do not move */
    assert_string_equal(deadline(cal, "2026-02-13T16:00:00+08:00", "8", "work_hour"),
                        "2026-02-14T17:00:00+08:00");
    cg_calendar_release(cal);
}

/* ---- an independent oracle -------------------------------------------------------------- */

/* Working minutes straight from the CSV rows and the default hours, one minute at a time. */
struct oracle {
    int64_t day0;          /* days since the epoch of 2025-01-01 */
    signed char work[731]; /* 2025 and 2026: 1 working day, 0 not */
};

static void oracle_init(struct oracle *o)
{
    const char *files[] = {"cn-2025.csv", "cn-2026.csv"};

    o->day0 = T("2025-01-01T00:00:00Z") / (24 * H);
    for (int i = 0; i < 730; i++) {
        o->work[i] = (signed char)((o->day0 + i + 3) % 7 < 5); /* Monday to Friday */
    }
    for (size_t k = 0; k < CG_ARRAY_LEN(files); k++) {
        struct cg_calendar_year y;

        parse_year_file(files[k], &y);
        for (size_t i = 0; i < y.n; i++) {
            char t[40];

            snprintf(t, sizeof(t), "%sT00:00:00Z", y.e[i].date);
            o->work[T(t) / (24 * H) - o->day0] = (signed char)y.e[i].workday;
        }
        cg_calendar_year_release(&y);
    }
}

static bool oracle_working_minute(const struct oracle *o, int64_t t)
{
    int64_t local = t + 8 * H, day = local / (24 * H) - o->day0, tod = local % (24 * H) / MIN;

    CG_ASSERT(day >= 0 && day < 730);
    return o->work[day] &&
           ((tod >= 8 * 60 + 30 && tod < 12 * 60) || (tod >= 14 * 60 && tod < 17 * 60 + 30));
}

static uint64_t rng_state = 88172645463325252u;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_oracle(void **state)
{
    struct fixture *f = *state;
    struct oracle o;
    struct cg_error err = CG_ERROR_INIT;
    int64_t t0 = T("2025-01-01T00:00:00+08:00"), t1 = T("2026-12-01T00:00:00+08:00");

    oracle_init(&o);
    for (int n = 0; n < 400; n++) {
        /* a start on a whole minute (often at the edges), 1..40 working hours */
        int64_t start = t0 + (int64_t)(rnd() % (uint64_t)((t1 - t0) / MIN)) * MIN;
        int64_t hours = 1 + (int64_t)(rnd() % 40), need = hours * 60, t = start;
        int64_t ms = 0, el = 0;
        bool w;

        if (n % 4 == 0) {
            start -= start % (30 * MIN); /* on :00 or :30, where the periods begin and end */
            t = start;
        }
        while (need) {
            if (oracle_working_minute(&o, t)) {
                need--;
            }
            t += MIN;
        }
        assert_int_equal(
            cg_calendar_add(f->cal, start, hours * 1000, CG_CALENDAR_WORK_HOUR, &ms, &err), 0);
        if (ms != t) {
            char a[CG_CALENDAR_TIME_LEN], b[CG_CALENDAR_TIME_LEN], c[CG_CALENDAR_TIME_LEN];

            cg_calendar_format_cn(start, a, sizeof(a));
            cg_calendar_format_cn(ms, b, sizeof(b));
            cg_calendar_format_cn(t, c, sizeof(c));
            fail_msg("%s + %" PRId64 " work_hour: got %s, the oracle says %s", a, hours, b, c);
        }
        /* round trip: exactly the amount has elapsed; the deadline's minute before was work */
        assert_int_equal(cg_calendar_elapsed(f->cal, start, ms, &el, &err), 0);
        assert_int_equal(el, hours * H);
        assert_int_equal(cg_calendar_is_working(f->cal, ms - 1, &w, &err), 0);
        assert_true(w);
        /* whole working days: N x 7 h of working time from a start inside working time */
        if (oracle_working_minute(&o, start)) {
            int64_t days = 1 + hours % 5;

            assert_int_equal(
                cg_calendar_add(f->cal, start, days * 1000, CG_CALENDAR_WORK_DAY, &ms, &err), 0);
            assert_int_equal(cg_calendar_elapsed(f->cal, start, ms, &el, &err), 0);
            assert_int_equal(el, days * 7 * H);
        }
    }
}

/* ---- threads ---------------------------------------------------------------------------- */

struct thread_arg {
    struct cg_calendar *cal;
    int64_t sum;
};

static void *thread_main(void *p)
{
    struct thread_arg *a = p;
    struct cg_error err = CG_ERROR_INIT;
    int64_t start = T("2026-01-05T09:00:00+08:00"), ms;

    for (int i = 0; i < 20000; i++) {
        if (cg_calendar_add(a->cal, start + (int64_t)i * 7 * MIN, (i % 50) * 500,
                            i % 2 ? CG_CALENDAR_WORK_DAY : CG_CALENDAR_WORK_HOUR, &ms, &err)) {
            a->sum = -1;
            break;
        }
        a->sum += ms % 1000003;
    }
    cg_calendar_release(a->cal);
    return NULL;
}

/* One snapshot shared by threads that each hold a reference; the last release frees it. */
static void test_threads(void **state)
{
    struct fixture *f = *state;
    struct thread_arg args[4] = {{0}};
    pthread_t th[4];

    for (int i = 0; i < 4; i++) {
        args[i].cal = cg_calendar_hold(f->cal);
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    for (int i = 1; i < 4; i++) {
        assert_true(args[0].sum > 0);
        assert_int_equal(args[i].sum, args[0].sum);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seed_matches_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_year_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_day_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_work_hours_spring_festival, setup, teardown),
        cmocka_unit_test_setup_teardown(test_work_days, setup, teardown),
        cmocka_unit_test_setup_teardown(test_national_day_week, setup, teardown),
        cmocka_unit_test_setup_teardown(test_elapsed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_working, setup, teardown),
        cmocka_unit_test_setup_teardown(test_natural_units, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_year_without_data, setup, teardown),
        cmocka_unit_test(test_gap_year),
        cmocka_unit_test(test_csv_parse),
        cmocka_unit_test(test_hours_parse),
        cmocka_unit_test_setup_teardown(test_import_and_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hours_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oracle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
