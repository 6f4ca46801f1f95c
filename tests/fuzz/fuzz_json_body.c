/*
 * fuzz_json_body.c: the JSON body path of every JSON route, as
 * parse_json_body() in src/http/server.c runs it (UTF-8 check, json_loadb()
 * with JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, an object),
 * then the typed accessors of src/base/json.h the handlers read it with: on
 * the field names handlers use and on every member the input has, with the
 * bounds handlers pass.
 */
#include "base/cg.h"
#include "base/json.h"
#include "base/str.h"

#include <stdio.h>

#include "fuzz.h"

static const char *const allowed[] = {
    "source", "category", "category_kind",    "title",  "description", "lon", "lat",
    "kind",   "note",     "expected_version", "action", NULL};
static const char *const kinds[] = {"normal", "self_resolved", "report_only", NULL};

/* Every accessor on one member; the results must agree with what jansson holds. */
static void read_member(json_t *obj, const char *key)
{
    struct cg_error err = CG_ERROR_INIT;
    const char *s = NULL;
    int64_t n = 7;
    json_t *v = json_object_get(obj, key);
    int rc;

    rc = cg_json_get_string(obj, key, true, 0, 200, false, &s, &err);
    FUZZ_ASSERT(rc <= 0);
    FUZZ_ASSERT(rc != 0 || (s && json_is_string(v)));
    rc = cg_json_get_string(obj, key, false, 1, 4000, true, &s, &err);
    FUZZ_ASSERT(rc != 0 || !s || cg_utf8_valid(s, strlen(s)));
    rc = cg_json_get_int(obj, key, true, -1000, 1000, &n, &err);
    FUZZ_ASSERT(rc != 0 || (json_is_integer(v) && n >= -1000 && n <= 1000));
    rc = cg_json_get_int(obj, key, false, INT64_MIN, INT64_MAX, &n, &err);
    FUZZ_ASSERT(rc <= 0);
    rc = cg_json_get_enum(obj, key, true, kinds, &s, &err);
    FUZZ_ASSERT(rc != 0 || (s && json_is_string(v)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cg_error err = CG_ERROR_INIT;
    json_error_t jerr;
    json_t *root;
    const char *key;
    json_t *value;

    if (!size || !cg_utf8_valid((const char *)data, size)) {
        return 0;
    }
    root = json_loadb((const char *)data, size,
                      JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        FUZZ_ASSERT(jerr.text[0]); /* the 400 names line, column and text */
        return 0;
    }
    if (json_is_object(root)) {
        (void)cg_json_only_keys(root, allowed, &err);
        for (size_t i = 0; allowed[i]; i++) {
            read_member(root, allowed[i]);
        }
        json_object_foreach(root, key, value)
        {
            read_member(root, key);
        }
    }
    json_decref(root);
    return 0;
}
