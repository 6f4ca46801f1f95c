/*
 * log.c: JSON-lines logger. Each line is built in full and written with one
 * locked fputs, so lines from different threads never interleave.
 */
#include "base/cg.h"
#include "base/log.h"
#include "base/time.h"

enum cg_log_level cg_log_threshold = CG_LOG_INFO;
static FILE *log_stream; /* NULL means stderr */

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

int cg_log_level_parse(const char *name)
{
    for (size_t i = 0; i < CG_ARRAY_LEN(level_names); i++) {
        if (!strcmp(name, level_names[i])) {
            return (int)i;
        }
    }
    return -1;
}

void cg_log_set_stream(FILE *stream)
{
    log_stream = stream;
}

void cg_log_json(enum cg_log_level level, const char *msg, json_t *fields)
{
    char ts[CG_TIME_ISO_LEN];
    json_t *line = json_object();
    char *text;
    FILE *out = log_stream ? log_stream : stderr;

    if (level < cg_log_threshold || level >= CG_LOG_OFF) {
        json_decref(fields);
        json_decref(line);
        return;
    }
    cg_time_iso(cg_time_now_ms(), ts, sizeof(ts));
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "msg", json_string(msg ? msg : ""));
    if (fields && json_is_object(fields)) {
        json_object_update_missing(line, fields);
    }
    json_decref(fields);
    text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6));
    json_decref(line);
    if (!text) {
        return;
    }
    flockfile(out);
    fputs(text, out);
    fputc('\n', out);
    fflush(out);
    funlockfile(out);
    free(text);
}

void cg_log_write(enum cg_log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cg_log_json(level, msg, NULL);
}
