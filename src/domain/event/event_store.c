/*
 * event_store.c: the SQL of the event module. A report and every action are
 * one write job each: the event row and its log entry commit together, and an
 * update applies only to the version the decision was made on.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "db/db.h"
#include "domain/audit/audit.h"
#include "domain/auth/auth.h"
#include "domain/event/event_int.h"

#include <math.h>

/*
 * An open event: not in a terminal state (terminal[] of event.c). Spelled the same in every
 * statement, because SQLite uses the partial indexes of migration 0013 only for these terms
 * (four comparisons: a NOT IN list costs a temporary b-tree per statement).
 */
#define OPEN_STATE                                                                                 \
    "(state <> 'closed' AND state <> 'cancelled' AND state <> 'recorded' AND state <> 'merged')"

/* The end of the range of grid codes under prefix: [prefix, prefix ":"), ':' after '9'. */
static void prefix_end(const char *prefix, char *end, size_t size)
{
    snprintf(end, size, "%s:", prefix);
}

#define COLUMNS                                                                                    \
    "id, kind, source, category_kind, category_code, category_name, department, urgency,"          \
    " title, description, address, lon, lat, grid_code, COALESCE(reporter_id, 0), state, tier,"    \
    " supervised, rework_count, step_started_at, COALESCE(deadline_at, ''),"                       \
    " COALESCE(due_at, ''), COALESCE(closure_type, ''), COALESCE(satisfaction, 0), version,"       \
    " created_at, COALESCE(closed_at, ''), people, risk_score, risk_reasons,"                      \
    " COALESCE(merged_into, 0), COALESCE(filed_at, ''), COALESCE(dispatched_at, '')"

void cg_event__row_release(struct cg_event__row *r)
{
    free(r->title);
    free(r->description);
    free(r->address);
    free(r->risk_reasons);
    r->title = r->description = r->address = r->risk_reasons = NULL;
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
    r->people = cg_db_column_int64(st, 27);
    r->risk_score = (int)cg_db_column_int64(st, 28);
    r->risk_reasons = cg_strdup(cg_db_column_text(st, 29));
    r->merged_into = cg_db_column_int64(st, 30);
    copy(st, 31, r->filed_at, sizeof(r->filed_at));
    copy(st, 32, r->dispatched_at, sizeof(r->dispatched_at));
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
        " step_started_at, deadline_at, closure_type, created_at, updated_at, closed_at, people,"
        " risk_score, risk_reasons, client_key)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, NULLIF(?14, 0), ?15,"
        " ?16, ?17, ?18, ?19, ?20, ?20, ?21, ?22, ?23, ?24, ?25)",
        err, "ttttttttttddtitttttttiitt", r->kind, r->source, r->category_kind, r->category_code,
        r->category_name, r->department, r->urgency, r->title, r->description, r->address, r->lon,
        r->lat, r->grid_code, r->reporter_id, r->state, r->tier, r->step_started_at,
        or_null(r->deadline_at), or_null(r->closure_type), r->created_at, or_null(r->closed_at),
        r->people, (int64_t)r->risk_score, r->risk_reasons ? r->risk_reasons : "[]", r->client_key);

    if (rc) {
        return rc;
    }
    r->id = cg_db_last_insert_id(c);
    for (size_t i = 0; i < j->nlogs && !rc; i++) {
        rc = append_log(c, r->id, r->created_at, &j->logs[i], j->actor_id, j->actor_login, err);
    }
    return rc;
}

int cg_event__by_client_key(struct cg_db *db, int64_t reporter_id, const char *client_key,
                            int64_t *out_id, struct cg_error *err)
{
    struct cg_conn *c;
    int rc = cg_db_reader(db, &c, err);

    *out_id = 0;
    rc =
        rc ? rc
           : cg_db_query_int64(c, "SELECT id FROM event WHERE reporter_id = ?1 AND client_key = ?2",
                               out_id, err, "it", reporter_id, client_key);
    if (rc == CG_ENOTFOUND) {
        cg_error_clear(err);
        rc = 0;
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

/* Writes n if the event is still at n->version, and its log entry. */
static int update_row(struct cg_conn *c, const struct cg_event__row *n,
                      const struct cg_event__log *log, int64_t actor_id, const char *actor_login,
                      const char *now, struct cg_error *err)
{
    struct cg_stmt *st = NULL;
    int rc = cg_db_run(c,
                       "UPDATE event SET state = ?3, tier = ?4, supervised = ?5, rework_count = ?6,"
                       " step_started_at = ?7, deadline_at = ?8, due_at = ?9, closure_type = ?10,"
                       " satisfaction = NULLIF(?11, 0), department = ?12, closed_at = ?13,"
                       " updated_at = ?14, merged_into = NULLIF(?15, 0), filed_at = ?16,"
                       " dispatched_at = ?17, version = version + 1"
                       " WHERE id = ?1 AND version = ?2",
                       err, "iittiittttitttitt", n->id, n->version, n->state, n->tier,
                       (int64_t)n->supervised, n->rework_count, n->step_started_at,
                       or_null(n->deadline_at), or_null(n->due_at), or_null(n->closure_type),
                       (int64_t)n->satisfaction, n->department, or_null(n->closed_at), now,
                       n->merged_into, or_null(n->filed_at), or_null(n->dispatched_at));

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
                            "someone acted on event %" PRId64 " first: it is now %s; reload it",
                            n->id, state);
    }
    return rc ? rc : append_log(c, n->id, now, log, actor_id, actor_login, err);
}

static int update_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct update_job *j = ctx;
    char now[CG_TIME_ISO_LEN];

    cg_time_iso(cg_time_now_ms(), now, sizeof(now));
    return update_row(c, j->next, j->log, j->actor_id, j->actor_login, now, err);
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

/* The queue's filters after the scope's reporter (?4), newest first. */
#define LIST_FILTERS                                                                               \
    "grid_code >= ?1 AND grid_code < ?2 AND (?3 IS NULL OR department = ?3)"                       \
    " AND (?5 IS NULL OR state = ?5) AND (?6 IS NULL OR category_code = ?6)"                       \
    " AND (?7 IS NULL OR source = ?7) AND (?8 IS NULL OR tier = ?8) AND (?9 = 0 OR id < ?9)"       \
    " AND (?10 = 0 OR (deadline_at IS NOT NULL AND deadline_at < ?11))"                            \
    " ORDER BY id DESC LIMIT ?12"

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

    prefix_end(grid, end, sizeof(end));
    /* Two statements: "?4 = 0 OR reporter_id = ?4" cannot use the reporter's index, and a
       reporter's few events are not to be looked for among a city's (migration 0014). */
    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 scope->owner_id ? "SELECT " COLUMNS " FROM event"
                                                   " WHERE reporter_id = ?4 AND " LIST_FILTERS
                                                 : "SELECT " COLUMNS " FROM event"
                                                   " WHERE ?4 = 0 AND " LIST_FILTERS,
                                 &st, err, "tttittttiiti", grid, end, scope->department,
                                 scope->owner_id, q->state, q->category, q->source, q->tier,
                                 q->before_id, (int64_t)red, now, limit);
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

/* ---- recent events (event_recent.c) ----------------------------------------------------- */

#define RECENT_COLUMNS                                                                             \
    "e.id, e.category_kind || ':' || e.category_code, e.lon, e.lat, e.state, e.created_at,"        \
    " e.grid_code, COALESCE(e.reporter_id, 0), e.kind = 'report_only'"

static int recent_rows(struct cg_stmt *st, cg_event__recent_fn *fn, void *ctx, struct cg_error *err)
{
    int rc;

    while ((rc = cg_db_step(st, err)) == CG_DB_ROW) {
        struct cg_event__recent_row r;

        r.id = cg_db_column_int64(st, 0);
        copy(st, 1, r.cls, sizeof(r.cls));
        r.lon = cg_db_column_double(st, 2);
        r.lat = cg_db_column_double(st, 3);
        copy(st, 4, r.state, sizeof(r.state));
        copy(st, 5, r.created_at, sizeof(r.created_at));
        copy(st, 6, r.grid_code, sizeof(r.grid_code));
        r.reporter_id = cg_db_column_int64(st, 7);
        r.report_only = cg_db_column_int64(st, 8) != 0;
        fn(ctx, &r);
    }
    return rc < 0 ? rc : 0;
}

int cg_event__recent_changes(struct cg_db *db, int64_t after_log, const char *since,
                             cg_event__recent_fn *fn, void *ctx, int64_t *out_last_log,
                             struct cg_error *err)
{
    struct cg_conn *c = NULL;
    struct cg_stmt *st = NULL;
    int rc = cg_db_read_begin(db, &c, err); /* the rows and the log's head: one snapshot */

    rc = rc ? rc
            : cg_db_query_int64(c, "SELECT COALESCE(MAX(id), 0) FROM event_log", out_last_log, err,
                                "");
    if (!rc && after_log == 0) {
        rc = cg_db_prepare_bind(c,
                                "SELECT " RECENT_COLUMNS " FROM event e WHERE e.created_at >= ?1"
                                " ORDER BY e.id",
                                &st, err, "t", since);
    } else if (!rc && after_log < *out_last_log) {
        rc = cg_db_prepare_bind(c,
                                "SELECT " RECENT_COLUMNS " FROM event e WHERE e.id IN"
                                " (SELECT event_id FROM event_log WHERE id > ?1 AND id <= ?2)"
                                " ORDER BY e.id",
                                &st, err, "ii", after_log, *out_last_log);
    }
    rc = rc || !st ? rc : recent_rows(st, fn, ctx, err);
    cg_db_finalize(st);
    cg_db_read_end(c);
    return rc;
}

/* ---- KPIs ------------------------------------------------------------------------------- */

/*
 * The reference scan, one statement per grouping (the statement cache is
 * keyed by the SQL text's address). In the period [?1, ?2): reported =
 * created; filed = filed_at; due (应结案) = due_at set and min(due_at,
 * closed_at) in the period; closed = of those, closed (by now); on time =
 * closed by their due time; rework = check_fail and unsatisfied return visits
 * logged; self-resolved = closed without ever being dispatched, at grid or
 * village tier; the return visits that closed events in the period and their
 * grades. Report-only records never count. Migration 0010's triggers keep the
 * same counts per China day and month.
 */
#define KPI_SCAN_SQL(KEY)                                                                          \
    "SELECT " KEY ","                                                                              \
    " SUM(created_at >= ?1 AND created_at < ?2),"                                                  \
    " SUM(filed_at >= ?1 AND filed_at < ?2),"                                                      \
    " SUM(reckon >= ?1 AND reckon < ?2),"                                                          \
    " SUM(reckon >= ?1 AND reckon < ?2 AND closed_at IS NOT NULL),"                                \
    " SUM(reckon >= ?1 AND reckon < ?2 AND closed_at <= due_at),"                                  \
    " SUM((SELECT COUNT(*) FROM event_log l WHERE l.event_id = e.id AND l.at >= ?1"                \
    "  AND l.at < ?2 AND (l.action = 'check_fail'"                                                 \
    "  OR (l.action = 'revisit' AND l.to_state = 'handling')))),"                                  \
    " SUM(state = 'closed' AND closed_at >= ?1 AND closed_at < ?2"                                 \
    "  AND tier IN ('grid', 'village') AND dispatched_at IS NULL),"                                \
    " SUM(satisfaction IS NOT NULL AND closed_at >= ?1 AND closed_at < ?2),"                       \
    " TOTAL(CASE WHEN closed_at >= ?1 AND closed_at < ?2 THEN satisfaction END)"                   \
    " FROM (SELECT *, CASE WHEN due_at IS NOT NULL"                                                \
    "  THEN min(due_at, COALESCE(closed_at, due_at)) END AS reckon FROM event"                     \
    "  WHERE kind <> 'report_only' AND grid_code >= ?3 AND grid_code < ?4"                         \
    "  AND (?5 IS NULL OR department = ?5) AND (?6 = 0 OR reporter_id = ?6)) e"                    \
    " GROUP BY 1 ORDER BY 1"

static const char *const kpi_scan_sql[] = {
    KPI_SCAN_SQL("grid_code"),
    KPI_SCAN_SQL("substr(grid_code, 1, 12)"),
    KPI_SCAN_SQL("substr(grid_code, 1, 9)"),
    KPI_SCAN_SQL("department"),
    KPI_SCAN_SQL("COALESCE(CAST(reporter_id AS TEXT), '')"),
};

struct cg_event__kpi *cg_event__kpis_add(struct cg_event__kpis *l, const char *key, size_t len)
{
    struct cg_event__kpi *k;

    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->rows = cg_realloc(l->rows, l->cap * sizeof(*l->rows));
    }
    k = &l->rows[l->n++];
    memset(k, 0, sizeof(*k));
    k->key = l->keys.len;
    cg_str_add(&l->keys, key, len);
    cg_str_addch(&l->keys, '\0');
    return k;
}

void cg_event__kpis_free(struct cg_event__kpis *l)
{
    free(l->rows);
    cg_str_release(&l->keys);
    memset(l, 0, sizeof(*l));
    cg_str_init(&l->keys, CG_STR_MAX_DEFAULT);
}

static int kpi_rows(struct cg_stmt *st, struct cg_event__kpis *out, struct cg_error *err)
{
    int rc;

    while ((rc = cg_db_step(st, err)) == CG_DB_ROW) {
        struct cg_event__kpi *k =
            cg_event__kpis_add(out, cg_db_column_text(st, 0), cg_db_column_bytes(st, 0));

        k->reported = cg_db_column_int64(st, 1);
        k->filed = cg_db_column_int64(st, 2);
        k->due = cg_db_column_int64(st, 3);
        k->closed = cg_db_column_int64(st, 4);
        k->on_time = cg_db_column_int64(st, 5);
        k->rework = cg_db_column_int64(st, 6);
        k->self_resolved = cg_db_column_int64(st, 7);
        k->revisits = cg_db_column_int64(st, 8);
        k->satisfaction_sum = cg_db_column_double(st, 9);
    }
    return rc < 0 ? rc : 0;
}

int cg_event__kpi_scan(struct cg_db *db, enum cg_event__by by, const struct cg_event__scope *scope,
                       const char *from, const char *to, struct cg_event__kpis *out,
                       struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    char end[40];
    int rc = cg_db_reader(db, &c, err);

    CG_ASSERT((size_t)by < CG_ARRAY_LEN(kpi_scan_sql));
    prefix_end(scope->grid_prefix, end, sizeof(end));
    rc = rc ? rc
            : cg_db_prepare_bind(c, kpi_scan_sql[by], &st, err, "ttttti", from, to,
                                 scope->grid_prefix, end, scope->department, scope->owner_id);
    rc = rc ? rc : kpi_rows(st, out, err);
    cg_db_finalize(st);
    return rc;
}

/*
 * The roll-ups: one range of rows per bucket of the list, (dim, lvl, bucket) equal and the
 * areas in scope, plus the changes not folded into them yet (at most 255 rows of
 * event_rollup_pending, spread over the targets); added up here by group key, each bucket
 * with its sign (a month less the days outside the period). In C rather than one SQL GROUP BY:
 * a year of villages over the city is some 9,000 rows, which the SQL (a temporary b-tree and a
 * list check per row) took 12 ms to add up and this 4. One read transaction: a fold that
 * commits meanwhile is not seen half.
 */
#define PENDING_AREA "CASE WHEN t.len = 0 THEN p.g ELSE substr(p.g, 1, t.len) END"
#define PENDING_KEY "CASE t.dim WHEN 0 THEN '' WHEN 1 THEN p.d ELSE p.r END"
#define KPI_COUNTS                                                                                 \
    "reported, filed, due, closed, on_time, rework, self_resolved, revisits, satisfaction"

struct kpi_groups {
    struct cg_event__kpis *list; /* the groups */
    uint32_t *slot;              /* open addressing: 1 + the row's index, 0 empty */
    size_t cap;
};

static uint64_t key_hash(const char *k, size_t len)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */

    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    }
    return h;
}

static void groups_index(struct kpi_groups *g, size_t row)
{
    const char *key = cg_event__kpi_key(g->list, &g->list->rows[row]);
    size_t i = key_hash(key, strlen(key)) & (g->cap - 1);

    while (g->slot[i]) {
        i = (i + 1) & (g->cap - 1);
    }
    g->slot[i] = (uint32_t)(row + 1);
}

/* The group of key (len bytes, not terminated), made when new. */
static struct cg_event__kpi *group_at(struct kpi_groups *g, const char *key, size_t len)
{
    struct cg_event__kpis *l = g->list;
    size_t i;

    if ((l->n + 1) * 2 > g->cap) {
        g->cap = g->cap ? g->cap * 2 : 1024;
        free(g->slot);
        g->slot = cg_calloc(g->cap, sizeof(*g->slot));
        for (size_t j = 0; j < l->n; j++) {
            groups_index(g, j);
        }
    }
    for (i = key_hash(key, len) & (g->cap - 1); g->slot[i]; i = (i + 1) & (g->cap - 1)) {
        struct cg_event__kpi *k = &l->rows[g->slot[i] - 1];
        const char *have = cg_event__kpi_key(l, k);

        if (!memcmp(have, key, len) && !have[len]) {
            return k;
        }
    }
    g->slot[i] = (uint32_t)(l->n + 1);
    return cg_event__kpis_add(l, key, len);
}

/* Adds sign times the counts in columns first.. of st to the group of area/key. */
static void group_add(struct kpi_groups *g, int group, struct cg_stmt *st, int first, int sign)
{
    static const size_t group_len[] = {0, 12, 9};
    int col = group == 3 ? first - 1 : first - 2;
    const char *key = cg_db_column_text(st, col);
    size_t len = cg_db_column_bytes(st, col);
    struct cg_event__kpi *k;

    if (group != 3 && group_len[group] && len > group_len[group]) {
        len = group_len[group];
    }
    k = group_at(g, key, len);
    k->reported += sign * cg_db_column_int64(st, first);
    k->filed += sign * cg_db_column_int64(st, first + 1);
    k->due += sign * cg_db_column_int64(st, first + 2);
    k->closed += sign * cg_db_column_int64(st, first + 3);
    k->on_time += sign * cg_db_column_int64(st, first + 4);
    k->rework += sign * cg_db_column_int64(st, first + 5);
    k->self_resolved += sign * cg_db_column_int64(st, first + 6);
    k->revisits += sign * cg_db_column_int64(st, first + 7);
    k->satisfaction_sum += sign * cg_db_column_double(st, first + 8);
}

/* The sign of bucket in q (0: not one of the period's buckets). */
static int bucket_sign(const struct cg_event__rollup_query *q, const char *bucket)
{
    for (size_t i = 0; i < q->n_buckets; i++) {
        if (!strcmp(q->buckets[i].name, bucket)) {
            return q->buckets[i].sign;
        }
    }
    return 0;
}

int cg_event__kpi_rollup(struct cg_db *db, const struct cg_event__rollup_query *q,
                         struct cg_event__kpis *out, struct cg_error *err)
{
    struct kpi_groups g = {out, NULL, 0};
    struct cg_conn *c = NULL;
    struct cg_stmt *st = NULL;
    char end[40];
    int rc = cg_db_read_begin(db, &c, err); /* one snapshot: a fold is not seen half */

    CG_ASSERT(q->group >= 0 && q->group <= 3);
    snprintf(end, sizeof(end), "%s:", q->prefix);
    for (size_t i = 0; !rc && i < q->n_buckets; i++) {
        const char *bucket = q->buckets[i].name;
        int sign = q->buckets[i].sign;

        rc = cg_db_prepare_bind(c,
                                "SELECT area, key, " KPI_COUNTS " FROM event_rollup"
                                " WHERE dim = ?1 AND lvl = ?2 AND bucket = ?3"
                                " AND area >= ?4 AND area < ?5 AND (?6 IS NULL OR key = ?6)",
                                &st, err, "iitttt", (int64_t)q->dim, (int64_t)q->lvl, bucket,
                                q->prefix, end, q->key);
        while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
            rc = 0;
            group_add(&g, q->group, st, 2, sign);
        }
        rc = rc < 0 ? rc : 0;
        cg_db_finalize(st);
        st = NULL;
    }
    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT substr(p.day, 1, t.span), " PENDING_AREA ", " PENDING_KEY
                                 ", p.reported, p.filed, p.due, p.closed, p.on_time, p.rework,"
                                 " p.self_resolved, p.revisits, p.satisfaction"
                                 " FROM event_rollup_pending p, event_rollup_target t"
                                 " WHERE t.dim = ?1 AND t.lvl = ?2 AND p.day IS NOT NULL"
                                 " AND " PENDING_AREA " >= ?3 AND " PENDING_AREA " < ?4"
                                 " AND (?5 IS NULL OR " PENDING_KEY " = ?5)",
                                 &st, err, "iittt", (int64_t)q->dim, (int64_t)q->lvl, q->prefix,
                                 end, q->key);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        int sign = bucket_sign(q, cg_db_column_text(st, 0));

        rc = 0;
        if (sign) {
            group_add(&g, q->group, st, 3, sign);
        }
    }
    rc = rc < 0 ? rc : 0;
    cg_db_finalize(st);
    cg_db_read_end(c);
    free(g.slot);
    return rc;
}

int cg_event__kpi_names(struct cg_db *db, enum cg_event__by by, const char *keys_json,
                        cg_event__name_fn *fn, void *ctx, struct cg_error *err)
{
    /* one statement for the whole page: the keys as a JSON array through json_each */
    static const char *const sql[] = {
        [CG_EVENT_BY_GRID] = "SELECT g.code, g.name FROM grid g JOIN json_each(?1) j"
                             " ON g.code = j.value ORDER BY g.code, g.version",
        [CG_EVENT_BY_VILLAGE] = "SELECT d.code, d.name FROM division d JOIN json_each(?1) j"
                                " ON d.code = j.value",
        [CG_EVENT_BY_TOWN] = "SELECT d.code, d.name FROM division d JOIN json_each(?1) j"
                             " ON d.code = j.value",
        [CG_EVENT_BY_DEPARTMENT] = NULL,
        [CG_EVENT_BY_WORKER] = "SELECT j.value, s.name FROM grid_staff s JOIN json_each(?1) j"
                               " ON s.account_id = CAST(j.value AS INTEGER) WHERE j.value <> ''",
    };
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc;

    if ((size_t)by >= CG_ARRAY_LEN(sql) || !sql[by]) {
        return 0;
    }
    rc = cg_db_reader(db, &c, err);
    rc = rc ? rc : cg_db_prepare_bind(c, sql[by], &st, err, "t", keys_json);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        rc = 0;
        fn(ctx, cg_db_column_text(st, 0), cg_db_column_text(st, 1));
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

/* ---- the roll-ups checked and rebuilt --------------------------------------------------- */

/*
 * The reference rule of the roll-ups, held here once: the backfill of migration 0010 (its
 * temporary table rollup_part and the INSERT INTO event_rollup that reads it), which the
 * check compares with what is stored and the rebuild writes. The migration keeps its own copy
 * (migrations are history and never change); keep this one to the letter of it. ROLLUP_PARTS
 * is one row per grid, department, reporter and China day with the contributions of the
 * events and the returns to work of the log; ROLLUP_BY_TARGET(FROM) adds up rows of that form
 * (those of ROLLUP_PARTS, or event_rollup_pending's) per target and bucket, as the fold
 * trigger event_rollup_fold does.
 */
#define ROLLUP_PART_KEY                                                                            \
    "e.grid_code AS g, e.department AS d, COALESCE(CAST(e.reporter_id AS TEXT), '') AS r,"
#define ROLLUP_SELF_RESOLVED                                                                       \
    "(e.state = 'closed' AND e.tier IN ('grid', 'village') AND e.dispatched_at IS NULL)"
#define ROLLUP_PARTS                                                                               \
    "SELECT g, d, r, day, SUM(reported) AS reported, SUM(filed) AS filed, SUM(due) AS due,"        \
    " SUM(closed) AS closed, SUM(on_time) AS on_time, SUM(self_resolved) AS self_resolved,"        \
    " SUM(revisits) AS revisits, SUM(satisfaction) AS satisfaction, SUM(rework) AS rework"         \
    " FROM ("                                                                                      \
    " SELECT " ROLLUP_PART_KEY                                                                     \
    "  CASE WHEN e.kind <> 'report_only' THEN date(e.created_at, '+8 hours') END AS day,"          \
    "  1 AS reported, 0 AS filed, 0 AS due, 0 AS closed, 0 AS on_time, 0 AS self_resolved,"        \
    "  0 AS revisits, 0 AS satisfaction, 0 AS rework"                                              \
    " FROM event e"                                                                                \
    " UNION ALL"                                                                                   \
    " SELECT " ROLLUP_PART_KEY " CASE WHEN e.kind <> 'report_only' AND e.filed_at IS NOT NULL"     \
    "  THEN date(e.filed_at, '+8 hours') END AS day,"                                              \
    "  0 AS reported, 1 AS filed, 0 AS due, 0 AS closed, 0 AS on_time, 0 AS self_resolved,"        \
    "  0 AS revisits, 0 AS satisfaction, 0 AS rework"                                              \
    " FROM event e"                                                                                \
    " UNION ALL"                                                                                   \
    " SELECT " ROLLUP_PART_KEY " CASE WHEN e.kind <> 'report_only' AND e.due_at IS NOT NULL"       \
    "  THEN date(min(e.due_at, COALESCE(e.closed_at, e.due_at)), '+8 hours') END AS day,"          \
    "  0 AS reported, 0 AS filed, 1 AS due, e.closed_at IS NOT NULL AS closed,"                    \
    "  COALESCE(e.closed_at <= e.due_at, 0) AS on_time, 0 AS self_resolved, 0 AS revisits,"        \
    "  0 AS satisfaction, 0 AS rework"                                                             \
    " FROM event e"                                                                                \
    " UNION ALL"                                                                                   \
    " SELECT " ROLLUP_PART_KEY " CASE WHEN e.kind <> 'report_only' AND e.closed_at IS NOT NULL"    \
    "  AND (" ROLLUP_SELF_RESOLVED " OR (e.satisfaction IS NOT NULL))"                             \
    "  THEN date(e.closed_at, '+8 hours') END AS day,"                                             \
    "  0 AS reported, 0 AS filed, 0 AS due, 0 AS closed, 0 AS on_time,"                            \
    "  " ROLLUP_SELF_RESOLVED " AS self_resolved, (e.satisfaction IS NOT NULL) AS revisits,"       \
    "  COALESCE(e.satisfaction, 0) AS satisfaction, 0 AS rework"                                   \
    " FROM event e"                                                                                \
    " UNION ALL"                                                                                   \
    " SELECT " ROLLUP_PART_KEY " date(l.at, '+8 hours'), 0, 0, 0, 0, 0, 0, 0, 0, 1"                \
    " FROM event_log l JOIN event e ON e.id = l.event_id"                                          \
    " WHERE e.kind <> 'report_only' AND (l.action = 'check_fail'"                                  \
    "  OR (l.action = 'revisit' AND l.to_state = 'handling'))"                                     \
    ") WHERE day IS NOT NULL GROUP BY g, d, r, day"

#define ROLLUP_BY_TARGET(FROM)                                                                     \
    "SELECT t.dim AS dim, t.lvl AS lvl, substr(p.day, 1, t.span) AS bucket, " PENDING_AREA         \
    " AS area, " PENDING_KEY " AS key, SUM(p.reported) AS reported, SUM(p.filed) AS filed,"        \
    " SUM(p.due) AS due, SUM(p.closed) AS closed, SUM(p.on_time) AS on_time,"                      \
    " SUM(p.rework) AS rework, SUM(p.self_resolved) AS self_resolved,"                             \
    " SUM(p.revisits) AS revisits, SUM(p.satisfaction) AS satisfaction"                            \
    " FROM " FROM " p, event_rollup_target t WHERE p.day IS NOT NULL GROUP BY 1, 2, 3, 4, 5"

/* What the events make, and the pending rows as the fold would add them. */
#define ROLLUP_EXPECTED ROLLUP_BY_TARGET("(" ROLLUP_PARTS ")")
#define ROLLUP_FOLDED ROLLUP_BY_TARGET("event_rollup_pending")
#define ROLLUP_ZEROS "0, 0, 0, 0, 0, 0, 0, 0, 0"

/*
 * Per roll-up row: the counts the events make (columns 5-13) and the stored ones, folded
 * (14-22), in key order. One statement: one snapshot of the events and the roll-ups.
 */
static const char rollup_check_sql[] =
    "SELECT dim, lvl, bucket, area, key,"
    " SUM(e1), SUM(e2), SUM(e3), SUM(e4), SUM(e5), SUM(e6), SUM(e7), SUM(e8), SUM(e9),"
    " SUM(s1), SUM(s2), SUM(s3), SUM(s4), SUM(s5), SUM(s6), SUM(s7), SUM(s8), SUM(s9)"
    " FROM (SELECT dim, lvl, bucket, area, key, reported AS e1, filed AS e2, due AS e3,"
    "  closed AS e4, on_time AS e5, rework AS e6, self_resolved AS e7, revisits AS e8,"
    "  satisfaction AS e9, 0 AS s1, 0 AS s2, 0 AS s3, 0 AS s4, 0 AS s5, 0 AS s6, 0 AS s7,"
    "  0 AS s8, 0 AS s9 FROM (" ROLLUP_EXPECTED ")"
    " UNION ALL SELECT dim, lvl, bucket, area, key, " ROLLUP_ZEROS ", " KPI_COUNTS
    "  FROM event_rollup"
    " UNION ALL SELECT dim, lvl, bucket, area, key, " ROLLUP_ZEROS ", " KPI_COUNTS
    "  FROM (" ROLLUP_FOLDED "))"
    " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5";

static void rollup_counts(struct cg_stmt *st, int first, struct cg_event_rollup_counts *out)
{
    out->reported = cg_db_column_int64(st, first);
    out->filed = cg_db_column_int64(st, first + 1);
    out->due = cg_db_column_int64(st, first + 2);
    out->closed = cg_db_column_int64(st, first + 3);
    out->on_time = cg_db_column_int64(st, first + 4);
    out->rework = cg_db_column_int64(st, first + 5);
    out->self_resolved = cg_db_column_int64(st, first + 6);
    out->revisits = cg_db_column_int64(st, first + 7);
    out->satisfaction = cg_db_column_int64(st, first + 8);
}

static bool counts_equal(const struct cg_event_rollup_counts *a,
                         const struct cg_event_rollup_counts *b)
{
    return a->reported == b->reported && a->filed == b->filed && a->due == b->due &&
           a->closed == b->closed && a->on_time == b->on_time && a->rework == b->rework &&
           a->self_resolved == b->self_resolved && a->revisits == b->revisits &&
           a->satisfaction == b->satisfaction;
}

int cg_event_rollup_check(struct cg_db *db, cg_event_rollup_diff_fn *fn, void *ctx,
                          int64_t *out_rows, int64_t *out_differ, struct cg_error *err)
{
    static const struct cg_event_rollup_counts zero = {0};
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    *out_rows = *out_differ = 0;
    rc = rc ? rc : cg_db_prepare_bind(c, rollup_check_sql, &st, err, "");
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        struct cg_event_rollup_diff d = {(int)cg_db_column_int64(st, 0),
                                         (int)cg_db_column_int64(st, 1),
                                         cg_db_column_text(st, 2),
                                         cg_db_column_text(st, 3),
                                         cg_db_column_text(st, 4),
                                         {0},
                                         {0}};

        rc = 0;
        rollup_counts(st, 5, &d.expected);
        rollup_counts(st, 14, &d.stored);
        *out_rows += !counts_equal(&d.expected, &zero);
        if (!counts_equal(&d.expected, &d.stored)) {
            ++*out_differ;
            if (fn) {
                fn(ctx, &d);
            }
        }
    }
    cg_db_finalize(st);
    if (rc < 0) {
        return rc;
    }
    if (*out_differ) {
        return cg_error_set(err, CG_ECONFLICT,
                            "%" PRId64 " of the KPI roll-up rows differ from the events"
                            " (civgrid kpi rebuild recomputes them)",
                            *out_differ);
    }
    return 0;
}

struct rebuild_job {
    const struct cg_principal *actor;
    const char *remote;
    int64_t rows;
};

static int rebuild_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct rebuild_job *j = ctx;
    int64_t before = 0, pending = 0;
    char detail[160];
    int rc = cg_db_query_int64(c, "SELECT count(*) FROM event_rollup", &before, err, "");

    rc = rc ? rc
            : cg_db_query_int64(c, "SELECT count(*) FROM event_rollup_pending", &pending, err, "");
    rc = rc ? rc : cg_db_run(c, "DELETE FROM event_rollup_pending", err, "");
    rc = rc ? rc : cg_db_run(c, "DELETE FROM event_rollup", err, "");
    rc = rc ? rc
            : cg_db_run(c,
                        "INSERT INTO event_rollup(dim, lvl, bucket, area, key, " KPI_COUNTS
                        ") " ROLLUP_EXPECTED,
                        err, "");
    if (rc) {
        return rc;
    }
    j->rows = cg_db_changes(c);
    snprintf(detail, sizeof(detail),
             "%" PRId64 " rows from the events (before: %" PRId64 " rows, %" PRId64 " pending)",
             j->rows, before, pending);
    {
        struct cg_audit_entry e = {j->actor ? j->actor->account_id : 0,
                                   j->actor ? j->actor->login : NULL,
                                   j->remote,
                                   "kpi.rebuild",
                                   "event_rollup",
                                   NULL,
                                   "ok",
                                   detail};

        return cg_audit_append(c, &e, err);
    }
}

int cg_event_rollup_rebuild(struct cg_db *db, const struct cg_principal *actor, const char *remote,
                            int64_t *out_rows, struct cg_error *err)
{
    struct rebuild_job j = {actor, remote, 0};
    int rc = cg_db_write(db, rebuild_run, &j, err);

    *out_rows = rc ? 0 : j.rows;
    return rc;
}

/* ---- merging duplicates ----------------------------------------------------------------- */

struct merge_job {
    const struct cg_event__row *next;
    const struct cg_event__log *log, *log_target;
    int64_t target_id, target_version, actor_id;
    const char *actor_login;
};

static int merge_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct merge_job *j = ctx;
    char now[CG_TIME_ISO_LEN];
    int rc;

    cg_time_iso(cg_time_now_ms(), now, sizeof(now));
    rc = update_row(c, j->next, j->log, j->actor_id, j->actor_login, now, err);
    rc = rc ? rc
            : cg_db_run(c,
                        "UPDATE event SET version = version + 1, updated_at = ?3"
                        " WHERE id = ?1 AND version = ?2",
                        err, "iit", j->target_id, j->target_version, now);
    if (!rc && cg_db_changes(c) == 0) {
        return cg_error_set(err, CG_ECONFLICT,
                            "event %" PRId64 " changed meanwhile: reload it and merge again",
                            j->target_id);
    }
    rc =
        rc ? rc : append_log(c, j->target_id, now, j->log_target, j->actor_id, j->actor_login, err);
    if (!rc && j->next->reporter_id) {
        rc = cg_db_run(c,
                       "INSERT INTO event_follower(event_id, account_id, since) VALUES (?1, ?2, ?3)"
                       " ON CONFLICT DO NOTHING",
                       err, "iit", j->target_id, j->next->reporter_id, now);
    }
    return rc;
}

int cg_event__merge(struct cg_db *db, const struct cg_event__row *next,
                    const struct cg_event__log *log, int64_t target_id, int64_t target_version,
                    const struct cg_event__log *log_target, int64_t actor_id,
                    const char *actor_login, struct cg_error *err)
{
    struct merge_job j = {next, log, log_target, target_id, target_version, actor_id, actor_login};

    return cg_db_write(db, merge_run, &j, err);
}

bool cg_event__follows(struct cg_db *db, int64_t id, int64_t account_id)
{
    struct cg_error err = CG_ERROR_INIT;
    struct cg_conn *c;
    int64_t n = 0;

    return account_id && !cg_db_reader(db, &c, &err) &&
           !cg_db_query_int64(c,
                              "SELECT COUNT(*) FROM event_follower WHERE event_id = ?1"
                              " AND account_id = ?2",
                              &n, &err, "ii", id, account_id) &&
           n > 0;
}

void cg_event__near_keep(struct cg_event__near *out, size_t max, size_t *n, int64_t id, double d,
                         const char *state, const char *created_at, const char *grid_code)
{
    struct cg_event__near *slot = NULL;

    if (*n < max) {
        slot = &out[(*n)++];
    } else {
        /* full: the oldest kept gives way to a newer one */
        for (size_t i = 0; i < max; i++) {
            slot = !slot || out[i].id < slot->id ? &out[i] : slot;
        }
        slot = slot && slot->id < id ? slot : NULL;
    }
    if (slot) {
        slot->id = id;
        slot->distance_m = d;
        snprintf(slot->state, sizeof(slot->state), "%s", state);
        snprintf(slot->created_at, sizeof(slot->created_at), "%s", created_at);
        snprintf(slot->grid_code, sizeof(slot->grid_code), "%s", grid_code);
    }
}

int cg_event__newest_first(const void *a, const void *b)
{
    int64_t x = ((const struct cg_event__near *)a)->id, y = ((const struct cg_event__near *)b)->id;

    return x < y ? 1 : x > y ? -1 : 0;
}

int cg_event__nearby(struct cg_db *db, const char *category_kind, const char *category_code,
                     double lon, double lat, double radius_m, const char *since, bool open_only,
                     struct cg_event__near *out, size_t max, size_t *out_n, struct cg_error *err)
{
    double dlat = radius_m / 110574.0, dlon = radius_m / (111320.0 * cos(lat * M_PI / 180.0));
    int64_t col_lo = cg_event__cell_column(lon - dlon), col_hi = cg_event__cell_column(lon + dlon);
    struct cg_conn *c;
    int rc = cg_db_reader(db, &c, err);

    *out_n = 0;
    /* One range of cells per row of cells the box touches (two or three). */
    for (int64_t row = cg_event__cell_row(lat - dlat); !rc && row <= cg_event__cell_row(lat + dlat);
         row++) {
        struct cg_stmt *st = NULL;

        rc = cg_db_prepare_bind(
            c,
            "SELECT id, lon, lat, state, created_at, grid_code FROM event"
            " WHERE category_kind = ?1 AND category_code = ?2 AND cell BETWEEN ?3 AND ?4"
            " AND created_at >= ?5 AND lon BETWEEN ?6 AND ?7 AND lat BETWEEN ?8 AND ?9"
            " AND kind <> 'report_only'"
            " AND (?10 = 0 OR " OPEN_STATE ")"
            " ORDER BY id DESC LIMIT 200",
            &st, err, "ttiitddddi", category_kind, category_code,
            row * CG_EVENT__CELL_COLUMNS + col_lo, row * CG_EVENT__CELL_COLUMNS + col_hi, since,
            lon - dlon, lon + dlon, lat - dlat, lat + dlat, (int64_t)open_only);
        while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
            double d =
                cg_event__metres(lon, lat, cg_db_column_double(st, 1), cg_db_column_double(st, 2));

            rc = 0;
            if (d <= radius_m) {
                cg_event__near_keep(out, max, out_n, cg_db_column_int64(st, 0), d,
                                    cg_db_column_text(st, 3), cg_db_column_text(st, 4),
                                    cg_db_column_text(st, 5));
            }
        }
        cg_db_finalize(st);
        rc = rc < 0 ? rc : 0;
    }
    qsort(out, *out_n, sizeof(*out), cg_event__newest_first);
    return rc;
}

int cg_event__risk_words(struct cg_db *db, cg_event__word_fn *fn, void *ctx, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c, "SELECT word, points FROM risk_word ORDER BY word", &st, err,
                                 "");
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        rc = 0;
        fn(ctx, cg_db_column_text(st, 0), (int)cg_db_column_int64(st, 1));
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

/* ---- the deadline sweep ----------------------------------------------------------------- */

int cg_event__due_before(struct cg_db *db, const char *until, cg_event__due_fn *fn, void *ctx,
                         struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT " COLUMNS " FROM event WHERE deadline_at IS NOT NULL"
                                 " AND deadline_at < ?1"
                                 " AND " OPEN_STATE " ORDER BY deadline_at LIMIT 10000",
                                 &st, err, "t", until);
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

struct notice_job {
    const struct cg_event__row *row;
    const char *kind, *message;
    bool created;
};

static int notice_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct notice_job *j = ctx;
    char now[CG_TIME_ISO_LEN];
    int rc;

    cg_time_iso(cg_time_now_ms(), now, sizeof(now));
    rc = cg_db_run(c,
                   "INSERT INTO event_notice(event_id, kind, deadline_at, grid_code, department,"
                   " message, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                   " ON CONFLICT DO NOTHING",
                   err, "itttttt", j->row->id, j->kind, j->row->deadline_at, j->row->grid_code,
                   j->row->department, j->message, now);
    j->created = !rc && cg_db_changes(c) > 0;
    return rc;
}

int cg_event__notice(struct cg_db *db, const struct cg_event__row *row, const char *kind,
                     const char *message, bool *out_new, struct cg_error *err)
{
    struct notice_job j = {row, kind, message, false};
    int rc = cg_db_write(db, notice_run, &j, err);

    *out_new = j.created;
    return rc;
}

int cg_event__notices(struct cg_db *db, const struct cg_event__scope *scope, int64_t after_id,
                      int limit, json_t *list, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    char end[40];
    int rc = cg_db_reader(db, &c, err);

    prefix_end(scope->grid_prefix, end, sizeof(end));
    rc = rc ? rc
            : cg_db_prepare_bind(
                  c,
                  "SELECT n.id, n.event_id, n.kind, n.deadline_at, n.grid_code, n.department,"
                  " n.message, n.created_at FROM event_notice n"
                  " WHERE n.grid_code >= ?1 AND n.grid_code < ?2"
                  " AND (?3 IS NULL OR n.department = ?3) AND n.id > ?4"
                  " AND (?5 = 0 OR EXISTS (SELECT 1 FROM event e WHERE e.id = n.event_id"
                  "  AND e.reporter_id = ?5))"
                  " ORDER BY n.id DESC LIMIT ?6",
                  &st, err, "tttiii", scope->grid_prefix, end, scope->department, after_id,
                  scope->owner_id, (int64_t)limit);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        rc = 0;
        json_array_append_new(
            list,
            json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                      (json_int_t)cg_db_column_int64(st, 0), "event_id",
                      (json_int_t)cg_db_column_int64(st, 1), "kind", cg_db_column_text(st, 2),
                      "deadline_at", cg_db_column_text(st, 3), "grid", cg_db_column_text(st, 4),
                      "department", cg_db_column_text(st, 5), "message", cg_db_column_text(st, 6),
                      "created_at", cg_db_column_text(st, 7)));
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

int cg_event__open_by_state(struct cg_db *db, const struct cg_event__scope *scope,
                            cg_event__count_fn *fn, void *ctx, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    char end[40];
    int rc = cg_db_reader(db, &c, err);

    prefix_end(scope->grid_prefix, end, sizeof(end));
    rc = rc ? rc
            : cg_db_prepare_bind(
                  c,
                  "SELECT state, COUNT(*) FROM event INDEXED BY event_open_state"
                  " WHERE " OPEN_STATE " AND grid_code >= ?1 AND grid_code < ?2"
                  " AND (?3 IS NULL OR department = ?3) AND (?4 = 0 OR reporter_id = ?4)"
                  " GROUP BY state ORDER BY state",
                  &st, err, "ttti", scope->grid_prefix, end, scope->department, scope->owner_id);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        rc = 0;
        fn(ctx, cg_db_column_text(st, 0), cg_db_column_int64(st, 1));
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

/* Both read only the index event_open_deadline (open events with a deadline). */
int cg_event__deadlines(struct cg_db *db, const struct cg_event__scope *scope, const char *now,
                        int64_t *out_red, cg_event__deadline_fn *fn, void *ctx,
                        struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    struct cg_event__row r;
    char end[40];
    int rc = cg_db_reader(db, &c, err);

    *out_red = 0;
    prefix_end(scope->grid_prefix, end, sizeof(end));
    rc = rc ? rc
            : cg_db_query_int64(
                  c,
                  "SELECT COUNT(*) FROM event INDEXED BY event_open_deadline"
                  " WHERE deadline_at IS NOT NULL"
                  " AND " OPEN_STATE " AND deadline_at < ?1 AND grid_code >= ?2 AND grid_code < ?3"
                  " AND (?4 IS NULL OR department = ?4) AND (?5 = 0 OR reporter_id = ?5)",
                  out_red, err, "tttti", now, scope->grid_prefix, end, scope->department,
                  scope->owner_id);
    rc = rc ? rc
            : cg_db_prepare_bind(
                  c,
                  "SELECT deadline_at, step_started_at, state FROM event"
                  " INDEXED BY event_open_deadline WHERE deadline_at IS NOT NULL"
                  " AND " OPEN_STATE " AND deadline_at >= ?1 AND grid_code >= ?2 AND grid_code < ?3"
                  " AND (?4 IS NULL OR department = ?4) AND (?5 = 0 OR reporter_id = ?5)",
                  &st, err, "tttti", now, scope->grid_prefix, end, scope->department,
                  scope->owner_id);
    memset(&r, 0, sizeof(r));
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        rc = 0;
        copy(st, 0, r.deadline_at, sizeof(r.deadline_at));
        copy(st, 1, r.step_started_at, sizeof(r.step_started_at));
        copy(st, 2, r.state, sizeof(r.state));
        fn(ctx, &r);
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}
