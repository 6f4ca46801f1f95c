/*
 * app.h: what every handler can reach through cg_req_app(): the settings, the
 * database, the HTTP server and the start time. One per civgridd process,
 * built in server_main.c; read-only after start.
 */
#ifndef CG_APP_H
#define CG_APP_H

#include "base/cg.h"
#include "http/http.h"

struct cg_config;
struct cg_db;
struct cg_http_server;
struct cg_auth;
struct cg_pii_keys;
struct cg_grid_locator;
struct cg_calendar;
struct cg_events;
struct cg_patrols;
struct cg_media;
struct cg_live;

struct cg_app {
    const struct cg_config *cfg;
    struct cg_db *db;
    struct cg_pii_keys *keys;      /* the key ring of personal data */
    struct cg_auth *auth;          /* accounts, sessions and the access decision */
    struct cg_grid_locator *grids; /* point-to-grid lookup over the current grids */
    struct cg_calendar *calendar;  /* the working calendar, loaded at start */
    struct cg_events *events;      /* events and their workflow */
    struct cg_patrols *patrols;    /* patrols, worker positions and visits */
    struct cg_media *media;        /* photos of events */
    struct cg_live *live;          /* the live map's hub (domain/live) */
    struct cg_http_server *http;
    int64_t started_ms;      /* wall clock */
    int64_t started_mono_ns; /* monotonic, for uptime */
};

/*
 * The gate of every request (see cg_gate_fn in http/http.h): resolves the
 * session from "Authorization: Bearer" or the cg_session cookie, demands the
 * CSRF token for cookie-authenticated writes, and grants the route's
 * permission through cg_auth_allow(). Refusals are audited.
 */
int cg_app_gate(void *app, struct cg_req *req, const struct cg_route *route, struct cg_error *err);

/*
 * Loads the key ring of personal data: pii.keys when set, else pii.key_file,
 * which is created first when create is true and it does not exist yet
 * (*out_created tells). Free with cg_pii_keys_free().
 */
int cg_app_load_keys(const struct cg_config *cfg, bool create, bool *out_created,
                     struct cg_pii_keys **out_keys, struct cg_error *err);
/* The accounts policy from the auth.* settings. */
struct cg_auth_policy;
void cg_app_auth_policy(const struct cg_config *cfg, struct cg_auth_policy *p);

/*
 * The origin of the base map's tiles for the Content-Security-Policy: map.tile_url
 * "https://{s}.tile.example/{z}/{x}/{y}.png" gives "https://" "*.tile.example" (any
 * subdomain); "" when there is no base map. CG_EINVAL naming the setting for a URL that
 * is not an http(s) tile template.
 */
int cg_app_tile_origin(const char *url, char *out, size_t size, struct cg_error *err);

/* Audits a request body refused as malformed (a refusal like any other). */
void cg_app_bad_body(void *app, struct cg_req *req, const struct cg_route *route,
                     const struct cg_error *err);

/* The route table of app/routes.def, in declaration order. */
extern const struct cg_route cg_routes[];
extern const size_t cg_routes_count;

#endif
