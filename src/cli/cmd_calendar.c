/*
 * cmd_calendar.c: the working calendar from the command line (docs/CALENDAR.md):
 * "civgrid calendar show", "import" a year's CSV file, "hours" (show or set
 * the working hours), and the arithmetic: "deadline", "elapsed", "at".
 */
#include "base/cg.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/calendar/calendar.h"

static const char calendar_help[] =
    "usage: civgrid calendar show [YEAR]\n"
    "       civgrid calendar import [--dry-run] FILE.csv\n"
    "       civgrid calendar hours [--from DATE PERIODS]\n"
    "       civgrid calendar deadline [--from TIME] --add AMOUNT --unit UNIT\n"
    "       civgrid calendar elapsed --from TIME [--to TIME]\n"
    "       civgrid calendar at [TIME]\n\n"
    "The working calendar: working hours, weekends, public holidays and swapped\n"
    "working days (调休) per year, in China time (UTC+8).\n"
    "show lists the loaded years and the hours, or one year's holidays and swapped\n"
    "working days with its counts and source.\n"
    "import loads one year from a CSV file (data/calendar/cn-YYYY.csv: lines\n"
    "date,kind,name with kind holiday or workday, a '# source:' line naming the\n"
    "State Council's notice), replacing what the year had; --dry-run only checks.\n"
    "hours shows the working hours, or sets the PERIODS in force from DATE, such as\n"
    "--from 2027-01-01 08:30-12:00,14:00-17:30 (earlier days keep theirs).\n"
    "deadline adds AMOUNT (a number, up to three decimals) of UNIT, one of\n"
    "work_hour, work_day, natural_hour, natural_day, to TIME (default now).\n"
    "elapsed prints the working time from TIME to TIME (default now).\n"
    "at tells whether TIME (default now) is working time, and what its day is.\n"
    "TIME is RFC 3339 with Z or an offset: 2026-02-13T16:00:00+08:00.\n"
    "Exit codes: 0 success, 1 failure (no data for a year, bad file), 2 usage error.\n";

struct cal_opts {
    const char *from, *to, *add, *unit;
    bool dry_run;
    char *pos[4];
    int npos;
};

static int parse(struct cli_ctx *ctx, int argc, char **argv, struct cal_opts *o)
{
    const struct cli_opt opts[] = {{"--dry-run", &o->dry_run, NULL}, {"--from", NULL, &o->from},
                                   {"--to", NULL, &o->to},           {"--add", NULL, &o->add},
                                   {"--unit", NULL, &o->unit},       {NULL, NULL, NULL}};

    memset(o, 0, sizeof(*o));
    return cli_parse_opts(ctx, argc, argv, calendar_help, opts, o->pos, 4, &o->npos);
}

static const char *const weekday_abbr[] = {"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

/* "working day", "holiday 春节"... for a day. */
static void describe_day(const struct cg_calendar_day *d, char *buf, size_t size)
{
    switch (d->kind) {
    case CG_CALENDAR_WORKDAY:
        snprintf(buf, size, "working day");
        break;
    case CG_CALENDAR_WEEKEND:
        snprintf(buf, size, "weekend");
        break;
    case CG_CALENDAR_HOLIDAY:
        snprintf(buf, size, "holiday (%s)", d->name);
        break;
    case CG_CALENDAR_SWAPPED:
        snprintf(buf, size, "swapped working day (调休上班, %s)", d->name);
        break;
    }
}

/* Opens the database and loads a snapshot; prints the error. */
static int load(struct cli_ctx *ctx, struct cg_db **out_db, struct cg_calendar **out_cal)
{
    struct cg_error err = CG_ERROR_INIT;
    int rc = cli_open_db(ctx, false, true, out_db);

    if (rc) {
        return rc;
    }
    if (cg_calendar_load(*out_db, out_cal, &err)) {
        cli_error(ctx, "%s", err.message);
        cg_db_close(*out_db);
        *out_db = NULL;
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int parse_time_opt(struct cli_ctx *ctx, const char *name, const char *s, int64_t *out)
{
    if (!s) {
        *out = cg_time_now_ms();
        return CLI_OK;
    }
    if (!cg_calendar_parse_time(s, out)) {
        cli_error(ctx, "%s takes an RFC 3339 time like 2026-02-13T16:00:00+08:00, not '%s'", name,
                  s);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* One instant in China time with its day, e.g. "2026-02-14T17:00:00+08:00  Sat  ...". */
static void print_instant(const struct cg_calendar *cal, const char *label, int64_t ms)
{
    struct cg_error err = CG_ERROR_INIT;
    struct cg_calendar_day d;
    char t[CG_CALENDAR_TIME_LEN], what[128];

    cg_calendar_format_cn(ms, t, sizeof(t));
    t[10] = '\0';
    if (cg_calendar_day_info(cal, t, &d, &err)) {
        cg_calendar_format_cn(ms, t, sizeof(t));
        printf("%-9s %s  (no calendar data for its year)\n", label, t);
        return;
    }
    describe_day(&d, what, sizeof(what));
    cg_calendar_format_cn(ms, t, sizeof(t));
    printf("%-9s %s  %s  %s\n", label, t, weekday_abbr[d.weekday], what);
}

static void print_hours(const struct cg_calendar_hours *h)
{
    int64_t total = 0;
    char a[16], b[16];

    printf("  from %s:", h->valid_from);
    for (int i = 0; i < h->n; i++) {
        snprintf(a, sizeof(a), "%02d:%02d", h->p[i].start_min / 60, h->p[i].start_min % 60);
        snprintf(b, sizeof(b), "%02d:%02d", h->p[i].end_min / 60, h->p[i].end_min % 60);
        printf(" %s-%s", a, b);
        total += h->p[i].end_min - h->p[i].start_min;
    }
    printf("  (%" PRId64 " h %02" PRId64 " min a working day)\n", total / 60, total % 60);
}

static void print_year_info(const struct cg_calendar_year_info *y)
{
    printf("%d  %s\n", y->year, y->source);
    printf("      loaded %s by %s\n", y->loaded_at, y->loaded_by);
    printf("      %d working days; %d holidays (%d on weekdays); %d swapped working days\n",
           y->working_days, y->holidays, y->holiday_weekdays, y->swapped);
}

/* The holidays and swapped days of a year, consecutive days of one name as one range. */
static int show_year(struct cli_ctx *ctx, const struct cg_calendar *cal, int year)
{
    struct cg_error err = CG_ERROR_INIT;
    struct cg_calendar_year_info info;
    int64_t ms;
    char start[CG_CALENDAR_TIME_LEN] = "", prev[CG_CALENDAR_TIME_LEN] = "", date[32];
    char name[CG_CALENDAR_NAME_MAX * 4 + 1] = "";
    int kind = -1, wd_start = 0, wd_prev = 0, ndays = 0;

    if (cg_calendar_year_get(cal, year, &info, &err)) {
        cli_error(ctx, "%s", err.message);
        return CLI_FAIL;
    }
    print_year_info(&info);
    putchar('\n');
    snprintf(date, sizeof(date), "%04d-01-01T00:00:00+08:00", year);
    if (!cg_calendar_parse_time(date, &ms)) {
        return CLI_FAIL; /* cannot happen: year is within 2000..2099 */
    }
    for (;; ms += 86400000) {
        struct cg_calendar_day d = {0};
        char t[CG_CALENDAR_TIME_LEN];
        bool special, in_year;

        cg_calendar_format_cn(ms, t, sizeof(t));
        t[10] = '\0';
        in_year = !strncmp(t, date, 4);
        if (in_year && cg_calendar_day_info(cal, t, &d, &err)) {
            cli_error(ctx, "%s", err.message);
            return CLI_FAIL;
        }
        special = in_year && (d.kind == CG_CALENDAR_HOLIDAY || d.kind == CG_CALENDAR_SWAPPED);
        if (kind >= 0 && (!special || (int)d.kind != kind || strcmp(d.name, name))) {
            if (ndays > 1) {
                printf("  %s %s .. %s %s  %-7s  %s (%d days)\n", start, weekday_abbr[wd_start],
                       prev, weekday_abbr[wd_prev],
                       kind == CG_CALENDAR_HOLIDAY ? "holiday" : "workday", name, ndays);
            } else {
                printf("  %s %s                   %-7s  %s%s\n", start, weekday_abbr[wd_start],
                       kind == CG_CALENDAR_HOLIDAY ? "holiday" : "workday", name,
                       kind == CG_CALENDAR_SWAPPED ? " (调休上班)" : "");
            }
            kind = -1;
        }
        if (!in_year) {
            break;
        }
        if (special && kind < 0) {
            kind = (int)d.kind;
            snprintf(name, sizeof(name), "%s", d.name);
            snprintf(start, sizeof(start), "%s", t);
            wd_start = d.weekday;
            ndays = 0;
        }
        if (special) {
            snprintf(prev, sizeof(prev), "%s", t);
            wd_prev = d.weekday;
            ndays++;
        }
    }
    return CLI_OK;
}

static int cal_show(struct cli_ctx *ctx, const struct cal_opts *o)
{
    struct cg_db *db = NULL;
    struct cg_calendar *cal = NULL;
    int year = 0, rc;

    if (o->npos > 2) {
        cli_error(ctx, "show takes at most one year");
        return CLI_USAGE;
    }
    if (o->npos == 2) {
        char *end = NULL;
        long y;

        errno = 0;
        y = strtol(o->pos[1], &end, 10);
        if (errno || !end || *end || y < CG_CALENDAR_YEAR_MIN || y > CG_CALENDAR_YEAR_MAX) {
            cli_error(ctx, "'%s' is not a year from %d to %d", o->pos[1], CG_CALENDAR_YEAR_MIN,
                      CG_CALENDAR_YEAR_MAX);
            return CLI_USAGE;
        }
        year = (int)y;
    }
    rc = load(ctx, &db, &cal);
    if (rc) {
        return rc;
    }
    if (year) {
        rc = show_year(ctx, cal, year);
    } else {
        printf("working hours (China time):\n");
        for (size_t i = 0; i < cg_calendar_hours_count(cal); i++) {
            print_hours(cg_calendar_hours_at(cal, i));
        }
        printf("\nyears with data (%zu):\n", cg_calendar_year_count(cal));
        for (size_t i = 0; i < cg_calendar_year_count(cal); i++) {
            struct cg_calendar_year_info y;

            cg_calendar_year_at(cal, i, &y);
            print_year_info(&y);
        }
        if (!cg_calendar_year_count(cal)) {
            printf("  none: import data/calendar/cn-YYYY.csv\n");
        }
    }
    cg_calendar_release(cal);
    cg_db_close(db);
    return rc;
}

static int cal_import(struct cli_ctx *ctx, const struct cal_opts *o)
{
    struct cg_error err = CG_ERROR_INIT;
    struct cg_calendar_year y = {0};
    struct cg_calendar_import_result res = {0};
    struct cg_db *db = NULL;
    size_t len = 0, holidays = 0;
    char *text = NULL;
    int rc;

    if (o->npos != 2) {
        cli_error(ctx, "import takes one CSV file (see 'civgrid calendar --help')");
        return CLI_USAGE;
    }
    rc = cli_read_file(ctx, o->pos[1], CG_CALENDAR_CSV_MAX, &text, &len);
    if (rc) {
        return rc;
    }
    rc = cg_calendar_year_parse(text, len, &y, &err);
    free(text);
    if (rc) {
        cli_error(ctx, "%s: %s", o->pos[1], err.message);
        cg_calendar_year_release(&y);
        return CLI_FAIL;
    }
    for (size_t i = 0; i < y.n; i++) {
        holidays += !y.e[i].workday;
    }
    if (o->dry_run) {
        printf("%s: %d, %zu holidays, %zu workdays; source: %s (not imported: --dry-run)\n",
               o->pos[1], y.year, holidays, y.n - holidays, y.source);
        cg_calendar_year_release(&y);
        return CLI_OK;
    }
    rc = cli_open_db(ctx, false, true, &db);
    if (!rc) {
        rc = cg_calendar_import(db, &y, 0, NULL, "cli", &res, &err);
        if (rc) {
            cli_error(ctx, "%s: %s", o->pos[1], err.message);
            rc = CLI_FAIL;
        } else {
            printf("%d: %zu holidays, %zu workdays imported%s\n", y.year, res.holidays,
                   res.workdays, res.replaced ? " (replacing the year's earlier rows)" : "");
        }
        cg_db_close(db);
    }
    cg_calendar_year_release(&y);
    return rc;
}

static int cal_hours(struct cli_ctx *ctx, const struct cal_opts *o)
{
    struct cg_error err = CG_ERROR_INIT;
    struct cg_calendar_hours h;
    struct cg_db *db = NULL;
    struct cg_calendar *cal = NULL;
    int rc;

    if ((o->from != NULL) != (o->npos == 2) || o->npos > 2) {
        cli_error(ctx, "hours takes nothing (show), or --from DATE and the periods (set)");
        return CLI_USAGE;
    }
    if (o->from) {
        if (cg_calendar_hours_parse(o->pos[1], o->from, &h, &err)) {
            cli_error(ctx, "%s", err.message);
            return CLI_USAGE;
        }
        rc = cli_open_db(ctx, false, true, &db);
        if (rc) {
            return rc;
        }
        rc = cg_calendar_set_hours(db, &h, 0, NULL, "cli", &err);
        cg_db_close(db);
        if (rc) {
            cli_error(ctx, "%s", err.message);
            return CLI_FAIL;
        }
        printf("working hours set:\n");
        print_hours(&h);
        return CLI_OK;
    }
    rc = load(ctx, &db, &cal);
    if (rc) {
        return rc;
    }
    printf("working hours (China time):\n");
    for (size_t i = 0; i < cg_calendar_hours_count(cal); i++) {
        print_hours(cg_calendar_hours_at(cal, i));
    }
    cg_calendar_release(cal);
    cg_db_close(db);
    return CLI_OK;
}

/* deadline, elapsed and at: the arithmetic on a loaded snapshot. */
static int cal_compute(struct cli_ctx *ctx, const struct cal_opts *o, const char *what)
{
    struct cg_error err = CG_ERROR_INIT;
    struct cg_db *db = NULL;
    struct cg_calendar *cal = NULL;
    enum cg_calendar_unit unit = CG_CALENDAR_WORK_HOUR;
    int64_t from = 0, to = 0, amount = 0, out = 0;
    char utc[CG_TIME_ISO_LEN];
    bool working = false;
    int rc;

    if (strcmp(what, "at") ? o->npos != 1 : o->npos > 2) {
        cli_error(ctx, "%s: unexpected arguments (see 'civgrid calendar --help')", what);
        return CLI_USAGE;
    }
    if (!strcmp(what, "deadline")) {
        if (!o->add || !o->unit) {
            cli_error(ctx, "deadline needs --add AMOUNT and --unit UNIT");
            return CLI_USAGE;
        }
        if (cg_calendar_amount_parse(o->add, &amount, &err) ||
            cg_calendar_unit_parse(o->unit, &unit, &err)) {
            cli_error(ctx, "%s", err.message);
            return CLI_USAGE;
        }
    } else if (!strcmp(what, "elapsed") && !o->from) {
        cli_error(ctx, "elapsed needs --from TIME");
        return CLI_USAGE;
    }
    rc = parse_time_opt(ctx, "--from", !strcmp(what, "at") ? NULL : o->from, &from);
    rc = rc ? rc : parse_time_opt(ctx, "--to", o->to, &to);
    if (!rc && !strcmp(what, "at")) {
        rc = parse_time_opt(ctx, "TIME", o->npos == 2 ? o->pos[1] : NULL, &from);
    }
    if (rc) {
        return rc;
    }
    rc = load(ctx, &db, &cal);
    if (rc) {
        return rc;
    }
    if (!strcmp(what, "deadline")) {
        rc = cg_calendar_add(cal, from, amount, unit, &out, &err);
    } else if (!strcmp(what, "elapsed")) {
        rc = cg_calendar_elapsed(cal, from, to, &out, &err);
    } else {
        rc = cg_calendar_is_working(cal, from, &working, &err);
    }
    if (rc) {
        cli_error(ctx, "%s", err.message);
        rc = CLI_FAIL;
    } else if (!strcmp(what, "deadline")) {
        print_instant(cal, "start", from);
        printf("%-9s %s %s\n", "add", o->add, o->unit);
        print_instant(cal, "deadline", out);
        cg_time_iso(out, utc, sizeof(utc));
        printf("%-9s %s\n", "utc", utc);
    } else if (!strcmp(what, "elapsed")) {
        int64_t a = out < 0 ? -out : out;

        print_instant(cal, "from", from);
        print_instant(cal, "to", to);
        printf("%-9s %s%" PRId64 " h %02" PRId64 " min %02" PRId64 " s of working time"
               " (%.3f working hours)\n",
               "elapsed", out < 0 ? "-" : "", a / 3600000, a / 60000 % 60, a / 1000 % 60,
               (double)out / 3600000.0);
    } else {
        print_instant(cal, "time", from);
        printf("%-9s %s\n", "working", working ? "yes" : "no");
    }
    cg_calendar_release(cal);
    cg_db_close(db);
    return rc;
}

int cmd_calendar(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cal_opts o;
    int rc = parse(ctx, argc, argv, &o);

    if (rc) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (o.npos == 0) {
        cli_error(ctx, "expected a subcommand (see 'civgrid calendar --help')");
        return CLI_USAGE;
    }
    if (!strcmp(o.pos[0], "show")) {
        return cal_show(ctx, &o);
    }
    if (!strcmp(o.pos[0], "import")) {
        return cal_import(ctx, &o);
    }
    if (!strcmp(o.pos[0], "hours")) {
        return cal_hours(ctx, &o);
    }
    if (!strcmp(o.pos[0], "deadline") || !strcmp(o.pos[0], "elapsed") || !strcmp(o.pos[0], "at")) {
        return cal_compute(ctx, &o, o.pos[0]);
    }
    cli_error(ctx, "unknown subcommand '%s' (see 'civgrid calendar --help')", o.pos[0]);
    return CLI_USAGE;
}
