/*
 * stream.c: endless responses (Server-Sent Events) on libmicrohttpd 0.9.75.
 *
 * A stream is a chunked response from a content-reader callback. When its
 * producer has nothing to say the reader suspends the connection, so an idle
 * stream costs no CPU (returning 0 without suspending makes libmicrohttpd call
 * again at once: a busy loop); cg_stream_wake() resumes it from any thread.
 * A suspended connection never times out, and the stream's connection is
 * exempt from the idle timeout anyway; a client that went away is noticed at
 * the next write (the producer's heartbeats make sure there is one).
 *
 * Locks: the registry's lock, then a stream's own. The reader and
 * cg_stream_wake() take only the stream's; the producer's free_fn is called
 * with no lock held.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "http/http_int.h"

#include <pthread.h>

struct cg_stream {
    struct cg_http__streams *ss;
    struct MHD_Connection *conn;
    cg_stream_read_fn *read;
    void (*free_fn)(void *ctx);
    void *ctx;
    pthread_mutex_t mu;            /* guards the three flags */
    bool suspended;                /* the connection is suspended, waiting for a wake */
    bool wake_pending;             /* woken while not suspended: read again before sleeping */
    bool ending;                   /* the server stops: end at the next read */
    struct cg_stream *prev, *next; /* in the registry, under its lock */
};

struct cg_http__streams {
    pthread_mutex_t mu;
    struct cg_stream *head;
    int n;
    bool ending;
};

struct cg_http__streams *cg_http__streams_new(void)
{
    struct cg_http__streams *ss = cg_calloc(1, sizeof(*ss));

    pthread_mutex_init(&ss->mu, NULL);
    return ss;
}

void cg_http__streams_end(struct cg_http__streams *ss)
{
    pthread_mutex_lock(&ss->mu);
    ss->ending = true;
    for (struct cg_stream *s = ss->head; s; s = s->next) {
        pthread_mutex_lock(&s->mu);
        s->ending = true;
        if (s->suspended) {
            s->suspended = false;
            MHD_resume_connection(s->conn);
        }
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&ss->mu);
}

void cg_http__streams_free(struct cg_http__streams *ss)
{
    if (!ss) {
        return;
    }
    /* libmicrohttpd frees every response before MHD_stop_daemon() returns. */
    pthread_mutex_lock(&ss->mu);
    CG_ASSERT(!ss->n);
    pthread_mutex_unlock(&ss->mu);
    pthread_mutex_destroy(&ss->mu);
    free(ss);
}

/* MHD_ContentReaderCallback: the client can take bytes. */
static ssize_t on_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct cg_stream *s = cls;

    (void)pos;
    for (;;) {
        ssize_t n;

        pthread_mutex_lock(&s->mu);
        if (s->ending) {
            pthread_mutex_unlock(&s->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        s->wake_pending = false;
        pthread_mutex_unlock(&s->mu);
        n = s->read(s->ctx, buf, max);
        if (n) {
            return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
        }
        pthread_mutex_lock(&s->mu);
        if (!s->wake_pending && !s->ending) {
            /* Nothing to send: sleep until cg_stream_wake(), then we are called again. */
            s->suspended = true;
            MHD_suspend_connection(s->conn);
            pthread_mutex_unlock(&s->mu);
            return 0;
        }
        pthread_mutex_unlock(&s->mu); /* woken meanwhile: read again */
    }
}

/* MHD_ContentReaderFreeCallback: the response is gone (sent, dropped or never queued). */
static void on_free(void *cls)
{
    struct cg_stream *s = cls;
    struct cg_http__streams *ss = s->ss;

    pthread_mutex_lock(&ss->mu);
    if (s->prev) {
        s->prev->next = s->next;
    } else {
        ss->head = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    }
    ss->n--;
    pthread_mutex_unlock(&ss->mu);
    s->free_fn(s->ctx);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void cg_stream_wake(struct cg_stream *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->suspended) {
        s->suspended = false;
        MHD_resume_connection(s->conn);
    } else {
        s->wake_pending = true;
    }
    pthread_mutex_unlock(&s->mu);
}

int cg_reply_stream(struct cg_req *req, const char *content_type, cg_stream_read_fn *read,
                    void (*free_fn)(void *ctx), void *ctx, struct cg_stream **out_stream)
{
    struct cg_http__streams *ss = cg_http__server_streams(req->srv);
    struct cg_stream *s;
    struct MHD_Response *resp;

    CG_ASSERT(!req->resp); /* one reply per request */
    pthread_mutex_lock(&ss->mu);
    if (ss->ending) {
        pthread_mutex_unlock(&ss->mu);
        free_fn(ctx);
        return CG_ESHUTDOWN;
    }
    s = cg_calloc(1, sizeof(*s));
    s->ss = ss;
    s->conn = req->conn;
    s->read = read;
    s->free_fn = free_fn;
    s->ctx = ctx;
    pthread_mutex_init(&s->mu, NULL);
    s->next = ss->head;
    if (ss->head) {
        ss->head->prev = s;
    }
    ss->head = s;
    ss->n++;
    pthread_mutex_unlock(&ss->mu);

    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, on_read, s, on_free);
    if (!resp) {
        on_free(s);
        return CG_ENOMEM;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* nginx: pass events at once */
    cg_http__common_headers(req, resp);
    for (int i = 0; i < req->n_extra_headers; i++) {
        MHD_add_response_header(resp, req->extra_headers[i][0], req->extra_headers[i][1]);
    }
    /* A stream is quiet between events: the idle timeout must not end it. */
    MHD_set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0U);
    req->resp = resp;
    req->status = 200;
    *out_stream = s;
    return 0;
}
