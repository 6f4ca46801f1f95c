/*
 * calendar.c: the rules of the working calendar (calendar.h, docs/CALENDAR.md):
 * reading a year's CSV file and working hours, building snapshots, and the
 * arithmetic. The SQL is in calendar_store.c.
 *
 * A snapshot covers whole years, from January 1 of the first loaded year to
 * December 31 of the last. For each day of that range it keeps its kind, its
 * hours and three prefix sums: working ms before the day (cum), working days
 * before it (wd) and days without data before it (unc, for a year missing
 * between two loaded ones). Working time before any instant is then cum[day]
 * plus the part of that day's periods before its clock time, and a deadline is
 * a binary search on cum (or wd): no query walks day by day.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/str.h"
#include "db/db.h"
#include "domain/calendar/calendar.h"
#include "domain/calendar/calendar_int.h"

#include <stdatomic.h>

#define DAY_MS INT64_C(86400000)
#define MIN_MS INT64_C(60000)
#define NO_DATA 255                 /* kind of a day whose year has no data */
#define TIME_END_MS 253402300800000 /* 10000-01-01T00:00:00Z: first instant we cannot format */

const char *const cg_calendar_unit_names[] = {"work_hour", "work_day", "natural_hour",
                                              "natural_day", NULL};

struct year_rec {
    struct cg_calendar_year_info info;
    struct cg_calendar_year y; /* owned copy: source, loaded_at, loaded_by, rows */
};

struct cg_calendar {
    atomic_int refs;
    struct cg_calendar_hours *hours; /* nh versions ascending by valid_from */
    int64_t *hours_from;             /* their valid_from as days since the epoch */
    size_t nh;
    struct year_rec *years; /* ny loaded years, ascending */
    size_t ny;
    int64_t day0;       /* days since the epoch of the range's first day */
    int64_t ndays;      /* days in the range (0 when no year is loaded) */
    uint8_t *kind;      /* per day: enum cg_calendar_kind, or NO_DATA */
    uint16_t *hix;      /* per day: index into hours */
    const char **names; /* per day: borrowed from years[].y.e, "" when none */
    int64_t *cum;       /* ndays + 1: working ms before each day */
    int32_t *wd;        /* ndays + 1: working days before each day */
    int32_t *unc;       /* ndays + 1: days without data before each day */
};

/* ---- dates ------------------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    int64_t yy = m <= 2 ? y - 1 : y;
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *out_y, int *out_m, int *out_d)
{
    int64_t era, doe, yoe, doy, mp, y;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *out_d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *out_m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *out_y = (int)(*out_m <= 2 ? y + 1 : y);
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

/* 1 Monday .. 7 Sunday (1970-01-01 was a Thursday). */
static int weekday_of(int64_t days)
{
    return (int)(((days % 7) + 7 + 3) % 7) + 1;
}

static const char *const weekday_en[] = {"",         "Monday", "Tuesday",  "Wednesday",
                                         "Thursday", "Friday", "Saturday", "Sunday"};

static bool digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Strict "YYYY-MM-DD" of a real date into days since the epoch. */
static bool parse_date(const char *s, int64_t *out_days)
{
    int y, m, d;

    if (strlen(s) != 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || y < 1970 || m < 1 || m > 12 || d < 1 ||
        d > days_in_month(y, m)) {
        return false;
    }
    *out_days = days_from_civil(y, m, d);
    return true;
}

static int year_of_days(int64_t days)
{
    int y, m, d;

    civil_from_days(days, &y, &m, &d);
    return y;
}

/* The year of a date already checked by parse_date(). */
static int date_year(const char *date)
{
    int y = 0;

    (void)digits(date, 4, &y);
    return y;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void cg_calendar__hhmm(int min, char *buf, size_t size)
{
    snprintf(buf, size, "%02d:%02d", min / 60, min % 60);
}

/* ---- text forms ------------------------------------------------------------------------- */

int cg_calendar_unit_parse(const char *s, enum cg_calendar_unit *out, struct cg_error *err)
{
    for (int i = 0; s && cg_calendar_unit_names[i]; i++) {
        if (!strcmp(s, cg_calendar_unit_names[i])) {
            *out = (enum cg_calendar_unit)i;
            return 0;
        }
    }
    return cg_error_field(err, CG_EINVAL, "unit",
                          "unknown unit '%s': use work_hour, work_day, natural_hour or natural_day",
                          s ? s : "");
}

int cg_calendar_amount_parse(const char *s, int64_t *out_milli, struct cg_error *err)
{
    int64_t whole = 0, frac = 0;
    int nwhole = 0, nfrac = 0;
    const char *p = s;

    for (; p && *p >= '0' && *p <= '9' && nwhole < 7; p++, nwhole++) {
        whole = whole * 10 + (*p - '0');
    }
    if (p && *p == '.' && nwhole) {
        for (p++; *p >= '0' && *p <= '9' && nfrac < 3; p++, nfrac++) {
            frac = frac * 10 + (*p - '0');
        }
        if (!nfrac) {
            p = NULL;
        }
        for (; nfrac && nfrac < 3; nfrac++) {
            frac *= 10;
        }
    }
    if (!p || !nwhole || *p || whole * 1000 + frac > (int64_t)CG_CALENDAR_AMOUNT_MAX * 1000) {
        return cg_error_field(err, CG_EINVAL, "amount",
                              "amount '%s' is not a number from 0 to %d with at most three "
                              "decimals",
                              s ? s : "", CG_CALENDAR_AMOUNT_MAX);
    }
    *out_milli = whole * 1000 + frac;
    return 0;
}

bool cg_calendar_parse_time(const char *s, int64_t *out_ms)
{
    int y, mo, d, h, mi, sec, ms = 0, nd = 0, oh = 0, om = 0, sign = 0;
    const char *p;

    if (!s || strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &sec)) {
        return false;
    }
    p = s + 19;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, nd++) {
            ms = nd < 3 ? ms * 10 + (*p - '0') : ms;
        }
        if (nd == 0 || nd > 9) {
            return false;
        }
        for (; nd < 3; nd++) {
            ms *= 10;
        }
    }
    if ((*p == 'Z' || *p == 'z') && !p[1]) {
        sign = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && digits(p + 1, 2, &oh) && p[3] == ':' &&
               digits(p + 4, 2, &om) && oh <= 23 && om <= 59) {
        sign = *p == '+' ? 1 : -1;
    } else {
        return false;
    }
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || sec > 59) {
        return false;
    }
    *out_ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * MIN_MS + sec * INT64_C(1000) + ms -
              sign * (oh * 60 + om) * MIN_MS;
    return *out_ms >= 0 && *out_ms < TIME_END_MS;
}

void cg_calendar_format_cn(int64_t ms, char *buf, size_t size)
{
    int64_t local = ms + CG_CALENDAR_UTC_OFFSET_MS;
    int64_t days = floor_div(local, DAY_MS), tod = local - days * DAY_MS;
    int y, m, d;

    civil_from_days(days, &y, &m, &d);
    if (tod % 1000) {
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+08:00", y, m, d,
                 (int)(tod / 3600000), (int)(tod / 60000 % 60), (int)(tod / 1000 % 60),
                 (int)(tod % 1000));
    } else {
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d+08:00", y, m, d, (int)(tod / 3600000),
                 (int)(tod / 60000 % 60), (int)(tod / 1000 % 60));
    }
}

/* ---- hours ------------------------------------------------------------------------------ */

/* "HH:MM" at s (5 characters) into minutes; 24:00 allowed only when end. */
static bool parse_hhmm(const char *s, bool end, int *out)
{
    int h, m;

    if (!digits(s, 2, &h) || s[2] != ':' || !digits(s + 3, 2, &m) || m > 59 ||
        h > (end ? 24 : 23) || (h == 24 && m)) {
        return false;
    }
    *out = h * 60 + m;
    return true;
}

/* The periods of h are 1..max, within the day, ascending and apart. */
static int check_hours(const struct cg_calendar_hours *h, struct cg_error *err)
{
    int64_t days;

    if (!parse_date(h->valid_from, &days)) {
        return cg_error_field(err, CG_EINVAL, "from", "'%s' is not a date (YYYY-MM-DD)",
                              h->valid_from);
    }
    if (h->n < 1 || h->n > CG_CALENDAR_PERIODS_MAX) {
        return cg_error_field(err, CG_EINVAL, "hours", "a working day has 1 to %d periods, not %d",
                              CG_CALENDAR_PERIODS_MAX, h->n);
    }
    for (int i = 0; i < h->n; i++) {
        const struct cg_calendar_period *p = &h->p[i];

        if (p->start_min < 0 || p->end_min > 1440 || p->start_min >= p->end_min ||
            (i && p->start_min < h->p[i - 1].end_min)) {
            return cg_error_field(err, CG_EINVAL, "hours",
                                  "working periods must be ascending and apart, each start "
                                  "before its end, within 00:00-24:00");
        }
    }
    return 0;
}

int cg_calendar_hours_parse(const char *periods, const char *valid_from,
                            struct cg_calendar_hours *out, struct cg_error *err)
{
    const char *p = periods;

    memset(out, 0, sizeof(*out));
    snprintf(out->valid_from, sizeof(out->valid_from), "%s", valid_from ? valid_from : "");
    if (!valid_from || strlen(valid_from) != 10) {
        return cg_error_field(err, CG_EINVAL, "from", "'%s' is not a date (YYYY-MM-DD)",
                              valid_from ? valid_from : "");
    }
    while (p && *p) {
        struct cg_calendar_period *q;

        if (out->n == CG_CALENDAR_PERIODS_MAX) {
            return cg_error_field(err, CG_EINVAL, "hours", "a working day has at most %d periods",
                                  CG_CALENDAR_PERIODS_MAX);
        }
        q = &out->p[out->n];
        if (strlen(p) < 11 || !parse_hhmm(p, false, &q->start_min) || p[5] != '-' ||
            !parse_hhmm(p + 6, true, &q->end_min) || (p[11] && (p[11] != ',' || !p[12]))) {
            return cg_error_field(err, CG_EINVAL, "hours",
                                  "hours '%s' are not periods like 08:30-12:00,14:00-17:30",
                                  periods);
        }
        out->n++;
        p += p[11] ? 12 : 11;
    }
    if (!out->n) {
        return cg_error_field(err, CG_EINVAL, "hours", "no working period given");
    }
    return check_hours(out, err);
}

/* ---- years ------------------------------------------------------------------------------ */

void cg_calendar_year_release(struct cg_calendar_year *y)
{
    if (!y) {
        return;
    }
    free(y->source);
    free(y->loaded_at);
    free(y->loaded_by);
    free(y->e);
    memset(y, 0, sizeof(*y));
}

/* A name: 1..CG_CALENDAR_NAME_MAX characters of valid UTF-8, no control characters. */
static bool good_name(const char *s)
{
    size_t len = strlen(s), n;

    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '"' || s[i] == ',') {
            return false;
        }
    }
    n = cg_utf8_count(s, len);
    return len && cg_utf8_valid(s, len) && n <= CG_CALENDAR_NAME_MAX;
}

/* Checks one row of year `year`; line > 0 names it in messages. */
static int check_entry(const struct cg_calendar_entry *e, int year, long line, struct cg_error *err)
{
    char where[32] = "";
    int64_t days;
    int y, m, d;

    if (line > 0) {
        snprintf(where, sizeof(where), "line %ld: ", line);
    }
    if (!parse_date(e->date, &days)) {
        return cg_error_field(err, CG_EINVAL, "date", "%s'%s' is not a date (YYYY-MM-DD)", where,
                              e->date);
    }
    civil_from_days(days, &y, &m, &d);
    if (y != year && !(y == year - 1 && m == 12) && !(y == year + 1 && m == 1)) {
        return cg_error_field(err, CG_EINVAL, "date",
                              "%s%s is not in %d (nor in the December before or January after)",
                              where, e->date, year);
    }
    if (e->workday && weekday_of(days) < 6) {
        return cg_error_field(err, CG_EINVAL, "kind",
                              "%s%s is a %s: a workday row (调休上班) must be a Saturday or Sunday",
                              where, e->date, weekday_en[weekday_of(days)]);
    }
    if (!good_name(e->name)) {
        return cg_error_field(err, CG_EINVAL, "name",
                              "%sthe name must be 1 to %d characters, without commas, quotes or "
                              "control characters",
                              where, CG_CALENDAR_NAME_MAX);
    }
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct cg_calendar_entry *)a)->date,
                  ((const struct cg_calendar_entry *)b)->date);
}

/* Checks a whole year (rows sorted by date, each once) as the store and builder need it. */
static int check_year(const struct cg_calendar_year *y, struct cg_error *err)
{
    int rc;

    if (y->year < CG_CALENDAR_YEAR_MIN || y->year > CG_CALENDAR_YEAR_MAX) {
        return cg_error_field(err, CG_EINVAL, "year", "year %d is outside %d..%d", y->year,
                              CG_CALENDAR_YEAR_MIN, CG_CALENDAR_YEAR_MAX);
    }
    if (!y->source || !*y->source || !cg_utf8_valid(y->source, strlen(y->source)) ||
        cg_utf8_count(y->source, strlen(y->source)) > CG_CALENDAR_SOURCE_MAX) {
        return cg_error_field(err, CG_EINVAL, "source",
                              "the year's source (the notice it comes from) is required, up to "
                              "%d characters",
                              CG_CALENDAR_SOURCE_MAX);
    }
    if (y->n > CG_CALENDAR_ROWS_MAX) {
        return cg_error_set(err, CG_ETOOBIG, "a year has at most %d rows", CG_CALENDAR_ROWS_MAX);
    }
    for (size_t i = 0; i < y->n; i++) {
        rc = check_entry(&y->e[i], y->year, 0, err);
        if (rc) {
            return rc;
        }
        if (i && strcmp(y->e[i - 1].date, y->e[i].date) >= 0) {
            return cg_error_field(err, CG_EINVAL, "date", "%s appears twice or out of order",
                                  y->e[i].date);
        }
    }
    return 0;
}

/* Cuts spaces at both ends of [*s, *s + *len). */
static void trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' || (*s)[*len - 1] == '\r')) {
        (*len)--;
    }
}

/* Copies [s, s + len) into buf of size, NUL-terminated; false when it does not fit. */
static bool copy_field(char *buf, size_t size, const char *s, size_t len)
{
    if (len >= size) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return true;
}

/* One data line: "date,kind,name". */
static int parse_row(const char *s, size_t len, long line, struct cg_calendar_entry *e,
                     struct cg_error *err)
{
    const char *c1 = memchr(s, ',', len), *c2 = NULL, *f[3];
    size_t fl[3];
    char kind[16];
    int64_t days;

    memset(e, 0, sizeof(*e));
    if (c1) {
        c2 = memchr(c1 + 1, ',', (size_t)(s + len - c1 - 1));
    }
    if (!c2 || memchr(c2 + 1, ',', (size_t)(s + len - c2 - 1))) {
        return cg_error_field(err, CG_EINVAL, "csv",
                              "line %ld: expected three fields date,kind,name", line);
    }
    f[0] = s;
    fl[0] = (size_t)(c1 - s);
    f[1] = c1 + 1;
    fl[1] = (size_t)(c2 - c1 - 1);
    f[2] = c2 + 1;
    fl[2] = (size_t)(s + len - c2 - 1);
    for (int i = 0; i < 3; i++) {
        trim(&f[i], &fl[i]);
    }
    if (!copy_field(e->date, sizeof(e->date), f[0], fl[0]) || !parse_date(e->date, &days)) {
        return cg_error_field(err, CG_EINVAL, "date", "line %ld: '%.*s' is not a date (YYYY-MM-DD)",
                              line, (int)(fl[0] > 40 ? 40 : fl[0]), f[0]);
    }
    if (!copy_field(kind, sizeof(kind), f[1], fl[1]) ||
        (strcmp(kind, "holiday") && strcmp(kind, "workday"))) {
        return cg_error_field(err, CG_EINVAL, "kind",
                              "line %ld: kind must be holiday or workday, not '%.*s'", line,
                              (int)(fl[1] > 40 ? 40 : fl[1]), f[1]);
    }
    e->workday = !strcmp(kind, "workday");
    if (!copy_field(e->name, sizeof(e->name), f[2], fl[2]) || !good_name(e->name)) {
        return cg_error_field(err, CG_EINVAL, "name",
                              "line %ld: the name must be 1 to %d characters, without commas, "
                              "quotes or control characters",
                              line, CG_CALENDAR_NAME_MAX);
    }
    return 0;
}

/* "# key: value" comment lines: returns the value, or NULL when the line is another comment. */
static const char *comment_value(const char *s, size_t len, const char *key, size_t *out_len)
{
    size_t kl = strlen(key);

    s++;
    len--;
    trim(&s, &len);
    if (len <= kl || strncasecmp(s, key, kl) || s[kl] != ':') {
        return NULL;
    }
    s += kl + 1;
    len -= kl + 1;
    trim(&s, &len);
    *out_len = len;
    return s;
}

int cg_calendar_year_parse(const char *text, size_t len, struct cg_calendar_year *out,
                           struct cg_error *err)
{
    const char *p = text, *end = text + len;
    long line = 0, *lines = NULL;
    bool header = false;
    int year = 0, rc = 0, first_year = 0;
    bool mixed = false;
    size_t cap = 0;

    memset(out, 0, sizeof(*out));
    if (len > CG_CALENDAR_CSV_MAX) {
        return cg_error_set(err, CG_ETOOBIG, "the file has %zu bytes, more than the %zu allowed",
                            len, CG_CALENDAR_CSV_MAX);
    }
    if (memchr(text, '\0', len) || !cg_utf8_valid(text, len)) {
        return cg_error_set(err, CG_EINVAL, "the file is not UTF-8 text");
    }
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) {
        p += 3; /* a byte order mark, as spreadsheets write it */
    }
    while (!rc && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *s = p, *v;
        size_t l = (size_t)((nl ? nl : end) - p), vl;

        p = nl ? nl + 1 : end;
        line++;
        trim(&s, &l);
        if (!l) {
            continue;
        }
        if (*s == '#') {
            if ((v = comment_value(s, l, "source", &vl))) {
                if (out->source) {
                    rc = cg_error_field(err, CG_EINVAL, "source", "line %ld: a second source line",
                                        line);
                } else {
                    out->source = cg_strndup(v, vl);
                }
            } else if ((v = comment_value(s, l, "year", &vl))) {
                char buf[8];

                if (year || !copy_field(buf, sizeof(buf), v, vl) || vl != 4 ||
                    !digits(buf, 4, &year)) {
                    rc = cg_error_field(err, CG_EINVAL, "year",
                                        "line %ld: '# year:' takes one four-digit year", line);
                }
            }
            continue;
        }
        if (!header) {
            if (l != 14 || memcmp(s, "date,kind,name", 14)) {
                rc = cg_error_field(err, CG_EINVAL, "csv",
                                    "line %ld: expected the header line 'date,kind,name'", line);
            }
            header = true;
            continue;
        }
        if (out->n == CG_CALENDAR_ROWS_MAX) {
            rc = cg_error_set(err, CG_ETOOBIG, "line %ld: a year has at most %d rows", line,
                              CG_CALENDAR_ROWS_MAX);
            break;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            out->e = cg_realloc(out->e, cap * sizeof(*out->e));
            lines = cg_realloc(lines, cap * sizeof(*lines));
        }
        rc = parse_row(s, l, line, &out->e[out->n], err);
        if (rc) {
            break;
        }
        for (size_t i = 0; i < out->n; i++) {
            if (!strcmp(out->e[i].date, out->e[out->n].date)) {
                rc = cg_error_field(err, CG_EINVAL, "date", "line %ld: %s is already on line %ld",
                                    line, out->e[i].date, lines[i]);
                break;
            }
        }
        lines[out->n] = line;
        if (!out->n) {
            first_year = date_year(out->e[0].date);
        }
        mixed = mixed || first_year != date_year(out->e[out->n].date);
        out->n++;
    }
    if (!rc && !header) {
        rc = cg_error_field(err, CG_EINVAL, "csv", "no header line 'date,kind,name'");
    }
    if (!rc && !out->source) {
        rc = cg_error_field(err, CG_EINVAL, "source",
                            "the file names no source: add a line '# source: <the notice>'");
    }
    if (!rc && !year) {
        if (!out->n || mixed) {
            rc = cg_error_field(err, CG_EINVAL, "year", "%s: add a line '# year: YYYY'",
                                out->n ? "the rows span several years" : "no rows and no year");
        }
        year = first_year;
    }
    out->year = year;
    for (size_t i = 0; !rc && i < out->n; i++) {
        rc = check_entry(&out->e[i], year, lines[i], err);
    }
    if (!rc && out->n) {
        qsort(out->e, out->n, sizeof(*out->e), cmp_entry);
    }
    rc = rc ? rc : check_year(out, err);
    free(lines);
    return rc;
}

/* ---- snapshots -------------------------------------------------------------------------- */

static char *dup_opt(const char *s)
{
    return s ? cg_strdup(s) : NULL;
}

static int cmp_hours(const void *a, const void *b)
{
    return strcmp(((const struct cg_calendar_hours *)a)->valid_from,
                  ((const struct cg_calendar_hours *)b)->valid_from);
}

static int cmp_year(const void *a, const void *b)
{
    return ((const struct year_rec *)a)->y.year - ((const struct year_rec *)b)->y.year;
}

static void snapshot_free(struct cg_calendar *cal)
{
    for (size_t i = 0; i < cal->ny; i++) {
        cg_calendar_year_release(&cal->years[i].y);
    }
    free(cal->years);
    free(cal->hours);
    free(cal->hours_from);
    free(cal->kind);
    free(cal->hix);
    free(cal->names);
    free(cal->cum);
    free(cal->wd);
    free(cal->unc);
    free(cal);
}

struct cg_calendar *cg_calendar_hold(struct cg_calendar *cal)
{
    atomic_fetch_add_explicit(&cal->refs, 1, memory_order_relaxed);
    return cal;
}

void cg_calendar_release(struct cg_calendar *cal)
{
    if (cal && atomic_fetch_sub_explicit(&cal->refs, 1, memory_order_acq_rel) == 1) {
        snapshot_free(cal);
    }
}

static const struct year_rec *find_year(const struct cg_calendar *cal, int year)
{
    for (size_t i = 0; i < cal->ny; i++) {
        if (cal->years[i].y.year == year) {
            return &cal->years[i];
        }
    }
    return NULL;
}

/* Copies and checks the hours versions into cal, sorted. */
static int build_hours(struct cg_calendar *cal, const struct cg_calendar_hours *hours, size_t nh,
                       struct cg_error *err)
{
    if (!nh || nh > UINT16_MAX) {
        return cg_error_field(err, CG_EINVAL, "hours",
                              "the calendar has no working hours (table calendar_hours)");
    }
    cal->hours = cg_malloc(nh * sizeof(*cal->hours));
    cal->hours_from = cg_malloc(nh * sizeof(*cal->hours_from));
    memcpy(cal->hours, hours, nh * sizeof(*hours));
    cal->nh = nh;
    qsort(cal->hours, nh, sizeof(*cal->hours), cmp_hours);
    for (size_t i = 0; i < nh; i++) {
        int rc = check_hours(&cal->hours[i], err);

        if (rc) {
            return rc;
        }
        if (i && !strcmp(cal->hours[i].valid_from, cal->hours[i - 1].valid_from)) {
            return cg_error_field(err, CG_EINVAL, "hours", "two versions of the hours from %s",
                                  cal->hours[i].valid_from);
        }
        (void)parse_date(cal->hours[i].valid_from, &cal->hours_from[i]);
    }
    return 0;
}

/* Copies and checks the years into cal, sorted. */
static int build_years(struct cg_calendar *cal, const struct cg_calendar_year *years, size_t ny,
                       struct cg_error *err)
{
    cal->years = cg_calloc(ny ? ny : 1, sizeof(*cal->years));
    for (size_t i = 0; i < ny; i++) {
        const struct cg_calendar_year *src = &years[i];
        struct cg_calendar_year *y = &cal->years[i].y;
        int rc;

        y->year = src->year;
        y->source = dup_opt(src->source);
        y->loaded_at = dup_opt(src->loaded_at);
        y->loaded_by = dup_opt(src->loaded_by);
        y->n = src->n;
        y->e = cg_malloc((src->n ? src->n : 1) * sizeof(*y->e));
        if (src->n) {
            memcpy(y->e, src->e, src->n * sizeof(*y->e));
        }
        cal->ny++;
        rc = check_year(y, err);
        if (rc) {
            return rc;
        }
    }
    qsort(cal->years, cal->ny, sizeof(*cal->years), cmp_year);
    for (size_t i = 1; i < cal->ny; i++) {
        if (cal->years[i].y.year == cal->years[i - 1].y.year) {
            return cg_error_field(err, CG_EINVAL, "year", "year %d is given twice",
                                  cal->years[i].y.year);
        }
    }
    return 0;
}

/* Day kinds, names and hours over the range, then the prefix sums. */
static int build_days(struct cg_calendar *cal, struct cg_error *err)
{
    int first = cal->years[0].y.year, last = cal->years[cal->ny - 1].y.year;
    int64_t n;
    size_t h = 0;

    cal->day0 = days_from_civil(first, 1, 1);
    n = cal->ndays = days_from_civil(last + 1, 1, 1) - cal->day0;
    cal->kind = cg_malloc((size_t)n);
    cal->hix = cg_malloc((size_t)n * sizeof(*cal->hix));
    cal->names = cg_malloc((size_t)n * sizeof(*cal->names));
    cal->cum = cg_malloc((size_t)(n + 1) * sizeof(*cal->cum));
    cal->wd = cg_malloc((size_t)(n + 1) * sizeof(*cal->wd));
    cal->unc = cg_malloc((size_t)(n + 1) * sizeof(*cal->unc));
    for (int64_t i = 0; i < n; i++) {
        int64_t days = cal->day0 + i;

        cal->kind[i] = find_year(cal, year_of_days(days))
                           ? (weekday_of(days) < 6 ? CG_CALENDAR_WORKDAY : CG_CALENDAR_WEEKEND)
                           : NO_DATA;
        cal->names[i] = "";
        while (h + 1 < cal->nh && cal->hours_from[h + 1] <= days) {
            h++;
        }
        cal->hix[i] = (uint16_t)h;
    }
    for (size_t y = 0; y < cal->ny; y++) {
        const struct cg_calendar_year *yr = &cal->years[y].y;

        for (size_t k = 0; k < yr->n; k++) {
            int64_t days, i;

            (void)parse_date(yr->e[k].date, &days);
            i = days - cal->day0;
            if (i < 0 || i >= n || cal->kind[i] == NO_DATA) {
                continue; /* a row dated in a year without data: nothing to say about it */
            }
            if (*cal->names[i]) {
                return cg_error_field(err, CG_EINVAL, "date", "%s is in two years' data",
                                      yr->e[k].date);
            }
            cal->kind[i] = yr->e[k].workday ? CG_CALENDAR_SWAPPED : CG_CALENDAR_HOLIDAY;
            cal->names[i] = yr->e[k].name;
        }
    }
    cal->cum[0] = 0;
    cal->wd[0] = 0;
    cal->unc[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        bool working = cal->kind[i] == CG_CALENDAR_WORKDAY || cal->kind[i] == CG_CALENDAR_SWAPPED;
        const struct cg_calendar_hours *hr = &cal->hours[cal->hix[i]];
        int64_t len = 0;

        for (int p = 0; working && p < hr->n; p++) {
            len += (hr->p[p].end_min - hr->p[p].start_min) * MIN_MS;
        }
        cal->cum[i + 1] = cal->cum[i] + len;
        cal->wd[i + 1] = cal->wd[i] + (working ? 1 : 0);
        cal->unc[i + 1] = cal->unc[i] + (cal->kind[i] == NO_DATA ? 1 : 0);
    }
    return 0;
}

/* Counts of each year, from the day kinds. */
static void year_counts(struct cg_calendar *cal)
{
    for (size_t y = 0; y < cal->ny; y++) {
        struct year_rec *r = &cal->years[y];
        int64_t a = days_from_civil(r->y.year, 1, 1) - cal->day0;
        int64_t b = days_from_civil(r->y.year + 1, 1, 1) - cal->day0;

        r->info.year = r->y.year;
        r->info.source = r->y.source ? r->y.source : "";
        r->info.loaded_at = r->y.loaded_at ? r->y.loaded_at : "";
        r->info.loaded_by = r->y.loaded_by ? r->y.loaded_by : "";
        r->info.working_days = cal->wd[b] - cal->wd[a];
        for (int64_t i = a; i < b; i++) {
            if (cal->kind[i] == CG_CALENDAR_HOLIDAY) {
                r->info.holidays++;
                r->info.holiday_weekdays += weekday_of(cal->day0 + i) < 6;
            } else if (cal->kind[i] == CG_CALENDAR_SWAPPED) {
                r->info.swapped++;
            }
        }
    }
}

int cg_calendar_build(const struct cg_calendar_hours *hours, size_t nh,
                      const struct cg_calendar_year *years, size_t ny, struct cg_calendar **out,
                      struct cg_error *err)
{
    struct cg_calendar *cal = cg_calloc(1, sizeof(*cal));
    int rc;

    atomic_init(&cal->refs, 1);
    rc = build_hours(cal, hours, nh, err);
    rc = rc ? rc : build_years(cal, years, ny, err);
    if (!rc && cal->ny) {
        rc = build_days(cal, err);
        year_counts(cal);
    }
    if (rc) {
        snapshot_free(cal);
        return rc;
    }
    *out = cal;
    return 0;
}

void cg_calendar__data_release(struct cg_calendar__data *d)
{
    for (size_t i = 0; i < d->ny; i++) {
        cg_calendar_year_release(&d->years[i]);
    }
    free(d->years);
    free(d->hours);
    memset(d, 0, sizeof(*d));
}

int cg_calendar_load(struct cg_db *db, struct cg_calendar **out, struct cg_error *err)
{
    struct cg_calendar__data d = {0};
    int rc = cg_calendar__read(db, &d, err);

    rc = rc ? rc : cg_calendar_build(d.hours, d.nh, d.years, d.ny, out, err);
    cg_calendar__data_release(&d);
    return rc;
}

int cg_calendar_import(struct cg_db *db, const struct cg_calendar_year *y, int64_t actor_id,
                       const char *actor_login, const char *remote,
                       struct cg_calendar_import_result *out, struct cg_error *err)
{
    struct cg_calendar_import_result res = {0};
    int rc = check_year(y, err);

    rc = rc ? rc : cg_calendar__store_year(db, y, actor_id, actor_login, remote, &res, err);
    if (!rc && out) {
        *out = res;
    }
    return rc;
}

int cg_calendar_set_hours(struct cg_db *db, const struct cg_calendar_hours *h, int64_t actor_id,
                          const char *actor_login, const char *remote, struct cg_error *err)
{
    int rc = check_hours(h, err);

    return rc ? rc : cg_calendar__store_hours(db, h, actor_id, actor_login, remote, err);
}

/* ---- arithmetic ------------------------------------------------------------------------- */

/* The year of day index i of the range (i may lie outside it). */
static int year_at(const struct cg_calendar *cal, int64_t i)
{
    return year_of_days(cal->day0 + i);
}

static int no_data(struct cg_error *err, int year)
{
    return cg_error_field(err, CG_ENOTFOUND, "calendar",
                          "no working calendar for %d: import the State Council's holiday "
                          "arrangement for %d (civgrid calendar import data/calendar/cn-%d.csv)",
                          year, year, year);
}

/* 0 when every day of [a, b] (indexes of the range, a <= b) has data, else CG_ENOTFOUND. */
static int covered(const struct cg_calendar *cal, int64_t a, int64_t b, struct cg_error *err)
{
    int64_t lo, hi, top = b < cal->ndays ? b : cal->ndays - 1;

    if (!cal->ndays) {
        return no_data(err, year_at(cal, a));
    }
    if (a < 0) {
        return no_data(err, year_at(cal, a));
    }
    if (a <= top && cal->unc[top + 1] != cal->unc[a]) {
        /* the first day without data in [a, top]: smallest i with unc[i + 1] > unc[a] */
        lo = a;
        hi = top;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;

            if (cal->unc[mid + 1] > cal->unc[a]) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return no_data(err, year_at(cal, lo));
    }
    return b >= cal->ndays ? no_data(err, year_at(cal, a >= cal->ndays ? a : cal->ndays)) : 0;
}

/* Day index and ms after China midnight of an instant. */
static void split(const struct cg_calendar *cal, int64_t t, int64_t *out_i, int64_t *out_tod)
{
    int64_t local = t + CG_CALENDAR_UTC_OFFSET_MS, days = floor_div(local, DAY_MS);

    *out_tod = local - days * DAY_MS;
    *out_i = days - cal->day0;
}

static bool is_working_day(const struct cg_calendar *cal, int64_t i)
{
    return cal->cum[i + 1] > cal->cum[i];
}

/* Working ms of the range before clock time tod of day i (a day with data). */
static int64_t work_before(const struct cg_calendar *cal, int64_t i, int64_t tod)
{
    const struct cg_calendar_hours *h = &cal->hours[cal->hix[i]];
    int64_t w = cal->cum[i];

    for (int p = 0; is_working_day(cal, i) && p < h->n; p++) {
        int64_t s = h->p[p].start_min * MIN_MS, e = h->p[p].end_min * MIN_MS;

        if (tod > s) {
            w += (tod < e ? tod : e) - s;
        }
    }
    return w;
}

/* Smallest index d in [lo, ndays) with v[d + 1] >= target, or ndays when none. */
static int64_t search_cum(const struct cg_calendar *cal, int64_t lo, int64_t target)
{
    int64_t hi = cal->ndays;

    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;

        if (cal->cum[mid + 1] >= target) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

static int64_t search_wd(const struct cg_calendar *cal, int64_t lo, int64_t target)
{
    int64_t hi = cal->ndays;

    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;

        if (cal->wd[mid + 1] >= target) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

/*
 * The earliest instant at which the working time of the range reaches c, on a
 * day >= from (c > cum[from]); its day into *out_day. CG_ENOTFOUND past the
 * range or across a day without data.
 */
static int instant_at(const struct cg_calendar *cal, int64_t from, int64_t c, int64_t *out_ms,
                      int64_t *out_day, struct cg_error *err)
{
    int64_t d = search_cum(cal, from, c), rem, tod = 0;
    const struct cg_calendar_hours *h;

    if (d >= cal->ndays) {
        return covered(cal, from, cal->ndays, err);
    }
    h = &cal->hours[cal->hix[d]];
    rem = c - cal->cum[d];
    for (int p = 0; p < h->n; p++) {
        int64_t s = h->p[p].start_min * MIN_MS, len = h->p[p].end_min * MIN_MS - s;

        if (rem <= len) {
            tod = s + rem;
            break;
        }
        rem -= len;
    }
    *out_ms = (cal->day0 + d) * DAY_MS + tod - CG_CALENDAR_UTC_OFFSET_MS;
    *out_day = d;
    return 0;
}

static int add_work_hours(const struct cg_calendar *cal, int64_t start, int64_t amount_milli,
                          int64_t *out_ms, struct cg_error *err)
{
    int64_t i, tod, day;
    int rc;

    split(cal, start, &i, &tod);
    rc = covered(cal, i, i, err);
    if (rc) {
        return rc;
    }
    rc = instant_at(cal, i, work_before(cal, i, tod) + amount_milli * 3600, out_ms, &day, err);
    return rc ? rc : covered(cal, i, day, err);
}

static int add_work_days(const struct cg_calendar *cal, int64_t start, int64_t amount_milli,
                         int64_t *out_ms, struct cg_error *err)
{
    int64_t i, tod, w0, d0, d1, pos, len1, c, day;
    int rc;

    split(cal, start, &i, &tod);
    rc = covered(cal, i, i, err);
    if (rc) {
        return rc;
    }
    /* The working day of the start's position: a start after a day's last period (or on a
       day off) is at the beginning of the next working day. */
    w0 = work_before(cal, i, tod);
    d0 = search_cum(cal, i, w0 + 1);
    if (d0 >= cal->ndays) {
        return covered(cal, i, cal->ndays, err);
    }
    pos = w0 - cal->cum[d0];
    /* The working day amount / 1000 working days later, and the same position in it. */
    d1 = search_wd(cal, d0, cal->wd[d0] + amount_milli / 1000 + 1);
    if (d1 >= cal->ndays) {
        return covered(cal, i, cal->ndays, err);
    }
    len1 = cal->cum[d1 + 1] - cal->cum[d1];
    c = cal->cum[d1] + (pos < len1 ? pos : len1) + amount_milli % 1000 * len1 / 1000;
    rc = instant_at(cal, i, c, out_ms, &day, err);
    return rc ? rc : covered(cal, i, day > d1 ? day : d1, err);
}

int cg_calendar_add(const struct cg_calendar *cal, int64_t start_ms, int64_t amount_milli,
                    enum cg_calendar_unit unit, int64_t *out_ms, struct cg_error *err)
{
    int64_t step;

    CG_ASSERT(cal && out_ms);
    if (amount_milli < 0 || amount_milli > (int64_t)CG_CALENDAR_AMOUNT_MAX * 1000) {
        return cg_error_field(err, CG_EINVAL, "amount", "the amount must be from 0 to %d",
                              CG_CALENDAR_AMOUNT_MAX);
    }
    if ((int)unit < 0 || unit > CG_CALENDAR_NATURAL_DAY) {
        return cg_error_field(err, CG_EINVAL, "unit", "unknown unit %d", (int)unit);
    }
    if (start_ms < 0 || start_ms >= TIME_END_MS) {
        return cg_error_field(err, CG_EINVAL, "start", "the start is outside 1970..9999");
    }
    if (unit == CG_CALENDAR_NATURAL_HOUR || unit == CG_CALENDAR_NATURAL_DAY) {
        step = unit == CG_CALENDAR_NATURAL_HOUR ? 3600 : 86400; /* ms per thousandth */
        if (amount_milli * step >= TIME_END_MS - start_ms) {
            return cg_error_field(err, CG_EINVAL, "amount", "the deadline would be after 9999");
        }
        *out_ms = start_ms + amount_milli * step;
        return 0;
    }
    if (!amount_milli) {
        *out_ms = start_ms; /* a limit of nothing is due at once, working time or not */
        return 0;
    }
    return unit == CG_CALENDAR_WORK_HOUR ? add_work_hours(cal, start_ms, amount_milli, out_ms, err)
                                         : add_work_days(cal, start_ms, amount_milli, out_ms, err);
}

int cg_calendar_elapsed(const struct cg_calendar *cal, int64_t from_ms, int64_t to_ms,
                        int64_t *out_ms, struct cg_error *err)
{
    int64_t a, ta, b, tb;
    int rc;

    CG_ASSERT(cal && out_ms);
    if (from_ms > to_ms) {
        rc = cg_calendar_elapsed(cal, to_ms, from_ms, out_ms, err);
        *out_ms = rc ? 0 : -*out_ms;
        return rc;
    }
    split(cal, from_ms, &a, &ta);
    split(cal, to_ms, &b, &tb);
    if (!tb && b > a) {
        b--; /* midnight ends the day before: 2026-12-31 needs no data of 2027 */
        tb = DAY_MS;
    }
    rc = covered(cal, a, b, err);
    if (rc) {
        return rc;
    }
    *out_ms = work_before(cal, b, tb) - work_before(cal, a, ta);
    return 0;
}

int cg_calendar_is_working(const struct cg_calendar *cal, int64_t t_ms, bool *out,
                           struct cg_error *err)
{
    int64_t i, tod;
    int rc;

    CG_ASSERT(cal && out);
    split(cal, t_ms, &i, &tod);
    rc = covered(cal, i, i, err);
    if (rc) {
        return rc;
    }
    *out = false;
    if (is_working_day(cal, i)) {
        const struct cg_calendar_hours *h = &cal->hours[cal->hix[i]];

        for (int p = 0; p < h->n; p++) {
            *out = *out || (tod >= h->p[p].start_min * MIN_MS && tod < h->p[p].end_min * MIN_MS);
        }
    }
    return 0;
}

/* ---- days and years --------------------------------------------------------------------- */

int cg_calendar_day_info(const struct cg_calendar *cal, const char *date,
                         struct cg_calendar_day *out, struct cg_error *err)
{
    int64_t days, i;
    int rc;

    CG_ASSERT(cal && out);
    if (!date || !parse_date(date, &days)) {
        return cg_error_field(err, CG_EINVAL, "date", "'%s' is not a date (YYYY-MM-DD)",
                              date ? date : "");
    }
    i = days - cal->day0;
    rc = covered(cal, i, i, err);
    if (rc) {
        return rc;
    }
    out->kind = (enum cg_calendar_kind)cal->kind[i];
    out->weekday = weekday_of(days);
    out->name = cal->names[i];
    out->work_ms = cal->cum[i + 1] - cal->cum[i];
    out->hours = &cal->hours[cal->hix[i]];
    return 0;
}

size_t cg_calendar_year_count(const struct cg_calendar *cal)
{
    return cal->ny;
}

void cg_calendar_year_at(const struct cg_calendar *cal, size_t i, struct cg_calendar_year_info *out)
{
    CG_ASSERT(i < cal->ny);
    *out = cal->years[i].info;
}

int cg_calendar_year_get(const struct cg_calendar *cal, int year, struct cg_calendar_year_info *out,
                         struct cg_error *err)
{
    const struct year_rec *r = find_year(cal, year);

    if (!r) {
        return no_data(err, year);
    }
    *out = r->info;
    return 0;
}

size_t cg_calendar_hours_count(const struct cg_calendar *cal)
{
    return cal->nh;
}

const struct cg_calendar_hours *cg_calendar_hours_at(const struct cg_calendar *cal, size_t i)
{
    CG_ASSERT(i < cal->nh);
    return &cal->hours[i];
}
