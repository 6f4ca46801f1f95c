/*
 * json.h: typed access to the fields of a JSON object (jansson), with errors
 * that name the field, so every API input is checked the same way:
 * wrong type -> CG_ETYPE, missing -> CG_EMISSING, out of range -> CG_EINVAL.
 */
#ifndef CG_JSON_H
#define CG_JSON_H

#include "base/cg.h"
#include "base/err.h"

#include <jansson.h>

/*
 * Fails with CG_EINVAL naming the first member of obj that is not in the
 * NULL-terminated list allowed (a typo in a field name is an error, not a no-op).
 */
int cg_json_only_keys(json_t *obj, const char *const *allowed, struct cg_error *err);

/*
 * Reads string member key of obj into *out (borrowed from obj). Absent or null:
 * CG_EMISSING when required, else *out = NULL and 0. Length is counted in
 * characters (code points) and must lie in min_chars..max_chars; control
 * characters other than tab, CR and newline are refused unless allow_multiline is
 * false, in which case tab, CR and newline are refused too.
 */
int cg_json_get_string(json_t *obj, const char *key, bool required, size_t min_chars,
                       size_t max_chars, bool allow_multiline, const char **out,
                       struct cg_error *err);

/* Reads an integer member in min..max into *out; absent and optional leaves *out as is. */
int cg_json_get_int(json_t *obj, const char *key, bool required, int64_t min, int64_t max,
                    int64_t *out, struct cg_error *err);

/* Reads a string member that must be one of the NULL-terminated choices. */
int cg_json_get_enum(json_t *obj, const char *key, bool required, const char *const *choices,
                     const char **out, struct cg_error *err);

#endif
