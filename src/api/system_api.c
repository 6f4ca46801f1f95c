/*
 * system_api.c: handlers for the instance itself: health, status, metrics and
 * the route index.
 */
#include "base/cg.h"
#include "api/api.h"
#include "app/app.h"
#include "app/config.h"
#include "base/str.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/live/live.h"
#include "domain/system/system.h"

int cg_api_healthz(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    struct cg_system_status st;

    cg_system_status(app->db, app->started_ms, app->started_mono_ns, &st);
    if (!st.db_ok) {
        return cg_error_set(err, CG_EBUSY, "database unavailable: %s", st.db_error);
    }
    return cg_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

int cg_api_status(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    struct cg_system_status st;
    char started[CG_TIME_ISO_LEN];
    json_t *db, *limits;

    (void)err;
    cg_system_status(app->db, app->started_ms, app->started_mono_ns, &st);
    cg_time_iso_s(st.started_ms / 1000, started, sizeof(started));
    db = json_pack("{s:s, s:s, s:i, s:i, s:s, s:I, s:b}", "backend", st.db.backend, "path",
                   st.db.path, "schema_version", st.db.schema_version, "schema_latest",
                   st.db.schema_latest, "journal_mode", st.db.journal_mode, "size_bytes",
                   (json_int_t)st.db.size_bytes, "ok", st.db_ok);
    if (!st.db_ok) {
        json_object_set_new(db, "error", json_string(st.db_error));
    }
    /* The upload limits, so that clients refuse what the server would (docs/MEDIA.md). */
    limits = json_pack("{s:I, s:I}", "max_body", (json_int_t)app->cfg->http_max_body, "max_photo",
                       (json_int_t)app->cfg->media_max_photo);
    return cg_reply_json(req, 200,
                         json_pack("{s:s, s:s, s:s, s:I, s:o, s:o}", "name", "civgrid", "version",
                                   st.version, "started_at", started, "uptime_s",
                                   (json_int_t)st.uptime_s, "db", db, "limits", limits));
}

int cg_api_metrics(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    struct cg_str out = CG_STR_INIT;
    struct cg_db_stats ds;
    int rc;

    (void)err;
    cg_http_metrics(app->http, &out);
    cg_db_stats(app->db, &ds);
    cg_str_addf(&out,
                "# HELP civgrid_db_commits_total Write transactions committed (one fsync each).\n"
                "# TYPE civgrid_db_commits_total counter\n"
                "civgrid_db_commits_total %" PRIu64 "\n"
                "# HELP civgrid_db_write_jobs_total Writes acknowledged after their commit.\n"
                "# TYPE civgrid_db_write_jobs_total counter\n"
                "civgrid_db_write_jobs_total %" PRIu64 "\n"
                "# HELP civgrid_db_write_failures_total Writes rolled back.\n"
                "# TYPE civgrid_db_write_failures_total counter\n"
                "civgrid_db_write_failures_total %" PRIu64 "\n"
                "# HELP civgrid_db_seconds_total Time spent in the database.\n"
                "# TYPE civgrid_db_seconds_total counter\n"
                "civgrid_db_seconds_total %.6f\n"
                "# HELP civgrid_uptime_seconds Seconds since the server started.\n"
                "# TYPE civgrid_uptime_seconds gauge\n"
                "civgrid_uptime_seconds %" PRId64 "\n"
                "# HELP civgrid_build_info Version of the running server.\n"
                "# TYPE civgrid_build_info gauge\n"
                "civgrid_build_info{version=\"%s\"} 1\n",
                ds.commits, ds.write_jobs, ds.write_failures, (double)ds.db_ns / 1e9,
                (cg_time_mono_ns() - app->started_mono_ns) / 1000000000, CG_VERSION);
    if (app->live) {
        struct cg_live_stats ls;

        cg_live_stats(app->live, &ls);
        cg_str_addf(&out,
                    "# HELP civgrid_live_subscribers Live map streams open.\n"
                    "# TYPE civgrid_live_subscribers gauge\n"
                    "civgrid_live_subscribers %d\n"
                    "# HELP civgrid_live_messages_total Messages queued to live map streams.\n"
                    "# TYPE civgrid_live_messages_total counter\n"
                    "civgrid_live_messages_total %" PRIu64 "\n"
                    "# HELP civgrid_live_dropped_total Live map streams dropped for not reading.\n"
                    "# TYPE civgrid_live_dropped_total counter\n"
                    "civgrid_live_dropped_total %" PRIu64 "\n"
                    "# HELP civgrid_live_resets_total Resumed live map streams told to reload.\n"
                    "# TYPE civgrid_live_resets_total counter\n"
                    "civgrid_live_resets_total %" PRIu64 "\n",
                    ls.subscribers, ls.messages, ls.dropped, ls.resets);
    }
    rc = cg_reply_data(req, 200, "text/plain; version=0.0.4; charset=utf-8", cg_str_ptr(&out),
                       cg_str_len(&out));
    cg_str_release(&out);
    return rc;
}

int cg_api_routes(struct cg_req *req, struct cg_error *err)
{
    json_t *list = json_array();

    (void)err;
    for (size_t i = 0; i < cg_routes_count; i++) {
        const struct cg_route *r = &cg_routes[i];

        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "method", r->method,
                                        "path", r->pattern, "permission", r->permission, "summary",
                                        r->summary, "json_body", (r->flags & CG_ROUTE_JSON) != 0,
                                        "write", (r->flags & CG_ROUTE_WRITE) != 0));
    }
    return cg_reply_json(req, 200, json_pack("{s:o}", "routes", list));
}
