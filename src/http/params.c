/*
 * params.c: typed request parameters (http.h, "typed parameters"). Every
 * handler reads ids from its path and numbers, codes and text from its query
 * string through these, so the same input gets the same answer and message on
 * every route, and a number that does not fit is refused, never wrapped.
 */
#include "base/cg.h"
#include "base/str.h"
#include "http/http_int.h"

#include <inttypes.h>

int cg_req_path_id(struct cg_req *req, const char *name, const char *what, int64_t *out,
                   struct cg_error *err)
{
    const char *s = cg_req_param(req, name);

    if (!s || !cg_parse_int64(s, 1, INT64_MAX, out)) {
        return cg_error_field(err, CG_ENOTFOUND, name, "no %s '%.20s'", what, s ? s : "");
    }
    return 0;
}

int cg_req_query_int(struct cg_req *req, const char *name, int64_t min, int64_t max, int64_t *out,
                     struct cg_error *err)
{
    const char *s = cg_req_query(req, name);
    int64_t v;

    if (!s) {
        return 0;
    }
    if (!cg_parse_int64(s, min, max, &v)) {
        return cg_error_field(err, CG_EINVAL, name,
                              "'%s' must be a whole number from %" PRId64 " to %" PRId64, name, min,
                              max);
    }
    *out = v;
    return 0;
}

int cg_req_query_number(struct cg_req *req, const char *name, double min, double max, double *out,
                        struct cg_error *err)
{
    const char *s = cg_req_query(req, name);

    if (!s) {
        return cg_error_field(err, CG_EMISSING, name, "give '%s' as a decimal number", name);
    }
    if (!cg_parse_double(s, out)) {
        return cg_error_field(err, CG_EINVAL, name, "'%s' must be a decimal number, not '%.20s'",
                              name, s);
    }
    if (*out < min || *out > max) {
        return cg_error_field(err, CG_EINVAL, name, "'%s' must lie between %g and %g", name, min,
                              max);
    }
    return 0;
}

int cg_req_query_text(struct cg_req *req, const char *name, size_t max_chars, const char **out,
                      struct cg_error *err)
{
    const char *s = cg_req_query(req, name);
    size_t n = s ? strlen(s) : 0;

    *out = NULL;
    if (!n) {
        return 0;
    }
    /* Bytes first: a long value is refused before its characters are counted. */
    if (n > 4 * max_chars || !cg_utf8_valid(s, n) || cg_utf8_count(s, n) > max_chars) {
        return cg_error_field(err, CG_EINVAL, name, "'%s' must be text of at most %zu characters",
                              name, max_chars);
    }
    *out = s;
    return 0;
}

int cg_req_query_code(struct cg_req *req, const char *name, size_t max_digits, const char **out,
                      struct cg_error *err)
{
    const char *s = cg_req_query(req, name);

    *out = NULL;
    if (!s) {
        return 0;
    }
    if (!*s || strlen(s) > max_digits || strspn(s, "0123456789") != strlen(s)) {
        return cg_error_field(err, CG_EINVAL, name,
                              "'%s' must be a division or grid code (up to %zu digits)", name,
                              max_digits);
    }
    *out = s;
    return 0;
}
