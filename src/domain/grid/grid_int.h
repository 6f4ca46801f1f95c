/*
 * grid_int.h: what the files of the grid module share and nobody else sees:
 * the parsed features of a GeoJSON file or of the store (with their GEOS
 * geometries), the problem list, and the store functions (cg_grid__*).
 */
#ifndef CG_GRID_INT_H
#define CG_GRID_INT_H

#include "base/cg.h"
#include "base/err.h"
#include "domain/grid/geojson.h"
#include "domain/grid/grid.h"

#define GEOS_USE_ONLY_R_API
#include <geos_c.h>

struct cg_conn;
struct cg_db;

/* Metres per degree of longitude at the equator and of latitude. */
#define CG_GRID_M_PER_DEG_LON 111320.0
#define CG_GRID_M_PER_DEG_LAT 110574.0

/* One division or grid, from the file (idx >= 0) or from the store (idx == -1). */
struct cg_grid_feature {
    long idx;
    enum cg_grid_level level;
    char *code; /* NULL when absent (a grid still to be numbered) */
    char *name;
    char *community;      /* properties.community of a grid without a code */
    char kind[16];        /* "territorial" or "sector" (grids) */
    char sector_type[16]; /* "" unless kind is sector */
    int64_t households, population;
    int64_t version; /* store rows: current version; file rows: 0 */
    GEOSGeometry *g; /* valid geometry, NULL when absent or broken */
    double area_m2;
    double bbox[4]; /* min lon, min lat, max lon, max lat */
    double cx, cy;  /* centroid */
    bool bad;       /* an error was reported for it: never applied */
    bool has_props_error;
    bool replaced; /* a store row that a file feature of the same code replaces */
    /* set by the plan */
    enum { CHANGE_NONE, CHANGE_NEW, CHANGE_REDRAWN, CHANGE_UPDATED } change;
    struct cg_grid_feature *stored; /* the store's current row of the same code */
};

struct cg_grid_set {
    GEOSContextHandle_t h;
    struct cg_grid_feature *f;
    size_t n, cap;
    char geos_msg[256];
};

void cg_grid__set_init(struct cg_grid_set *s);
void cg_grid__set_release(struct cg_grid_set *s);
struct cg_grid_feature *cg_grid__set_add(struct cg_grid_set *s);

/* Appends a problem (severity "error" unless warning) and returns it for more detail. */
struct cg_grid_problem *cg_grid__problem(struct cg_grid_report *r, long feature, const char *code,
                                         const char *kind, bool warning, const char *fmt, ...)
    CG_PRINTF(6, 7);
void cg_grid__problem_at(struct cg_grid_problem *p, double lon, double lat);

/* Area in m2 (local equirectangular projection) and centroid of g; -1 on failure. */
int cg_grid__area_m2(GEOSContextHandle_t h, const GEOSGeometry *g, double *out, double *clon,
                     double *clat);
/* Fills f->area_m2, bbox and centroid from f->g. */
void cg_grid__measure(GEOSContextHandle_t h, struct cg_grid_feature *f);

/*
 * Parses a FeatureCollection into s (features in file order) and reports
 * every problem of a feature taken alone (coordinates, rings, validity,
 * properties, codes, duplicates). CG_ETOOBIG, CG_EBADJSON, CG_EINVAL as
 * cg_grid_validate_geojson().
 */
int cg_grid__parse(const char *text, size_t len, int seq_width, struct cg_grid_set *s,
                   struct cg_grid_report *r, struct cg_error *err);
/*
 * Reports overlaps between features of the same level (grids: of the same
 * kind) whose intersection exceeds the tolerance. Pairs where neither is
 * from the file (idx < 0) are not reported.
 */
void cg_grid__overlaps(struct cg_grid_set *s, struct cg_grid_report *r);

/*
 * Sorts f[0..n) west to east, north to south (the numbering order of grid
 * codes): by centroid from north to south, cut into rows whenever a centroid
 * lies more than half the mean grid height below the row's first one, each
 * row read west to east.
 */
void cg_grid__order_we_ns(struct cg_grid_feature **f, size_t n);

/* A GeoJSON geometry text as GEOS geometry (NULL on failure), and back (cg_malloc'd). */
GEOSGeometry *cg_grid__read_geometry(GEOSContextHandle_t h, const char *geojson);
char *cg_grid__write_geometry(GEOSContextHandle_t h, const GEOSGeometry *g);

/* ---- store (grid_store.c) --------------------------------------------------------------- */

/*
 * Loads into s the divisions and current grids (as valid at `at`, NULL now)
 * whose codes start with any of the prefixes (NULL-terminated; a NULL list
 * loads everything), with their geometries.
 */
int cg_grid__load(struct cg_db *db, const char *const *prefixes, const char *at,
                  struct cg_grid_set *s, struct cg_error *err);

/* The next free grid sequence number of community (1 when it has no grid yet). */
int cg_grid__next_seq(struct cg_db *db, const char *community, int64_t *out, struct cg_error *err);

/* Applies the features of s that are not bad and have a change, in one job. */
struct cg_grid__apply_counts {
    int64_t divisions, grids_new, grids_redrawn, grids_updated, grids_unchanged;
};
int cg_grid__apply(struct cg_db *db, struct cg_grid_set *s, int64_t version, const char *actor,
                   int64_t actor_id, const char *remote, struct cg_grid__apply_counts *counts,
                   struct cg_error *err);

/*
 * The map's version (grid_map_version), and inside a write job: CG_ECONFLICT unless the map
 * is still at expected (-1: any), then the next version.
 */
int cg_grid__map_version(struct cg_db *db, int64_t *out, struct cg_error *err);
int cg_grid__bump_version(struct cg_conn *c, int64_t expected, struct cg_error *err);

/* The plan's features (file first), and whether any of them is stored already. */
const struct cg_grid_set *cg_grid__plan_set(const struct cg_grid_plan *plan);
bool cg_grid__plan_has_stored(const struct cg_grid_plan *plan);

/* A person of the staff roster, with the phone already encrypted. */
struct cg_grid__staff_row {
    char name[64];
    char *phone_enc; /* may be NULL */
    char phone_idx[65];
    char phone_mask[32];
    const char *employment;
};
/* An assignment of rows[staff] to a grid. */
struct cg_grid__assign_row {
    size_t staff;
    const char *grid_code;
    const char *role;
};
/* Inserts the roster and its assignments in one job (one audit record). */
int cg_grid__staff_bulk(struct cg_db *db, const struct cg_grid__staff_row *rows, size_t n,
                        const struct cg_grid__assign_row *as, size_t nas, struct cg_error *err);

/* One staff member from columns col..col+5: id, name, role, employment, phone_mask, account_id. */
struct cg_stmt;
json_t *cg_grid__staff_json(struct cg_stmt *st, int col);

/* staff_store.c: the SQL of staff, duty lists and retiring (rules in staff.c). */
int cg_grid__staff_insert(struct cg_db *db, const struct cg_grid__staff_row *row,
                          int64_t account_id, const struct cg_principal *actor, const char *remote,
                          int64_t *out_id, struct cg_error *err);
int cg_grid__staff_assign(struct cg_db *db, const struct cg_principal *actor, const char *code,
                          int64_t staff_id, const char *role, const char *remote,
                          struct cg_error *err);
int cg_grid__staff_unassign(struct cg_db *db, const struct cg_principal *actor, const char *code,
                            int64_t staff_id, const char *role, const char *remote,
                            struct cg_error *err);
int cg_grid__retire(struct cg_db *db, const struct cg_principal *actor, const char *code,
                    const char *remote, struct cg_error *err);
int cg_grid__duties_replace(struct cg_db *db, const struct cg_principal *actor, const char *kind,
                            json_t *duties, json_t *admissible, const char *remote,
                            struct cg_error *err);

/* One grid row for the point index, with the names of its community and town. */
struct cg_grid__index_row {
    const char *code, *name, *kind, *sector_type, *geometry;
    const char *community_code, *community_name, *town_code, *town_name;
};
typedef int cg_grid__row_fn(void *ctx, const struct cg_grid__index_row *row);
/* Calls fn for every grid valid at `at` (NULL now), in code order. */
int cg_grid__index_rows(struct cg_db *db, const char *at, cg_grid__row_fn *fn, void *ctx,
                        struct cg_error *err);

#endif
