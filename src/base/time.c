/*
 * time.c: clocks and RFC 3339 formatting.
 */
#include "base/cg.h"
#include "base/time.h"

#include <time.h>

int64_t cg_time_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cg_time_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cg_time_iso(int64_t ms, char *buf, size_t size)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&s, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

void cg_time_iso_s(int64_t secs, char *buf, size_t size)
{
    time_t s = (time_t)secs;
    struct tm tm;

    gmtime_r(&s, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

bool cg_time_parse_iso(const char *in, int64_t *out_ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, n = 0;
    struct tm tm = {0};
    time_t t;

    if (!in || sscanf(in, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) {
        return false;
    }
    in += n;
    if (*in == 'T') {
        if (sscanf(in, "T%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 9) {
            return false;
        }
        in += n;
        if (*in == '.') {
            if (sscanf(in, ".%3d%n", &ms, &n) != 1 || n != 4) {
                return false;
            }
            in += n;
        }
        if (strcmp(in, "Z")) {
            return false;
        }
    } else if (*in) {
        return false;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    /* timegm normalises 2026-02-30 to March: a real date reads back the same. */
    if (y < 1970 || y > 9999 || tm.tm_mday != d || tm.tm_mon != mo - 1 || tm.tm_hour != h ||
        tm.tm_min != mi || tm.tm_sec != sec) {
        return false;
    }
    *out_ms = (int64_t)t * 1000 + ms;
    return true;
}
