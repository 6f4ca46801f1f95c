/*
 * metrics.c: request counters and latency histograms per route, kept in
 * relaxed atomics so observing a request never takes a lock. Rendered in the
 * Prometheus text format by GET /metrics.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/str.h"
#include "http/http_int.h"

#include <stdatomic.h>

/* Status codes counted individually; anything else lands in "other". */
static const int statuses[] = {200, 201, 204, 206, 304, 400, 401, 403, 404,
                               405, 409, 413, 414, 415, 429, 431, 500, 503};
#define N_STATUS (CG_ARRAY_LEN(statuses) + 1)

/* Latency bucket upper bounds in seconds (Prometheus "le"). */
static const double buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,     0.25,   0.5,   1,      2.5,   5};
#define N_BUCKET (CG_ARRAY_LEN(buckets) + 1)

struct slot {
    _Atomic uint64_t by_status[N_STATUS];
    _Atomic uint64_t hist[N_BUCKET]; /* non-cumulative counts; +Inf last */
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t db_hist[N_BUCKET];
    _Atomic uint64_t db_sum_ns;
};

struct cg_http_metrics {
    size_t n_routes;
    struct slot *slots; /* n_routes + 2: the routes, then static, then unmatched */
};

struct cg_http_metrics *cg_http__metrics_new(size_t n_routes)
{
    struct cg_http_metrics *m = cg_calloc(1, sizeof(*m));

    m->n_routes = n_routes;
    m->slots = cg_calloc(n_routes + 2, sizeof(struct slot));
    return m;
}

void cg_http__metrics_free(struct cg_http_metrics *m)
{
    if (m) {
        free(m->slots);
        free(m);
    }
}

static size_t bucket_of(int64_t ns)
{
    double s = (double)ns / 1e9;
    size_t i = 0;

    while (i < CG_ARRAY_LEN(buckets) && s > buckets[i]) {
        i++;
    }
    return i;
}

static struct slot *slot_of(struct cg_http_metrics *m, int route_idx)
{
    if (route_idx >= 0 && (size_t)route_idx < m->n_routes) {
        return &m->slots[route_idx];
    }
    return &m->slots[m->n_routes + (route_idx == CG_HTTP_ROUTE_STATIC ? 0 : 1)];
}

void cg_http__metrics_observe(struct cg_http_metrics *m, int route_idx, int status, int64_t ns,
                              uint64_t db_ns)
{
    struct slot *s = slot_of(m, route_idx);
    size_t si = CG_ARRAY_LEN(statuses);

    for (size_t i = 0; i < CG_ARRAY_LEN(statuses); i++) {
        if (statuses[i] == status) {
            si = i;
            break;
        }
    }
    if (ns < 0) {
        ns = 0;
    }
    atomic_fetch_add_explicit(&s->by_status[si], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->hist[bucket_of(ns)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_ns, (uint64_t)ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->db_hist[bucket_of((int64_t)db_ns)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->db_sum_ns, db_ns, memory_order_relaxed);
}

static void render_hist(struct cg_str *out, const char *name, const char *labels,
                        _Atomic uint64_t *hist, _Atomic uint64_t *sum_ns)
{
    uint64_t cum = 0;

    for (size_t b = 0; b < N_BUCKET; b++) {
        cum += atomic_load_explicit(&hist[b], memory_order_relaxed);
        if (b < CG_ARRAY_LEN(buckets)) {
            cg_str_addf(out, "%s_bucket{%s,le=\"%g\"} %" PRIu64 "\n", name, labels, buckets[b],
                        cum);
        } else {
            cg_str_addf(out, "%s_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n", name, labels, cum);
        }
    }
    cg_str_addf(out, "%s_sum{%s} %.6f\n", name, labels,
                (double)atomic_load_explicit(sum_ns, memory_order_relaxed) / 1e9);
    cg_str_addf(out, "%s_count{%s} %" PRIu64 "\n", name, labels, cum);
}

static void route_labels(const struct cg_route *routes, size_t n, size_t i, char *buf, size_t size)
{
    if (i < n) {
        snprintf(buf, size, "method=\"%s\",route=\"%s\"", routes[i].method, routes[i].pattern);
    } else {
        snprintf(buf, size, "method=\"\",route=\"%s\"", i == n ? "static" : "unmatched");
    }
}

static bool slot_used(struct slot *s)
{
    for (size_t b = 0; b < N_BUCKET; b++) {
        if (atomic_load_explicit(&s->hist[b], memory_order_relaxed)) {
            return true;
        }
    }
    return false;
}

void cg_http__metrics_render(struct cg_http_metrics *m, const struct cg_route *routes,
                             struct cg_str *out)
{
    char labels[512];
    size_t total = m->n_routes + 2;

    cg_str_adds(out, "# HELP civgrid_http_requests_total HTTP requests by route and status.\n"
                     "# TYPE civgrid_http_requests_total counter\n");
    for (size_t i = 0; i < total; i++) {
        route_labels(routes, m->n_routes, i, labels, sizeof(labels));
        for (size_t si = 0; si < N_STATUS; si++) {
            uint64_t v = atomic_load_explicit(&m->slots[i].by_status[si], memory_order_relaxed);

            if (!v) {
                continue;
            }
            if (si < CG_ARRAY_LEN(statuses)) {
                cg_str_addf(out, "civgrid_http_requests_total{%s,status=\"%d\"} %" PRIu64 "\n",
                            labels, statuses[si], v);
            } else {
                cg_str_addf(out, "civgrid_http_requests_total{%s,status=\"other\"} %" PRIu64 "\n",
                            labels, v);
            }
        }
    }
    cg_str_adds(out, "# HELP civgrid_http_request_duration_seconds Time from request line to "
                     "response sent.\n"
                     "# TYPE civgrid_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < total; i++) {
        if (slot_used(&m->slots[i])) {
            route_labels(routes, m->n_routes, i, labels, sizeof(labels));
            render_hist(out, "civgrid_http_request_duration_seconds", labels, m->slots[i].hist,
                        &m->slots[i].sum_ns);
        }
    }
    cg_str_adds(out, "# HELP civgrid_http_request_db_seconds Database time spent per request.\n"
                     "# TYPE civgrid_http_request_db_seconds histogram\n");
    for (size_t i = 0; i < total; i++) {
        if (slot_used(&m->slots[i])) {
            route_labels(routes, m->n_routes, i, labels, sizeof(labels));
            render_hist(out, "civgrid_http_request_db_seconds", labels, m->slots[i].db_hist,
                        &m->slots[i].db_sum_ns);
        }
    }
}
