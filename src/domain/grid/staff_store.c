/*
 * staff_store.c: the SQL of grid staffing, duty lists and retiring a grid.
 * Every change is one write job with its audit record.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/audit/audit.h"
#include "domain/auth/auth.h"
#include "domain/grid/grid_int.h"

static void now_iso(char buf[CG_TIME_ISO_LEN])
{
    cg_time_iso(cg_time_now_ms(), buf, CG_TIME_ISO_LEN);
}

static int audit(struct cg_conn *c, const struct cg_principal *actor, const char *remote,
                 const char *action, const char *type, const char *id, const char *detail,
                 struct cg_error *err)
{
    struct cg_audit_entry e = {actor ? actor->account_id : 0,
                               actor ? actor->login : NULL,
                               remote,
                               action,
                               type,
                               id,
                               "ok",
                               detail};

    return cg_audit_append(c, &e, err);
}

/* ---- the roster ------------------------------------------------------------------------- */

struct insert_job {
    const struct cg_grid__staff_row *row;
    int64_t account_id, id;
    const struct cg_principal *actor;
    const char *remote;
};

static int insert_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct insert_job *j = ctx;
    const struct cg_grid__staff_row *r = j->row;
    char now[CG_TIME_ISO_LEN], id[24];
    int64_t n = 0;
    int rc = 0;

    now_iso(now);
    if (j->account_id) {
        rc = cg_db_query_int64(c, "SELECT COUNT(*) FROM account WHERE id = ?1", &n, err, "i",
                               j->account_id);
        if (!rc && !n) {
            return cg_error_field(err, CG_ENOTFOUND, "account_id", "no account %" PRId64,
                                  j->account_id);
        }
        rc = rc ? rc
                : cg_db_query_int64(c, "SELECT COUNT(*) FROM grid_staff WHERE account_id = ?1", &n,
                                    err, "i", j->account_id);
        if (!rc && n) {
            return cg_error_field(err, CG_ECONFLICT, "account_id",
                                  "account %" PRId64 " belongs to another staff member already",
                                  j->account_id);
        }
        rc = rc ? rc
                : cg_db_query_int64(c,
                                    "SELECT EXISTS (SELECT 1 FROM account_role ar JOIN role r"
                                    " ON r.name = ar.role WHERE ar.account_id = ?1"
                                    " AND r.admin_kind IS NOT NULL)",
                                    &n, err, "i", j->account_id);
        if (!rc && n) {
            return cg_error_field(err, CG_EFORBIDDEN, "account_id",
                                  "an administrator's account cannot serve a grid (三权分立)");
        }
    }
    rc = rc ? rc
            : cg_db_run(c,
                        "INSERT INTO grid_staff(name, phone_enc, phone_idx, phone_mask, employment,"
                        " account_id, created_at, updated_at)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, NULLIF(?6, 0), ?7, ?7)",
                        err, "tttttit", r->name, r->phone_enc, r->phone_enc ? r->phone_idx : NULL,
                        r->phone_enc ? r->phone_mask : NULL, r->employment, j->account_id, now);
    if (rc) {
        return rc;
    }
    j->id = cg_db_last_insert_id(c);
    snprintf(id, sizeof(id), "%" PRId64, j->id);
    return audit(c, j->actor, j->remote, "grid.staff.create", "grid_staff", id, r->employment, err);
}

int cg_grid__staff_insert(struct cg_db *db, const struct cg_grid__staff_row *row,
                          int64_t account_id, const struct cg_principal *actor, const char *remote,
                          int64_t *out_id, struct cg_error *err)
{
    struct insert_job j = {row, account_id, 0, actor, remote};
    int rc = cg_db_write(db, insert_run, &j, err);

    *out_id = j.id;
    return rc;
}

/* ---- assignments ------------------------------------------------------------------------ */

/*
 * The scope that follows from a person's current grids: the grid itself when
 * there is one, else the smallest division (village, town, city) holding them
 * all; "" when there is none.
 */
static int follow_scope(struct cg_conn *c, int64_t staff_id, struct cg_error *err)
{
    struct cg_stmt *st = NULL;
    char common[CG_GRID_CODE_MAX + 1] = "";
    int64_t account = 0;
    bool first = true;
    size_t n;
    int rc = cg_db_query_int64(c, "SELECT COALESCE(account_id, 0) FROM grid_staff WHERE id = ?1",
                               &account, err, "i", staff_id);

    if (rc || !account) {
        return rc;
    }
    rc = cg_db_prepare_bind(c,
                            "SELECT DISTINCT grid_code FROM grid_assignment"
                            " WHERE staff_id = ?1 AND until IS NULL",
                            &st, err, "i", staff_id);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        const char *code = cg_db_column_text(st, 0);

        rc = 0;
        if (first) {
            snprintf(common, sizeof(common), "%s", code);
            first = false;
            continue;
        }
        for (n = 0; common[n] && common[n] == code[n]; n++) {
        }
        common[n] = '\0';
    }
    cg_db_finalize(st);
    if (rc < 0) {
        return rc;
    }
    n = strlen(common);
    if (n && n < 6) {
        return cg_error_set(err, CG_EINVAL, "the grids of staff %" PRId64 " lie in several cities",
                            staff_id);
    }
    /* Cut a shared prefix back to the division it names. */
    if (n > 12 && n < 12 + CG_GRID_SEQ_WIDTH_MIN) {
        common[12] = '\0';
    } else if (n > 9 && n < 12) {
        common[9] = '\0';
    } else if (n > 6 && n < 9) {
        common[6] = '\0';
    }
    return cg_auth_follow_scope(c, account, common, err);
}

struct assign_job {
    const struct cg_principal *actor;
    const char *code, *role, *remote;
    int64_t staff_id;
    bool end; /* unassign */
};

/*
 * A write whose job may run follow_scope(): once it is committed, the accounts' cached
 * sessions are told (cg_auth_scopes_changed()), so the next request sees the new scope.
 */
static int scope_write(struct cg_db *db, cg_db_write_fn *fn, void *ctx, struct cg_error *err)
{
    int rc = cg_db_write(db, fn, ctx, err);

    cg_auth_scopes_changed();
    return rc;
}

static int assign_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct assign_job *j = ctx;
    char now[CG_TIME_ISO_LEN], id[24], detail[80];
    int64_t n = 0;
    int rc = cg_db_query_int64(c, "SELECT COUNT(*) FROM grid WHERE code = ?1 AND valid_to IS NULL",
                               &n, err, "t", j->code);

    if (!rc && !n) {
        return cg_error_field(err, CG_ENOTFOUND, "code", "no grid '%.20s'", j->code);
    }
    rc = rc ? rc
            : cg_db_query_int64(
                  c, "SELECT COUNT(*) FROM grid_staff WHERE id = ?1 AND status = 'active'", &n, err,
                  "i", j->staff_id);
    if (!rc && !n) {
        return cg_error_field(err, CG_ENOTFOUND, "worker_id", "no active staff member %" PRId64,
                              j->staff_id);
    }
    if (rc) {
        return rc;
    }
    now_iso(now);
    if (j->end) {
        rc = cg_db_run(c,
                       "UPDATE grid_assignment SET until = ?4 WHERE grid_code = ?1"
                       " AND staff_id = ?2 AND (?3 IS NULL OR role = ?3) AND until IS NULL",
                       err, "titt", j->code, j->staff_id, j->role, now);
        if (!rc && !cg_db_changes(c)) {
            return cg_error_field(err, CG_ENOTFOUND, "worker_id",
                                  "staff member %" PRId64 " does not serve grid %s%s%s",
                                  j->staff_id, j->code, j->role ? " as " : "",
                                  j->role ? j->role : "");
        }
    } else {
        rc = cg_db_query_int64(c,
                               "SELECT COUNT(*) FROM grid_assignment WHERE grid_code = ?1"
                               " AND staff_id = ?2 AND role = ?3 AND until IS NULL",
                               &n, err, "tit", j->code, j->staff_id, j->role);
        if (!rc && n) {
            return cg_error_set(err, CG_ECONFLICT, "staff member %" PRId64 " is %s of %s already",
                                j->staff_id, j->role, j->code);
        }
        if (!rc && !strcmp(j->role, "leader")) {
            rc = cg_db_query_int64(c,
                                   "SELECT COUNT(*) FROM grid_assignment WHERE grid_code = ?1"
                                   " AND role = 'leader' AND until IS NULL",
                                   &n, err, "t", j->code);
            if (!rc && n) {
                return cg_error_set(err, CG_ECONFLICT,
                                    "grid %s has a leader already: end that assignment first",
                                    j->code);
            }
        }
        /* A worker or leader serves one grid: the same role elsewhere ends. */
        if (!rc && strcmp(j->role, "guide")) {
            rc = cg_db_run(c,
                           "UPDATE grid_assignment SET until = ?3 WHERE staff_id = ?1"
                           " AND role = ?2 AND until IS NULL",
                           err, "itt", j->staff_id, j->role, now);
        }
        rc = rc ? rc
                : cg_db_run(c,
                            "INSERT INTO grid_assignment(grid_code, staff_id, role, since)"
                            " VALUES (?1, ?2, ?3, ?4)",
                            err, "titt", j->code, j->staff_id, j->role, now);
    }
    rc = rc ? rc : follow_scope(c, j->staff_id, err);
    snprintf(id, sizeof(id), "%" PRId64, j->staff_id);
    snprintf(detail, sizeof(detail), "%s %s %s", j->end ? "ended" : "assigned",
             j->role ? j->role : "all roles", j->code);
    return rc ? rc
              : audit(c, j->actor, j->remote, j->end ? "grid.staff.unassign" : "grid.staff.assign",
                      "grid_staff", id, detail, err);
}

int cg_grid__staff_assign(struct cg_db *db, const struct cg_principal *actor, const char *code,
                          int64_t staff_id, const char *role, const char *remote,
                          struct cg_error *err)
{
    struct assign_job j = {actor, code, role, remote, staff_id, false};

    return scope_write(db, assign_run, &j, err);
}

int cg_grid__staff_unassign(struct cg_db *db, const struct cg_principal *actor, const char *code,
                            int64_t staff_id, const char *role, const char *remote,
                            struct cg_error *err)
{
    struct assign_job j = {actor, code, role, remote, staff_id, true};

    return scope_write(db, assign_run, &j, err);
}

int cg_grid_staff_list(struct cg_db *db, const struct cg_principal *actor, const char *prefix,
                       json_t **out, struct cg_error *err)
{
    const char *scope = actor && actor->scope_kind == CG_SCOPE_GRID ? actor->scope_ref : "";
    char end[80];
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    json_t *list = json_array();
    int rc = 0;

    *out = NULL;
    if (actor && actor->scope_kind != CG_SCOPE_GRID && actor->scope_kind != CG_SCOPE_ALL) {
        json_decref(list);
        return cg_error_set(err, CG_EFORBIDDEN, "your account's scope is not an area of the map");
    }
    prefix = prefix && *prefix ? prefix : scope;
    if (strncmp(prefix, scope, strlen(scope))) {
        json_decref(list);
        return cg_error_field(err, CG_EFORBIDDEN, "grid", "'%s' is outside your area of work",
                              prefix);
    }
    snprintf(end, sizeof(end), "%s:", prefix);
    rc = cg_db_reader(db, &c, err);
    rc = rc ? rc
            : cg_db_prepare_bind(
                  c,
                  "SELECT s.id, s.name, a.role, s.employment, s.phone_mask, s.account_id,"
                  " a.grid_code, a.since FROM grid_assignment a"
                  " JOIN grid_staff s ON s.id = a.staff_id"
                  " WHERE a.until IS NULL AND a.grid_code >= ?1 AND a.grid_code < ?2"
                  " ORDER BY a.grid_code, a.role, s.id LIMIT 20000",
                  &st, err, "tt", prefix, end);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        json_t *o = cg_grid__staff_json(st, 0);

        rc = 0;
        json_object_set_new(o, "grid", json_string(cg_db_column_text(st, 6)));
        json_object_set_new(o, "since", json_string(cg_db_column_text(st, 7)));
        json_array_append_new(list, o);
    }
    cg_db_finalize(st);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    *out = json_pack("{s:o}", "staff", list);
    return 0;
}

/* ---- retiring a grid -------------------------------------------------------------------- */

struct retire_job {
    const struct cg_principal *actor;
    const char *code, *remote;
};

static int retire_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct retire_job *j = ctx;
    char now[CG_TIME_ISO_LEN];
    struct cg_stmt *st = NULL;
    int64_t *staff = NULL;
    size_t n = 0, cap = 0;
    int rc;

    now_iso(now);
    rc = cg_db_run(c, "UPDATE grid SET valid_to = ?2 WHERE code = ?1 AND valid_to IS NULL", err,
                   "tt", j->code, now);
    if (!rc && !cg_db_changes(c)) {
        return cg_error_field(err, CG_ENOTFOUND, "code", "no current grid '%.20s'", j->code);
    }
    /* The people who served it: their accounts' scopes follow what they still serve. */
    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT DISTINCT staff_id FROM grid_assignment"
                                 " WHERE grid_code = ?1 AND until IS NULL",
                                 &st, err, "t", j->code);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        rc = 0;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            staff = cg_realloc(staff, cap * sizeof(*staff));
        }
        staff[n++] = cg_db_column_int64(st, 0);
    }
    cg_db_finalize(st);
    rc = rc < 0 ? rc
                : cg_db_run(c,
                            "UPDATE grid_assignment SET until = ?2 WHERE grid_code = ?1"
                            " AND until IS NULL",
                            err, "tt", j->code, now);
    for (size_t i = 0; i < n && !rc; i++) {
        rc = follow_scope(c, staff[i], err);
    }
    free(staff);
    rc = rc ? rc : cg_grid__bump_version(c, -1, err);
    return rc ? rc : audit(c, j->actor, j->remote, "grid.retire", "grid", j->code, NULL, err);
}

int cg_grid__retire(struct cg_db *db, const struct cg_principal *actor, const char *code,
                    const char *remote, struct cg_error *err)
{
    struct retire_job j = {actor, code, remote};

    return scope_write(db, retire_run, &j, err);
}

/* ---- duty lists ------------------------------------------------------------------------- */

int cg_grid_duties(struct cg_db *db, json_t **out, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    json_t *kinds = json_array(), *cur = NULL;
    int rc = cg_db_reader(db, &c, err);

    *out = NULL;
    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT grid_kind, list, text, standard_ref FROM grid_duty"
                                 " ORDER BY grid_kind <> 'territorial', grid_kind, list, position",
                                 &st, err, "");
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        const char *kind = cg_db_column_text(st, 0);
        json_t *item = json_pack("{s:s}", "text", cg_db_column_text(st, 2));

        rc = 0;
        if (!cur || strcmp(json_string_value(json_object_get(cur, "kind")), kind)) {
            cur = json_pack("{s:s, s:[], s:[]}", "kind", kind, "duties", "admissible");
            json_array_append_new(kinds, cur);
        }
        if (!cg_db_column_is_null(st, 3)) {
            json_object_set_new(item, "standard_ref", json_string(cg_db_column_text(st, 3)));
        }
        json_array_append_new(json_object_get(cur, strcmp(cg_db_column_text(st, 1), "duty")
                                                       ? "admissible"
                                                       : "duties"),
                              item);
    }
    cg_db_finalize(st);
    if (rc < 0) {
        json_decref(kinds);
        return rc;
    }
    *out = json_pack("{s:o}", "kinds", kinds);
    return 0;
}

struct duties_job {
    const struct cg_principal *actor;
    const char *kind, *remote;
    json_t *duties, *admissible;
};

static int insert_items(struct cg_conn *c, const char *kind, const char *list, json_t *items,
                        struct cg_error *err)
{
    size_t i;
    json_t *it;
    int rc = 0;

    json_array_foreach(items, i, it)
    {
        rc = cg_db_run(c,
                       "INSERT INTO grid_duty(grid_kind, list, position, text, standard_ref)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)",
                       err, "ttitt", kind, list, (int64_t)i + 1,
                       json_string_value(json_object_get(it, "text")),
                       json_string_value(json_object_get(it, "standard_ref")));
        if (rc) {
            break;
        }
    }
    return rc;
}

static int duties_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct duties_job *j = ctx;
    char detail[80];
    int rc = cg_db_run(c, "DELETE FROM grid_duty WHERE grid_kind = ?1", err, "t", j->kind);

    rc = rc ? rc : insert_items(c, j->kind, "duty", j->duties, err);
    rc = rc ? rc : insert_items(c, j->kind, "admissible", j->admissible, err);
    snprintf(detail, sizeof(detail), "%zu duties, %zu admissible items", json_array_size(j->duties),
             json_array_size(j->admissible));
    return rc ? rc
              : audit(c, j->actor, j->remote, "grid.duties", "grid_kind", j->kind, detail, err);
}

int cg_grid__duties_replace(struct cg_db *db, const struct cg_principal *actor, const char *kind,
                            json_t *duties, json_t *admissible, const char *remote,
                            struct cg_error *err)
{
    struct duties_job j = {actor, kind, remote, duties, admissible};

    return cg_db_write(db, duties_run, &j, err);
}
