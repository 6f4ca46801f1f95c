/*
 * grid_api.c: the grid map over HTTP (docs/GRID.md, docs/API.md): point
 * lookup, divisions, grids and their cards, GeoJSON export, validation and
 * import, staff and duty lists. Handlers read and check the query, call the
 * grid module and reply; scope is decided there.
 */
#include "base/cg.h"
#include "api/api.h"
#include "app/app.h"
#include "app/config.h"
#include "base/json.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "domain/auth/auth.h"
#include "domain/grid/crs.h"
#include "domain/grid/grid.h"
#include "domain/grid/index.h"

#include <math.h>

/* ---- query parameters ------------------------------------------------------------------- */

/* ?at=RFC 3339 time, normalised into buf; *out NULL when absent. */
static int query_at(struct cg_req *req, char buf[CG_TIME_ISO_LEN], const char **out,
                    struct cg_error *err)
{
    const char *s = cg_req_query(req, "at");
    int64_t ms;

    *out = NULL;
    if (!s) {
        return 0;
    }
    if (!cg_time_parse_iso(s, &ms)) {
        return cg_error_field(err, CG_EINVAL, "at",
                              "'at' must be a UTC time like 2026-01-31T08:00:00Z or a date "
                              "2026-01-31");
    }
    cg_time_iso(ms, buf, CG_TIME_ISO_LEN);
    *out = buf;
    return 0;
}

/* ?crs=wgs84|gcj02 */
static int query_crs(struct cg_req *req, bool *gcj02, struct cg_error *err)
{
    const char *s = cg_req_query(req, "crs");

    *gcj02 = s && !strcmp(s, "gcj02");
    if (s && !*gcj02 && strcmp(s, "wgs84")) {
        return cg_error_field(err, CG_EINVAL, "crs", "'crs' must be wgs84 or gcj02");
    }
    return 0;
}

/* The :code of the path; anything that is not a code is a grid that does not exist. */
static int path_code(struct cg_req *req, const char **out, struct cg_error *err)
{
    const char *s = cg_req_param(req, "code");

    if (!s || !*s || strlen(s) > CG_GRID_CODE_MAX || strspn(s, "0123456789") != strlen(s)) {
        return cg_error_field(err, CG_ENOTFOUND, "code", "no grid '%.20s'", s ? s : "");
    }
    *out = s;
    return 0;
}

/* ---- lookup ----------------------------------------------------------------------------- */

static json_t *place_json(const struct cg_grid_place *p)
{
    return json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}}", "grid", "code", p->code,
                     "name", p->name, "kind", p->kind, "community", "code", p->community_code,
                     "name", p->community_name, "town", "code", p->town_code, "name", p->town_name);
}

int cg_api_locate(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    const struct cg_principal *me = cg_req_user(req);
    double lon = 0, lat = 0, qlon, qlat;
    bool gcj02 = false;
    struct cg_grid_index *ix;
    struct cg_grid_place place;
    json_t *body;
    int slot, sectors[16];
    size_t nsec;
    int rc = cg_req_query_number(req, "lon", -180, 180, &lon, err);

    rc = rc ? rc : cg_req_query_number(req, "lat", -180, 180, &lat, err);
    if (!rc && fabs(lat) > 90) {
        rc = cg_error_field(err, CG_EINVAL, "lat",
                            fabs(lon) <= 90 ? "'lat' must lie between -90 and 90; lon and lat "
                                              "look swapped (GeoJSON and this API put lon first)"
                                            : "'lat' must lie between -90 and 90");
    }
    rc = rc ? rc : query_crs(req, &gcj02, err);
    if (rc) {
        return rc;
    }
    qlon = lon;
    qlat = lat;
    if (gcj02) {
        cg_crs_gcj02_to_wgs84(lon, lat, &qlon, &qlat);
    }
    ix = cg_grid_locator_acquire(app->grids);
    slot = cg_grid_index_locate(ix, qlon, qlat);
    body = json_pack("{s:f, s:f}", "lon", qlon, "lat", qlat);
    if (slot < 0) {
        bool swapped = cg_grid_index_locate(ix, qlat, qlon) >= 0;

        json_object_set_new(body, "found", json_false());
        json_object_set_new(
            body, "message",
            json_string(swapped ? "the point lies outside every grid; with lon and lat swapped "
                                  "it would be inside one: check the order (lon first)"
                                : "the point lies outside every grid"));
    } else {
        struct cg_auth_object obj;

        cg_grid_index_place(ix, slot, &place);
        obj = (struct cg_auth_object){.grid_code = place.code};
        if (cg_auth_allow(me, "grid.read", &obj, err)) {
            cg_error_clear(err);
            json_object_set_new(body, "found", json_true());
            json_object_set_new(body, "in_scope", json_false());
            json_object_set_new(body, "message",
                                json_string("the point lies in a grid outside your area of work"));
        } else {
            json_t *list = json_array();

            json_object_set_new(body, "found", json_true());
            json_object_set_new(body, "in_scope", json_true());
            json_object_update_new(body, place_json(&place));
            json_object_set_new(body, "on_border",
                                json_boolean(cg_grid_index_on_border(ix, slot, qlon, qlat)));
            nsec = cg_grid_index_sectors(ix, qlon, qlat, sectors, CG_ARRAY_LEN(sectors));
            for (size_t i = 0; i < nsec && i < CG_ARRAY_LEN(sectors); i++) {
                cg_grid_index_place(ix, sectors[i], &place);
                json_array_append_new(list,
                                      json_pack("{s:s, s:s, s:s}", "code", place.code, "name",
                                                place.name, "sector_type", place.sector_type));
            }
            json_object_set_new(body, "sector_grids", list);
        }
    }
    cg_grid_locator_release(app->grids, ix);
    return cg_reply_json(req, 200, body);
}

int cg_api_map_config(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    double b[4];
    bool has = cg_grid_bounds(app->db, cg_req_user(req), b);

    (void)err;
    return cg_reply_json(
        req, 200,
        json_pack("{s:s, s:s, s:s, s:o, s:I}", "tile_url", app->cfg->map_tile_url,
                  "tile_attribution", app->cfg->map_tile_attribution, "tile_crs",
                  app->cfg->map_tile_crs, "bbox",
                  has ? json_pack("[f, f, f, f]", b[0], b[1], b[2], b[3]) : json_null(),
                  "seq_width", (json_int_t)app->cfg->grid_seq_width));
}

/* ---- divisions and grids ---------------------------------------------------------------- */

int cg_api_divisions(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    const char *parent = NULL;
    json_t *out = NULL;
    int rc = cg_req_query_code(req, "parent", CG_GRID_CODE_MAX, &parent, err);

    rc = rc ? rc : cg_grid_divisions(app->db, cg_req_user(req), parent, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_grid_list(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    struct cg_grid_query q = {.limit = 100};
    int64_t limit = q.limit;
    char atb[CG_TIME_ISO_LEN];
    json_t *out = NULL;
    int rc = cg_req_query_code(req, "within", CG_GRID_CODE_MAX, &q.within, err);

    rc = rc ? rc : cg_req_query_code(req, "after", CG_GRID_CODE_MAX, &q.after, err);
    rc = rc ? rc : query_at(req, atb, &q.at, err);
    q.kind = cg_req_query(req, "kind");
    if (!rc && q.kind && strcmp(q.kind, "territorial") && strcmp(q.kind, "sector")) {
        rc = cg_error_field(err, CG_EINVAL, "kind", "'kind' must be territorial or sector");
    }
    rc = rc ? rc : cg_req_query_int(req, "limit", 1, 1000, &limit, err);
    q.limit = (int)limit;
    rc = rc ? rc : cg_grid_list(app->db, cg_req_user(req), &q, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

/* ?level=town,village,grid */
static int query_levels(struct cg_req *req, unsigned *out, struct cg_error *err)
{
    const char *s = cg_req_query(req, "level");
    char buf[64], *save = NULL;

    *out = 0;
    if (!s) {
        return 0;
    }
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int l = !strcmp(t, "city")      ? CG_GRID_CITY
                : !strcmp(t, "town")    ? CG_GRID_TOWN
                : !strcmp(t, "village") ? CG_GRID_VILLAGE
                : !strcmp(t, "grid")    ? CG_GRID_GRID
                                        : -1;

        if (l < 0) {
            return cg_error_field(err, CG_EINVAL, "level",
                                  "'level' is a list of city, town, village, grid");
        }
        *out |= CG_GRID_LEVEL_BIT(l);
    }
    return *out ? 0 : cg_error_field(err, CG_EINVAL, "level", "'level' is empty");
}

int cg_api_grid_export(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    struct cg_grid_export_opts o = {0};
    struct cg_str out = CG_STR_INIT_MAX((size_t)256 << 20);
    char atb[CG_TIME_ISO_LEN];
    int rc = cg_req_query_code(req, "within", CG_GRID_CODE_MAX, &o.within, err);

    rc = rc ? rc : query_at(req, atb, &o.at, err);
    rc = rc ? rc : query_levels(req, &o.levels, err);
    rc = rc ? rc : query_crs(req, &o.gcj02, err);
    rc = rc ? rc : cg_grid_export(app->db, cg_req_user(req), &o, &out, err);
    if (!rc) {
        rc = cg_reply_data(req, 200, "application/geo+json", cg_str_ptr(&out), cg_str_len(&out));
    }
    cg_str_release(&out);
    return rc;
}

int cg_api_grid_get(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    const char *code = NULL, *at = NULL;
    char atb[CG_TIME_ISO_LEN];
    json_t *out = NULL;
    int rc = path_code(req, &code, err);

    rc = rc ? rc : query_at(req, atb, &at, err);
    rc = rc ? rc : cg_grid_get(app->db, cg_req_user(req), code, at, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_grid_retire(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    const char *code = NULL;
    int rc = path_code(req, &code, err);

    rc = rc ? rc : cg_grid_retire(app->db, cg_req_user(req), code, cg_req_remote(req), err);
    rc = rc ? rc : cg_grid_locator_rebuild(app->grids, err);
    return rc ? rc : cg_reply_json(req, 200, json_pack("{s:s, s:b}", "code", code, "retired", 1));
}

/* ---- validation and import -------------------------------------------------------------- */

static int make_plan(struct cg_req *req, struct cg_grid_plan **plan, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    struct cg_grid_import_opts o = {.seq_width = (int)app->cfg->grid_seq_width};
    const char *number = cg_req_query(req, "number");
    size_t len;
    const char *body = cg_req_body(req, &len);

    o.number = number && !strcmp(number, "true");
    if (number && !o.number && strcmp(number, "false")) {
        return cg_error_field(err, CG_EINVAL, "number", "'number' must be true or false");
    }
    return cg_grid_plan_new(app->db, cg_req_user(req), body, len, &o, plan, err);
}

int cg_api_grid_validate(struct cg_req *req, struct cg_error *err)
{
    struct cg_grid_plan *plan = NULL;
    int rc = make_plan(req, &plan, err);

    if (plan && (!rc || rc == CG_EINVAL)) {
        cg_error_clear(err);
        rc = cg_reply_json(req, 200, cg_grid_plan_report(plan));
    }
    cg_grid_plan_free(plan);
    return rc;
}

int cg_api_grid_import(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    const char *partial = cg_req_query(req, "partial");
    struct cg_grid_plan *plan = NULL;
    json_t *result = NULL;
    bool part = partial && !strcmp(partial, "true");
    int rc = 0;

    if (partial && !part && strcmp(partial, "false")) {
        return cg_error_field(err, CG_EINVAL, "partial", "'partial' must be true or false");
    }
    /* The map may change between check and write (another import): then check again, once. */
    for (int attempt = 0; attempt < 2; attempt++) {
        cg_grid_plan_free(plan);
        plan = NULL;
        cg_error_clear(err);
        rc = make_plan(req, &plan, err);
        if (rc == CG_EINVAL) {
            rc = CG_EINVALIDGRIDS; /* not a FeatureCollection: say so with the report */
        }
        rc = rc ? rc
                : cg_grid_plan_apply(app->db, plan, cg_req_user(req), cg_req_remote(req), part,
                                     &result, err);
        if (rc != CG_ECONFLICT) {
            break;
        }
    }
    if (rc == CG_EINVALIDGRIDS) {
        json_t *e = json_pack("{s:s, s:s, s:s}", "code", "invalid_grids", "message", err->message,
                              "request_id", cg_req_id(req));

        rc = cg_reply_json(
            req, 422, json_pack("{s:o, s:o}", "error", e, "report", cg_grid_plan_report(plan)));
        cg_grid_plan_free(plan);
        return rc;
    }
    if (!rc) {
        json_object_set_new(result, "report", cg_grid_plan_report(plan));
        /* The index follows the store; lookups use the old one until the swap. */
        rc = cg_grid_locator_rebuild(app->grids, err);
        if (rc) {
            CG_LOG(CG_LOG_ERROR, "grids imported but the index was not rebuilt: %s", err->message);
        }
    }
    cg_grid_plan_free(plan);
    if (rc) {
        json_decref(result);
        return rc;
    }
    return cg_reply_json(req, 200, result);
}

/* ---- staff ------------------------------------------------------------------------------ */

int cg_api_staff_list(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    const char *grid = NULL;
    json_t *out = NULL;
    int rc = cg_req_query_code(req, "grid", CG_GRID_CODE_MAX, &grid, err);

    rc = rc ? rc : cg_grid_staff_list(app->db, cg_req_user(req), grid, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_staff_create(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"name", "phone", "employment", "account_id", NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req);
    struct cg_grid_staff_input in = {0};
    int64_t id = 0;
    int rc = cg_json_only_keys(body, fields, err);

    rc = rc ? rc : cg_json_get_string(body, "name", true, 1, 32, false, &in.name, err);
    rc = rc ? rc : cg_json_get_string(body, "phone", false, 1, 32, false, &in.phone, err);
    rc = rc ? rc
            : cg_json_get_enum(body, "employment", true,
                               (const char *const[]){"full_time", "part_time", NULL},
                               &in.employment, err);
    rc = rc ? rc : cg_json_get_int(body, "account_id", false, 1, INT64_MAX, &in.account_id, err);
    rc = rc ? rc
            : cg_grid_staff_create(app->db, app->keys, cg_req_user(req), &in, cg_req_remote(req),
                                   &id, err);
    return rc ? rc
              : cg_reply_json(req, 201,
                              json_pack("{s:I, s:s, s:s}", "worker_id", (json_int_t)id, "name",
                                        in.name, "employment", in.employment));
}

int cg_api_grid_staff_assign(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"worker_id", "role", NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req);
    const char *code = NULL, *role = NULL;
    int64_t id = 0;
    int rc = path_code(req, &code, err);

    rc = rc ? rc : cg_json_only_keys(body, fields, err);
    rc = rc ? rc : cg_json_get_int(body, "worker_id", true, 1, INT64_MAX, &id, err);
    rc =
        rc ? rc
           : cg_json_get_enum(body, "role", true,
                              (const char *const[]){"worker", "leader", "guide", NULL}, &role, err);
    rc = rc ? rc
            : cg_grid_staff_assign(app->db, cg_req_user(req), code, id, role, cg_req_remote(req),
                                   err);
    return rc ? rc
              : cg_reply_json(req, 200,
                              json_pack("{s:s, s:I, s:s}", "grid", code, "worker_id",
                                        (json_int_t)id, "role", role));
}

int cg_api_grid_staff_unassign(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    const char *code = NULL, *role = cg_req_query(req, "role");
    int64_t id = 0;
    int rc = path_code(req, &code, err);

    rc = rc ? rc : cg_req_path_id(req, "worker_id", "staff member", &id, err);
    rc = rc ? rc
            : cg_grid_staff_unassign(app->db, cg_req_user(req), code, id, role, cg_req_remote(req),
                                     err);
    return rc ? rc
              : cg_reply_json(req, 200,
                              json_pack("{s:s, s:I, s:b}", "grid", code, "worker_id",
                                        (json_int_t)id, "ended", 1));
}

/* ---- duty lists ------------------------------------------------------------------------- */

int cg_api_grid_duties(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    json_t *out = NULL;
    int rc = cg_grid_duties(app->db, &out, err);

    return rc ? rc : cg_reply_json(req, 200, out);
}

int cg_api_grid_duties_set(struct cg_req *req, struct cg_error *err)
{
    static const char *const fields[] = {"duties", "admissible", NULL};
    struct cg_app *app = cg_req_app(req);
    json_t *body = cg_req_json(req);
    const char *kind = cg_req_param(req, "kind");
    int rc = cg_json_only_keys(body, fields, err);

    rc = rc ? rc
            : cg_grid_duties_set(app->db, cg_req_user(req), kind, json_object_get(body, "duties"),
                                 json_object_get(body, "admissible"), cg_req_remote(req), err);
    return rc ? rc
              : cg_reply_json(req, 200,
                              json_pack("{s:s, s:O, s:O}", "kind", kind, "duties",
                                        json_object_get(body, "duties"), "admissible",
                                        json_object_get(body, "admissible")));
}
