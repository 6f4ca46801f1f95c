/*
 * fuzz_gps_batch.c: the reader of plain GPS batches (cg_patrol__read_batch() in
 * src/domain/patrol/patrol.c), which POST /api/v1/patrols/:id/points uses instead of
 * jansson for the bodies phones send. It only has to be right about what it accepts: any
 * body it takes must be one that the full path (the server's UTF-8 check and json_loadb()
 * with its flags, then {"points": [...]}) reads as the same points, member by member, with
 * no other member; a body it declines goes the full way and costs nothing here.
 */
#include "base/cg.h"
#include "base/str.h"
#include "domain/patrol/patrol.h"
#include "domain/patrol/patrol_int.h"

#include <jansson.h>
#include <math.h>

#include "fuzz.h"

/* The optional member key of o as the full path reads it: NAN when absent (or null). */
static double opt(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v)) {
        return NAN;
    }
    FUZZ_ASSERT(json_is_number(v));
    return json_number_value(v);
}

static bool same(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = 0;
    struct cg_patrol__point *pts = cg_patrol__read_batch((const char *)data, size, &n);
    json_error_t jerr;
    json_t *body, *arr;

    if (!pts) {
        return 0;
    }
    FUZZ_ASSERT(n >= 1 && n <= CG_PATROL_BATCH_MAX);
    FUZZ_ASSERT(cg_utf8_valid((const char *)data, size));
    body = json_loadb((const char *)data, size,
                      JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    FUZZ_ASSERT(body && json_is_object(body) && json_object_size(body) == 1);
    arr = json_object_get(body, "points");
    FUZZ_ASSERT(json_is_array(arr) && json_array_size(arr) == n);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i), *t = json_object_get(o, "t");
        size_t members = 0;
        const char *k;
        json_t *v;
        int64_t ms = 0;

        FUZZ_ASSERT(json_is_object(o));
        json_object_foreach(o, k, v)
        {
            FUZZ_ASSERT(!strcmp(k, "t") || !strcmp(k, "lon") || !strcmp(k, "lat") ||
                        !strcmp(k, "accuracy_m") || !strcmp(k, "speed"));
            FUZZ_ASSERT(!json_is_null(v));
            members++;
        }
        FUZZ_ASSERT(members >= 3);
        if (json_is_integer(t)) {
            FUZZ_ASSERT(json_integer_value(t) == pts[i].t_ms);
        } else {
            FUZZ_ASSERT(json_is_string(t) && cg_patrol_parse_time(json_string_value(t), &ms) &&
                        ms == pts[i].t_ms);
        }
        FUZZ_ASSERT(json_is_number(json_object_get(o, "lon")) &&
                    json_number_value(json_object_get(o, "lon")) == pts[i].lon);
        FUZZ_ASSERT(json_is_number(json_object_get(o, "lat")) &&
                    json_number_value(json_object_get(o, "lat")) == pts[i].lat);
        FUZZ_ASSERT(same(opt(o, "accuracy_m"), pts[i].accuracy_m));
        FUZZ_ASSERT(same(opt(o, "speed"), pts[i].speed));
    }
    json_decref(body);
    free(pts);
    return 0;
}
