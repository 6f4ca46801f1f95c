/*
 * client_error.c: checks and stores client error reports; the SQL is in
 * client_error_store.c.
 */
#include "base/cg.h"
#include "base/str.h"
#include "domain/telemetry/client_error.h"
#include "domain/telemetry/client_error_int.h"

const char *const cg_client_error_langs[] = {"zh-CN", "en", NULL};

static int check_len(const char *field, const char *s, size_t max, struct cg_error *err)
{
    if (s && cg_utf8_count(s, strlen(s)) > max) {
        return cg_error_field(err, CG_EINVAL, field, "field '%s' is longer than %zu characters",
                              field, max);
    }
    return 0;
}

int cg_client_error_record(struct cg_db *db, const struct cg_client_error *in, int64_t *out_id,
                           struct cg_error *err)
{
    int rc;

    CG_ASSERT(db && in && out_id);
    if (!in->message || !*in->message) {
        return cg_error_field(err, CG_EMISSING, "message", "field 'message' is required");
    }
    rc = check_len("message", in->message, CG_CLIENT_ERROR_MESSAGE_MAX, err);
    if (!rc) {
        rc = check_len("source", in->source, CG_CLIENT_ERROR_SOURCE_MAX, err);
    }
    if (!rc) {
        rc = check_len("stack", in->stack, CG_CLIENT_ERROR_STACK_MAX, err);
    }
    if (!rc) {
        rc = check_len("page", in->page, CG_CLIENT_ERROR_PAGE_MAX, err);
    }
    if (!rc) {
        rc = check_len("user_agent", in->user_agent, CG_CLIENT_ERROR_SOURCE_MAX, err);
    }
    if (rc) {
        return rc;
    }
    return cg_client_error__insert(db, in, out_id, err);
}
