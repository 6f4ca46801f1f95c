/*
 * gate.c: who is calling, and may they call this route. Every request passes
 * here (http/server.c calls the gate before any handler), so no handler can
 * forget a check. Route permissions are declared in routes.def:
 *   "public"   anyone; a session is resolved when one is presented
 *   "session"  any signed-in account (its own profile, password, sign-out)
 *   "x.y"      a named permission granted to a role (role_permission table)
 */
#include "base/cg.h"
#include "app/app.h"
#include "base/log.h"
#include "base/mem.h"
#include <strings.h>
#include "domain/audit/audit.h"
#include "domain/auth/auth.h"

static void principal_free(void *p)
{
    cg_principal_release(p);
    free(p);
}

/* The bearer token, else the session cookie; NULL when neither was sent. */
static const char *find_token(struct cg_req *req, bool *out_cookie)
{
    const char *h = cg_req_header(req, "Authorization");

    *out_cookie = false;
    if (h && !strncasecmp(h, "Bearer ", 7)) {
        return h + 7;
    }
    h = cg_req_cookie(req, "cg_session");
    *out_cookie = h != NULL;
    return h;
}

static bool is_write(const struct cg_req *req)
{
    const char *m = cg_req_method(req);

    return strcmp(m, "GET") && strcmp(m, "HEAD") && strcmp(m, "OPTIONS");
}

static void audit_refusal(struct cg_app *app, struct cg_req *req, const struct cg_principal *p,
                          const struct cg_route *route, const char *why)
{
    char object[160];
    struct cg_audit_entry e = {p ? p->account_id : 0,
                               p ? p->login : NULL,
                               cg_req_remote(req),
                               "auth.refused",
                               "route",
                               object,
                               "denied",
                               why};
    struct cg_error aerr = CG_ERROR_INIT;

    snprintf(object, sizeof(object), "%s %s", route->method, route->pattern);
    if (cg_audit_record(app->db, &e, &aerr)) {
        CG_LOG(CG_LOG_ERROR, "cannot write the audit record of a refusal: %s", aerr.message);
    }
}

int cg_app_gate(void *ctx, struct cg_req *req, const struct cg_route *route, struct cg_error *err)
{
    struct cg_app *app = ctx;
    bool public = !strcmp(route->permission, "public");
    bool cookie = false;
    const char *token = find_token(req, &cookie);
    struct cg_principal *p;
    int rc;

    if (!token) {
        return public ? 0 : cg_error_set(err, CG_EUNAUTH, "sign in first");
    }
    p = cg_calloc(1, sizeof(*p));
    rc = cg_auth_session(app->auth, token, p, err);
    if (rc) {
        free(p);
        if (public) {
            cg_error_clear(err); /* a stale cookie must not stop anyone from signing in again */
            return 0;
        }
        if (rc == CG_EUNAUTH) {
            audit_refusal(app, req, NULL, route, err->message);
        }
        return rc;
    }
    p->via_cookie = cookie;
    snprintf(p->remote, sizeof(p->remote), "%s", cg_req_remote(req));
    cg_req_set_user(req, p, principal_free);
    if (public) {
        return 0;
    }
    /* A cookie rides along with any request the browser makes: writes must prove intent. */
    if (cookie && is_write(req) &&
        !cg_auth_csrf_ok(app->auth, p, cg_req_header(req, "X-CSRF-Token"))) {
        audit_refusal(app, req, p, route, "missing or wrong CSRF token");
        return cg_error_set(err, CG_ECSRF, NULL);
    }
    if (!strcmp(route->permission, "session")) {
        return 0;
    }
    if (p->must_change_password) {
        return cg_error_set(err, CG_EPWCHANGE, NULL);
    }
    if (p->must_enrol_totp) {
        return cg_error_set(err, CG_EENROL, NULL);
    }
    rc = cg_auth_allow(p, route->permission, NULL, err);
    if (rc) {
        audit_refusal(app, req, p, route, err->message);
    }
    return rc;
}

void cg_app_bad_body(void *ctx, struct cg_req *req, const struct cg_route *route,
                     const struct cg_error *err)
{
    /* A malformed sign-in is recorded as a refused sign-in, anything else as a refused input. */
    const char *action =
        !strcmp(route->pattern, "/api/v1/auth/login") ? "auth.login" : "input.refused";
    const struct cg_principal *p = cg_req_user(req);
    char object[160];
    struct cg_audit_entry e = {p ? p->account_id : 0,
                               p ? p->login : NULL,
                               cg_req_remote(req),
                               action,
                               "route",
                               object,
                               "denied",
                               err->message};
    struct cg_error aerr = CG_ERROR_INIT;

    snprintf(object, sizeof(object), "%s %s", route->method, route->pattern);
    if (cg_audit_record(((struct cg_app *)ctx)->db, &e, &aerr)) {
        CG_LOG(CG_LOG_ERROR, "cannot write the audit record of a refusal: %s", aerr.message);
    }
}
