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

struct cg_app {
    const struct cg_config *cfg;
    struct cg_db *db;
    struct cg_http_server *http;
    int64_t started_ms;      /* wall clock */
    int64_t started_mono_ns; /* monotonic, for uptime */
};

/* The route table of app/routes.def, in declaration order. */
extern const struct cg_route cg_routes[];
extern const size_t cg_routes_count;

#endif
