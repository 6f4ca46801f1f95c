/*
 * audit_api.c: GET /api/v1/audit, the search of the audit trail for auditors
 * (permission audit.read). Query arguments: actor (login, exact), action
 * (prefix), object_type, object_id, result, from, to (RFC 3339), before (the
 * next_before of the previous page) and limit (1..500, default 100).
 * Replies {"records":[...],"next_before":N}, newest first; N is 0 on the last page.
 */
#include "base/cg.h"
#include "api/api.h"
#include "app/app.h"
#include "base/str.h"
#include "domain/audit/audit.h"
#include "domain/auth/auth.h"

#define AUDIT_API_LIMIT_DEFAULT 100
#define AUDIT_API_TEXT_MAX 256

/* A text argument: absent or empty is NULL; else UTF-8 of at most AUDIT_API_TEXT_MAX bytes. */
static int text_arg(struct cg_req *req, const char *name, const char **out, struct cg_error *err)
{
    const char *v = cg_req_query(req, name);

    *out = NULL;
    if (!v || !*v) {
        return 0;
    }
    if (strlen(v) > AUDIT_API_TEXT_MAX || !cg_utf8_valid(v, strlen(v))) {
        return cg_error_field(err, CG_EINVAL, name,
                              "parameter '%s' must be UTF-8 text of at most %d bytes", name,
                              AUDIT_API_TEXT_MAX);
    }
    *out = v;
    return 0;
}

/* A whole-number argument in min..max; absent or empty leaves *out as is. */
static int int_arg(struct cg_req *req, const char *name, int64_t min, int64_t max, int64_t *out,
                   struct cg_error *err)
{
    const char *v = cg_req_query(req, name);
    char *end = NULL;
    long long n;

    if (!v || !*v) {
        return 0;
    }
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno || *end || end == v || !((*v >= '0' && *v <= '9') || *v == '-') || n < min ||
        n > max) {
        return cg_error_field(err, CG_EINVAL, name,
                              "parameter '%s' must be a whole number from %" PRId64 " to %" PRId64,
                              name, min, max);
    }
    *out = n;
    return 0;
}

int cg_api_audit_search(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    struct cg_audit_query q = {0};
    int64_t before = 0, limit = AUDIT_API_LIMIT_DEFAULT, next = 0;
    json_t *records = NULL;
    int rc = text_arg(req, "actor", &q.actor_login, err);

    rc = rc ? rc : text_arg(req, "action", &q.action, err);
    rc = rc ? rc : text_arg(req, "object_type", &q.object_type, err);
    rc = rc ? rc : text_arg(req, "object_id", &q.object_id, err);
    rc = rc ? rc : text_arg(req, "result", &q.result, err);
    rc = rc ? rc : text_arg(req, "from", &q.from, err);
    rc = rc ? rc : text_arg(req, "to", &q.to, err);
    rc = rc ? rc : int_arg(req, "before", 0, INT64_MAX, &before, err);
    rc = rc ? rc : int_arg(req, "limit", 1, CG_AUDIT_SEARCH_MAX, &limit, err);
    if (rc) {
        return rc;
    }
    q.before_id = before;
    q.limit = (int)limit;
    rc = cg_audit_search(app->db, &q, &records, &next, err);
    if (rc) {
        return rc;
    }
    {
        /* Reading the trail is itself recorded: auditors are audited too. */
        static const char *const args[] = {"actor", "action", "object_type", "object_id", "result",
                                           "from",  "to",     "before",      "limit"};
        const struct cg_principal *p = cg_req_user(req);
        struct cg_str what = CG_STR_INIT_MAX(1000);
        struct cg_audit_entry e = {p->account_id, p->login, p->remote, "audit.search",
                                   "audit",       NULL,     "ok",      NULL};

        /* What was searched for, so a trawl through someone's records shows as such. */
        for (size_t i = 0; i < CG_ARRAY_LEN(args); i++) {
            const char *v = cg_req_query(req, args[i]);

            if (v && *v) {
                cg_str_addf(&what, "%s%s=%s", cg_str_len(&what) ? " " : "", args[i], v);
            }
        }
        e.detail = cg_str_len(&what) ? cg_str_ptr(&what) : NULL;

        rc = cg_audit_record(app->db, &e, err);
        cg_str_release(&what);
        if (rc) {
            json_decref(records);
            return rc;
        }
    }
    return cg_reply_json(
        req, 200, json_pack("{s:o,s:I}", "records", records, "next_before", (json_int_t)next));
}
