/*
 * time.h: clocks and timestamps. Wall-clock times leave civgrid as RFC 3339
 * strings in UTC; durations are measured on the monotonic clock.
 */
#ifndef CG_TIME_H
#define CG_TIME_H

#include "base/cg.h"

#define CG_TIME_ISO_LEN 25 /* "2026-11-23T09:00:00.123Z" plus NUL */

/* Nanoseconds on the monotonic clock; only differences are meaningful. */
int64_t cg_time_mono_ns(void);
/* Milliseconds since the Unix epoch (wall clock). */
int64_t cg_time_now_ms(void);
/* Formats ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (at least CG_TIME_ISO_LEN). */
void cg_time_iso(int64_t ms, char *buf, size_t size);
/* Formats seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ". */
void cg_time_iso_s(int64_t s, char *buf, size_t size);

/*
 * Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DDTHH:MM:SS.mmmZ"
 * (UTC) into ms since the epoch; false for anything else or a date that does
 * not exist.
 */
bool cg_time_parse_iso(const char *in, int64_t *out_ms);

#endif
