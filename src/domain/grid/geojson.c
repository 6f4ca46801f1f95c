/*
 * geojson.c: reading a GeoJSON FeatureCollection of divisions and grids into
 * features with GEOS geometries (grid_int.h), and the checks of a file taken
 * alone (geojson.h). jansson reads the file; GEOS (reentrant API only, one
 * context per set) checks validity and finds overlaps through an STRtree.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "domain/grid/geojson.h"
#include "domain/grid/grid_int.h"

#include <math.h>

/* China's extent in CGCS2000 (~ WGS-84) degrees, generous on every side. */
#define LON_MIN 73.0
#define LON_MAX 136.0
#define LAT_MIN 3.0
#define LAT_MAX 54.0
#define MSG_MAX 512

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
    char *geos_msg; /* the set's last GEOS message */
};

static void geos_error(const char *message, void *userdata)
{
    struct cg_grid_set *s = userdata;

    snprintf(s->geos_msg, sizeof(s->geos_msg), "%s", message);
}

void cg_grid__set_init(struct cg_grid_set *s)
{
    memset(s, 0, sizeof(*s));
    s->h = GEOS_init_r();
    GEOSContext_setErrorMessageHandler_r(s->h, geos_error, s);
}

struct cg_grid_feature *cg_grid__set_add(struct cg_grid_set *s)
{
    struct cg_grid_feature *f;

    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->f = cg_realloc(s->f, s->cap * sizeof(*s->f));
    }
    f = &s->f[s->n++];
    memset(f, 0, sizeof(*f));
    f->idx = -1;
    return f;
}

void cg_grid__set_release(struct cg_grid_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->f[i].g) {
            GEOSGeom_destroy_r(s->h, s->f[i].g);
        }
        free(s->f[i].code);
        free(s->f[i].name);
        free(s->f[i].community);
    }
    free(s->f);
    if (s->h) {
        GEOS_finish_r(s->h);
    }
    memset(s, 0, sizeof(*s));
}

static struct cg_grid_problem *vadd(struct cg_grid_report *r, long feature, const char *code,
                                    const char *kind, bool warning, const char *fmt, va_list ap)
    CG_PRINTF(6, 0);

static struct cg_grid_problem *vadd(struct cg_grid_report *r, long feature, const char *code,
                                    const char *kind, bool warning, const char *fmt, va_list ap)
{
    struct cg_grid_problem *p;
    char msg[MSG_MAX];

    if (r->count == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->problems = cg_realloc(r->problems, r->cap * sizeof(*r->problems));
    }
    vsnprintf(msg, sizeof(msg), fmt, ap);
    p = &r->problems[r->count++];
    memset(p, 0, sizeof(*p));
    p->feature = feature;
    p->code = code ? cg_strdup(code) : NULL;
    p->kind = kind;
    p->warning = warning;
    p->message = cg_strdup(msg);
    p->other = -1;
    p->area_m2 = -1;
    return p;
}

struct cg_grid_problem *cg_grid__problem(struct cg_grid_report *r, long feature, const char *code,
                                         const char *kind, bool warning, const char *fmt, ...)
{
    struct cg_grid_problem *p;
    va_list ap;

    va_start(ap, fmt);
    p = vadd(r, feature, code, kind, warning, fmt, ap);
    va_end(ap);
    return p;
}

static struct cg_grid_problem *add(struct cg_grid_report *r, long feature, const char *code,
                                   const char *kind, const char *fmt, ...) CG_PRINTF(5, 6);

static struct cg_grid_problem *add(struct cg_grid_report *r, long feature, const char *code,
                                   const char *kind, const char *fmt, ...)
{
    struct cg_grid_problem *p;
    va_list ap;

    va_start(ap, fmt);
    p = vadd(r, feature, code, kind, false, fmt, ap);
    va_end(ap);
    return p;
}

void cg_grid__problem_at(struct cg_grid_problem *p, double lon, double lat)
{
    p->has_location = true;
    p->lon = lon;
    p->lat = lat;
}

#define set_location cg_grid__problem_at

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
int cg_grid__area_m2(GEOSContextHandle_t h, const GEOSGeometry *g, double *out, double *clon,
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
    *out = a * CG_GRID_M_PER_DEG_LON * cos(y * M_PI / 180.0) * CG_GRID_M_PER_DEG_LAT;
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
static char *read_code(struct vctx *v, long idx, json_t *props, bool required)
{
    json_t *code = json_object_get(props, "code");
    char buf[32];

    if (json_is_string(code) && json_string_length(code)) {
        return cg_strdup(json_string_value(code));
    }
    if (json_is_integer(code)) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(code));
        return cg_strdup(buf);
    }
    if (required || code) {
        add(v->r, idx, NULL, "missing_code",
            code ? "properties.code is not a non-empty string"
                 : "the feature has no properties.code");
    }
    return NULL;
}

/* An optional string property, copied into a new string; NULL when absent. */
static char *opt_string(json_t *props, const char *key)
{
    const char *s = json_string_value(json_object_get(props, key));

    return s && *s ? cg_strdup(s) : NULL;
}

static bool read_count(struct vctx *v, struct cg_grid_feature *f, json_t *props, const char *key,
                       int64_t *out)
{
    json_t *x = json_object_get(props, key);

    if (!x || json_is_null(x)) {
        return true;
    }
    if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 100000000) {
        add(v->r, f->idx, f->code, "invalid_property",
            "properties.%s must be a whole number from 0 to 100000000", key);
        return false;
    }
    *out = json_integer_value(x);
    return true;
}

/* The level a code of this length names; -1 when no level has that length. */
static int level_of_code(const char *code)
{
    size_t n = strlen(code);

    for (const char *c = code; *c; c++) {
        if (*c < '0' || *c > '9') {
            return -1;
        }
    }
    if (n == 6) {
        return CG_GRID_CITY;
    }
    if (n == 9) {
        return CG_GRID_TOWN;
    }
    if (n == 12) {
        return CG_GRID_VILLAGE;
    }
    if (n >= 12 + CG_GRID_SEQ_WIDTH_MIN && n <= 12 + CG_GRID_SEQ_WIDTH_MAX) {
        return CG_GRID_GRID;
    }
    return -1;
}

/* Reads level, code, name, kind and counts of feature fe into f; reports what is wrong. */
static void read_properties(struct vctx *v, struct cg_grid_feature *f, json_t *fe)
{
    static const char *const levels[] = {"city", "town", "village", "grid", NULL};
    static const char *const sectors[] = {"school",     "hospital",   "market", "park",
                                          "enterprise", "government", "other",  NULL};
    json_t *props = json_object_get(fe, "properties");
    const char *lv = json_string_value(json_object_get(props, "level"));
    const char *kind = json_string_value(json_object_get(props, "kind"));
    const char *st = json_string_value(json_object_get(props, "sector_type"));
    int by_code;

    f->level = CG_GRID_GRID;
    f->community = opt_string(props, "community");
    /* A grid to be numbered names its community instead of carrying a code. */
    f->code = read_code(v, f->idx, props, !f->community);
    f->name = opt_string(props, "name");
    if (lv) {
        size_t i = 0;

        while (levels[i] && strcmp(levels[i], lv)) {
            i++;
        }
        if (!levels[i]) {
            add(v->r, f->idx, f->code, "invalid_property",
                "properties.level '%.20s' is not one of city, town, village, grid", lv);
            f->has_props_error = true;
        } else {
            f->level = (enum cg_grid_level)i;
        }
    }
    if (f->code) {
        by_code = level_of_code(f->code);
        if (by_code < 0) {
            add(v->r, f->idx, f->code, "invalid_code",
                "code '%.20s' is not a division code (6, 9 or 12 digits) or a grid code "
                "(12 digits of its community and %d to %d of sequence)",
                f->code, CG_GRID_SEQ_WIDTH_MIN, CG_GRID_SEQ_WIDTH_MAX);
            f->has_props_error = true;
        } else if (!lv) {
            f->level = (enum cg_grid_level)by_code;
        } else if (by_code != (int)f->level) {
            add(v->r, f->idx, f->code, "invalid_code",
                "code '%s' has the length of a %s code, but properties.level is %s", f->code,
                cg_grid_level_name((enum cg_grid_level)by_code), cg_grid_level_name(f->level));
            f->has_props_error = true;
        }
    }
    snprintf(f->kind, sizeof(f->kind), "%s", "territorial");
    if (f->level == CG_GRID_GRID && kind) {
        if (!strcmp(kind, "territorial") || !strcmp(kind, "sector")) {
            snprintf(f->kind, sizeof(f->kind), "%s", kind);
        } else {
            add(v->r, f->idx, f->code, "invalid_property",
                "properties.kind '%.20s' is not 'territorial' (综合网格) or 'sector' (专属网格)",
                kind);
            f->has_props_error = true;
        }
    }
    if (!strcmp(f->kind, "sector")) {
        size_t i = 0;

        while (st && sectors[i] && strcmp(sectors[i], st)) {
            i++;
        }
        if (!st || !sectors[i]) {
            add(v->r, f->idx, f->code, "invalid_property",
                "a sector grid needs properties.sector_type: school, hospital, market, park, "
                "enterprise, government or other");
            f->has_props_error = true;
        } else {
            snprintf(f->sector_type, sizeof(f->sector_type), "%s", st);
        }
    }
    if (!read_count(v, f, props, "households", &f->households) ||
        !read_count(v, f, props, "population", &f->population)) {
        f->has_props_error = true;
    }
}

struct candidates {
    struct cg_grid_feature **items;
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

/* Siblings that must not overlap: same level, and for grids the same kind. */
static bool comparable(const struct cg_grid_feature *a, const struct cg_grid_feature *b)
{
    return a->level == b->level && (a->level != CG_GRID_GRID || !strcmp(a->kind, b->kind)) &&
           (a->idx >= 0 || b->idx >= 0);
}

static const char *fcode(const struct cg_grid_feature *f)
{
    return f->code ? f->code : "";
}

void cg_grid__overlaps(struct cg_grid_set *s, struct cg_grid_report *r)
{
    GEOSSTRtree *tree = GEOSSTRtree_create_r(s->h, 10);
    struct candidates c = {0};

    if (!tree) {
        add(r, -1, NULL, "internal", "cannot build a spatial index: %s", s->geos_msg);
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->f[i].g && !s->f[i].replaced) {
            GEOSSTRtree_insert_r(s->h, tree, s->f[i].g, &s->f[i]);
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        struct cg_grid_feature *f = &s->f[i];

        if (!f->g || f->replaced) {
            continue;
        }
        c.n = 0;
        GEOSSTRtree_query_r(s->h, tree, f->g, collect, &c);
        for (size_t k = 0; k < c.n; k++) {
            struct cg_grid_feature *o = c.items[k];
            struct cg_grid_feature *first = f, *second = o;
            GEOSGeometry *inter;
            double a = 0, x = 0, y = 0;
            struct cg_grid_problem *p;

            /* Each pair once (in set order), and not with itself. */
            if (o <= f || !comparable(f, o)) {
                continue;
            }
            if (first->idx < 0) { /* name the file's feature first */
                first = o;
                second = f;
            }
            inter = GEOSIntersection_r(s->h, f->g, o->g);
            if (!inter) {
                p = add(r, first->idx, first->code, "overlap", "cannot intersect with %s: %s",
                        fcode(second), s->geos_msg);
                p->other = second->idx;
                continue;
            }
            if (!cg_grid__area_m2(s->h, inter, &a, &x, &y) && a > CG_GRID_OVERLAP_TOLERANCE_M2) {
                if (second->idx >= 0) {
                    p = add(r, first->idx, first->code, "overlap", "overlap with feature %ld%s%s%s",
                            second->idx, second->code ? " (" : "", fcode(second),
                            second->code ? ")" : "");
                } else {
                    p = add(r, first->idx, first->code, "overlap",
                            "overlap with %s %s (%s), already stored",
                            cg_grid_level_name(second->level), fcode(second),
                            second->name ? second->name : "");
                }
                p->other = second->idx;
                p->other_code = second->code ? cg_strdup(second->code) : NULL;
                p->area_m2 = a;
                set_location(p, x, y);
                first->bad = true;
                if (second->idx >= 0) {
                    second->bad = true;
                }
            }
            GEOSGeom_destroy_r(s->h, inter);
        }
    }
    free(c.items);
    GEOSSTRtree_destroy_r(s->h, tree);
}

static int not_geojson(struct cg_grid_report *r, struct cg_error *err, int code, const char *msg)
{
    add(r, -1, NULL, "not_geojson", "%s", msg);
    return cg_error_set(err, code, "%s", msg);
}

void cg_grid__measure(GEOSContextHandle_t h, struct cg_grid_feature *f)
{
    double a = 0, x = 0, y = 0;

    if (!cg_grid__area_m2(h, f->g, &a, &x, &y)) {
        f->area_m2 = a;
        f->cx = x;
        f->cy = y;
    }
    GEOSGeom_getXMin_r(h, f->g, &f->bbox[0]);
    GEOSGeom_getYMin_r(h, f->g, &f->bbox[1]);
    GEOSGeom_getXMax_r(h, f->g, &f->bbox[2]);
    GEOSGeom_getYMax_r(h, f->g, &f->bbox[3]);
}

int cg_grid__parse(const char *text, size_t len, int seq_width, struct cg_grid_set *s,
                   struct cg_grid_report *out, struct cg_error *err)
{
    struct vctx v = {.r = out, .h = s->h, .geos_msg = s->geos_msg};
    json_error_t jerr;
    json_t *root, *features, *seen;
    const char *type;
    size_t n;
    char msg[MSG_MAX];

    (void)seq_width; /* the exact width is an import rule (grid.c) */
    if (len > CG_GRID_GEOJSON_MAX) {
        snprintf(msg, sizeof(msg), "the file has %zu bytes, more than the %zu allowed", len,
                 CG_GRID_GEOJSON_MAX);
        return not_geojson(out, err, CG_ETOOBIG, msg);
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
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
    seen = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *fe = json_array_get(features, i), *prev;
        const char *ftype = json_string_value(json_object_get(fe, "type"));
        struct fstate fs = {.idx = (long)i};
        struct cg_grid_feature *f = cg_grid__set_add(s);
        GEOSGeometry *g;

        f->idx = (long)i;
        if (!json_is_object(fe) || !ftype || strcmp(ftype, "Feature")) {
            add(out, (long)i, NULL, "not_feature", "not a GeoJSON Feature object");
            f->bad = true;
            continue;
        }
        read_properties(&v, f, fe);
        fs.code = f->code;
        if (fs.code && (prev = json_object_get(seen, fs.code))) {
            long first = (long)json_integer_value(prev);
            struct cg_grid_problem *p = add(out, (long)i, fs.code, "duplicate_code",
                                            "code already used by feature %ld", first);

            p->other = first;
            p->other_code = cg_strdup(fs.code);
            f->bad = true;
        } else if (fs.code) {
            json_object_set_new(seen, fs.code, json_integer((json_int_t)i));
        }
        s->geos_msg[0] = '\0';
        g = read_geometry(&v, &fs, json_object_get(fe, "geometry"));
        f->g = g ? check_valid(&v, &fs, g) : NULL;
        if (f->g) {
            cg_grid__measure(s->h, f);
            out->total_area_m2 += f->area_m2;
            out->polygons++;
        } else {
            f->bad = true;
        }
        if (f->has_props_error) {
            f->bad = true;
        }
    }
    json_decref(seen);
    json_decref(root);
    return 0;
}

int cg_grid_validate_geojson(const char *text, size_t len, struct cg_grid_report *out,
                             struct cg_error *err)
{
    struct cg_grid_set s;
    int rc;

    memset(out, 0, sizeof(*out));
    cg_grid__set_init(&s);
    rc = cg_grid__parse(text, len, 0, &s, out, err);
    if (!rc) {
        cg_grid__overlaps(&s, out);
    }
    cg_grid__set_release(&s);
    return rc;
}

GEOSGeometry *cg_grid__read_geometry(GEOSContextHandle_t h, const char *geojson)
{
    GEOSGeoJSONReader *rd = GEOSGeoJSONReader_create_r(h);
    GEOSGeometry *g = rd ? GEOSGeoJSONReader_readGeometry_r(h, rd, geojson) : NULL;

    if (rd) {
        GEOSGeoJSONReader_destroy_r(h, rd);
    }
    return g;
}

char *cg_grid__write_geometry(GEOSContextHandle_t h, const GEOSGeometry *g)
{
    GEOSGeoJSONWriter *w = GEOSGeoJSONWriter_create_r(h);
    char *text = w ? GEOSGeoJSONWriter_writeGeometry_r(h, w, g, -1) : NULL;
    char *copy = text ? cg_strdup(text) : NULL;

    if (text) {
        GEOSFree_r(h, text);
    }
    if (w) {
        GEOSGeoJSONWriter_destroy_r(h, w);
    }
    return copy;
}

const char *cg_grid_level_name(enum cg_grid_level level)
{
    static const char *const names[] = {"city", "town", "village", "grid"};

    return (unsigned)level < 4 ? names[level] : "?";
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
        json_object_set_new(e, "severity", json_string(p->warning ? "warning" : "error"));
        json_object_set_new(e, "message", json_string(p->message));
        if (p->other >= 0) {
            json_object_set_new(e, "other_feature", json_integer(p->other));
        }
        if (p->other >= 0 || p->other_code) { /* a stored grid has a code but no feature */
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
    size_t warnings = 0;

    for (size_t i = 0; i < r->count; i++) {
        warnings += r->problems[i].warning;
    }
    json_object_set_new(o, "ok", json_boolean(r->count == warnings));
    json_object_set_new(o, "errors", json_integer((json_int_t)(r->count - warnings)));
    json_object_set_new(o, "warnings", json_integer((json_int_t)warnings));
    json_object_set_new(o, "features", json_integer((json_int_t)r->features));
    json_object_set_new(o, "polygons", json_integer((json_int_t)r->polygons));
    json_object_set_new(o, "total_area_m2", json_real(r->total_area_m2));
    json_object_set_new(o, "problems", list);
    return o;
}
