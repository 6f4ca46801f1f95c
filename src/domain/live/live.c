/*
 * live.c: the hub of the live map (live.h, docs/LIVE.md). One thread, one
 * lock. Each tick reads the feeds' heads (three index look-ups), and when
 * subscribers exist the rows between the cursors and the heads; messages are
 * rendered once and appended to the queue of each subscriber allowed to see
 * them, whose stream is then woken. A queue past queue_bytes means a client
 * that does not read: it is dropped rather than allowed to grow.
 */
#include "base/cg.h"
#include "domain/live/live.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/str.h"
#include "base/time.h"
#include "domain/auth/auth.h"
#include "domain/calendar/calendar.h"
#include "domain/event/event.h"
#include "domain/patrol/patrol.h"

#include <pthread.h>

#define EVENT_ROWS_PER_TICK 1000 /* log rows (and notices) one tick reads at most */
#define POSITIONS_PER_TICK 2000
#define CATCHUP_EVENTS 1000 /* a resumed stream missing more gets "reset" */

struct cursor {
    int64_t log, notice, pos_ms;
};

struct cg_live_sub {
    struct cg_live *lv;
    struct cg_principal p;   /* a copy: the request's principal ends with the request */
    void (*wake)(void *arg); /* NULL until attached */
    void *wake_arg;
    char *buf; /* unsent bytes [off, len) */
    size_t len, off, cap;
    bool dropped;       /* its queue overflowed: end now */
    bool finish;        /* end once the queue is sent (max_stream_s) */
    bool catchup;       /* resume from `from` at the next tick */
    struct cursor from; /* with catchup */
    int64_t last_ms;    /* when bytes were last queued (heartbeats) */
    int64_t ends_ms;    /* max_stream_s after the start */
    bool touched;       /* queued bytes in this tick: wake it */
    struct cg_live_sub *prev, *next;
};

struct cg_live {
    struct cg_db *db;
    struct cg_calendar *cal;
    struct cg_live_options opt;
    pthread_t thread;
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cond;
    bool stop;
    struct cursor cur;
    int64_t *same_ms; /* accounts already sent whose change time is cur.pos_ms */
    size_t n_same, cap_same;
    struct cg_live_sub *subs;
    int n_subs;
    uint64_t n_messages, n_dropped, n_resets; /* since the start, for the metrics */
};

/* ---- cursors ---------------------------------------------------------------------------- */

static void cursor_text(const struct cursor *c, char out[CG_LIVE_CURSOR_MAX])
{
    snprintf(out, CG_LIVE_CURSOR_MAX, "%" PRId64 "-%" PRId64 "-%" PRId64, c->log, c->notice,
             c->pos_ms);
}

static bool parse_part(const char **s, int64_t *out, char end)
{
    char *e = NULL;

    if (**s < '0' || **s > '9') {
        return false;
    }
    errno = 0;
    *out = strtoll(*s, &e, 10);
    if (errno || *e != end || *out < 0) {
        return false;
    }
    *s = end ? e + 1 : e;
    return true;
}

static bool cursor_parse(const char *s, struct cursor *out)
{
    return parse_part(&s, &out->log, '-') && parse_part(&s, &out->notice, '-') &&
           parse_part(&s, &out->pos_ms, '\0');
}

/* ---- queues ----------------------------------------------------------------------------- */

static void drop(struct cg_live *lv, struct cg_live_sub *s)
{
    if (!s->dropped) {
        lv->n_dropped++;
        CG_LOG(CG_LOG_WARN, "live: a subscriber (account %" PRId64 ") does not keep up: dropped",
               s->p.account_id);
    }
    s->dropped = true;
    free(s->buf);
    s->buf = NULL;
    s->len = s->off = s->cap = 0;
    s->touched = true;
}

/* Appends text to s's queue (lock held); a queue past queue_bytes drops s. */
static void put(struct cg_live *lv, struct cg_live_sub *s, const char *text, size_t n)
{
    if (s->dropped) {
        return;
    }
    if (s->len - s->off + n > lv->opt.queue_bytes) {
        drop(lv, s);
        return;
    }
    if (s->off && s->len + n > s->cap) {
        memmove(s->buf, s->buf + s->off, s->len - s->off);
        s->len -= s->off;
        s->off = 0;
    }
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;

        while (cap < s->len + n) {
            cap *= 2;
        }
        s->buf = cg_realloc(s->buf, cap);
        s->cap = cap;
    }
    memcpy(s->buf + s->len, text, n);
    s->len += n;
    s->touched = true;
}

/*
 * "event: <type>\ndata: <json>\n\n" (json_dumps never writes a newline in compact mode).
 * Ten significant digits: coordinates to 1e-7 degree (about a centimetre), not 22.637101999999999.
 */
static char *message(const char *type, json_t *data, size_t *out_len)
{
    char *text = json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(10));
    struct cg_str m = CG_STR_INIT_MAX(1 << 20);
    char *out;

    json_decref(data);
    if (!text) {
        return NULL;
    }
    cg_str_addf(&m, "event: %s\ndata: %s\n\n", type, text);
    free(text);
    out = cg_str_detach(&m, out_len);
    return out;
}

/* ---- one tick --------------------------------------------------------------------------- */

struct events_buf {
    struct cg_event_feed_item *items;
    size_t n, cap;
};

static void collect_event(void *ctx, const struct cg_event_feed_item *it)
{
    struct events_buf *b = ctx;

    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->items = cg_realloc(b->items, b->cap * sizeof(*b->items));
    }
    b->items[b->n++] = *it;
}

struct positions_buf {
    struct cg_patrol_feed_item *items;
    size_t n, cap;
};

static void collect_position(void *ctx, const struct cg_patrol_feed_item *it)
{
    struct positions_buf *b = ctx;

    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->items = cg_realloc(b->items, b->cap * sizeof(*b->items));
    }
    b->items[b->n++] = *it;
}

/* Queues the events of b to the subscribers (one, or all when only is NULL) that may see them. */
static void fan_events(struct cg_live *lv, const struct events_buf *b, struct cg_live_sub *only)
{
    for (size_t i = 0; i < b->n; i++) {
        size_t len = 0;
        char *m = message("event", cg_event_feed_json(&b->items[i]), &len);

        for (struct cg_live_sub *s = only ? only : lv->subs; m && s; s = only ? NULL : s->next) {
            if (!s->catchup && cg_event_feed_visible(&s->p, &b->items[i])) {
                put(lv, s, m, len);
                lv->n_messages++;
            }
        }
        free(m);
    }
}

static void fan_positions(struct cg_live *lv, const struct positions_buf *b,
                          struct cg_live_sub *only)
{
    for (size_t i = 0; i < b->n; i++) {
        size_t len = 0;
        char *m;

        if (!b->items[i].t_ms) {
            continue; /* a duty flag before any position: nothing to draw */
        }
        m = message("position", cg_patrol_feed_json(&b->items[i]), &len);
        for (struct cg_live_sub *s = only ? only : lv->subs; m && s; s = only ? NULL : s->next) {
            if (!s->catchup && cg_patrol_feed_visible(&s->p, &b->items[i])) {
                put(lv, s, m, len);
                lv->n_messages++;
            }
        }
        free(m);
    }
}

/* A resumed subscriber: what it missed between its cursor and the hub's (lock held). */
static void catch_up(struct cg_live *lv, struct cg_live_sub *s, int64_t now)
{
    struct events_buf eb = {0};
    struct positions_buf pb = {0};
    struct cg_error err = CG_ERROR_INIT;
    bool more = false, pmore = false;
    int rc;

    s->catchup = false;
    if (s->from.log > lv->cur.log || s->from.notice > lv->cur.notice) {
        return; /* a cursor from elsewhere (another database): start from now */
    }
    rc =
        cg_event_feed_changes(lv->db, lv->cal, s->from.log, lv->cur.log, s->from.notice,
                              lv->cur.notice, CATCHUP_EVENTS, now, collect_event, &eb, &more, &err);
    if (!rc) {
        rc = cg_patrol_feed_changes(lv->db, s->from.pos_ms, POSITIONS_PER_TICK, collect_position,
                                    &pb, &pmore, &err);
    }
    if (rc || more || pmore) {
        static const char reset[] = "event: reset\ndata: {}\n\n";

        put(lv, s, reset, sizeof(reset) - 1); /* too much missed: reload the snapshot */
        lv->n_resets++;
    } else {
        fan_events(lv, &eb, s);
        fan_positions(lv, &pb, s);
    }
    free(eb.items);
    free(pb.items);
}

static bool sent_same_ms(const struct cg_live *lv, int64_t account_id)
{
    for (size_t i = 0; i < lv->n_same; i++) {
        if (lv->same_ms[i] == account_id) {
            return true;
        }
    }
    return false;
}

/* Keeps the position changes not sent yet and moves the position cursor past them. */
static void advance_positions(struct cg_live *lv, struct positions_buf *pb)
{
    size_t kept = 0;

    for (size_t i = 0; i < pb->n; i++) {
        struct cg_patrol_feed_item *it = &pb->items[i];

        if (it->at_ms < lv->cur.pos_ms ||
            (it->at_ms == lv->cur.pos_ms && sent_same_ms(lv, it->account_id))) {
            continue;
        }
        if (it->at_ms > lv->cur.pos_ms) {
            lv->cur.pos_ms = it->at_ms;
            lv->n_same = 0;
        }
        if (lv->n_same == lv->cap_same) {
            lv->cap_same = lv->cap_same ? 2 * lv->cap_same : 64;
            lv->same_ms = cg_realloc(lv->same_ms, lv->cap_same * sizeof(*lv->same_ms));
        }
        lv->same_ms[lv->n_same++] = it->account_id;
        pb->items[kept++] = *it;
    }
    pb->n = kept;
}

/* One poll; returns true when it stopped short of the heads (call again at once). */
static bool tick(struct cg_live *lv)
{
    struct events_buf eb = {0};
    struct positions_buf pb = {0};
    struct cg_error err = CG_ERROR_INIT;
    int64_t log_head = 0, notice_head = 0, pos_head = 0, now = cg_time_now_ms();
    bool more = false, behind = false;
    int rc;

    rc = cg_event_feed_head(lv->db, &log_head, &notice_head, &err);
    rc = rc ? rc : cg_patrol_feed_head(lv->db, &pos_head, &err);
    pthread_mutex_lock(&lv->mu);
    if (rc) {
        goto out;
    }
    for (struct cg_live_sub *s = lv->subs; s; s = s->next) {
        if (s->catchup) {
            catch_up(lv, s, now);
        }
    }
    if (!lv->n_subs) {
        /* Nobody listens: skip what happened (a new subscriber starts from now anyway). */
        lv->cur.log = log_head;
        lv->cur.notice = notice_head;
        lv->cur.pos_ms = pos_head;
        lv->n_same = 0;
        goto out;
    }
    {
        /*
         * Only this thread moves the cursors, so the rows are read without the lock (streams
         * keep being read meanwhile); a subscriber that comes in between starts at the old
         * cursor and gets these rows too.
         */
        struct cursor c = lv->cur;
        int64_t upto_log =
            log_head < c.log + EVENT_ROWS_PER_TICK ? log_head : c.log + EVENT_ROWS_PER_TICK;
        int64_t upto_notice = notice_head < c.notice + EVENT_ROWS_PER_TICK
                                  ? notice_head
                                  : c.notice + EVENT_ROWS_PER_TICK;

        pthread_mutex_unlock(&lv->mu);
        if (upto_log > c.log || upto_notice > c.notice) {
            rc = cg_event_feed_changes(lv->db, lv->cal, c.log, upto_log, c.notice, upto_notice,
                                       2 * EVENT_ROWS_PER_TICK, now, collect_event, &eb, &more,
                                       &err);
        }
        if (!rc) {
            rc = cg_patrol_feed_changes(lv->db, c.pos_ms, POSITIONS_PER_TICK, collect_position, &pb,
                                        &more, &err);
        }
        pthread_mutex_lock(&lv->mu);
        if (rc) {
            goto out;
        }
        lv->cur.log = upto_log;
        lv->cur.notice = upto_notice;
        advance_positions(lv, &pb);
        /* Positions count only when their cursor moved: never a loop over one millisecond. */
        behind =
            (more && lv->cur.pos_ms > c.pos_ms) || upto_log < log_head || upto_notice < notice_head;
    }
    fan_events(lv, &eb, NULL);
    fan_positions(lv, &pb, NULL);

out:
    if (rc) {
        CG_LOG(CG_LOG_ERROR, "live: cannot read the change feeds: %s", err.message);
    }
    {
        char id[CG_LIVE_CURSOR_MAX + 8], cur[CG_LIVE_CURSOR_MAX];

        cursor_text(&lv->cur, cur);
        snprintf(id, sizeof(id), "id: %s\n\n", cur);
        for (struct cg_live_sub *s = lv->subs; s; s = s->next) {
            if (s->touched && !s->dropped) {
                put(lv, s, id, strlen(id)); /* the cursor after this tick's messages */
            } else if (!s->dropped && now - s->last_ms >= lv->opt.heartbeat_ms) {
                put(lv, s, ": heartbeat\n\n", 13); /* also finds clients that went away */
            }
            if (now >= s->ends_ms && !s->finish) {
                s->finish = true;
                s->touched = true;
            }
            if (s->touched) {
                s->touched = false;
                s->last_ms = now;
                if (s->wake) {
                    s->wake(s->wake_arg);
                }
            }
        }
    }
    pthread_mutex_unlock(&lv->mu);
    free(eb.items);
    free(pb.items);
    return behind;
}

static void *hub_main(void *arg)
{
    struct cg_live *lv = arg;

    bool behind = false;

    pthread_mutex_lock(&lv->mu);
    while (!lv->stop) {
        struct timespec ts;

        if (!behind) {
            /* A burst past the per-poll bounds is caught up without waiting. */
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += (long)(lv->opt.poll_ms % 1000) * 1000000L;
            ts.tv_sec += lv->opt.poll_ms / 1000 + ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&lv->cond, &lv->mu, &ts);
        }
        if (lv->stop) {
            break;
        }
        pthread_mutex_unlock(&lv->mu);
        behind = tick(lv);
        pthread_mutex_lock(&lv->mu);
    }
    pthread_mutex_unlock(&lv->mu);
    return NULL;
}

/* ---- the hub ---------------------------------------------------------------------------- */

int cg_live_start(struct cg_db *db, struct cg_calendar *cal, const struct cg_live_options *opt,
                  struct cg_live **out, struct cg_error *err)
{
    struct cg_live *lv = cg_calloc(1, sizeof(*lv));
    int rc;

    lv->db = db;
    lv->cal = cal ? cg_calendar_hold(cal) : NULL;
    lv->opt = *opt;
    pthread_mutex_init(&lv->mu, NULL);
    pthread_cond_init(&lv->cond, NULL);
    rc = cg_event_feed_head(db, &lv->cur.log, &lv->cur.notice, err);
    rc = rc ? rc : cg_patrol_feed_head(db, &lv->cur.pos_ms, err);
    if (!rc && pthread_create(&lv->thread, NULL, hub_main, lv)) {
        rc = cg_error_set(err, CG_EINTERNAL, "cannot start the live map's thread");
    }
    if (rc) {
        if (lv->cal) {
            cg_calendar_release(lv->cal);
        }
        pthread_cond_destroy(&lv->cond);
        pthread_mutex_destroy(&lv->mu);
        free(lv);
        return rc;
    }
    *out = lv;
    return 0;
}

void cg_live_stop(struct cg_live *lv)
{
    if (!lv) {
        return;
    }
    pthread_mutex_lock(&lv->mu);
    lv->stop = true;
    pthread_cond_signal(&lv->cond);
    pthread_mutex_unlock(&lv->mu);
    pthread_join(lv->thread, NULL);
    CG_ASSERT(!lv->subs); /* the HTTP server ended every stream first */
    if (lv->cal) {
        cg_calendar_release(lv->cal);
    }
    pthread_cond_destroy(&lv->cond);
    pthread_mutex_destroy(&lv->mu);
    free(lv->same_ms);
    free(lv);
}

void cg_live_cursor(struct cg_live *lv, char out[CG_LIVE_CURSOR_MAX])
{
    pthread_mutex_lock(&lv->mu);
    cursor_text(&lv->cur, out);
    pthread_mutex_unlock(&lv->mu);
}

int cg_live_subscribers(struct cg_live *lv)
{
    int n;

    pthread_mutex_lock(&lv->mu);
    n = lv->n_subs;
    pthread_mutex_unlock(&lv->mu);
    return n;
}

void cg_live_stats(struct cg_live *lv, struct cg_live_stats *out)
{
    pthread_mutex_lock(&lv->mu);
    out->subscribers = lv->n_subs;
    out->messages = lv->n_messages;
    out->dropped = lv->n_dropped;
    out->resets = lv->n_resets;
    pthread_mutex_unlock(&lv->mu);
}

static void copy_principal(struct cg_principal *dst, const struct cg_principal *src)
{
    *dst = *src;
    dst->permissions = cg_calloc(src->n_permissions ? src->n_permissions : 1, sizeof(char *));
    for (size_t i = 0; i < src->n_permissions; i++) {
        dst->permissions[i] = cg_strdup(src->permissions[i]);
    }
}

int cg_live_subscribe(struct cg_live *lv, const struct cg_principal *p, const char *resume_from,
                      json_t *hello, struct cg_live_sub **out, struct cg_error *err)
{
    struct cursor from = {0};
    struct cg_live_sub *s;
    char cur[CG_LIVE_CURSOR_MAX], from_text[CG_LIVE_CURSOR_MAX], head[2 * CG_LIVE_CURSOR_MAX];
    size_t len = 0;
    char *m;
    int64_t now = cg_time_now_ms();

    if (resume_from && *resume_from && !cursor_parse(resume_from, &from)) {
        json_decref(hello);
        return cg_error_field(
            err, CG_EINVAL, "after",
            "'%.40s' is not a live map cursor (three numbers, as 12-3-1764000000000)", resume_from);
    }
    pthread_mutex_lock(&lv->mu);
    if (lv->n_subs >= lv->opt.max_subscribers) {
        int n = lv->n_subs;

        pthread_mutex_unlock(&lv->mu);
        json_decref(hello);
        return cg_error_set(err, CG_EBUSY,
                            "the live map has %d viewers, its limit (live.max_subscribers); "
                            "try again later",
                            n);
    }
    s = cg_calloc(1, sizeof(*s));
    s->lv = lv;
    copy_principal(&s->p, p);
    s->last_ms = now;
    s->ends_ms = now + (int64_t)lv->opt.max_stream_s * 1000;
    if (resume_from && *resume_from) {
        s->catchup = true;
        s->from = from;
    }
    cursor_text(&lv->cur, cur);
    json_object_set_new(hello, "cursor", json_string(cur));
    /* Without a resume cursor the hello's cursor is where this stream starts. */
    cursor_text(&s->from, from_text);
    snprintf(head, sizeof(head), "retry: 3000\nid: %s\n", s->catchup ? from_text : cur);
    put(lv, s, head, strlen(head));
    m = message("hello", hello, &len);
    if (m) {
        put(lv, s, m, len);
        free(m);
    }
    s->touched = false;
    s->next = lv->subs;
    if (lv->subs) {
        lv->subs->prev = s;
    }
    lv->subs = s;
    lv->n_subs++;
    pthread_mutex_unlock(&lv->mu);
    *out = s;
    return 0;
}

void cg_live_sub_attach(struct cg_live_sub *s, void (*wake)(void *arg), void *arg)
{
    pthread_mutex_lock(&s->lv->mu);
    s->wake = wake;
    s->wake_arg = arg;
    pthread_mutex_unlock(&s->lv->mu);
}

ssize_t cg_live_sub_read(void *ctx, char *buf, size_t max)
{
    struct cg_live_sub *s = ctx;
    struct cg_live *lv = s->lv;
    ssize_t n = 0;

    pthread_mutex_lock(&lv->mu);
    if (s->dropped) {
        n = CG_LIVE_END;
    } else if (s->len > s->off) {
        size_t k = s->len - s->off < max ? s->len - s->off : max;

        memcpy(buf, s->buf + s->off, k);
        s->off += k;
        if (s->off == s->len) {
            s->off = s->len = 0;
        }
        n = (ssize_t)k;
    } else if (s->finish) {
        n = CG_LIVE_END;
    }
    pthread_mutex_unlock(&lv->mu);
    return n;
}

void cg_live_sub_free(void *ctx)
{
    struct cg_live_sub *s = ctx;
    struct cg_live *lv = s->lv;

    pthread_mutex_lock(&lv->mu);
    if (s->prev) {
        s->prev->next = s->next;
    } else {
        lv->subs = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    }
    lv->n_subs--;
    pthread_mutex_unlock(&lv->mu);
    cg_principal_release(&s->p);
    free(s->buf);
    free(s);
}
