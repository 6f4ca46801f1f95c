/*
 * event_kpi.c: the first KPIs (event.h, docs/EVENTS.md "KPIs"): a period's buckets of the
 * roll-ups (days, months, years, each added or subtracted), which roll-up rows answer a
 * grouping in a scope, the groups sorted by any figure and paged, their names. The rows come
 * from event_store.c: the roll-ups, or the scan of the events for periods that are not whole
 * China days.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "db/db.h"
#include "domain/auth/auth.h"
#include "domain/event/event_int.h"
#include "domain/grid/index.h"

#include <time.h>

/*
 * The answer's JSON is written as text here rather than built from jansson objects: a row's
 * object (a hash table and 14 values, each allocated) and its dump were two thirds of the time
 * of a 590-village answer. The text is what json_dumps(JSON_COMPACT) would write for the same
 * object: the same keys in the same order, reals as %.17g with a ".0" when that looks like an
 * integer, UTF-8 as is.
 */
static void put_int(struct cg_str *sb, int64_t v)
{
    char buf[24], *p = buf + sizeof(buf);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        *--p = '-';
    }
    cg_str_add(sb, p, (size_t)(buf + sizeof(buf) - p));
}

static void put_real(struct cg_str *sb, double v)
{
    char buf[40];
    int n = snprintf(buf, sizeof(buf), "%.17g", v);

    cg_str_add(sb, buf, (size_t)n);
    if (!strpbrk(buf, ".eE")) {
        cg_str_add(sb, ".0", 2);
    }
}

static void put_rate(struct cg_str *sb, int64_t num, int64_t den)
{
    if (den) {
        put_real(sb, (double)num / (double)den);
    } else {
        cg_str_add(sb, "null", 4);
    }
}

/* s as a JSON string; NULL, and text that is not well-formed UTF-8, as null. */
static void put_string(struct cg_str *sb, const char *s)
{
    /* the characters JSON names; the other control characters as \u00XX */
    static const char *const named[] = {
        ['"'] = "\\\"", ['\\'] = "\\\\", ['\n'] = "\\n", ['\r'] = "\\r",
        ['\t'] = "\\t", ['\b'] = "\\b",  ['\f'] = "\\f"};
    size_t n = s ? strlen(s) : 0, done = 0;

    if (!s || !cg_utf8_valid(s, n)) {
        cg_str_add(sb, "null", 4);
        return;
    }
    cg_str_addch(sb, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];

        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        cg_str_add(sb, s + done, i - done);
        done = i + 1;
        if (c < CG_ARRAY_LEN(named) && named[c]) {
            cg_str_add(sb, named[c], 2);
        } else {
            snprintf(esc, sizeof(esc), "\\u%04X", c);
            cg_str_add(sb, esc, 6);
        }
    }
    cg_str_add(sb, s + done, n - done);
    cg_str_addch(sb, '"');
}

/* The name of a field: ,"key": (without the comma for an object's first). */
static void put_key(struct cg_str *sb, const char *key, bool first)
{
    if (!first) {
        cg_str_addch(sb, ',');
    }
    cg_str_addch(sb, '"');
    cg_str_adds(sb, key);
    cg_str_add(sb, "\":", 2);
}

/* A group's row of the answer; key NULL: the total, without a key or a name. */
static void kpi_text(struct cg_str *sb, const struct cg_event__kpi *k, const char *key,
                     const char *name)
{
    /* the counts in the answer's order; a rate is a / b (null when b is 0) */
    const struct {
        const char *key;
        int64_t a, b;
        bool rate;
    } f[] = {
        {"reported", k->reported, 0, false},
        {"filed", k->filed, 0, false},
        {"due", k->due, 0, false},
        {"closed", k->closed, 0, false},
        {"closed_on_time", k->on_time, 0, false},
        {"closure_rate", k->closed, k->due, true},
        {"on_time_rate", k->on_time, k->due, true},
        {"rework", k->rework, 0, false},
        {"self_resolved", k->self_resolved, 0, false},
        {"self_resolution_rate", k->self_resolved, k->reported, true},
        {"revisits", k->revisits, 0, false},
    };

    cg_str_addch(sb, '{');
    if (key) {
        put_key(sb, "key", true);
        put_string(sb, key);
        put_key(sb, "name", false);
        put_string(sb, name && *name ? name : NULL);
    }
    for (size_t i = 0; i < CG_ARRAY_LEN(f); i++) {
        put_key(sb, f[i].key, !key && i == 0);
        if (f[i].rate) {
            put_rate(sb, f[i].a, f[i].b);
        } else {
            put_int(sb, f[i].a);
        }
    }
    put_key(sb, "satisfaction", false);
    if (k->revisits) {
        put_real(sb, k->satisfaction_sum / (double)k->revisits);
    } else {
        cg_str_add(sb, "null", 4);
    }
    cg_str_addch(sb, '}');
}

/* Drops the groups of l with nothing in the period and adds up the others into *total. */
static void kpi_keep(struct cg_event__kpis *l, struct cg_event__kpi *total)
{
    size_t n = 0;

    memset(total, 0, sizeof(*total));
    for (size_t i = 0; i < l->n; i++) {
        const struct cg_event__kpi *k = &l->rows[i];

        /* Groups with nothing in the period are left out, whichever source counted them. */
        if (!k->reported && !k->filed && !k->due && !k->closed && !k->on_time && !k->rework &&
            !k->self_resolved && !k->revisits && k->satisfaction_sum == 0) {
            continue;
        }
        l->rows[n++] = *k;
        total->reported += k->reported;
        total->filed += k->filed;
        total->due += k->due;
        total->closed += k->closed;
        total->on_time += k->on_time;
        total->rework += k->rework;
        total->self_resolved += k->self_resolved;
        total->revisits += k->revisits;
        total->satisfaction_sum += k->satisfaction_sum;
    }
    l->n = n;
}

/*
 * The orders of the KPI rows: each field of a row's JSON but the key, by its value; a rate
 * (num / den) with den 0 has no value (null) and comes last in either direction.
 */
enum kpi_field {
    KF_REPORTED,
    KF_FILED,
    KF_DUE,
    KF_CLOSED,
    KF_ON_TIME,
    KF_CLOSURE_RATE,
    KF_ON_TIME_RATE,
    KF_REWORK,
    KF_SELF_RESOLVED,
    KF_SELF_RATE,
    KF_REVISITS,
    KF_SATISFACTION,
    KF_KEY
};

static const char *const kpi_fields[] = {"reported",
                                         "filed",
                                         "due",
                                         "closed",
                                         "closed_on_time",
                                         "closure_rate",
                                         "on_time_rate",
                                         "rework",
                                         "self_resolved",
                                         "self_resolution_rate",
                                         "revisits",
                                         "satisfaction",
                                         "key",
                                         NULL};

/* The value of field of k into *v; false when it has none (a rate over nothing). */
static bool kpi_value(const struct cg_event__kpi *k, enum kpi_field field, double *v)
{
    int64_t num = 0, den = 1;

    switch (field) {
    case KF_REPORTED:
        num = k->reported;
        break;
    case KF_FILED:
        num = k->filed;
        break;
    case KF_DUE:
        num = k->due;
        break;
    case KF_CLOSED:
        num = k->closed;
        break;
    case KF_ON_TIME:
        num = k->on_time;
        break;
    case KF_CLOSURE_RATE:
        num = k->closed, den = k->due;
        break;
    case KF_ON_TIME_RATE:
        num = k->on_time, den = k->due;
        break;
    case KF_REWORK:
        num = k->rework;
        break;
    case KF_SELF_RESOLVED:
        num = k->self_resolved;
        break;
    case KF_SELF_RATE:
        num = k->self_resolved, den = k->reported;
        break;
    case KF_REVISITS:
        num = k->revisits;
        break;
    case KF_SATISFACTION:
        *v = k->revisits ? k->satisfaction_sum / (double)k->revisits : 0;
        return k->revisits != 0;
    default:
        return false;
    }
    *v = den ? (double)num / (double)den : 0;
    return den != 0;
}

/* A row of a page with its sort value and, once known, its name (owned). */
struct kpi_sort {
    const struct cg_event__kpi *k;
    const char *key;
    double v;
    bool has;
    char *name; /* NULL: none */
};

static int kpi_sort_cmp(const void *pa, const void *pb, bool desc)
{
    const struct kpi_sort *a = pa, *b = pb;

    if (a->has != b->has) {
        return a->has ? -1 : 1;
    }
    if (a->has && a->v != b->v) {
        return (a->v < b->v) == desc ? 1 : -1;
    }
    return a->has || !desc ? strcmp(a->key, b->key) : strcmp(b->key, a->key);
}

static int kpi_sort_asc(const void *a, const void *b)
{
    return kpi_sort_cmp(a, b, false);
}

static int kpi_sort_desc(const void *a, const void *b)
{
    return kpi_sort_cmp(a, b, true);
}

/* Sifts heap[i] down a heap of n whose root is the last in the order cmp (the worst kept). */
static void kpi_sift(struct kpi_sort *heap, size_t n, size_t i,
                     int (*cmp)(const void *, const void *))
{
    for (;;) {
        size_t worst = i, l = 2 * i + 1, r = l + 1;
        struct kpi_sort t;

        if (l < n && cmp(&heap[l], &heap[worst]) > 0) {
            worst = l;
        }
        if (r < n && cmp(&heap[r], &heap[worst]) > 0) {
            worst = r;
        }
        if (worst == i) {
            return;
        }
        t = heap[i];
        heap[i] = heap[worst];
        heap[worst] = t;
        i = worst;
    }
}

/*
 * The name of a grid, village or town from the grid map in memory (a grid whose code starts
 * with the key: the grids are in code order), or NULL (a retired grid, a worker, none).
 */
static const char *map_name(const struct cg_grid_index *ix, enum cg_event__by by, const char *key)
{
    size_t lo = 0, hi = ix ? cg_grid_index_count(ix) : 0, len = strlen(key);
    struct cg_grid_place place;
    const char *name;

    if (!ix || (by != CG_EVENT_BY_GRID && by != CG_EVENT_BY_VILLAGE && by != CG_EVENT_BY_TOWN)) {
        return NULL;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(cg_grid_index_code(ix, (int)mid), key) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo >= cg_grid_index_count(ix) || strncmp(cg_grid_index_code(ix, (int)lo), key, len)) {
        return NULL;
    }
    cg_grid_index_place(ix, (int)lo, &place);
    name = by == CG_EVENT_BY_GRID      ? (strlen(place.code) == len ? place.name : NULL)
           : by == CG_EVENT_BY_VILLAGE ? place.community_name
                                       : place.town_name;
    return name && *name ? name : NULL;
}

static int by_key(const void *a, const void *b)
{
    return strcmp((*(struct kpi_sort *const *)a)->key, (*(struct kpi_sort *const *)b)->key);
}

struct name_ctx {
    struct kpi_sort **sorted; /* the rows still to name, by key (keys are unique) */
    size_t n;
};

static void name_found(void *ctx, const char *key, const char *name)
{
    struct name_ctx *c = ctx;
    size_t lo = 0, hi = c->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp(c->sorted[mid]->key, key);

        if (d == 0) {
            free(c->sorted[mid]->name); /* a later version's name replaces it */
            c->sorted[mid]->name = *name ? cg_strdup(name) : NULL;
            return;
        }
        if (d < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
}

/*
 * Names rows[0..n): from the grid map in memory where it can, the rest from the store in one
 * statement for the page. A failed read leaves those rows without a name.
 */
static void kpi_names(struct cg_events *ev, enum cg_event__by by, struct kpi_sort *rows, size_t n)
{
    struct cg_grid_index *ix = ev->grids ? cg_grid_locator_acquire(ev->grids) : NULL;
    struct name_ctx c = {cg_calloc(n ? n : 1, sizeof(*c.sorted)), 0};
    struct cg_error err = CG_ERROR_INIT;
    struct cg_str keys = CG_STR_INIT; /* the keys to look up, as a JSON array */

    cg_str_addch(&keys, '[');
    for (size_t i = 0; i < n; i++) {
        const char *name = map_name(ix, by, rows[i].key);

        if (name) {
            rows[i].name = cg_strdup(name);
        } else {
            if (c.n) {
                cg_str_addch(&keys, ',');
            }
            put_string(&keys, rows[i].key);
            c.sorted[c.n++] = &rows[i];
        }
    }
    cg_str_addch(&keys, ']');
    if (ix) {
        cg_grid_locator_release(ev->grids, ix);
    }
    if (c.n && !cg_str_error(&keys)) {
        qsort(c.sorted, c.n, sizeof(*c.sorted), by_key);
        if (cg_event__kpi_names(ev->db, by, cg_str_ptr(&keys), name_found, &c, &err)) {
            cg_error_clear(&err); /* the rows without some names rather than no answer */
        }
    }
    cg_str_release(&keys);
    free(c.sorted);
}

/*
 * The groups of l sorted by field (ties and KF_KEY: by key) and paged, as the JSON text of
 * the rows (without the brackets) appended to sb. A page of a ranking (offset + limit well
 * below the groups) keeps only the first offset + limit in a heap on the way, rather than
 * sorting every group: the top 50 of 9,889 workers.
 */
static void kpi_page(struct cg_events *ev, enum cg_event__by by, const struct cg_event__kpis *l,
                     enum kpi_field field, bool desc, int64_t offset, int64_t limit,
                     struct cg_str *sb)
{
    int (*cmp)(const void *, const void *) = desc ? kpi_sort_desc : kpi_sort_asc;
    size_t first = (uint64_t)offset > l->n ? l->n : (size_t)offset;
    size_t last = limit > 0 && (uint64_t)limit < l->n - first ? first + (size_t)limit : l->n;
    struct kpi_sort *s = cg_calloc(last ? last : 1, sizeof(*s));
    size_t kept = 0;

    for (size_t i = 0; i < l->n; i++) {
        struct kpi_sort x = {&l->rows[i], cg_event__kpi_key(l, &l->rows[i]), 0, false, NULL};

        x.has = kpi_value(x.k, field, &x.v);
        if (kept < last) {
            s[kept++] = x;
            if (kept == last) {
                for (size_t j = last / 2; j-- > 0;) {
                    kpi_sift(s, last, j, cmp);
                }
            }
        } else if (last && cmp(&x, &s[0]) < 0) {
            s[0] = x;
            kpi_sift(s, last, 0, cmp);
        }
    }
    qsort(s, kept, sizeof(*s), cmp);
    kpi_names(ev, by, s + first, kept - first);
    for (size_t i = first; i < kept; i++) {
        if (i > first) {
            cg_str_addch(sb, ',');
        }
        kpi_text(sb, s[i].k, s[i].key, s[i].name);
        free(s[i].name);
    }
    free(s);
}

/* A bound of a period: a date is the start of that China day; else an RFC 3339 UTC time. */
static bool parse_bound(const char *s, int64_t *out)
{
    if (!s || !cg_time_parse_iso(s, out)) {
        return false;
    }
    if (strlen(s) == 10) {
        *out -= CN_OFFSET_MS;
    }
    return true;
}

static bool china_midnight(int64_t ms)
{
    return (ms + CN_OFFSET_MS) % DAY_MS == 0;
}

/* Appends bucket name with sign to *list (n used, *cap allocated). */
static void add_bucket(struct cg_event__bucket **list, size_t *n, size_t *cap, const char *name,
                       int sign)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        *list = cg_realloc(*list, *cap * sizeof(**list));
    }
    snprintf((*list)[*n].name, sizeof((*list)[*n].name), "%s", name);
    (*list)[(*n)++].sign = sign;
}

static void add_day(struct cg_event__bucket **list, size_t *n, size_t *cap, int64_t day, int sign)
{
    time_t secs = (time_t)(day * 86400);
    struct tm tm;
    char b[40];

    gmtime_r(&secs, &tm);
    snprintf(b, sizeof(b), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    add_bucket(list, n, cap, b, sign);
}

/*
 * The month (or year) of day (days since 1970): its first day, the first day after it and
 * its bucket name ("2026-01" or "2026").
 */
static void period_of(int64_t day, bool year, int64_t *start, int64_t *next, char *name,
                      size_t size)
{
    time_t secs = (time_t)(day * 86400);
    struct tm tm;

    gmtime_r(&secs, &tm);
    if (year) {
        snprintf(name, size, "%04d", tm.tm_year + 1900);
    } else {
        snprintf(name, size, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
    }
    tm.tm_mday = 1;
    tm.tm_mon = year ? 0 : tm.tm_mon;
    *start = (int64_t)timegm(&tm) / 86400;
    tm.tm_mon += year ? 12 : 1; /* timegm normalises December + 1 */
    *next = (int64_t)timegm(&tm) / 86400;
}

/*
 * What reading a bucket costs, in tenths of a past day's rows: a month or a year holds about
 * two and a half days' worth of groups (most of them report every few days), and a day after
 * today holds only the deadlines that fall on it (a tenth of a day that has passed). Measured on
 * the bench's year by worker: 4,800 rows a day, 12,700 a month, 12,800 the year, 400 a future
 * day.
 */
enum { COST_DAY = 10, COST_FUTURE_DAY = 1, COST_MONTH = 25, COST_YEAR = 25 };

static int64_t day_cost(int64_t day, int64_t today)
{
    return day > today ? COST_FUTURE_DAY : COST_DAY;
}

/* The cost of the days [a, b) read one by one. */
static int64_t days_cost(int64_t a, int64_t b, int64_t today)
{
    int64_t c = 0;

    for (int64_t i = a; i < b; i++) {
        c += day_cost(i, today);
    }
    return c;
}

/*
 * Appends the buckets of days [a, b) with sign and adds their cost to *cost: each month the
 * range touches is its month row when whole; when partly inside, the days inside or the month
 * minus the days outside, whichever costs less to read.
 */
static void cover_months(struct cg_event__bucket **list, size_t *n, size_t *cap, int64_t a,
                         int64_t b, int sign, int64_t today, int64_t *cost)
{
    while (a < b) {
        int64_t m0, m1, e, inside, outside;
        char month[40];

        period_of(a, false, &m0, &m1, month, sizeof(month));
        e = b < m1 ? b : m1;
        inside = days_cost(a, e, today);
        outside = COST_MONTH + days_cost(m0, a, today) + days_cost(e, m1, today);
        if (e - a < m1 - m0 && inside <= outside) {
            for (int64_t i = a; i < e; i++) {
                add_day(list, n, cap, i, sign);
            }
            *cost += inside;
        } else {
            add_bucket(list, n, cap, month, sign);
            for (int64_t i = m0; i < m1; i++) {
                if (i < a || i >= e) {
                    add_day(list, n, cap, i, -sign);
                }
            }
            *cost += outside;
        }
        a = m1;
    }
}

/*
 * The roll-up buckets of [from, to), both China midnights, each with its sign (an array
 * owned by the caller, free(); *out_n of them), read on China day today. Each year the period
 * touches is covered by its months (cover_months) or, when that costs more to read, by the
 * year row less the months and days outside the period: a year to date is the year less the
 * rest of the year (its days to come hold only deadlines, and cost little).
 */
static struct cg_event__bucket *buckets_of(int64_t from, int64_t to, int64_t today, size_t *out_n)
{
    int64_t d = (from + CN_OFFSET_MS) / DAY_MS, end = (to + CN_OFFSET_MS) / DAY_MS;
    struct cg_event__bucket *list = NULL;
    size_t n = 0, cap = 0;

    while (d < end) {
        struct cg_event__bucket *alt = NULL;
        size_t alt_n = 0, alt_cap = 0, mark = n;
        int64_t y0, y1, e, cost = 0, alt_cost = COST_YEAR;
        char year[40];

        period_of(d, true, &y0, &y1, year, sizeof(year));
        e = end < y1 ? end : y1;
        cover_months(&list, &n, &cap, d, e, 1, today, &cost);
        add_bucket(&alt, &alt_n, &alt_cap, year, 1);
        cover_months(&alt, &alt_n, &alt_cap, y0, d, -1, today, &alt_cost);
        cover_months(&alt, &alt_n, &alt_cap, e, y1, -1, today, &alt_cost);
        if (alt_cost < cost) {
            n = mark;
            for (size_t i = 0; i < alt_n; i++) {
                add_bucket(&list, &n, &cap, alt[i].name, alt[i].sign);
            }
        }
        free(alt);
        d = y1;
    }
    *out_n = n;
    return list;
}

/*
 * Which roll-up rows answer a grouping in a scope (see migration 0010 for
 * the targets): false when none do (a department's KPIs by worker, a
 * reporter's by department), and the scan answers.
 */
static bool rollup_plan(enum cg_event__by by, const struct cg_event__scope *scope, char *key,
                        size_t key_size, struct cg_event__rollup_query *q)
{
    static const int group_lvl[] = {3, 2, 1, 0, 0};
    static const bool has_lvl[3][4] = {
        {true, true, true, true}, {true, true, false, true}, {false, false, false, true}};
    size_t plen = strlen(scope->grid_prefix);
    int lvl = plen <= 6 ? 0 : plen <= 9 ? 1 : plen <= 12 ? 2 : 3;

    memset(q, 0, sizeof(*q));
    q->prefix = scope->grid_prefix;
    if (scope->department) {
        if (by == CG_EVENT_BY_WORKER) {
            return false;
        }
        q->dim = 1;
        q->key = scope->department;
    } else if (scope->owner_id) {
        if (by == CG_EVENT_BY_DEPARTMENT) {
            return false;
        }
        q->dim = 2;
        snprintf(key, key_size, "%" PRId64, scope->owner_id);
        q->key = key;
    } else {
        q->dim = by == CG_EVENT_BY_DEPARTMENT ? 1 : by == CG_EVENT_BY_WORKER ? 2 : 0;
    }
    if (lvl < group_lvl[by]) {
        lvl = group_lvl[by];
    }
    while (!has_lvl[q->dim][lvl]) {
        lvl++;
    }
    q->lvl = lvl;
    switch (by) {
    case CG_EVENT_BY_GRID:
        q->group = 0;
        break;
    case CG_EVENT_BY_VILLAGE:
        q->group = lvl == 2 ? 0 : 1;
        break;
    case CG_EVENT_BY_TOWN:
        q->group = lvl == 1 ? 0 : 2;
        break;
    default:
        q->group = 3;
        break;
    }
    return true;
}

int cg_event__stats_scope(const struct cg_principal *actor, const char *within,
                          struct cg_event__scope *scope, struct cg_error *err)
{
    int rc = 0;

    *scope = (struct cg_event__scope){"", NULL, 0};
    if (actor) {
        rc = cg_auth_allow_filter(actor, within, err);
        if (!rc && actor->scope_kind == CG_SCOPE_GRID) {
            scope->grid_prefix = actor->scope_ref;
        } else if (!rc && actor->scope_kind == CG_SCOPE_DEPARTMENT) {
            scope->department = actor->scope_ref;
        } else if (!rc && actor->scope_kind == CG_SCOPE_OWN) {
            scope->owner_id = actor->account_id ? actor->account_id : -1;
        }
    }
    if (!rc && within && *within && strlen(within) >= strlen(scope->grid_prefix)) {
        scope->grid_prefix = within;
    }
    return rc;
}

/* What kpi() answers: the rows and the total, counted from the roll-ups or by the scan. */
enum kpi_mode { KPI_ROWS, KPI_SCAN, KPI_TOTAL };

static int kpi(struct cg_events *ev, const struct cg_principal *actor,
               const struct cg_event_kpi_query *q, enum kpi_mode mode, char **out, size_t *out_len,
               struct cg_error *err)
{
    bool scan = mode == KPI_SCAN;
    static const char *const groups_by[] = {"grid",       "village", "town",
                                            "department", "worker",  NULL};
    struct cg_event__scope scope;
    struct cg_event__rollup_query rq;
    struct cg_event__kpis groups = {NULL, 0, 0, CG_STR_INIT};
    struct cg_event__kpi sum;
    int64_t from = 0, to = 0;
    char f[CG_TIME_ISO_LEN], t[CG_TIME_ISO_LEN], key[32];
    const char *source = "scan";
    int by = 0, field = KF_KEY, rc = 0;
    bool desc = q->order && q->order[0] == '-';
    struct cg_str sb = CG_STR_INIT;

    *out = NULL;
    while (groups_by[by] && strcmp(groups_by[by], q->by ? q->by : "grid")) {
        by++;
    }
    if (!groups_by[by]) {
        return cg_error_field(err, CG_EINVAL, "by",
                              "'by' must be grid, village, town, department or worker");
    }
    if (!q->from || !q->to || !parse_bound(q->from, &from) || !parse_bound(q->to, &to)) {
        return cg_error_field(err, q->from && q->to ? CG_EINVAL : CG_EMISSING,
                              q->from && parse_bound(q->from, &from) ? "to" : "from",
                              "'from' and 'to' must be dates (China days) like 2026-01-01 or "
                              "UTC times like 2026-01-01T00:00:00Z");
    }
    if (to <= from) {
        return cg_error_field(err, CG_EINVAL, "to", "'to' must come after 'from'");
    }
    if (q->order) {
        const char *name = q->order + (desc ? 1 : 0);

        for (field = 0; kpi_fields[field] && strcmp(kpi_fields[field], name); field++) {
        }
        if (!kpi_fields[field]) {
            return cg_error_field(err, CG_EINVAL, "order",
                                  "'order' must be a field of the rows (reported, closure_rate, "
                                  "on_time_rate, satisfaction, key ...), with '-' first for the "
                                  "highest first");
        }
    }
    if (q->limit < 0 || q->offset < 0) {
        return cg_error_field(err, CG_EINVAL, q->limit < 0 ? "limit" : "offset",
                              "'limit' and 'offset' must not be negative");
    }
    rc = cg_event__stats_scope(actor, q->within, &scope, err);
    if (rc) {
        return rc;
    }
    cg_time_iso(from, f, sizeof(f));
    cg_time_iso(to, t, sizeof(t));
    if (china_midnight(from) && china_midnight(to) && !scan &&
        rollup_plan((enum cg_event__by)by, &scope, key, sizeof(key), &rq)) {
        int64_t today = (cg_time_now_ms() + CN_OFFSET_MS) / DAY_MS;
        struct cg_event__bucket *buckets = buckets_of(from, to, today, &rq.n_buckets);

        rq.buckets = buckets;
        source = "rollup";
        rc = cg_event__kpi_rollup(ev->db, &rq, &groups, err);
        free(buckets);
    } else {
        rc = cg_event__kpi_scan(ev->db, (enum cg_event__by)by, &scope, f, t, &groups, err);
    }
    rc = rc ? rc : groups.keys.err;
    if (rc) {
        cg_event__kpis_free(&groups);
        return rc == CG_ETOOBIG ? cg_error_set(err, CG_ETOOBIG, "too many groups to answer") : rc;
    }
    kpi_keep(&groups, &sum);
    cg_str_addch(&sb, '{');
    put_key(&sb, "by", true);
    put_string(&sb, groups_by[by]);
    put_key(&sb, "from", false);
    put_string(&sb, f);
    put_key(&sb, "to", false);
    put_string(&sb, t);
    put_key(&sb, "source", false);
    put_string(&sb, source);
    put_key(&sb, "order", false);
    put_string(&sb, q->order ? q->order : "key");
    put_key(&sb, "groups", false);
    put_int(&sb, (int64_t)groups.n);
    put_key(&sb, "offset", false);
    put_int(&sb, q->offset);
    put_key(&sb, "limit", false);
    if (q->limit) {
        put_int(&sb, q->limit);
    } else {
        cg_str_add(&sb, "null", 4);
    }
    put_key(&sb, "rows", false);
    cg_str_addch(&sb, '[');
    /* the total alone (the dashboard): no sorting, naming or rendering of the rows */
    if (mode != KPI_TOTAL) {
        kpi_page(ev, (enum cg_event__by)by, &groups, (enum kpi_field)field, desc, q->offset,
                 q->limit, &sb);
    }
    cg_str_addch(&sb, ']');
    put_key(&sb, "total", false);
    kpi_text(&sb, &sum, NULL, NULL);
    cg_str_addch(&sb, '}');
    cg_event__kpis_free(&groups);
    if (cg_str_error(&sb)) {
        cg_str_release(&sb);
        return cg_error_set(err, CG_ETOOBIG, "too many groups to answer");
    }
    *out = cg_str_detach(&sb, out_len);
    return 0;
}

/* kpi() as a jansson object (the text parsed back), for the callers that read the answer. */
static int kpi_object(struct cg_events *ev, const struct cg_principal *actor,
                      const struct cg_event_kpi_query *q, enum kpi_mode mode, json_t **out,
                      struct cg_error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = kpi(ev, actor, q, mode, &text, &len, err);

    *out = NULL;
    if (!rc && !(*out = json_loadb(text, len, 0, NULL))) {
        rc = cg_error_set(err, CG_EINTERNAL, "the KPI answer is not valid JSON");
    }
    free(text);
    return rc;
}

int cg_event_kpi_text(struct cg_events *ev, const struct cg_principal *actor,
                      const struct cg_event_kpi_query *q, char **out, size_t *out_len,
                      struct cg_error *err)
{
    *out = NULL;
    *out_len = 0;
    return kpi(ev, actor, q, KPI_ROWS, out, out_len, err);
}

int cg_event_kpi(struct cg_events *ev, const struct cg_principal *actor,
                 const struct cg_event_kpi_query *q, json_t **out, struct cg_error *err)
{
    return kpi_object(ev, actor, q, KPI_ROWS, out, err);
}

int cg_event__kpi_total(struct cg_events *ev, const struct cg_principal *actor,
                        const struct cg_event_kpi_query *q, json_t **out, struct cg_error *err)
{
    json_t *k = NULL;
    int rc = kpi_object(ev, actor, q, KPI_TOTAL, &k, err);

    *out = rc ? NULL : json_incref(json_object_get(k, "total"));
    json_decref(k);
    return rc;
}

int cg_event__kpi_reference(struct cg_events *ev, const struct cg_principal *actor,
                            const struct cg_event_kpi_query *q, json_t **out, struct cg_error *err)
{
    return kpi_object(ev, actor, q, KPI_SCAN, out, err);
}
