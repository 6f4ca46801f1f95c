/*
 * demo.h: the demo cities, made from real outlines (data/geo, credited in
 * docs/GRID.md) and tiled without gap or overlap by Voronoi cells clipped
 * with GEOS. Deterministic for a given seed.
 *
 *   zhongshan: 古镇镇 (442000105) as seed 000 describes it: the town cut out
 *              of Zhongshan's outline around 113.19 E, 22.61 N to 48 km2,
 *              13 villages/communities, 68 grids, 958 grid workers.
 *   dongguan:  Dongguan as seed 002 describes it: its 36 towns from the
 *              division list, 590 villages, 2,894 grids, 9,889 grid workers.
 *
 * Village names and everything below the town are invented, following the
 * code scheme (001-199 communities, 200-399 villages).
 */
#ifndef CG_GRID_DEMO_H
#define CG_GRID_DEMO_H

#include "base/cg.h"
#include "base/err.h"

#include <jansson.h>

struct cg_db;
struct cg_pii_keys;

struct cg_grid_demo_stats {
    size_t towns, villages, grids, workers, guides;
    double town_area_m2; /* the one town of zhongshan; all towns of dongguan */
};

/*
 * Loads the demo city ("zhongshan" or "dongguan") into db: its divisions and
 * grids through the ordinary import (cg_grid_plan_new/apply, numbered west to
 * east, north to south), then its staff roster and assignments. Refuses
 * (CG_ECONFLICT) when the city's grids are already there.
 */
int cg_grid_demo_load(struct cg_db *db, struct cg_pii_keys *keys, const char *city, uint64_t seed,
                      int seq_width, struct cg_grid_demo_stats *out,
                      struct cg_error *err) CG_MUST_CHECK;

/* The demo city's divisions and grids as a GeoJSON FeatureCollection (new reference). */
int cg_grid_demo_collection(const char *city, uint64_t seed, int seq_width, json_t **out,
                            struct cg_grid_demo_stats *stats, struct cg_error *err) CG_MUST_CHECK;

#endif
