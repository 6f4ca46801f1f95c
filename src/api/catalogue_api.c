/*
 * catalogue_api.c: the event catalogue over HTTP (docs/CATALOGUE.md,
 * docs/API.md): the tree with its filters, one class or sub-class, and an
 * administrator's change. Handlers read and check the query, resolve the
 * category reference and call the catalogue module.
 */
#include "base/cg.h"
#include "api/api.h"
#include "app/app.h"
#include "base/str.h"
#include "domain/catalogue/catalogue.h"

#define FILTER_MAX 64 /* characters of a text filter */

int cg_api_catalogue_tree(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    struct cg_catalogue_query q = {.active = 1};
    const char *active = cg_req_query(req, "active");
    json_t *out = NULL;
    int rc = cg_req_query_text(req, "kind", FILTER_MAX, &q.kind, err);

    rc = rc ? rc : cg_req_query_text(req, "major", FILTER_MAX, &q.major, err);
    rc = rc ? rc : cg_req_query_text(req, "q", FILTER_MAX, &q.q, err);
    rc = rc ? rc : cg_req_query_text(req, "urgency", FILTER_MAX, &q.urgency, err);
    rc = rc ? rc : cg_req_query_text(req, "department", FILTER_MAX, &q.department, err);
    rc = rc ? rc : cg_req_query_text(req, "standard", FILTER_MAX, &q.standard, err);
    if (!rc && active) {
        q.active = !strcmp(active, "true") ? 1 : !strcmp(active, "false") ? 0 : -1;
        if (q.active < 0 && strcmp(active, "all")) {
            rc = cg_error_field(err, CG_EINVAL, "active", "'active' must be true, false or all");
        }
    }
    rc = rc ? rc : cg_catalogue_tree(app->db, &q, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

/* The :code of the path ("kind:code" or a code) with ?kind=, resolved to a row's key. */
static int path_ref(struct cg_req *req, enum cg_catalogue_kind *kind,
                    char code[CG_CATALOGUE_CODE_MAX + 1], struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    const char *k = NULL;
    int rc = cg_req_query_text(req, "kind", FILTER_MAX, &k, err);

    return rc ? rc : cg_catalogue_resolve(app->db, cg_req_param(req, "code"), k, kind, code, err);
}

int cg_api_catalogue_get(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    enum cg_catalogue_kind kind;
    char code[CG_CATALOGUE_CODE_MAX + 1];
    json_t *out = NULL;
    int rc = path_ref(req, &kind, code, err);

    rc = rc ? rc : cg_catalogue_get(app->db, kind, code, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_catalogue_update(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    enum cg_catalogue_kind kind;
    char code[CG_CATALOGUE_CODE_MAX + 1];
    json_t *out = NULL;
    int rc = path_ref(req, &kind, code, err);

    rc = rc ? rc
            : cg_catalogue_update(app->db, cg_req_user(req), kind, code, cg_req_json(req),
                                  cg_req_remote(req), &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}
