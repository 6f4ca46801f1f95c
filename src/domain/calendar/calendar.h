/*
 * calendar.h: the working calendar (docs/CALENDAR.md). Working hours per day,
 * weekends, the public holidays (法定节假日) and swapped working days (调休上班)
 * of each year as data, and deadline arithmetic in working time (工作时, 工作日)
 * and natural time (自然时, 自然日).
 *
 * Times. Instants are milliseconds since the Unix epoch (UTC), as everywhere in
 * civgrid; they are stored and exchanged as RFC 3339 UTC. The calendar itself
 * works in China time (UTC+8, no daylight saving): days are China dates and
 * working hours China clock times.
 *
 * Rules (docs/CALENDAR.md, "Rules"):
 * - A day is a working day when it is a swapped working day (a calendar row of
 *   kind workday), or a Monday to Friday that is not a holiday row. Working
 *   periods are half-open: with 08:30-12:00, 08:30:00 is working time and
 *   12:00:00 is not.
 * - work_hour: the deadline is the earliest instant at which the amount of
 *   working time has passed since the start. A start outside working time
 *   counts from the next working period's start; a deadline that uses up a
 *   period exactly is that period's end (12:00, not 14:00).
 * - work_day: the same position in the working day, N working days later
 *   ("same clock time": Monday 10:00 + 1 = Tuesday 10:00; with uniform hours
 *   exactly N x the day's working hours). A start outside working time counts
 *   from the next period's start, so a start before, after or between working
 *   days + 1 is the end of the next full working day (17:30). A fraction of a
 *   day is that fraction of the landing day's working time (0.5 = 3.5 h).
 * - natural_hour, natural_day: start + N x 3600 s or N x 86400 s (China has no
 *   DST: the same clock time N days later). They never need the calendar.
 *
 * Coverage. Working-time arithmetic needs every day it touches to belong to a
 * year whose arrangement is loaded. Nothing is ever guessed: a day of a year
 * without data gives CG_ENOTFOUND with err naming the year.
 *
 * A struct cg_calendar is an immutable snapshot: every query is a pure function
 * of it, safe from any number of threads at once. It is reference counted
 * (cg_calendar_hold() / cg_calendar_release()) so that a server can swap in a new
 * snapshot after an import while requests still use the old one.
 */
#ifndef CG_CALENDAR_H
#define CG_CALENDAR_H

#include "base/cg.h"
#include "base/err.h"

struct cg_db;
struct cg_calendar;

#define CG_CALENDAR_YEAR_MIN 2000
#define CG_CALENDAR_YEAR_MAX 2099
#define CG_CALENDAR_UTC_OFFSET_MS (8 * 3600 * 1000) /* China time: UTC+8, no DST */
#define CG_CALENDAR_PERIODS_MAX 4                   /* working periods in a day */
#define CG_CALENDAR_NAME_MAX 32                     /* characters of a holiday name */
#define CG_CALENDAR_SOURCE_MAX 500                  /* characters of a year's source */
#define CG_CALENDAR_ROWS_MAX 400                    /* rows of one year's file */
#define CG_CALENDAR_CSV_MAX ((size_t)64 << 10)      /* bytes of one year's file */
#define CG_CALENDAR_AMOUNT_MAX 100000               /* largest amount, in units */
#define CG_CALENDAR_DATE_LEN 11                     /* "2026-02-14" plus NUL */
#define CG_CALENDAR_TIME_LEN 30                     /* "2026-02-14T17:00:00.000+08:00" + NUL */

/* Units of a time limit; the names are the stable text forms ("work_hour"). */
enum cg_calendar_unit {
    CG_CALENDAR_WORK_HOUR = 0, /* 工作时 */
    CG_CALENDAR_WORK_DAY,      /* 工作日 */
    CG_CALENDAR_NATURAL_HOUR,  /* 自然时 */
    CG_CALENDAR_NATURAL_DAY,   /* 自然日 */
};
extern const char *const cg_calendar_unit_names[]; /* by enum value, NULL-terminated */

/* What a day is. */
enum cg_calendar_kind {
    CG_CALENDAR_WORKDAY = 0, /* Monday to Friday without a holiday */
    CG_CALENDAR_WEEKEND,     /* Saturday or Sunday without a swap */
    CG_CALENDAR_HOLIDAY,     /* a holiday row: a day of a 放假(调休) range */
    CG_CALENDAR_SWAPPED,     /* a workday row: Saturday or Sunday worked (调休上班) */
};

/* One working period, in minutes after China midnight: 0 <= start < end <= 1440. */
struct cg_calendar_period {
    int start_min, end_min;
};

/* The working periods in force from valid_from until the next version. */
struct cg_calendar_hours {
    char valid_from[CG_CALENDAR_DATE_LEN];                /* China date */
    int n;                                                /* 1..CG_CALENDAR_PERIODS_MAX periods */
    struct cg_calendar_period p[CG_CALENDAR_PERIODS_MAX]; /* ascending, not overlapping */
};

/* One row of a year's arrangement. */
struct cg_calendar_entry {
    char date[CG_CALENDAR_DATE_LEN]; /* China date */
    bool workday;                    /* true: 调休上班 (a Saturday or Sunday); false: holiday */
    char name[CG_CALENDAR_NAME_MAX * 4 + 1]; /* 春节, 国庆节... (UTF-8) */
};

/* One year's arrangement, as read from a file or the store. */
struct cg_calendar_year {
    int year;
    char *source;                /* the notice it comes from; owned */
    char *loaded_at;             /* RFC 3339 UTC, NULL until stored; owned */
    char *loaded_by;             /* NULL until stored; owned */
    struct cg_calendar_entry *e; /* n rows in date order; owned */
    size_t n;
};

/* Frees what y owns and zeroes it. NULL-safe. */
void cg_calendar_year_release(struct cg_calendar_year *y);

/*
 * Parses one year's CSV file (data/calendar/cn-YYYY.csv; docs/CALENDAR.md,
 * "File format") into out, which owns its parts afterwards (free with
 * cg_calendar_year_release(), also on error). Checks every row: real dates of
 * the year (or of the December before or January after it), kind holiday or
 * workday, a workday only on a Saturday or Sunday, a name, no date twice; and a
 * "# source:" line. Returns 0, CG_ETOOBIG past CG_CALENDAR_CSV_MAX bytes or
 * CG_CALENDAR_ROWS_MAX rows, or CG_EINVAL with the line number in the message.
 */
int cg_calendar_year_parse(const char *text, size_t len, struct cg_calendar_year *out,
                           struct cg_error *err) CG_MUST_CHECK;

/*
 * Parses "08:30-12:00,14:00-17:30" (1..CG_CALENDAR_PERIODS_MAX ascending,
 * non-overlapping periods; "24:00" may end the last) into out->n and out->p,
 * with valid_from (a China date "YYYY-MM-DD") into out->valid_from. CG_EINVAL
 * naming the field ("hours" or "from") otherwise.
 */
int cg_calendar_hours_parse(const char *periods, const char *valid_from,
                            struct cg_calendar_hours *out, struct cg_error *err) CG_MUST_CHECK;

/* ---- the store ------------------------------------------------------------------------- */

/* What an import did. */
struct cg_calendar_import_result {
    bool replaced;   /* the year had rows before: they were replaced */
    size_t holidays; /* holiday rows stored */
    size_t workdays; /* workday rows stored */
};

/*
 * Stores the year y (from cg_calendar_year_parse()) in one transaction,
 * replacing any rows the year had, with an audit record (calendar.import by
 * actor_login, may be NULL for the command line, from remote, may be NULL).
 * CG_ECONFLICT when a date already belongs to another year's arrangement;
 * nothing is changed on error. Snapshots loaded before keep the old data.
 */
int cg_calendar_import(struct cg_db *db, const struct cg_calendar_year *y, int64_t actor_id,
                       const char *actor_login, const char *remote,
                       struct cg_calendar_import_result *out, struct cg_error *err) CG_MUST_CHECK;

/*
 * Stores a version of the working hours in force from h->valid_from, replacing
 * a version with the same date, with an audit record (calendar.hours). Days
 * before h->valid_from keep their hours, so earlier deadlines do not move.
 */
int cg_calendar_set_hours(struct cg_db *db, const struct cg_calendar_hours *h, int64_t actor_id,
                          const char *actor_login, const char *remote,
                          struct cg_error *err) CG_MUST_CHECK;

/*
 * Loads a snapshot of the calendar from the store (one read transaction).
 * Returns 0 and a new snapshot owned by the caller (free with
 * cg_calendar_release()), or a store error, or CG_EINVAL when the stored data
 * is unusable (no working hours).
 */
int cg_calendar_load(struct cg_db *db, struct cg_calendar **out,
                     struct cg_error *err) CG_MUST_CHECK;

/*
 * Builds a snapshot from data: nh versions of the hours (at least one; the
 * earliest also applies before its valid_from) and ny years. Nothing is taken
 * over: the data is copied. Returns 0 and a new snapshot owned by the caller
 * (free with cg_calendar_release()), or CG_EINVAL (bad hours, a year outside
 * CG_CALENDAR_YEAR_MIN..MAX or twice, a date twice).
 */
int cg_calendar_build(const struct cg_calendar_hours *hours, size_t nh,
                      const struct cg_calendar_year *years, size_t ny, struct cg_calendar **out,
                      struct cg_error *err) CG_MUST_CHECK;

/* Takes one more reference to cal and returns it. */
struct cg_calendar *cg_calendar_hold(struct cg_calendar *cal);
/* Drops one reference; the last one frees the snapshot. NULL-safe. */
void cg_calendar_release(struct cg_calendar *cal);

/* ---- arithmetic ------------------------------------------------------------------------ */

/*
 * The deadline of a time limit: start_ms plus amount_milli thousandths of unit
 * (8000 = 8, 500 = 0.5), by the rules above, into *out_ms (>= start_ms).
 * CG_EINVAL naming "amount" (negative, over CG_CALENDAR_AMOUNT_MAX units) or
 * "unit" (not a cg_calendar_unit); CG_ENOTFOUND naming the year when the
 * arithmetic reaches a day without data (work units only).
 */
int cg_calendar_add(const struct cg_calendar *cal, int64_t start_ms, int64_t amount_milli,
                    enum cg_calendar_unit unit, int64_t *out_ms,
                    struct cg_error *err) CG_MUST_CHECK;

/*
 * The working time between two instants, in ms, into *out_ms: what passed in
 * [from, to) when from <= to, and minus the working time of [to, from)
 * otherwise, so elapsed(now, deadline) is the working time left, negative once
 * overdue. CG_ENOTFOUND naming the year when a day between has no data.
 */
int cg_calendar_elapsed(const struct cg_calendar *cal, int64_t from_ms, int64_t to_ms,
                        int64_t *out_ms, struct cg_error *err) CG_MUST_CHECK;

/* Whether t_ms is working time, into *out. CG_ENOTFOUND when its year has no data. */
int cg_calendar_is_working(const struct cg_calendar *cal, int64_t t_ms, bool *out,
                           struct cg_error *err) CG_MUST_CHECK;

/* ---- days and years -------------------------------------------------------------------- */

/* What a day is. Strings and hours are borrowed from the snapshot. */
struct cg_calendar_day {
    enum cg_calendar_kind kind;
    int weekday;                           /* 1 Monday .. 7 Sunday */
    const char *name;                      /* holiday and swapped days: 春节...; else "" */
    int64_t work_ms;                       /* working time of the day, 0 on days off */
    const struct cg_calendar_hours *hours; /* the hours in force that day */
};

/*
 * Describes the China date "YYYY-MM-DD" into out. CG_EINVAL naming "date" for
 * anything else, CG_ENOTFOUND when its year has no data.
 */
int cg_calendar_day_info(const struct cg_calendar *cal, const char *date,
                         struct cg_calendar_day *out, struct cg_error *err) CG_MUST_CHECK;

/* A loaded year and its counts. Strings borrowed from the snapshot. */
struct cg_calendar_year_info {
    int year;
    const char *source, *loaded_at, *loaded_by;
    int working_days;     /* days with working time, swapped ones included */
    int holidays;         /* holiday rows dated in the year (weekends included) */
    int holiday_weekdays; /* of which Monday to Friday */
    int swapped;          /* workday rows dated in the year */
};

/* Number of years loaded, and the i-th in ascending order (i < count). */
size_t cg_calendar_year_count(const struct cg_calendar *cal);
void cg_calendar_year_at(const struct cg_calendar *cal, size_t i,
                         struct cg_calendar_year_info *out);
/* The year's info; CG_ENOTFOUND when it has no data. */
int cg_calendar_year_get(const struct cg_calendar *cal, int year, struct cg_calendar_year_info *out,
                         struct cg_error *err) CG_MUST_CHECK;

/* Versions of the working hours, ascending by valid_from; borrowed from the snapshot. */
size_t cg_calendar_hours_count(const struct cg_calendar *cal);
const struct cg_calendar_hours *cg_calendar_hours_at(const struct cg_calendar *cal, size_t i);

/* ---- text forms ------------------------------------------------------------------------ */

/* "work_hour", "work_day", "natural_hour", "natural_day" into *out; CG_EINVAL naming "unit". */
int cg_calendar_unit_parse(const char *s, enum cg_calendar_unit *out,
                           struct cg_error *err) CG_MUST_CHECK;

/*
 * A non-negative decimal amount with up to three decimals ("8", "0.5", "2.25")
 * into thousandths; CG_EINVAL naming "amount" for anything else (signs,
 * exponents, more decimals, over CG_CALENDAR_AMOUNT_MAX).
 */
int cg_calendar_amount_parse(const char *s, int64_t *out_milli, struct cg_error *err) CG_MUST_CHECK;

/*
 * Parses an RFC 3339 instant with "Z" or an offset ("2026-02-13T16:00:00+08:00",
 * fractions of a second cut to ms) into ms since the epoch; false for anything
 * else, a date that does not exist or a year outside 1970..9999.
 */
bool cg_calendar_parse_time(const char *s, int64_t *out_ms);

/* Formats ms as China time "2026-02-14T17:00:00+08:00" (".mmm" only when not 0). */
void cg_calendar_format_cn(int64_t ms, char *buf, size_t size);

#endif
