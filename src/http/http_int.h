/*
 * http_int.h: private to src/http. The request structure, the router and the
 * metrics registry shared by server.c, router.c, static.c and metrics.c.
 */
#ifndef CG_HTTP_INT_H
#define CG_HTTP_INT_H

#include "base/cg.h"
#include "base/str.h"
#include "http/http.h"

#include <microhttpd.h>

#define CG_HTTP_MAX_PARAMS 8
#define CG_HTTP_MAX_URI 8192         /* longest request target; longer gets 414 */
#define CG_HTTP_ROUTE_STATIC (-1)    /* metrics slot: static files */
#define CG_HTTP_ROUTE_UNMATCHED (-2) /* metrics slot: no route, bad request */

struct cg_http_param {
    const char *name; /* borrowed from the pattern, not NUL-terminated: name_len bytes */
    size_t name_len;
    char *value; /* owned, decoded */
};

struct cg_req {
    struct cg_http_server *srv;
    struct MHD_Connection *conn;
    char id[72]; /* up to 64 characters from the client, or generated */
    char remote[64];
    const char *method; /* borrowed from MHD */
    char *raw_uri;      /* owned: the request target as received */
    int64_t t0_ns;      /* when the request line arrived */
    uint64_t db_ns;     /* database time spent on this request */

    struct cg_str body; /* the buffered body, capped at max_body */
    size_t discarded;   /* body bytes dropped after a refusal */
    bool seen_first;    /* the first access-handler call happened */
    bool body_too_big;
    bool queued_to_worker;
    bool handled; /* the pipeline ran: resp or an error is ready */

    int route_idx; /* index in the route table, or CG_HTTP_ROUTE_* */
    struct cg_http_param params[CG_HTTP_MAX_PARAMS];
    int n_params;
    json_t *json; /* owned: parsed body of CG_ROUTE_JSON routes */

    void *user; /* owned through user_free: the authenticated caller */
    void (*user_free)(void *);
    char *extra_headers[8][2]; /* owned: added to the response, see cg_req_add_header() */
    int n_extra_headers;

    struct MHD_Response *resp; /* owned until queued */
    int status;
    struct cg_req *next_work; /* worker queue link */
};

/*
 * Matches method and path against the table. Returns the route index and
 * fills params, or -1 when no pattern matches the path, or -2 when patterns
 * match but none for this method (allow then lists the methods, comma-separated).
 */
int cg_http__route_match(const struct cg_route *routes, size_t n, const char *method,
                         const char *path, struct cg_req *req, struct cg_str *allow);

/* Serves a file below web_root for GET/HEAD; replies 404/400 JSON itself when needed. */
int cg_http__serve_static(struct cg_req *req, const char *web_root, const char *csp,
                          const char *path, struct cg_error *err);

/* Adds the headers every response carries (request id, nosniff, frame and referrer policy). */
void cg_http__common_headers(struct cg_req *req, struct MHD_Response *resp);

/* ---- connection admission (admit.c) ------------------------------------------------------ */

struct cg_http__admit;
struct cg_http__conn;
struct sockaddr;
/* Limits in all and per address; exempt (may be NULL) is an address not limited per address. */
struct cg_http__admit *cg_http__admit_new(int max_total, int max_per_ip,
                                          const struct sockaddr *exempt);
void cg_http__admit_free(struct cg_http__admit *a);
/* Counts a new connection from sa and decides its verdict; free with cg_http__admit_close(). */
struct cg_http__conn *cg_http__admit_open(struct cg_http__admit *a, const struct sockaddr *sa);
void cg_http__admit_close(struct cg_http__admit *a, struct cg_http__conn *c);
/* 0 when c's requests may be served, else CG_EOVERLOADED or CG_ETOOMANYCONN with err set. */
int cg_http__admit_verdict(const struct cg_http__conn *c, struct cg_error *err);
/* Connections open now (admitted or not). */
int cg_http__admit_open_count(struct cg_http__admit *a);

/* ---- metrics ---------------------------------------------------------------------------- */

struct cg_http_metrics;
struct cg_http_metrics *cg_http__metrics_new(size_t n_routes);
void cg_http__metrics_free(struct cg_http_metrics *m);
void cg_http__metrics_observe(struct cg_http_metrics *m, int route_idx, int status, int64_t ns,
                              uint64_t db_ns);
void cg_http__metrics_render(struct cg_http_metrics *m, const struct cg_route *routes,
                             struct cg_str *out);

/* ---- streams (stream.c) ------------------------------------------------------------------ */

struct cg_http__streams;
struct cg_http__streams *cg_http__streams_new(void);
/* Ends every stream and refuses new ones (a stopping server); returns at once. */
void cg_http__streams_end(struct cg_http__streams *ss);
/* Frees the registry once every stream is over. NULL-safe. */
void cg_http__streams_free(struct cg_http__streams *ss);
/* The server's stream registry. */
struct cg_http__streams *cg_http__server_streams(struct cg_http_server *srv);

#endif
