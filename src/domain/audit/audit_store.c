/*
 * audit_store.c: the SQL of the audit module (tables of migration 0003), through
 * db.h only. The chain logic lives in audit.c; this file reads and writes rows.
 */
#include "base/cg.h"
#include "db/db.h"
#include "domain/audit/audit_int.h"

#define ROW_COLUMNS                                                                                \
    "id, at, actor_id, actor_login, remote, action, object_type, object_id, result, detail,"       \
    " prev_hash, hash"

static int bind_opt_text(struct cg_stmt *st, int idx, const char *s)
{
    return s ? cg_db_bind_text(st, idx, s, strlen(s)) : cg_db_bind_null(st, idx);
}

static const char *opt_text(struct cg_stmt *st, int idx)
{
    return cg_db_column_is_null(st, idx) ? NULL : cg_db_column_text(st, idx);
}

/* Fills row from a statement selecting ROW_COLUMNS. */
static void read_row(struct cg_stmt *st, struct cg_audit__row *row)
{
    row->id = cg_db_column_int64(st, 0);
    row->at = cg_db_column_text(st, 1);
    row->has_actor = !cg_db_column_is_null(st, 2);
    row->actor_id = row->has_actor ? cg_db_column_int64(st, 2) : 0;
    row->actor_login = opt_text(st, 3);
    row->remote = opt_text(st, 4);
    row->action = cg_db_column_text(st, 5);
    row->object_type = opt_text(st, 6);
    row->object_id = opt_text(st, 7);
    row->result = cg_db_column_text(st, 8);
    row->detail = opt_text(st, 9);
    row->prev_hash = cg_db_column_text(st, 10);
    row->hash = cg_db_column_text(st, 11);
}

/* Copies a stored hash into out (65 bytes); a malformed one is cut, and verify reports it. */
static void copy_hash(const char *s, char out[65])
{
    snprintf(out, 65, "%s", s);
}

static int read_anchor(struct cg_conn *c, struct cg_audit__anchor *out, struct cg_error *err)
{
    struct cg_stmt *st;
    int rc = cg_db_prepare(
        c, "SELECT last_purged_id, last_purged_hash FROM audit_anchor WHERE id = 1", &st, err);

    if (rc) {
        return rc;
    }
    out->id = 0;
    copy_hash(CG_AUDIT__ZERO_HASH, out->hash);
    rc = cg_db_step(st, err);
    if (rc == CG_DB_ROW) {
        out->id = cg_db_column_int64(st, 0);
        copy_hash(cg_db_column_text(st, 1), out->hash);
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

int cg_audit__tail(struct cg_conn *c, int64_t *out_id, char out_hash[65], struct cg_error *err)
{
    struct cg_audit__anchor anchor;
    struct cg_stmt *st;
    int rc = cg_db_prepare(c, "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1", &st, err);

    if (rc) {
        return rc;
    }
    rc = cg_db_step(st, err);
    if (rc == CG_DB_ROW) {
        *out_id = cg_db_column_int64(st, 0);
        copy_hash(cg_db_column_text(st, 1), out_hash);
        cg_db_finalize(st);
        return 0;
    }
    cg_db_finalize(st);
    if (rc < 0) {
        return rc;
    }
    rc = read_anchor(c, &anchor, err);
    if (!rc) {
        *out_id = anchor.id;
        copy_hash(anchor.hash, out_hash);
    }
    return rc;
}

int cg_audit__insert(struct cg_conn *w, const struct cg_audit__row *r, struct cg_error *err)
{
    struct cg_stmt *st;
    int rc = cg_db_prepare(w,
                           "INSERT INTO audit_log(" ROW_COLUMNS ")"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                           &st, err);

    if (rc) {
        return rc;
    }
    rc = cg_db_bind_int64(st, 1, r->id);
    rc = rc ? rc : cg_db_bind_text(st, 2, r->at, strlen(r->at));
    rc = rc ? rc : (r->has_actor ? cg_db_bind_int64(st, 3, r->actor_id) : cg_db_bind_null(st, 3));
    rc = rc ? rc : bind_opt_text(st, 4, r->actor_login);
    rc = rc ? rc : bind_opt_text(st, 5, r->remote);
    rc = rc ? rc : bind_opt_text(st, 6, r->action);
    rc = rc ? rc : bind_opt_text(st, 7, r->object_type);
    rc = rc ? rc : bind_opt_text(st, 8, r->object_id);
    rc = rc ? rc : bind_opt_text(st, 9, r->result);
    rc = rc ? rc : bind_opt_text(st, 10, r->detail);
    rc = rc ? rc : bind_opt_text(st, 11, r->prev_hash);
    rc = rc ? rc : bind_opt_text(st, 12, r->hash);
    if (rc) {
        rc = cg_error_set(err, rc, "cannot bind audit record");
    }
    rc = rc ? rc : cg_db_step_done(st, err);
    cg_db_finalize(st);
    return rc;
}

/* Steps st to its end, calling fn for each row. */
static int each_row(struct cg_stmt *st, const struct cg_audit__anchor *anchor, cg_audit__row_fn *fn,
                    void *ctx, struct cg_error *err)
{
    struct cg_audit__row row;
    int rc;

    for (;;) {
        rc = cg_db_step(st, err);
        if (rc != CG_DB_ROW) {
            return rc;
        }
        read_row(st, &row);
        rc = fn(ctx, anchor, &row, err);
        if (rc) {
            return rc;
        }
    }
}

int cg_audit__walk(struct cg_db *db, cg_audit__row_fn *fn, void *ctx, struct cg_error *err)
{
    struct cg_audit__anchor anchor;
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    /* One snapshot for the anchor and the rows: a purge committing meanwhile is not seen half. */
    int rc = cg_db_read_begin(db, &c, err);

    if (rc) {
        return rc;
    }
    rc = read_anchor(c, &anchor, err);
    rc = rc ? rc : cg_db_prepare(c, "SELECT " ROW_COLUMNS " FROM audit_log ORDER BY id", &st, err);
    rc = rc ? rc : each_row(st, &anchor, fn, ctx, err);
    cg_db_finalize(st);
    cg_db_read_end(c);
    return rc;
}

int cg_audit__select(struct cg_db *db, const struct cg_audit_query *q, int limit,
                     cg_audit__row_fn *fn, void *ctx, struct cg_error *err)
{
    struct cg_audit__anchor none = {0, CG_AUDIT__ZERO_HASH};
    struct cg_conn *c;
    struct cg_stmt *st;
    int rc = cg_db_reader(db, &c, err);

    if (rc) {
        return rc;
    }
    /* action is [a-z0-9_.]: every string starting with the prefix sorts below prefix || '~'. */
    rc = cg_db_prepare(c,
                       "SELECT " ROW_COLUMNS " FROM audit_log"
                       " WHERE (?1 IS NULL OR actor_login = ?1)"
                       " AND (?2 IS NULL OR (action >= ?2 AND action < ?2 || '~'))"
                       " AND (?3 IS NULL OR object_type = ?3)"
                       " AND (?4 IS NULL OR object_id = ?4)"
                       " AND (?5 IS NULL OR result = ?5)"
                       " AND (?6 IS NULL OR at >= ?6)"
                       " AND (?7 IS NULL OR at < ?7)"
                       " AND (?8 = 0 OR id < ?8)"
                       " ORDER BY id DESC LIMIT ?9",
                       &st, err);
    if (rc) {
        return rc;
    }
    rc = bind_opt_text(st, 1, q->actor_login);
    rc = rc ? rc : bind_opt_text(st, 2, q->action);
    rc = rc ? rc : bind_opt_text(st, 3, q->object_type);
    rc = rc ? rc : bind_opt_text(st, 4, q->object_id);
    rc = rc ? rc : bind_opt_text(st, 5, q->result);
    rc = rc ? rc : bind_opt_text(st, 6, q->from);
    rc = rc ? rc : bind_opt_text(st, 7, q->to);
    rc = rc ? rc : cg_db_bind_int64(st, 8, q->before_id);
    rc = rc ? rc : cg_db_bind_int64(st, 9, limit);
    if (rc) {
        rc = cg_error_set(err, rc, "cannot bind audit query");
    }
    rc = rc ? rc : each_row(st, &none, fn, ctx, err);
    cg_db_finalize(st);
    return rc;
}

int cg_audit__purge_before(struct cg_conn *w, const char *cutoff, int64_t *out_deleted,
                           struct cg_error *err)
{
    struct cg_stmt *st;
    int64_t first_kept = 0, last_id = 0, deleted = 0;
    char last_hash[65];
    int rc = cg_db_prepare(w, "SELECT MIN(id) FROM audit_log WHERE at >= ?1", &st, err);

    *out_deleted = 0;
    if (rc) {
        return rc;
    }
    rc = cg_db_bind_text(st, 1, cutoff, strlen(cutoff));
    rc = rc ? cg_error_set(err, rc, "cannot bind cutoff") : cg_db_step(st, err);
    if (rc == CG_DB_ROW) {
        first_kept = cg_db_column_is_null(st, 0) ? 0 : cg_db_column_int64(st, 0);
        rc = 0;
    }
    cg_db_finalize(st);
    if (rc) {
        return rc;
    }
    /* The last record before the first one to keep (or the newest of all when none is kept). */
    rc = cg_db_prepare(w,
                       "SELECT id, hash, (SELECT COUNT(*) FROM audit_log WHERE ?1 = 0 OR id < ?1)"
                       " FROM audit_log WHERE ?1 = 0 OR id < ?1 ORDER BY id DESC LIMIT 1",
                       &st, err);
    if (rc) {
        return rc;
    }
    rc = cg_db_bind_int64(st, 1, first_kept);
    rc = rc ? cg_error_set(err, rc, "cannot bind first id") : cg_db_step(st, err);
    if (rc == CG_DB_ROW) {
        last_id = cg_db_column_int64(st, 0);
        copy_hash(cg_db_column_text(st, 1), last_hash);
        deleted = cg_db_column_int64(st, 2);
        rc = 0;
    }
    cg_db_finalize(st);
    if (rc || deleted == 0) {
        return rc;
    }
    rc = cg_db_prepare(w, "DELETE FROM audit_log WHERE id <= ?1", &st, err);
    if (rc) {
        return rc;
    }
    rc = cg_db_bind_int64(st, 1, last_id);
    rc = rc ? cg_error_set(err, rc, "cannot bind last id") : cg_db_step_done(st, err);
    cg_db_finalize(st);
    if (rc) {
        return rc;
    }
    rc = cg_db_prepare(w,
                       "INSERT INTO audit_anchor(id, last_purged_id, last_purged_hash)"
                       " VALUES (1, ?1, ?2) ON CONFLICT(id) DO UPDATE SET"
                       " last_purged_id = excluded.last_purged_id,"
                       " last_purged_hash = excluded.last_purged_hash",
                       &st, err);
    if (rc) {
        return rc;
    }
    rc = cg_db_bind_int64(st, 1, last_id);
    rc = rc ? rc : cg_db_bind_text(st, 2, last_hash, strlen(last_hash));
    rc = rc ? cg_error_set(err, rc, "cannot bind anchor") : cg_db_step_done(st, err);
    cg_db_finalize(st);
    if (!rc) {
        *out_deleted = deleted;
    }
    return rc;
}
