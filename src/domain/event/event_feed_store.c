/*
 * event_feed_store.c: the SQL of the live map's event feed. The feed follows
 * the append-only event log and the sweep's notices by their integer ids, so
 * each poll is a primary-key range; the events are read as they are now.
 */
#include "base/cg.h"
#include "domain/event/event_feed_int.h"
#include "db/db.h"

/* The open states of the workflow (every state of event.c's machine but the final ones). */
#define OPEN_STATES                                                                                \
    "('reported', 'accepted', 'verifying', 'filed', 'dispatched', 'handling', 'handled',"          \
    " 'checked', 'return_requested', 'extension_requested', 'suspension_requested',"               \
    " 'suspended')"

#define COLUMNS                                                                                    \
    "e.id, e.version, COALESCE(e.reporter_id, 0), e.risk_score, e.state, e.tier, e.urgency,"       \
    " e.grid_code, e.department, e.category_name, e.title, e.updated_at, e.lon, e.lat,"            \
    " e.step_started_at, COALESCE(e.deadline_at, ''), e.state IN " OPEN_STATES

static void copy(struct cg_stmt *st, int i, char *out, size_t size)
{
    snprintf(out, size, "%s", cg_db_column_text(st, i));
}

static void read_row(struct cg_stmt *st, struct cg_event_feed__row *r)
{
    struct cg_event_feed_item *it = &r->item;

    memset(r, 0, sizeof(*r));
    it->id = cg_db_column_int64(st, 0);
    it->version = cg_db_column_int64(st, 1);
    it->reporter_id = cg_db_column_int64(st, 2);
    it->risk = (int)cg_db_column_int64(st, 3);
    copy(st, 4, it->state, sizeof(it->state));
    copy(st, 5, it->tier, sizeof(it->tier));
    copy(st, 6, it->urgency, sizeof(it->urgency));
    copy(st, 7, it->grid_code, sizeof(it->grid_code));
    copy(st, 8, it->department, sizeof(it->department));
    copy(st, 9, it->category_name, sizeof(it->category_name));
    copy(st, 10, it->title, sizeof(it->title));
    copy(st, 11, it->at, sizeof(it->at));
    it->lon = cg_db_column_double(st, 12);
    it->lat = cg_db_column_double(st, 13);
    copy(st, 14, r->step_started_at, sizeof(r->step_started_at));
    copy(st, 15, r->deadline_at, sizeof(r->deadline_at));
    it->open = cg_db_column_int64(st, 16) != 0;
}

static int each_row(struct cg_stmt *st, cg_event_feed__row_fn *fn, void *ctx, struct cg_error *err)
{
    struct cg_event_feed__row row;
    int rc;

    while ((rc = cg_db_step(st, err)) == CG_DB_ROW) {
        read_row(st, &row);
        fn(ctx, &row);
    }
    return rc < 0 ? rc : 0;
}

int cg_event_feed__head(struct cg_db *db, int64_t *out_log, int64_t *out_notice,
                        struct cg_error *err)
{
    struct cg_conn *c;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_query_int64(c, "SELECT COALESCE(MAX(id), 0) FROM event_log", out_log, err, "");
    return rc ? rc
              : cg_db_query_int64(c, "SELECT COALESCE(MAX(id), 0) FROM event_notice", out_notice,
                                  err, "");
}

int cg_event_feed__changes(struct cg_db *db, int64_t after_log, int64_t upto_log,
                           int64_t after_notice, int64_t upto_notice, int limit,
                           cg_event_feed__row_fn *fn, void *ctx, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    /* Each event once, ordered by its newest row: log rows first, notices after them. */
    rc = rc ? rc
            : cg_db_prepare_bind(
                  c,
                  "SELECT " COLUMNS " FROM (SELECT event_id, MAX(k) AS k FROM ("
                  "SELECT event_id, id AS k FROM event_log WHERE id > ?1 AND id <= ?2"
                  " UNION ALL SELECT event_id, ?2 + id FROM event_notice"
                  " WHERE id > ?3 AND id <= ?4) GROUP BY event_id ORDER BY k LIMIT ?5) AS ch"
                  " JOIN event e ON e.id = ch.event_id ORDER BY ch.k",
                  &st, err, "iiiii", after_log, upto_log, after_notice, upto_notice,
                  (int64_t)limit + 1);
    rc = rc ? rc : each_row(st, fn, ctx, err);
    cg_db_finalize(st);
    return rc;
}

int cg_event_feed__open(struct cg_db *db, const struct cg_event_feed__scope *scope, int limit,
                        cg_event_feed__row_fn *fn, void *ctx, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT " COLUMNS " FROM event e WHERE e.state IN " OPEN_STATES
                                 " AND (?1 = '' OR substr(e.grid_code, 1, length(?1)) = ?1)"
                                 " AND (?2 = '' OR e.department = ?2)"
                                 " AND (?3 = 0 OR e.reporter_id = ?3)"
                                 " ORDER BY e.id DESC LIMIT ?4",
                                 &st, err, "ttii", scope->grid_prefix, scope->department,
                                 scope->owner_id, (int64_t)limit);
    rc = rc ? rc : each_row(st, fn, ctx, err);
    cg_db_finalize(st);
    return rc;
}
