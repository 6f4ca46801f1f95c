/*
 * mem.h: allocation wrappers. Allocation failure aborts the process (the redis,
 * git and h2o policy for programs): memory use is bounded by explicit limits on
 * bodies, strings and connections instead of by thousands of untestable branches.
 */
#ifndef CG_MEM_H
#define CG_MEM_H

#include "base/cg.h"

void *cg_malloc(size_t size);
void *cg_calloc(size_t n, size_t size);
/* Like realloc; never returns NULL for size > 0. */
void *cg_realloc(void *p, size_t size);
/* Returns a new NUL-terminated copy owned by the caller; NULL in, NULL out. */
char *cg_strdup(const char *s);
/* Copies at most len bytes of s and terminates the copy. Owned by the caller. */
char *cg_strndup(const char *s, size_t len);
/* Frees *pp and sets it to NULL; NULL-safe. */
void cg_freez(void *pp);

#endif
