/*
 * live.h: the hub of the live command-center map (docs/LIVE.md).
 *
 * It knows nothing of HTTP: a subscriber is read through cg_live_sub_read()
 * (a stream callback of the HTTP edge) and woken through the function given
 * to cg_live_sub_attach().
 *
 * One thread polls the store's change feeds every poll_ms: the event log and
 * the sweep's notices after their id cursors, the workers' positions after
 * their change time. It turns each change into one compact Server-Sent Events
 * message and queues it to every subscriber whose principal may see it. Only
 * committed changes are pushed, from every writer (API, the sweep, the CLI).
 * Each message block ends with an "id:" line, the cursor "L-N-P" (log id,
 * notice id, position time in ms), so a browser that reconnects with
 * Last-Event-ID gets what it missed, or a "reset" message when too much did.
 */
#ifndef CG_LIVE_H
#define CG_LIVE_H

#include "base/cg.h"
#include "base/err.h"

#include <jansson.h>
#include <sys/types.h>

struct cg_db;
struct cg_calendar;
struct cg_principal;

#define CG_LIVE_CURSOR_MAX 64 /* bytes of a cursor's text, with its NUL */

struct cg_live_options {
    int max_subscribers; /* streams open at once; more: CG_EBUSY */
    size_t queue_bytes;  /* unsent bytes a subscriber may have; past it, it is dropped */
    int poll_ms;         /* between two polls of the feeds */
    int heartbeat_ms;    /* a comment line to a stream quiet this long */
    int max_stream_s;    /* a stream ends after this long (the browser reconnects, signed in) */
};

struct cg_live;
struct cg_live_sub;

/*
 * Starts the hub over db; holds a reference on cal (may be NULL) for the
 * warnings. The cursors start at the feeds' heads. Free with cg_live_stop().
 */
int cg_live_start(struct cg_db *db, struct cg_calendar *cal, const struct cg_live_options *opt,
                  struct cg_live **out, struct cg_error *err) CG_MUST_CHECK;
/* Stops the thread and frees the hub; every stream must be over (cg_http_stop() first). */
void cg_live_stop(struct cg_live *lv);

/* The hub's cursor now, as text (a snapshot is consistent with a stream resumed from it). */
void cg_live_cursor(struct cg_live *lv, char out[CG_LIVE_CURSOR_MAX]);

/*
 * A new subscriber for p (copied) whose first message is "hello" with data
 * (taken; its "cursor" is set here). resume_from is a cursor from
 * Last-Event-ID or the snapshot (NULL or "": from now on); CG_EINVAL when it
 * is not one. CG_EBUSY when max_subscribers streams are open.
 */
int cg_live_subscribe(struct cg_live *lv, const struct cg_principal *p, const char *resume_from,
                      json_t *hello, struct cg_live_sub **out, struct cg_error *err) CG_MUST_CHECK;
#define CG_LIVE_END ((ssize_t)-1) /* from cg_live_sub_read(): the stream is over */

/*
 * Copies up to max queued bytes of sub into buf: how many, 0 when none are
 * queued (wait for the wake), CG_LIVE_END when the stream must end (dropped,
 * or past max_stream_s). Any thread.
 */
ssize_t cg_live_sub_read(void *sub, char *buf, size_t max);
/* Unsubscribes and frees sub (the stream is over). */
void cg_live_sub_free(void *sub);
/*
 * Tells the hub how to wake the stream that carries sub when messages come:
 * wake(arg), called with the hub's lock held (so never after cg_live_sub_free()).
 */
void cg_live_sub_attach(struct cg_live_sub *sub, void (*wake)(void *arg), void *arg);

/* Subscribers now (for the status and the tests). */
int cg_live_subscribers(struct cg_live *lv);

/* What the hub did since it started, for GET /metrics. */
struct cg_live_stats {
    int subscribers;   /* streams open now */
    uint64_t messages; /* messages queued to streams (one per stream that got it) */
    uint64_t dropped;  /* streams dropped for not reading (live.queue_kib) */
    uint64_t resets;   /* resumed streams told to load the snapshot again */
};
void cg_live_stats(struct cg_live *lv, struct cg_live_stats *out);

#endif
