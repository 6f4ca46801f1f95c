/*
 * event_api.c: events over HTTP (docs/EVENTS.md): report, queue, one event
 * with its log and allowed actions, and actions. Handlers check the shape of
 * the input and call the event module, which decides everything else.
 */
#include "base/cg.h"
#include "api/api.h"
#include "app/app.h"
#include "base/json.h"
#include "domain/event/event.h"

#include <math.h>

/* A JSON number member in [min, max] (required). */
static int get_coord(json_t *body, const char *key, double min, double max, double *out,
                     struct cg_error *err)
{
    json_t *v = json_object_get(body, key);

    if (!v || json_is_null(v)) {
        return cg_error_field(err, CG_EMISSING, key, "'%s' is required", key);
    }
    if (!json_is_number(v)) {
        return cg_error_field(err, CG_ETYPE, key, "'%s' must be a number (WGS-84 degrees)", key);
    }
    *out = json_number_value(v);
    if (!isfinite(*out) || *out < min || *out > max) {
        return cg_error_field(err, CG_EINVAL, key, "'%s' must lie between %g and %g", key, min,
                              max);
    }
    return 0;
}

int cg_api_event_report(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"kind",  "source",      "category_kind", "category",
                                         "title", "description", "address",       "lon",
                                         "lat",   "note",        "people",        NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req), *out = NULL;
    struct cg_event_input in = {0};
    int rc = cg_json_only_keys(body, fields, err);

    rc = rc ? rc : cg_json_get_string(body, "kind", false, 1, 20, false, &in.kind, err);
    rc = rc ? rc : cg_json_get_string(body, "source", true, 1, 20, false, &in.source, err);
    rc =
        rc ? rc
           : cg_json_get_string(body, "category_kind", false, 1, 20, false, &in.category_kind, err);
    rc = rc ? rc : cg_json_get_string(body, "category", true, 1, 16, false, &in.category_code, err);
    rc = rc ? rc
            : cg_json_get_string(body, "title", true, 1, CG_EVENT_TITLE_MAX, false, &in.title, err);
    rc = rc ? rc
            : cg_json_get_string(body, "description", false, 0, CG_EVENT_DESCRIPTION_MAX, true,
                                 &in.description, err);
    rc = rc ? rc
            : cg_json_get_string(body, "address", false, 0, CG_EVENT_ADDRESS_MAX, false,
                                 &in.address, err);
    rc = rc ? rc
            : cg_json_get_string(body, "note", false, 0, CG_EVENT_NOTE_MAX, true, &in.note, err);
    rc = rc ? rc : cg_json_get_int(body, "people", false, 0, 1000000, &in.people, err);
    rc = rc ? rc : get_coord(body, "lon", -180, 180, &in.lon, err);
    rc = rc ? rc : get_coord(body, "lat", -90, 90, &in.lat, err);
    in.client_key = cg_req_header(req, "Idempotency-Key");
    rc = rc ? rc
            : cg_event_report(app->events, cg_req_user(req), &in, cg_req_remote(req), &out, err);
    /* A retry of a report already made answers 200 with that event, not 201. */
    return rc ? rc
              : cg_reply_json(req, json_is_true(json_object_get(out, "replayed")) ? 200 : 201, out);
}

int cg_api_event_list(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    struct cg_event_query q = {.limit = 50};
    int64_t before = 0, limit = q.limit;
    json_t *out = NULL;
    int rc;

    q.state = cg_req_query(req, "state");
    q.category = cg_req_query(req, "category");
    q.source = cg_req_query(req, "source");
    q.tier = cg_req_query(req, "tier");
    q.warning = cg_req_query(req, "warning");
    rc = cg_req_query_code(req, "grid", 16, &q.grid, err);
    rc = rc ? rc : cg_req_query_int(req, "before", 1, INT64_MAX, &before, err);
    rc = rc ? rc : cg_req_query_int(req, "limit", 1, 500, &limit, err);
    q.before_id = before;
    q.limit = (int)limit;
    rc = rc ? rc : cg_event_list(app->events, cg_req_user(req), &q, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_event_get(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    json_t *out = NULL;
    int64_t id = 0;
    int rc = cg_req_path_id(req, "id", "event", &id, err);

    rc = rc ? rc : cg_event_get(app->events, cg_req_user(req), id, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_event_act(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"action",           "note",         "expected_state",
                                         "expected_version", "satisfaction", "closure",
                                         "department",       "into",         NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req), *out = NULL;
    struct cg_event_action a = {0};
    int64_t id = 0, sat = 0;
    int rc = cg_req_path_id(req, "id", "event", &id, err);

    rc = rc ? rc : cg_json_only_keys(body, fields, err);
    rc = rc ? rc : cg_json_get_string(body, "action", true, 1, 32, false, &a.action, err);
    rc =
        rc ? rc : cg_json_get_string(body, "note", false, 0, CG_EVENT_NOTE_MAX, true, &a.note, err);
    rc = rc ? rc
            : cg_json_get_string(body, "expected_state", false, 1, 32, false, &a.expected_state,
                                 err);
    rc = rc ? rc
            : cg_json_get_int(body, "expected_version", false, 1, INT64_MAX, &a.expected_version,
                              err);
    rc = rc ? rc : cg_json_get_int(body, "satisfaction", false, 1, 5, &sat, err);
    rc = rc ? rc : cg_json_get_string(body, "closure", false, 1, 16, false, &a.closure, err);
    rc = rc ? rc : cg_json_get_string(body, "department", false, 1, 64, false, &a.department, err);
    rc = rc ? rc : cg_json_get_int(body, "into", false, 1, INT64_MAX, &a.into, err);
    a.satisfaction = (int)sat;
    rc = rc ? rc
            : cg_event_act(app->events, cg_req_user(req), id, &a, cg_req_remote(req), &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_event_machine(struct cg_req *req, struct cg_error *err)
{
    (void)err;
    return cg_reply_json(req, 200, cg_event_machine_json());
}

int cg_api_event_kpi(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    struct cg_event_kpi_query q = {.by = cg_req_query(req, "by"),
                                   .from = cg_req_query(req, "from"),
                                   .to = cg_req_query(req, "to"),
                                   .within = cg_req_query(req, "within"),
                                   .order = cg_req_query(req, "order")};
    char *out = NULL;
    size_t len = 0;
    int rc = cg_req_query_int(req, "limit", 1, 100000, &q.limit, err);

    if (q.within && (!*q.within || strlen(q.within) > 16 ||
                     strspn(q.within, "0123456789") != strlen(q.within))) {
        rc = rc ? rc
                : cg_error_field(err, CG_EINVAL, "within",
                                 "'within' must be a division or grid code");
    }
    rc = rc ? rc : cg_req_query_int(req, "offset", 0, INT64_MAX, &q.offset, err);
    rc = rc ? rc : cg_event_kpi_text(app->events, cg_req_user(req), &q, &out, &len, err);
    return rc ? rc : cg_reply_json_text(req, 200, out, len);
}

int cg_api_event_notices(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    int64_t after_id = 0;
    json_t *out = NULL;
    int rc = cg_req_query_int(req, "after", 0, INT64_MAX, &after_id, err);

    rc = rc ? rc : cg_event_notices(app->events, cg_req_user(req), after_id, 200, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_event_dashboard(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    json_t *out = NULL;
    int rc = cg_event_dashboard(app->events, cg_req_user(req), &out, err);

    return rc ? rc : cg_reply_json(req, 200, out);
}
