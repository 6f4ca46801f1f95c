/*
 * str.h: cg_str, the growable string (git strbuf + curl dynbuf + sqlite StrAccum).
 *
 * Invariants: buf is never NULL and always NUL-terminated, CG_STR_INIT does not
 * allocate, every string has a maximum length, and the first failure (growing
 * past the maximum) is sticky: later appends do nothing and the caller checks
 * cg_str_error() once at the end. Fields are private: use the functions.
 */
#ifndef CG_STR_H
#define CG_STR_H

#include "base/cg.h"

struct cg_str {
    char *buf;  /* private: data, NUL-terminated; points at a static "" until first growth */
    size_t len; /* private: bytes used, excluding the NUL */
    size_t cap; /* private: bytes allocated, 0 while buf is the static "" */
    size_t max; /* private: largest len allowed */
    int err;    /* private: sticky CG_E* of the first failed append, 0 if none */
};

#define CG_STR_MAX_DEFAULT ((size_t)64 << 20)
#define CG_STR_INIT_MAX(m)                                                                         \
    {                                                                                              \
        (char *)"", 0, 0, (m), 0                                                                   \
    }
#define CG_STR_INIT CG_STR_INIT_MAX(CG_STR_MAX_DEFAULT)

/* Initialises sb as empty with the given maximum length; does not allocate. */
void cg_str_init(struct cg_str *sb, size_t max);
/* Frees the contents and leaves sb empty (and usable) with the same maximum. */
void cg_str_release(struct cg_str *sb);
/* Empties sb without freeing its buffer and clears the sticky error. */
void cg_str_reset(struct cg_str *sb);
/* Returns the buffer, now owned by the caller (free with free()), and empties sb. */
char *cg_str_detach(struct cg_str *sb, size_t *out_len);

/* Appenders: on overflow they set the sticky CG_ETOOBIG and append nothing. */
void cg_str_add(struct cg_str *sb, const void *data, size_t len);
void cg_str_adds(struct cg_str *sb, const char *s);
void cg_str_addch(struct cg_str *sb, char c);
void cg_str_addf(struct cg_str *sb, const char *fmt, ...) CG_PRINTF(2, 3);

static inline const char *cg_str_ptr(const struct cg_str *sb)
{
    return sb->buf;
}
static inline size_t cg_str_len(const struct cg_str *sb)
{
    return sb->len;
}
/* 0 if every append so far succeeded, else the first error (CG_ETOOBIG). */
static inline int cg_str_error(const struct cg_str *sb)
{
    return sb->err;
}

/* True when the len bytes at p are well-formed UTF-8 (no overlongs, surrogates or NULs). */
bool cg_utf8_valid(const char *p, size_t len);
/* Number of code points in well-formed UTF-8 text. */
size_t cg_utf8_count(const char *p, size_t len);

/*
 * Parses all of s as a decimal whole number in [min, max]: an optional '-' and
 * digits, nothing else (no spaces, '+', hex or overflow). False leaves *out as is.
 */
bool cg_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Parses all of s as a finite decimal number (digits, sign, '.', exponent). */
bool cg_parse_double(const char *s, double *out);

#endif
