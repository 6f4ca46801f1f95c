/*
 * server.c: civgridd's HTTP transport on libmicrohttpd, and the one request
 * pipeline every request goes through (redis processCommand + call):
 *
 *   request line -> request id, limits -> route lookup (404/405) -> content
 *   type and size (415/413) -> body buffered under its cap -> JSON parsed and
 *   checked (400) -> permission (401/403) -> handler, inline for reads or on a
 *   worker thread for writes -> response -> metrics and one access-log line.
 *
 * libmicrohttpd runs a pool of I/O threads, each with its own epoll set. Write
 * handlers wait for a durable commit, so they run on separate worker threads
 * while their connection is suspended: the I/O threads keep serving, and many
 * writes wait on the same commit, which is what lets the store group them.
 * Responses are queued only after the body was consumed (queuing on the first
 * call makes libmicrohttpd close the connection: perf-notes pitfall 1), except
 * for refusals of a body we do not want to read (413, 415, 404 with a body).
 */
#include "base/cg.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/str.h"
#include "base/time.h"
#include "db/db.h"
#include "http/http_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

struct cg_http_server {
    struct MHD_Daemon *daemon;
    struct cg_http_options opt;
    char *address; /* owned copies of the string options */
    char *web_root;
    char *trusted_proxy;
    char *csp;                     /* Content-Security-Policy of HTML pages */
    const struct cg_route *routes; /* borrowed: the static route table */
    size_t n_routes;
    void *app;
    int port;

    char id_prefix[9]; /* random per process, so ids differ across restarts */
    _Atomic uint64_t id_counter;
    _Atomic int inflight; /* requests between request line and completion */
    atomic_bool stopping;
    struct cg_http_metrics *metrics;
    struct cg_http__admit *admit; /* connection counts and verdicts (admit.c) */

    pthread_mutex_t work_lock; /* guards the worker queue */
    pthread_cond_t work_cond;
    struct cg_req *work_head, *work_tail;
    bool work_stop;
    pthread_t *workers;
    int n_workers;

    struct cg_http__streams *streams; /* endless responses (stream.c), ended first on stop */
};

static int req_error_reply(struct cg_req *req, int code, const struct cg_error *err);

/* ---- request life cycle ----------------------------------------------------------------- */

static bool valid_request_id(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++) {
        char c = s[n];

        if (n >= 64 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
            return false;
        }
    }
    return n > 0;
}

static void format_remote(struct MHD_Connection *conn, char *buf, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(buf, size, "?");
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                  (socklen_t)size);
    } else if (sa && sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                  (socklen_t)size);
    }
}

/* MHD_OPTION_URI_LOG_CALLBACK: the request line arrived; this starts the request's life. */
static void *on_request_start(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct cg_http_server *srv = cls;
    struct cg_req *req = cg_calloc(1, sizeof(*req));

    req->srv = srv;
    req->conn = conn;
    req->t0_ns = cg_time_mono_ns();
    req->raw_uri = cg_strdup(uri ? uri : "");
    req->route_idx = CG_HTTP_ROUTE_UNMATCHED;
    cg_str_init(&req->body, srv->opt.max_body);
    format_remote(conn, req->remote, sizeof(req->remote));
    atomic_fetch_add(&srv->inflight, 1);
    return req;
}

/*
 * The body limit of the request's route: max_raw for raw routes, http.max_upload for upload
 * routes, else max_body.
 */
static size_t body_limit(const struct cg_req *req)
{
    const struct cg_http_server *srv = req->srv;
    unsigned flags = req->route_idx >= 0 ? srv->routes[req->route_idx].flags : 0;

    if ((flags & CG_ROUTE_RAW) && srv->opt.max_raw) {
        return srv->opt.max_raw;
    }
    return flags & CG_ROUTE_UPLOAD ? srv->opt.max_upload : srv->opt.max_body;
}

static void req_free(struct cg_req *req)
{
    if (req->user && req->user_free) {
        req->user_free(req->user);
    }
    for (int i = 0; i < req->n_extra_headers; i++) {
        free(req->extra_headers[i][0]);
        free(req->extra_headers[i][1]);
    }
    for (int i = 0; i < req->n_params; i++) {
        free(req->params[i].value);
    }
    if (req->resp) {
        MHD_destroy_response(req->resp);
    }
    json_decref(req->json);
    cg_str_release(&req->body);
    free(req->raw_uri);
    free(req);
}

static void log_access(struct cg_req *req, int64_t ns, enum MHD_RequestTerminationCode toe)
{
    json_t *f;
    const char *route = "";

    if (!CG_LOG_ENABLED(CG_LOG_INFO)) {
        return;
    }
    if (req->route_idx >= 0) {
        route = req->srv->routes[req->route_idx].pattern;
    } else if (req->route_idx == CG_HTTP_ROUTE_STATIC) {
        route = "static";
    }
    /* The raw URI may hold any bytes: log it only when it is valid UTF-8. */
    f = json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:f, s:I, s:s}", "rid", req->id, "method",
                  req->method ? req->method : "", "route", route, "uri",
                  cg_utf8_valid(req->raw_uri, strlen(req->raw_uri)) ? req->raw_uri
                                                                    : "(invalid utf-8)",
                  "status", req->status, "ms", (double)ns / 1e6, "db_ms", (double)req->db_ns / 1e6,
                  "bytes_in", (json_int_t)cg_str_len(&req->body), "remote", req->remote);
    if (f && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        json_object_set_new(f, "terminated", json_string("aborted"));
    }
    cg_log_json(CG_LOG_INFO, "request", f);
}

/* MHD_OPTION_NOTIFY_COMPLETED: the response was sent or the connection dropped. */
static void on_request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe)
{
    struct cg_http_server *srv = cls;
    struct cg_req *req = *con_cls;
    int64_t ns;

    (void)conn;
    if (!req) {
        return;
    }
    ns = cg_time_mono_ns() - req->t0_ns;
    if (req->status) {
        cg_http__metrics_observe(srv->metrics, req->route_idx, req->status, ns, req->db_ns);
    }
    log_access(req, ns, toe);
    req_free(req);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->inflight, 1);
}

/* MHD_OPTION_NOTIFY_CONNECTION: counts connections and decides whether each is admitted. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct cg_http_server *srv = cls;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

        *socket_context = cg_http__admit_open(srv->admit, ci ? ci->client_addr : NULL);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        cg_http__admit_close(srv->admit, *socket_context);
        *socket_context = NULL;
    }
}

/*
 * libmicrohttpd's own limits, above ours: connections between the two are
 * accepted and answered 503/429 (admit.c); past these they are closed at accept.
 */
static unsigned headroom(int limit, int floor)
{
    return (unsigned)limit + (unsigned)(limit / 8 > floor ? limit / 8 : floor);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
        msg[--n] = '\0';
    }
    cg_log_json(CG_LOG_WARN, "libmicrohttpd", json_pack("{s:s}", "detail", msg));
}

/* ---- replies ---------------------------------------------------------------------------- */

void cg_http__common_headers(struct cg_req *req, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Request-Id", req->id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

static void set_response(struct cg_req *req, int status, struct MHD_Response *resp)
{
    CG_ASSERT(!req->resp); /* one reply per request */
    cg_http__common_headers(req, resp);
    for (int i = 0; i < req->n_extra_headers; i++) {
        MHD_add_response_header(resp, req->extra_headers[i][0], req->extra_headers[i][1]);
    }
    req->resp = resp;
    req->status = status;
}

int cg_reply_data(struct cg_req *req, int status, const char *content_type, const void *data,
                  size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);

    if (!resp) {
        return CG_ENOMEM;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    set_response(req, status, resp);
    return 0;
}

int cg_reply_blob(struct cg_req *req, const char *content_type, void *data, size_t len,
                  const char *etag)
{
    const char *inm = cg_req_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
    char tag[160];
    struct MHD_Response *resp;
    int status = 200;

    snprintf(tag, sizeof(tag), "\"%s\"", etag);
    if (inm && (strstr(inm, tag) || !strcmp(inm, "*"))) {
        free(data);
        data = NULL;
        len = 0;
        status = 304;
    }
    resp = MHD_create_response_from_buffer(len, data,
                                           data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(data);
        return CG_ENOMEM;
    }
    if (status == 200) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, tag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            "private, max-age=31536000, immutable");
    set_response(req, status, resp);
    return 0;
}

int cg_reply_json(struct cg_req *req, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);

    json_decref(body);
    return text ? cg_reply_json_text(req, status, text, strlen(text)) : CG_ENOMEM;
}

int cg_reply_json_text(struct cg_req *req, int status, char *text, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);

    if (!resp) {
        free(text);
        return CG_ENOMEM;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    set_response(req, status, resp);
    return 0;
}

int cg_reply_error(struct cg_req *req, int code, const struct cg_error *err)
{
    const char *msg = err && err->code && err->message[0] ? err->message : cg_err_msg(code);
    json_t *e = json_pack("{s:s, s:s, s:s}", "code", cg_err_code(code), "message", msg,
                          "request_id", req->id);

    if (!e) {
        /* The message was not valid UTF-8: never echo it. */
        e = json_pack("{s:s, s:s, s:s}", "code", cg_err_code(code), "message", cg_err_msg(code),
                      "request_id", req->id);
    }
    if (err && err->code && err->field[0]) {
        json_object_set_new(e, "field", json_string(err->field));
    }
    return cg_reply_json(req, cg_err_http_status(code), json_pack("{s:o}", "error", e));
}

static int req_error_reply(struct cg_req *req, int code, const struct cg_error *err)
{
    if (req->resp) {
        MHD_destroy_response(req->resp);
        req->resp = NULL;
    }
    return cg_reply_error(req, code, err);
}

/* ---- what handlers read ----------------------------------------------------------------- */

void *cg_req_app(struct cg_req *req)
{
    return req->srv->app;
}

const char *cg_req_id(const struct cg_req *req)
{
    return req->id;
}

const char *cg_req_remote(const struct cg_req *req)
{
    return req->remote;
}

const char *cg_req_param(const struct cg_req *req, const char *name)
{
    size_t len = strlen(name);

    for (int i = 0; i < req->n_params; i++) {
        if (req->params[i].name_len == len && !memcmp(req->params[i].name, name, len)) {
            return req->params[i].value;
        }
    }
    return NULL;
}

const char *cg_req_query(struct cg_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *cg_req_header(struct cg_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

json_t *cg_req_json(const struct cg_req *req)
{
    return req->json;
}

const char *cg_req_body(const struct cg_req *req, size_t *out_len)
{
    *out_len = cg_str_len(&req->body);
    return cg_str_ptr(&req->body);
}

const char *cg_req_cookie(struct cg_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

const char *cg_req_method(const struct cg_req *req)
{
    return req->method;
}

void cg_req_set_user(struct cg_req *req, void *user, void (*free_fn)(void *))
{
    CG_ASSERT(!req->user);
    req->user = user;
    req->user_free = free_fn;
}

void *cg_req_user(const struct cg_req *req)
{
    return req->user;
}

void cg_req_add_header(struct cg_req *req, const char *name, const char *value)
{
    CG_ASSERT(req->n_extra_headers < (int)CG_ARRAY_LEN(req->extra_headers));
    req->extra_headers[req->n_extra_headers][0] = cg_strdup(name);
    req->extra_headers[req->n_extra_headers][1] = cg_strdup(value);
    req->n_extra_headers++;
}

/* ---- the pipeline ----------------------------------------------------------------------- */

static bool is_json_type(const char *ct)
{
    static const char json[] = "application/json";
    size_t n = sizeof(json) - 1;

    if (!ct || strncasecmp(ct, json, n)) {
        return false;
    }
    ct += n;
    while (*ct == ' ') {
        ct++;
    }
    /* Only UTF-8 is accepted: a charset parameter, if given, must say so. */
    return !*ct || !strcasecmp(ct, ";charset=utf-8") || !strcasecmp(ct, "; charset=utf-8") ||
           !strcasecmp(ct, "; charset=\"utf-8\"");
}

/* A raw body's type: present, and none that a parser of ours or of libmicrohttpd would read. */
static bool is_raw_type(const char *ct)
{
    return ct && *ct && strncasecmp(ct, "application/json", 16) &&
           strncasecmp(ct, "multipart/", 10) &&
           strncasecmp(ct, "application/x-www-form-urlencoded", 33);
}

static bool has_body(struct cg_req *req)
{
    const char *cl = cg_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = cg_req_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING);

    return te || (cl && strcmp(cl, "0"));
}

static enum MHD_Result add_header_len(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    size_t *total = cls;

    (void)kind;
    *total += strlen(key) + (value ? strlen(value) : 0) + 4; /* "k: v\r\n" */
    return MHD_YES;
}

/* Bytes of the request line and headers, as the client sent them (near enough). */
static size_t header_bytes(struct cg_req *req)
{
    size_t total = strlen(req->raw_uri) + strlen(req->method) + 12;

    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, add_header_len, &total);
    return total;
}

/*
 * Checks made once the headers are in: everything that can refuse the request
 * before its body is read. Returns 0 or a CG_E* with err set.
 */
static int precheck(struct cg_req *req, const char *path, struct cg_error *err)
{
    struct cg_http_server *srv = req->srv;
    struct cg_str allow = CG_STR_INIT_MAX(256);
    const char *cl;
    int idx;

    if (atomic_load(&srv->stopping)) {
        return cg_error_set(err, CG_ESHUTDOWN, NULL);
    }
    {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        int rc = cg_http__admit_verdict(ci ? ci->socket_context : NULL, err);

        if (rc) {
            /* Shed: a short answer, and the slot comes back as soon as it is sent. */
            cg_req_add_header(req, "Retry-After", "1");
            cg_req_add_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
            return rc;
        }
    }
    if (strlen(req->raw_uri) > CG_HTTP_MAX_URI) {
        return cg_error_set(err, CG_EURITOOLONG, "the request URI is longer than %d bytes",
                            CG_HTTP_MAX_URI);
    }
    if (header_bytes(req) > srv->opt.max_header) {
        return cg_error_set(err, CG_EHEADERS, "the request headers exceed %zu bytes",
                            srv->opt.max_header);
    }
    if (strstr(req->raw_uri, "%00") || !cg_utf8_valid(path, strlen(path))) {
        return cg_error_set(err, strstr(req->raw_uri, "%00") ? CG_EBADREQ : CG_EBADUTF8,
                            "the request path must be well-formed UTF-8 without NUL bytes");
    }
    idx = cg_http__route_match(srv->routes, srv->n_routes, req->method, path, req, &allow);
    if (idx == -2 && !strcmp(req->method, "OPTIONS")) {
        cg_str_adds(&allow, ", OPTIONS");
        req->route_idx = CG_HTTP_ROUTE_UNMATCHED;
        cg_reply_data(req, 204, "text/plain", "", 0);
        MHD_add_response_header(req->resp, MHD_HTTP_HEADER_ALLOW, cg_str_ptr(&allow));
        cg_str_release(&allow);
        return 0;
    }
    if (idx == -2) {
        cg_error_set(err, CG_EMETHOD, "method %s is not allowed here; allowed: %s", req->method,
                     cg_str_ptr(&allow));
        cg_str_release(&allow);
        return CG_EMETHOD;
    }
    cg_str_release(&allow);
    if (idx == -1) {
        if (!strncmp(path, "/api/", 5) || !strcmp(path, "/api")) {
            return cg_error_set(err, CG_ENOTFOUND, "no API endpoint %s %s", req->method, path);
        }
        if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
            return cg_error_set(err, CG_EMETHOD,
                                "method %s is not allowed here; allowed: GET, HEAD", req->method);
        }
        req->route_idx = CG_HTTP_ROUTE_STATIC;
        return 0;
    }
    req->route_idx = idx;
    if (srv->routes[idx].flags & (CG_ROUTE_UPLOAD | CG_ROUTE_RAW)) {
        cg_str_release(&req->body); /* still empty: no body has been read yet */
        cg_str_init(&req->body, body_limit(req));
    }
    if (srv->routes[idx].flags & CG_ROUTE_JSON) {
        if (!is_json_type(cg_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE))) {
            return cg_error_set(err, CG_EMEDIATYPE,
                                "send the body as JSON with 'Content-Type: application/json'");
        }
    } else if (srv->routes[idx].flags & CG_ROUTE_RAW) {
        if (has_body(req) && !is_raw_type(cg_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE))) {
            return cg_error_set(err, CG_EMEDIATYPE,
                                "send the raw bytes with their own Content-Type (e.g. image/jpeg);"
                                " JSON, form and multipart bodies are not accepted here");
        }
    } else if (has_body(req)) {
        return cg_error_set(err, CG_EBADREQ, "this endpoint takes no request body");
    }
    cl = cg_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end = NULL;
        unsigned long long n;

        errno = 0;
        n = strtoull(cl, &end, 10);
        if (errno || end == cl || *end) {
            return cg_error_set(err, CG_EBADREQ, "invalid Content-Length");
        }
        if (n > body_limit(req)) {
            return cg_error_set(err, CG_ETOOBIG, "the request body is %llu bytes; the limit is %zu",
                                n, body_limit(req));
        }
    }
    return 0;
}

/* Parses and checks the body of a JSON route into req->json. */
static int parse_json_body(struct cg_req *req, struct cg_error *err)
{
    json_error_t jerr;
    const char *body = cg_str_ptr(&req->body);
    size_t len = cg_str_len(&req->body);

    if (!len) {
        return cg_error_set(err, CG_EBADJSON, "the request body is empty; send a JSON object");
    }
    if (!cg_utf8_valid(body, len)) {
        return cg_error_set(err, CG_EBADUTF8, "the request body is not well-formed UTF-8");
    }
    req->json =
        json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!req->json) {
        return cg_error_set(err, CG_EBADJSON, "malformed JSON at line %d, column %d: %s", jerr.line,
                            jerr.column, jerr.text);
    }
    if (!json_is_object(req->json)) {
        return cg_error_set(err, CG_ETYPE, "the request body must be a JSON object");
    }
    return 0;
}

int cg_req_json_parse(struct cg_req *req, struct cg_error *err)
{
    int rc;

    if (req->json) {
        return json_is_object(req->json)
                   ? 0
                   : cg_error_set(err, CG_ETYPE, "the request body must be a JSON object");
    }
    rc = parse_json_body(req, err);
    if (rc && req->srv->opt.on_bad_body) {
        req->srv->opt.on_bad_body(req->srv->opt.gate_ctx, req, &req->srv->routes[req->route_idx],
                                  err);
    }
    return rc;
}

/* Runs the route's handler and leaves a response in req->resp. */
static void run_handler(struct cg_req *req)
{
    const struct cg_route *route = &req->srv->routes[req->route_idx];
    struct cg_error err = CG_ERROR_INIT;
    int rc = 0;

    (void)cg_db_thread_take_ns();
    /* Who is asking and may they, before anything of the body is looked at. */
    if (req->srv->opt.gate) {
        rc = req->srv->opt.gate(req->srv->opt.gate_ctx, req, route, &err);
    } else if (strcmp(route->permission, "public")) {
        rc = cg_error_set(&err, CG_EUNAUTH, "sign in to use %s %s", route->method, route->pattern);
    }
    if (!rc && (route->flags & CG_ROUTE_JSON) && !(route->flags & CG_ROUTE_JSON_LAZY)) {
        rc = cg_req_json_parse(req, &err);
    }
    if (!rc) {
        rc = route->handler(req, &err);
        if (!rc && !req->resp) {
            rc = cg_error_set(&err, CG_EINTERNAL, "the handler sent no reply");
        }
    }
    req->db_ns += cg_db_thread_take_ns();
    if (rc) {
        if (cg_err_http_status(rc) >= 500) {
            cg_log_json(CG_LOG_ERROR, "request failed",
                        json_pack("{s:s, s:s, s:s}", "rid", req->id, "code", cg_err_code(rc),
                                  "detail", err.message));
        }
        req_error_reply(req, rc, &err);
    }
    req->handled = true;
}

/* ---- worker threads for write routes ---------------------------------------------------- */

static void *worker_main(void *arg)
{
    struct cg_http_server *srv = arg;

    prctl(PR_SET_NAME, "cg-http-write"); /* for top -H and perf */
    for (;;) {
        struct cg_req *req;

        pthread_mutex_lock(&srv->work_lock);
        while (!srv->work_head && !srv->work_stop) {
            pthread_cond_wait(&srv->work_cond, &srv->work_lock);
        }
        req = srv->work_head;
        if (!req) {
            pthread_mutex_unlock(&srv->work_lock);
            return NULL;
        }
        srv->work_head = req->next_work;
        if (!srv->work_head) {
            srv->work_tail = NULL;
        }
        pthread_mutex_unlock(&srv->work_lock);

        run_handler(req);
        MHD_resume_connection(req->conn);
    }
}

static void enqueue_work(struct cg_http_server *srv, struct cg_req *req)
{
    pthread_mutex_lock(&srv->work_lock);
    req->next_work = NULL;
    if (srv->work_tail) {
        srv->work_tail->next_work = req;
    } else {
        srv->work_head = req;
    }
    srv->work_tail = req;
    pthread_cond_signal(&srv->work_cond);
    pthread_mutex_unlock(&srv->work_lock);
}

/* ---- the access handler ----------------------------------------------------------------- */

static enum MHD_Result queue(struct cg_req *req)
{
    enum MHD_Result r;

    CG_ASSERT(req->resp);
    r = MHD_queue_response(req->conn, (unsigned)req->status, req->resp);
    MHD_destroy_response(req->resp);
    req->resp = NULL;
    return r;
}

/* Refuses the request now; used when its body should not be read at all. */
static enum MHD_Result refuse_now(struct cg_req *req, int code, struct cg_error *err)
{
    req_error_reply(req, code, err);
    if (!MHD_get_response_header(req->resp, MHD_HTTP_HEADER_CONNECTION)) {
        MHD_add_response_header(req->resp, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    req->handled = true;
    return queue(req);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct cg_http_server *srv = cls;
    struct cg_req *req = *con_cls;

    (void)version;
    if (!req) {
        req = on_request_start(srv, url, conn);
        *con_cls = req;
    }
    if (!req->seen_first) {
        struct cg_error err = CG_ERROR_INIT;
        const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
        int rc;

        req->seen_first = true;
        req->method = method;
        if (*srv->trusted_proxy && !strcmp(req->remote, srv->trusted_proxy)) {
            /* Behind nginx every peer is the proxy: take the client's address it vouches for. */
            const char *real = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Real-IP");
            unsigned char buf[sizeof(struct in6_addr)];

            if (real && strlen(real) < sizeof(req->remote) &&
                (inet_pton(AF_INET, real, buf) == 1 || inet_pton(AF_INET6, real, buf) == 1)) {
                snprintf(req->remote, sizeof(req->remote), "%s", real);
            }
        }
        if (rid && valid_request_id(rid)) {
            snprintf(req->id, sizeof(req->id), "%s", rid);
        } else {
            snprintf(req->id, sizeof(req->id), "%s-%012" PRIx64, srv->id_prefix,
                     atomic_fetch_add(&srv->id_counter, 1) + 1);
        }
        rc = precheck(req, url, &err);
        if (rc) {
            const char *allow = rc == CG_EMETHOD ? strstr(err.message, "allowed: ") : NULL;

            if (allow) {
                cg_req_add_header(req, MHD_HTTP_HEADER_ALLOW, allow + 9);
            }
            if (has_body(req)) {
                return refuse_now(req, rc, &err);
            }
            req_error_reply(req, rc, &err);
            req->handled = true;
        } else if (req->resp) {
            req->handled = true; /* OPTIONS */
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!req->handled) {
            cg_str_add(&req->body, upload_data, *upload_data_size);
            if (cg_str_error(&req->body)) {
                /*
                 * A chunked body outgrew the limit. libmicrohttpd cannot queue a reply in the
                 * middle of an upload, so the rest is read and dropped (never buffered), and
                 * the 413 goes out at the end; a client that keeps sending is cut off.
                 */
                struct cg_error err = CG_ERROR_INIT;

                cg_error_set(&err, CG_ETOOBIG, "the request body exceeds the limit of %zu bytes",
                             body_limit(req));
                req_error_reply(req, CG_ETOOBIG, &err);
                MHD_add_response_header(req->resp, MHD_HTTP_HEADER_CONNECTION, "close");
                req->handled = true;
            }
        } else {
            req->discarded += *upload_data_size;
            if (req->discarded > 4 * body_limit(req)) {
                return MHD_NO;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* The whole request is in (or a worker finished it). */
    if (!req->handled) {
        if (req->route_idx == CG_HTTP_ROUTE_STATIC) {
            struct cg_error err = CG_ERROR_INIT;
            int rc = cg_http__serve_static(req, srv->web_root, srv->csp, url, &err);

            if (rc) {
                req_error_reply(req, rc, &err);
            }
            req->handled = true;
        } else if (srv->routes[req->route_idx].flags & CG_ROUTE_WRITE) {
            if (!req->queued_to_worker) {
                req->queued_to_worker = true;
                MHD_suspend_connection(conn);
                enqueue_work(srv, req);
            }
            return MHD_YES;
        } else {
            run_handler(req);
        }
    }
    return req->resp ? queue(req) : MHD_YES;
}

/* ---- start and stop --------------------------------------------------------------------- */

static int parse_address(const char *address, int port, struct sockaddr_storage *ss,
                         struct cg_error *err)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        return 0;
    }
    if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        return 0;
    }
    return cg_error_set(err, CG_EINVAL, "invalid listen address '%s'", address);
}

int cg_http_start(const struct cg_http_options *opt, const struct cg_route *routes, size_t n_routes,
                  void *app, struct cg_http_server **out_srv, struct cg_error *err)
{
    struct cg_http_server *srv;
    struct sockaddr_storage ss;
    unsigned char rnd[4];
    const union MHD_DaemonInfo *info;
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    int rc = parse_address(opt->address, opt->port, &ss, err);

    if (rc) {
        return rc;
    }
    if (ss.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    srv = cg_calloc(1, sizeof(*srv));
    srv->opt = *opt;
    srv->address = cg_strdup(opt->address);
    srv->web_root = cg_strdup(opt->web_root ? opt->web_root : "");
    srv->trusted_proxy = cg_strdup(opt->trusted_proxy ? opt->trusted_proxy : "");
    {
        struct cg_str csp = CG_STR_INIT_MAX(2048);

        /* Images may also come from the base map's tile server, and from nowhere else. */
        cg_str_addf(&csp,
                    "default-src 'self'; script-src 'self'; img-src 'self' data: blob:%s%s; "
                    "style-src 'self' 'unsafe-inline'; object-src 'none'; "
                    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
                    opt->img_source && *opt->img_source ? " " : "",
                    opt->img_source ? opt->img_source : "");
        srv->csp = cg_str_detach(&csp, NULL);
    }
    srv->opt.address = srv->address;
    srv->opt.web_root = srv->web_root;
    srv->routes = routes;
    srv->n_routes = n_routes;
    srv->app = app;
    srv->metrics = cg_http__metrics_new(n_routes);
    {
        struct sockaddr_storage proxy;
        struct cg_error ignored = CG_ERROR_INIT; /* config checked the address */

        srv->admit = cg_http__admit_new(
            opt->max_connections, opt->max_per_ip,
            *srv->trusted_proxy && !parse_address(srv->trusted_proxy, 0, &proxy, &ignored)
                ? (struct sockaddr *)&proxy
                : NULL);
    }
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        memset(rnd, 0, sizeof(rnd));
    }
    snprintf(srv->id_prefix, sizeof(srv->id_prefix), "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
             rnd[3]);
    pthread_mutex_init(&srv->work_lock, NULL);
    pthread_cond_init(&srv->work_cond, NULL);
    srv->streams = cg_http__streams_new();
    srv->workers = cg_calloc((size_t)opt->workers, sizeof(pthread_t));
    for (int i = 0; i < opt->workers; i++) {
        if (pthread_create(&srv->workers[i], NULL, worker_main, srv)) {
            rc = cg_error_set(err, CG_EINTERNAL, "cannot start worker threads");
            goto fail;
        }
        srv->n_workers++;
    }

    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)opt->port, NULL, NULL, on_access, srv, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)opt->threads, MHD_OPTION_CONNECTION_LIMIT, headroom(opt->max_connections, 8),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, headroom(opt->max_per_ip, 4),
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)opt->idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)opt->max_header + CG_HTTP_MAX_URI + 32768, MHD_OPTION_URI_LOG_CALLBACK,
        on_request_start, srv, MHD_OPTION_NOTIFY_COMPLETED, on_request_done, srv, MHD_OPTION_END);
    if (!srv->daemon) {
        rc = cg_error_set(err, CG_EIO, "cannot listen on %s:%d (port in use, or no permission)",
                          opt->address, opt->port);
        goto fail;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : opt->port;
    *out_srv = srv;
    return 0;

fail:
    cg_http_stop(srv, 0);
    return rc;
}

int cg_http_port(const struct cg_http_server *srv)
{
    return srv->port;
}

struct cg_http__streams *cg_http__server_streams(struct cg_http_server *srv)
{
    return srv->streams;
}

void cg_http_stop(struct cg_http_server *srv, int timeout_s)
{
    int64_t deadline;

    if (!srv) {
        return;
    }
    atomic_store(&srv->stopping, true);
    if (srv->streams) {
        /* Streams never finish by themselves: end them so the wait below is short. */
        cg_http__streams_end(srv->streams);
    }
    if (srv->daemon) {
        MHD_socket s = MHD_quiesce_daemon(srv->daemon);

        if (s != MHD_INVALID_SOCKET) {
            close(s);
        }
        /* Let in-flight requests finish; new ones on open connections get 503. */
        deadline = cg_time_mono_ns() + (int64_t)timeout_s * 1000000000;
        while (atomic_load(&srv->inflight) > 0 && cg_time_mono_ns() < deadline) {
            usleep(10000);
        }
    }
    pthread_mutex_lock(&srv->work_lock);
    srv->work_stop = true;
    pthread_cond_broadcast(&srv->work_cond);
    pthread_mutex_unlock(&srv->work_lock);
    for (int i = 0; i < srv->n_workers; i++) {
        pthread_join(srv->workers[i], NULL);
    }
    if (srv->daemon) {
        MHD_stop_daemon(srv->daemon);
    }
    cg_http__streams_free(srv->streams);
    pthread_cond_destroy(&srv->work_cond);
    pthread_mutex_destroy(&srv->work_lock);
    cg_http__metrics_free(srv->metrics);
    cg_http__admit_free(srv->admit);
    free(srv->workers);
    free(srv->address);
    free(srv->web_root);
    free(srv->trusted_proxy);
    free(srv->csp);
    free(srv);
}

void cg_http_metrics(struct cg_http_server *srv, struct cg_str *out)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

    cg_http__metrics_render(srv->metrics, srv->routes, out);
    cg_str_addf(out,
                "# HELP civgrid_http_inflight_requests Requests being received, handled or sent.\n"
                "# TYPE civgrid_http_inflight_requests gauge\n"
                "civgrid_http_inflight_requests %d\n"
                "# HELP civgrid_http_connections Open client connections.\n"
                "# TYPE civgrid_http_connections gauge\n"
                "civgrid_http_connections %u\n",
                atomic_load(&srv->inflight), info ? info->num_connections : 0);
}
