/*
 * json.c: the field readers of json.h.
 */
#include "base/cg.h"
#include "base/json.h"
#include "base/str.h"

int cg_json_only_keys(json_t *obj, const char *const *allowed, struct cg_error *err)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        bool ok = false;

        (void)v;
        for (const char *const *a = allowed; *a && !ok; a++) {
            ok = !strcmp(*a, key);
        }
        if (!ok) {
            /* The key is valid UTF-8 (jansson checked it) but may be long: cut it. */
            return cg_error_field(err, CG_EINVAL, key, "unknown field '%.40s'", key);
        }
    }
    return 0;
}

static int absent(const char *key, bool required, struct cg_error *err)
{
    if (required) {
        return cg_error_field(err, CG_EMISSING, key, "field '%s' is required", key);
    }
    return 0;
}

int cg_json_get_string(json_t *obj, const char *key, bool required, size_t min_chars,
                       size_t max_chars, bool allow_multiline, const char **out,
                       struct cg_error *err)
{
    json_t *v = json_object_get(obj, key);
    const char *s;
    size_t len, chars;

    if (!v || json_is_null(v)) {
        *out = NULL;
        return absent(key, required, err);
    }
    if (!json_is_string(v)) {
        return cg_error_field(err, CG_ETYPE, key, "field '%s' must be a string", key);
    }
    s = json_string_value(v);
    len = json_string_length(v);
    if (strlen(s) != len) {
        return cg_error_field(err, CG_EINVAL, key, "field '%s' must not contain NUL characters",
                              key);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c < 0x20 && !(allow_multiline && (c == '\n' || c == '\t' || c == '\r'))) ||
            c == 0x7f) {
            return cg_error_field(err, CG_EINVAL, key,
                                  "field '%s' must not contain control characters", key);
        }
    }
    chars = cg_utf8_count(s, len);
    if (chars < min_chars || chars > max_chars) {
        return cg_error_field(err, CG_EINVAL, key,
                              "field '%s' must have %zu to %zu characters (it has %zu)", key,
                              min_chars, max_chars, chars);
    }
    *out = s;
    return 0;
}

int cg_json_get_int(json_t *obj, const char *key, bool required, int64_t min, int64_t max,
                    int64_t *out, struct cg_error *err)
{
    json_t *v = json_object_get(obj, key);
    json_int_t n;

    if (!v || json_is_null(v)) {
        return absent(key, required, err);
    }
    if (!json_is_integer(v)) {
        return cg_error_field(err, CG_ETYPE, key, "field '%s' must be an integer", key);
    }
    n = json_integer_value(v);
    if (n < min || n > max) {
        return cg_error_field(err, CG_EINVAL, key,
                              "field '%s' must be from %" PRId64 " to %" PRId64, key, min, max);
    }
    *out = n;
    return 0;
}

int cg_json_get_enum(json_t *obj, const char *key, bool required, const char *const *choices,
                     const char **out, struct cg_error *err)
{
    int rc = cg_json_get_string(obj, key, required, 1, 64, false, out, err);

    if (rc || !*out) {
        return rc;
    }
    for (const char *const *c = choices; *c; c++) {
        if (!strcmp(*c, *out)) {
            return 0;
        }
    }
    return cg_error_field(err, CG_EINVAL, key, "field '%s' has an unknown value", key);
}
