/*
 * auth_api.c: sign-in, sign-out, the caller's own account, password change
 * and second-factor enrolment (/api/v1/auth/...).
 */
#include "base/cg.h"
#include "api/api.h"
#include "app/app.h"
#include "app/config.h"
#include "base/json.h"
#include "base/log.h"
#include "domain/audit/audit.h"
#include "base/time.h"
#include "domain/auth/auth.h"

#include <sodium.h>

static void set_cookies(struct cg_req *req, const struct cg_app *app, const char *token,
                        const char *csrf, int64_t max_age)
{
    char buf[256];
    const char *secure = app->cfg->auth_cookie_secure ? "; Secure" : "";

    /* The session cookie is invisible to scripts; the CSRF cookie is read by the UI. */
    snprintf(buf, sizeof(buf),
             "cg_session=%s; Path=/; Max-Age=%" PRId64 "; HttpOnly; SameSite=Strict%s", token,
             max_age, secure);
    cg_req_add_header(req, "Set-Cookie", buf);
    snprintf(buf, sizeof(buf), "cg_csrf=%s; Path=/; Max-Age=%" PRId64 "; SameSite=Strict%s", csrf,
             max_age, secure);
    cg_req_add_header(req, "Set-Cookie", buf);
}

int cg_api_auth_login(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"login",         "password", "totp_code",
                                         "recovery_code", "cookie",   NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req);
    struct cg_login_request in = {.remote = cg_req_remote(req),
                                  .user_agent = cg_req_header(req, "User-Agent")};
    struct cg_login_result out;
    json_t *cookie = json_object_get(body, "cookie");
    json_t *account = NULL;
    char expires[CG_TIME_ISO_LEN];
    int rc = cg_json_only_keys(body, fields, err);

    rc = rc ? rc
            : cg_json_get_string(body, "login", true, 1, CG_AUTH_LOGIN_MAX, false, &in.login, err);
    rc = rc ? rc
            : cg_json_get_string(body, "password", true, 1, CG_AUTH_PASSWORD_MAX, false,
                                 &in.password, err);
    rc = rc ? rc : cg_json_get_string(body, "totp_code", false, 0, 8, false, &in.totp_code, err);
    rc =
        rc ? rc
           : cg_json_get_string(body, "recovery_code", false, 0, 16, false, &in.recovery_code, err);
    if (!rc && cookie && !json_is_boolean(cookie)) {
        rc = cg_error_field(err, CG_ETYPE, "cookie", "field 'cookie' must be true or false");
    }
    if (in.user_agent && strlen(in.user_agent) > 300) {
        in.user_agent = NULL;
    }
    if (rc) {
        /* Malformed sign-ins are refusals too: record them (without the offending text). */
        struct cg_audit_entry e = {0,         NULL, cg_req_remote(req), "auth.login",
                                   "account", NULL, "denied",           err->message};
        struct cg_error aerr = CG_ERROR_INIT;

        if (cg_audit_record(app->db, &e, &aerr)) {
            CG_LOG(CG_LOG_ERROR, "cannot write the audit record of a sign-in: %s", aerr.message);
        }
        return rc;
    }
    rc = rc ? rc : cg_auth_login(app->auth, &in, &out, err);
    if (rc == CG_ERATELIMIT) {
        char wait[16];

        snprintf(wait, sizeof(wait), "%d", out.retry_after_s);
        cg_req_add_header(req, "Retry-After", wait);
    }
    rc = rc ? rc : cg_auth_account_get(app->auth, NULL, out.account_id, &account, err);
    if (rc) {
        return rc;
    }
    cg_time_iso_s(out.expires_at_s, expires, sizeof(expires));
    if (json_is_true(cookie)) {
        set_cookies(req, app, out.token, out.csrf, app->cfg->auth_session_max_age);
        rc = cg_reply_json(req, 200,
                           json_pack("{s:o, s:s, s:s}", "account", account, "csrf_token", out.csrf,
                                     "expires_at", expires));
    } else {
        rc = cg_reply_json(req, 200,
                           json_pack("{s:o, s:s, s:s, s:s}", "account", account, "token", out.token,
                                     "csrf_token", out.csrf, "expires_at", expires));
    }
    sodium_memzero(&out, sizeof(out));
    return rc;
}

static int logout(struct cg_req *req, bool all, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    int rc = cg_auth_logout(app->auth, cg_req_user(req), all, cg_req_remote(req), err);

    if (rc) {
        return rc;
    }
    set_cookies(req, app, "", "", 0);
    return cg_reply_data(req, 204, "text/plain", "", 0);
}

int cg_api_auth_logout(struct cg_req *req, struct cg_error *err)
{
    return logout(req, false, err);
}

int cg_api_auth_logout_all(struct cg_req *req, struct cg_error *err)
{
    return logout(req, true, err);
}

int cg_api_auth_me(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    const struct cg_principal *p = cg_req_user(req);
    json_t *account = NULL, *perms;
    int rc = cg_auth_account_get(app->auth, NULL, p->account_id, &account, err);

    if (rc) {
        return rc;
    }
    perms = json_array();
    for (size_t i = 0; i < p->n_permissions; i++) {
        json_array_append_new(perms, json_string(p->permissions[i]));
    }
    json_object_set_new(account, "permissions", perms);
    json_object_set_new(account, "must_enrol_totp", json_boolean(p->must_enrol_totp));
    json_object_set_new(account, "signed_in_with", json_string(p->via_cookie ? "cookie" : "token"));
    return cg_reply_json(req, 200, account);
}

int cg_api_auth_password(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"current_password", "new_password", NULL};
    struct cg_app *app = cg_req_app(req);
    const struct cg_principal *p = cg_req_user(req);
    json_t *body = cg_req_json(req);
    const char *current = NULL, *next = NULL;
    int rc = cg_json_only_keys(body, fields, err);

    rc = rc ? rc
            : cg_json_get_string(body, "current_password", true, 1, CG_AUTH_PASSWORD_MAX, false,
                                 &current, err);
    rc = rc ? rc
            : cg_json_get_string(body, "new_password", true, 1, CG_AUTH_PASSWORD_MAX, false, &next,
                                 err);
    rc = rc ? rc
            : cg_auth_account_set_password(app->auth, p, p->account_id, current, next,
                                           cg_req_remote(req), err);
    return rc ? rc : cg_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
}

int cg_api_auth_totp_begin(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    char *secret = NULL, *uri = NULL;
    int rc = cg_auth_totp_begin(app->auth, cg_req_user(req), &secret, &uri, err);

    if (!rc) {
        rc = cg_reply_json(req, 200,
                           json_pack("{s:s, s:s, s:s, s:i, s:i}", "secret", secret, "otpauth_uri",
                                     uri, "algorithm", "SHA1", "digits", 6, "period", 30));
        sodium_memzero(secret, strlen(secret));
    }
    free(secret);
    free(uri);
    return rc;
}

int cg_api_auth_totp_confirm(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"code", NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req), *codes = NULL;
    const char *code = NULL;
    int rc = cg_json_only_keys(body, fields, err);

    rc = rc ? rc : cg_json_get_string(body, "code", true, 6, 6, false, &code, err);
    rc = rc ? rc
            : cg_auth_totp_confirm(app->auth, cg_req_user(req), code, cg_req_remote(req), &codes,
                                   err);
    return rc ? rc : cg_reply_json(req, 200, json_pack("{s:o}", "recovery_codes", codes));
}

int cg_api_roles(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    json_t *roles = NULL;
    int rc = cg_auth_roles(app->auth, &roles, err);

    return rc ? rc : cg_reply_json(req, 200, json_pack("{s:o}", "roles", roles));
}
