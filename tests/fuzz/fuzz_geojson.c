/*
 * fuzz_geojson.c: cg_grid_validate_geojson() (src/domain/grid/geojson.h) on any
 * bytes, the path of `civgrid grid validate|import` and POST /api/v1/grids/validate:
 * jansson, the GeoJSON structure, GEOS validity and the overlap checks, then the
 * report's JSON. Every input must give a report (or an error) and release cleanly.
 */
#include "base/cg.h"
#include "domain/grid/geojson.h"

#include <stdio.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cg_grid_report r;
    struct cg_error err = CG_ERROR_INIT;
    json_t *j;
    int rc = cg_grid_validate_geojson((const char *)data, size, &r, &err);

    FUZZ_ASSERT(rc <= 0);
    FUZZ_ASSERT(rc == 0 || r.count >= 1); /* an unreadable file says why */
    FUZZ_ASSERT(r.polygons <= r.features);
    for (size_t i = 0; i < r.count; i++) {
        FUZZ_ASSERT(r.problems[i].kind && r.problems[i].message);
        FUZZ_ASSERT(r.problems[i].feature >= -1 && r.problems[i].feature < (long)r.features + 1);
    }
    j = cg_grid_report_json(&r);
    FUZZ_ASSERT(j);
    free(json_dumps(j, JSON_COMPACT));
    json_decref(j);
    cg_grid_report_release(&r);
    return 0;
}
