/*
 * fuzz_calendar_csv.c: cg_calendar_year_parse() (src/domain/calendar/calendar.h),
 * the reader of `civgrid calendar import` and its API. A year that parses is
 * built into a calendar snapshot and a few deadlines are computed on it, so
 * the arithmetic meets whatever arrangements the parser lets through.
 */
#include "base/cg.h"
#include "domain/calendar/calendar.h"

#include <stdio.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cg_calendar_year y;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_calendar_hours h;
    struct cg_calendar *cal = NULL;
    int rc;

    memset(&y, 0, sizeof(y));
    rc = cg_calendar_year_parse((const char *)data, size, &y, &err);
    FUZZ_ASSERT(rc <= 0);
    if (!rc) {
        FUZZ_ASSERT(y.year >= CG_CALENDAR_YEAR_MIN && y.year <= CG_CALENDAR_YEAR_MAX);
        FUZZ_ASSERT(y.n <= CG_CALENDAR_ROWS_MAX);
        for (size_t i = 1; i < y.n; i++) {
            FUZZ_ASSERT(strcmp(y.e[i - 1].date, y.e[i].date) < 0); /* date order, none twice */
        }
        FUZZ_ASSERT(cg_calendar_hours_parse("08:30-12:00,14:00-17:30", "2000-01-01", &h, &err) ==
                    0);
        if (!cg_calendar_build(&h, 1, &y, 1, &cal, &err)) {
            char date[32];
            int64_t start, out = 0, back = 0;

            snprintf(date, sizeof(date), "%04d-06-01T00:00:00Z", y.year);
            if (cg_calendar_parse_time(date, &start)) {
                for (int u = 0; u <= CG_CALENDAR_NATURAL_DAY; u++) {
                    if (!cg_calendar_add(cal, start, 8000, (enum cg_calendar_unit)u, &out, &err)) {
                        FUZZ_ASSERT(out >= start);
                        if (!cg_calendar_elapsed(cal, start, out, &back, &err)) {
                            FUZZ_ASSERT(back >= 0);
                        }
                    }
                }
            }
            cg_calendar_release(cal);
        }
    }
    cg_calendar_year_release(&y);
    return 0;
}
