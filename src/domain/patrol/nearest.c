/*
 * nearest.c: the nearest-worker index (patrol.h): an immutable snapshot of
 * positions bucketed into a uniform cell grid over their bounding box (about
 * two positions per cell, cells square in metres at the mean latitude), and a
 * ring search around the query's cell that stops as soon as no unvisited cell
 * can hold anything nearer than the k-th best found.
 *
 * Ranking uses d^2 = (cos(lat_q) * dlon)^2 + dlat^2, the equirectangular
 * projection at the query's latitude (exact to a few parts per million at
 * city distances); the distance returned is the haversine one.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "domain/patrol/patrol.h"

#include <math.h>

#define DEG2RAD (3.14159265358979323846 / 180.0)
#define EARTH_R 6371008.8

/* One position as the search reads it: 32 bytes, cache-friendly. */
struct slot {
    double lon, lat;
    int64_t t_ms;
    uint32_t pos; /* index into ix->pos */
    uint32_t pad;
};

struct cg_patrol_index {
    struct cg_worker_pos *pos; /* owned copies */
    size_t n;
    struct slot *slots; /* sorted by cell */
    uint32_t *start;    /* nx * ny + 1 offsets into slots */
    int nx, ny;
    double x0, y0, cw, ch; /* origin and cell size, degrees */
};

double cg_patrol_haversine(double lon1, double lat1, double lon2, double lat2)
{
    double p1 = lat1 * DEG2RAD, p2 = lat2 * DEG2RAD;
    double dp = p2 - p1, dl = (lon2 - lon1) * DEG2RAD;
    double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

    return 2 * EARTH_R * asin(sqrt(a < 1 ? a : 1));
}

static int cell_of(double v, double v0, double size, int n)
{
    double c = floor((v - v0) / size);

    return c < 0 ? 0 : c >= n ? n - 1 : (int)c;
}

struct cg_patrol_index *cg_patrol_index_build(const struct cg_worker_pos *pos, size_t n)
{
    struct cg_patrol_index *ix = cg_calloc(1, sizeof(*ix));
    double minx = 0, miny = 0, maxx = 0, maxy = 0;
    uint32_t *fill;

    CG_ASSERT(n < UINT32_MAX);
    ix->n = n;
    ix->pos = cg_calloc(n ? n : 1, sizeof(*ix->pos));
    if (n) {
        memcpy(ix->pos, pos, n * sizeof(*pos));
    }
    for (size_t i = 0; i < n; i++) {
        if (!i || pos[i].lon < minx) {
            minx = pos[i].lon;
        }
        if (!i || pos[i].lon > maxx) {
            maxx = pos[i].lon;
        }
        if (!i || pos[i].lat < miny) {
            miny = pos[i].lat;
        }
        if (!i || pos[i].lat > maxy) {
            maxy = pos[i].lat;
        }
    }
    double kx = cos((miny + maxy) / 2 * DEG2RAD);
    double w = fmax((maxx - minx) * kx, 1e-6), h = fmax(maxy - miny, 1e-6);
    double cell = sqrt(w * h / fmax((double)n / 2.0, 1.0));
    double fx = ceil(w / cell), fy = ceil(h / cell);

    ix->nx = (int)fmin(fmax(fx, 1), 2048);
    ix->ny = (int)fmin(fmax(fy, 1), 2048);
    ix->x0 = minx;
    ix->y0 = miny;
    ix->cw = fmax(maxx - minx, 1e-6 / fmax(kx, 1e-3)) / ix->nx;
    ix->ch = h / ix->ny;

    size_t ncells = (size_t)ix->nx * (size_t)ix->ny;
    ix->start = cg_calloc(ncells + 1, sizeof(uint32_t));
    ix->slots = cg_calloc(n ? n : 1, sizeof(struct slot));
    fill = cg_calloc(ncells, sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)cell_of(pos[i].lat, ix->y0, ix->ch, ix->ny) * (size_t)ix->nx +
                   (size_t)cell_of(pos[i].lon, ix->x0, ix->cw, ix->nx);

        ix->start[c + 1]++;
    }
    for (size_t c = 0; c < ncells; c++) {
        ix->start[c + 1] += ix->start[c];
    }
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)cell_of(pos[i].lat, ix->y0, ix->ch, ix->ny) * (size_t)ix->nx +
                   (size_t)cell_of(pos[i].lon, ix->x0, ix->cw, ix->nx);
        struct slot *s = &ix->slots[ix->start[c] + fill[c]++];

        *s = (struct slot){pos[i].lon, pos[i].lat, pos[i].t_ms, (uint32_t)i, 0};
    }
    free(fill);
    return ix;
}

void cg_patrol_index_free(struct cg_patrol_index *ix)
{
    if (!ix) {
        return;
    }
    free(ix->pos);
    free(ix->slots);
    free(ix->start);
    free(ix);
}

size_t cg_patrol_index_count(const struct cg_patrol_index *ix)
{
    return ix ? ix->n : 0;
}

/* The k best so far, nearest first. */
struct best {
    double d2[CG_PATROL_NEAREST_MAX];
    uint32_t pos[CG_PATROL_NEAREST_MAX];
    size_t n, k;
};

static bool before(const struct cg_patrol_index *ix, double d2, uint32_t p, double bd2, uint32_t bp)
{
    return d2 < bd2 || (d2 == bd2 && ix->pos[p].account_id < ix->pos[bp].account_id);
}

static void offer(const struct cg_patrol_index *ix, struct best *b, double d2, uint32_t p)
{
    size_t i;

    if (b->n == b->k && !before(ix, d2, p, b->d2[b->n - 1], b->pos[b->n - 1])) {
        return;
    }
    i = b->n < b->k ? b->n++ : b->n - 1;
    while (i > 0 && before(ix, d2, p, b->d2[i - 1], b->pos[i - 1])) {
        b->d2[i] = b->d2[i - 1];
        b->pos[i] = b->pos[i - 1];
        i--;
    }
    b->d2[i] = d2;
    b->pos[i] = p;
}

struct query {
    double lon, lat, kx;
    int64_t min_t;
    const char *prefix;
    size_t plen;
};

static void scan_cell(const struct cg_patrol_index *ix, const struct query *q, struct best *b,
                      int cx, int cy)
{
    size_t c = (size_t)cy * (size_t)ix->nx + (size_t)cx;

    for (uint32_t i = ix->start[c]; i < ix->start[c + 1]; i++) {
        const struct slot *s = &ix->slots[i];
        double dx = (s->lon - q->lon) * q->kx, dy = s->lat - q->lat;

        if (s->t_ms < q->min_t) {
            continue;
        }
        if (q->plen && strncmp(ix->pos[s->pos].grid, q->prefix, q->plen)) {
            continue;
        }
        offer(ix, b, dx * dx + dy * dy, s->pos);
    }
}

static size_t finish(const struct cg_patrol_index *ix, const struct query *q, const struct best *b,
                     struct cg_patrol_hit *out)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct cg_worker_pos *p = &ix->pos[b->pos[i]];

        out[i].pos = p;
        out[i].index = b->pos[i];
        out[i].distance_m = cg_patrol_haversine(q->lon, q->lat, p->lon, p->lat);
    }
    return b->n;
}

static void query_init(struct query *q, double lon, double lat, int64_t min_t, const char *prefix)
{
    q->lon = lon;
    q->lat = lat;
    q->kx = cos(lat * DEG2RAD);
    q->min_t = min_t;
    q->prefix = prefix ? prefix : "";
    q->plen = strlen(q->prefix);
}

size_t cg_patrol_index_nearest(const struct cg_patrol_index *ix, double lon, double lat,
                               int64_t min_t_ms, const char *prefix, size_t k,
                               struct cg_patrol_hit *out)
{
    struct best b = {.k = k > CG_PATROL_NEAREST_MAX ? CG_PATROL_NEAREST_MAX : k};
    struct query q;

    if (!ix || !ix->n || !b.k) {
        return 0;
    }
    query_init(&q, lon, lat, min_t_ms, prefix);
    int cx = cell_of(lon, ix->x0, ix->cw, ix->nx), cy = cell_of(lat, ix->y0, ix->ch, ix->ny);
    for (int r = 0;; r++) {
        if (!r) {
            scan_cell(ix, &q, &b, cx, cy);
        } else {
            for (int x = cx - r; x <= cx + r; x++) {
                if (x < 0 || x >= ix->nx) {
                    continue;
                }
                if (cy - r >= 0) {
                    scan_cell(ix, &q, &b, x, cy - r);
                }
                if (cy + r < ix->ny) {
                    scan_cell(ix, &q, &b, x, cy + r);
                }
            }
            for (int y = cy - r + 1; y <= cy + r - 1; y++) {
                if (y < 0 || y >= ix->ny) {
                    continue;
                }
                if (cx - r >= 0) {
                    scan_cell(ix, &q, &b, cx - r, y);
                }
                if (cx + r < ix->nx) {
                    scan_cell(ix, &q, &b, cx + r, y);
                }
            }
        }
        /* The nearest any unvisited cell can be: beyond one side of the visited square. */
        double lb = INFINITY;
        if (cx + r + 1 < ix->nx) {
            lb = fmin(lb, fmax(0, ix->x0 + (cx + r + 1) * ix->cw - lon) * q.kx);
        }
        if (cx - r - 1 >= 0) {
            lb = fmin(lb, fmax(0, lon - (ix->x0 + (cx - r) * ix->cw)) * q.kx);
        }
        if (cy + r + 1 < ix->ny) {
            lb = fmin(lb, fmax(0, ix->y0 + (cy + r + 1) * ix->ch - lat));
        }
        if (cy - r - 1 >= 0) {
            lb = fmin(lb, fmax(0, lat - (ix->y0 + (cy - r) * ix->ch)));
        }
        if (isinf(lb) || (b.n == b.k && lb * lb > b.d2[b.n - 1])) {
            break;
        }
    }
    return finish(ix, &q, &b, out);
}

size_t cg_patrol_index_nearest_scan(const struct cg_patrol_index *ix, double lon, double lat,
                                    int64_t min_t_ms, const char *prefix, size_t k,
                                    struct cg_patrol_hit *out)
{
    struct best b = {.k = k > CG_PATROL_NEAREST_MAX ? CG_PATROL_NEAREST_MAX : k};
    struct query q;

    if (!ix || !ix->n || !b.k) {
        return 0;
    }
    query_init(&q, lon, lat, min_t_ms, prefix);
    for (int y = 0; y < ix->ny; y++) {
        for (int x = 0; x < ix->nx; x++) {
            scan_cell(ix, &q, &b, x, y);
        }
    }
    return finish(ix, &q, &b, out);
}
