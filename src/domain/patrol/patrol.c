/*
 * patrol.c: the rules of patrols, positions and visits (patrol.h): who sees
 * what, the checks of every GPS point, day statistics, the live positions and
 * their snapshots for the nearest query. No SQL here: patrol_store.c has it.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/time.h"
#include "domain/auth/auth.h"
#include "domain/event/event.h"
#include "domain/patrol/patrol_int.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#define CST_MS (8 * 3600 * 1000LL) /* China Standard Time, UTC+8: the days of the statistics */
#define DAY_MS (24 * 3600 * 1000LL)
#define VISIT_MAX_AGE_MS (30 * DAY_MS)

/* A worker as the nearest query sees it. */
struct live {
    struct cg_worker_pos pos; /* t_ms 0: no position yet */
    char login[PT_LOGIN];
    char duty;       /* 'a' auto, 'o' on, 'f' off */
    int64_t running; /* the running patrol, 0 none */
};

/* A snapshot and the readers holding it. */
struct snap {
    struct cg_patrol_index *ix;
    struct live *meta; /* login per index position (copied) */
    int refs;          /* the module's own reference counts one */
};

struct cg_patrols {
    struct cg_db *db;
    struct cg_grid_locator *grids;
    struct cg_events *events;
    pthread_mutex_t mu; /* guards live and nlive */
    struct live *live;  /* sorted by account id */
    size_t nlive, cap;
    atomic_bool dirty; /* live changed since the snapshot was built */
    atomic_int_fast64_t built_ns;
    int rebuild_ms;
    pthread_mutex_t build_mu; /* one rebuild at a time; readers never wait for it */
    pthread_mutex_t snap_mu;  /* guards cur and the reference counts (short) */
    struct snap *cur;
};

/* ---- time --------------------------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100) || y % 400 == 0;
}

static int digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DD" into days since the epoch. */
static bool parse_date(const char *s, int64_t *out_days)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);

    if (strlen(s) < 10 || s[4] != '-' || s[7] != '-' || y < 1970 || m < 1 || m > 12 || d < 1 ||
        d > mdays[m - 1] + (m == 2 && is_leap(y))) {
        return false;
    }
    *out_days = days_from_civil(y, m, d);
    return true;
}

bool cg_patrol_parse_time(const char *s, int64_t *out_ms)
{
    int64_t days, ms = 0;
    int hh, mm, ss, off = 0;
    const char *p;

    if (!s || strlen(s) < 20 || !parse_date(s, &days) || (s[10] != 'T' && s[10] != 't')) {
        return false;
    }
    hh = digits(s + 11, 2);
    mm = digits(s + 14, 2);
    ss = digits(s + 17, 2);
    if (s[13] != ':' || s[16] != ':' || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 ||
        ss > 59) {
        return false;
    }
    p = s + 19;
    if (*p == '.') {
        int scale = 100, n = 0;

        for (p++; *p >= '0' && *p <= '9'; p++, n++) {
            ms += (*p - '0') * scale;
            scale /= 10;
        }
        if (!n || n > 9) {
            return false;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);

        if (p[3] != ':' || oh < 0 || oh > 23 || om < 0 || om > 59) {
            return false;
        }
        off = (*p == '-' ? -1 : 1) * (oh * 60 + om);
        p += 6;
    } else {
        return false;
    }
    if (*p) {
        return false;
    }
    *out_ms = ((days * 24 + hh) * 60 + mm) * 60000LL + ss * 1000LL + ms - off * 60000LL;
    return true;
}

static json_t *time_json(int64_t ms)
{
    char buf[CG_TIME_ISO_LEN];

    cg_time_iso(ms, buf, sizeof(buf));
    return json_string(buf);
}

/* ---- who sees what ------------------------------------------------------------------------ */

/* How actor may see patrols and visits: only its own, or those under prefix. */
struct view {
    bool own;
    const char *prefix;
    const char *perm; /* the permission the scope comes from */
};

static int view_of(const struct cg_principal *p, struct view *v, struct cg_error *err)
{
    bool field = cg_auth_has(p, "patrol.record") || cg_auth_has(p, "visit.record");
    bool reader = cg_auth_has(p, "stats.read") || cg_auth_has(p, "event.read");

    *v = (struct view){false, "", cg_auth_has(p, "stats.read") ? "stats.read" : "event.read"};
    if (field && !cg_auth_has(p, "stats.read")) {
        v->own = true;
        return 0;
    }
    if (!reader) {
        return cg_error_set(err, CG_EFORBIDDEN, "your roles do not include 'stats.read'");
    }
    switch (p->scope_kind) {
    case CG_SCOPE_ALL:
        return 0;
    case CG_SCOPE_GRID:
        v->prefix = p->scope_ref;
        return 0;
    case CG_SCOPE_OWN:
        v->own = true;
        return 0;
    case CG_SCOPE_DEPARTMENT:
        break;
    }
    return cg_error_set(err, CG_EFORBIDDEN, "patrols and visits are seen by grid scope only");
}

/* May actor see an object of account owner in grid? CG_ENOTFOUND (what) when not. */
static int may_see(const struct cg_principal *p, int64_t owner, const char *grid, const char *what,
                   int64_t id, struct cg_error *err)
{
    struct view v;
    struct cg_auth_object obj = {grid, "", owner};

    if (p->account_id == owner) {
        return 0;
    }
    if (view_of(p, &v, NULL) || v.own || cg_auth_allow(p, v.perm, &obj, NULL)) {
        return cg_error_field(err, CG_ENOTFOUND, "id", "no %s %" PRId64, what, id);
    }
    return 0;
}

/* The grid of actor's work: given (checked against scope), assigned, or its grid scope. */
static int work_grid(struct cg_patrols *pm, const struct cg_principal *p, const char *perm,
                     const char *given, char out[CG_PATROL_GRID_LEN], struct cg_error *err)
{
    struct cg_auth_object obj = {out, "", p->account_id};

    if (given) {
        if (!*given || strlen(given) >= CG_PATROL_GRID_LEN ||
            strspn(given, "0123456789") != strlen(given)) {
            return cg_error_field(err, CG_EINVAL, "grid", "'grid' must be a grid code");
        }
        snprintf(out, CG_PATROL_GRID_LEN, "%s", given);
    } else if (!cg_patrol__assigned_grid(pm->db, p->account_id, out, NULL)) {
        /* the staff record's grid */
    } else if (p->scope_kind == CG_SCOPE_GRID && strlen(p->scope_ref) > 12) {
        snprintf(out, CG_PATROL_GRID_LEN, "%s", p->scope_ref);
    } else {
        return cg_error_field(err, CG_EMISSING, "grid",
                              "you serve no grid: give 'grid', the grid code of your work");
    }
    return cg_auth_allow(p, perm, &obj, err);
}

/* ---- live positions ----------------------------------------------------------------------- */

static struct live *live_find(struct cg_patrols *pm, int64_t account, bool create)
{
    size_t lo = 0, hi = pm->nlive;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (pm->live[mid].pos.account_id < account) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < pm->nlive && pm->live[lo].pos.account_id == account) {
        return &pm->live[lo];
    }
    if (!create) {
        return NULL;
    }
    if (pm->nlive == pm->cap) {
        pm->cap = pm->cap ? pm->cap * 2 : 256;
        pm->live = cg_realloc(pm->live, pm->cap * sizeof(*pm->live));
    }
    memmove(&pm->live[lo + 1], &pm->live[lo], (pm->nlive - lo) * sizeof(*pm->live));
    pm->nlive++;
    memset(&pm->live[lo], 0, sizeof(pm->live[lo]));
    pm->live[lo].pos.account_id = account;
    pm->live[lo].duty = 'a';
    return &pm->live[lo];
}

static bool available(const struct live *l)
{
    return l->pos.t_ms && (l->duty == 'o' || (l->duty == 'a' && l->running));
}

/* Changes the live entry of account under the lock: fn(entry, ctx). */
static void live_update(struct cg_patrols *pm, const struct cg_principal *p, const char *grid,
                        int64_t running, const struct cg_patrol__point *last, char duty)
{
    struct live *l;

    pthread_mutex_lock(&pm->mu);
    l = live_find(pm, p->account_id, true);
    snprintf(l->login, sizeof(l->login), "%s", p->login);
    if (grid) {
        snprintf(l->pos.grid, sizeof(l->pos.grid), "%s", grid);
    }
    if (running >= 0) {
        l->running = running;
    }
    if (last && last->t_ms > l->pos.t_ms) {
        l->pos.lon = last->lon;
        l->pos.lat = last->lat;
        l->pos.t_ms = last->t_ms;
    }
    if (duty) {
        l->duty = duty;
    }
    pthread_mutex_unlock(&pm->mu);
    atomic_store(&pm->dirty, true);
}

static void snap_unref(struct cg_patrols *pm, struct snap *s)
{
    bool last;

    if (!s) {
        return;
    }
    pthread_mutex_lock(&pm->snap_mu);
    last = --s->refs == 0;
    pthread_mutex_unlock(&pm->snap_mu);
    if (last) {
        cg_patrol_index_free(s->ix);
        free(s->meta);
        free(s);
    }
}

/* Builds a snapshot of the available workers and swaps it in. */
static void rebuild(struct cg_patrols *pm)
{
    struct snap *s = cg_calloc(1, sizeof(*s)), *old;
    struct cg_worker_pos *pos;
    size_t n = 0;

    atomic_store(&pm->dirty, false);
    pthread_mutex_lock(&pm->mu);
    pos = cg_calloc(pm->nlive ? pm->nlive : 1, sizeof(*pos));
    s->meta = cg_calloc(pm->nlive ? pm->nlive : 1, sizeof(*s->meta));
    for (size_t i = 0; i < pm->nlive; i++) {
        if (available(&pm->live[i])) {
            pos[n] = pm->live[i].pos;
            s->meta[n++] = pm->live[i];
        }
    }
    pthread_mutex_unlock(&pm->mu);
    s->ix = cg_patrol_index_build(pos, n);
    s->refs = 1;
    free(pos);
    pthread_mutex_lock(&pm->snap_mu);
    old = pm->cur;
    pm->cur = s;
    pthread_mutex_unlock(&pm->snap_mu);
    atomic_store(&pm->built_ns, cg_time_mono_ns());
    snap_unref(pm, old);
}

/* The current snapshot (rebuilt first when stale and nobody else is at it); snap_unref() it. */
static struct snap *snap_acquire(struct cg_patrols *pm)
{
    struct snap *s;

    if (atomic_load(&pm->dirty) &&
        cg_time_mono_ns() - atomic_load(&pm->built_ns) >= (int64_t)pm->rebuild_ms * 1000000 &&
        !pthread_mutex_trylock(&pm->build_mu)) {
        rebuild(pm);
        pthread_mutex_unlock(&pm->build_mu);
    }
    pthread_mutex_lock(&pm->snap_mu);
    s = pm->cur;
    s->refs++;
    pthread_mutex_unlock(&pm->snap_mu);
    return s;
}

struct cg_patrols *cg_patrols_new(struct cg_db *db, struct cg_grid_locator *grids,
                                  struct cg_events *events)
{
    struct cg_patrols *pm = cg_calloc(1, sizeof(*pm));

    pm->db = db;
    pm->grids = grids;
    pm->events = events;
    pm->rebuild_ms = 100;
    pthread_mutex_init(&pm->mu, NULL);
    pthread_mutex_init(&pm->build_mu, NULL);
    pthread_mutex_init(&pm->snap_mu, NULL);
    rebuild(pm);
    return pm;
}

void cg_patrols_free(struct cg_patrols *pm)
{
    if (!pm) {
        return;
    }
    snap_unref(pm, pm->cur);
    free(pm->live);
    pthread_mutex_destroy(&pm->mu);
    pthread_mutex_destroy(&pm->build_mu);
    pthread_mutex_destroy(&pm->snap_mu);
    free(pm);
}

void cg_patrols_set_rebuild_ms(struct cg_patrols *pm, int ms)
{
    pm->rebuild_ms = ms < 0 ? 0 : ms;
}

static void load_one(void *ctx, const struct cg_patrol__live *l)
{
    struct cg_patrols *pm = ctx;
    struct live *e = live_find(pm, l->account_id, true);

    e->pos.lon = l->lon;
    e->pos.lat = l->lat;
    e->pos.t_ms = l->t_ms;
    snprintf(e->pos.grid, sizeof(e->pos.grid), "%s", l->grid);
    snprintf(e->login, sizeof(e->login), "%s", l->login);
    e->duty = l->duty;
    e->running = l->running;
}

int cg_patrols_load(struct cg_patrols *pm, struct cg_error *err)
{
    int rc;

    pthread_mutex_lock(&pm->mu);
    rc = cg_patrol__positions(pm->db, load_one, pm, err);
    pthread_mutex_unlock(&pm->mu);
    pthread_mutex_lock(&pm->build_mu);
    rebuild(pm);
    pthread_mutex_unlock(&pm->build_mu);
    return rc;
}

/* ---- patrols ------------------------------------------------------------------------------ */

struct track {
    struct cg_patrol__point *p;
    size_t n, cap;
};

static void track_add(void *ctx, const struct cg_patrol__point *p)
{
    struct track *t = ctx;

    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 256;
        t->p = cg_realloc(t->p, t->cap * sizeof(*t->p));
    }
    t->p[t->n++] = *p;
}

/* Length of segment i-1 -> i, 0 when it is a GPS jump. */
static double segment_m(const struct cg_patrol__point *a, const struct cg_patrol__point *b)
{
    double d = cg_patrol_haversine(a->lon, a->lat, b->lon, b->lat);
    double s = (double)(b->t_ms - a->t_ms) / 1000.0;

    return s > 0 && d / s > CG_PATROL_JUMP_MPS ? 0 : d;
}

static json_t *patrol_json(const struct cg_patrol__row *r, const struct track *t)
{
    int64_t end = r->ended_ms ? r->ended_ms : cg_time_now_ms();
    double dist = 0;
    json_t *o;

    for (size_t i = 1; t && i < t->n; i++) {
        dist += segment_m(&t->p[i - 1], &t->p[i]);
    }
    o = json_pack("{s:I, s:{s:I, s:s}, s:s, s:o, s:o, s:b, s:f}", "id", (json_int_t)r->id, "worker",
                  "account_id", (json_int_t)r->account_id, "login", r->login, "grid", r->grid,
                  "started_at", time_json(r->started_ms), "ended_at",
                  r->ended_ms ? time_json(r->ended_ms) : json_null(), "running", !r->ended_ms,
                  "duration_s",
                  round((double)(end > r->started_ms ? end - r->started_ms : 0) / 100.0) / 10.0);
    if (t) {
        json_object_set_new(o, "points", json_integer((json_int_t)t->n));
        json_object_set_new(o, "distance_m", json_real(round(dist * 10) / 10));
    }
    return o;
}

static int patrol_reply(struct cg_patrols *pm, int64_t id, json_t **out, struct cg_error *err)
{
    struct cg_patrol__row r;
    struct track t = {0};
    int rc = cg_patrol__load(pm->db, id, &r, err);

    rc = rc ? rc : cg_patrol__points(pm->db, id, track_add, &t, err);
    if (!rc) {
        *out = patrol_json(&r, &t);
    }
    free(t.p);
    return rc;
}

int cg_patrol_start(struct cg_patrols *pm, const struct cg_principal *actor, const char *grid,
                    int64_t started_ms, json_t **out, struct cg_error *err)
{
    char code[CG_PATROL_GRID_LEN] = "";
    int64_t now = cg_time_now_ms(), id = 0, running = 0;
    int rc = work_grid(pm, actor, "patrol.record", grid, code, err);

    if (rc) {
        return rc;
    }
    if (!started_ms) {
        started_ms = now;
    } else if (started_ms > now + CG_PATROL_SKEW_MS || started_ms < now - CG_PATROL_MAX_AGE_MS) {
        return cg_error_field(err, CG_EINVAL, "started_at",
                              "'started_at' must lie within the last 7 days and not in the future");
    }
    rc = cg_patrol__insert(pm->db, actor->account_id, code, started_ms, &id, err);
    if (rc == CG_ECONFLICT) {
        cg_error_clear(err);
        if (cg_patrol__running(pm->db, actor->account_id, &running, err)) {
            return CG_EDB;
        }
        return cg_error_set(err, CG_ECONFLICT, "patrol %" PRId64 " is still running: stop it first",
                            running);
    }
    if (rc) {
        return rc;
    }
    live_update(pm, actor, code, id, NULL, 0);
    return patrol_reply(pm, id, out, err);
}

/* The patrol id of actor (its own); CG_ENOTFOUND when it may not see it, else CG_EFORBIDDEN. */
static int own_patrol(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id,
                      struct cg_patrol__row *r, struct cg_error *err)
{
    int rc = cg_patrol__load(pm->db, id, r, err);

    rc = rc ? rc : may_see(actor, r->account_id, r->grid, "patrol", id, err);
    if (!rc && r->account_id != actor->account_id) {
        rc = cg_error_set(err, CG_EFORBIDDEN, "only the patrol's worker records it");
    }
    return rc;
}

int cg_patrol_stop(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id,
                   int64_t ended_ms, json_t **out, struct cg_error *err)
{
    struct cg_patrol__row r;
    int64_t now = cg_time_now_ms();
    int rc = own_patrol(pm, actor, id, &r, err);

    if (rc) {
        return rc;
    }
    if (r.ended_ms) {
        return cg_error_set(err, CG_EBADSTATE, "patrol %" PRId64 " has already stopped", id);
    }
    if (!ended_ms) {
        ended_ms = now;
    } else if (ended_ms > now + CG_PATROL_SKEW_MS || ended_ms < r.started_ms) {
        return cg_error_field(err, CG_EINVAL, "ended_at",
                              "'ended_at' must lie between the start and now");
    }
    rc = cg_patrol__end(pm->db, id, ended_ms, err);
    if (rc) {
        return rc;
    }
    live_update(pm, actor, NULL, 0, NULL, 0);
    return patrol_reply(pm, id, out, err);
}

static int cmp_point(const void *a, const void *b)
{
    const struct cg_patrol__point *x = a, *y = b;

    /* by time, then by the order given (kept in speed's place while sorting) */
    if (x->t_ms != y->t_ms) {
        return x->t_ms < y->t_ms ? -1 : 1;
    }
    return x->speed < y->speed ? -1 : x->speed > y->speed;
}

/* An optional number member in [0, max]; NAN when absent. */
static int opt_number(json_t *o, const char *key, double max, size_t i, double *out,
                      struct cg_error *err)
{
    json_t *v = json_object_get(o, key);

    *out = NAN;
    if (!v || json_is_null(v)) {
        return 0;
    }
    if (!json_is_number(v)) {
        return cg_error_field(err, CG_ETYPE, key, "'points[%zu].%s' must be a number", i, key);
    }
    *out = json_number_value(v);
    if (!isfinite(*out) || *out < 0 || *out > max) {
        return cg_error_field(err, CG_EINVAL, key, "'points[%zu].%s' must lie between 0 and %g", i,
                              key, max);
    }
    return 0;
}

static int coord(json_t *o, const char *key, double lim, size_t i, double *out,
                 struct cg_error *err)
{
    json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v)) {
        return cg_error_field(err, CG_EMISSING, key, "'points[%zu].%s' is required", i, key);
    }
    if (!json_is_number(v)) {
        return cg_error_field(err, CG_ETYPE, key,
                              "'points[%zu].%s' must be a number (WGS-84 degrees)", i, key);
    }
    *out = json_number_value(v);
    if (!isfinite(*out) || *out < -lim || *out > lim) {
        return cg_error_field(err, CG_EINVAL, key, "'points[%zu].%s' must lie between %g and %g", i,
                              key, -lim, lim);
    }
    return 0;
}

/* Checks point i of a batch into *p. The error's field is "points[i].name". */
static int read_point(json_t *o, size_t i, const struct cg_patrol__row *r, int64_t now,
                      struct cg_patrol__point *p, struct cg_error *err)
{
    static const char *const keys[] = {"t", "lon", "lat", "accuracy_m", "speed", NULL};
    const char *k;
    json_t *v, *t = json_object_get(o, "t");
    int rc = 0;

    if (!json_is_object(o)) {
        return cg_error_field(err, CG_ETYPE, "points", "'points[%zu]' must be an object", i);
    }
    json_object_foreach(o, k, v)
    {
        bool known = false;

        for (size_t j = 0; keys[j]; j++) {
            known |= !strcmp(k, keys[j]);
        }
        if (!known) {
            return cg_error_field(err, CG_EINVAL, "points",
                                  "'points[%zu]' has an unknown field '%.40s'", i, k);
        }
    }
    if (!t || json_is_null(t)) {
        rc = cg_error_field(err, CG_EMISSING, "t", "'points[%zu].t' is required", i);
    } else if (json_is_integer(t)) {
        p->t_ms = json_integer_value(t);
    } else if (!json_is_string(t) || !cg_patrol_parse_time(json_string_value(t), &p->t_ms)) {
        rc = cg_error_field(err, json_is_string(t) ? CG_EINVAL : CG_ETYPE, "t",
                            "'points[%zu].t' must be an RFC 3339 time or milliseconds since 1970",
                            i);
    }
    rc = rc ? rc : coord(o, "lon", 180, i, &p->lon, err);
    rc = rc ? rc : coord(o, "lat", 90, i, &p->lat, err);
    rc = rc ? rc : opt_number(o, "accuracy_m", 100000, i, &p->accuracy_m, err);
    rc = rc ? rc : opt_number(o, "speed", 1000, i, &p->speed, err);
    if (rc) {
        return rc;
    }
    if (p->t_ms > now + CG_PATROL_SKEW_MS) {
        return cg_error_field(err, CG_EINVAL, "t",
                              "'points[%zu].t' lies in the future (more than 2 minutes ahead)", i);
    }
    if (p->t_ms < now - CG_PATROL_MAX_AGE_MS) {
        return cg_error_field(err, CG_EINVAL, "t", "'points[%zu].t' is older than 7 days", i);
    }
    if (p->t_ms < r->started_ms - CG_PATROL_SKEW_MS ||
        (r->ended_ms && p->t_ms > r->ended_ms + CG_PATROL_SKEW_MS)) {
        return cg_error_field(err, CG_EINVAL, "t", "'points[%zu].t' lies outside the patrol's time",
                              i);
    }
    return 0;
}

/* Sorts, drops equal times, stores pts[0..n) of patrol r and answers (both ways in). */
static int points_store(struct cg_patrols *pm, const struct cg_principal *actor,
                        const struct cg_patrol__row *r, struct cg_patrol__point *pts, size_t n,
                        json_t **out, struct cg_error *err)
{
    /* Sort by time keeping the order given among equal times; keep the first of each t. */
    double *acc = cg_calloc(n, sizeof(double));
    int64_t stored = 0;
    size_t kept = 0;
    bool sorted = true;
    int rc;

    for (size_t i = 1; i < n && sorted; i++) {
        sorted = pts[i - 1].t_ms < pts[i].t_ms;
    }
    if (!sorted) { /* a phone sends its points in order: the sort is for the others */
        for (size_t i = 0; i < n; i++) {
            acc[i] = pts[i].speed;
            pts[i].speed = (double)i;
        }
        qsort(pts, n, sizeof(*pts), cmp_point);
        for (size_t i = 0; i < n; i++) {
            size_t orig = (size_t)pts[i].speed;

            if (kept && pts[kept - 1].t_ms == pts[i].t_ms) {
                continue;
            }
            pts[kept] = pts[i];
            pts[kept++].speed = acc[orig];
        }
    } else {
        kept = n;
    }
    free(acc);
    rc = cg_patrol__add_points(pm->db, r->id, actor->account_id, r->grid, pts, kept, &stored, err);
    if (!rc) {
        live_update(pm, actor, r->grid, r->ended_ms ? -1 : r->id, &pts[kept - 1], 0);
        *out = json_pack("{s:I, s:I, s:I, s:I, s:o}", "patrol", (json_int_t)r->id, "received",
                         (json_int_t)n, "stored", (json_int_t)stored, "duplicates",
                         (json_int_t)(n - (size_t)stored), "last_t", time_json(pts[kept - 1].t_ms));
    }
    return rc;
}

int cg_patrol_points(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id,
                     json_t *points, json_t **out, struct cg_error *err)
{
    struct cg_patrol__row r;
    struct cg_patrol__point *pts = NULL;
    int64_t now = cg_time_now_ms();
    size_t n;
    int rc = own_patrol(pm, actor, id, &r, err);

    if (rc) {
        return rc;
    }
    if (!json_is_array(points)) {
        return cg_error_field(err, points ? CG_ETYPE : CG_EMISSING, "points",
                              "'points' must be an array of {t, lon, lat, accuracy_m, speed}");
    }
    n = json_array_size(points);
    if (!n) {
        return cg_error_field(err, CG_EINVAL, "points", "'points' is empty");
    }
    if (n > CG_PATROL_BATCH_MAX) {
        return cg_error_field(err, CG_ETOOBIG, "points",
                              "%zu points in one batch: send at most %d at a time", n,
                              CG_PATROL_BATCH_MAX);
    }
    pts = cg_calloc(n, sizeof(*pts));
    for (size_t i = 0; i < n && !rc; i++) {
        rc = read_point(json_array_get(points, i), i, &r, now, &pts[i], err);
        if (rc) {
            /* The field names the point: "points[3].lon", or "points[3]" for the point itself. */
            char field[CG_ERROR_FIELD_MAX];

            if (!strcmp(err->field, "points")) {
                snprintf(field, sizeof(field), "points[%zu]", i);
            } else {
                snprintf(field, sizeof(field), "points[%zu].%.20s", i, err->field);
            }
            snprintf(err->field, sizeof(err->field), "%s", field);
        }
    }
    rc = rc ? rc : points_store(pm, actor, &r, pts, n, out, err);
    free(pts);
    return rc;
}

/* ---- the plain batch, read without building a JSON tree ----------------------------------- */

/*
 * A batch as phones send it, {"points":[{"t":ms,"lon":x,"lat":y,...},...]}, is read here in
 * one pass straight into points: parsing it into a jansson tree (a hash table per point, a
 * value per member) cost more than storing it. Anything else (another member, a duplicate or
 * unknown key, null, a string with an escape, a number JSON does not allow, a bad value) is
 * left to the full path, which gives the same answer for the plain shape and every error
 * message; so this reader only has to be right about what it accepts.
 */
struct text {
    const char *p, *end;
};

static void ws(struct text *x)
{
    while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' || *x->p == '\n' || *x->p == '\r')) {
        x->p++;
    }
}

static bool lit(struct text *x, char c)
{
    ws(x);
    if (x->p < x->end && *x->p == c) {
        x->p++;
        return true;
    }
    return false;
}

/* A JSON number (RFC 8259 grammar) into *out; *integer when it has no fraction or exponent. */
static bool number(struct text *x, double *out, bool *integer, int64_t *ival)
{
    const char *s = x->p, *q = s;
    char buf[64];
    char *endp;
    int64_t v = 0;
    bool neg = false, ovf = false;

    if (q < x->end && *q == '-') {
        neg = true;
        q++;
    }
    if (q >= x->end || *q < '0' || *q > '9' ||
        (*q == '0' && q + 1 < x->end && q[1] >= '0' && q[1] <= '9')) {
        return false;
    }
    for (; q < x->end && *q >= '0' && *q <= '9'; q++) {
        ovf |= v > (INT64_MAX - 9) / 10;
        v = ovf ? v : v * 10 + (*q - '0');
    }
    *integer = true;
    if (q < x->end && *q == '.') {
        *integer = false;
        if (++q >= x->end || *q < '0' || *q > '9') {
            return false;
        }
        while (q < x->end && *q >= '0' && *q <= '9') {
            q++;
        }
    }
    if (q < x->end && (*q == 'e' || *q == 'E')) {
        *integer = false;
        q++;
        if (q < x->end && (*q == '+' || *q == '-')) {
            q++;
        }
        if (q >= x->end || *q < '0' || *q > '9') {
            return false;
        }
        while (q < x->end && *q >= '0' && *q <= '9') {
            q++;
        }
    }
    if (*integer && ovf) {
        return false; /* jansson's own message for an integer too big */
    }
    if ((size_t)(q - s) >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, s, (size_t)(q - s));
    buf[q - s] = '\0';
    /* as jansson reads it: an integer literal is a json_int_t, a real goes through strtod */
    *out = *integer ? (double)(neg ? -v : v) : strtod(buf, &endp);
    if (!*integer && (*endp || !isfinite(*out))) {
        return false;
    }
    *ival = neg ? -v : v;
    x->p = q;
    return true;
}

/* A string without escapes or control characters: [*out, *out + *len). */
static bool plain_string(struct text *x, const char **out, size_t *len)
{
    const char *q;

    if (!lit(x, '"')) {
        return false;
    }
    for (q = x->p; q < x->end && *q != '"'; q++) {
        if (*q == '\\' || (unsigned char)*q < 0x20) {
            return false;
        }
    }
    if (q >= x->end) {
        return false;
    }
    *out = x->p;
    *len = (size_t)(q - x->p);
    x->p = q + 1;
    return true;
}

/* One point object; false for anything but a plain, complete point. */
static bool plain_point(struct text *x, struct cg_patrol__point *p)
{
    static const char *const keys[] = {"t", "lon", "lat", "accuracy_m", "speed"};
    unsigned seen = 0;

    p->accuracy_m = p->speed = NAN;
    if (!lit(x, '{')) {
        return false;
    }
    do {
        const char *k;
        size_t klen;
        int which = -1;
        double d;
        bool integer;
        int64_t iv;

        if (!plain_string(x, &k, &klen) || !lit(x, ':')) {
            return false;
        }
        for (int j = 0; j < 5; j++) {
            if (strlen(keys[j]) == klen && !memcmp(keys[j], k, klen)) {
                which = j;
            }
        }
        if (which < 0 || (seen & (1u << which))) {
            return false;
        }
        seen |= 1u << which;
        ws(x);
        if (which == 0 && x->p < x->end && *x->p == '"') {
            const char *ts;
            size_t tlen;
            char buf[64];

            if (!plain_string(x, &ts, &tlen) || tlen >= sizeof(buf)) {
                return false;
            }
            memcpy(buf, ts, tlen);
            buf[tlen] = '\0';
            if (strlen(buf) != tlen || !cg_patrol_parse_time(buf, &p->t_ms)) {
                return false;
            }
            continue;
        }
        if (!number(x, &d, &integer, &iv)) {
            return false;
        }
        if (which == 0) {
            if (!integer) {
                return false;
            }
            p->t_ms = iv;
        } else {
            double *dst[] = {NULL, &p->lon, &p->lat, &p->accuracy_m, &p->speed};

            *dst[which] = d;
        }
    } while (lit(x, ','));
    return lit(x, '}') && (seen & 7u) == 7u;
}

/* The checks of read_point() as one predicate: the full path names what is wrong. */
static bool point_ok(const struct cg_patrol__point *p, const struct cg_patrol__row *r, int64_t now)
{
    bool acc = isnan(p->accuracy_m) || (p->accuracy_m >= 0 && p->accuracy_m <= 100000);
    bool speed = isnan(p->speed) || (p->speed >= 0 && p->speed <= 1000);

    return isfinite(p->lon) && p->lon >= -180 && p->lon <= 180 && isfinite(p->lat) &&
           p->lat >= -90 && p->lat <= 90 && acc && speed && p->t_ms <= now + CG_PATROL_SKEW_MS &&
           p->t_ms >= now - CG_PATROL_MAX_AGE_MS && p->t_ms >= r->started_ms - CG_PATROL_SKEW_MS &&
           !(r->ended_ms && p->t_ms > r->ended_ms + CG_PATROL_SKEW_MS);
}

struct cg_patrol__point *cg_patrol__read_batch(const char *body, size_t len, size_t *out_n)
{
    struct text x = {body, body + len};
    struct cg_patrol__point *pts = NULL;
    const char *k;
    size_t klen, n = 0, cap = 0;

    if (!lit(&x, '{') || !plain_string(&x, &k, &klen) || klen != 6 || memcmp(k, "points", 6) ||
        !lit(&x, ':') || !lit(&x, '[')) {
        return NULL;
    }
    do {
        if (n == CG_PATROL_BATCH_MAX) {
            free(pts);
            return NULL;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 128;
            pts = cg_realloc(pts, cap * sizeof(*pts));
        }
        if (!plain_point(&x, &pts[n++])) {
            free(pts);
            return NULL;
        }
    } while (lit(&x, ','));
    if (!lit(&x, ']') || !lit(&x, '}') || (ws(&x), x.p != x.end)) {
        free(pts);
        return NULL;
    }
    *out_n = n;
    return pts;
}

int cg_patrol_points_text(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id,
                          const char *body, size_t len, json_t **out, struct cg_error *err)
{
    struct cg_patrol__row r;
    size_t n = 0;
    struct cg_patrol__point *pts = cg_patrol__read_batch(body, len, &n);
    int64_t now = cg_time_now_ms();
    int rc;

    if (!pts) {
        return CG_PATROL_FULL_PATH;
    }
    rc = own_patrol(pm, actor, id, &r, err);
    for (size_t i = 0; i < n && !rc; i++) {
        if (!point_ok(&pts[i], &r, now)) {
            free(pts);
            return CG_PATROL_FULL_PATH;
        }
    }
    rc = rc ? rc : points_store(pm, actor, &r, pts, n, out, err);
    free(pts);
    return rc;
}

int cg_patrol_get(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id, json_t **out,
                  struct cg_error *err)
{
    struct cg_patrol__row r;
    int rc = cg_patrol__load(pm->db, id, &r, err);

    rc = rc ? rc : may_see(actor, r.account_id, r.grid, "patrol", id, err);
    return rc ? rc : patrol_reply(pm, id, out, err);
}

static json_t *opt_json(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

int cg_patrol_track(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id,
                    bool geojson, json_t **out, struct cg_error *err)
{
    struct cg_patrol__row r;
    struct track t = {0};
    json_t *list;
    int rc = cg_patrol__load(pm->db, id, &r, err);

    rc = rc ? rc : may_see(actor, r.account_id, r.grid, "patrol", id, err);
    rc = rc ? rc : cg_patrol__points(pm->db, id, track_add, &t, err);
    if (rc) {
        free(t.p);
        return rc;
    }
    list = json_array();
    if (geojson) {
        json_t *times = json_array();

        for (size_t i = 0; i < t.n; i++) {
            json_array_append_new(list, json_pack("[f, f]", t.p[i].lon, t.p[i].lat));
            json_array_append_new(times, time_json(t.p[i].t_ms));
        }
        /* A LineString needs two positions: one point is a Point. */
        *out = json_pack("{s:s, s:{s:s, s:o}, s:{s:I, s:s, s:s, s:o}}", "type", "Feature",
                         "geometry", "type", t.n == 1 ? "Point" : "LineString", "coordinates",
                         t.n == 1 ? json_incref(json_array_get(list, 0)) : json_incref(list),
                         "properties", "patrol", (json_int_t)id, "login", r.login, "grid", r.grid,
                         "times", times);
        json_decref(list);
    } else {
        for (size_t i = 0; i < t.n; i++) {
            json_array_append_new(
                list, json_pack("{s:o, s:f, s:f, s:o, s:o}", "t", time_json(t.p[i].t_ms), "lon",
                                t.p[i].lon, "lat", t.p[i].lat, "accuracy_m",
                                opt_json(t.p[i].accuracy_m), "speed", opt_json(t.p[i].speed)));
        }
        *out = json_pack("{s:o, s:o}", "patrol", patrol_json(&r, &t), "points", list);
    }
    free(t.p);
    return 0;
}

/* The worker filter of a list or statistics for actor: own only, or any in scope. */
static int list_scope(const struct cg_principal *actor, int64_t *worker, const char **prefix,
                      struct cg_error *err)
{
    struct view v;
    int rc = view_of(actor, &v, err);

    if (rc) {
        return rc;
    }
    if (v.own) {
        if (*worker && *worker != actor->account_id) {
            return cg_error_field(err, CG_EFORBIDDEN, "worker",
                                  "you may see only your own patrols and visits");
        }
        *worker = actor->account_id;
    }
    if (*prefix) {
        rc = cg_auth_allow_filter(actor, *prefix, err);
        if (rc) {
            return rc;
        }
    } else {
        *prefix = v.prefix;
    }
    return 0;
}

struct list_ctx {
    struct cg_patrols *pm;
    json_t *list;
};

static void list_one(void *ctx, const struct cg_patrol__row *r)
{
    struct list_ctx *c = ctx;

    json_array_append_new(c->list, patrol_json(r, NULL));
}

static json_t *page(json_t *list, const char *name, int limit)
{
    json_t *next = json_null();

    if (json_array_size(list) > (size_t)limit) {
        json_array_remove(list, (size_t)limit);
        next = json_incref(json_object_get(json_array_get(list, (size_t)limit - 1), "id"));
    }
    return json_pack("{s:o, s:o}", name, list, "next_before", next);
}

int cg_patrol_list(struct cg_patrols *pm, const struct cg_principal *actor,
                   const struct cg_patrol_query *q, json_t **out, struct cg_error *err)
{
    int64_t worker = q->worker;
    const char *prefix = q->grid;
    struct list_ctx c = {pm, NULL};
    int rc = list_scope(actor, &worker, &prefix, err);

    if (rc) {
        return rc;
    }
    c.list = json_array();
    rc = cg_patrol__list(pm->db, worker, prefix, q->before_id, q->limit + 1, list_one, &c, err);
    if (rc) {
        json_decref(c.list);
        return rc;
    }
    *out = page(c.list, "patrols", q->limit);
    return 0;
}

/* ---- statistics --------------------------------------------------------------------------- */

struct day_row {
    int64_t account_id;
    char login[PT_LOGIN];
    int64_t day; /* days since the epoch, CST */
    int64_t patrols, points;
    double duration_ms, distance_m;
};

struct stats_ctx {
    struct cg_patrols *pm;
    int64_t from_ms, to_ms, from_day, now;
    int ndays;
    struct day_row *rows; /* per worker: ndays consecutive rows */
    size_t nworkers, cap;
    int rc;
    struct cg_error *err;
};

static struct day_row *worker_days(struct stats_ctx *c, const struct cg_patrol__row *r)
{
    struct day_row *w;

    if (c->nworkers && c->rows[(c->nworkers - 1) * (size_t)c->ndays].account_id == r->account_id) {
        return &c->rows[(c->nworkers - 1) * (size_t)c->ndays];
    }
    if (c->nworkers == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->rows = cg_realloc(c->rows, c->cap * (size_t)c->ndays * sizeof(*c->rows));
    }
    w = &c->rows[c->nworkers++ * (size_t)c->ndays];
    for (int d = 0; d < c->ndays; d++) {
        w[d] = (struct day_row){.account_id = r->account_id, .day = c->from_day + d};
        snprintf(w[d].login, sizeof(w[d].login), "%s", r->login);
    }
    return w;
}

static int day_index(const struct stats_ctx *c, int64_t t_ms)
{
    int64_t d = (t_ms + CST_MS) / DAY_MS - c->from_day;

    return d < 0 || d >= c->ndays ? -1 : (int)d;
}

static void stats_one(void *ctx, const struct cg_patrol__row *r)
{
    struct stats_ctx *c = ctx;
    struct day_row *w;
    struct track t = {0};
    int64_t end;

    if (c->rc) {
        return;
    }
    c->rc = cg_patrol__points(c->pm->db, r->id, track_add, &t, c->err);
    w = worker_days(c, r);
    end = r->ended_ms ? r->ended_ms : c->now;
    if (!r->ended_ms && t.n && t.p[t.n - 1].t_ms > end) {
        end = t.p[t.n - 1].t_ms;
    }
    /* Duration: the overlap of [start, end) with each day. */
    for (int d = 0; d < c->ndays; d++) {
        int64_t d0 = (c->from_day + d) * DAY_MS - CST_MS, d1 = d0 + DAY_MS;
        int64_t a = r->started_ms > d0 ? r->started_ms : d0, b = end < d1 ? end : d1;

        if (b > a) {
            w[d].duration_ms += (double)(b - a);
        }
        if (r->started_ms < d1 && end >= d0) {
            w[d].patrols += r->started_ms >= d0 || d == 0 ? 1 : 0;
        }
    }
    for (size_t i = 0; i < t.n; i++) {
        int d = day_index(c, t.p[i].t_ms);

        if (d < 0) {
            continue;
        }
        w[d].points++;
        if (i) {
            w[d].distance_m += segment_m(&t.p[i - 1], &t.p[i]);
        }
    }
    free(t.p);
}

static void day_text(int64_t day, char buf[16])
{
    char iso[CG_TIME_ISO_LEN];

    cg_time_iso(day * DAY_MS, iso, sizeof(iso));
    snprintf(buf, 16, "%.10s", iso);
}

static json_t *day_json(const struct day_row *d, bool with_day)
{
    char text[16];
    json_t *o = json_pack("{s:I, s:I, s:f, s:f}", "patrols", (json_int_t)d->patrols, "points",
                          (json_int_t)d->points, "duration_s", round(d->duration_ms / 100) / 10,
                          "distance_m", round(d->distance_m * 10) / 10);

    if (with_day) {
        day_text(d->day, text);
        json_object_set_new(
            o, "worker",
            json_pack("{s:I, s:s}", "account_id", (json_int_t)d->account_id, "login", d->login));
        json_object_set_new(o, "date", json_string(text));
    }
    return o;
}

int cg_patrol_stats(struct cg_patrols *pm, const struct cg_principal *actor, int64_t worker,
                    const char *from, const char *to, json_t **out, struct cg_error *err)
{
    struct stats_ctx c = {.pm = pm, .now = cg_time_now_ms(), .err = err};
    const char *prefix = NULL;
    int64_t today = (c.now + CST_MS) / DAY_MS, to_day = today;
    struct day_row total = {0};
    char a[16], b[16];
    json_t *rows;
    int rc = list_scope(actor, &worker, &prefix, err);

    if (rc) {
        return rc;
    }
    c.from_day = today;
    if (from && (strlen(from) != 10 || !parse_date(from, &c.from_day))) {
        return cg_error_field(err, CG_EINVAL, "from", "'from' must be a date like 2026-05-01");
    }
    if (to && (strlen(to) != 10 || !parse_date(to, &to_day))) {
        return cg_error_field(err, CG_EINVAL, "to", "'to' must be a date like 2026-05-31");
    }
    if (!to) {
        to_day = c.from_day > today ? c.from_day : today;
    }
    if (to_day < c.from_day || to_day - c.from_day >= CG_PATROL_STATS_DAYS) {
        return cg_error_field(err, CG_EINVAL, "to",
                              "'from'..'to' must be a period of 1 to %d days, 'to' not before "
                              "'from'",
                              CG_PATROL_STATS_DAYS);
    }
    c.ndays = (int)(to_day - c.from_day + 1);
    c.from_ms = c.from_day * DAY_MS - CST_MS;
    c.to_ms = (to_day + 1) * DAY_MS - CST_MS;
    rc = cg_patrol__overlapping(pm->db, worker, prefix, c.from_ms, c.to_ms, stats_one, &c, err);
    rc = rc ? rc : c.rc;
    if (rc) {
        free(c.rows);
        return rc;
    }
    rows = json_array();
    for (size_t i = 0; i < c.nworkers * (size_t)c.ndays; i++) {
        const struct day_row *d = &c.rows[i];

        if (!d->patrols && !d->points && d->duration_ms <= 0) {
            continue;
        }
        json_array_append_new(rows, day_json(d, true));
        total.patrols += d->patrols;
        total.points += d->points;
        total.duration_ms += d->duration_ms;
        total.distance_m += d->distance_m;
    }
    free(c.rows);
    day_text(c.from_day, a);
    day_text(to_day, b);
    *out = json_pack("{s:s, s:s, s:s, s:o, s:o}", "from", a, "to", b, "timezone", "+08:00", "rows",
                     rows, "total", day_json(&total, false));
    return 0;
}

/* ---- duty and nearest --------------------------------------------------------------------- */

int cg_patrol_duty(struct cg_patrols *pm, const struct cg_principal *actor, const char *duty,
                   json_t **out, struct cg_error *err)
{
    char d = !strcmp(duty, "on") ? 'o' : !strcmp(duty, "off") ? 'f' : 'a';
    struct live l;
    int rc = cg_patrol__set_duty(pm->db, actor->account_id, duty, err);

    if (rc) {
        return rc;
    }
    live_update(pm, actor, NULL, -1, NULL, d);
    pthread_mutex_lock(&pm->mu);
    l = *live_find(pm, actor->account_id, true);
    pthread_mutex_unlock(&pm->mu);
    *out = json_pack("{s:s, s:b, s:o, s:o}", "duty", duty, "on_duty",
                     l.duty == 'o' || (l.duty == 'a' && l.running), "patrol",
                     l.running ? json_integer((json_int_t)l.running) : json_null(), "position",
                     l.pos.t_ms ? json_pack("{s:f, s:f, s:o}", "lon", l.pos.lon, "lat", l.pos.lat,
                                            "at", time_json(l.pos.t_ms))
                                : json_null());
    return 0;
}

int cg_patrol_nearest(struct cg_patrols *pm, const struct cg_principal *actor, double lon,
                      double lat, int k, json_t **out, struct cg_error *err)
{
    struct cg_patrol_hit hits[CG_PATROL_NEAREST_MAX];
    const char *prefix = "";
    struct snap *s;
    json_t *list;
    size_t n;

    if (k < 1 || k > CG_PATROL_NEAREST_MAX) {
        return cg_error_field(err, CG_EINVAL, "k", "'k' must be a number from 1 to %d",
                              CG_PATROL_NEAREST_MAX);
    }
    if (actor->scope_kind == CG_SCOPE_GRID) {
        prefix = actor->scope_ref;
    } else if (actor->scope_kind != CG_SCOPE_ALL) {
        return cg_error_set(err, CG_EFORBIDDEN, "workers' positions are seen by grid scope only");
    }
    s = snap_acquire(pm);
    n = cg_patrol_index_nearest(s->ix, lon, lat, cg_time_now_ms() - CG_PATROL_FRESH_MS, prefix,
                                (size_t)k, hits);
    list = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct cg_worker_pos *p = hits[i].pos;

        json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:f, s:f, s:o, s:f}", "account_id",
                                              (json_int_t)p->account_id, "login",
                                              s->meta[hits[i].index].login, "grid", p->grid, "lon",
                                              p->lon, "lat", p->lat, "at", time_json(p->t_ms),
                                              "distance_m", round(hits[i].distance_m * 10) / 10));
    }
    *out = json_pack("{s:o, s:{s:I}}", "workers", list, "index", "available",
                     (json_int_t)cg_patrol_index_count(s->ix));
    snap_unref(pm, s);
    return 0;
}

/* ---- visits ------------------------------------------------------------------------------- */

int cg_visit_create(struct cg_patrols *pm, const struct cg_principal *actor,
                    const struct cg_visit_input *in, json_t **out, struct cg_error *err)
{
    char code[CG_PATROL_GRID_LEN] = "", at[CG_TIME_ISO_LEN];
    int64_t now = cg_time_now_ms(), id = 0, owner;
    size_t i;
    json_t *v;
    int rc = work_grid(pm, actor, "visit.record", in->grid, code, err);

    if (rc) {
        return rc;
    }
    if (in->visited_ms &&
        (in->visited_ms > now + CG_PATROL_SKEW_MS || in->visited_ms < now - VISIT_MAX_AGE_MS)) {
        return cg_error_field(
            err, CG_EINVAL, "visited_at",
            "'visited_at' must lie within the last 30 days and not in the future");
    }
    if (in->opinions && !json_is_array(in->opinions)) {
        return cg_error_field(err, CG_ETYPE, "opinions", "'opinions' must be an array of texts");
    }
    if (json_array_size(in->opinions) > CG_VISIT_OPINIONS_MAX) {
        return cg_error_field(err, CG_EINVAL, "opinions", "at most %d opinions per visit",
                              CG_VISIT_OPINIONS_MAX);
    }
    json_array_foreach(in->opinions, i, v)
    {
        const char *s = json_string_value(v);
        size_t len = s ? strlen(s) : 0;

        if (!s) {
            return cg_error_field(err, CG_ETYPE, "opinions", "'opinions[%zu]' must be a text", i);
        }
        if (!len || len > CG_VISIT_NOTE_MAX * 4 || strspn(s, " \t\r\n") == len) {
            return cg_error_field(err, CG_EINVAL, "opinions",
                                  "'opinions[%zu]' must hold 1 to %d characters", i,
                                  CG_VISIT_NOTE_MAX);
        }
    }
    cg_time_iso(in->visited_ms ? in->visited_ms : now, at, sizeof(at));
    rc = cg_visit__insert(pm->db, actor->account_id, code, in->address, in->household, in->opinions,
                          at, &id, err);
    return rc ? rc : cg_visit__load(pm->db, id, out, &owner, code, err);
}

int cg_visit_get(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id, json_t **out,
                 struct cg_error *err)
{
    char grid[CG_PATROL_GRID_LEN];
    int64_t owner = 0;
    json_t *v = NULL;
    int rc = cg_visit__load(pm->db, id, &v, &owner, grid, err);

    rc = rc ? rc : may_see(actor, owner, grid, "visit", id, err);
    if (rc) {
        json_decref(v);
        return rc;
    }
    *out = v;
    return 0;
}

int cg_visit_list(struct cg_patrols *pm, const struct cg_principal *actor,
                  const struct cg_patrol_query *q, json_t **out, struct cg_error *err)
{
    int64_t worker = q->worker;
    const char *prefix = q->grid;
    json_t *list;
    int rc = list_scope(actor, &worker, &prefix, err);

    if (rc) {
        return rc;
    }
    list = json_array();
    rc = cg_visit__list(pm->db, worker, prefix, q->before_id, q->limit + 1, list, err);
    if (rc) {
        json_decref(list);
        return rc;
    }
    *out = page(list, "visits", q->limit);
    return 0;
}

/* The first max characters (code points) of s into buf. */
static void first_chars(const char *s, size_t max, char *buf, size_t size)
{
    size_t o = 0, chars = 0;

    while (s[o] && chars < max) {
        size_t l = 1;

        while ((s[o + l] & 0xc0) == 0x80) {
            l++;
        }
        o += l;
        chars++;
    }
    snprintf(buf, size, "%.*s", (int)o, s);
}

int cg_visit_opinion_event(struct cg_patrols *pm, const struct cg_principal *actor, int64_t id,
                           int n, struct cg_event_input *in, const char *remote, json_t **out,
                           struct cg_error *err)
{
    char title[CG_EVENT_TITLE_MAX * 4 + 1], note[64];
    json_t *v = NULL, *op, *ev = NULL;
    int rc = cg_visit_get(pm, actor, id, &v, err);

    if (rc) {
        return rc;
    }
    op = json_array_get(json_object_get(v, "opinions"), (size_t)n - 1);
    if (n < 1 || !op) {
        rc = cg_error_field(err, CG_ENOTFOUND, "n", "visit %" PRId64 " has no opinion %d", id, n);
    } else if (!json_is_null(json_object_get(op, "event"))) {
        rc = cg_error_set(err, CG_ECONFLICT,
                          "opinion %d of visit %" PRId64
                          " has already become event %" JSON_INTEGER_FORMAT,
                          n, id, json_integer_value(json_object_get(op, "event")));
    } else if (!pm->events) {
        rc = cg_error_set(err, CG_EINTERNAL, "events are not available");
    }
    if (rc) {
        json_decref(v);
        return rc;
    }
    first_chars(json_string_value(json_object_get(op, "text")), CG_EVENT_TITLE_MAX, title,
                sizeof(title));
    snprintf(note, sizeof(note), "民情: visit %" PRId64 ", opinion %d", id, n);
    in->source = "patrol";
    in->title = in->title ? in->title : title;
    in->description =
        in->description ? in->description : json_string_value(json_object_get(op, "text"));
    in->address = in->address ? in->address : json_string_value(json_object_get(v, "address"));
    in->note = in->note ? in->note : note;
    rc = cg_event_report(pm->events, actor, in, remote, &ev, err);
    if (!rc) {
        json_t *eid = json_object_get(ev, "id");

        rc = cg_visit__link(pm->db, id, n, json_integer_value(eid), err);
    }
    json_decref(v);
    if (rc) {
        json_decref(ev);
        return rc;
    }
    *out = json_pack("{s:I, s:i, s:o}", "visit", (json_int_t)id, "opinion", n, "event", ev);
    return 0;
}
