/*
 * calendar_int.h: private to the calendar module: what calendar.c and
 * calendar_store.c share (the rows read from the store, the store functions).
 */
#ifndef CG_CALENDAR_INT_H
#define CG_CALENDAR_INT_H

#include "domain/calendar/calendar.h"

/* Everything the store holds, as read in one transaction. */
struct cg_calendar__data {
    struct cg_calendar_hours *hours; /* nh versions in valid_from order; owned */
    size_t nh;
    struct cg_calendar_year *years; /* ny years in year order, rows in date order; owned */
    size_t ny;
};

/* Frees what d owns and zeroes it. */
void cg_calendar__data_release(struct cg_calendar__data *d);

/* Reads the hours, years and days into out (released by the caller, also on error). */
int cg_calendar__read(struct cg_db *db, struct cg_calendar__data *out, struct cg_error *err);

/* Replaces the rows of a checked year and appends the audit record, in one write job. */
int cg_calendar__store_year(struct cg_db *db, const struct cg_calendar_year *y, int64_t actor_id,
                            const char *actor_login, const char *remote,
                            struct cg_calendar_import_result *out, struct cg_error *err);

/* Replaces the hours version of h->valid_from and appends the audit record, in one job. */
int cg_calendar__store_hours(struct cg_db *db, const struct cg_calendar_hours *h, int64_t actor_id,
                             const char *actor_login, const char *remote, struct cg_error *err);

/* "HH:MM" of minutes after midnight (0..1440) into buf (at least 6 bytes). */
void cg_calendar__hhmm(int min, char *buf, size_t size);

#endif
