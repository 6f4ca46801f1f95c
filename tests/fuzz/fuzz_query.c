/*
 * fuzz_query.c: the typed query-string and path parameters of every route
 * (src/http/params.c over cg_parse_int64() and cg_parse_double() of
 * src/base/str.h). The input is a query string "k=v&k=v..." as libmicrohttpd
 * hands it over, already split and decoded; each value goes through the
 * parsers with the bounds handlers use. An accepted number must lie in its
 * bounds and say the same as the text (digits only, no wrap-around), an
 * accepted decimal must be finite, and a refusal must leave the output alone.
 */
#include "base/cg.h"
#include "base/str.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "fuzz.h"

static const int64_t bounds[][2] = {{1, INT64_MAX}, {0, INT64_MAX},         {1, 500},
                                    {1, 1000},      {INT64_MIN, INT64_MAX}, {-1000, 1000}};

static void check_value(const char *v)
{
    char back[32];
    double d = -1;

    for (size_t i = 0; i < CG_ARRAY_LEN(bounds); i++) {
        int64_t n = 424242;

        if (cg_parse_int64(v, bounds[i][0], bounds[i][1], &n)) {
            const char *digits = *v == '-' ? v + 1 : v;

            FUZZ_ASSERT(n >= bounds[i][0] && n <= bounds[i][1]);
            FUZZ_ASSERT(*digits && strspn(digits, "0123456789") == strlen(digits));
            /* The same number as the text, leading zeros aside ("-0" is 0). */
            while (digits[0] == '0' && digits[1]) {
                digits++;
            }
            snprintf(back, sizeof(back), "%" PRId64, n);
            if (!strcmp(digits, "0")) {
                FUZZ_ASSERT(n == 0);
            } else {
                FUZZ_ASSERT(!strcmp(back + (n < 0), digits) && (n < 0) == (*v == '-'));
            }
        } else {
            FUZZ_ASSERT(n == 424242);
        }
    }
    if (cg_parse_double(v, &d)) {
        FUZZ_ASSERT(isfinite(d));
        FUZZ_ASSERT(strspn(v, "+-0123456789.eE") == strlen(v));
    } else {
        FUZZ_ASSERT(d == -1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *q = fuzz_cstr(data, size);
    char *save = NULL;

    if (!q) {
        return 0;
    }
    for (char *pair = strtok_r(q, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');

        check_value(eq ? eq + 1 : pair);
    }
    free(q);
    return 0;
}
