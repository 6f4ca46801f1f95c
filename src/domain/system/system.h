/*
 * system.h: facts about the running civgrid instance for the status page and
 * health checks: version, uptime and the state of the database.
 */
#ifndef CG_SYSTEM_H
#define CG_SYSTEM_H

#include "base/cg.h"
#include "db/db.h"

struct cg_system_status {
    const char *version;
    int64_t started_ms; /* wall clock, ms since the epoch */
    int64_t uptime_s;
    bool db_ok;           /* the database answered and its schema is current */
    struct cg_db_info db; /* valid when db_ok, or partly when only the schema is off */
    char db_error[CG_ERROR_MSG_MAX];
};

/*
 * Fills out for a server started at started_ms (wall) / started_mono_ns
 * (monotonic). Never fails: database problems are reported in out.
 */
void cg_system_status(struct cg_db *db, int64_t started_ms, int64_t started_mono_ns,
                      struct cg_system_status *out);

#endif
