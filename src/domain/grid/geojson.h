/*
 * geojson.h: checks a GeoJSON FeatureCollection of divisions and grids taken
 * alone, before any import: readable GeoJSON, Polygon/MultiPolygon geometries
 * with closed rings of [lon, lat] positions inside China, GEOS validity (with
 * the location of the problem), codes and properties, unique properties.code,
 * and no overlap between siblings (pair and area in m2). Problems go to a
 * report; only an unreadable file is an error. The checks against the store
 * (parents, children inside parents, gaps) are in grid.h's plan.
 */
#ifndef CG_GRID_GEOJSON_H
#define CG_GRID_GEOJSON_H

#include "base/cg.h"
#include "base/err.h"

#include <jansson.h>

/* Largest file accepted (64 MiB). */
#define CG_GRID_GEOJSON_MAX ((size_t)64 * 1024 * 1024)
/* Overlaps smaller than this (m2) are rounding noise, not problems. */
#define CG_GRID_OVERLAP_TOLERANCE_M2 1.0

/* One problem. kind is a stable string: "not_geojson", "not_feature",
 * "not_polygon", "invalid_coordinates", "ring_not_closed", "too_few_points",
 * "swapped_lon_lat", "outside_china", "invalid_geometry", "missing_code",
 * "invalid_code", "invalid_property", "duplicate_code", "overlap"; and from the
 * plan (grid.h): "missing_name", "missing_parent", "outside_parent", "gap",
 * "outside_scope", "missing_geometry". Warnings (gaps) do not block an import. */
struct cg_grid_problem {
    long feature;      /* index in features[], -1 for the whole file */
    char *code;        /* properties.code of the feature, NULL when absent */
    const char *kind;  /* static */
    char *message;     /* human text, without the feature prefix */
    long other;        /* the other feature of a pair (overlap, duplicate), else -1 */
    char *other_code;  /* its code, NULL when absent */
    bool has_location; /* lon/lat are meaningful */
    double lon, lat;
    double area_m2; /* overlap or gap area; < 0 when not applicable */
    bool warning;   /* severity "warning" rather than "error" */
};

struct cg_grid_report {
    struct cg_grid_problem *problems;
    size_t count, cap;
    size_t features;      /* entries of features[] in the file */
    size_t polygons;      /* features whose geometry was valid and measured */
    double total_area_m2; /* sum of the areas of those features */
};

/*
 * Validates text (len bytes). out is initialised here and must be released
 * with cg_grid_report_release() whatever the result. Returns 0 when the file
 * could be read (problems, if any, are in out), CG_ETOOBIG over
 * CG_GRID_GEOJSON_MAX, CG_EBADJSON when it is not JSON (or nested deeper than
 * jansson allows), CG_EINVAL when it is not a FeatureCollection; in those
 * cases out also holds one "not_geojson" problem.
 */
int cg_grid_validate_geojson(const char *text, size_t len, struct cg_grid_report *out,
                             struct cg_error *err) CG_MUST_CHECK;

void cg_grid_report_release(struct cg_grid_report *r);

/* {"ok": no errors, "features": n, "polygons": n, "total_area_m2": x, "errors": n,
 * "warnings": n, "problems": [...]} (new reference). */
json_t *cg_grid_report_json(const struct cg_grid_report *r);

#endif
