/*
 * client_error_api.c: POST /api/v1/client-errors.
 */
#include "base/cg.h"
#include "api/api.h"
#include "app/app.h"
#include "base/json.h"
#include "base/str.h"
#include "domain/telemetry/client_error.h"

static const char *const fields[] = {"message", "source", "line", "column",
                                     "stack",   "page",   "lang", NULL};

int cg_api_client_error_create(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req);
    struct cg_client_error in = {.line = -1, .column = -1};
    const char *ua = cg_req_header(req, "User-Agent");
    int64_t id = 0;
    int rc = cg_json_only_keys(body, fields, err);

    rc = rc ? rc
            : cg_json_get_string(body, "message", true, 1, CG_CLIENT_ERROR_MESSAGE_MAX, true,
                                 &in.message, err);
    rc = rc ? rc
            : cg_json_get_string(body, "source", false, 0, CG_CLIENT_ERROR_SOURCE_MAX, false,
                                 &in.source, err);
    rc = rc ? rc : cg_json_get_int(body, "line", false, 0, INT32_MAX, &in.line, err);
    rc = rc ? rc : cg_json_get_int(body, "column", false, 0, INT32_MAX, &in.column, err);
    rc = rc ? rc
            : cg_json_get_string(body, "stack", false, 0, CG_CLIENT_ERROR_STACK_MAX, true,
                                 &in.stack, err);
    rc = rc ? rc
            : cg_json_get_string(body, "page", false, 0, CG_CLIENT_ERROR_PAGE_MAX, false, &in.page,
                                 err);
    rc = rc ? rc : cg_json_get_enum(body, "lang", false, cg_client_error_langs, &in.lang, err);
    if (rc) {
        return rc;
    }
    /* A User-Agent that is not clean UTF-8 or is very long is dropped, not stored cut. */
    if (ua && strlen(ua) <= CG_CLIENT_ERROR_SOURCE_MAX && cg_utf8_valid(ua, strlen(ua))) {
        in.user_agent = ua;
    }
    rc = cg_client_error_record(app->db, &in, &id, err);
    if (rc) {
        return rc;
    }
    return cg_reply_json(req, 201, json_pack("{s:I}", "id", (json_int_t)id));
}
