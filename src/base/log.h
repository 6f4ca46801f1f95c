/*
 * log.h: the operational log, one JSON object a line on stderr (or a file):
 * {"ts":"...","level":"info","msg":"...", ...fields}. The level is checked
 * before any argument is evaluated (redis serverLog). Never log secrets or
 * personal data here; the audit trail is a separate, domain-level table.
 */
#ifndef CG_LOG_H
#define CG_LOG_H

#include "base/cg.h"

#include <jansson.h>

enum cg_log_level { CG_LOG_DEBUG = 0, CG_LOG_INFO, CG_LOG_WARN, CG_LOG_ERROR, CG_LOG_OFF };

/* The process-wide threshold; written once at startup, read everywhere. */
extern enum cg_log_level cg_log_threshold;

/* Parses "debug", "info", "warn", "error" or "off"; returns -1 for anything else. */
int cg_log_level_parse(const char *name);
/* Sends log lines to stream (default stderr). Not thread-safe: call at startup. */
void cg_log_set_stream(FILE *stream);

/* Writes one line with a printf-style message. Prefer the CG_LOG macro. */
void cg_log_write(enum cg_log_level level, const char *fmt, ...) CG_PRINTF(2, 3);
/*
 * Writes one line with message msg and the members of fields (an object, may
 * be NULL) merged in. Takes ownership of fields.
 */
void cg_log_json(enum cg_log_level level, const char *msg, json_t *fields);

#define CG_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) >= cg_log_threshold) {                                                         \
            cg_log_write((level), __VA_ARGS__);                                                    \
        }                                                                                          \
    } while (0)

#define CG_LOG_ENABLED(level) ((level) >= cg_log_threshold)

#endif
