/*
 * fuzz_catalogue_csv.c: cg_catalogue_check_csv() (src/domain/catalogue/catalogue.h),
 * the check `civgrid catalogue import` and the administrator's upload run
 * before anything is stored: header, every field, duplicate codes, class names.
 */
#include "base/cg.h"
#include "base/str.h"
#include "domain/catalogue/catalogue.h"

#include <stdio.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cg_str problems;
    struct cg_error err = CG_ERROR_INIT;
    int64_t rows = -1;
    int rc;

    cg_str_init(&problems, 1 << 20);
    rc = cg_catalogue_check_csv((const char *)data, size, &problems, &rows, &err);
    FUZZ_ASSERT(rc <= 0);
    FUZZ_ASSERT(rc != 0 || rows >= 0);
    FUZZ_ASSERT(rc == 0 || err.message[0]); /* a refusal says why */
    cg_str_release(&problems);
    return 0;
}
