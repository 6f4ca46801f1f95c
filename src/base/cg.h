/*
 * cg.h: the first include of every civgrid source file. It fixes the feature
 * macros, pulls in the standard headers everybody needs and defines the few
 * attributes and assertion macros the code base shares.
 */
#ifndef CG_H
#define CG_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1 /* for timegm(), strcasecmp() and friends */
#endif

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CG_VERSION "0.1.0"

#define CG_MUST_CHECK __attribute__((warn_unused_result))
#define CG_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define CG_NORETURN __attribute__((noreturn))
#define CG_UNUSED __attribute__((unused))

#define CG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Abort with a message: broken invariants and exhausted memory only. */
CG_NORETURN void cg_panic(const char *file, int line, const char *fmt, ...) CG_PRINTF(3, 4);

/* Always-on assertion (redis serverAssert): a failed one is a bug, never bad input. */
#define CG_ASSERT(x)                                                                               \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            cg_panic(__FILE__, __LINE__, "assertion failed: %s", #x);                              \
        }                                                                                          \
    } while (0)

#include "base/banned.h"

#endif
