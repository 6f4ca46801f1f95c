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
#define AUDIT_API_TEXT_MAX 256 /* characters of a text filter */

int cg_api_audit_search(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    struct cg_audit_query q = {0};
    int64_t before = 0, limit = AUDIT_API_LIMIT_DEFAULT, next = 0;
    json_t *records = NULL;
    int rc = cg_req_query_text(req, "actor", AUDIT_API_TEXT_MAX, &q.actor_login, err);

    rc = rc ? rc : cg_req_query_text(req, "action", AUDIT_API_TEXT_MAX, &q.action, err);
    rc = rc ? rc : cg_req_query_text(req, "object_type", AUDIT_API_TEXT_MAX, &q.object_type, err);
    rc = rc ? rc : cg_req_query_text(req, "object_id", AUDIT_API_TEXT_MAX, &q.object_id, err);
    rc = rc ? rc : cg_req_query_text(req, "result", AUDIT_API_TEXT_MAX, &q.result, err);
    rc = rc ? rc : cg_req_query_text(req, "from", AUDIT_API_TEXT_MAX, &q.from, err);
    rc = rc ? rc : cg_req_query_text(req, "to", AUDIT_API_TEXT_MAX, &q.to, err);
    rc = rc ? rc : cg_req_query_int(req, "before", 0, INT64_MAX, &before, err);
    rc = rc ? rc : cg_req_query_int(req, "limit", 1, CG_AUDIT_SEARCH_MAX, &limit, err);
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
