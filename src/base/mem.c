/*
 * mem.c: the allocation wrappers of mem.h and cg_panic(), the one place that
 * decides how civgrid dies.
 */
#include "base/cg.h"
#include "base/mem.h"

void cg_panic(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "{\"level\":\"fatal\",\"file\":\"%s\",\"line\":%d,\"msg\":\"", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\"}\n", stderr);
    fflush(stderr);
    abort();
}

void *cg_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p) {
        cg_panic(__FILE__, __LINE__, "out of memory allocating %zu bytes", size);
    }
    return p;
}

void *cg_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p) {
        cg_panic(__FILE__, __LINE__, "out of memory allocating %zu x %zu bytes", n, size);
    }
    return p;
}

void *cg_realloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);

    if (!q) {
        cg_panic(__FILE__, __LINE__, "out of memory reallocating %zu bytes", size);
    }
    return q;
}

char *cg_strndup(const char *s, size_t len)
{
    char *d;

    if (!s) {
        return NULL;
    }
    d = cg_malloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *cg_strdup(const char *s)
{
    return s ? cg_strndup(s, strlen(s)) : NULL;
}

void cg_freez(void *pp)
{
    void **p = pp;

    free(*p);
    *p = NULL;
}
