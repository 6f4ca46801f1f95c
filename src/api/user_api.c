/*
 * user_api.c: account administration (/api/v1/users). The route permissions
 * (routes.def) let the right administrator in; the domain checks scope and
 * the separation of duties on every call.
 */
#include "base/cg.h"
#include "api/api.h"
#include "app/app.h"
#include "base/json.h"
#include "domain/auth/auth.h"
#include "domain/pii/pii.h"

/* The :id of the path as a positive integer. */
/* Reads "roles": [..] into roles (borrowed strings) and "scope" into kind/ref. */
static int read_roles_scope(json_t *body, const char **roles, int *n, enum cg_scope_kind *kind,
                            char *ref, size_t ref_size, struct cg_error *err)
{
    json_t *list = json_object_get(body, "roles"), *v;
    const char *scope = NULL;
    size_t i;
    int rc;

    if (!list) {
        return cg_error_field(err, CG_EMISSING, "roles", "field 'roles' is required");
    }
    if (!json_is_array(list)) {
        return cg_error_field(err, CG_ETYPE, "roles", "field 'roles' must be a list of role names");
    }
    if (json_array_size(list) < 1 || json_array_size(list) > CG_AUTH_MAX_ROLES) {
        return cg_error_field(err, CG_EINVAL, "roles", "give 1 to %d roles", CG_AUTH_MAX_ROLES);
    }
    json_array_foreach(list, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) > 32) {
            return cg_error_field(err, CG_ETYPE, "roles", "each role must be a role name");
        }
        roles[i] = json_string_value(v);
    }
    *n = (int)json_array_size(list);
    rc = cg_json_get_string(body, "scope", true, 1, 80, false, &scope, err);
    return rc ? rc : cg_auth_parse_scope(scope, kind, ref, ref_size, err);
}

int cg_api_user_list(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    struct cg_account_query q = {.limit = 50};
    int64_t after = 0, limit = q.limit;
    json_t *list = NULL;
    int64_t next = 0;
    int rc;

    q.grid_prefix = cg_req_query(req, "grid");
    q.status = cg_req_query(req, "status");
    q.role = cg_req_query(req, "role");
    rc = cg_req_query_int(req, "after", 0, INT64_MAX, &after, err);
    rc = rc ? rc : cg_req_query_int(req, "limit", 1, 500, &limit, err);
    if (rc) {
        return rc;
    }
    q.after_id = after;
    q.limit = (int)limit;
    if (q.grid_prefix) {
        for (const char *c = q.grid_prefix; *c; c++) {
            if (*c < '0' || *c > '9') {
                return cg_error_field(err, CG_EINVAL, "grid",
                                      "'grid' must be a division or "
                                      "grid code (digits)");
            }
        }
    }
    rc = cg_auth_account_list(app->auth, cg_req_user(req), &q, &list, &next, err);
    return rc ? rc
              : cg_reply_json(
                    req, 200,
                    json_pack("{s:o, s:I}", "users", list, "next_after", (json_int_t)next));
}

int cg_api_user_create(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"login", "display_name", "password", "phone",
                                         "roles", "scope",        NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req), *account = NULL;
    struct cg_account_input in = {0};
    char ref[64];
    int64_t id = 0;
    int rc = cg_json_only_keys(body, fields, err);

    rc = rc ? rc : cg_json_get_string(body, "login", true, 1, 64, false, &in.login, err);
    rc = rc ? rc
            : cg_json_get_string(body, "display_name", true, 1, CG_AUTH_NAME_MAX, false,
                                 &in.display_name, err);
    rc = rc ? rc
            : cg_json_get_string(body, "password", true, 1, CG_AUTH_PASSWORD_MAX, false,
                                 &in.password, err);
    rc = rc ? rc : cg_json_get_string(body, "phone", false, 0, 24, false, &in.phone, err);
    rc = rc ? rc
            : read_roles_scope(body, in.roles, &in.n_roles, &in.scope_kind, ref, sizeof(ref), err);
    in.scope_ref = ref;
    rc =
        rc ? rc
           : cg_auth_account_create(app->auth, cg_req_user(req), &in, cg_req_remote(req), &id, err);
    rc = rc ? rc : cg_auth_account_get(app->auth, NULL, id, &account, err);
    return rc ? rc : cg_reply_json(req, 201, account);
}

int cg_api_user_get(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    json_t *account = NULL;
    int64_t id = 0;
    int rc = cg_req_path_id(req, "id", "account", &id, err);

    rc = rc ? rc : cg_auth_account_get(app->auth, cg_req_user(req), id, &account, err);
    return rc ? rc : cg_reply_json(req, 200, account);
}

int cg_api_user_roles(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"roles", "scope", NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req), *account = NULL;
    const char *roles[CG_AUTH_MAX_ROLES];
    enum cg_scope_kind kind = CG_SCOPE_OWN;
    char ref[64];
    int64_t id = 0;
    int n = 0;
    int rc = cg_req_path_id(req, "id", "account", &id, err);

    rc = rc ? rc : cg_json_only_keys(body, fields, err);
    rc = rc ? rc : read_roles_scope(body, roles, &n, &kind, ref, sizeof(ref), err);
    rc = rc ? rc
            : cg_auth_account_set_roles(app->auth, cg_req_user(req), id, roles, n, kind, ref,
                                        cg_req_remote(req), err);
    rc = rc ? rc : cg_auth_account_get(app->auth, NULL, id, &account, err);
    return rc ? rc : cg_reply_json(req, 200, account);
}

static int set_status(struct cg_req *req, const char *status, const char *permission,
                      struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    json_t *account = NULL;
    int64_t id = 0;
    int rc = cg_req_path_id(req, "id", "account", &id, err);

    rc = rc ? rc
            : cg_auth_account_set_status(app->auth, cg_req_user(req), id, status, permission,
                                         cg_req_remote(req), err);
    rc = rc ? rc : cg_auth_account_get(app->auth, NULL, id, &account, err);
    return rc ? rc : cg_reply_json(req, 200, account);
}

int cg_api_user_disable(struct cg_req *req, struct cg_error *err)
{
    return set_status(req, "disabled", "user.disable", err);
}

int cg_api_user_enable(struct cg_req *req, struct cg_error *err)
{
    return set_status(req, "active", "user.disable", err);
}

int cg_api_user_unlock(struct cg_req *req, struct cg_error *err)
{
    return set_status(req, "active", "user.unlock", err);
}

int cg_api_user_password(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"password", NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req);
    const char *password = NULL;
    int64_t id = 0;
    int rc = cg_req_path_id(req, "id", "account", &id, err);

    rc = rc ? rc : cg_json_only_keys(body, fields, err);
    rc = rc ? rc
            : cg_json_get_string(body, "password", true, 1, CG_AUTH_PASSWORD_MAX, false, &password,
                                 err);
    rc = rc ? rc
            : cg_auth_account_set_password(app->auth, cg_req_user(req), id, NULL, password,
                                           cg_req_remote(req), err);
    return rc ? rc : cg_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
}

int cg_api_user_reveal(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"field", "reason", NULL};
    static const char *const revealable[] = {"phone", NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req);
    const char *field = NULL, *reason = NULL;
    char *phone = NULL;
    int64_t id = 0;
    int rc = cg_req_path_id(req, "id", "account", &id, err);

    rc = rc ? rc : cg_json_only_keys(body, fields, err);
    rc = rc ? rc : cg_json_get_enum(body, "field", true, revealable, &field, err);
    rc = rc ? rc : cg_json_get_string(body, "reason", true, 1, 200, false, &reason, err);
    rc = rc ? rc
            : cg_auth_account_reveal_phone(app->auth, cg_req_user(req), id, reason,
                                           cg_req_remote(req), &phone, err);
    if (rc) {
        return rc;
    }
    rc = cg_reply_json(req, 200, json_pack("{s:s, s:s}", "field", field, "value", phone));
    cg_pii_free_plain(phone);
    return rc;
}
