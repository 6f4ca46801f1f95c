/*
 * fuzz_time.c: cg_time_parse_iso() (src/base/time.h), the reader of every
 * ?from=, ?to=, ?at= and time field, and cg_calendar_parse_time(), its RFC 3339
 * counterpart with offsets. What parses must be a real instant that formats
 * back to a string that parses to the same instant (China time: up to year 9999).
 */
#include "base/cg.h"
#include "base/time.h"
#include "domain/calendar/calendar.h"

#include <stdio.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    char buf[64];
    int64_t ms = 0, again = 0;

    if (!s) {
        return 0;
    }
    if (cg_time_parse_iso(s, &ms)) {
        FUZZ_ASSERT(ms >= 0);
        cg_time_iso(ms, buf, sizeof(buf));
        FUZZ_ASSERT(cg_time_parse_iso(buf, &again));
        FUZZ_ASSERT(again == ms);
        FUZZ_ASSERT(cg_calendar_parse_time(buf, &again) && again == ms);
    }
    if (cg_calendar_parse_time(s, &ms)) {
        cg_calendar_format_cn(ms, buf, sizeof(buf));
        /* 9999-12-31T16:00Z and later is year 10000 in China time, past what parses. */
        if (buf[4] == '-') {
            FUZZ_ASSERT(cg_calendar_parse_time(buf, &again));
            FUZZ_ASSERT(again == ms);
        }
    }
    free(s);
    return 0;
}
