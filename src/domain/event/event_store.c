/*
 * event_store.c: the SQL of the event module. A report and every action are
 * one write job each: the event row and its log entry commit together, and an
 * update applies only to the version the decision was made on.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "db/db.h"
#include "domain/event/event_int.h"

#define COLUMNS                                                                                    \
    "id, kind, source, category_kind, category_code, category_name, department, urgency,"          \
    " title, description, address, lon, lat, grid_code, COALESCE(reporter_id, 0), state, tier,"    \
    " supervised, rework_count, step_started_at, COALESCE(deadline_at, ''),"                       \
    " COALESCE(due_at, ''), COALESCE(closure_type, ''), COALESCE(satisfaction, 0), version,"       \
    " created_at, COALESCE(closed_at, '')"

void cg_event__row_release(struct cg_event__row *r)
{
    free(r->title);
    free(r->description);
    free(r->address);
    r->title = r->description = r->address = NULL;
}

static void copy(struct cg_stmt *st, int i, char *out, size_t size)
{
    snprintf(out, size, "%s", cg_db_column_text(st, i));
}

static void read_row(struct cg_stmt *st, struct cg_event__row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = cg_db_column_int64(st, 0);
    copy(st, 1, r->kind, sizeof(r->kind));
    copy(st, 2, r->source, sizeof(r->source));
    copy(st, 3, r->category_kind, sizeof(r->category_kind));
    copy(st, 4, r->category_code, sizeof(r->category_code));
    copy(st, 5, r->category_name, sizeof(r->category_name));
    copy(st, 6, r->department, sizeof(r->department));
    copy(st, 7, r->urgency, sizeof(r->urgency));
    r->title = cg_strdup(cg_db_column_text(st, 8));
    r->description = cg_strdup(cg_db_column_text(st, 9));
    r->address = cg_strdup(cg_db_column_text(st, 10));
    r->lon = cg_db_column_double(st, 11);
    r->lat = cg_db_column_double(st, 12);
    copy(st, 13, r->grid_code, sizeof(r->grid_code));
    r->reporter_id = cg_db_column_int64(st, 14);
    copy(st, 15, r->state, sizeof(r->state));
    copy(st, 16, r->tier, sizeof(r->tier));
    r->supervised = cg_db_column_int64(st, 17) != 0;
    r->rework_count = cg_db_column_int64(st, 18);
    copy(st, 19, r->step_started_at, sizeof(r->step_started_at));
    copy(st, 20, r->deadline_at, sizeof(r->deadline_at));
    copy(st, 21, r->due_at, sizeof(r->due_at));
    copy(st, 22, r->closure_type, sizeof(r->closure_type));
    r->satisfaction = (int)cg_db_column_int64(st, 23);
    r->version = cg_db_column_int64(st, 24);
    copy(st, 25, r->created_at, sizeof(r->created_at));
    copy(st, 26, r->closed_at, sizeof(r->closed_at));
}

static const char *or_null(const char *s)
{
    return s && *s ? s : NULL;
}

static int append_log(struct cg_conn *c, int64_t event_id, const char *at,
                      const struct cg_event__log *l, int64_t actor_id, const char *actor_login,
                      struct cg_error *err)
{
    char *detail = l->detail ? json_dumps(l->detail, JSON_COMPACT) : NULL;
    int rc =
        cg_db_run(c,
                  "INSERT INTO event_log(event_id, at, actor_id, actor_login, action,"
                  " from_state, to_state, note, detail, deadline_at)"
                  " VALUES (?1, ?2, NULLIF(?3, 0), ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                  err, "itittttttt", event_id, at, actor_id, actor_login, l->action, l->from_state,
                  l->to_state, l->note ? l->note : "", detail, or_null(l->deadline_at));

    free(detail);
    return rc;
}

struct insert_job {
    struct cg_event__row *row;
    const struct cg_event__log *logs;
    size_t nlogs;
    int64_t actor_id;
    const char *actor_login;
};

static int insert_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct insert_job *j = ctx;
    struct cg_event__row *r = j->row;
    int rc = cg_db_run(
        c,
        "INSERT INTO event(kind, source, category_kind, category_code, category_name, department,"
        " urgency, title, description, address, lon, lat, grid_code, reporter_id, state, tier,"
        " step_started_at, deadline_at, closure_type, created_at, updated_at, closed_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, NULLIF(?14, 0), ?15,"
        " ?16, ?17, ?18, ?19, ?20, ?20, ?21)",
        err, "ttttttttttddtittttttt", r->kind, r->source, r->category_kind, r->category_code,
        r->category_name, r->department, r->urgency, r->title, r->description, r->address, r->lon,
        r->lat, r->grid_code, r->reporter_id, r->state, r->tier, r->step_started_at,
        or_null(r->deadline_at), or_null(r->closure_type), r->created_at, or_null(r->closed_at));

    if (rc) {
        return rc;
    }
    r->id = cg_db_last_insert_id(c);
    for (size_t i = 0; i < j->nlogs && !rc; i++) {
        rc = append_log(c, r->id, r->created_at, &j->logs[i], j->actor_id, j->actor_login, err);
    }
    return rc;
}

int cg_event__insert(struct cg_db *db, struct cg_event__row *row, const struct cg_event__log *logs,
                     size_t nlogs, int64_t actor_id, const char *actor_login, struct cg_error *err)
{
    struct insert_job j = {row, logs, nlogs, actor_id, actor_login};

    return cg_db_write(db, insert_run, &j, err);
}

struct update_job {
    const struct cg_event__row *next;
    const struct cg_event__log *log;
    int64_t actor_id;
    const char *actor_login;
};

static int update_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct update_job *j = ctx;
    const struct cg_event__row *n = j->next;
    char now[CG_TIME_ISO_LEN];
    struct cg_stmt *st = NULL;
    int rc;

    cg_time_iso(cg_time_now_ms(), now, sizeof(now));
    rc = cg_db_run(c,
                   "UPDATE event SET state = ?3, tier = ?4, supervised = ?5, rework_count = ?6,"
                   " step_started_at = ?7, deadline_at = ?8, due_at = ?9, closure_type = ?10,"
                   " satisfaction = NULLIF(?11, 0), department = ?12, closed_at = ?13,"
                   " updated_at = ?14, version = version + 1 WHERE id = ?1 AND version = ?2",
                   err, "iittiittttittt", n->id, n->version, n->state, n->tier,
                   (int64_t)n->supervised, n->rework_count, n->step_started_at,
                   or_null(n->deadline_at), or_null(n->due_at), or_null(n->closure_type),
                   (int64_t)n->satisfaction, n->department, or_null(n->closed_at), now);
    if (!rc && cg_db_changes(c) == 0) {
        /* Someone acted first: say what the event is now. */
        char state[EV_TEXT] = "?";

        if (!cg_db_prepare_bind(c, "SELECT state, version FROM event WHERE id = ?1", &st, err, "i",
                                n->id) &&
            cg_db_step(st, err) == CG_DB_ROW) {
            copy(st, 0, state, sizeof(state));
        }
        cg_db_finalize(st);
        cg_error_clear(err);
        return cg_error_set(err, CG_ECONFLICT,
                            "someone acted on the event first: it is now %s; reload it", state);
    }
    return rc ? rc : append_log(c, n->id, now, j->log, j->actor_id, j->actor_login, err);
}

int cg_event__update(struct cg_db *db, const struct cg_event__row *next,
                     const struct cg_event__log *log, int64_t actor_id, const char *actor_login,
                     struct cg_error *err)
{
    struct update_job j = {next, log, actor_id, actor_login};

    return cg_db_write(db, update_run, &j, err);
}

int cg_event__load(struct cg_db *db, int64_t id, struct cg_event__row *out, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c, "SELECT " COLUMNS " FROM event WHERE id = ?1", &st, err, "i",
                                 id);
    rc = rc ? rc : cg_db_step(st, err);
    if (rc == CG_DB_ROW) {
        read_row(st, out);
        rc = 0;
    } else if (rc == CG_DB_DONE) {
        rc = cg_error_field(err, CG_ENOTFOUND, "id", "no event %" PRId64, id);
    }
    cg_db_finalize(st);
    return rc;
}

int cg_event__log_json(struct cg_db *db, int64_t id, json_t *list, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT at, COALESCE(actor_login, ''), action,"
                                 " COALESCE(from_state, ''), to_state, note,"
                                 " COALESCE(detail, ''), COALESCE(deadline_at, '')"
                                 " FROM event_log WHERE event_id = ?1 ORDER BY id",
                                 &st, err, "i", id);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        const char *detail = cg_db_column_text(st, 6);
        json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s}", "at", cg_db_column_text(st, 0), "actor",
                              cg_db_column_text(st, 1), "action", cg_db_column_text(st, 2), "to",
                              cg_db_column_text(st, 4), "note", cg_db_column_text(st, 5));

        rc = 0;
        json_object_set_new(e, "from",
                            *cg_db_column_text(st, 3) ? json_string(cg_db_column_text(st, 3))
                                                      : json_null());
        if (*detail) {
            json_object_set_new(e, "detail", json_loads(detail, 0, NULL));
        }
        if (*cg_db_column_text(st, 7)) {
            json_object_set_new(e, "deadline_at", json_string(cg_db_column_text(st, 7)));
        }
        json_array_append_new(list, e);
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

int cg_event__list(struct cg_db *db, const struct cg_event__scope *scope,
                   const struct cg_event_query *q, const char *now, cg_event__row_fn *fn, void *ctx,
                   struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    const char *grid = q->grid && *q->grid ? q->grid : scope->grid_prefix;
    char end[40];
    /* red can be asked of SQL; yellow is decided by the caller on working time */
    int red = q->warning && !strcmp(q->warning, "red");
    int64_t limit = q->warning ? 5000 : q->limit + 1;
    int rc = cg_db_reader(db, &c, err);

    snprintf(end, sizeof(end), "%s:", grid);
    rc = rc ? rc
            : cg_db_prepare_bind(
                  c,
                  "SELECT " COLUMNS " FROM event WHERE grid_code >= ?1 AND grid_code < ?2"
                  " AND (?3 IS NULL OR department = ?3) AND (?4 = 0 OR reporter_id = ?4)"
                  " AND (?5 IS NULL OR state = ?5) AND (?6 IS NULL OR category_code = ?6)"
                  " AND (?7 IS NULL OR source = ?7) AND (?8 IS NULL OR tier = ?8)"
                  " AND (?9 = 0 OR id < ?9)"
                  " AND (?10 = 0 OR (deadline_at IS NOT NULL AND deadline_at < ?11))"
                  " ORDER BY id DESC LIMIT ?12",
                  &st, err, "tttittttiiti", grid, end, scope->department, scope->owner_id, q->state,
                  q->category, q->source, q->tier, q->before_id, (int64_t)red, now, limit);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        struct cg_event__row r;

        rc = 0;
        read_row(st, &r);
        fn(ctx, &r);
        cg_event__row_release(&r);
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

/* ---- KPIs ------------------------------------------------------------------------------- */

/*
 * One statement per grouping (the statement cache is keyed by the SQL text's
 * address). In the period [?1, ?2): reported = created, not report-only;
 * filed = a "file" entry in the log; due (应结案) = filed events whose due time
 * falls in the period or that closed in it; closed = of those, closed before
 * the period's end; on time = closed by their due time; rework = check_fail
 * and unsatisfied return visits logged; self-resolved = closed without ever
 * being dispatched, at grid or village tier; satisfaction of the return visits
 * that closed events in the period.
 */
#define KPI_SQL(KEY)                                                                               \
    "SELECT " KEY ","                                                                              \
    " SUM(kind <> 'report_only' AND created_at >= ?1 AND created_at < ?2),"                        \
    " SUM(EXISTS (SELECT 1 FROM event_log l WHERE l.event_id = e.id AND l.action = 'file'"         \
    "  AND l.at >= ?1 AND l.at < ?2)),"                                                            \
    " SUM(due_at IS NOT NULL AND ((due_at >= ?1 AND due_at < ?2)"                                  \
    "  OR (closed_at >= ?1 AND closed_at < ?2))),"                                                 \
    " SUM(due_at IS NOT NULL AND ((due_at >= ?1 AND due_at < ?2)"                                  \
    "  OR (closed_at >= ?1 AND closed_at < ?2)) AND closed_at IS NOT NULL AND closed_at < ?2),"    \
    " SUM(due_at IS NOT NULL AND ((due_at >= ?1 AND due_at < ?2)"                                  \
    "  OR (closed_at >= ?1 AND closed_at < ?2)) AND closed_at IS NOT NULL AND closed_at < ?2"      \
    "  AND closed_at <= due_at),"                                                                  \
    " SUM((SELECT COUNT(*) FROM event_log l WHERE l.event_id = e.id AND l.at >= ?1"                \
    "  AND l.at < ?2 AND (l.action = 'check_fail'"                                                 \
    "  OR (l.action = 'revisit' AND l.to_state = 'handling')))),"                                  \
    " SUM(kind <> 'report_only' AND state = 'closed' AND closed_at >= ?1 AND closed_at < ?2"       \
    "  AND tier IN ('grid', 'village') AND NOT EXISTS (SELECT 1 FROM event_log l"                  \
    "  WHERE l.event_id = e.id AND l.action = 'dispatch')),"                                       \
    " SUM(satisfaction IS NOT NULL AND closed_at >= ?1 AND closed_at < ?2),"                       \
    " TOTAL(CASE WHEN closed_at >= ?1 AND closed_at < ?2 THEN satisfaction END)"                   \
    " FROM event e WHERE grid_code >= ?3 AND grid_code < ?4"                                       \
    " AND (?5 IS NULL OR department = ?5) AND (?6 = 0 OR reporter_id = ?6)"                        \
    " GROUP BY 1 ORDER BY 1"

static const char *const kpi_sql[] = {
    KPI_SQL("grid_code"),
    KPI_SQL("substr(grid_code, 1, 12)"),
    KPI_SQL("substr(grid_code, 1, 9)"),
    KPI_SQL("department"),
    KPI_SQL("COALESCE(CAST(reporter_id AS TEXT), '')"),
};

int cg_event__kpi(struct cg_db *db, int by, const struct cg_event__scope *scope, const char *from,
                  const char *to, cg_event__kpi_fn *fn, void *ctx, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    char end[40];
    int rc = cg_db_reader(db, &c, err);

    CG_ASSERT(by >= 0 && (size_t)by < CG_ARRAY_LEN(kpi_sql));
    snprintf(end, sizeof(end), "%s:", scope->grid_prefix);
    rc = rc ? rc
            : cg_db_prepare_bind(c, kpi_sql[by], &st, err, "ttttti", from, to, scope->grid_prefix,
                                 end, scope->department, scope->owner_id);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        struct cg_event__kpi k = {0};

        rc = 0;
        copy(st, 0, k.key, sizeof(k.key));
        k.reported = cg_db_column_int64(st, 1);
        k.filed = cg_db_column_int64(st, 2);
        k.due = cg_db_column_int64(st, 3);
        k.closed = cg_db_column_int64(st, 4);
        k.on_time = cg_db_column_int64(st, 5);
        k.rework = cg_db_column_int64(st, 6);
        k.self_resolved = cg_db_column_int64(st, 7);
        k.revisits = cg_db_column_int64(st, 8);
        k.satisfaction_sum = cg_db_column_double(st, 9);
        fn(ctx, &k);
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}
