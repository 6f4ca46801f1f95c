/*
 * geojson.c: validation of a GeoJSON FeatureCollection of grid polygons
 * (geojson.h). jansson reads the file; GEOS (reentrant API only, one context
 * per call) checks validity and finds overlaps through an STRtree.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "domain/grid/geojson.h"

#define GEOS_USE_ONLY_R_API
#include <geos_c.h>
#include <math.h>

/* China's extent in CGCS2000 (~ WGS-84) degrees, generous on every side. */
#define LON_MIN 73.0
#define LON_MAX 136.0
#define LAT_MIN 3.0
#define LAT_MAX 54.0
/* Metres per degree of longitude at the equator and of latitude. */
#define M_PER_DEG_LON 111320.0
#define M_PER_DEG_LAT 110574.0
#define MSG_MAX 512

struct feat {
    long idx;
    char *code;      /* properties.code, NULL when absent */
    GEOSGeometry *g; /* valid geometry, NULL when the feature could not be built */
};

struct fstate {
    long idx;
    const char *code;
    bool bad;          /* a coordinate problem: do not build the geometry */
    unsigned reported; /* bit per coordinate problem kind, to report each once */
};

enum { REP_SWAP = 1, REP_OUTSIDE = 2, REP_COORD = 4 };

struct vctx {
    GEOSContextHandle_t h;
    struct cg_grid_report *r;
    char geos_msg[256];
};

static void geos_error(const char *message, void *userdata)
{
    struct vctx *v = userdata;

    snprintf(v->geos_msg, sizeof(v->geos_msg), "%s", message);
}

static struct cg_grid_problem *add(struct cg_grid_report *r, long feature, const char *code,
                                   const char *kind, const char *fmt, ...) CG_PRINTF(5, 6);

static struct cg_grid_problem *add(struct cg_grid_report *r, long feature, const char *code,
                                   const char *kind, const char *fmt, ...)
{
    struct cg_grid_problem *p;
    char msg[MSG_MAX];
    va_list ap;

    if (r->count == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->problems = cg_realloc(r->problems, r->cap * sizeof(*r->problems));
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    p = &r->problems[r->count++];
    memset(p, 0, sizeof(*p));
    p->feature = feature;
    p->code = code ? cg_strdup(code) : NULL;
    p->kind = kind;
    p->message = cg_strdup(msg);
    p->other = -1;
    p->area_m2 = -1;
    return p;
}

static void set_location(struct cg_grid_problem *p, double lon, double lat)
{
    p->has_location = true;
    p->lon = lon;
    p->lat = lat;
}

static bool in_china(double lon, double lat)
{
    return lon >= LON_MIN && lon <= LON_MAX && lat >= LAT_MIN && lat <= LAT_MAX;
}

/*
 * Area of g (lon/lat degrees) in m2, and its centroid. The projection is a
 * local equirectangular one around the centroid latitude lat0:
 * x = lon * 111320 * cos(lat0), y = lat * 110574. Being linear, projecting
 * every coordinate and calling GEOSArea_r equals GEOSArea_r in degrees times
 * both scale factors, which is what is computed. For grid-sized areas (a few
 * km across, even a city of ~60 km) the error is well under 1 %.
 */
static int area_m2(GEOSContextHandle_t h, const GEOSGeometry *g, double *out, double *clon,
                   double *clat)
{
    GEOSGeometry *c;
    double a = 0, x = 0, y = 0;

    *out = 0;
    if (GEOSisEmpty_r(h, g)) {
        return 0;
    }
    c = GEOSGetCentroid_r(h, g);
    if (!c || GEOSisEmpty_r(h, c) || !GEOSGeomGetX_r(h, c, &x) || !GEOSGeomGetY_r(h, c, &y) ||
        !GEOSArea_r(h, g, &a)) {
        if (c) {
            GEOSGeom_destroy_r(h, c);
        }
        return -1;
    }
    GEOSGeom_destroy_r(h, c);
    *out = a * M_PER_DEG_LON * cos(y * M_PI / 180.0) * M_PER_DEG_LAT;
    if (clon) {
        *clon = x;
        *clat = y;
    }
    return 0;
}

/* Reads one position; returns false (and reports) when it is unusable. */
static bool read_position(struct vctx *v, struct fstate *fs, json_t *pos, double *lon, double *lat)
{
    json_t *x = json_array_get(pos, 0), *y = json_array_get(pos, 1);
    struct cg_grid_problem *p;

    if (!json_is_array(pos) || json_array_size(pos) < 2 || !json_is_number(x) ||
        !json_is_number(y)) {
        if (!(fs->reported & REP_COORD)) {
            add(v->r, fs->idx, fs->code, "invalid_coordinates",
                "a position is not an array of two numbers [lon, lat]");
            fs->reported |= REP_COORD;
        }
        return false;
    }
    *lon = json_number_value(x);
    *lat = json_number_value(y);
    if (in_china(*lon, *lat)) {
        return true;
    }
    if (in_china(*lat, *lon)) {
        if (!(fs->reported & REP_SWAP)) {
            p = add(v->r, fs->idx, fs->code, "swapped_lon_lat",
                    "position [%.6f, %.6f] looks like [lat, lon]; GeoJSON wants [lon, lat]", *lon,
                    *lat);
            set_location(p, *lat, *lon);
            fs->reported |= REP_SWAP;
        }
    } else if (!(fs->reported & REP_OUTSIDE)) {
        p = add(v->r, fs->idx, fs->code, "outside_china",
                "position [%.6f, %.6f] is outside China (lon %.0f..%.0f, lat %.0f..%.0f)", *lon,
                *lat, LON_MIN, LON_MAX, LAT_MIN, LAT_MAX);
        set_location(p, *lon, *lat);
        fs->reported |= REP_OUTSIDE;
    }
    return false;
}

/* Builds a linear ring from a GeoJSON ring; NULL when it has a problem (reported). */
static GEOSGeometry *read_ring(struct vctx *v, struct fstate *fs, json_t *ring, size_t nring)
{
    size_t n = json_array_size(ring);
    double lon0 = 0, lat0 = 0, lon = 0, lat = 0;
    GEOSCoordSequence *seq;
    GEOSGeometry *g;
    bool ok = true;

    if (!json_is_array(ring)) {
        add(v->r, fs->idx, fs->code, "invalid_coordinates", "ring %zu is not an array", nring);
        fs->bad = true;
        return NULL;
    }
    if (n < 4) {
        add(v->r, fs->idx, fs->code, "too_few_points",
            "ring %zu has %zu position%s, a closed ring needs at least 4", nring, n,
            n == 1 ? "" : "s");
        fs->bad = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!read_position(v, fs, json_array_get(ring, i), &lon, &lat)) {
            ok = false;
        } else if (i == 0) {
            lon0 = lon;
            lat0 = lat;
        }
    }
    if (!ok) {
        fs->bad = true;
        return NULL;
    }
    if (lon != lon0 || lat != lat0) {
        struct cg_grid_problem *p = add(v->r, fs->idx, fs->code, "ring_not_closed",
                                        "ring %zu is not closed: it starts at [%.6f, %.6f] and "
                                        "ends at [%.6f, %.6f]",
                                        nring, lon0, lat0, lon, lat);
        set_location(p, lon0, lat0);
        fs->bad = true;
        return NULL;
    }
    if (fs->bad) {
        return NULL;
    }
    seq = GEOSCoordSeq_create_r(v->h, (unsigned)n, 2);
    if (!seq) {
        add(v->r, fs->idx, fs->code, "invalid_geometry", "ring %zu: %s", nring, v->geos_msg);
        fs->bad = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *pos = json_array_get(ring, i);

        GEOSCoordSeq_setXY_r(v->h, seq, (unsigned)i, json_number_value(json_array_get(pos, 0)),
                             json_number_value(json_array_get(pos, 1)));
    }
    g = GEOSGeom_createLinearRing_r(v->h, seq); /* takes seq, even on failure */
    if (!g) {
        add(v->r, fs->idx, fs->code, "invalid_geometry", "ring %zu: %s", nring, v->geos_msg);
        fs->bad = true;
    }
    return g;
}

/* Builds a polygon from GeoJSON Polygon coordinates; NULL when it has a problem. */
static GEOSGeometry *read_polygon(struct vctx *v, struct fstate *fs, json_t *rings, size_t *nring)
{
    size_t n = json_array_size(rings), built = 0;
    GEOSGeometry **gs;
    GEOSGeometry *poly = NULL;

    if (!json_is_array(rings) || !n) {
        add(v->r, fs->idx, fs->code, "invalid_coordinates",
            "a polygon needs an array of rings, the first being the outer boundary");
        fs->bad = true;
        return NULL;
    }
    gs = cg_calloc(n, sizeof(*gs));
    for (size_t i = 0; i < n; i++) {
        gs[i] = read_ring(v, fs, json_array_get(rings, i), (*nring)++);
        built += gs[i] != NULL;
    }
    if (built == n && !fs->bad) {
        poly = GEOSGeom_createPolygon_r(v->h, gs[0], n > 1 ? gs + 1 : NULL, (unsigned)(n - 1));
        if (!poly) {
            add(v->r, fs->idx, fs->code, "invalid_geometry", "%s", v->geos_msg);
            fs->bad = true;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            if (gs[i]) {
                GEOSGeom_destroy_r(v->h, gs[i]);
            }
        }
    }
    free(gs);
    return poly;
}

/* Builds the geometry of a feature; NULL when it has a problem (reported). */
static GEOSGeometry *read_geometry(struct vctx *v, struct fstate *fs, json_t *geom)
{
    const char *type = json_string_value(json_object_get(geom, "type"));
    json_t *coords = json_object_get(geom, "coordinates");
    size_t nring = 0;

    if (!json_is_object(geom) || !type) {
        add(v->r, fs->idx, fs->code, "not_polygon", "the feature has no geometry");
        return NULL;
    }
    if (!strcmp(type, "Polygon")) {
        return read_polygon(v, fs, coords, &nring);
    }
    if (!strcmp(type, "MultiPolygon")) {
        size_t n = json_array_size(coords), built = 0;
        GEOSGeometry **gs, *multi = NULL;

        if (!json_is_array(coords) || !n) {
            add(v->r, fs->idx, fs->code, "invalid_coordinates",
                "a MultiPolygon needs a non-empty array of polygons");
            return NULL;
        }
        gs = cg_calloc(n, sizeof(*gs));
        for (size_t i = 0; i < n; i++) {
            gs[i] = read_polygon(v, fs, json_array_get(coords, i), &nring);
            built += gs[i] != NULL;
        }
        if (built == n && !fs->bad) {
            multi = GEOSGeom_createCollection_r(v->h, GEOS_MULTIPOLYGON, gs, (unsigned)n);
            if (!multi) {
                add(v->r, fs->idx, fs->code, "invalid_geometry", "%s", v->geos_msg);
            }
        } else {
            for (size_t i = 0; i < n; i++) {
                if (gs[i]) {
                    GEOSGeom_destroy_r(v->h, gs[i]);
                }
            }
        }
        free(gs);
        return multi;
    }
    add(v->r, fs->idx, fs->code, "not_polygon",
        "the geometry is a %.40s; grids must be Polygon or MultiPolygon", type);
    return NULL;
}

/* Keeps g only when GEOS finds it valid; reports why and where otherwise. */
static GEOSGeometry *check_valid(struct vctx *v, struct fstate *fs, GEOSGeometry *g)
{
    char *reason = NULL;
    GEOSGeometry *loc = NULL;
    char valid = GEOSisValidDetail_r(v->h, g, 0, &reason, &loc);
    struct cg_grid_problem *p;
    double x, y;

    if (valid == 1) {
        return g;
    }
    p = add(v->r, fs->idx, fs->code, "invalid_geometry", "%s",
            valid == 0 && reason ? reason : v->geos_msg);
    if (loc && GEOSGeomGetX_r(v->h, loc, &x) && GEOSGeomGetY_r(v->h, loc, &y)) {
        set_location(p, x, y);
    }
    if (reason) {
        GEOSFree_r(v->h, reason);
    }
    if (loc) {
        GEOSGeom_destroy_r(v->h, loc);
    }
    GEOSGeom_destroy_r(v->h, g);
    return NULL;
}

/* properties.code as a new string, NULL when absent (reported). */
static char *read_code(struct vctx *v, long idx, json_t *feature)
{
    json_t *code = json_object_get(json_object_get(feature, "properties"), "code");
    char buf[32];

    if (json_is_string(code) && json_string_length(code)) {
        return cg_strdup(json_string_value(code));
    }
    if (json_is_integer(code)) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(code));
        return cg_strdup(buf);
    }
    add(v->r, idx, NULL, "missing_code",
        code ? "properties.code is not a non-empty string" : "the feature has no properties.code");
    return NULL;
}

struct candidates {
    struct feat **items;
    size_t n, cap;
};

static void collect(void *item, void *userdata)
{
    struct candidates *c = userdata;

    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->items = cg_realloc(c->items, c->cap * sizeof(*c->items));
    }
    c->items[c->n++] = item;
}

/* Reports every pair of features whose intersection exceeds the tolerance. */
static void find_overlaps(struct vctx *v, struct feat *feats, size_t n)
{
    GEOSSTRtree *tree = GEOSSTRtree_create_r(v->h, 10);
    struct candidates c = {0};

    if (!tree) {
        add(v->r, -1, NULL, "internal", "cannot build a spatial index: %s", v->geos_msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (feats[i].g) {
            GEOSSTRtree_insert_r(v->h, tree, feats[i].g, &feats[i]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!feats[i].g) {
            continue;
        }
        c.n = 0;
        GEOSSTRtree_query_r(v->h, tree, feats[i].g, collect, &c);
        for (size_t k = 0; k < c.n; k++) {
            struct feat *o = c.items[k];
            GEOSGeometry *inter;
            double a = 0, x = 0, y = 0;
            struct cg_grid_problem *p;

            if (o->idx <= feats[i].idx) {
                continue; /* each pair once, and not with itself */
            }
            inter = GEOSIntersection_r(v->h, feats[i].g, o->g);
            if (!inter) {
                p = add(v->r, feats[i].idx, feats[i].code, "overlap",
                        "cannot intersect with feature %ld: %s", o->idx, v->geos_msg);
                p->other = o->idx;
                continue;
            }
            if (!area_m2(v->h, inter, &a, &x, &y) && a > CG_GRID_OVERLAP_TOLERANCE_M2) {
                p = add(v->r, feats[i].idx, feats[i].code, "overlap",
                        "overlap with feature %ld%s%s%s", o->idx, o->code ? " (" : "",
                        o->code ? o->code : "", o->code ? ")" : "");
                p->other = o->idx;
                p->other_code = o->code ? cg_strdup(o->code) : NULL;
                p->area_m2 = a;
                set_location(p, x, y);
            }
            GEOSGeom_destroy_r(v->h, inter);
        }
    }
    free(c.items);
    GEOSSTRtree_destroy_r(v->h, tree);
}

static int not_geojson(struct cg_grid_report *r, struct cg_error *err, int code, const char *msg)
{
    add(r, -1, NULL, "not_geojson", "%s", msg);
    return cg_error_set(err, code, "%s", msg);
}

int cg_grid_validate_geojson(const char *text, size_t len, struct cg_grid_report *out,
                             struct cg_error *err)
{
    struct vctx v = {.r = out};
    json_error_t jerr;
    json_t *root, *features, *seen;
    const char *type;
    struct feat *feats;
    size_t n;
    char msg[MSG_MAX];

    memset(out, 0, sizeof(*out));
    if (len > CG_GRID_GEOJSON_MAX) {
        snprintf(msg, sizeof(msg), "the file has %zu bytes, more than the %zu allowed", len,
                 CG_GRID_GEOJSON_MAX);
        return not_geojson(out, err, CG_ETOOBIG, msg);
    }
    root = json_loadb(text, len, 0, &jerr);
    if (!root) {
        if (strstr(jerr.text, "depth")) {
            snprintf(msg, sizeof(msg), "not JSON we accept: nested deeper than %d levels",
                     JSON_PARSER_MAX_DEPTH);
        } else {
            snprintf(msg, sizeof(msg), "not JSON: %s at line %d column %d", jerr.text, jerr.line,
                     jerr.column);
        }
        return not_geojson(out, err, CG_EBADJSON, msg);
    }
    type = json_string_value(json_object_get(root, "type"));
    features = json_object_get(root, "features");
    if (!json_is_object(root) || !type || strcmp(type, "FeatureCollection") ||
        !json_is_array(features)) {
        json_decref(root);
        return not_geojson(out, err, CG_EINVAL,
                           "not a GeoJSON FeatureCollection (an object with \"type\": "
                           "\"FeatureCollection\" and a \"features\" array)");
    }
    n = json_array_size(features);
    out->features = n;
    feats = cg_calloc(n ? n : 1, sizeof(*feats));
    seen = json_object();
    v.h = GEOS_init_r();
    GEOSContext_setErrorMessageHandler_r(v.h, geos_error, &v);
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(features, i), *prev;
        const char *ftype = json_string_value(json_object_get(f, "type"));
        struct fstate fs = {.idx = (long)i};
        GEOSGeometry *g;

        feats[i].idx = (long)i;
        if (!json_is_object(f) || !ftype || strcmp(ftype, "Feature")) {
            add(out, (long)i, NULL, "not_feature", "not a GeoJSON Feature object");
            continue;
        }
        feats[i].code = read_code(&v, (long)i, f);
        fs.code = feats[i].code;
        if (fs.code && (prev = json_object_get(seen, fs.code))) {
            long first = (long)json_integer_value(prev);
            struct cg_grid_problem *p = add(out, (long)i, fs.code, "duplicate_code",
                                            "code already used by feature %ld", first);

            p->other = first;
            p->other_code = cg_strdup(fs.code);
        } else if (fs.code) {
            json_object_set_new(seen, fs.code, json_integer((json_int_t)i));
        }
        v.geos_msg[0] = '\0';
        g = read_geometry(&v, &fs, json_object_get(f, "geometry"));
        feats[i].g = g ? check_valid(&v, &fs, g) : NULL;
        if (feats[i].g) {
            double a;

            if (!area_m2(v.h, feats[i].g, &a, NULL, NULL)) {
                out->total_area_m2 += a;
                out->polygons++;
            }
        }
    }
    find_overlaps(&v, feats, n);
    for (size_t i = 0; i < n; i++) {
        if (feats[i].g) {
            GEOSGeom_destroy_r(v.h, feats[i].g);
        }
        free(feats[i].code);
    }
    free(feats);
    GEOS_finish_r(v.h);
    json_decref(seen);
    json_decref(root);
    return 0;
}

void cg_grid_report_release(struct cg_grid_report *r)
{
    for (size_t i = 0; i < r->count; i++) {
        free(r->problems[i].code);
        free(r->problems[i].message);
        free(r->problems[i].other_code);
    }
    free(r->problems);
    memset(r, 0, sizeof(*r));
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *cg_grid_report_json(const struct cg_grid_report *r)
{
    json_t *o = json_object(), *list = json_array();

    for (size_t i = 0; i < r->count; i++) {
        const struct cg_grid_problem *p = &r->problems[i];
        json_t *e = json_object();

        json_object_set_new(e, "feature", p->feature >= 0 ? json_integer(p->feature) : json_null());
        json_object_set_new(e, "code", str_or_null(p->code));
        json_object_set_new(e, "kind", json_string(p->kind));
        json_object_set_new(e, "message", json_string(p->message));
        if (p->other >= 0) {
            json_object_set_new(e, "other_feature", json_integer(p->other));
            json_object_set_new(e, "other_code", str_or_null(p->other_code));
        }
        if (p->has_location) {
            json_object_set_new(e, "lon", json_real(p->lon));
            json_object_set_new(e, "lat", json_real(p->lat));
        }
        if (p->area_m2 >= 0) {
            json_object_set_new(e, "area_m2", json_real(p->area_m2));
        }
        json_array_append_new(list, e);
    }
    json_object_set_new(o, "ok", json_boolean(r->count == 0));
    json_object_set_new(o, "features", json_integer((json_int_t)r->features));
    json_object_set_new(o, "polygons", json_integer((json_int_t)r->polygons));
    json_object_set_new(o, "total_area_m2", json_real(r->total_area_m2));
    json_object_set_new(o, "problems", list);
    return o;
}
