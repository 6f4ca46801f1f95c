/*
 * demo.c: the demo cities (demo.h). A region is split into k parts by
 * Voronoi cells of k seeded points, relaxed twice toward their centroids
 * (Lloyd) so that parts come out of similar size, and clipped to the region
 * with GEOS; the parts of a region therefore tile it with no gap or overlap.
 * Outlines and the town list are embedded from data/ at build time.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/str.h"
#include "domain/grid/demo.h"
#include "domain/grid/grid_int.h"
#include "domain/pii/pii.h"

#include <math.h>

/* build/gen/demo_data.c, from data/ by tools/embed-data.sh */
extern const char cg_demo_zhongshan_outline[];
extern const char cg_demo_dongguan_outline[];
extern const char cg_demo_towns_csv[];

#define LLOYD_ROUNDS 2

/* ---- randomness: splitmix64, so a seed gives the same city everywhere ------------------- */

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s)
{
    return (double)(rnd(s) >> 11) * 0x1.0p-53;
}

static size_t pick(uint64_t *s, size_t n)
{
    return (size_t)(rnd(s) % n);
}

/* ---- geometry helpers ------------------------------------------------------------------- */

/* The polygonal part of g as a Polygon or MultiPolygon (takes g); NULL when there is none. */
static GEOSGeometry *polygonal(GEOSContextHandle_t h, GEOSGeometry *g)
{
    int type = g ? GEOSGeomTypeId_r(h, g) : -1, n, k = 0;
    GEOSGeometry **parts;
    GEOSGeometry *out;

    if (type == GEOS_POLYGON || type == GEOS_MULTIPOLYGON || !g) {
        return g;
    }
    n = GEOSGetNumGeometries_r(h, g);
    parts = cg_calloc((size_t)n + 1, sizeof(*parts));
    for (int i = 0; i < n; i++) {
        const GEOSGeometry *c = GEOSGetGeometryN_r(h, g, i);
        int ct = GEOSGeomTypeId_r(h, c);

        if (ct == GEOS_POLYGON) {
            parts[k++] = GEOSGeom_clone_r(h, c);
        } else if (ct == GEOS_MULTIPOLYGON) {
            for (int j = 0; j < GEOSGetNumGeometries_r(h, c); j++) {
                parts[k++] = GEOSGeom_clone_r(h, GEOSGetGeometryN_r(h, c, j));
                if (k == n) {
                    n *= 2;
                    parts = cg_realloc(parts, ((size_t)n + 1) * sizeof(*parts));
                }
            }
        }
    }
    GEOSGeom_destroy_r(h, g);
    out = k ? GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, parts, (unsigned)k) : NULL;
    free(parts);
    return out;
}

static double area_m2(GEOSContextHandle_t h, const GEOSGeometry *g)
{
    double a = 0;

    return cg_grid__area_m2(h, g, &a, NULL, NULL) ? 0 : a;
}

/* A point of cell to seed the next round: its centroid when inside, else a point on it. */
static void seed_of(GEOSContextHandle_t h, const GEOSGeometry *cell,
                    const GEOSPreparedGeometry *region, double *x, double *y)
{
    GEOSGeometry *c = GEOSGetCentroid_r(h, cell);

    if (!c || GEOSPreparedContains_r(h, region, c) != 1) {
        if (c) {
            GEOSGeom_destroy_r(h, c);
        }
        c = GEOSPointOnSurface_r(h, cell);
    }
    CG_ASSERT(c != NULL);
    GEOSGeomGetX_r(h, c, x);
    GEOSGeomGetY_r(h, c, y);
    GEOSGeom_destroy_r(h, c);
}

/*
 * Splits region into k parts (out[0..k)); returns how many it made (k unless
 * seeds collided). The caller owns the parts.
 */
static size_t split(GEOSContextHandle_t h, const GEOSGeometry *region, size_t k, uint64_t *rng,
                    GEOSGeometry **out)
{
    const GEOSPreparedGeometry *pr = GEOSPrepare_r(h, region);
    double x0, y0, x1, y1, *px = cg_calloc(k, sizeof(double)), *py = cg_calloc(k, sizeof(double));
    size_t made = 0;

    GEOSGeom_getXMin_r(h, region, &x0);
    GEOSGeom_getYMin_r(h, region, &y0);
    GEOSGeom_getXMax_r(h, region, &x1);
    GEOSGeom_getYMax_r(h, region, &y1);
    for (size_t i = 0; i < k;) {
        double x = x0 + unif(rng) * (x1 - x0), y = y0 + unif(rng) * (y1 - y0);
        GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, x, y);

        if (GEOSPreparedContains_r(h, pr, pt) == 1) {
            px[i] = x;
            py[i] = y;
            i++;
        }
        GEOSGeom_destroy_r(h, pt);
    }
    for (int round = 0; round <= LLOYD_ROUNDS; round++) {
        GEOSGeometry **pts = cg_calloc(k, sizeof(*pts)), *mp, *env, *vd;

        for (size_t i = 0; i < k; i++) {
            pts[i] = GEOSGeom_createPointFromXY_r(h, px[i], py[i]);
        }
        mp = GEOSGeom_createCollection_r(h, GEOS_MULTIPOINT, pts, (unsigned)k);
        free(pts);
        env = GEOSGeom_createRectangle_r(h, x0 - (x1 - x0), y0 - (y1 - y0), x1 + (x1 - x0),
                                         y1 + (y1 - y0));
        vd = GEOSVoronoiDiagram_r(h, mp, env, 0, 0);
        CG_ASSERT(vd != NULL);
        made = 0;
        for (int i = 0; i < GEOSGetNumGeometries_r(h, vd) && made < k; i++) {
            GEOSGeometry *cell =
                polygonal(h, GEOSIntersection_r(h, GEOSGetGeometryN_r(h, vd, i), region));

            if (!cell || GEOSisEmpty_r(h, cell)) {
                if (cell) {
                    GEOSGeom_destroy_r(h, cell);
                }
                continue;
            }
            if (round < LLOYD_ROUNDS) {
                seed_of(h, cell, pr, &px[made], &py[made]);
                GEOSGeom_destroy_r(h, cell);
            } else {
                out[made] = cell;
            }
            made++;
        }
        GEOSGeom_destroy_r(h, vd);
        GEOSGeom_destroy_r(h, env);
        GEOSGeom_destroy_r(h, mp);
        k = made;
    }
    GEOSPreparedGeom_destroy_r(h, pr);
    free(px);
    free(py);
    return made;
}

/* Shares total among n parts in proportion to weight, each at least min (largest remainder). */
static void share(size_t total, const double *weight, size_t n, size_t min, size_t *out)
{
    double sum = 0;
    size_t given = 0;
    double *rest = cg_calloc(n, sizeof(*rest));

    for (size_t i = 0; i < n; i++) {
        sum += weight[i];
    }
    for (size_t i = 0; i < n; i++) {
        double exact = (double)(total - min * n) * weight[i] / sum;

        out[i] = min + (size_t)exact;
        rest[i] = exact - floor(exact);
        given += out[i];
    }
    while (given < total) {
        size_t best = 0;

        for (size_t i = 1; i < n; i++) {
            best = rest[i] > rest[best] ? i : best;
        }
        out[best]++;
        rest[best] = -1;
        given++;
    }
    free(rest);
}

/* The outline of a city file (its first feature's geometry), NULL when unreadable. */
static GEOSGeometry *outline(GEOSContextHandle_t h, const char *text)
{
    json_t *root = json_loads(text, 0, NULL);
    json_t *geom =
        json_object_get(json_array_get(json_object_get(root, "features"), 0), "geometry");
    char *gtext = geom ? json_dumps(geom, JSON_COMPACT) : NULL;
    GEOSGeometry *g = gtext ? cg_grid__read_geometry(h, gtext) : NULL;

    free(gtext);
    json_decref(root);
    return g;
}

/* ---- the city as features ----------------------------------------------------------------- */

struct city {
    struct cg_grid_set s; /* divisions and grids, parents before children */
    uint64_t rng;
    int seq_width;
    struct cg_grid_demo_stats st;
};

static struct cg_grid_feature *feature(struct city *c, enum cg_grid_level level, const char *code,
                                       const char *name, GEOSGeometry *g)
{
    struct cg_grid_feature *f = cg_grid__set_add(&c->s);

    f->idx = (long)c->s.n - 1;
    f->level = level;
    f->code = cg_strdup(code);
    f->name = cg_strdup(name);
    f->g = g;
    snprintf(f->kind, sizeof(f->kind), "territorial");
    cg_grid__measure(c->s.h, f);
    return f;
}

/* Orders parts[0..n) west to east, north to south (the order their codes follow). */
static void order_parts(struct city *c, GEOSGeometry **parts, size_t n)
{
    struct cg_grid_feature *tmp = cg_calloc(n + 1, sizeof(*tmp)),
                           **ptr = cg_calloc(n + 1, sizeof(*ptr));
    GEOSGeometry **sorted = cg_calloc(n + 1, sizeof(*sorted));

    for (size_t i = 0; i < n; i++) {
        tmp[i].idx = (long)i;
        tmp[i].g = parts[i];
        cg_grid__measure(c->s.h, &tmp[i]);
        ptr[i] = &tmp[i];
    }
    cg_grid__order_we_ns(ptr, n);
    for (size_t i = 0; i < n; i++) {
        sorted[i] = parts[ptr[i]->idx];
    }
    memcpy(parts, sorted, n * sizeof(*parts));
    free(sorted);
    free(ptr);
    free(tmp);
}

/* Splits village v into k grids named after it, numbered W->E, N->S. */
static void make_grids(struct city *c, size_t vi, size_t k)
{
    GEOSGeometry **parts = cg_calloc(k, sizeof(*parts));
    char vcode[16], vname[CG_GRID_NAME_MAX * 4];
    size_t n;

    snprintf(vcode, sizeof(vcode), "%s", c->s.f[vi].code);
    snprintf(vname, sizeof(vname), "%s", c->s.f[vi].name);
    n = split(c->s.h, c->s.f[vi].g, k, &c->rng, parts);
    order_parts(c, parts, n);
    for (size_t i = 0; i < n; i++) {
        char code[32], name[CG_GRID_NAME_MAX * 4 + 32];
        struct cg_grid_feature *f;

        snprintf(code, sizeof(code), "%s%0*zu", vcode, c->seq_width, i + 1);
        snprintf(name, sizeof(name), "%s第%zu网格", vname, i + 1);
        f = feature(c, CG_GRID_GRID, code, name, parts[i]);
        /* Large grids as in Guzhen: 900-1,500 households of about 2.8 people. */
        f->households = 900 + (int64_t)pick(&c->rng, 600);
        f->population = (int64_t)((double)f->households * (2.5 + unif(&c->rng) * 0.6));
        c->st.grids++;
    }
    free(parts);
}

/*
 * Splits town t into villages with the given names (communities first, coded
 * 001.., then villages coded 201..) and each village into grids.
 */
static void make_villages(struct city *c, size_t ti, const char *const *names, size_t nv,
                          size_t ncommunities, size_t grids)
{
    GEOSGeometry **parts = cg_calloc(nv, sizeof(*parts));
    double *areas = cg_calloc(nv, sizeof(*areas));
    size_t *per = cg_calloc(nv, sizeof(*per)), first = c->s.n, n;
    char tcode[16];

    snprintf(tcode, sizeof(tcode), "%s", c->s.f[ti].code);
    n = split(c->s.h, c->s.f[ti].g, nv, &c->rng, parts);
    order_parts(c, parts, n);
    for (size_t i = 0; i < n; i++) {
        char code[40];

        snprintf(code, sizeof(code), "%s%03zu", tcode,
                 i < ncommunities ? i + 1 : 201 + (i - ncommunities));
        feature(c, CG_GRID_VILLAGE, code, names[i], parts[i]);
        areas[i] = c->s.f[first + i].area_m2;
        c->st.villages++;
    }
    share(grids, areas, n, 1, per);
    for (size_t i = 0; i < n; i++) {
        make_grids(c, first + i, per[i]);
    }
    free(per);
    free(areas);
    free(parts);
}

static const char *const guzhen_villages[] = {"古镇社区", "冈东社区", "海洲村", "曹一村", "曹二村",
                                              "曹三村",   "古一村",   "古二村", "古三村", "古四村",
                                              "六坊村",   "七坊村",   "冈南村"};

/* Half the side of the box around (lon, lat) that cuts area_m2 out of city. */
static GEOSGeometry *cut_town(GEOSContextHandle_t h, const GEOSGeometry *city, double lon,
                              double lat, double area)
{
    double lo = 0.005, hi = 0.2, kx = 1.0 / cos(lat * M_PI / 180.0);
    GEOSGeometry *best = NULL;

    for (int i = 0; i < 60; i++) {
        double half = (lo + hi) / 2, a;
        GEOSGeometry *g = polygonal(
            h, GEOSClipByRect_r(h, city, lon - half * kx, lat - half, lon + half * kx, lat + half));

        a = g ? area_m2(h, g) : 0;
        if (best) {
            GEOSGeom_destroy_r(h, best);
        }
        best = g;
        if (fabs(a - area) < area * 1e-4) {
            break;
        }
        if (a < area) {
            lo = half;
        } else {
            hi = half;
        }
    }
    return best;
}

static int make_zhongshan(struct city *c, struct cg_error *err)
{
    GEOSGeometry *city = outline(c->s.h, cg_demo_zhongshan_outline), *town;

    if (!city) {
        return cg_error_set(err, CG_EINTERNAL, "cannot read the embedded outline of Zhongshan");
    }
    town = cut_town(c->s.h, city, 113.19, 22.61, 48e6);
    if (!town) {
        GEOSGeom_destroy_r(c->s.h, city);
        return cg_error_set(err, CG_EINTERNAL, "cannot cut Guzhen out of Zhongshan's outline");
    }
    feature(c, CG_GRID_CITY, "442000", "中山市", city);
    feature(c, CG_GRID_TOWN, "442000105", "古镇镇", town);
    c->st.towns = 1;
    c->st.town_area_m2 = c->s.f[1].area_m2;
    make_villages(c, 1, guzhen_villages, CG_ARRAY_LEN(guzhen_villages), 2, 68);
    c->st.workers = 958;
    return 0;
}

/* Two syllables a village name is made of, after the short name of its town. */
static const char *const syll_a[] = {"东", "西", "南", "北", "新", "上", "下", "大", "小", "塘",
                                     "岭", "岗", "沙", "湖", "田", "桥", "龙", "凤", "石", "金"};
static const char *const syll_b[] = {"头", "边", "涌", "洲", "山", "围", "坑", "美", "安", "和",
                                     "兴", "隆", "福", "华", "丰", "平", "乐", "朗", "岸", "湾"};

/* The town's name without 镇 or 街道: 石碣镇 -> 石碣. */
static void short_name(const char *name, char *out, size_t size)
{
    size_t n = strlen(name);

    if (n > 6 && !strcmp(name + n - 6, "街道")) {
        n -= 6;
    } else if (n > 3 && !strcmp(name + n - 3, "镇")) {
        n -= 3;
    }
    snprintf(out, size, "%.*s", (int)n, name);
}

static int make_dongguan(struct city *c, struct cg_error *err)
{
    GEOSGeometry *city = outline(c->s.h, cg_demo_dongguan_outline);
    char *csv = cg_strdup(cg_demo_towns_csv), *save = NULL, *line;
    char codes[64][10], names[64][64];
    GEOSGeometry *parts[64];
    double areas[64] = {0};
    size_t nt = 0, villages[64], grids[64], n, first;

    if (!city) {
        free(csv);
        return cg_error_set(err, CG_EINTERNAL, "cannot read the embedded outline of Dongguan");
    }
    for (line = strtok_r(csv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *q1 = strchr(line, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;

        if (strncmp(line, "441900", 6) || !q2 || nt == 64) {
            continue;
        }
        snprintf(codes[nt], sizeof(codes[nt]), "%.9s", line);
        snprintf(names[nt], sizeof(names[nt]), "%.*s", (int)(q2 - q1 - 1), q1 + 1);
        nt++;
    }
    free(csv);
    feature(c, CG_GRID_CITY, "441900", "东莞市", city);
    n = split(c->s.h, c->s.f[0].g, nt, &c->rng, parts);
    order_parts(c, parts, n);
    for (size_t i = 0; i < n; i++) {
        areas[i] = area_m2(c->s.h, parts[i]);
        c->st.town_area_m2 += areas[i];
    }
    share(590, areas, n, 3, villages);
    share(2894, areas, n, 20, grids);
    first = c->s.n;
    for (size_t i = 0; i < n; i++) {
        feature(c, CG_GRID_TOWN, codes[i], names[i], parts[i]);
        c->st.towns++;
    }
    for (size_t i = 0; i < n; i++) {
        char shortn[64], (*vn)[80] = cg_calloc(villages[i], sizeof(*vn));
        const char **vp = cg_calloc(villages[i], sizeof(*vp));
        size_t ncomm = villages[i] * 2 / 5;

        short_name(names[i], shortn, sizeof(shortn));
        for (size_t k = 0; k < villages[i]; k++) {
            snprintf(vn[k], sizeof(vn[k]), "%s%s%s%s", shortn, syll_a[k % 20],
                     syll_b[(k / 20 + k) % 20], k < ncomm ? "社区" : "村");
            vp[k] = vn[k];
        }
        make_villages(c, first + i, vp, villages[i], ncomm, grids[i]);
        free(vp);
        free(vn);
    }
    c->st.workers = 9889;
    return 0;
}

static json_t *to_json(struct city *c)
{
    json_t *fc = json_pack("{s:s, s:[]}", "type", "FeatureCollection", "features");
    json_t *list = json_object_get(fc, "features");

    for (size_t i = 0; i < c->s.n; i++) {
        struct cg_grid_feature *f = &c->s.f[i];
        char *gtext = cg_grid__write_geometry(c->s.h, f->g);
        json_t *props = json_pack("{s:s, s:s, s:s}", "level", cg_grid_level_name(f->level), "code",
                                  f->code, "name", f->name);

        CG_ASSERT(gtext != NULL);
        if (f->level == CG_GRID_GRID) {
            json_object_set_new(props, "kind", json_string(f->kind));
            json_object_set_new(props, "households", json_integer(f->households));
            json_object_set_new(props, "population", json_integer(f->population));
        }
        json_array_append_new(list, json_pack("{s:s, s:o, s:o}", "type", "Feature", "properties",
                                              props, "geometry", json_loads(gtext, 0, NULL)));
        free(gtext);
    }
    return fc;
}

int cg_grid_demo_collection(const char *city, uint64_t seed, int seq_width, json_t **out,
                            struct cg_grid_demo_stats *stats, struct cg_error *err)
{
    struct city c = {.rng = seed, .seq_width = seq_width};
    int rc;

    *out = NULL;
    memset(stats, 0, sizeof(*stats));
    if (seq_width < CG_GRID_SEQ_WIDTH_MIN || seq_width > CG_GRID_SEQ_WIDTH_MAX) {
        return cg_error_set(err, CG_EINVAL, "the grid sequence width must be %d to %d",
                            CG_GRID_SEQ_WIDTH_MIN, CG_GRID_SEQ_WIDTH_MAX);
    }
    if (strcmp(city, "zhongshan") && strcmp(city, "dongguan")) {
        return cg_error_set(err, CG_EINVAL, "no demo city '%.40s': zhongshan or dongguan", city);
    }
    cg_grid__set_init(&c.s);
    rc = !strcmp(city, "zhongshan") ? make_zhongshan(&c, err) : make_dongguan(&c, err);
    if (!rc) {
        *out = to_json(&c);
        *stats = c.st;
    }
    cg_grid__set_release(&c.s);
    return rc;
}

/* ---- staff ------------------------------------------------------------------------------ */

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
                                       "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高",
                                       "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹"};
static const char *const given[] = {"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋",
                                    "勇", "艳", "杰", "娟", "涛", "明", "超", "秀", "霞", "平",
                                    "刚", "桂", "英", "华", "玉", "兰", "红", "梅", "建", "国",
                                    "志", "文", "斌", "辉", "鹏", "宇", "浩", "然", "欣", "怡"};

static void person(uint64_t *rng, struct cg_pii_keys *keys, struct cg_grid__staff_row *r,
                   const char *employment)
{
    char phone[16];
    struct cg_error e = CG_ERROR_INIT;

    if (pick(rng, 3)) {
        snprintf(r->name, sizeof(r->name), "%s%s%s", surnames[pick(rng, 30)], given[pick(rng, 40)],
                 given[pick(rng, 40)]);
    } else {
        snprintf(r->name, sizeof(r->name), "%s%s", surnames[pick(rng, 30)], given[pick(rng, 40)]);
    }
    snprintf(phone, sizeof(phone), "1%zu%09" PRIu64, 3 + pick(rng, 7), rnd(rng) % 1000000000u);
    CG_ASSERT(cg_pii_encrypt(keys, "phone", phone, strlen(phone), &r->phone_enc, &e) == 0);
    cg_pii_blind_index(keys, "phone", phone, r->phone_idx);
    cg_pii_mask_phone(phone, r->phone_mask, sizeof(r->phone_mask));
    r->employment = employment;
}

/*
 * The roster: workers shared among the grids (at least three each), the first
 * of each grid its leader, about one in five full-time; one guiding officer
 * (指导员) per village for all its grids.
 */
static int load_staff(struct cg_db *db, struct cg_pii_keys *keys, struct city *c, uint64_t seed,
                      struct cg_grid_demo_stats *st, struct cg_error *err)
{
    size_t ngrids = 0, nvill = 0, per_min, extra, nrows = 0, nas = 0;
    struct cg_grid_feature **grids, **vills;
    struct cg_grid__staff_row *rows;
    struct cg_grid__assign_row *as;
    size_t *count;
    uint64_t rng = seed ^ 0x5eed5eedull;
    int rc;

    for (size_t i = 0; i < c->s.n; i++) {
        ngrids += c->s.f[i].level == CG_GRID_GRID;
        nvill += c->s.f[i].level == CG_GRID_VILLAGE;
    }
    grids = cg_calloc(ngrids + 1, sizeof(*grids));
    vills = cg_calloc(nvill + 1, sizeof(*vills));
    ngrids = nvill = 0;
    for (size_t i = 0; i < c->s.n; i++) {
        if (c->s.f[i].level == CG_GRID_GRID) {
            grids[ngrids++] = &c->s.f[i];
        } else if (c->s.f[i].level == CG_GRID_VILLAGE) {
            vills[nvill++] = &c->s.f[i];
        }
    }
    per_min = st->workers / ngrids;
    extra = st->workers - per_min * ngrids;
    count = cg_calloc(ngrids, sizeof(*count));
    for (size_t i = 0; i < ngrids; i++) {
        count[i] = per_min;
    }
    while (extra) {
        size_t g = pick(&rng, ngrids);

        if (count[g] == per_min) {
            count[g]++;
            extra--;
        }
    }
    rows = cg_calloc(st->workers + nvill, sizeof(*rows));
    as = cg_calloc(st->workers * 2 + ngrids + 1, sizeof(*as));
    for (size_t g = 0; g < ngrids; g++) {
        for (size_t k = 0; k < count[g]; k++) {
            person(&rng, keys, &rows[nrows],
                   k == 0 || pick(&rng, 6) == 0 ? "full_time" : "part_time");
            as[nas++] = (struct cg_grid__assign_row){nrows, grids[g]->code, "worker"};
            if (k == 0) {
                as[nas++] = (struct cg_grid__assign_row){nrows, grids[g]->code, "leader"};
            }
            nrows++;
        }
    }
    for (size_t v = 0; v < nvill; v++) {
        person(&rng, keys, &rows[nrows], "full_time");
        for (size_t g = 0; g < ngrids; g++) {
            if (!strncmp(grids[g]->code, vills[v]->code, 12)) {
                as[nas++] = (struct cg_grid__assign_row){nrows, grids[g]->code, "guide"};
            }
        }
        nrows++;
        st->guides++;
    }
    rc = cg_grid__staff_bulk(db, rows, nrows, as, nas, err);
    for (size_t i = 0; i < nrows; i++) {
        free(rows[i].phone_enc);
    }
    free(as);
    free(rows);
    free(count);
    free(vills);
    free(grids);
    return rc;
}

int cg_grid_demo_load(struct cg_db *db, struct cg_pii_keys *keys, const char *city, uint64_t seed,
                      int seq_width, struct cg_grid_demo_stats *out, struct cg_error *err)
{
    struct cg_grid_import_opts o = {.seq_width = seq_width};
    struct cg_grid_plan *plan = NULL;
    json_t *fc = NULL, *result = NULL;
    char *text;
    int rc = cg_grid_demo_collection(city, seed, seq_width, &fc, out, err);
    struct city c = {0};

    if (rc) {
        return rc;
    }
    text = json_dumps(fc, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(fc);
    rc = cg_grid_plan_new(db, NULL, text, strlen(text), &o, &plan, err);
    if (!rc && cg_grid_plan_errors(plan)) {
        json_t *rep = cg_grid_plan_report(plan);
        json_t *first = json_array_get(json_object_get(rep, "problems"), 0);

        rc = cg_error_set(err, CG_EINTERNAL, "the demo city does not pass its own checks: %s: %s",
                          json_string_value(json_object_get(first, "kind")),
                          json_string_value(json_object_get(first, "message")));
        json_decref(rep);
    }
    if (!rc && cg_grid__plan_has_stored(plan)) {
        rc =
            cg_error_set(err, CG_ECONFLICT,
                         "the %s demo is loaded already (its divisions are in the database)", city);
    }
    rc = rc ? rc : cg_grid_plan_apply(db, plan, NULL, "demo", false, &result, err);
    json_decref(result);
    free(text);
    if (!rc) {
        c.s = *cg_grid__plan_set(plan);
        rc = load_staff(db, keys, &c, seed, out, err);
    }
    cg_grid_plan_free(plan);
    return rc;
}
