/*
 * event.h: events (事件) and their handling workflow (docs/EVENTS.md).
 *
 * An event is reported from a source (patrol, citizen, hotline, video,
 * higher-level assignment), snapped to the grid its point lies in, classified
 * by the catalogue (domain/catalogue), and then moved through a table-driven
 * state machine: every row says from which state an action leads to which
 * state and which permission it needs. Every transition is one append-only
 * log row written in the same transaction as the event's new state; the
 * deadline of each step comes from the catalogue's limit and the working
 * calendar (domain/calendar). Two actors acting on one event at once: the
 * first wins, the second gets CG_ECONFLICT with the current state.
 *
 * Scope: an event is in an account's scope by its grid (grid scopes), its
 * responsible department (department scopes) or its reporter (own). Events
 * outside the scope are CG_ENOTFOUND. Returned JSON is owned by the caller.
 */
#ifndef CG_EVENT_H
#define CG_EVENT_H

#include "base/cg.h"
#include "base/err.h"

#include <jansson.h>

struct cg_db;
struct cg_principal;
struct cg_calendar;
struct cg_grid_locator;

#define CG_EVENT_TITLE_MAX 80         /* characters */
#define CG_EVENT_DESCRIPTION_MAX 2000 /* characters */
#define CG_EVENT_ADDRESS_MAX 200      /* characters */
#define CG_EVENT_NOTE_MAX 1000        /* characters */
#define CG_EVENT_CLIENT_KEY_MAX 64    /* characters of an Idempotency-Key: [A-Za-z0-9._:-] */

/* The module's state: the store, the grid index and the working calendar. */
struct cg_events;

/*
 * Borrows db and grids for its whole life and holds a reference on cal (may
 * be NULL: no deadlines in working time then). Free with cg_events_free().
 */
struct cg_events *cg_events_new(struct cg_db *db, struct cg_grid_locator *grids,
                                struct cg_calendar *cal);
void cg_events_free(struct cg_events *ev);
/* Uses cal (a new reference is taken) for the deadlines from now on. */
void cg_events_set_calendar(struct cg_events *ev, struct cg_calendar *cal);
/*
 * Reads the last 30 days of events and the risk words into memory now (what a report looks
 * at: repeats, near-duplicates, sensitive words) rather than at the first report; *out_events
 * gets how many events. The server calls it at start; without it the first report pays.
 */
int cg_events_warm(struct cg_events *ev, size_t *out_events, struct cg_error *err);

struct cg_event_input {
    const char *kind; /* "normal" (default), "self_resolved" (自行处置), "report_only" (报备) */
    const char *source; /* "patrol", "citizen", "hotline", "video", "assignment" */
    const char *category_kind, *category_code; /* a catalogue sub-class */
    const char *title, *description, *address;
    double lon, lat;  /* WGS-84 */
    int64_t people;   /* people involved (0: not said); raises the risk score */
    const char *note; /* of the first log entry (a self-resolved event: what was done) */
    /*
     * The reporter's key for this report (may be NULL): a report again with the same key
     * (a retry after a lost answer) makes no second event but returns the first one, with
     * "replayed": true.
     */
    const char *client_key;
};

/*
 * Records a report by actor and returns the new event as JSON. The point must
 * lie in a grid (CG_EOUTSIDEGRIDS otherwise) inside actor's scope (a citizen's
 * anywhere). A self-resolved event is closed at once (two log entries), a
 * report-only record is "recorded" and never counted in completion rates.
 */
int cg_event_report(struct cg_events *ev, const struct cg_principal *actor,
                    const struct cg_event_input *in, const char *remote, json_t **out,
                    struct cg_error *err) CG_MUST_CHECK;

/* The event with its log and the actions actor may take now. */
int cg_event_get(struct cg_events *ev, const struct cg_principal *actor, int64_t id, json_t **out,
                 struct cg_error *err) CG_MUST_CHECK;

struct cg_event_query {
    const char *state, *grid, *category, *source, *tier;
    const char *warning; /* "yellow" (near due), "red" (overdue) */
    int64_t before_id;   /* paging: newest first */
    int limit;           /* 1..500 */
};
/* Events in actor's scope, newest first: {"events": [...], "next_before": id|null}. */
int cg_event_list(struct cg_events *ev, const struct cg_principal *actor,
                  const struct cg_event_query *q, json_t **out, struct cg_error *err) CG_MUST_CHECK;

struct cg_event_action {
    const char *action;         /* "accept", "dispatch", ... (docs/EVENTS.md) */
    const char *note;           /* may be NULL */
    const char *expected_state; /* when given, the event must still be in it */
    int64_t expected_version;   /* when > 0, the event must still be at this version */
    int satisfaction;           /* 1..5 for "revisit", else 0 */
    const char *closure;        /* "error" or "special" for "close", else NULL */
    const char *department;     /* "dispatch"/"reassign": to whom (default: the catalogue's) */
    int64_t into;               /* "merge": the event this duplicate joins */
};

/*
 * Applies an action. CG_ENOTFOUND outside scope; CG_EBADSTATE (409) naming
 * the allowed actions when the action does not apply in the current state or
 * to actor's roles; CG_ECONFLICT (409) when expected_state or
 * expected_version no longer holds (someone acted first). Returns the event.
 */
int cg_event_act(struct cg_events *ev, const struct cg_principal *actor, int64_t id,
                 const struct cg_event_action *a, const char *remote, json_t **out,
                 struct cg_error *err) CG_MUST_CHECK;

/* ---- first KPIs (docs/EVENTS.md, "KPIs") ------------------------------------------------- */

struct cg_event_kpi_query {
    const char *by;     /* "grid", "village", "town", "department", "worker" (the reporter) */
    const char *from;   /* a date (the China day's start) or RFC 3339 UTC, inclusive */
    const char *to;     /* the same, exclusive */
    const char *within; /* a grid code prefix inside the actor's scope, or NULL */
    const char *order;  /* a row field to sort by ("-" first: descending), NULL: by key */
    int64_t limit;      /* rows to answer at most, 0: all */
    int64_t offset;     /* rows to skip first (after sorting) */
};

/*
 * Counts over the period per group: reported (上报数), filed (立案数), due
 * (应结案数), closed (结案数), closed_on_time (按期结案数), their rates, rework
 * (返工数), self_resolved and its rate, satisfaction. Report-only records are
 * never counted; groups with nothing in the period are left out. A period from
 * China midnight to China midnight is read from the roll-ups kept up to date
 * by every change (a few rows per group and month); any other period is
 * scanned from the events ("source": "rollup" or "scan"; docs/EVENTS.md).
 * Rows come in key order, or sorted by q->order (rates without a denominator last, ties by
 * key), then paged by q->offset and q->limit; "groups" counts them all and "total" adds them
 * all up. {"by", "from", "to", "source", "order", "groups", "offset", "limit", "rows": [...],
 * "total": {...}}.
 */
int cg_event_kpi(struct cg_events *ev, const struct cg_principal *actor,
                 const struct cg_event_kpi_query *q, json_t **out,
                 struct cg_error *err) CG_MUST_CHECK;
/* The same answer as JSON text (malloc'd, *out_len bytes), written without building jansson
   objects: what the API sends (a whole city's 9,889 workers are thousands of objects). */
int cg_event_kpi_text(struct cg_events *ev, const struct cg_principal *actor,
                      const struct cg_event_kpi_query *q, char **out, size_t *out_len,
                      struct cg_error *err) CG_MUST_CHECK;

/*
 * The command center's dashboard for actor's scope: the KPI totals of today
 * and of this month (China day and calendar month, from the roll-ups), open
 * events by state (counters), red and yellow warnings (open events with a
 * deadline, from their index).
 * {"today": {...}, "month": {...}, "open": {"state": n...}, "warnings": {"red", "yellow"}}
 */
int cg_event_dashboard(struct cg_events *ev, const struct cg_principal *actor, json_t **out,
                       struct cg_error *err) CG_MUST_CHECK;

/* ---- the roll-ups checked and rebuilt (civgrid kpi, docs/EVENTS.md) --------------------- */

/* The counters of one roll-up row (table event_rollup, migration 0010). */
struct cg_event_rollup_counts {
    int64_t reported, filed, due, closed, on_time, rework, self_resolved, revisits, satisfaction;
};

/* A roll-up row whose stored counts differ from the events'; strings borrowed for the call. */
struct cg_event_rollup_diff {
    int dim, lvl; /* the target (event_rollup_target) */
    /* the China day or month, the grid code's prefix, and '' / the department / the reporter */
    const char *bucket, *area, *key;
    struct cg_event_rollup_counts expected; /* computed from the events and the log */
    struct cg_event_rollup_counts stored;   /* event_rollup plus event_rollup_pending, folded */
};
typedef void cg_event_rollup_diff_fn(void *ctx, const struct cg_event_rollup_diff *d);

/*
 * Computes the roll-ups from the event rows and the log by the rule of migration 0010's
 * backfill and compares them with event_rollup plus the pending rows (grouped per target as
 * the fold trigger does; a stored row of zeros equals a missing one), in one read statement:
 * it changes nothing. Every differing row goes through fn (may be NULL), in key order.
 * *out_rows gets the number of roll-up rows the events make, *out_differ those that differ.
 * Returns 0 when they agree, CG_ECONFLICT (err says how many differ) or a store error.
 */
int cg_event_rollup_check(struct cg_db *db, cg_event_rollup_diff_fn *fn, void *ctx,
                          int64_t *out_rows, int64_t *out_differ,
                          struct cg_error *err) CG_MUST_CHECK;

/*
 * Rebuilds the roll-ups in one write job: empties event_rollup and event_rollup_pending and
 * computes event_rollup from the events by the same rule as cg_event_rollup_check(), with an
 * audit record "kpi.rebuild" by actor (NULL: the command line) from remote. *out_rows gets
 * the number of roll-up rows written. Readers see the roll-ups before or after, never half.
 */
int cg_event_rollup_rebuild(struct cg_db *db, const struct cg_principal *actor, const char *remote,
                            int64_t *out_rows, struct cg_error *err) CG_MUST_CHECK;

/* ---- the deadline sweep ----------------------------------------------------------------- */

struct cg_event_sweep_result {
    int64_t yellow, red, supervised; /* notices raised, events flagged 督办 */
};
/*
 * Raises a yellow notice for each open event in the last quarter of its step
 * and a red one for each past its deadline (once per deadline), and flags
 * overdue events 督办 with a log entry by "scheduler". Everything it decides
 * comes from the stored deadlines, so a restart loses nothing.
 */
int cg_event_sweep(struct cg_events *ev, struct cg_event_sweep_result *out,
                   struct cg_error *err) CG_MUST_CHECK;
/* Notices in actor's scope newer than after_id, newest first: {"notices": [...]}. */
int cg_event_notices(struct cg_events *ev, const struct cg_principal *actor, int64_t after_id,
                     int limit, json_t **out, struct cg_error *err) CG_MUST_CHECK;

/* The state machine as JSON: {"states": [...], "transitions": [{from, action, to, permission}]}. */
json_t *cg_event_machine_json(void);

/* ---- the change feed of the live map (event_feed.c, docs/LIVE.md) ------------------------ */

#define CG_EVENT_FEED_TEXT 24
#define CG_EVENT_FEED_NAME 260

/* One event as the live map shows it: a copy, valid for the callback it is given to. */
struct cg_event_feed_item {
    int64_t id, version, reporter_id;
    int risk;            /* risk score 0..100 */
    const char *warning; /* "none", "yellow" (near due), "red" (overdue); static */
    bool open;           /* not in a final state (closed, cancelled, recorded, merged) */
    char state[CG_EVENT_FEED_TEXT], tier[CG_EVENT_FEED_TEXT], urgency[CG_EVENT_FEED_TEXT];
    char grid_code[CG_EVENT_FEED_TEXT], department[CG_EVENT_FEED_NAME];
    char category_name[CG_EVENT_FEED_NAME], title[CG_EVENT_TITLE_MAX * 4 + 1];
    char at[32]; /* RFC 3339: when the event last changed */
    double lon, lat;
};
typedef void cg_event_feed_fn(void *ctx, const struct cg_event_feed_item *item);

/* The newest event_log and event_notice ids (0 when none): where a feed starts. */
int cg_event_feed_head(struct cg_db *db, int64_t *out_log, int64_t *out_notice,
                       struct cg_error *err) CG_MUST_CHECK;

/*
 * Every event with a log row in (after_log, upto_log] or a sweep notice in
 * (after_notice, upto_notice], each once in the order of its newest row, as it
 * is now, through fn; at most limit events (*out_more tells whether there were
 * more). Warnings are computed at now_ms on cal (may be NULL: natural time),
 * by the rule of the event list.
 */
int cg_event_feed_changes(struct cg_db *db, struct cg_calendar *cal, int64_t after_log,
                          int64_t upto_log, int64_t after_notice, int64_t upto_notice, int limit,
                          int64_t now_ms, cg_event_feed_fn *fn, void *ctx, bool *out_more,
                          struct cg_error *err) CG_MUST_CHECK;

/* The open events in p's scope, newest first, at most limit, through fn. */
int cg_event_feed_open(struct cg_db *db, struct cg_calendar *cal, const struct cg_principal *p,
                       int limit, int64_t now_ms, cg_event_feed_fn *fn, void *ctx,
                       struct cg_error *err) CG_MUST_CHECK;

/* Whether p may read the event (event.read over its grid, department or reporter). */
bool cg_event_feed_visible(const struct cg_principal *p, const struct cg_event_feed_item *item);

/* The item as the live map's JSON object (owned by the caller). */
json_t *cg_event_feed_json(const struct cg_event_feed_item *item);

#endif
