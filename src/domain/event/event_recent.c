/*
 * event_recent.c: the events of the last window (30 days) in memory, for what every report
 * reads at intake: earlier events of its class around its place (the risk's repeats, and of
 * them the near-duplicates offered for merging) and the reporter's latest events (repeats by
 * the same person). Read from SQL, these were four statements of the report's seven and half
 * the CPU its worker thread spent (docs/EVENTS.md, "Risk score").
 *
 * The memory follows the store through the event log, which every change of an event appends
 * to in the transaction of the change: each query first reads the events with log entries
 * after the last one it saw (usually a few), as they are now, and puts them in place. So a
 * query sees what was committed when it began, whoever wrote it (this process, the CLI, the
 * demo), as the SQL did; a row edited by hand without a log entry is seen at its next change
 * or when the server starts again. The first query loads the window's events.
 *
 * Layout: a pool of entries; a hash of event id -> entry; a hash of (class, cell) -> chain of
 * entries (the cells of cg_event__nearby(): 0.002 degrees); a hash of reporter -> chain,
 * newest first. One mutex guards it all: a query holds it for a few microseconds.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/time.h"
#include "domain/event/event_int.h"

#include <math.h>
#include <pthread.h>

#define NONE UINT32_MAX
#define PRUNE_EVERY_MS (60 * INT64_C(1000))

struct entry {
    struct cg_event__recent_row row;
    int64_t created_ms, cell;
    uint64_t place; /* hash of (class, cell) */
    /* doubly linked chains (NONE ends them): one reporter may have tens of thousands of
       events in the window (a hotline operator's), and an event leaves its chain in O(1) */
    uint32_t prev_place, next_place, prev_mine, next_mine;
    bool used;
};

/* An open-addressed table of non-zero 64-bit keys (event and reporter ids, place hashes) ->
   entry index or chain head. The keys are kept whole and hashed for the slot, so two ids
   never share one. */
struct table {
    uint64_t *keys; /* 0: empty */
    uint32_t *vals;
    size_t cap, n;
};

struct cg_event__recent {
    pthread_mutex_t mu;
    struct cg_db *db;
    int64_t window_ms, last_log, pruned_ms, now_ms;
    bool loaded;
    struct entry *pool;
    size_t pool_n, pool_cap;
    uint32_t free_head;                        /* free entries chained through next_place */
    struct table by_id, by_place, by_reporter; /* by_id.n: the events held */
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static uint64_t place_key(const char *cls, int64_t cell)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a of the class, then the cell */

    for (; *cls; cls++) {
        h = (h ^ (unsigned char)*cls) * 1099511628211ull;
    }
    return mix(h ^ (uint64_t)cell) | 1; /* never 0, the empty key */
}

static int64_t cell_of(double lon, double lat)
{
    return cg_event__cell_row(lat) * CG_EVENT__CELL_COLUMNS + cg_event__cell_column(lon);
}

static uint32_t *table_find(struct table *t, uint64_t key, bool add)
{
    size_t i;

    if (add && (t->n + 1) * 2 > t->cap) {
        struct table big = {cg_calloc(t->cap ? t->cap * 2 : 1024, sizeof(uint64_t)),
                            cg_calloc(t->cap ? t->cap * 2 : 1024, sizeof(uint32_t)),
                            t->cap ? t->cap * 2 : 1024, 0};

        for (size_t j = 0; j < t->cap; j++) {
            if (t->keys[j]) {
                *table_find(&big, t->keys[j], true) = t->vals[j];
            }
        }
        free(t->keys);
        free(t->vals);
        *t = big;
    }
    if (!t->cap) {
        return NULL;
    }
    for (i = mix(key) & (t->cap - 1); t->keys[i]; i = (i + 1) & (t->cap - 1)) {
        if (t->keys[i] == key) {
            return &t->vals[i];
        }
    }
    if (!add) {
        return NULL;
    }
    t->keys[i] = key;
    t->vals[i] = NONE;
    t->n++;
    return &t->vals[i];
}

/* Removes key (backward-shift deletion: no tombstones). */
static void table_remove(struct table *t, uint64_t key)
{
    size_t i, j;

    if (!t->cap) {
        return;
    }
    for (i = mix(key) & (t->cap - 1); t->keys[i] && t->keys[i] != key; i = (i + 1) & (t->cap - 1)) {
    }
    if (!t->keys[i]) {
        return;
    }
    t->keys[i] = 0;
    t->n--;
    for (j = (i + 1) & (t->cap - 1); t->keys[j]; j = (j + 1) & (t->cap - 1)) {
        size_t home = mix(t->keys[j]) & (t->cap - 1);

        /* move j back into the hole i when its home is not in (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            t->keys[i] = t->keys[j];
            t->vals[i] = t->vals[j];
            t->keys[j] = 0;
            i = j;
        }
    }
}

static void table_release(struct table *t)
{
    free(t->keys);
    free(t->vals);
    memset(t, 0, sizeof(*t));
}

static void link_place(struct cg_event__recent *r, uint32_t e)
{
    uint32_t *head = table_find(&r->by_place, r->pool[e].place, true);

    r->pool[e].prev_place = NONE;
    r->pool[e].next_place = *head;
    if (*head != NONE) {
        r->pool[*head].prev_place = e;
    }
    *head = e;
}

static void unlink_place(struct cg_event__recent *r, uint32_t e)
{
    struct entry *x = &r->pool[e];

    if (x->prev_place != NONE) {
        r->pool[x->prev_place].next_place = x->next_place;
    } else {
        uint32_t *head = table_find(&r->by_place, x->place, false);

        if (head) {
            *head = x->next_place;
            if (*head == NONE) {
                table_remove(&r->by_place, x->place);
            }
        }
    }
    if (x->next_place != NONE) {
        r->pool[x->next_place].prev_place = x->prev_place;
    }
}

/* Links e into its reporter's chain, newest (highest id) first: at the head when newest. */
static void link_mine(struct cg_event__recent *r, uint32_t e)
{
    uint32_t *head = table_find(&r->by_reporter, (uint64_t)r->pool[e].row.reporter_id, true);
    uint32_t prev = NONE, at = *head;

    while (at != NONE && r->pool[at].row.id > r->pool[e].row.id) {
        prev = at;
        at = r->pool[at].next_mine;
    }
    r->pool[e].prev_mine = prev;
    r->pool[e].next_mine = at;
    if (at != NONE) {
        r->pool[at].prev_mine = e;
    }
    if (prev != NONE) {
        r->pool[prev].next_mine = e;
    } else {
        *head = e;
    }
}

static void unlink_mine(struct cg_event__recent *r, uint32_t e)
{
    struct entry *x = &r->pool[e];
    uint64_t key = (uint64_t)x->row.reporter_id;

    if (x->prev_mine != NONE) {
        r->pool[x->prev_mine].next_mine = x->next_mine;
    } else {
        uint32_t *head = table_find(&r->by_reporter, key, false);

        if (head) {
            *head = x->next_mine;
            if (*head == NONE) {
                table_remove(&r->by_reporter, key);
            }
        }
    }
    if (x->next_mine != NONE) {
        r->pool[x->next_mine].prev_mine = x->prev_mine;
    }
}

static void forget(struct cg_event__recent *r, uint32_t e)
{
    struct entry *x = &r->pool[e];

    unlink_place(r, e);
    if (x->row.reporter_id) {
        unlink_mine(r, e);
    }
    table_remove(&r->by_id, (uint64_t)x->row.id);
    x->used = false;
    x->next_place = r->free_head;
    r->free_head = e;
}

/* The row as it is now: in memory when within the window and not a report-only record. */
static void put(void *ctx, const struct cg_event__recent_row *row)
{
    struct cg_event__recent *r = ctx;
    uint32_t *have = table_find(&r->by_id, (uint64_t)row->id, false);
    int64_t created = 0, cell;
    struct entry *x;
    uint32_t e;

    if (row->report_only || !cg_time_parse_iso(row->created_at, &created) ||
        created < r->now_ms - r->window_ms) {
        if (have) {
            forget(r, *have); /* an old event that changed: not one a report looks at */
        }
        return;
    }
    cell = cell_of(row->lon, row->lat);
    if (have) {
        x = &r->pool[*have];
        if (x->cell == cell && x->row.reporter_id == row->reporter_id && x->created_ms == created &&
            !strcmp(x->row.cls, row->cls)) {
            x->row = *row; /* a new state, the common change: in place */
            return;
        }
        forget(r, *have); /* moved to another class, place or reporter: linked anew */
    }
    if (r->free_head != NONE) {
        e = r->free_head;
        r->free_head = r->pool[e].next_place;
    } else {
        if (r->pool_n == r->pool_cap) {
            r->pool_cap = r->pool_cap ? r->pool_cap * 2 : 4096;
            r->pool = cg_realloc(r->pool, r->pool_cap * sizeof(*r->pool));
        }
        e = (uint32_t)r->pool_n++;
    }
    x = &r->pool[e];
    memset(x, 0, sizeof(*x));
    x->row = *row;
    x->used = true;
    x->created_ms = created;
    x->cell = cell;
    x->place = place_key(row->cls, cell);
    *table_find(&r->by_id, (uint64_t)row->id, true) = e;
    link_place(r, e);
    x->prev_mine = x->next_mine = NONE;
    if (row->reporter_id) {
        link_mine(r, e);
    }
}

static void prune(struct cg_event__recent *r, int64_t now)
{
    for (size_t e = 0; e < r->pool_n; e++) {
        if (r->pool[e].used && r->pool[e].created_ms < now - r->window_ms) {
            forget(r, (uint32_t)e);
        }
    }
    r->pruned_ms = now;
}

/* Reads what changed since the last log entry seen (all of the window at first). */
static int sync(struct cg_event__recent *r, int64_t now, struct cg_error *err)
{
    char since[CG_TIME_ISO_LEN];
    int64_t last = r->last_log;
    int rc;

    r->now_ms = now;
    cg_time_iso(now - r->window_ms, since, sizeof(since));
    rc = cg_event__recent_changes(r->db, r->loaded ? r->last_log : 0, since, put, r, &last, err);
    if (!rc) {
        r->loaded = true;
        r->last_log = last;
    }
    if (now - r->pruned_ms >= PRUNE_EVERY_MS) {
        prune(r, now);
    }
    return rc;
}

struct cg_event__recent *cg_event__recent_new(struct cg_db *db, int64_t window_ms)
{
    struct cg_event__recent *r = cg_calloc(1, sizeof(*r));

    pthread_mutex_init(&r->mu, NULL);
    r->db = db;
    r->window_ms = window_ms;
    r->free_head = NONE;
    return r;
}

void cg_event__recent_free(struct cg_event__recent *r)
{
    if (!r) {
        return;
    }
    table_release(&r->by_id);
    table_release(&r->by_place);
    table_release(&r->by_reporter);
    free(r->pool);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

int cg_event__recent_warm(struct cg_event__recent *r, int64_t now_ms, size_t *out_n,
                          struct cg_error *err)
{
    int rc;

    pthread_mutex_lock(&r->mu);
    rc = sync(r, now_ms, err);
    *out_n = r->by_id.n;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int cg_event__recent_around(struct cg_event__recent *r, const struct cg_event__around_query *q,
                            int64_t now_ms, struct cg_event__near *out, size_t max, size_t *out_n,
                            int64_t *out_mine, struct cg_error *err)
{
    double dlat = q->radius_m / 110574.0,
           dlon = q->radius_m / (111320.0 * cos(q->lat * M_PI / 180.0));
    char cls[EV_TEXT + EV_CODE + 2];
    int rc;

    snprintf(cls, sizeof(cls), "%s:%s", q->category_kind, q->category_code);
    *out_n = 0;
    *out_mine = 0;
    pthread_mutex_lock(&r->mu);
    rc = sync(r, now_ms, err);
    for (int64_t row = cg_event__cell_row(q->lat - dlat); row <= cg_event__cell_row(q->lat + dlat);
         row++) {
        for (int64_t col = cg_event__cell_column(q->lon - dlon);
             col <= cg_event__cell_column(q->lon + dlon); col++) {
            int64_t cell = row * CG_EVENT__CELL_COLUMNS + col;
            uint32_t *head = table_find(&r->by_place, place_key(cls, cell), false);

            for (uint32_t e = head ? *head : NONE; e != NONE; e = r->pool[e].next_place) {
                const struct entry *x = &r->pool[e];
                double d;

                if (x->cell != cell || strcmp(x->row.cls, cls) || x->created_ms < q->since_ms ||
                    fabs(x->row.lon - q->lon) > dlon || fabs(x->row.lat - q->lat) > dlat) {
                    continue;
                }
                d = cg_event__metres(q->lon, q->lat, x->row.lon, x->row.lat);
                if (d <= q->radius_m) {
                    cg_event__near_keep(out, max, out_n, x->row.id, d, x->row.state,
                                        x->row.created_at, x->row.grid_code);
                }
            }
        }
    }
    if (q->reporter_id) {
        uint32_t *head = table_find(&r->by_reporter, (uint64_t)q->reporter_id, false);
        size_t seen = 0;

        for (uint32_t e = head ? *head : NONE; e != NONE && seen < q->reporter_last;
             e = r->pool[e].next_mine, seen++) {
            *out_mine += r->pool[e].created_ms >= q->reporter_since_ms;
        }
    }
    pthread_mutex_unlock(&r->mu);
    qsort(out, *out_n, sizeof(*out), cg_event__newest_first);
    return rc;
}
