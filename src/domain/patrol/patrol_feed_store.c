/*
 * patrol_feed_store.c: the SQL of the live map's position feed. Every change
 * of a worker's row in worker_position (a GPS batch, a duty flag, a patrol
 * start) sets its updated_at inside the write job, and the writer runs jobs
 * one after the other, so "updated_at at or after the newest seen" finds every
 * change committed since (worker_position_updated, migration 0011).
 */
#include "base/cg.h"
#include "domain/patrol/patrol.h"
#include "base/time.h"
#include "db/db.h"

#define COLUMNS                                                                                    \
    "w.account_id, COALESCE(w.t_ms, 0), COALESCE(w.lon, 0), COALESCE(w.lat, 0), w.grid_code,"      \
    " w.updated_at, a.display_name, w.duty = 'on' OR (w.duty = 'auto' AND EXISTS (SELECT 1"        \
    " FROM patrol p WHERE p.account_id = w.account_id AND p.ended_ms IS NULL))"

static int each_row(struct cg_stmt *st, cg_patrol_feed_fn *fn, void *ctx, int limit, bool *out_more,
                    struct cg_error *err)
{
    int rc, n = 0;

    while ((rc = cg_db_step(st, err)) == CG_DB_ROW) {
        struct cg_patrol_feed_item it = {0};

        if (limit && n++ >= limit) {
            *out_more = true;
            break;
        }
        it.account_id = cg_db_column_int64(st, 0);
        it.t_ms = cg_db_column_int64(st, 1);
        it.lon = cg_db_column_double(st, 2);
        it.lat = cg_db_column_double(st, 3);
        snprintf(it.grid_code, sizeof(it.grid_code), "%s", cg_db_column_text(st, 4));
        if (!cg_time_parse_iso(cg_db_column_text(st, 5), &it.at_ms)) {
            it.at_ms = 0;
        }
        snprintf(it.name, sizeof(it.name), "%s", cg_db_column_text(st, 6));
        it.on_duty = cg_db_column_int64(st, 7) != 0;
        fn(ctx, &it);
    }
    return rc < 0 ? rc : 0;
}

int cg_patrol_feed_head(struct cg_db *db, int64_t *out_ms, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    *out_ms = 0;
    rc = rc ? rc
            : cg_db_prepare_bind(c, "SELECT COALESCE(MAX(updated_at), '') FROM worker_position",
                                 &st, err, "");
    if (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        if (!cg_time_parse_iso(cg_db_column_text(st, 0), out_ms)) {
            *out_ms = 0;
        }
        rc = 0;
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

int cg_patrol_feed_changes(struct cg_db *db, int64_t since_ms, int limit, cg_patrol_feed_fn *fn,
                           void *ctx, bool *out_more, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    char since[CG_TIME_ISO_LEN];
    int rc = cg_db_reader(db, &c, err);

    *out_more = false;
    cg_time_iso(since_ms, since, sizeof(since));
    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT " COLUMNS " FROM worker_position w"
                                 " JOIN account a ON a.id = w.account_id"
                                 " WHERE w.updated_at >= ?1 ORDER BY w.updated_at LIMIT ?2",
                                 &st, err, "ti", since, (int64_t)limit + 1);
    rc = rc ? rc : each_row(st, fn, ctx, limit, out_more, err);
    cg_db_finalize(st);
    return rc;
}

struct visible_only {
    const struct cg_principal *p;
    cg_patrol_feed_fn *fn;
    void *ctx;
};

static void visible_row(void *ctx, const struct cg_patrol_feed_item *it)
{
    struct visible_only *v = ctx;

    if (it->t_ms && cg_patrol_feed_visible(v->p, it)) {
        v->fn(v->ctx, it);
    }
}

int cg_patrol_feed_all(struct cg_db *db, const struct cg_principal *p, cg_patrol_feed_fn *fn,
                       void *ctx, struct cg_error *err)
{
    struct visible_only v = {p, fn, ctx};
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    bool more = false;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT " COLUMNS " FROM worker_position w"
                                 " JOIN account a ON a.id = w.account_id"
                                 " WHERE w.t_ms IS NOT NULL",
                                 &st, err, "");
    rc = rc ? rc : each_row(st, visible_row, &v, 0, &more, err);
    cg_db_finalize(st);
    return rc;
}
