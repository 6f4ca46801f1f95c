/*
 * event_int.h: shared by the files of the event module only: the row as the
 * rules see it, and the store functions (cg_event__*).
 */
#ifndef CG_EVENT_INT_H
#define CG_EVENT_INT_H

#include "base/cg.h"
#include "base/err.h"
#include "base/str.h"
#include "base/time.h"
#include "domain/event/event.h"

#include <math.h>
#include <pthread.h>

struct cg_conn;

#define EV_TEXT 24
#define EV_CODE 24
#define EV_NAME 260

/* One event as stored (text fields are copies). */
struct cg_event__row {
    int64_t id, reporter_id, version, rework_count, people, merged_into;
    int risk_score;
    int satisfaction; /* 0: none */
    bool supervised;
    char kind[EV_TEXT], source[EV_TEXT], urgency[EV_TEXT], state[EV_TEXT], tier[EV_TEXT];
    char category_kind[EV_TEXT], category_code[EV_CODE], category_name[EV_NAME];
    char department[EV_NAME], grid_code[EV_CODE], closure_type[EV_TEXT];
    char step_started_at[CG_TIME_ISO_LEN], deadline_at[CG_TIME_ISO_LEN], due_at[CG_TIME_ISO_LEN];
    char created_at[CG_TIME_ISO_LEN], closed_at[CG_TIME_ISO_LEN];
    char filed_at[CG_TIME_ISO_LEN];      /* the "file" action (立案), "" before */
    char dispatched_at[CG_TIME_ISO_LEN]; /* the first "dispatch", "" before */
    double lon, lat;
    char *title, *description, *address; /* owned: cg_event__row_release() */
    char *risk_reasons;                  /* JSON array text; owned */
    const char *client_key;              /* the reporter's Idempotency-Key or NULL; borrowed */
};
void cg_event__row_release(struct cg_event__row *r);

/* One log entry to append. */
struct cg_event__log {
    const char *action, *from_state, *to_state, *note;
    const char *deadline_at; /* "" for none */
    json_t *detail;          /* may be NULL; borrowed */
};

/* The event reporter_id made with client_key: *out_id, or 0 when there is none. */
int cg_event__by_client_key(struct cg_db *db, int64_t reporter_id, const char *client_key,
                            int64_t *out_id, struct cg_error *err);

/* Inserts a new event (row->id is set) with its first log entries, in one job. */
int cg_event__insert(struct cg_db *db, struct cg_event__row *row, const struct cg_event__log *logs,
                     size_t nlogs, int64_t actor_id, const char *actor_login, struct cg_error *err);

/*
 * Writes next over the stored event if it is still at version next->version
 * (the one the decision was made on), bumping the version, and appends log,
 * in one job. CG_ECONFLICT with the current state when someone acted first.
 */
int cg_event__update(struct cg_db *db, const struct cg_event__row *next,
                     const struct cg_event__log *log, int64_t actor_id, const char *actor_login,
                     struct cg_error *err);

/*
 * Merges next (a duplicate, now "merged" into target_id) in one job: next is
 * written as cg_event__update() does, target gets log_target, and the
 * duplicate's reporter (if any) follows the target. CG_ECONFLICT when either
 * moved on meanwhile (target must still be at target_version).
 */
int cg_event__merge(struct cg_db *db, const struct cg_event__row *next,
                    const struct cg_event__log *log, int64_t target_id, int64_t target_version,
                    const struct cg_event__log *log_target, int64_t actor_id,
                    const char *actor_login, struct cg_error *err);

/* True when account follows event id (a reporter of a duplicate merged into it). */
bool cg_event__follows(struct cg_db *db, int64_t id, int64_t account_id);

/*
 * Events of the category (report-only records aside; open ones only when open_only) within
 * radius_m of (lon, lat) reported since since: the newest max of them, newest first.
 */
struct cg_event__near {
    int64_t id;
    double distance_m;
    char state[EV_TEXT], created_at[CG_TIME_ISO_LEN], grid_code[EV_CODE];
};
/* Keeps an event in out, the newest max of those offered (appended, or in the oldest's place). */
void cg_event__near_keep(struct cg_event__near *out, size_t max, size_t *n, int64_t id, double d,
                         const char *state, const char *created_at, const char *grid_code);
/* qsort() order of cg_event__near: newest (highest id) first. */
int cg_event__newest_first(const void *a, const void *b);

/*
 * The cells of 0.002 degrees (about 200 m) that the generated column `cell` of migration 0012
 * numbers row * CG_EVENT__CELL_COLUMNS + column, truncating as SQLite's CAST does.
 */
#define CG_EVENT__CELL_DEG 0.002
#define CG_EVENT__CELL_COLUMNS 180000

static inline int64_t cg_event__cell_row(double lat)
{
    return (int64_t)((lat + 90) / CG_EVENT__CELL_DEG);
}

static inline int64_t cg_event__cell_column(double lon)
{
    return (int64_t)((lon + 180) / CG_EVENT__CELL_DEG);
}

/* Metres between two points (equirectangular at their mean latitude: fine within km). */
static inline double cg_event__metres(double lon1, double lat1, double lon2, double lat2)
{
    double k = cos((lat1 + lat2) / 2 * M_PI / 180.0);
    double dx = (lon2 - lon1) * 111320.0 * k, dy = (lat2 - lat1) * 110574.0;

    return sqrt(dx * dx + dy * dy);
}

/* The same from SQL (a scan of the table since migration 0016 dropped its index): the
   reference the recent events in memory are tested against
   (test_recent_events_agree_with_the_store); no request path calls it. */
int cg_event__nearby(struct cg_db *db, const char *category_kind, const char *category_code,
                     double lon, double lat, double radius_m, const char *since, bool open_only,
                     struct cg_event__near *out, size_t max, size_t *out_n, struct cg_error *err);

/* The risk words and their points, through fn. */
typedef void cg_event__word_fn(void *ctx, const char *word, int points);
int cg_event__risk_words(struct cg_db *db, cg_event__word_fn *fn, void *ctx, struct cg_error *err);

/* Reads event id into *out; CG_ENOTFOUND. */
int cg_event__load(struct cg_db *db, int64_t id, struct cg_event__row *out, struct cg_error *err);

/* Appends the log of event id, oldest first, to list. */
int cg_event__log_json(struct cg_db *db, int64_t id, json_t *list, struct cg_error *err);

/* Scope filter of a list: what kind of scope and its value. */
struct cg_event__scope {
    const char *grid_prefix; /* "" for all */
    const char *department;  /* NULL unless a department scope */
    int64_t owner_id;        /* 0 unless an own scope */
};
/* Events matching scope and q, newest first, limit + 1 rows, each through fn. */
typedef void cg_event__row_fn(void *ctx, const struct cg_event__row *row);
int cg_event__list(struct cg_db *db, const struct cg_event__scope *scope,
                   const struct cg_event_query *q, const char *now, cg_event__row_fn *fn, void *ctx,
                   struct cg_error *err);

/* China time: UTC+8 all year (no daylight saving since 1991). */
#define CN_OFFSET_MS (8 * 3600 * INT64_C(1000))
#define DAY_MS (86400 * INT64_C(1000))

struct cg_event__recent;

/* The words of table risk_word, as last read (event.c). */
struct cg_event__word_list {
    struct cg_str text; /* the words, each NUL-terminated */
    size_t *at;         /* where each starts in text */
    int *points;
    size_t n, cap;
    int64_t read_ms; /* monotonic, of the last read begun; 0: never */
    bool reading;    /* a thread is reading the table */
};

/* The module (event.h): shared by event.c and event_kpi.c. */
struct cg_events {
    struct cg_db *db;
    struct cg_grid_locator *grids;
    struct cg_event__recent *recent; /* the last 30 days of events, for intake */
    pthread_mutex_t mu;              /* guards cal and words */
    struct cg_calendar *cal;
    struct cg_event__word_list words;
};

/*
 * The scope of actor's statistics (the queue's), narrowed by within when given: the KPIs'
 * and the dashboard's.
 */
int cg_event__stats_scope(const struct cg_principal *actor, const char *within,
                          struct cg_event__scope *scope, struct cg_error *err);

/* ---- recent events in memory (event_recent.c) ------------------------------------------ */

/* An event as the recent events keep it. */
struct cg_event__recent_row {
    int64_t id, reporter_id;         /* reporter 0: none */
    char cls[EV_TEXT + EV_CODE + 2]; /* "kind:code" */
    double lon, lat;
    char state[EV_TEXT], created_at[CG_TIME_ISO_LEN], grid_code[EV_CODE];
    bool report_only;
};
typedef void cg_event__recent_fn(void *ctx, const struct cg_event__recent_row *row);

/*
 * The events changed since the log entry after_log, as they are now, through fn (each
 * once, in id order); after_log 0: every event created since since instead. *out_last_log
 * gets the newest log entry id of the same snapshot.
 */
int cg_event__recent_changes(struct cg_db *db, int64_t after_log, const char *since,
                             cg_event__recent_fn *fn, void *ctx, int64_t *out_last_log,
                             struct cg_error *err);

/*
 * The events of the last window_ms in memory, for what a report reads at intake (the risk's
 * repeats at the place and by the person, the near-duplicates), kept up to date from the
 * event log (docs/EVENTS.md, "Risk score"). Safe from any thread.
 */
struct cg_event__recent;
struct cg_event__recent *cg_event__recent_new(struct cg_db *db, int64_t window_ms);
void cg_event__recent_free(struct cg_event__recent *r);

/* Catches up with the log now (at first: loads the window); *out_n gets the events held. */
int cg_event__recent_warm(struct cg_event__recent *r, int64_t now_ms, size_t *out_n,
                          struct cg_error *err);

struct cg_event__around_query {
    const char *category_kind, *category_code;
    double lon, lat, radius_m;
    int64_t since_ms;          /* reported at or after */
    int64_t reporter_id;       /* 0: do not count */
    size_t reporter_last;      /* the reporter's latest this many events count ... */
    int64_t reporter_since_ms; /* ... when reported at or after this */
};
/*
 * After catching up with the log: the newest max events of the class within radius_m
 * reported since since_ms (report-only records aside), newest first, into out (*out_n), and
 * how many of the reporter's latest reporter_last events were reported since
 * reporter_since_ms (*out_mine). An error leaves the answer of what was already in memory.
 */
int cg_event__recent_around(struct cg_event__recent *r, const struct cg_event__around_query *q,
                            int64_t now_ms, struct cg_event__near *out, size_t max, size_t *out_n,
                            int64_t *out_mine, struct cg_error *err);

/* The counters of one KPI group. */
struct cg_event__kpi {
    size_t key; /* where the group's key starts in its list's keys */
    int64_t reported, filed, due, closed, on_time, rework, self_resolved, revisits;
    double satisfaction_sum;
};

/*
 * KPI groups as the store reads them (no particular order). The keys sit in one buffer rather
 * than in each row: the 9,889 workers of a city are 0.9 MB of rows instead of 3.4 MB, which
 * is what an answer of that size spent its time moving and faulting in.
 */
struct cg_event__kpis {
    struct cg_event__kpi *rows;
    size_t n, cap;
    struct cg_str keys; /* NUL-terminated keys, one after the other */
};

/* A new zeroed group of key (len bytes), valid until the next one is added. */
struct cg_event__kpi *cg_event__kpis_add(struct cg_event__kpis *l, const char *key, size_t len);
void cg_event__kpis_free(struct cg_event__kpis *l);

static inline const char *cg_event__kpi_key(const struct cg_event__kpis *l,
                                            const struct cg_event__kpi *k)
{
    return l->keys.buf + k->key;
}

/* Groupings of the KPIs; the first three are levels of the grid code. */
enum cg_event__by {
    CG_EVENT_BY_GRID,
    CG_EVENT_BY_VILLAGE,
    CG_EVENT_BY_TOWN,
    CG_EVENT_BY_DEPARTMENT,
    CG_EVENT_BY_WORKER
};

/*
 * The reference: counts over [from, to) scanned from the event rows and the
 * log, by the rule the roll-ups keep (docs/EVENTS.md): due (应结案) on
 * min(due_at, closed_at), closed and on time as of now. Groups into out
 * (empty). Slow on a big table: the KPIs use it only for periods that do
 * not start and end at China midnights, and the tests compare with it.
 */
int cg_event__kpi_scan(struct cg_db *db, enum cg_event__by by, const struct cg_event__scope *scope,
                       const char *from, const char *to, struct cg_event__kpis *out,
                       struct cg_error *err);

/* The "total" object of cg_event_kpi()'s answer alone (a new reference): the dashboard's. */
int cg_event__kpi_total(struct cg_events *ev, const struct cg_principal *actor,
                        const struct cg_event_kpi_query *q, json_t **out, struct cg_error *err);

/* cg_event_kpi() answered by cg_event__kpi_scan() whatever the period ("source": "scan"). */
int cg_event__kpi_reference(struct cg_events *ev, const struct cg_principal *actor,
                            const struct cg_event_kpi_query *q, json_t **out, struct cg_error *err);

/*
 * A roll-up bucket of a period: a China day, month or year (migration 0015), added or
 * subtracted (January less the 31st).
 */
struct cg_event__bucket {
    char name[16]; /* "2026", "2026-01" or "2026-01-31" */
    int sign;      /* 1 or -1 */
};

/*
 * What to read of the roll-ups (table event_rollup, migration 0010): rows of
 * target (dim, lvl) in the buckets, each with its sign, whose area starts with prefix and
 * (when key is not NULL) of that key, summed per group: 0 the area, 1 its village, 2 its
 * town, 3 the key, into out (empty; in no particular order, the caller sorts).
 */
struct cg_event__rollup_query {
    int dim;   /* 0 the area, 1 a department in it, 2 a reporter in a grid */
    int lvl;   /* 0 city, 1 town, 2 village, 3 grid */
    int group; /* 0 area, 1 village, 2 town, 3 key */
    const struct cg_event__bucket *buckets;
    size_t n_buckets;
    const char *prefix; /* of the area ("" for all) */
    const char *key;    /* NULL for any */
};
int cg_event__kpi_rollup(struct cg_db *db, const struct cg_event__rollup_query *q,
                         struct cg_event__kpis *out, struct cg_error *err);

/*
 * The display names of the KPI groups whose keys keys_json lists (a JSON array of strings),
 * through fn (a key may come more than once: the last name is the one): a grid's (its
 * versions in order, the latest last), a village's or town's (the division's), a worker's (the
 * grid staff member linked to the account: citizens and other reporters stay a number).
 * Departments are their name: none.
 */
typedef void cg_event__name_fn(void *ctx, const char *key, const char *name);
int cg_event__kpi_names(struct cg_db *db, enum cg_event__by by, const char *keys_json,
                        cg_event__name_fn *fn, void *ctx, struct cg_error *err);

/* Open events in scope by state, counted over the index of open events (event_open_state). */
typedef void cg_event__count_fn(void *ctx, const char *state, int64_t n);
int cg_event__open_by_state(struct cg_db *db, const struct cg_event__scope *scope,
                            cg_event__count_fn *fn, void *ctx, struct cg_error *err);

/*
 * Open events in scope with a deadline: *out_red counts those past it at now;
 * those still ahead go through fn (deadline_at, step_started_at and state
 * set) for the yellow rule, which needs the working calendar.
 */
typedef void cg_event__deadline_fn(void *ctx, const struct cg_event__row *row);
int cg_event__deadlines(struct cg_db *db, const struct cg_event__scope *scope, const char *now,
                        int64_t *out_red, cg_event__deadline_fn *fn, void *ctx,
                        struct cg_error *err);

/* ---- the deadline sweep ----------------------------------------------------------------- */

/* Open events whose deadline is before until, through fn (id, deadline, warned kinds). */
typedef void cg_event__due_fn(void *ctx, const struct cg_event__row *row);
int cg_event__due_before(struct cg_db *db, const char *until, cg_event__due_fn *fn, void *ctx,
                         struct cg_error *err);
/* Records a notice once (kind, deadline); *out_new tells whether it is new. */
int cg_event__notice(struct cg_db *db, const struct cg_event__row *row, const char *kind,
                     const char *message, bool *out_new, struct cg_error *err);
/* Notices visible in scope newer than after_id, newest first, as JSON into list. */
int cg_event__notices(struct cg_db *db, const struct cg_event__scope *scope, int64_t after_id,
                      int limit, json_t *list, struct cg_error *err);

#endif
