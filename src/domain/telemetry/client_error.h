/*
 * client_error.h: script errors that browsers running the web UI report back,
 * so operators learn about a broken page before users call. The table is
 * capped (CG_CLIENT_ERROR_KEEP rows, oldest dropped) because anyone can post.
 */
#ifndef CG_CLIENT_ERROR_H
#define CG_CLIENT_ERROR_H

#include "base/cg.h"
#include "base/err.h"

struct cg_db;

#define CG_CLIENT_ERROR_KEEP 10000

/* One report; strings are borrowed and NULL when absent. */
struct cg_client_error {
    const char *message;    /* required, 1..2000 characters */
    const char *source;     /* script URL, up to 500 */
    int64_t line, column;   /* -1 when unknown */
    const char *stack;      /* up to 8000 */
    const char *page;       /* UI route, up to 500 */
    const char *lang;       /* "zh-CN" or "en" */
    const char *user_agent; /* up to 500 */
};

/* Limits shared with the API layer's field checks. */
#define CG_CLIENT_ERROR_MESSAGE_MAX 2000
#define CG_CLIENT_ERROR_SOURCE_MAX 500
#define CG_CLIENT_ERROR_STACK_MAX 8000
#define CG_CLIENT_ERROR_PAGE_MAX 500
extern const char *const cg_client_error_langs[]; /* NULL-terminated */

/*
 * Stores a report durably and returns its id through out_id. Returns 0,
 * CG_EINVAL (err names the field) or a store error; nothing is written on error.
 */
int cg_client_error_record(struct cg_db *db, const struct cg_client_error *in, int64_t *out_id,
                           struct cg_error *err) CG_MUST_CHECK;

#endif
