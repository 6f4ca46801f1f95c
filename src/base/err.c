/*
 * err.c: lookups into CG_ERR_MAP and the struct cg_error helpers.
 */
#include "base/cg.h"
#include "base/err.h"

struct err_entry {
    int value;
    int http;
    const char *code;
    const char *msg;
};

static const struct err_entry err_table[] = {
#define CG_X(name, value, http, code, msg) {value, http, code, msg},
    CG_ERR_MAP(CG_X)
#undef CG_X
};

static const struct err_entry *find(int err)
{
    for (size_t i = 0; i < CG_ARRAY_LEN(err_table); i++) {
        if (err_table[i].value == err) {
            return &err_table[i];
        }
    }
    return NULL;
}

const char *cg_err_code(int err)
{
    const struct err_entry *e = find(err);

    return e ? e->code : "internal_error";
}

const char *cg_err_msg(int err)
{
    const struct err_entry *e = find(err);

    return e ? e->msg : "internal error";
}

int cg_err_http_status(int err)
{
    const struct err_entry *e = find(err);

    return e ? e->http : 500;
}

static int error_vset(struct cg_error *err, int code, const char *field, const char *fmt,
                      va_list ap)
{
    if (!err || err->code) {
        return code;
    }
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    if (fmt) {
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
    } else {
        snprintf(err->message, sizeof(err->message), "%s", cg_err_msg(code));
    }
    return code;
}

int cg_error_set(struct cg_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vset(err, code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

int cg_error_field(struct cg_error *err, int code, const char *field, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vset(err, code, field, fmt, ap);
    va_end(ap);
    return code;
}

void cg_error_clear(struct cg_error *err)
{
    if (err) {
        err->code = 0;
        err->field[0] = '\0';
        err->message[0] = '\0';
    }
}
