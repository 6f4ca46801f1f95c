/*
 * patrol.h: patrols (巡查), worker positions and the nearest available workers,
 * household visits (走访) with the opinions collected (民情); docs/PATROL.md.
 *
 * A grid worker starts a patrol, uploads its GPS points in batches and stops
 * it; the track is stored and replayable, and patrol time and distance per
 * worker per day are computed from it. Every upload also moves the worker's
 * last position, kept in memory for the "nearest available workers" query:
 * an immutable snapshot (a uniform cell grid over a local projection) rebuilt
 * beside the old one when positions changed, so queries never wait for a
 * rebuild. A visit log keeps the opinions collected, each of which can be
 * turned into an event through the event module (source "patrol").
 *
 * Scope: an account holding patrol.record or visit.record but not stats.read
 * (a grid worker) sees only its own patrols and visits; others holding
 * stats.read or event.read see those of the grids in their scope. Objects
 * outside the scope are CG_ENOTFOUND. Returned JSON is owned by the caller.
 */
#ifndef CG_PATROL_H
#define CG_PATROL_H

#include "base/cg.h"
#include "base/err.h"

#include <jansson.h>

struct cg_db;
struct cg_principal;
struct cg_grid_locator;
struct cg_events;

#define CG_PATROL_BATCH_MAX 1000                      /* points per upload (more: CG_ETOOBIG) */
#define CG_PATROL_SKEW_MS (2 * 60 * 1000)             /* clock skew allowed into the future */
#define CG_PATROL_MAX_AGE_MS (7LL * 24 * 3600 * 1000) /* oldest point accepted */
#define CG_PATROL_FRESH_MS (15 * 60 * 1000)           /* a position older is not "available" */
#define CG_PATROL_JUMP_MPS 50.0  /* a segment faster than this is a GPS jump: not counted */
#define CG_PATROL_NEAREST_MAX 50 /* most workers one nearest query returns */
#define CG_PATROL_STATS_DAYS 93  /* longest period of the statistics */
#define CG_VISIT_ADDRESS_MAX 200 /* characters */
#define CG_VISIT_NOTE_MAX 1000   /* characters, the household note and each opinion */
#define CG_VISIT_OPINIONS_MAX 20 /* opinions per visit */

/* The module's state: the store, the grid index, the events and the positions. */
struct cg_patrols;

/*
 * Borrows db, grids and events (may be NULL: opinions cannot become events)
 * for its whole life. Free with cg_patrols_free().
 */
struct cg_patrols *cg_patrols_new(struct cg_db *db, struct cg_grid_locator *grids,
                                  struct cg_events *events);
void cg_patrols_free(struct cg_patrols *pm);
/* Loads the stored positions, duty flags and running patrols into memory (at start). */
int cg_patrols_load(struct cg_patrols *pm, struct cg_error *err) CG_MUST_CHECK;
/* Least time between two rebuilds of the nearest index (default 100 ms; tests use 0). */
void cg_patrols_set_rebuild_ms(struct cg_patrols *pm, int ms);

/*
 * Parses an RFC 3339 time ("2026-05-01T08:00:00Z", "...T16:00:00.5+08:00")
 * into ms since the epoch; false for anything else or a date that does not exist.
 */
bool cg_patrol_parse_time(const char *s, int64_t *out_ms);
/* Great-circle distance in metres (haversine, mean Earth radius 6,371,008.8 m). */
double cg_patrol_haversine(double lon1, double lat1, double lon2, double lat2);

/* ---- patrols ---------------------------------------------------------------------------- */

/*
 * Starts a patrol of actor in grid (NULL: the grid the actor's staff record is
 * assigned to, else its grid scope) at started_ms (0: now; at most 7 days
 * back). CG_ECONFLICT when one is already running; CG_EMISSING for grid when
 * none can be found; CG_EFORBIDDEN outside scope. Returns the patrol.
 */
int cg_patrol_start(struct cg_patrols *pm, const struct cg_principal *actor, const char *grid,
                    int64_t started_ms, json_t **out, struct cg_error *err) CG_MUST_CHECK;
/* Stops patrol id (the actor's own) at ended_ms (0: now). CG_EBADSTATE when already stopped. */
int cg_patrol_stop(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id,
                   int64_t ended_ms, json_t **out, struct cg_error *err) CG_MUST_CHECK;

/*
 * Stores a batch of GPS points (a JSON array of {t, lon, lat, accuracy_m?,
 * speed?}; t an RFC 3339 string or ms since the epoch) for the actor's patrol
 * id, and moves the actor's last position. Rules (docs/PATROL.md): 1..1000
 * points (more: CG_ETOOBIG); every point checked (types, WGS-84 ranges, no
 * point more than 2 min in the future, older than 7 days or outside the
 * patrol's time) and any bad point refuses the whole batch, naming
 * "points[i].field"; the batch is sorted by time, a point with the same t as
 * an earlier one of the batch or as a stored one is dropped (the first stays).
 * Returns {"patrol", "received", "stored", "duplicates", "last_t"}.
 */
int cg_patrol_points(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id,
                     json_t *points, json_t **out, struct cg_error *err) CG_MUST_CHECK;

/*
 * The same from the request body's text, read in one pass without a JSON tree when it is a
 * plain batch ({"points": [...]} of points with only t (ms or RFC 3339 without escapes), lon,
 * lat, accuracy_m, speed as numbers) whose every point passes: then the answer is exactly
 * cg_patrol_points()'s. Returns CG_PATROL_FULL_PATH, having stored nothing, for any other body
 * (a refused point included): the caller parses it and calls cg_patrol_points(), which gives
 * the answer or the error. May also return cg_patrol_points()'s errors for the patrol itself.
 */
#define CG_PATROL_FULL_PATH 1
int cg_patrol_points_text(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id,
                          const char *body, size_t len, json_t **out,
                          struct cg_error *err) CG_MUST_CHECK;

/* The patrol with its point count, duration and distance. */
int cg_patrol_get(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id, json_t **out,
                  struct cg_error *err) CG_MUST_CHECK;
/*
 * The track in time order: {"patrol", "points": [{t, lon, lat, accuracy_m, speed}]},
 * or with geojson a GeoJSON Feature whose geometry is a LineString.
 */
int cg_patrol_track(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id,
                    bool geojson, json_t **out, struct cg_error *err) CG_MUST_CHECK;

struct cg_patrol_query {
    int64_t worker;    /* account id, 0: everyone in scope */
    const char *grid;  /* grid code prefix in scope, or NULL */
    int64_t before_id; /* paging: newest first */
    int limit;         /* 1..500 */
};
/* Patrols in scope, newest first: {"patrols": [...], "next_before": id|null}. */
int cg_patrol_list(struct cg_patrols *pm, const struct cg_principal *actor,
                   const struct cg_patrol_query *q, json_t **out,
                   struct cg_error *err) CG_MUST_CHECK;

/*
 * Patrol time and distance per worker per day (China Standard Time, UTC+8)
 * from date from to date to ("YYYY-MM-DD", both inclusive, NULL: today; at
 * most 93 days), for worker (0: everyone in scope; a grid worker: itself):
 * {"from", "to", "rows": [{worker, login, date, patrols, points, duration_s,
 * distance_m}], "total": {...}}. A segment counts on the day of its later
 * point; segments faster than 50 m/s are GPS jumps and are not counted.
 */
int cg_patrol_stats(struct cg_patrols *pm, const struct cg_principal *actor, int64_t worker,
                    const char *from, const char *to, json_t **out,
                    struct cg_error *err) CG_MUST_CHECK;

/* ---- positions and duty ----------------------------------------------------------------- */

/*
 * Sets actor's duty flag: "on", "off", or "auto" (on duty while a patrol runs).
 * Returns {"on_duty", "duty", "position"}.
 */
int cg_patrol_duty(struct cg_patrols *pm, const struct cg_principal *actor, const char *duty,
                   json_t **out, struct cg_error *err) CG_MUST_CHECK;

/*
 * The k (1..50) nearest available workers to (lon, lat) inside actor's grid
 * scope: on duty, with a position fresher than 15 minutes.
 * {"workers": [{account_id, login, grid, lon, lat, at, distance_m}], "index": {...}}.
 */
int cg_patrol_nearest(struct cg_patrols *pm, const struct cg_principal *actor, double lon,
                      double lat, int k, json_t **out, struct cg_error *err) CG_MUST_CHECK;

/* ---- the nearest index (an immutable snapshot; used by the module and the benchmark) ----- */

#define CG_PATROL_GRID_LEN 17 /* a grid code and its NUL */

struct cg_worker_pos {
    int64_t account_id;
    double lon, lat;               /* WGS-84 */
    int64_t t_ms;                  /* time of the position */
    char grid[CG_PATROL_GRID_LEN]; /* the worker's grid ("" unknown) */
};

struct cg_patrol_index;
/*
 * Builds a snapshot of the n positions (copied): a uniform grid of about two
 * positions per cell over their bounding box. Free with cg_patrol_index_free().
 */
struct cg_patrol_index *cg_patrol_index_build(const struct cg_worker_pos *pos, size_t n);
void cg_patrol_index_free(struct cg_patrol_index *ix);
size_t cg_patrol_index_count(const struct cg_patrol_index *ix);

struct cg_patrol_hit {
    const struct cg_worker_pos *pos; /* borrowed from the index */
    size_t index;                    /* of pos in the array given to cg_patrol_index_build() */
    double distance_m;               /* haversine */
};
/*
 * Up to k (<= CG_PATROL_NEAREST_MAX) positions nearest to (lon, lat) with
 * t_ms >= min_t_ms and grid starting with prefix (NULL or "": any), nearest
 * first (ties by account id) into out; returns how many. Ranked in the local
 * equirectangular projection at the query's latitude. Thread-safe.
 */
size_t cg_patrol_index_nearest(const struct cg_patrol_index *ix, double lon, double lat,
                               int64_t min_t_ms, const char *prefix, size_t k,
                               struct cg_patrol_hit *out);
/* The same answer by scanning every position (for tests and the benchmark). */
size_t cg_patrol_index_nearest_scan(const struct cg_patrol_index *ix, double lon, double lat,
                                    int64_t min_t_ms, const char *prefix, size_t k,
                                    struct cg_patrol_hit *out);

/* ---- household visits ------------------------------------------------------------------- */

struct cg_visit_input {
    const char *grid;      /* NULL: the actor's grid, as for a patrol */
    const char *address;   /* required, 1..200 characters */
    const char *household; /* the household note, may be NULL */
    json_t *opinions;      /* an array of 0..20 strings (民情), may be NULL; borrowed */
    int64_t visited_ms;    /* 0: now; at most 30 days back */
};
/* Records a visit by actor; returns it with its opinions. */
int cg_visit_create(struct cg_patrols *pm, const struct cg_principal *actor,
                    const struct cg_visit_input *in, json_t **out,
                    struct cg_error *err) CG_MUST_CHECK;
int cg_visit_get(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id, json_t **out,
                 struct cg_error *err) CG_MUST_CHECK;
/* Visits in scope, newest first: {"visits": [...], "next_before": id|null}. */
int cg_visit_list(struct cg_patrols *pm, const struct cg_principal *actor,
                  const struct cg_patrol_query *q, json_t **out,
                  struct cg_error *err) CG_MUST_CHECK;

/*
 * Turns opinion n (1-based) of visit id into an event reported by actor
 * through cg_event_report() (source "patrol"): in->title defaults to the
 * opinion's first 80 characters, description to the opinion, address to the
 * visit's. CG_ECONFLICT when the opinion already became an event. Returns
 * {"visit", "opinion", "event": {...}}.
 */
struct cg_event_input;
int cg_visit_opinion_event(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id,
                           int n, struct cg_event_input *in, const char *remote, json_t **out,
                           struct cg_error *err) CG_MUST_CHECK;

/* ---- the change feed of the live map (patrol_feed.c, docs/LIVE.md) ----------------------- */

/* One worker's position as the live map shows it: a copy, valid for its callback. */
struct cg_patrol_feed_item {
    int64_t account_id;
    int64_t t_ms;  /* time of the position, 0 when the worker has none yet */
    int64_t at_ms; /* when the row last changed (position, duty or patrol start) */
    double lon, lat;
    bool on_duty; /* duty "on", or "auto" while a patrol runs */
    char grid_code[24];
    char name[256]; /* display name */
};
typedef void cg_patrol_feed_fn(void *ctx, const struct cg_patrol_feed_item *item);

/* The newest change time of any worker's row (ms, 0 when none): where a feed starts. */
int cg_patrol_feed_head(struct cg_db *db, int64_t *out_ms, struct cg_error *err) CG_MUST_CHECK;

/*
 * Workers whose row changed at or after since_ms, oldest change first, at most
 * limit (*out_more tells whether there were more), through fn.
 */
int cg_patrol_feed_changes(struct cg_db *db, int64_t since_ms, int limit, cg_patrol_feed_fn *fn,
                           void *ctx, bool *out_more, struct cg_error *err) CG_MUST_CHECK;

/* Every worker with a position in p's scope, through fn. */
int cg_patrol_feed_all(struct cg_db *db, const struct cg_principal *p, cg_patrol_feed_fn *fn,
                       void *ctx, struct cg_error *err) CG_MUST_CHECK;

/* Whether p may see the worker (the worker's grid in p's grid scope, or p itself). */
bool cg_patrol_feed_visible(const struct cg_principal *p, const struct cg_patrol_feed_item *item);

/* The item as the live map's JSON object (owned by the caller). */
json_t *cg_patrol_feed_json(const struct cg_patrol_feed_item *item);

#endif
