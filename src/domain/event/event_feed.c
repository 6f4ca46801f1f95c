/*
 * event_feed.c: the event side of the live map (docs/LIVE.md): what changed
 * since a cursor, the open events of a scope, who may see an event, and the
 * compact JSON the browsers get. The rows come from event_feed_store.c; the
 * warning is decided here by the rule of the event list (event.c): red past
 * the step's deadline, yellow in the last quarter of the step's working time.
 */
#include "base/cg.h"
#include "domain/event/event.h"
#include "domain/auth/auth.h"
#include "domain/calendar/calendar.h"
#include "domain/event/event_feed_int.h"

static const char *warning_of(struct cg_calendar *cal, const struct cg_event_feed__row *r,
                              int64_t now)
{
    int64_t start, due, left = 0, span = 0;
    struct cg_error err = CG_ERROR_INIT;

    if (!r->item.open || !r->deadline_at[0] || !r->step_started_at[0] ||
        !cg_time_parse_iso(r->deadline_at, &due) ||
        !cg_time_parse_iso(r->step_started_at, &start)) {
        return "none";
    }
    if (now >= due) {
        return "red";
    }
    if (!cal || cg_calendar_elapsed(cal, now, due, &left, &err) ||
        cg_calendar_elapsed(cal, start, due, &span, &err)) {
        left = due - now; /* natural time when the calendar cannot say */
        span = due - start;
    }
    return span > 0 && left * 4 <= span ? "yellow" : "none";
}

struct feed {
    struct cg_calendar *cal;
    int64_t now;
    int limit, n;
    bool more;
    cg_event_feed_fn *fn;
    void *ctx;
};

static void feed_row(void *ctx, struct cg_event_feed__row *row)
{
    struct feed *f = ctx;

    if (f->n++ >= f->limit) {
        f->more = true;
        return;
    }
    row->item.warning = warning_of(f->cal, row, f->now);
    f->fn(f->ctx, &row->item);
}

int cg_event_feed_head(struct cg_db *db, int64_t *out_log, int64_t *out_notice,
                       struct cg_error *err)
{
    *out_log = *out_notice = 0;
    return cg_event_feed__head(db, out_log, out_notice, err);
}

int cg_event_feed_changes(struct cg_db *db, struct cg_calendar *cal, int64_t after_log,
                          int64_t upto_log, int64_t after_notice, int64_t upto_notice, int limit,
                          int64_t now_ms, cg_event_feed_fn *fn, void *ctx, bool *out_more,
                          struct cg_error *err)
{
    struct feed f = {cal, now_ms, limit, 0, false, fn, ctx};
    int rc = cg_event_feed__changes(db, after_log, upto_log, after_notice, upto_notice, limit,
                                    feed_row, &f, err);

    *out_more = f.more;
    return rc;
}

int cg_event_feed_open(struct cg_db *db, struct cg_calendar *cal, const struct cg_principal *p,
                       int limit, int64_t now_ms, cg_event_feed_fn *fn, void *ctx,
                       struct cg_error *err)
{
    struct feed f = {cal, now_ms, limit, 0, false, fn, ctx};
    struct cg_event_feed__scope scope = {"", "", 0};

    if (!cg_auth_has(p, "event.read")) {
        return 0; /* nothing to show, as the event list would show nothing */
    }
    switch (p->scope_kind) {
    case CG_SCOPE_ALL:
        break;
    case CG_SCOPE_GRID:
        scope.grid_prefix = p->scope_ref;
        break;
    case CG_SCOPE_DEPARTMENT:
        scope.department = p->scope_ref;
        break;
    case CG_SCOPE_OWN:
        scope.owner_id = p->account_id ? p->account_id : -1;
        break;
    }
    return cg_event_feed__open(db, &scope, limit, feed_row, &f, err);
}

bool cg_event_feed_visible(const struct cg_principal *p, const struct cg_event_feed_item *item)
{
    struct cg_auth_object obj = {item->grid_code, item->department, item->reporter_id};

    return !cg_auth_allow(p, "event.read", &obj, NULL);
}

json_t *cg_event_feed_json(const struct cg_event_feed_item *it)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:f, s:f, s:s, s:s, s:s, s:I, s:s, s:b}", "id",
                     (json_int_t)it->id, "state", it->state, "tier", it->tier, "warning",
                     it->warning ? it->warning : "none", "urgency", it->urgency, "risk", it->risk,
                     "lon", it->lon, "lat", it->lat, "grid", it->grid_code, "category",
                     it->category_name, "title", it->title, "version", (json_int_t)it->version,
                     "at", it->at, "open", it->open);
}
