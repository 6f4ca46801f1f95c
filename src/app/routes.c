/*
 * routes.c: the route table, expanded from routes.def.
 */
#include "base/cg.h"
#include "api/api.h"
#include "app/app.h"

/* A route must name its permission: an empty string fails the build here. */
#define ROUTE(method, pattern, handler, permission, flags, summary)                                \
    static_assert(sizeof(permission) > 1, "route " pattern " declares no permission");
#include "app/routes.def"
#undef ROUTE

const struct cg_route cg_routes[] = {
#define ROUTE(method, pattern, handler, permission, flags, summary)                                \
    {#method, pattern, handler, permission, flags, summary},
#include "app/routes.def"
#undef ROUTE
};

const size_t cg_routes_count = CG_ARRAY_LEN(cg_routes);
