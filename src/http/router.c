/*
 * router.c: matches a request path against the route table. Patterns are
 * literal segments and ':name' parameters; the table is small (tens of rows),
 * so a linear scan is clearer than a trie and as fast in practice.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "http/http_int.h"

static void clear_params(struct cg_req *req)
{
    for (int i = 0; i < req->n_params; i++) {
        cg_freez(&req->params[i].value);
    }
    req->n_params = 0;
}

/* True when path matches pattern; parameter values are captured into req. */
static bool match(const char *pattern, const char *path, struct cg_req *req)
{
    const char *p = pattern, *s = path;

    clear_params(req);
    while (*p && *s) {
        if (*p == ':') {
            const char *name = ++p;
            const char *v = s;

            while (*p && *p != '/') {
                p++;
            }
            while (*s && *s != '/') {
                s++;
            }
            if (s == v || req->n_params == CG_HTTP_MAX_PARAMS) {
                return false; /* empty segment */
            }
            req->params[req->n_params].name = name;
            req->params[req->n_params].name_len = (size_t)(p - name);
            req->params[req->n_params].value = cg_strndup(v, (size_t)(s - v));
            req->n_params++;
            continue;
        }
        if (*p != *s) {
            return false;
        }
        p++;
        s++;
    }
    return !*p && !*s;
}

int cg_http__route_match(const struct cg_route *routes, size_t n, const char *method,
                         const char *path, struct cg_req *req, struct cg_str *allow)
{
    bool path_matched = false;

    for (size_t i = 0; i < n; i++) {
        if (!match(routes[i].pattern, path, req)) {
            continue;
        }
        if (!strcmp(routes[i].method, method) ||
            (!strcmp(method, "HEAD") && !strcmp(routes[i].method, "GET"))) {
            return (int)i;
        }
        if (allow) {
            cg_str_addf(allow, "%s%s%s", path_matched ? ", " : "", routes[i].method,
                        !strcmp(routes[i].method, "GET") ? ", HEAD" : "");
        }
        path_matched = true;
    }
    clear_params(req);
    return path_matched ? -2 : -1;
}
