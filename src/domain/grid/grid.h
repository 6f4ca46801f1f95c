/*
 * grid.h: the grid map (一张网), docs/GRID.md. Divisions (city > town >
 * village/community) with their official codes, grids with their versions,
 * GeoJSON import and export, grid staff and their assignments, and the duty
 * lists per grid kind. The point lookup is in index.h.
 *
 * Every function that takes an actor checks its scope: objects outside it are
 * CG_ENOTFOUND (reads) or reported as "outside_scope" (imports). actor NULL is
 * the CLI, which acts as the machine's administrator and sees everything.
 * Returned JSON is a new reference owned by the caller.
 */
#ifndef CG_GRID_H
#define CG_GRID_H

#include "base/cg.h"
#include "base/err.h"

#include <jansson.h>

struct cg_db;
struct cg_str;
struct cg_principal;
struct cg_pii_keys;

enum cg_grid_level { CG_GRID_CITY, CG_GRID_TOWN, CG_GRID_VILLAGE, CG_GRID_GRID };

/* "city", "town", "village", "grid". */
const char *cg_grid_level_name(enum cg_grid_level level);

/* Digits of a division code per level: 6, 9, 12; a grid adds seq_width. */
#define CG_GRID_SEQ_WIDTH_MIN 2
#define CG_GRID_SEQ_WIDTH_MAX 4
#define CG_GRID_CODE_MAX 16
#define CG_GRID_NAME_MAX 64 /* characters */

/* ---- import: plan, then apply ----------------------------------------------------------- */

struct cg_grid_import_opts {
    int seq_width; /* digits of the grid sequence (grid.seq_width) */
    bool number;   /* give codes to grids that have none (properties.community), W->E, N->S */
};

/* The result of checking a file against the store: problems, and what applying would do. */
struct cg_grid_plan;

/*
 * Reads a GeoJSON FeatureCollection (text, len bytes) and checks it in the
 * state the store would be in after applying it: every feature alone
 * (geometry, coordinates, codes, properties), siblings do not overlap (also
 * with stored grids), children lie inside their parent, gaps inside a village
 * or town (warnings), parents exist, and the actor's scope. db NULL checks the
 * file alone. Returns 0 and a plan (free with cg_grid_plan_free()) even when
 * problems were found; CG_ETOOBIG / CG_EBADJSON / CG_EINVAL when the file is
 * not readable GeoJSON (a plan is still returned, holding that one problem).
 */
int cg_grid_plan_new(struct cg_db *db, const struct cg_principal *actor, const char *text,
                     size_t len, const struct cg_grid_import_opts *opts,
                     struct cg_grid_plan **out_plan, struct cg_error *err) CG_MUST_CHECK;
void cg_grid_plan_free(struct cg_grid_plan *plan);

/* Number of problems of severity "error" (warnings do not block an import). */
size_t cg_grid_plan_errors(const struct cg_grid_plan *plan);

/*
 * {"ok", "features", "polygons", "total_area_m2", "errors", "warnings",
 *  "problems": [...], "changes": {"divisions", "grids_new", "grids_changed",
 *  "grids_redrawn", "grids_updated", "grids_unchanged"}}
 */
json_t *cg_grid_plan_report(const struct cg_grid_plan *plan);

/*
 * Applies the plan in one transaction (with one audit record). Without
 * partial, a plan with errors is refused whole (CG_EINVALIDGRIDS, nothing
 * written); with partial, the features that have errors are skipped and
 * listed. *out_result: {"applied": {...changes}, "skipped": [feature index...]}.
 * Redrawn or renamed grids get a new version; the old one is closed.
 * CG_ECONFLICT when the map changed between the plan and its apply (another
 * import or a retired grid): make a new plan and check again.
 */
int cg_grid_plan_apply(struct cg_db *db, struct cg_grid_plan *plan,
                       const struct cg_principal *actor, const char *remote, bool partial,
                       json_t **out_result, struct cg_error *err) CG_MUST_CHECK;

/* ---- reading ---------------------------------------------------------------------------- */

/* Bits of cg_grid_export_opts.levels. */
#define CG_GRID_LEVELS_ALL 0xfu
#define CG_GRID_LEVEL_BIT(l) (1u << (l))

struct cg_grid_export_opts {
    const char *within; /* a code prefix, NULL for everything in scope */
    const char *at;     /* RFC 3339 time, NULL for now */
    unsigned levels;    /* CG_GRID_LEVEL_BIT()s; 0 means all */
    bool gcj02;         /* convert coordinates for display on a GCJ-02 base map */
};

/*
 * Appends a GeoJSON FeatureCollection of the divisions and grids in the
 * actor's scope to out: properties level, code, name, parent; grids also
 * kind, sector_type, households, population, area_m2, staff, version,
 * valid_from. Importing the output again changes nothing.
 */
int cg_grid_export(struct cg_db *db, const struct cg_principal *actor,
                   const struct cg_grid_export_opts *opts, struct cg_str *out,
                   struct cg_error *err) CG_MUST_CHECK;

/*
 * The card of grid code as valid at `at` (NULL now): attributes, community
 * and town, centroid and bbox, staff (phones masked), duty lists, versions.
 */
int cg_grid_get(struct cg_db *db, const struct cg_principal *actor, const char *code,
                const char *at, json_t **out, struct cg_error *err) CG_MUST_CHECK;

struct cg_grid_query {
    const char *within; /* code prefix */
    const char *kind;   /* "territorial", "sector" or NULL */
    const char *at;
    const char *after; /* paging: codes after this one */
    int limit;         /* 1..1000 */
};
/* Grids (no geometry) in the actor's scope: {"grids": [...], "next_after": code|null}. */
int cg_grid_list(struct cg_db *db, const struct cg_principal *actor, const struct cg_grid_query *q,
                 json_t **out, struct cg_error *err) CG_MUST_CHECK;

/* Divisions under parent (NULL: the top of the actor's scope), with their grid counts. */
int cg_grid_divisions(struct cg_db *db, const struct cg_principal *actor, const char *parent,
                      json_t **out, struct cg_error *err) CG_MUST_CHECK;

/* The bounding box [min lon, min lat, max lon, max lat] of the grids in scope; false when none. */
bool cg_grid_bounds(struct cg_db *db, const struct cg_principal *actor, double out[4]);

/* Closes the current version of grid code (its history stays). Audited. */
int cg_grid_retire(struct cg_db *db, const struct cg_principal *actor, const char *code,
                   const char *remote, struct cg_error *err) CG_MUST_CHECK;

/* True when code is made of digits only and has a division or grid length. */
bool cg_grid_code_ok(const char *code, int seq_width);

/* ---- staff ------------------------------------------------------------------------------ */

struct cg_grid_staff_input {
    const char *name;
    const char *phone;      /* may be NULL; encrypted at rest, masked in responses */
    const char *employment; /* "full_time" or "part_time" */
    int64_t account_id;     /* 0: no account yet */
};

/* Adds a person to the staff roster. Audited. */
int cg_grid_staff_create(struct cg_db *db, struct cg_pii_keys *keys,
                         const struct cg_principal *actor, const struct cg_grid_staff_input *in,
                         const char *remote, int64_t *out_id, struct cg_error *err) CG_MUST_CHECK;

/*
 * Assigns staff_id to the current grid code as "worker", "leader" or "guide".
 * A worker or leader serves one grid: an earlier worker/leader assignment of
 * the same person ends. A grid has one leader at a time (CG_ECONFLICT).
 * When the person has an account, its scope follows (docs/GRID.md). Audited.
 */
int cg_grid_staff_assign(struct cg_db *db, const struct cg_principal *actor, const char *code,
                         int64_t staff_id, const char *role, const char *remote,
                         struct cg_error *err) CG_MUST_CHECK;
/* Ends an assignment (role NULL: every role of the person on that grid). */
int cg_grid_staff_unassign(struct cg_db *db, const struct cg_principal *actor, const char *code,
                           int64_t staff_id, const char *role, const char *remote,
                           struct cg_error *err) CG_MUST_CHECK;

/* Staff serving grids under prefix (NULL: the actor's scope): {"staff": [...]}. */
int cg_grid_staff_list(struct cg_db *db, const struct cg_principal *actor, const char *prefix,
                       json_t **out, struct cg_error *err) CG_MUST_CHECK;

/* ---- duty lists ------------------------------------------------------------------------- */

/* {"kinds": [{"kind": "territorial", "duties": [...], "admissible": [...]}, ...]} */
int cg_grid_duties(struct cg_db *db, json_t **out, struct cg_error *err) CG_MUST_CHECK;
/*
 * Replaces the lists of kind ("territorial" or "sector:<type>") with duties and
 * admissible (arrays of {"text", "standard_ref"?}). Audited.
 */
int cg_grid_duties_set(struct cg_db *db, const struct cg_principal *actor, const char *kind,
                       json_t *duties, json_t *admissible, const char *remote,
                       struct cg_error *err) CG_MUST_CHECK;

#endif
