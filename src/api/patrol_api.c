/*
 * patrol_api.c: patrols, worker positions and household visits over HTTP
 * (docs/PATROL.md). Handlers check the shape of the input and call the
 * patrol module, which decides scope and everything else.
 */
#include "base/cg.h"
#include "api/api.h"
#include "app/app.h"
#include "base/json.h"
#include "domain/event/event.h"
#include "domain/patrol/patrol.h"

#include <math.h>

/* An optional RFC 3339 time member into ms (0 when absent). */
static int body_time(json_t *body, const char *key, int64_t *out, struct cg_error *err)
{
    const char *s = NULL;
    int rc = cg_json_get_string(body, key, false, 1, 40, false, &s, err);

    *out = 0;
    if (!rc && s && !cg_patrol_parse_time(s, out)) {
        rc = cg_error_field(err, CG_EINVAL, key,
                            "'%s' must be an RFC 3339 time like 2026-05-01T08:00:00+08:00", key);
    }
    return rc;
}

/* The filters of a list: worker, grid, before, limit. */
static int list_query(struct cg_req *req, struct cg_patrol_query *q, struct cg_error *err)
{
    int64_t limit = 50;
    int rc = cg_req_query_int(req, "worker", 1, INT64_MAX, &q->worker, err);

    q->grid = cg_req_query(req, "grid");
    if (!rc && q->grid &&
        (!*q->grid || strlen(q->grid) > 16 || strspn(q->grid, "0123456789") != strlen(q->grid))) {
        rc = cg_error_field(err, CG_EINVAL, "grid", "'grid' must be a division or grid code");
    }
    rc = rc ? rc : cg_req_query_int(req, "before", 1, INT64_MAX, &q->before_id, err);
    rc = rc ? rc : cg_req_query_int(req, "limit", 1, 500, &limit, err);
    q->limit = (int)limit;
    return rc;
}

int cg_api_patrol_start(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"grid", "started_at", NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req), *out = NULL;
    const char *grid = NULL;
    int64_t at = 0;
    int rc = cg_json_only_keys(body, fields, err);

    rc = rc ? rc : cg_json_get_string(body, "grid", false, 1, 16, false, &grid, err);
    rc = rc ? rc : body_time(body, "started_at", &at, err);
    rc = rc ? rc : cg_patrol_start(app->patrols, cg_req_user(req), grid, at, &out, err);
    return rc ? rc : cg_reply_json(req, 201, out);
}

int cg_api_patrol_stop(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"ended_at", NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req), *out = NULL;
    int64_t id = 0, at = 0;
    int rc = cg_req_path_id(req, "id", "patrol", &id, err);

    rc = rc ? rc : cg_json_only_keys(body, fields, err);
    rc = rc ? rc : body_time(body, "ended_at", &at, err);
    rc = rc ? rc : cg_patrol_stop(app->patrols, cg_req_user(req), id, at, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

/*
 * The route parses its body lazily (CG_ROUTE_JSON_LAZY): a plain batch, what phones send, is
 * read by cg_patrol_points_text() without a JSON tree; any other body is parsed here as every
 * JSON route's is, its errors first, and goes the full way.
 */
int cg_api_patrol_points(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"points", NULL};
    struct cg_app *app = cg_req_app(req);
    struct cg_error id_err = CG_ERROR_INIT;
    json_t *body, *out = NULL;
    int64_t id = 0;
    int id_rc = cg_req_path_id(req, "id", "patrol", &id, &id_err), rc;

    if (!id_rc) {
        size_t len;
        const char *text = cg_req_body(req, &len);

        rc = cg_patrol_points_text(app->patrols, cg_req_user(req), id, text, len, &out, err);
        if (rc != CG_PATROL_FULL_PATH) {
            return rc ? rc : cg_reply_json(req, 200, out);
        }
    }
    rc = cg_req_json_parse(req, err);
    if (!rc && id_rc) {
        *err = id_err;
        rc = id_rc;
    }
    body = cg_req_json(req);
    rc = rc ? rc : cg_json_only_keys(body, fields, err);
    rc = rc ? rc
            : cg_patrol_points(app->patrols, cg_req_user(req), id, json_object_get(body, "points"),
                               &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_patrol_get(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    json_t *out = NULL;
    int64_t id = 0;
    int rc = cg_req_path_id(req, "id", "patrol", &id, err);

    rc = rc ? rc : cg_patrol_get(app->patrols, cg_req_user(req), id, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_patrol_track(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    const char *format = cg_req_query(req, "format");
    json_t *out = NULL;
    int64_t id = 0;
    int rc = cg_req_path_id(req, "id", "patrol", &id, err);

    if (!rc && format && strcmp(format, "json") && strcmp(format, "geojson")) {
        rc = cg_error_field(err, CG_EINVAL, "format", "'format' must be json or geojson");
    }
    rc = rc ? rc
            : cg_patrol_track(app->patrols, cg_req_user(req), id,
                              format && !strcmp(format, "geojson"), &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_patrol_list(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    struct cg_patrol_query q = {0};
    json_t *out = NULL;
    int rc = list_query(req, &q, err);

    rc = rc ? rc : cg_patrol_list(app->patrols, cg_req_user(req), &q, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_patrol_stats(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    json_t *out = NULL;
    int64_t worker = 0;
    int rc = cg_req_query_int(req, "worker", 1, INT64_MAX, &worker, err);

    rc = rc ? rc
            : cg_patrol_stats(app->patrols, cg_req_user(req), worker, cg_req_query(req, "from"),
                              cg_req_query(req, "to"), &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_worker_duty(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"duty", NULL};
    static const char *const duties[] = {"on", "off", "auto", NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req), *out = NULL;
    const char *duty = NULL;
    int rc = cg_json_only_keys(body, fields, err);

    rc = rc ? rc : cg_json_get_enum(body, "duty", true, duties, &duty, err);
    rc = rc ? rc : cg_patrol_duty(app->patrols, cg_req_user(req), duty, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_workers_nearest(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    double lon = 0, lat = 0;
    int64_t k = 5;
    json_t *out = NULL;
    int rc = cg_req_query_number(req, "lon", -180, 180, &lon, err);

    rc = rc ? rc : cg_req_query_number(req, "lat", -90, 90, &lat, err);
    rc = rc ? rc : cg_req_query_int(req, "k", 1, CG_PATROL_NEAREST_MAX, &k, err);
    rc = rc ? rc : cg_patrol_nearest(app->patrols, cg_req_user(req), lon, lat, (int)k, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_visit_create(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"grid",     "address",    "household",
                                         "opinions", "visited_at", NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req), *out = NULL;
    struct cg_visit_input in = {0};
    int rc = cg_json_only_keys(body, fields, err);

    rc = rc ? rc : cg_json_get_string(body, "grid", false, 1, 16, false, &in.grid, err);
    rc = rc ? rc
            : cg_json_get_string(body, "address", true, 1, CG_VISIT_ADDRESS_MAX, false, &in.address,
                                 err);
    rc = rc ? rc
            : cg_json_get_string(body, "household", false, 0, CG_VISIT_NOTE_MAX, true,
                                 &in.household, err);
    rc = rc ? rc : body_time(body, "visited_at", &in.visited_ms, err);
    in.opinions = json_object_get(body, "opinions");
    if (!rc && json_is_array(in.opinions)) {
        size_t i;
        json_t *v;

        json_array_foreach(in.opinions, i, v)
        {
            json_t *one = json_pack("{s:O}", "opinion", v);
            const char *s;

            rc = cg_json_get_string(one, "opinion", true, 1, CG_VISIT_NOTE_MAX, true, &s, err);
            json_decref(one);
            if (rc) {
                snprintf(err->field, sizeof(err->field), "opinions[%zu]", i);
                break;
            }
        }
    }
    if (!rc && json_is_null(in.opinions)) {
        in.opinions = NULL;
    }
    rc = rc ? rc : cg_visit_create(app->patrols, cg_req_user(req), &in, &out, err);
    return rc ? rc : cg_reply_json(req, 201, out);
}

int cg_api_visit_list(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    struct cg_patrol_query q = {0};
    json_t *out = NULL;
    int rc = list_query(req, &q, err);

    rc = rc ? rc : cg_visit_list(app->patrols, cg_req_user(req), &q, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_visit_get(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    json_t *out = NULL;
    int64_t id = 0;
    int rc = cg_req_path_id(req, "id", "visit", &id, err);

    rc = rc ? rc : cg_visit_get(app->patrols, cg_req_user(req), id, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_visit_opinion_event(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {
        "category_kind", "category", "title", "description", "address", "lon", "lat", "kind", NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req), *out = NULL;
    struct cg_event_input in = {0};
    int64_t id = 0, n = 0;
    int rc = cg_req_path_id(req, "id", "visit", &id, err);

    rc = rc ? rc : cg_req_path_id(req, "n", "opinion", &n, err);
    if (!rc && n > CG_VISIT_OPINIONS_MAX) {
        rc = cg_error_field(err, CG_ENOTFOUND, "n", "no opinion %" PRId64, n);
    }
    rc = rc ? rc : cg_json_only_keys(body, fields, err);
    rc = rc ? rc : cg_json_get_string(body, "kind", false, 1, 20, false, &in.kind, err);
    rc =
        rc ? rc
           : cg_json_get_string(body, "category_kind", false, 1, 20, false, &in.category_kind, err);
    rc = rc ? rc : cg_json_get_string(body, "category", true, 1, 16, false, &in.category_code, err);
    rc =
        rc ? rc
           : cg_json_get_string(body, "title", false, 1, CG_EVENT_TITLE_MAX, false, &in.title, err);
    rc = rc ? rc
            : cg_json_get_string(body, "description", false, 0, CG_EVENT_DESCRIPTION_MAX, true,
                                 &in.description, err);
    rc = rc ? rc
            : cg_json_get_string(body, "address", false, 0, CG_EVENT_ADDRESS_MAX, false,
                                 &in.address, err);
    if (!rc) {
        json_t *lon = json_object_get(body, "lon"), *lat = json_object_get(body, "lat");

        if (!lon || !lat) {
            rc = cg_error_field(err, CG_EMISSING, lon ? "lat" : "lon",
                                "'%s' is required (WGS-84 degrees)", lon ? "lat" : "lon");
        } else if (!json_is_number(lon) || !json_is_number(lat)) {
            rc = cg_error_field(err, CG_ETYPE, json_is_number(lon) ? "lat" : "lon",
                                "'%s' must be a number (WGS-84 degrees)",
                                json_is_number(lon) ? "lat" : "lon");
        } else {
            in.lon = json_number_value(lon);
            in.lat = json_number_value(lat);
            if (fabs(in.lon) > 180 || fabs(in.lat) > 90) {
                rc =
                    cg_error_field(err, CG_EINVAL, fabs(in.lon) > 180 ? "lon" : "lat",
                                   "'lon' must lie between -180 and 180, 'lat' between -90 and 90");
            }
        }
    }
    rc = rc ? rc
            : cg_visit_opinion_event(app->patrols, cg_req_user(req), id, (int)n, &in,
                                     cg_req_remote(req), &out, err);
    return rc ? rc : cg_reply_json(req, 201, out);
}
