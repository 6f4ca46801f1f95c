/*
 * client_error_store.c: the SQL of the telemetry module, through db.h only.
 */
#include "base/cg.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/telemetry/client_error_int.h"

struct insert_job {
    const struct cg_client_error *in;
    char received_at[CG_TIME_ISO_LEN];
    int64_t id;
};

static int bind_opt_text(struct cg_stmt *st, int idx, const char *s)
{
    return s ? cg_db_bind_text(st, idx, s, strlen(s)) : cg_db_bind_null(st, idx);
}

static int bind_opt_int(struct cg_stmt *st, int idx, int64_t v)
{
    return v >= 0 ? cg_db_bind_int64(st, idx, v) : cg_db_bind_null(st, idx);
}

/* Runs on the writer thread (see cg_db_write()). */
static int insert_job_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct insert_job *job = ctx;
    const struct cg_client_error *in = job->in;
    struct cg_stmt *st = NULL;
    int rc = cg_db_prepare(c,
                           "INSERT INTO client_error(received_at, message, source, line, col,"
                           " stack, page, lang, user_agent)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                           &st, err);

    if (rc) {
        return rc;
    }
    rc = cg_db_bind_text(st, 1, job->received_at, strlen(job->received_at));
    rc = rc ? rc : bind_opt_text(st, 2, in->message);
    rc = rc ? rc : bind_opt_text(st, 3, in->source);
    rc = rc ? rc : bind_opt_int(st, 4, in->line);
    rc = rc ? rc : bind_opt_int(st, 5, in->column);
    rc = rc ? rc : bind_opt_text(st, 6, in->stack);
    rc = rc ? rc : bind_opt_text(st, 7, in->page);
    rc = rc ? rc : bind_opt_text(st, 8, in->lang);
    rc = rc ? rc : bind_opt_text(st, 9, in->user_agent);
    rc = rc ? rc : cg_db_step_done(st, err);
    cg_db_finalize(st);
    if (rc) {
        return rc;
    }
    job->id = cg_db_last_insert_id(c);
    /* Keep the newest CG_CLIENT_ERROR_KEEP reports: the table is bounded whatever is posted. */
    rc = cg_db_prepare(c, "DELETE FROM client_error WHERE id <= ?1", &st, err);
    if (rc) {
        return rc;
    }
    rc = cg_db_bind_int64(st, 1, job->id - CG_CLIENT_ERROR_KEEP);
    rc = rc ? rc : cg_db_step_done(st, err);
    cg_db_finalize(st);
    return rc;
}

int cg_client_error__insert(struct cg_db *db, const struct cg_client_error *in, int64_t *out_id,
                            struct cg_error *err)
{
    struct insert_job job = {.in = in};
    int rc;

    cg_time_iso(cg_time_now_ms(), job.received_at, sizeof(job.received_at));
    rc = cg_db_write(db, insert_job_run, &job, err);
    if (!rc) {
        *out_id = job.id;
    }
    return rc;
}
