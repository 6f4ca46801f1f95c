/*
 * live_api.c: the live command-center map over HTTP (docs/LIVE.md): the
 * snapshot a page starts from, and the Server-Sent Events stream of what
 * changes after it. Scope and messages are decided by the hub (app/live.c)
 * and the event and patrol feeds.
 */
#include "base/cg.h"
#include "api/api.h"
#include "app/app.h"
#include "base/time.h"
#include "domain/auth/auth.h"
#include "domain/event/event.h"
#include "domain/live/live.h"
#include "domain/patrol/patrol.h"

#define SNAPSHOT_EVENTS 2000 /* open events of a snapshot, newest first */

struct counts {
    json_t *events; /* NULL: count only */
    json_t *workers;
    int64_t open, red, yellow, n_workers;
};

static void count_event(void *ctx, const struct cg_event_feed_item *it)
{
    struct counts *c = ctx;

    c->open++;
    c->red += !strcmp(it->warning, "red");
    c->yellow += !strcmp(it->warning, "yellow");
    if (c->events) {
        json_array_append_new(c->events, cg_event_feed_json(it));
    }
}

static void count_worker(void *ctx, const struct cg_patrol_feed_item *it)
{
    struct counts *c = ctx;

    c->n_workers++;
    if (c->workers) {
        json_array_append_new(c->workers, cg_patrol_feed_json(it));
    }
}

/* What p sees now: counts into c, and the items when c asks for them. */
static int scan(struct cg_app *app, const struct cg_principal *p, struct counts *c,
                struct cg_error *err)
{
    int rc = cg_event_feed_open(app->db, app->calendar, p, SNAPSHOT_EVENTS, cg_time_now_ms(),
                                count_event, c, err);

    return rc ? rc : cg_patrol_feed_all(app->db, p, count_worker, c, err);
}

int cg_api_live_snapshot(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    const struct cg_principal *p = cg_req_user(req);
    char cursor[CG_LIVE_CURSOR_MAX];
    struct counts c = {json_array(), json_array(), 0, 0, 0, 0};
    int rc;

    /* The cursor first: a stream resumed from it repeats rather than misses a change. */
    cg_live_cursor(app->live, cursor);
    rc = scan(app, p, &c, err);
    if (rc) {
        json_decref(c.events);
        json_decref(c.workers);
        return rc;
    }
    return cg_reply_json(req, 200,
                         json_pack("{s:s, s:o, s:o, s:b, s:{s:I, s:I}}", "cursor", cursor, "events",
                                   c.events, "workers", c.workers, "truncated",
                                   c.open >= SNAPSHOT_EVENTS, "warnings", "red", (json_int_t)c.red,
                                   "yellow", (json_int_t)c.yellow));
}

static void wake(void *stream)
{
    cg_stream_wake(stream);
}

int cg_api_live_stream(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    const struct cg_principal *p = cg_req_user(req);
    const char *resume = cg_req_header(req, "Last-Event-ID");
    struct counts c = {NULL, NULL, 0, 0, 0, 0};
    struct cg_live_sub *sub = NULL;
    struct cg_stream *stream = NULL;
    int rc;

    if (!resume || !*resume) {
        resume = cg_req_query(req, "after"); /* from a snapshot: EventSource sends no header */
    }
    rc = scan(app, p, &c, err);
    if (rc) {
        return rc;
    }
    rc = cg_live_subscribe(app->live, p, resume,
                           json_pack("{s:I, s:b, s:{s:I, s:I}, s:I}", "open_events",
                                     (json_int_t)c.open, "truncated", c.open >= SNAPSHOT_EVENTS,
                                     "warnings", "red", (json_int_t)c.red, "yellow",
                                     (json_int_t)c.yellow, "workers", (json_int_t)c.n_workers),
                           &sub, err);
    if (rc) {
        if (rc == CG_EBUSY) {
            cg_req_add_header(req, "Retry-After", "10");
        }
        return rc;
    }
    rc = cg_reply_stream(req, "text/event-stream; charset=utf-8", cg_live_sub_read,
                         cg_live_sub_free, sub, &stream);
    if (rc) {
        return cg_error_set(err, rc, "cannot open the live stream");
    }
    cg_live_sub_attach(sub, wake, stream);
    return 0;
}
