/*
 * patrol_int.h: shared by the files of the patrol module only: the rows as
 * the rules see them, and the store functions (cg_patrol__*, cg_visit__*).
 */
#ifndef CG_PATROL_INT_H
#define CG_PATROL_INT_H

#include "base/cg.h"
#include "base/err.h"
#include "domain/patrol/patrol.h"

struct cg_db;

#define PT_LOGIN 260

/* One patrol as stored. */
struct cg_patrol__row {
    int64_t id, account_id, started_ms, ended_ms; /* ended_ms 0: running */
    char grid[CG_PATROL_GRID_LEN];
    char login[PT_LOGIN];
};

/* One GPS point; accuracy_m and speed NAN when not given. */
struct cg_patrol__point {
    int64_t t_ms;
    double lon, lat, accuracy_m, speed;
};

/* What the store knows of a worker at start: position, duty flag, running patrol. */
struct cg_patrol__live {
    int64_t account_id, t_ms, running; /* t_ms 0: no position; running 0: no patrol */
    double lon, lat;
    char grid[CG_PATROL_GRID_LEN];
    char duty; /* 'a' auto, 'o' on, 'f' off */
    char login[PT_LOGIN];
};

/*
 * The points of a plain batch body (patrol.c, cg_patrol_points_text()): {"points":[...]} of
 * points with only t (integer ms or an RFC 3339 string without escapes), lon, lat and the
 * optional accuracy_m and speed as JSON numbers, each at most once, 1..CG_PATROL_BATCH_MAX of
 * them. Returns them (free()) with *out_n, in the order given, unchecked; NULL for any other
 * text, which the full path (jansson) then reads. No database, no state: fuzzed against
 * jansson by tests/fuzz/fuzz_gps_batch.c.
 */
struct cg_patrol__point *cg_patrol__read_batch(const char *body, size_t len, size_t *out_n);

typedef void cg_patrol__row_fn(void *ctx, const struct cg_patrol__row *r);
typedef void cg_patrol__point_fn(void *ctx, const struct cg_patrol__point *p);
typedef void cg_patrol__live_fn(void *ctx, const struct cg_patrol__live *l);

/* The grid the account's staff record serves as worker or leader now; CG_ENOTFOUND. */
int cg_patrol__assigned_grid(struct cg_db *db, int64_t account_id, char out[CG_PATROL_GRID_LEN],
                             struct cg_error *err);
/* Inserts a running patrol (and the worker's position row); CG_ECONFLICT when one runs. */
int cg_patrol__insert(struct cg_db *db, int64_t account_id, const char *grid, int64_t started_ms,
                      int64_t *out_id, struct cg_error *err);
/* The id of account's running patrol, 0 when none. */
int cg_patrol__running(struct cg_db *db, int64_t account_id, int64_t *out_id, struct cg_error *err);
/* Ends a running patrol; CG_EBADSTATE when it had already ended. */
int cg_patrol__end(struct cg_db *db, int64_t id, int64_t ended_ms, struct cg_error *err);
int cg_patrol__load(struct cg_db *db, int64_t id, struct cg_patrol__row *out, struct cg_error *err);
/*
 * Stores points (sorted, no equal t) of a patrol, dropping those whose t is
 * stored already, and moves the account's position to the last one when it is
 * newer than the stored position. *out_stored: how many were new.
 */
int cg_patrol__add_points(struct cg_db *db, int64_t patrol_id, int64_t account_id, const char *grid,
                          const struct cg_patrol__point *pts, size_t n, int64_t *out_stored,
                          struct cg_error *err);
/* The points of a patrol in time order, each through fn. */
int cg_patrol__points(struct cg_db *db, int64_t patrol_id, cg_patrol__point_fn *fn, void *ctx,
                      struct cg_error *err);
/* Patrols of worker (0: any) whose grid starts with prefix, newest first, below before_id. */
int cg_patrol__list(struct cg_db *db, int64_t worker, const char *prefix, int64_t before_id,
                    int limit, cg_patrol__row_fn *fn, void *ctx, struct cg_error *err);
/* Patrols of worker (0: any) under prefix overlapping [from_ms, to_ms), oldest first. */
int cg_patrol__overlapping(struct cg_db *db, int64_t worker, const char *prefix, int64_t from_ms,
                           int64_t to_ms, cg_patrol__row_fn *fn, void *ctx, struct cg_error *err);
/* Sets the duty flag ("auto", "on", "off") of an account (creating its position row). */
int cg_patrol__set_duty(struct cg_db *db, int64_t account_id, const char *duty,
                        struct cg_error *err);
/* Every stored position row with its login and running patrol. */
int cg_patrol__positions(struct cg_db *db, cg_patrol__live_fn *fn, void *ctx, struct cg_error *err);

/* ---- visits ------------------------------------------------------------------------------ */

/* Inserts a visit and its opinions (an array of strings) in one job. */
int cg_visit__insert(struct cg_db *db, int64_t account_id, const char *grid, const char *address,
                     const char *household, json_t *opinions, const char *visited_at,
                     int64_t *out_id, struct cg_error *err);
/*
 * Visit id as JSON (with "opinions": [{n, text, event}]) and its owner and grid
 * for the scope check. CG_ENOTFOUND.
 */
int cg_visit__load(struct cg_db *db, int64_t id, json_t **out, int64_t *out_account,
                   char grid[CG_PATROL_GRID_LEN], struct cg_error *err);
/* Visits of worker (0: any) under prefix, newest first below before_id, appended to list. */
int cg_visit__list(struct cg_db *db, int64_t worker, const char *prefix, int64_t before_id,
                   int limit, json_t *list, struct cg_error *err);
/* Records that opinion n of visit id became event_id; CG_ECONFLICT when it already had one. */
int cg_visit__link(struct cg_db *db, int64_t id, int n, int64_t event_id, struct cg_error *err);

#endif
