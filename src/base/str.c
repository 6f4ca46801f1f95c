/*
 * str.c: the growable string of str.h and UTF-8 checks.
 */
#include "base/cg.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/str.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

void cg_str_init(struct cg_str *sb, size_t max)
{
    sb->buf = (char *)"";
    sb->len = 0;
    sb->cap = 0;
    sb->max = max;
    sb->err = 0;
}

void cg_str_release(struct cg_str *sb)
{
    if (sb->cap) {
        free(sb->buf);
    }
    cg_str_init(sb, sb->max);
}

void cg_str_reset(struct cg_str *sb)
{
    sb->len = 0;
    sb->err = 0;
    if (sb->cap) {
        sb->buf[0] = '\0';
    }
}

char *cg_str_detach(struct cg_str *sb, size_t *out_len)
{
    char *res = sb->cap ? sb->buf : cg_strdup("");

    if (out_len) {
        *out_len = sb->len;
    }
    cg_str_init(sb, sb->max);
    return res;
}

/* Makes room for extra more bytes; false (with the sticky error set) past the maximum. */
static bool grow(struct cg_str *sb, size_t extra)
{
    size_t need, cap;

    if (sb->err) {
        return false;
    }
    if (extra > sb->max || sb->len > sb->max - extra) {
        sb->err = CG_ETOOBIG;
        return false;
    }
    need = sb->len + extra + 1;
    if (need <= sb->cap) {
        return true;
    }
    cap = sb->cap ? sb->cap : 64;
    while (cap < need) {
        cap = cap < SIZE_MAX / 2 ? cap * 2 : need;
    }
    if (sb->cap) {
        sb->buf = cg_realloc(sb->buf, cap);
    } else {
        sb->buf = cg_malloc(cap);
        sb->buf[0] = '\0';
    }
    sb->cap = cap;
    return true;
}

void cg_str_add(struct cg_str *sb, const void *data, size_t len)
{
    if (!grow(sb, len)) {
        return;
    }
    if (len) {
        memcpy(sb->buf + sb->len, data, len);
    }
    sb->len += len;
    sb->buf[sb->len] = '\0';
}

void cg_str_adds(struct cg_str *sb, const char *s)
{
    cg_str_add(sb, s, strlen(s));
}

void cg_str_addch(struct cg_str *sb, char c)
{
    cg_str_add(sb, &c, 1);
}

void cg_str_addf(struct cg_str *sb, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        if (!sb->err) {
            sb->err = CG_EINVAL;
        }
        return;
    }
    if (!grow(sb, (size_t)n)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

/* Length of the UTF-8 sequence at p (at most avail bytes), or 0 if it is ill-formed. */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned c = p[0];

    if (c >= 0x01 && c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) {
            return 0;
        }
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F)) {
            return 0; /* overlong, or a UTF-16 surrogate */
        }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) {
            return 0;
        }
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F)) {
            return 0; /* overlong, or beyond U+10FFFF */
        }
        return 4;
    }
    return 0; /* NUL, continuation byte, or 0xC0/0xC1/0xF5+ */
}

bool cg_utf8_valid(const char *p, size_t len)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;

    while (i < len) {
        size_t n = utf8_seq(s + i, len - i);

        if (!n) {
            return false;
        }
        i += n;
    }
    return true;
}

size_t cg_utf8_count(const char *p, size_t len)
{
    size_t count = 0;

    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)p[i] & 0xC0) != 0x80) {
            count++;
        }
    }
    return count;
}

/* ---- numbers from text ------------------------------------------------------------------- */

bool cg_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    const char *d = *s == '-' ? s + 1 : s;
    char *end = NULL;
    long long v;

    if (!*d || strspn(d, "0123456789") != strlen(d)) {
        return false;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

bool cg_parse_double(const char *s, double *out)
{
    char *end = NULL;
    double v;

    /* strtod alone would take " 1", "0x1p3", "inf" and "nan" */
    if (!*s || strspn(s, "+-0123456789.eE") != strlen(s)) {
        return false;
    }
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) {
        return false;
    }
    *out = v;
    return true;
}
