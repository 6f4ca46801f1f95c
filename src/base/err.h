/*
 * err.h: civgrid's one error vocabulary (libuv UV_ERRNO_MAP). The enum, the
 * stable JSON code, the HTTP status and the default message are declared
 * together in CG_ERR_MAP so they cannot drift apart. The codes are public API:
 * never renumber or rename one, only add.
 */
#ifndef CG_ERR_H
#define CG_ERR_H

#include "base/cg.h"

/* X(name, value, http status, stable code, default message) */
#define CG_ERR_MAP(X)                                                                              \
    X(OK, 0, 200, "ok", "success")                                                                 \
    X(NOMEM, -1, 500, "no_memory", "out of memory")                                                \
    X(INVAL, -2, 400, "invalid_input", "invalid input")                                            \
    X(BADJSON, -3, 400, "malformed_json", "the request body is not valid JSON")                    \
    X(BADUTF8, -4, 400, "invalid_utf8", "the request contains invalid UTF-8")                      \
    X(MISSING, -5, 400, "missing_field", "a required field is missing")                            \
    X(TYPE, -6, 400, "wrong_type", "a field has the wrong type")                                   \
    X(BADREQ, -7, 400, "bad_request", "the request is malformed")                                  \
    X(UNAUTH, -8, 401, "unauthenticated", "authentication required")                               \
    X(FORBIDDEN, -9, 403, "forbidden", "permission denied")                                        \
    X(NOTFOUND, -10, 404, "not_found", "no such object")                                           \
    X(METHOD, -11, 405, "method_not_allowed", "method not allowed on this resource")               \
    X(CONFLICT, -12, 409, "conflict", "conflicting update")                                        \
    X(BADSTATE, -13, 409, "invalid_transition", "this action is not allowed in the current state") \
    X(TOOBIG, -14, 413, "body_too_large", "the request body is too large")                         \
    X(MEDIATYPE, -15, 415, "unsupported_media_type", "unsupported content type")                   \
    X(RATELIMIT, -16, 429, "rate_limited", "too many requests, try again later")                   \
    X(DB, -17, 500, "database_error", "database error")                                            \
    X(IO, -18, 500, "io_error", "input/output error")                                              \
    X(INTERNAL, -19, 500, "internal_error", "internal error")                                      \
    X(BUSY, -20, 503, "busy", "the server is busy, try again")                                     \
    X(SHUTDOWN, -21, 503, "shutting_down", "the server is shutting down")                          \
    X(URITOOLONG, -22, 414, "uri_too_long", "the request URI is too long")                         \
    X(CREDENTIALS, -23, 401, "invalid_credentials", "wrong login name or password")                \
    X(MFA, -24, 401, "second_factor_required", "enter the code from your authenticator app")       \
    X(CSRF, -25, 403, "csrf_token_invalid", "missing or wrong X-CSRF-Token header")                \
    X(ENROL, -26, 403, "second_factor_enrolment_required",                                         \
      "set up a second factor (TOTP) before using this account")                                   \
    X(PWCHANGE, -27, 403, "password_change_required", "change your password before going on")      \
    X(HEADERS, -28, 431, "headers_too_large", "the request headers are too large")                 \
    X(INVALIDGRIDS, -29, 422, "invalid_grids", "the grid file has problems: nothing was applied")  \
    X(OUTSIDEGRIDS, -30, 422, "outside_grids", "the location lies outside every grid")             \
    X(OVERLOADED, -31, 503, "overloaded", "the server is at its connection limit, try again")      \
    X(TOOMANYCONN, -32, 429, "too_many_connections", "too many connections from this address")

enum cg_err {
#define CG_X(name, value, http, code, msg) CG_E##name = (value),
    CG_ERR_MAP(CG_X)
#undef CG_X
};

#define CG_ERROR_MSG_MAX 256
#define CG_ERROR_FIELD_MAX 64

/* Error detail for humans; zero-initialise with CG_ERROR_INIT. */
struct cg_error {
    int code;                       /* a CG_E* value, 0 when no error was set */
    char field[CG_ERROR_FIELD_MAX]; /* offending field name or "" */
    char message[CG_ERROR_MSG_MAX]; /* lowercase, no final period */
};
#define CG_ERROR_INIT                                                                              \
    {                                                                                              \
        0, "", ""                                                                                  \
    }

/* Stable machine code ("not_found"); "internal_error" for unknown values. */
const char *cg_err_code(int err);
/* Default human message for err. */
const char *cg_err_msg(int err);
/* HTTP status for err (500 for unknown values). */
int cg_err_http_status(int err);

/*
 * Records code and a printf-style message into err (which may be NULL) and
 * returns code, so callers can write: return cg_error_set(err, CG_EINVAL, ...).
 * The first error set wins: later calls keep the earlier detail.
 */
int cg_error_set(struct cg_error *err, int code, const char *fmt, ...) CG_PRINTF(3, 4);
/* Like cg_error_set() and also names the offending field. */
int cg_error_field(struct cg_error *err, int code, const char *field, const char *fmt, ...)
    CG_PRINTF(4, 5);
/* Resets err to the no-error state. */
void cg_error_clear(struct cg_error *err);

#endif
