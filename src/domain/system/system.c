/*
 * system.c: the instance status of system.h.
 */
#include "base/cg.h"
#include "base/time.h"
#include "domain/system/system.h"

void cg_system_status(struct cg_db *db, int64_t started_ms, int64_t started_mono_ns,
                      struct cg_system_status *out)
{
    struct cg_error err = CG_ERROR_INIT;

    memset(out, 0, sizeof(*out));
    out->version = CG_VERSION;
    out->started_ms = started_ms;
    out->uptime_s = (cg_time_mono_ns() - started_mono_ns) / 1000000000;
    if (cg_db_info(db, &out->db, &err)) {
        snprintf(out->db_error, sizeof(out->db_error), "%s", err.message);
        return;
    }
    if (out->db.schema_version != out->db.schema_latest) {
        snprintf(out->db_error, sizeof(out->db_error), "schema version %d, expected %d",
                 out->db.schema_version, out->db.schema_latest);
        return;
    }
    out->db_ok = true;
}
