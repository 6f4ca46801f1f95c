/*
 * index.c: the point index (index.h).
 *
 * The cover is a regular lattice of cells over the extent of the territorial
 * grids, about 256 cells per grid. It is classified once, at build time, by
 * a quadtree descent with GEOS: a block of cells that no grid intersects is
 * empty; a block that lies in the interior of one grid (prepared
 * ContainsProperly) is that grid's; any other block is split, down to single
 * cells, which keep the list of grids that intersect them. A lookup reads
 * one cell; only on a boundary cell does it run prepared point tests, and
 * then on one to three grids instead of the whole STRtree candidate set.
 *
 * Prepared geometries build their point locator lazily; it is warmed here,
 * in the building thread, so that concurrent lookups only ever read it.
 * Each lookup thread has its own GEOS context (pthread key).
 */
#include "base/cg.h"
#include "base/mem.h"
#include "domain/grid/grid_int.h"
#include "domain/grid/index.h"

#include <math.h>
#include <pthread.h>

#define CELLS_PER_GRID 1024
#define MAX_CELLS (4u << 20)
#define CELL_EMPTY (-1)
/* Cell values <= CELL_LIST encode a candidate list: -(CELL_LIST_BASE + k). */
#define CELL_LIST_BASE 2

struct slot {
    char *code, *name, *kind, *sector_type;
    char *community_code, *community_name, *town_code, *town_name;
    GEOSGeometry *g;
    const GEOSPreparedGeometry *pg;
    double bbox[4];
};

struct cg_grid_index {
    GEOSContextHandle_t h; /* the building context; owns the geometries */
    struct slot *s;        /* territorial grids [0, n), then sector grids [n, n + nsec) */
    size_t n, nsec, cap;
    GEOSSTRtree *tree, *sector_tree;
    double bbox[4];
    /* the cover */
    double x0, y0, cw, ch;
    int nx, ny;
    int32_t *cell;
    uint32_t *list_off; /* list k is list[list_off[k] .. list_off[k + 1]) */
    int32_t *list;
    size_t nlists, off_cap, list_len, list_cap, boundary_cells;
    /* held by the locator and its readers */
    int refs;
};

/* ---- per-thread GEOS context ------------------------------------------------------------ */

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void ctx_free(void *h)
{
    GEOS_finish_r(h);
}

static void ctx_key_make(void)
{
    CG_ASSERT(pthread_key_create(&ctx_key, ctx_free) == 0);
}

static GEOSContextHandle_t thread_ctx(void)
{
    GEOSContextHandle_t h;

    pthread_once(&ctx_once, ctx_key_make);
    h = pthread_getspecific(ctx_key);
    if (!h) {
        h = GEOS_init_r();
        CG_ASSERT(h != NULL);
        pthread_setspecific(ctx_key, h);
    }
    return h;
}

/* ---- queries ---------------------------------------------------------------------------- */

static bool covers(GEOSContextHandle_t h, const struct slot *sl, double lon, double lat)
{
    GEOSGeometry *pt;
    char r;

    if (lon < sl->bbox[0] || lon > sl->bbox[2] || lat < sl->bbox[1] || lat > sl->bbox[3]) {
        return false;
    }
    pt = GEOSGeom_createPointFromXY_r(h, lon, lat);
    r = pt ? GEOSPreparedIntersects_r(h, sl->pg, pt) : 0;
    if (pt) {
        GEOSGeom_destroy_r(h, pt);
    }
    return r == 1;
}

int cg_grid_index_locate(const struct cg_grid_index *ix, double lon, double lat)
{
    int cx, cy;
    int32_t v;

    if (!ix->cell ||
        !(lon >= ix->bbox[0] && lon <= ix->bbox[2] && lat >= ix->bbox[1] && lat <= ix->bbox[3])) {
        return -1; /* also NaN */
    }
    cx = (int)((lon - ix->x0) / ix->cw);
    cy = (int)((lat - ix->y0) / ix->ch);
    cx = cx >= ix->nx ? ix->nx - 1 : cx;
    cy = cy >= ix->ny ? ix->ny - 1 : cy;
    v = ix->cell[(size_t)cy * (size_t)ix->nx + (size_t)cx];
    if (v >= 0 || v == CELL_EMPTY) {
        return v;
    }
    {
        size_t k = (size_t)(-v - CELL_LIST_BASE);
        GEOSContextHandle_t h = thread_ctx();

        for (uint32_t i = ix->list_off[k]; i < ix->list_off[k + 1]; i++) {
            if (covers(h, &ix->s[ix->list[i]], lon, lat)) {
                return ix->list[i];
            }
        }
    }
    return -1;
}

struct hits {
    const struct cg_grid_index *ix;
    GEOSContextHandle_t h;
    double lon, lat;
    int best;
    int *out;
    size_t n, max;
};

static void hit_lowest(void *item, void *userdata)
{
    struct hits *q = userdata;
    int slot = (int)((struct slot *)item - q->ix->s);

    if ((q->best < 0 || slot < q->best) && covers(q->h, item, q->lon, q->lat)) {
        q->best = slot;
    }
}

int cg_grid_index_locate_strtree(const struct cg_grid_index *ix, double lon, double lat)
{
    struct hits q = {ix, thread_ctx(), lon, lat, -1, NULL, 0, 0};
    GEOSGeometry *pt;

    if (!ix->tree || lon != lon || lat != lat) {
        return -1;
    }
    pt = GEOSGeom_createPointFromXY_r(q.h, lon, lat);
    if (pt) {
        GEOSSTRtree_query_r(q.h, ix->tree, pt, hit_lowest, &q);
        GEOSGeom_destroy_r(q.h, pt);
    }
    return q.best;
}

static int by_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static void hit_all(void *item, void *userdata)
{
    struct hits *q = userdata;

    if (covers(q->h, item, q->lon, q->lat)) {
        if (q->n < q->max) {
            q->out[q->n] = (int)((struct slot *)item - q->ix->s);
        }
        q->n++;
    }
}

size_t cg_grid_index_sectors(const struct cg_grid_index *ix, double lon, double lat, int *out,
                             size_t max)
{
    struct hits q = {ix, thread_ctx(), lon, lat, -1, out, 0, max};
    GEOSGeometry *pt;

    if (!ix->sector_tree || lon != lon || lat != lat) {
        return 0;
    }
    pt = GEOSGeom_createPointFromXY_r(q.h, lon, lat);
    if (pt) {
        GEOSSTRtree_query_r(q.h, ix->sector_tree, pt, hit_all, &q);
        GEOSGeom_destroy_r(q.h, pt);
    }
    qsort(out, q.n < max ? q.n : max, sizeof(*out), by_int);
    return q.n;
}

bool cg_grid_index_on_border(const struct cg_grid_index *ix, int slot, double lon, double lat)
{
    GEOSContextHandle_t h = thread_ctx();
    GEOSGeometry *pt;
    char inside;

    if (slot < 0 || (size_t)slot >= ix->n + ix->nsec) {
        return false;
    }
    pt = GEOSGeom_createPointFromXY_r(h, lon, lat);
    inside = pt ? GEOSPreparedContainsProperly_r(h, ix->s[slot].pg, pt) : 1;
    if (pt) {
        GEOSGeom_destroy_r(h, pt);
    }
    return inside == 0 && covers(h, &ix->s[slot], lon, lat);
}

size_t cg_grid_index_count(const struct cg_grid_index *ix)
{
    return ix->n;
}

void cg_grid_index_cover_stats(const struct cg_grid_index *ix, size_t *out_cells,
                               size_t *out_boundary)
{
    *out_cells = (size_t)ix->nx * (size_t)ix->ny;
    *out_boundary = ix->boundary_cells;
}

void cg_grid_index_bounds(const struct cg_grid_index *ix, double bbox[4])
{
    memcpy(bbox, ix->bbox, sizeof(ix->bbox));
}

const char *cg_grid_index_code(const struct cg_grid_index *ix, int slot)
{
    return slot >= 0 && (size_t)slot < ix->n + ix->nsec ? ix->s[slot].code : NULL;
}

void cg_grid_index_place(const struct cg_grid_index *ix, int slot, struct cg_grid_place *out)
{
    const struct slot *s = &ix->s[slot];

    CG_ASSERT(slot >= 0 && (size_t)slot < ix->n + ix->nsec);
    *out =
        (struct cg_grid_place){s->code,           s->name,           s->kind,      s->sector_type,
                               s->community_code, s->community_name, s->town_code, s->town_name};
}

/* ---- building --------------------------------------------------------------------------- */

struct builder {
    struct cg_grid_index *ix;
    /* sector rows are kept apart until the territorial ones are all in */
    struct slot *sec;
    size_t nsec, sec_cap;
};

static int add_slot(void *ctx, const struct cg_grid__index_row *r)
{
    struct builder *b = ctx;
    struct cg_grid_index *ix = b->ix;
    bool sector = !strcmp(r->kind, "sector");
    struct slot sl = {0};

    sl.g = cg_grid__read_geometry(ix->h, r->geometry);
    if (!sl.g) {
        return CG_EINTERNAL;
    }
    sl.pg = GEOSPrepare_r(ix->h, sl.g);
    if (!sl.pg) {
        GEOSGeom_destroy_r(ix->h, sl.g);
        return CG_EINTERNAL;
    }
    GEOSGeom_getXMin_r(ix->h, sl.g, &sl.bbox[0]);
    GEOSGeom_getYMin_r(ix->h, sl.g, &sl.bbox[1]);
    GEOSGeom_getXMax_r(ix->h, sl.g, &sl.bbox[2]);
    GEOSGeom_getYMax_r(ix->h, sl.g, &sl.bbox[3]);
    sl.code = cg_strdup(r->code);
    sl.name = cg_strdup(r->name);
    sl.kind = cg_strdup(r->kind);
    sl.sector_type = cg_strdup(r->sector_type);
    sl.community_code = cg_strdup(r->community_code);
    sl.community_name = cg_strdup(r->community_name);
    sl.town_code = cg_strdup(r->town_code);
    sl.town_name = cg_strdup(r->town_name);
    if (sector) {
        if (b->nsec == b->sec_cap) {
            b->sec_cap = b->sec_cap ? b->sec_cap * 2 : 16;
            b->sec = cg_realloc(b->sec, b->sec_cap * sizeof(*b->sec));
        }
        b->sec[b->nsec++] = sl;
        return 0;
    }
    if (ix->n == ix->cap) {
        ix->cap = ix->cap ? ix->cap * 2 : 256;
        ix->s = cg_realloc(ix->s, ix->cap * sizeof(*ix->s));
    }
    ix->s[ix->n++] = sl;
    return 0;
}

/* Makes the prepared geometry build its point locator now, in this thread. */
static void warm(GEOSContextHandle_t h, const struct slot *sl)
{
    GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, sl->bbox[0], sl->bbox[1]);

    if (pt) {
        (void)GEOSPreparedIntersects_r(h, sl->pg, pt);
        (void)GEOSPreparedContainsProperly_r(h, sl->pg, pt);
        GEOSGeom_destroy_r(h, pt);
    }
}

static void push_list(struct cg_grid_index *ix, const int32_t *c, size_t n, int32_t *cell)
{
    if (ix->list_len + n > ix->list_cap) {
        ix->list_cap = (ix->list_len + n) * 2;
        ix->list = cg_realloc(ix->list, ix->list_cap * sizeof(*ix->list));
    }
    if (ix->nlists + 2 > ix->off_cap) {
        ix->off_cap = ix->off_cap ? ix->off_cap * 2 : 1024;
        ix->list_off = cg_realloc(ix->list_off, ix->off_cap * sizeof(*ix->list_off));
        ix->list_off[0] = 0;
    }
    memcpy(ix->list + ix->list_len, c, n * sizeof(*c));
    ix->list_len += n;
    *cell = -(int32_t)(CELL_LIST_BASE + ix->nlists);
    ix->nlists++;
    ix->list_off[ix->nlists] = (uint32_t)ix->list_len;
    ix->boundary_cells++;
}

/* Classifies the block of cells [cx, cx+size) x [cy, cy+size) among candidates c[0..n). */
static void classify(struct cg_grid_index *ix, int cx, int cy, int size, const int32_t *c, size_t n)
{
    double x0 = ix->x0 + cx * ix->cw, y0 = ix->y0 + cy * ix->ch;
    double x1 = ix->x0 + (cx + size) * ix->cw, y1 = ix->y0 + (cy + size) * ix->ch;
    int32_t *keep = cg_malloc((n ? n : 1) * sizeof(*keep));
    size_t k = 0;
    GEOSGeometry *box;

    if (cx >= ix->nx || cy >= ix->ny) {
        free(keep);
        return;
    }
    box = GEOSGeom_createRectangle_r(ix->h, x0, y0, x1, y1);
    CG_ASSERT(box != NULL);
    for (size_t i = 0; i < n; i++) {
        const struct slot *sl = &ix->s[c[i]];

        if (sl->bbox[2] < x0 || sl->bbox[0] > x1 || sl->bbox[3] < y0 || sl->bbox[1] > y1) {
            continue;
        }
        if (GEOSPreparedIntersects_r(ix->h, sl->pg, box) == 1) {
            keep[k++] = c[i];
        }
    }
    if (k == 1 && GEOSPreparedContainsProperly_r(ix->h, ix->s[keep[0]].pg, box) == 1) {
        for (int y = cy; y < cy + size && y < ix->ny; y++) {
            for (int x = cx; x < cx + size && x < ix->nx; x++) {
                ix->cell[(size_t)y * (size_t)ix->nx + (size_t)x] = keep[0];
            }
        }
    } else if (k && size == 1) {
        push_list(ix, keep, k, &ix->cell[(size_t)cy * (size_t)ix->nx + (size_t)cx]);
    } else if (k) {
        int half = size / 2;

        classify(ix, cx, cy + half, half, keep, k); /* top row first: nothing depends on it */
        classify(ix, cx + half, cy + half, half, keep, k);
        classify(ix, cx, cy, half, keep, k);
        classify(ix, cx + half, cy, half, keep, k);
    }
    GEOSGeom_destroy_r(ix->h, box);
    free(keep);
}

static void build_cover(struct cg_grid_index *ix)
{
    double w = ix->bbox[2] - ix->bbox[0], hgt = ix->bbox[3] - ix->bbox[1];
    size_t target = ix->n * CELLS_PER_GRID;
    double side;
    int32_t *all;
    int size = 1;

    if (!ix->n || w <= 0 || hgt <= 0) {
        return;
    }
    target = target > MAX_CELLS ? MAX_CELLS : target;
    side = sqrt(w * hgt / (double)target);
    ix->nx = (int)ceil(w / side);
    ix->ny = (int)ceil(hgt / side);
    ix->nx = ix->nx < 1 ? 1 : ix->nx;
    ix->ny = ix->ny < 1 ? 1 : ix->ny;
    ix->cw = w / ix->nx;
    ix->ch = hgt / ix->ny;
    ix->x0 = ix->bbox[0];
    ix->y0 = ix->bbox[1];
    ix->cell = cg_malloc((size_t)ix->nx * (size_t)ix->ny * sizeof(*ix->cell));
    for (size_t i = 0; i < (size_t)ix->nx * (size_t)ix->ny; i++) {
        ix->cell[i] = CELL_EMPTY;
    }
    while (size < ix->nx || size < ix->ny) {
        size *= 2;
    }
    all = cg_malloc(ix->n * sizeof(*all));
    for (size_t i = 0; i < ix->n; i++) {
        all[i] = (int32_t)i;
    }
    classify(ix, 0, 0, size, all, ix->n);
    free(all);
}

int cg_grid_index_build(struct cg_db *db, const char *at, struct cg_grid_index **out,
                        struct cg_error *err)
{
    struct cg_grid_index *ix = cg_calloc(1, sizeof(*ix));
    struct builder b = {.ix = ix};
    int rc;

    *out = NULL;
    ix->h = GEOS_init_r();
    rc = cg_grid__index_rows(db, at, add_slot, &b, err);
    /* Sector grids go after the territorial ones, so slots of both stay in code order. */
    if (b.nsec) {
        ix->s = cg_realloc(ix->s, (ix->n + b.nsec) * sizeof(*ix->s));
        memcpy(ix->s + ix->n, b.sec, b.nsec * sizeof(*b.sec));
        ix->nsec = b.nsec;
    }
    free(b.sec);
    if (rc) {
        cg_grid_index_free(ix);
        return rc;
    }
    ix->tree = GEOSSTRtree_create_r(ix->h, 10);
    ix->sector_tree = GEOSSTRtree_create_r(ix->h, 10);
    for (size_t i = 0; i < ix->n + ix->nsec; i++) {
        struct slot *sl = &ix->s[i];

        GEOSSTRtree_insert_r(ix->h, i < ix->n ? ix->tree : ix->sector_tree, sl->g, sl);
        if (i < ix->n) {
            ix->bbox[0] = i ? fmin(ix->bbox[0], sl->bbox[0]) : sl->bbox[0];
            ix->bbox[1] = i ? fmin(ix->bbox[1], sl->bbox[1]) : sl->bbox[1];
            ix->bbox[2] = i ? fmax(ix->bbox[2], sl->bbox[2]) : sl->bbox[2];
            ix->bbox[3] = i ? fmax(ix->bbox[3], sl->bbox[3]) : sl->bbox[3];
        }
    }
    build_cover(ix);
    for (size_t i = 0; i < ix->n + ix->nsec; i++) {
        warm(ix->h, &ix->s[i]);
    }
    /* Querying builds an STRtree; do it here rather than in a reader's first lookup. */
    (void)cg_grid_index_locate_strtree(ix, ix->bbox[0], ix->bbox[1]);
    {
        int dummy;

        (void)cg_grid_index_sectors(ix, ix->bbox[0], ix->bbox[1], &dummy, 1);
    }
    *out = ix;
    return 0;
}

void cg_grid_index_free(struct cg_grid_index *ix)
{
    if (!ix) {
        return;
    }
    if (ix->tree) {
        GEOSSTRtree_destroy_r(ix->h, ix->tree);
    }
    if (ix->sector_tree) {
        GEOSSTRtree_destroy_r(ix->h, ix->sector_tree);
    }
    for (size_t i = 0; i < ix->n + ix->nsec; i++) {
        struct slot *sl = &ix->s[i];

        GEOSPreparedGeom_destroy_r(ix->h, sl->pg);
        GEOSGeom_destroy_r(ix->h, sl->g);
        free(sl->code);
        free(sl->name);
        free(sl->kind);
        free(sl->sector_type);
        free(sl->community_code);
        free(sl->community_name);
        free(sl->town_code);
        free(sl->town_name);
    }
    free(ix->s);
    free(ix->cell);
    free(ix->list_off);
    free(ix->list);
    GEOS_finish_r(ix->h);
    free(ix);
}

/* ---- the locator ------------------------------------------------------------------------ */

struct cg_grid_locator {
    struct cg_db *db;
    pthread_mutex_t mu;       /* guards cur and every snapshot's refs */
    pthread_mutex_t build_mu; /* one rebuild at a time */
    struct cg_grid_index *cur;
};

int cg_grid_locator_new(struct cg_db *db, struct cg_grid_locator **out, struct cg_error *err)
{
    struct cg_grid_locator *loc = cg_calloc(1, sizeof(*loc));
    int rc;

    loc->db = db;
    pthread_mutex_init(&loc->mu, NULL);
    pthread_mutex_init(&loc->build_mu, NULL);
    rc = cg_grid_index_build(db, NULL, &loc->cur, err);
    if (rc) {
        cg_grid_locator_free(loc);
        *out = NULL;
        return rc;
    }
    loc->cur->refs = 1; /* the locator's own */
    *out = loc;
    return 0;
}

void cg_grid_locator_free(struct cg_grid_locator *loc)
{
    if (!loc) {
        return;
    }
    cg_grid_index_free(loc->cur);
    pthread_mutex_destroy(&loc->mu);
    pthread_mutex_destroy(&loc->build_mu);
    free(loc);
}

struct cg_grid_index *cg_grid_locator_acquire(struct cg_grid_locator *loc)
{
    struct cg_grid_index *ix;

    pthread_mutex_lock(&loc->mu);
    ix = loc->cur;
    ix->refs++;
    pthread_mutex_unlock(&loc->mu);
    return ix;
}

void cg_grid_locator_release(struct cg_grid_locator *loc, struct cg_grid_index *ix)
{
    bool last;

    pthread_mutex_lock(&loc->mu);
    last = --ix->refs == 0;
    pthread_mutex_unlock(&loc->mu);
    if (last) {
        cg_grid_index_free(ix);
    }
}

int cg_grid_locator_rebuild(struct cg_grid_locator *loc, struct cg_error *err)
{
    struct cg_grid_index *fresh = NULL, *old;
    int rc;

    pthread_mutex_lock(&loc->build_mu);
    rc = cg_grid_index_build(loc->db, NULL, &fresh, err);
    if (!rc) {
        fresh->refs = 1;
        pthread_mutex_lock(&loc->mu);
        old = loc->cur;
        loc->cur = fresh;
        pthread_mutex_unlock(&loc->mu);
        cg_grid_locator_release(loc, old);
    }
    pthread_mutex_unlock(&loc->build_mu);
    return rc;
}
