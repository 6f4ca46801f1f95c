/*
 * index.h: point-to-grid lookup (docs/GRID.md, "Lookup").
 *
 * A cg_grid_index is an immutable snapshot of the grids valid at one moment:
 * their prepared GEOS geometries, an STRtree, and a cell cover of the whole
 * extent in which most cells lie inside exactly one grid (answered by one
 * array read) and the others list the few grids that cross them (answered
 * by prepared point tests). Queries are safe from any number of threads.
 *
 * A point on a shared border belongs to the grid whose code sorts first
 * (grids are covered with their boundary: GEOS "intersects"), so the answer
 * never depends on timing or on the order of the file.
 *
 * A cg_grid_locator holds the current snapshot for the server: readers
 * acquire and release it (a short lock, never held during a build); a
 * rebuild after an import builds a new snapshot beside the old one and swaps
 * it in, so lookups go on undisturbed while it is built.
 */
#ifndef CG_GRID_INDEX_H
#define CG_GRID_INDEX_H

#include "base/cg.h"
#include "base/err.h"

struct cg_db;
struct cg_grid_index;

/* Where a grid sits: borrowed from the index, valid while it is held. */
struct cg_grid_place {
    const char *code, *name, *kind, *sector_type; /* sector_type "" for territorial grids */
    const char *community_code, *community_name;
    const char *town_code, *town_name;
};

/* Builds an index of the grids valid at `at` (RFC 3339, NULL now) from the store. */
int cg_grid_index_build(struct cg_db *db, const char *at, struct cg_grid_index **out,
                        struct cg_error *err) CG_MUST_CHECK;
void cg_grid_index_free(struct cg_grid_index *ix);

/* Number of territorial grids (slots 0..count-1, in code order). */
size_t cg_grid_index_count(const struct cg_grid_index *ix);
/* Cells of the cover, and how many of them need a geometric test. */
void cg_grid_index_cover_stats(const struct cg_grid_index *ix, size_t *out_cells,
                               size_t *out_boundary);
/* minlon, minlat, maxlon, maxlat of the territorial grids (all 0 when empty). */
void cg_grid_index_bounds(const struct cg_grid_index *ix, double bbox[4]);

/* Slot of the territorial grid covering (lon, lat), or -1 outside every grid. */
int cg_grid_index_locate(const struct cg_grid_index *ix, double lon, double lat);
/* The same answer by STRtree and prepared geometries alone (for comparison and tests). */
int cg_grid_index_locate_strtree(const struct cg_grid_index *ix, double lon, double lat);
/* True when (lon, lat) lies on the boundary of the grid in slot. */
bool cg_grid_index_on_border(const struct cg_grid_index *ix, int slot, double lon, double lat);
/*
 * Sector grids (专属网格) covering (lon, lat): up to max ids into out, in code
 * order; returns how many there are. Their ids are count + k.
 */
size_t cg_grid_index_sectors(const struct cg_grid_index *ix, double lon, double lat, int *out,
                             size_t max);
const char *cg_grid_index_code(const struct cg_grid_index *ix, int slot);
void cg_grid_index_place(const struct cg_grid_index *ix, int slot, struct cg_grid_place *out);

/* ---- the server's current snapshot ------------------------------------------------------ */

struct cg_grid_locator;

/* Creates a locator over db and builds its first snapshot. Free with cg_grid_locator_free(). */
int cg_grid_locator_new(struct cg_db *db, struct cg_grid_locator **out,
                        struct cg_error *err) CG_MUST_CHECK;
void cg_grid_locator_free(struct cg_grid_locator *loc);
/* The current snapshot, held until cg_grid_locator_release(); never NULL. */
struct cg_grid_index *cg_grid_locator_acquire(struct cg_grid_locator *loc);
void cg_grid_locator_release(struct cg_grid_locator *loc, struct cg_grid_index *ix);
/* Builds a new snapshot from the store and swaps it in; lookups go on meanwhile. */
int cg_grid_locator_rebuild(struct cg_grid_locator *loc, struct cg_error *err) CG_MUST_CHECK;

#endif
