/*
 * calendar_store.c: the SQL of the calendar module, through db.h only. An
 * import or a change of hours is one write job that also appends its audit
 * record, so the data and its trace commit (or roll back) together. Reads take
 * the whole calendar in one read transaction, so a snapshot never mixes the
 * data before and after an import.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/audit/audit.h"
#include "domain/calendar/calendar_int.h"

/* "HH:MM" (checked by the schema's writers, re-checked by the builder) into minutes. */
static int minutes_of(const char *s)
{
    if (strlen(s) != 5 || s[2] != ':') {
        return -1;
    }
    return ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 + (s[4] - '0');
}

static int read_hours(struct cg_conn *c, struct cg_calendar__data *out, struct cg_error *err)
{
    struct cg_stmt *st = NULL;
    size_t cap = 0;
    int rc = cg_db_prepare(c,
                           "SELECT valid_from, position, start_time, end_time FROM calendar_hours"
                           " ORDER BY valid_from, position",
                           &st, err);

    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        const char *from = cg_db_column_text(st, 0);
        struct cg_calendar_hours *h = out->nh ? &out->hours[out->nh - 1] : NULL;

        rc = 0;
        if (!h || strcmp(h->valid_from, from)) {
            if (out->nh == cap) {
                cap = cap ? cap * 2 : 4;
                out->hours = cg_realloc(out->hours, cap * sizeof(*out->hours));
            }
            h = &out->hours[out->nh++];
            memset(h, 0, sizeof(*h));
            snprintf(h->valid_from, sizeof(h->valid_from), "%s", from);
        }
        if (h->n == CG_CALENDAR_PERIODS_MAX) {
            rc = cg_error_set(err, CG_EINVAL, "more than %d working periods from %s",
                              CG_CALENDAR_PERIODS_MAX, from);
            break;
        }
        h->p[h->n].start_min = minutes_of(cg_db_column_text(st, 2));
        h->p[h->n].end_min = minutes_of(cg_db_column_text(st, 3));
        h->n++;
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

static int read_years(struct cg_conn *c, struct cg_calendar__data *out, struct cg_error *err)
{
    struct cg_stmt *st = NULL;
    size_t cap = 0;
    int rc = cg_db_prepare(c,
                           "SELECT year, source, loaded_at, loaded_by FROM calendar_year"
                           " ORDER BY year",
                           &st, err);

    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        struct cg_calendar_year *y;

        rc = 0;
        if (out->ny == cap) {
            cap = cap ? cap * 2 : 8;
            out->years = cg_realloc(out->years, cap * sizeof(*out->years));
        }
        y = &out->years[out->ny++];
        memset(y, 0, sizeof(*y));
        y->year = (int)cg_db_column_int64(st, 0);
        y->source = cg_strdup(cg_db_column_text(st, 1));
        y->loaded_at = cg_strdup(cg_db_column_text(st, 2));
        y->loaded_by = cg_strdup(cg_db_column_text(st, 3));
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

static struct cg_calendar_year *year_in(struct cg_calendar__data *d, int year)
{
    for (size_t i = 0; i < d->ny; i++) {
        if (d->years[i].year == year) {
            return &d->years[i];
        }
    }
    return NULL;
}

static int read_days(struct cg_conn *c, struct cg_calendar__data *out, struct cg_error *err)
{
    struct cg_stmt *st = NULL;
    int rc = cg_db_prepare(c, "SELECT cn_date, year, kind, name FROM calendar_day ORDER BY cn_date",
                           &st, err);

    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        struct cg_calendar_year *y = year_in(out, (int)cg_db_column_int64(st, 1));
        struct cg_calendar_entry *e;

        rc = 0;
        if (!y) {
            continue; /* the foreign key makes this impossible */
        }
        /* Rows come in date order, so each year's rows do too; grow by powers of two. */
        if (!(y->n & (y->n - 1)) || !y->n) {
            y->e = cg_realloc(y->e, (y->n ? y->n * 2 : 1) * sizeof(*y->e));
        }
        e = &y->e[y->n++];
        memset(e, 0, sizeof(*e));
        snprintf(e->date, sizeof(e->date), "%s", cg_db_column_text(st, 0));
        e->workday = !strcmp(cg_db_column_text(st, 2), "workday");
        snprintf(e->name, sizeof(e->name), "%s", cg_db_column_text(st, 3));
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

int cg_calendar__read(struct cg_db *db, struct cg_calendar__data *out, struct cg_error *err)
{
    struct cg_conn *c;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = cg_db_read_begin(db, &c, err);
    if (rc) {
        return rc;
    }
    rc = read_hours(c, out, err);
    rc = rc ? rc : read_years(c, out, err);
    rc = rc ? rc : read_days(c, out, err);
    cg_db_read_end(c);
    return rc;
}

/* ---- writes ----------------------------------------------------------------------------- */

struct year_job {
    const struct cg_calendar_year *y;
    int64_t actor_id;
    const char *actor_login, *remote;
    char now[CG_TIME_ISO_LEN];
    struct cg_calendar_import_result res;
};

/* Runs on the writer thread (see cg_db_write()). */
static int year_job_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct year_job *j = ctx;
    const struct cg_calendar_year *y = j->y;
    char object[8], detail[CG_CALENDAR_SOURCE_MAX * 4 + 64];
    int64_t had = 0;
    int rc = cg_db_query_int64(c, "SELECT COUNT(*) FROM calendar_year WHERE year = ?1", &had, err,
                               "i", (int64_t)y->year);

    j->res.replaced = had > 0;
    rc = rc ? rc
            : cg_db_run(c, "DELETE FROM calendar_day WHERE year = ?1", err, "i", (int64_t)y->year);
    rc = rc ? rc
            : cg_db_run(c, "DELETE FROM calendar_year WHERE year = ?1", err, "i", (int64_t)y->year);
    rc = rc ? rc
            : cg_db_run(c,
                        "INSERT INTO calendar_year(year, source, loaded_at, loaded_by)"
                        " VALUES (?1, ?2, ?3, ?4)",
                        err, "ittt", (int64_t)y->year, y->source, j->now,
                        j->actor_login ? j->actor_login : "cli");
    for (size_t i = 0; !rc && i < y->n; i++) {
        const struct cg_calendar_entry *e = &y->e[i];
        int64_t other = 0;

        rc = cg_db_query_int64(c, "SELECT year FROM calendar_day WHERE cn_date = ?1", &other, err,
                               "t", e->date);
        if (!rc) {
            return cg_error_field(err, CG_ECONFLICT, "date",
                                  "%s already belongs to the arrangement of %" PRId64, e->date,
                                  other);
        }
        if (rc != CG_ENOTFOUND) {
            return rc;
        }
        cg_error_clear(err);
        rc = cg_db_run(
            c, "INSERT INTO calendar_day(cn_date, year, kind, name) VALUES (?1, ?2, ?3, ?4)", err,
            "titt", e->date, (int64_t)y->year, e->workday ? "workday" : "holiday", e->name);
        if (e->workday) {
            j->res.workdays++;
        } else {
            j->res.holidays++;
        }
    }
    if (!rc) {
        struct cg_audit_entry a = {j->actor_id,     j->actor_login, j->remote, "calendar.import",
                                   "calendar_year", object,         "ok",      detail};

        snprintf(object, sizeof(object), "%d", y->year);
        snprintf(detail, sizeof(detail), "%s%zu holidays, %zu workdays; source: %s",
                 j->res.replaced ? "replaced; " : "", j->res.holidays, j->res.workdays, y->source);
        rc = cg_audit_append(c, &a, err);
    }
    return rc;
}

int cg_calendar__store_year(struct cg_db *db, const struct cg_calendar_year *y, int64_t actor_id,
                            const char *actor_login, const char *remote,
                            struct cg_calendar_import_result *out, struct cg_error *err)
{
    struct year_job j = {y, actor_id, actor_login, remote, "", {0}};
    int rc;

    cg_time_iso(cg_time_now_ms(), j.now, sizeof(j.now));
    rc = cg_db_write(db, year_job_run, &j, err);
    if (!rc) {
        *out = j.res;
    }
    return rc;
}

struct hours_job {
    const struct cg_calendar_hours *h;
    int64_t actor_id;
    const char *actor_login, *remote;
};

/* Runs on the writer thread (see cg_db_write()). */
static int hours_job_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct hours_job *j = ctx;
    const struct cg_calendar_hours *h = j->h;
    char detail[128] = "", a[8], b[8];
    size_t off = 0;
    int rc =
        cg_db_run(c, "DELETE FROM calendar_hours WHERE valid_from = ?1", err, "t", h->valid_from);

    for (int i = 0; !rc && i < h->n; i++) {
        cg_calendar__hhmm(h->p[i].start_min, a, sizeof(a));
        cg_calendar__hhmm(h->p[i].end_min, b, sizeof(b));
        rc = cg_db_run(c,
                       "INSERT INTO calendar_hours(valid_from, position, start_time, end_time)"
                       " VALUES (?1, ?2, ?3, ?4)",
                       err, "titt", h->valid_from, (int64_t)(i + 1), a, b);
        off += (size_t)snprintf(detail + off, sizeof(detail) - off, "%s%s-%s", i ? "," : "", a, b);
    }
    if (!rc) {
        struct cg_audit_entry e = {j->actor_id,      j->actor_login, j->remote, "calendar.hours",
                                   "calendar_hours", h->valid_from,  "ok",      detail};

        rc = cg_audit_append(c, &e, err);
    }
    return rc;
}

int cg_calendar__store_hours(struct cg_db *db, const struct cg_calendar_hours *h, int64_t actor_id,
                             const char *actor_login, const char *remote, struct cg_error *err)
{
    struct hours_job j = {h, actor_id, actor_login, remote};

    return cg_db_write(db, hours_job_run, &j, err);
}
