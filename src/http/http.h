/*
 * http.h: the HTTP edge of civgridd, as handlers see it.
 *
 * The server owns the transport (libmicrohttpd), the limits, the route lookup,
 * body buffering and JSON parsing, request ids, metrics and the access log.
 * By the time a handler runs, its route matched, its permission was checked,
 * and for CG_ROUTE_JSON routes the body is a parsed JSON object. A handler
 * reads the request through the cg_req_* calls, calls the domain, and replies
 * with exactly one cg_reply_* call, or returns a CG_E* code with err filled in
 * and lets the server render the error.
 */
#ifndef CG_HTTP_H
#define CG_HTTP_H

#include "base/cg.h"
#include "base/err.h"

#include <jansson.h>

struct cg_req;
struct cg_str;

/* Returns 0 after one cg_reply_*() call, or a CG_E* code with err set (no reply sent). */
typedef int cg_handler_fn(struct cg_req *req, struct cg_error *err);

enum cg_route_flags {
    CG_ROUTE_JSON = 1 << 0,   /* the body must be a JSON object (Content-Type: application/json) */
    CG_ROUTE_WRITE = 1 << 1,  /* runs on a worker thread: it waits for a durable commit */
    CG_ROUTE_UPLOAD = 1 << 2, /* the body may be up to max_upload bytes (files) */
    /*
     * The body is raw bytes (a photo), up to max_raw bytes: a Content-Type is required and
     * JSON, form and multipart types are refused (415) before the body is read; the handler
     * checks the bytes themselves (cg_req_body()).
     */
    CG_ROUTE_RAW = 1 << 3,
    /*
     * With CG_ROUTE_JSON: the body is checked and parsed only when the handler calls
     * cg_req_json_parse(), so that a handler with a reader of its own for its common body
     * (cg_req_body()) pays for no JSON tree; the errors are those of CG_ROUTE_JSON.
     */
    CG_ROUTE_JSON_LAZY = 1 << 4,
};

/* One row of the route table (app/routes.def). */
struct cg_route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/api/v1/things/:id": ':' segments are parameters */
    cg_handler_fn *handler;
    const char *permission; /* named permission, or "public" */
    unsigned flags;         /* enum cg_route_flags */
    const char *summary;    /* one line for the route index and the docs */
};

/* ---- reading the request ---------------------------------------------------------------- */

/* Application context given to cg_http_start(); borrowed. */
void *cg_req_app(struct cg_req *req);
/* The request id ("X-Request-Id"), borrowed until the request ends. */
const char *cg_req_id(const struct cg_req *req);
/* Client address as text. */
const char *cg_req_remote(const struct cg_req *req);
/* A path parameter of the matched pattern (":id" -> "id"), or NULL. */
const char *cg_req_param(const struct cg_req *req, const char *name);
/* A query-string argument, or NULL. Borrowed. */
const char *cg_req_query(struct cg_req *req, const char *name);
/* A request header, or NULL. Borrowed. */
const char *cg_req_header(struct cg_req *req, const char *name);
/* The parsed JSON body of a CG_ROUTE_JSON route (an object); borrowed. */
json_t *cg_req_json(const struct cg_req *req);

/*
 * Parses the body of a CG_ROUTE_JSON_LAZY route as CG_ROUTE_JSON routes have it before their
 * handler (UTF-8, JSON, an object; on_bad_body told of a refusal), once: then cg_req_json().
 * Returns 0 or CG_EBADUTF8 / CG_EBADJSON / CG_ETYPE with err set.
 */
int cg_req_json_parse(struct cg_req *req, struct cg_error *err) CG_MUST_CHECK;

/* The raw request body and its length (after the server's checks); borrowed. */
const char *cg_req_body(const struct cg_req *req, size_t *out_len);

/* The cookie of the named name, or NULL. Borrowed. */
const char *cg_req_cookie(struct cg_req *req, const char *name);
/* The request's method ("GET", ...). */
const char *cg_req_method(const struct cg_req *req);

/*
 * The authenticated caller, set by the gate (see cg_gate_fn) and freed with
 * free_fn when the request ends. NULL for anonymous requests.
 */
void cg_req_set_user(struct cg_req *req, void *user, void (*free_fn)(void *));
void *cg_req_user(const struct cg_req *req);

/*
 * Adds a header to whatever response this request gets (a reply or an error),
 * e.g. Set-Cookie or Retry-After. name and value are copied.
 */
void cg_req_add_header(struct cg_req *req, const char *name, const char *value);

/* ---- typed parameters (params.c) ------------------------------------------------------ */

/* The path parameter name as a positive id; CG_ENOTFOUND "no <what> '...'" otherwise. */
int cg_req_path_id(struct cg_req *req, const char *name, const char *what, int64_t *out,
                   struct cg_error *err) CG_MUST_CHECK;
/* A whole number in [min, max]; absent leaves *out as it is; empty or bad is CG_EINVAL. */
int cg_req_query_int(struct cg_req *req, const char *name, int64_t min, int64_t max, int64_t *out,
                     struct cg_error *err) CG_MUST_CHECK;
/* A finite decimal number in [min, max]; absent is CG_EMISSING, bad CG_EINVAL. */
int cg_req_query_number(struct cg_req *req, const char *name, double min, double max, double *out,
                        struct cg_error *err) CG_MUST_CHECK;
/* UTF-8 text of at most max_chars characters (borrowed); absent or empty: *out NULL. */
int cg_req_query_text(struct cg_req *req, const char *name, size_t max_chars, const char **out,
                      struct cg_error *err) CG_MUST_CHECK;
/* A division or grid code: 1..max_digits digits (borrowed); absent: *out NULL. */
int cg_req_query_code(struct cg_req *req, const char *name, size_t max_digits, const char **out,
                      struct cg_error *err) CG_MUST_CHECK;

/* ---- replying --------------------------------------------------------------------------- */

/* Replies with body as JSON. Takes ownership of body. */
int cg_reply_json(struct cg_req *req, int status, json_t *body);
/* Replies with len bytes of JSON text already written. Takes ownership of text (free()). */
int cg_reply_json_text(struct cg_req *req, int status, char *text, size_t len);
/* Replies with raw bytes (copied). */
int cg_reply_data(struct cg_req *req, int status, const char *content_type, const void *data,
                  size_t len);
/*
 * Replies 200 with immutable content named by etag (a content hash): ETag, Cache-Control
 * "private, max-age=31536000, immutable", or 304 without a body when If-None-Match names etag.
 * Takes ownership of data (freed with free()).
 */
int cg_reply_blob(struct cg_req *req, const char *content_type, void *data, size_t len,
                  const char *etag);
/* Replies {"error":{"code","message","field","request_id"}} for code, using err's detail. */
int cg_reply_error(struct cg_req *req, int code, const struct cg_error *err);

/* ---- streams (Server-Sent Events, docs/HTTP.md) ------------------------------------------ */

struct cg_stream;

#define CG_STREAM_END ((ssize_t)-1) /* from a cg_stream_read_fn: the stream is over */

/*
 * Copies up to max bytes of what is ready into buf and returns how many; 0
 * when nothing is ready (the connection then sleeps, costing nothing, until
 * cg_stream_wake()); CG_STREAM_END to end the response. Runs on an I/O thread.
 */
typedef ssize_t cg_stream_read_fn(void *ctx, char *buf, size_t max);

/*
 * Replies 200 with an endless body of content_type (chunked, no caching, no
 * proxy buffering) produced by read(ctx). The connection is exempt from the
 * idle timeout; the stream ends when read says so, when the client goes away
 * or when the server stops (cg_http_stop() ends every stream first). Takes
 * ownership of ctx: free_fn(ctx) runs exactly once when the stream is over,
 * also when this call fails. *out_stream is borrowed until free_fn runs.
 */
int cg_reply_stream(struct cg_req *req, const char *content_type, cg_stream_read_fn *read,
                    void (*free_fn)(void *ctx), void *ctx, struct cg_stream **out_stream);

/*
 * Tells a stream that its reader has something again; any thread, any time
 * until the stream's free_fn ran (the caller must make sure of that, e.g. by
 * holding the lock its free_fn takes).
 */
void cg_stream_wake(struct cg_stream *s);

/* ---- the server ------------------------------------------------------------------------- */

/*
 * The gate: runs before every handler with the route being called. It
 * authenticates the request (cg_req_set_user()) and decides whether the
 * route's permission is granted. Returns 0 to let the handler run, or a CG_E*
 * (401, 403...) with err set. Public routes pass through it too.
 */
typedef int cg_gate_fn(void *gate_ctx, struct cg_req *req, const struct cg_route *route,
                       struct cg_error *err);

struct cg_http_server;

struct cg_http_options {
    const char *address;
    int port;    /* 0: any free port */
    int threads; /* I/O threads, >= 1 */
    int workers; /* write-handler threads, >= 1 */
    size_t max_body;
    size_t max_upload; /* body limit of CG_ROUTE_UPLOAD routes */
    size_t max_raw;    /* body limit of CG_ROUTE_RAW routes (0: max_body) */
    size_t max_header;
    int max_connections;
    int max_per_ip;
    int idle_timeout_s;
    const char *web_root;      /* directory served at / ("" to serve nothing) */
    const char *trusted_proxy; /* address of a front proxy whose X-Real-IP is believed, or "" */
    const char *img_source;    /* another origin HTML pages may load images from (map tiles) */
    cg_gate_fn *gate;          /* NULL: only "public" routes are callable */
    /* Told of every request body refused as malformed (for the audit); may be NULL. */
    void (*on_bad_body)(void *gate_ctx, struct cg_req *req, const struct cg_route *route,
                        const struct cg_error *err);
    void *gate_ctx;
};

/*
 * Starts serving routes[0..n_routes) in background threads. app is handed to
 * handlers through cg_req_app(). Returns 0 and a server owned by the caller
 * (stop it with cg_http_stop()), or CG_EIO / CG_EINVAL with err set.
 */
int cg_http_start(const struct cg_http_options *opt, const struct cg_route *routes, size_t n_routes,
                  void *app, struct cg_http_server **out_srv, struct cg_error *err) CG_MUST_CHECK;
/* The port actually bound (useful with port 0). */
int cg_http_port(const struct cg_http_server *srv);
/*
 * Stops accepting connections, lets in-flight requests finish for up to
 * timeout_s seconds, then closes everything and frees srv. NULL-safe.
 */
void cg_http_stop(struct cg_http_server *srv, int timeout_s);
/* Appends the Prometheus text exposition of the server's metrics to out. */
void cg_http_metrics(struct cg_http_server *srv, struct cg_str *out);

#endif
