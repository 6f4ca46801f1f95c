/*
 * api.h: the HTTP handlers named in app/routes.def. Each is thin: read the
 * request, call the domain, render the reply (see http/http.h).
 */
#ifndef CG_API_H
#define CG_API_H

#include "http/http.h"

#define ROUTE(method, pattern, handler, permission, flags, summary) cg_handler_fn handler;
#include "app/routes.def"
#undef ROUTE

#endif
