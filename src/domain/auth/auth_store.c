/*
 * auth_store.c: the SQL of the accounts module, through db.h only. Every
 * write is one cg_db_write() job that also appends its audit record, so an
 * account change and its trace commit (or roll back) together.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/audit/audit.h"
#include "domain/auth/auth_int.h"
#include "domain/pii/pii.h"

static void now_iso(char buf[CG_TIME_ISO_LEN])
{
    cg_time_iso(cg_time_now_ms(), buf, CG_TIME_ISO_LEN);
}

static void copy_col(struct cg_stmt *st, int i, char *out, size_t size)
{
    snprintf(out, size, "%s", cg_db_column_text(st, i));
}

/* Runs a one-row query on the thread's reader; CG_ENOTFOUND when there is no row. */
static int first_row(struct cg_stmt *st, struct cg_error *err)
{
    int rc = cg_db_step(st, err);

    if (rc == CG_DB_DONE) {
        return CG_ENOTFOUND;
    }
    return rc == CG_DB_ROW ? 0 : rc;
}

static int audit_in(struct cg_conn *c, const struct cg_audit_entry *e, struct cg_error *err)
{
    return e ? cg_audit_append(c, e, err) : 0;
}

/* ---- sign-in ---------------------------------------------------------------------------- */

int cg_auth__load_login(struct cg_db *db, const char *login, struct cg_auth__login_row *out,
                        struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(
                  c,
                  "SELECT a.id, a.status, a.password_hash, a.totp_enabled, a.totp_secret_enc,"
                  " a.totp_last_step, a.failed_logins,"
                  " EXISTS (SELECT 1 FROM account_role ar JOIN role r ON r.name = ar.role"
                  "         WHERE ar.account_id = a.id AND r.admin_kind IS NOT NULL)"
                  " FROM account a WHERE a.login = ?1",
                  &st, err, "t", login);
    rc = rc ? rc : first_row(st, err);
    if (!rc) {
        out->id = cg_db_column_int64(st, 0);
        copy_col(st, 1, out->status, sizeof(out->status));
        copy_col(st, 2, out->password_hash, sizeof(out->password_hash));
        out->totp_enabled = cg_db_column_int64(st, 3) != 0;
        out->totp_secret_enc =
            cg_db_column_is_null(st, 4) ? NULL : cg_strdup(cg_db_column_text(st, 4));
        out->totp_last_step = cg_db_column_int64(st, 5);
        out->failed_logins = cg_db_column_int64(st, 6);
        out->is_admin = cg_db_column_int64(st, 7) != 0;
    }
    cg_db_finalize(st);
    return rc;
}

struct failed_job {
    int64_t id;
    int disable_after;
    const struct cg_audit_entry *audit;
};

/*
 * A write that may change what a session may do (its account's status, roles, scope,
 * password or second factor, or the session itself): cached principals are dropped once it
 * is committed (auth_cache.c).
 */
static int changing_write(struct cg_db *db, cg_db_write_fn *fn, void *ctx, struct cg_error *err)
{
    int rc = cg_db_write(db, fn, ctx, err);

    cg_auth__cache_changed();
    return rc;
}

static int failed_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct failed_job *j = ctx;
    int rc = cg_db_run(c,
                       "UPDATE account SET failed_logins = failed_logins + 1,"
                       " status = CASE WHEN failed_logins + 1 >= ?2 AND status = 'active'"
                       "          THEN 'locked' ELSE status END"
                       " WHERE id = ?1",
                       err, "ii", j->id, (int64_t)j->disable_after);

    return rc ? rc : audit_in(c, j->audit, err);
}

int cg_auth__login_failed(struct cg_db *db, int64_t account_id, int disable_after,
                          const struct cg_audit_entry *audit, struct cg_error *err)
{
    struct failed_job j = {account_id, disable_after, audit};

    return changing_write(db, failed_run, &j, err);
}

static int login_ok_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct cg_auth__login_ok *ok = ctx;
    struct cg_audit_entry e = {
        ok->account_id, ok->login, ok->remote, "auth.login",
        "account",      NULL,      "ok",       ok->recovery_hash ? "recovery code used" : NULL};
    int rc = 0;

    if (ok->recovery_hash) {
        char now[CG_TIME_ISO_LEN];

        now_iso(now);
        rc = cg_db_run(c,
                       "UPDATE recovery_code SET used_at = ?3"
                       " WHERE account_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
                       err, "itt", ok->account_id, ok->recovery_hash, now);
        if (!rc && cg_db_changes(c) != 1) {
            return cg_error_set(err, CG_EMFA, "the recovery code is wrong or already used");
        }
    }
    rc = rc ? rc
            : cg_db_run(c,
                        "UPDATE account SET failed_logins = 0,"
                        " totp_last_step = MAX(totp_last_step, ?2),"
                        " password_hash = COALESCE(?3, password_hash) WHERE id = ?1",
                        err, "iit", ok->account_id, ok->totp_step, ok->new_password_hash);
    rc = rc ? rc
            : cg_db_run(c,
                        "INSERT INTO session(token_hash, csrf_hash, account_id, created_at,"
                        " last_seen_at, expires_at, remote, user_agent)"
                        " VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)",
                        err, "ttiiitt", ok->token_hash, ok->csrf_hash, ok->account_id, ok->now,
                        ok->expires_at, ok->remote, ok->user_agent);
    if (!rc) {
        ok->session_id = cg_db_last_insert_id(c);
        rc = cg_audit_append(c, &e, err);
    }
    return rc;
}

int cg_auth__login_succeeded(struct cg_db *db, struct cg_auth__login_ok *ok, struct cg_error *err)
{
    return cg_db_write(db, login_ok_run, ok, err);
}

/* ---- sessions --------------------------------------------------------------------------- */

int cg_auth__session_load(struct cg_db *db, const char *token_hash,
                          struct cg_auth__session_row *out, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT s.id, s.account_id, s.last_seen_at, s.expires_at,"
                                 " s.csrf_hash, a.login, a.status, a.scope_kind, a.scope_ref,"
                                 " a.totp_enabled, a.must_change_password"
                                 " FROM session s JOIN account a ON a.id = s.account_id"
                                 " WHERE s.token_hash = ?1",
                                 &st, err, "t", token_hash);
    rc = rc ? rc : first_row(st, err);
    if (!rc) {
        out->session_id = cg_db_column_int64(st, 0);
        out->account_id = cg_db_column_int64(st, 1);
        out->last_seen_at = cg_db_column_int64(st, 2);
        out->expires_at = cg_db_column_int64(st, 3);
        copy_col(st, 4, out->csrf_hash, sizeof(out->csrf_hash));
        copy_col(st, 5, out->login, sizeof(out->login));
        copy_col(st, 6, out->status, sizeof(out->status));
        copy_col(st, 7, out->scope_kind, sizeof(out->scope_kind));
        copy_col(st, 8, out->scope_ref, sizeof(out->scope_ref));
        out->totp_enabled = cg_db_column_int64(st, 9) != 0;
        out->must_change_password = cg_db_column_int64(st, 10) != 0;
    }
    cg_db_finalize(st);
    return rc;
}

struct touch_job {
    int64_t id, now;
};

static int touch_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct touch_job *j = ctx;

    return cg_db_run(c, "UPDATE session SET last_seen_at = ?2 WHERE id = ?1", err, "ii", j->id,
                     j->now);
}

int cg_auth__session_touch(struct cg_db *db, int64_t session_id, int64_t now, struct cg_error *err)
{
    struct touch_job j = {session_id, now};

    return cg_db_write(db, touch_run, &j, err);
}

int cg_auth__load_permissions(struct cg_db *db, struct cg_principal *p, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    size_t cap = 0;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT role FROM account_role WHERE account_id = ?1"
                                 " ORDER BY role",
                                 &st, err, "i", p->account_id);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        rc = 0;
        if (p->n_roles < CG_AUTH_MAX_ROLES) {
            copy_col(st, 0, p->roles[p->n_roles], sizeof(p->roles[0]));
            p->n_roles++;
        }
    }
    cg_db_finalize(st);
    st = NULL;
    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT DISTINCT rp.permission FROM account_role ar"
                                 " JOIN role_permission rp ON rp.role = ar.role"
                                 " WHERE ar.account_id = ?1",
                                 &st, err, "i", p->account_id);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        rc = 0;
        if (p->n_permissions == cap) {
            cap = cap ? 2 * cap : 32;
            p->permissions = cg_realloc(p->permissions, cap * sizeof(char *));
        }
        p->permissions[p->n_permissions++] = cg_strdup(cg_db_column_text(st, 0));
    }
    cg_db_finalize(st);
    return rc;
}

struct end_job {
    int64_t account_id, session_id;
    bool all;
    const struct cg_audit_entry *audit;
};

static int end_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct end_job *j = ctx;
    int rc =
        j->all ? cg_db_run(c, "DELETE FROM session WHERE account_id = ?1", err, "i", j->account_id)
               : cg_db_run(c, "DELETE FROM session WHERE id = ?1", err, "i", j->session_id);

    return rc ? rc : audit_in(c, j->audit, err);
}

int cg_auth__sessions_end(struct cg_db *db, int64_t account_id, int64_t session_id, bool all,
                          const struct cg_audit_entry *audit, struct cg_error *err)
{
    struct end_job j = {account_id, session_id, all, audit};

    return changing_write(db, end_run, &j, err);
}

/* ---- accounts --------------------------------------------------------------------------- */

static int insert_roles(struct cg_conn *c, int64_t id, const char *const *roles, int n,
                        struct cg_error *err)
{
    int rc = cg_db_run(c, "DELETE FROM account_role WHERE account_id = ?1", err, "i", id);

    for (int i = 0; !rc && i < n; i++) {
        rc = cg_db_run(c, "INSERT INTO account_role(account_id, role) VALUES (?1, ?2)", err, "it",
                       id, roles[i]);
    }
    return rc;
}

static int account_insert_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct cg_auth__account_new *a = ctx;
    char now[CG_TIME_ISO_LEN];
    int rc;

    now_iso(now);
    rc = cg_db_run(c,
                   "INSERT INTO account(login, display_name, phone_enc, phone_idx, phone_mask,"
                   " password_hash, password_changed_at, scope_kind, scope_ref, created_at,"
                   " updated_at, must_change_password)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?7, ?7, ?10)",
                   err, "ttttttttti", a->in->login, a->in->display_name, a->phone_enc, a->phone_idx,
                   a->phone_mask, a->password_hash, now, a->scope_kind,
                   a->in->scope_ref ? a->in->scope_ref : "", (int64_t)a->must_change);
    if (rc) {
        return rc;
    }
    a->id = cg_db_last_insert_id(c);
    rc = insert_roles(c, a->id, a->in->roles, a->in->n_roles, err);
    return rc ? rc : audit_in(c, a->audit, err);
}

int cg_auth__account_insert(struct cg_db *db, struct cg_auth__account_new *a, struct cg_error *err)
{
    return changing_write(db, account_insert_run, a, err);
}

int cg_auth__role_kinds(struct cg_db *db, const char *const *roles, int n, char kinds[][16],
                        struct cg_error *err)
{
    struct cg_conn *c;
    int rc = cg_db_reader(db, &c, err);

    for (int i = 0; !rc && i < n; i++) {
        struct cg_stmt *st = NULL;

        rc = cg_db_prepare_bind(c, "SELECT COALESCE(admin_kind, '') FROM role WHERE name = ?1", &st,
                                err, "t", roles[i]);
        rc = rc ? rc : first_row(st, err);
        if (!rc) {
            copy_col(st, 0, kinds[i], 16);
        } else if (rc == CG_ENOTFOUND) {
            rc = cg_error_field(err, CG_EINVAL, "roles", "unknown role '%.40s'", roles[i]);
        }
        cg_db_finalize(st);
    }
    return rc;
}

/* Columns of the public view of an account, shared by get and list. */
#define ACCOUNT_COLUMNS                                                                            \
    "a.id, a.login, a.display_name, a.phone_mask, a.status, a.scope_kind, a.scope_ref,"            \
    " a.totp_enabled, a.must_change_password, a.created_at, a.updated_at,"                         \
    " (SELECT group_concat(role, ',') FROM (SELECT role FROM account_role"                         \
    "   WHERE account_id = a.id ORDER BY role))"

static json_t *account_row_json(struct cg_stmt *st)
{
    json_t *roles = json_array();
    const char *r = cg_db_column_text(st, 11);
    const char *kind = cg_db_column_text(st, 5);
    const char *ref = cg_db_column_text(st, 6);
    char scope[96];

    while (*r) {
        const char *comma = strchr(r, ',');
        size_t n = comma ? (size_t)(comma - r) : strlen(r);

        json_array_append_new(roles, json_stringn(r, n));
        r += n + (comma ? 1 : 0);
    }
    snprintf(scope, sizeof(scope), "%s%s%s", kind, *ref ? ":" : "", ref);
    return json_pack("{s:I, s:s, s:s, s:s?, s:s, s:s, s:o, s:b, s:b, s:s, s:s}", "id",
                     (json_int_t)cg_db_column_int64(st, 0), "login", cg_db_column_text(st, 1),
                     "display_name", cg_db_column_text(st, 2), "phone",
                     cg_db_column_is_null(st, 3) ? NULL : cg_db_column_text(st, 3), "status",
                     cg_db_column_text(st, 4), "scope", scope, "roles", roles, "totp_enabled",
                     cg_db_column_int64(st, 7) != 0, "must_change_password",
                     cg_db_column_int64(st, 8) != 0, "created_at", cg_db_column_text(st, 9),
                     "updated_at", cg_db_column_text(st, 10));
}

int cg_auth__account_json(struct cg_db *db, int64_t id, json_t **out, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c, "SELECT " ACCOUNT_COLUMNS " FROM account a WHERE a.id = ?1",
                                 &st, err, "i", id);
    rc = rc ? rc : first_row(st, err);
    if (rc == CG_ENOTFOUND) {
        rc = cg_error_set(err, CG_ENOTFOUND, "no account %" PRId64, id);
    } else if (!rc) {
        *out = account_row_json(st);
    }
    cg_db_finalize(st);
    return rc;
}

int cg_auth__account_scope(struct cg_db *db, int64_t id, char *kind, size_t kind_size, char *ref,
                           size_t ref_size, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c, "SELECT scope_kind, scope_ref FROM account WHERE id = ?1", &st,
                                 err, "i", id);
    rc = rc ? rc : first_row(st, err);
    if (rc == CG_ENOTFOUND) {
        rc = cg_error_set(err, CG_ENOTFOUND, "no account %" PRId64, id);
    } else if (!rc) {
        copy_col(st, 0, kind, kind_size);
        copy_col(st, 1, ref, ref_size);
    }
    cg_db_finalize(st);
    return rc;
}

int cg_auth__account_find(struct cg_db *db, const char *login, int64_t *out_id,
                          struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc =
        rc ? rc
           : cg_db_prepare_bind(c, "SELECT id FROM account WHERE login = ?1", &st, err, "t", login);
    rc = rc ? rc : first_row(st, err);
    if (rc == CG_ENOTFOUND) {
        rc = cg_error_set(err, CG_ENOTFOUND, "no account '%s'", login);
    } else if (!rc) {
        *out_id = cg_db_column_int64(st, 0);
    }
    cg_db_finalize(st);
    return rc;
}

int cg_auth__account_list(struct cg_db *db, const struct cg_principal *actor,
                          const struct cg_account_query *q, json_t **out, int64_t *out_next,
                          struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    const char *actor_kind = cg_auth_scope_kind_name(actor->scope_kind);
    int64_t last = 0;
    int n = 0;
    int rc = cg_db_reader(db, &c, err);

    /*
     * The actor's own scope bounds the list: grid scopes by code prefix, a
     * department by name, 'own' to the actor alone. The optional filter can
     * only narrow it (checked by the caller).
     */
    rc =
        rc ? rc
           : cg_db_prepare_bind(
                 c,
                 "SELECT " ACCOUNT_COLUMNS " FROM account a WHERE a.id > ?1"
                 " AND (?2 = 'all'"
                 "      OR (?2 = 'grid' AND a.scope_kind = 'grid'"
                 "          AND substr(a.scope_ref, 1, length(?3)) = ?3)"
                 "      OR (?2 = 'department' AND a.scope_kind = 'department' AND a.scope_ref = ?3)"
                 "      OR (?2 = 'own' AND a.id = ?4))"
                 " AND (?5 IS NULL OR (a.scope_kind = 'grid'"
                 "      AND substr(a.scope_ref, 1, length(?5)) = ?5))"
                 " AND (?6 IS NULL OR a.status = ?6)"
                 " AND (?7 IS NULL OR EXISTS (SELECT 1 FROM account_role ar"
                 "      WHERE ar.account_id = a.id AND ar.role = ?7))"
                 " ORDER BY a.id LIMIT ?8",
                 &st, err, "ittittti", q->after_id, actor_kind, actor->scope_ref, actor->account_id,
                 q->grid_prefix && *q->grid_prefix ? q->grid_prefix : NULL, q->status, q->role,
                 (int64_t)q->limit);
    if (rc) {
        return rc;
    }
    *out = json_array();
    while ((rc = cg_db_step(st, err)) == CG_DB_ROW) {
        last = cg_db_column_int64(st, 0);
        n++;
        json_array_append_new(*out, account_row_json(st));
    }
    cg_db_finalize(st);
    if (rc) {
        json_decref(*out);
        *out = NULL;
        return rc;
    }
    *out_next = n == q->limit ? last : 0;
    return 0;
}

struct roles_job {
    int64_t id;
    const char *const *roles;
    int n;
    const char *kind, *ref;
    const struct cg_audit_entry *audit;
};

static int roles_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct roles_job *j = ctx;
    char now[CG_TIME_ISO_LEN];
    int rc;

    now_iso(now);
    rc = cg_db_run(c,
                   "UPDATE account SET scope_kind = ?2, scope_ref = ?3, updated_at = ?4"
                   " WHERE id = ?1",
                   err, "ittt", j->id, j->kind, j->ref, now);
    rc = rc ? rc : insert_roles(c, j->id, j->roles, j->n, err);
    /* New powers take effect at the next sign-in: end the account's sessions. */
    rc = rc ? rc : cg_db_run(c, "DELETE FROM session WHERE account_id = ?1", err, "i", j->id);
    return rc ? rc : audit_in(c, j->audit, err);
}

int cg_auth__account_set_roles(struct cg_db *db, int64_t id, const char *const *roles, int n,
                               const char *kind, const char *ref,
                               const struct cg_audit_entry *audit, struct cg_error *err)
{
    struct roles_job j = {id, roles, n, kind, ref, audit};

    return changing_write(db, roles_run, &j, err);
}

struct status_job {
    int64_t id;
    const char *status;
    const struct cg_audit_entry *audit;
};

static int status_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct status_job *j = ctx;
    char now[CG_TIME_ISO_LEN];
    int rc;

    now_iso(now);
    rc = cg_db_run(c,
                   "UPDATE account SET status = ?2, updated_at = ?3,"
                   " failed_logins = CASE WHEN ?2 = 'active' THEN 0 ELSE failed_logins END"
                   " WHERE id = ?1",
                   err, "itt", j->id, j->status, now);
    if (!rc && strcmp(j->status, "active")) {
        rc = cg_db_run(c, "DELETE FROM session WHERE account_id = ?1", err, "i", j->id);
    }
    return rc ? rc : audit_in(c, j->audit, err);
}

int cg_auth__account_set_status(struct cg_db *db, int64_t id, const char *status,
                                const struct cg_audit_entry *audit, struct cg_error *err)
{
    struct status_job j = {id, status, audit};

    return changing_write(db, status_run, &j, err);
}

struct password_job {
    int64_t id;
    const char *hash;
    bool must_change;
    int64_t keep_session;
    const struct cg_audit_entry *audit;
};

static int password_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct password_job *j = ctx;
    char now[CG_TIME_ISO_LEN];
    int rc;

    now_iso(now);
    rc = cg_db_run(c,
                   "UPDATE account SET password_hash = ?2, password_changed_at = ?3,"
                   " updated_at = ?3, must_change_password = ?4 WHERE id = ?1",
                   err, "itti", j->id, j->hash, now, (int64_t)j->must_change);
    rc = rc ? rc
            : cg_db_run(c, "DELETE FROM session WHERE account_id = ?1 AND id <> ?2", err, "ii",
                        j->id, j->keep_session);
    return rc ? rc : audit_in(c, j->audit, err);
}

int cg_auth__account_password(struct cg_db *db, int64_t id, const char *current_hash_check,
                              const char *hash, bool must_change, int64_t keep_session,
                              const struct cg_audit_entry *audit, struct cg_error *err)
{
    struct password_job j = {id, hash, must_change, keep_session, audit};

    (void)current_hash_check;
    return changing_write(db, password_run, &j, err);
}

int cg_auth__password_hash_of(struct cg_db *db, int64_t id, char *out, size_t size,
                              struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c, "SELECT password_hash FROM account WHERE id = ?1", &st, err,
                                 "i", id);
    rc = rc ? rc : first_row(st, err);
    if (!rc) {
        copy_col(st, 0, out, size);
    }
    cg_db_finalize(st);
    return rc;
}

int cg_auth__phone_enc(struct cg_db *db, int64_t id, char **out_enc, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c, "SELECT phone_enc FROM account WHERE id = ?1", &st, err, "i",
                                 id);
    rc = rc ? rc : first_row(st, err);
    if (!rc) {
        *out_enc = cg_db_column_is_null(st, 0) ? NULL : cg_strdup(cg_db_column_text(st, 0));
    }
    cg_db_finalize(st);
    return rc;
}

struct totp_job {
    int64_t id;
    const char *enc;
    bool enable;
    const char *const *recovery;
    int n_recovery;
    int64_t step;
    const struct cg_audit_entry *audit;
};

static int totp_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct totp_job *j = ctx;
    int rc = cg_db_run(c,
                       "UPDATE account SET totp_secret_enc = ?2, totp_enabled = ?3,"
                       " totp_last_step = MAX(totp_last_step, ?4) WHERE id = ?1",
                       err, "itii", j->id, j->enc, (int64_t)j->enable, j->step);

    if (!rc && j->n_recovery) {
        rc = cg_db_run(c, "DELETE FROM recovery_code WHERE account_id = ?1", err, "i", j->id);
    }
    for (int i = 0; !rc && i < j->n_recovery; i++) {
        rc = cg_db_run(c, "INSERT INTO recovery_code(account_id, code_hash) VALUES (?1, ?2)", err,
                       "it", j->id, j->recovery[i]);
    }
    return rc ? rc : audit_in(c, j->audit, err);
}

int cg_auth__totp_store(struct cg_db *db, int64_t id, const char *secret_enc, bool enable,
                        const char *const *recovery_hashes, int n_recovery, int64_t step,
                        const struct cg_audit_entry *audit, struct cg_error *err)
{
    struct totp_job j = {id, secret_enc, enable, recovery_hashes, n_recovery, step, audit};

    return changing_write(db, totp_run, &j, err);
}

int cg_auth__totp_secret(struct cg_db *db, int64_t id, char **out_enc, bool *out_enabled,
                         int64_t *out_last_step, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT totp_secret_enc, totp_enabled, totp_last_step"
                                 " FROM account WHERE id = ?1",
                                 &st, err, "i", id);
    rc = rc ? rc : first_row(st, err);
    if (!rc) {
        *out_enc = cg_db_column_is_null(st, 0) ? NULL : cg_strdup(cg_db_column_text(st, 0));
        *out_enabled = cg_db_column_int64(st, 1) != 0;
        *out_last_step = cg_db_column_int64(st, 2);
    }
    cg_db_finalize(st);
    return rc;
}

int cg_auth__roles_json(struct cg_db *db, json_t **out, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT r.name, r.label_zh, r.label_en, r.admin_kind,"
                                 " (SELECT group_concat(permission, ',') FROM (SELECT permission"
                                 "   FROM role_permission WHERE role = r.name ORDER BY permission))"
                                 " FROM role r ORDER BY r.rowid",
                                 &st, err, "");
    if (rc) {
        return rc;
    }
    *out = json_array();
    while ((rc = cg_db_step(st, err)) == CG_DB_ROW) {
        json_t *perms = json_array();
        const char *p = cg_db_column_text(st, 4);

        while (*p) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);

            json_array_append_new(perms, json_stringn(p, n));
            p += n + (comma ? 1 : 0);
        }
        json_array_append_new(
            *out,
            json_pack("{s:s, s:s, s:s, s:s?, s:o}", "name", cg_db_column_text(st, 0), "label_zh",
                      cg_db_column_text(st, 1), "label_en", cg_db_column_text(st, 2), "admin_kind",
                      cg_db_column_is_null(st, 3) ? NULL : cg_db_column_text(st, 3), "permissions",
                      perms));
    }
    cg_db_finalize(st);
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

struct sweep_job {
    int64_t now, idle_before, deleted;
};

static int sweep_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct sweep_job *j = ctx;
    int rc = cg_db_run(c, "DELETE FROM session WHERE expires_at <= ?1 OR last_seen_at < ?2", err,
                       "ii", j->now, j->idle_before);

    j->deleted = rc ? 0 : cg_db_changes(c);
    return rc;
}

int cg_auth__sessions_sweep(struct cg_db *db, int64_t now, int64_t idle_before,
                            int64_t *out_deleted, struct cg_error *err)
{
    struct sweep_job j = {now, idle_before, 0};
    int rc = changing_write(db, sweep_run, &j, err);

    if (!rc && out_deleted) {
        *out_deleted = j.deleted;
    }
    return rc;
}

struct rekey_job {
    const struct cg_pii_keys *keys;
    int64_t count;
};

/* The encrypted columns of account, with the kind each was encrypted as. */
static const struct {
    const char *select, *update, *kind;
} rekey_columns[] = {
    {"SELECT id, phone_enc FROM account WHERE phone_enc IS NOT NULL",
     "UPDATE account SET phone_enc = ?2 WHERE id = ?1", "phone"},
    {"SELECT id, totp_secret_enc FROM account WHERE totp_secret_enc IS NOT NULL",
     "UPDATE account SET totp_secret_enc = ?2 WHERE id = ?1", "totp"},
};

static int rekey_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct rekey_job *j = ctx;
    int rc = 0;

    for (size_t k = 0; !rc && k < CG_ARRAY_LEN(rekey_columns); k++) {
        struct cg_stmt *st = NULL;
        int64_t *ids = NULL;
        char **vals = NULL;
        size_t n = 0, cap = 0;

        /* Collect first: a statement must not be stepped while its table is updated. */
        rc = cg_db_prepare_bind(c, rekey_columns[k].select, &st, err, "");
        while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
            rc = 0;
            if (!cg_pii_needs_rekey(j->keys, cg_db_column_text(st, 1))) {
                continue;
            }
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                ids = cg_realloc(ids, cap * sizeof(*ids));
                vals = cg_realloc(vals, cap * sizeof(*vals));
            }
            ids[n] = cg_db_column_int64(st, 0);
            vals[n++] = cg_strdup(cg_db_column_text(st, 1));
        }
        cg_db_finalize(st);
        for (size_t i = 0; i < n; i++) {
            char *plain = NULL, *enc = NULL;

            if (!rc) {
                rc = cg_pii_decrypt(j->keys, rekey_columns[k].kind, vals[i], &plain, err);
            }
            if (!rc) {
                rc =
                    cg_pii_encrypt(j->keys, rekey_columns[k].kind, plain, strlen(plain), &enc, err);
            }
            if (!rc) {
                rc = cg_db_run(c, rekey_columns[k].update, err, "it", ids[i], enc);
            }
            j->count += rc ? 0 : 1;
            cg_pii_free_plain(plain);
            free(enc);
            free(vals[i]);
        }
        free(ids);
        free(vals);
    }
    if (!rc) {
        struct cg_audit_entry e = {0, "(cli)", "cli", "pii.rekey", NULL, NULL, "ok", NULL};

        rc = cg_audit_append(c, &e, err);
    }
    return rc;
}

int cg_auth__rekey(struct cg_db *db, const struct cg_pii_keys *keys, int64_t *out_count,
                   struct cg_error *err)
{
    struct rekey_job j = {keys, 0};
    int rc = changing_write(db, rekey_run, &j, err);

    *out_count = rc ? 0 : j.count;
    return rc;
}

int cg_auth__account_is_admin(struct cg_db *db, int64_t id, bool *out, struct cg_error *err)
{
    struct cg_conn *c;
    int64_t v = 0;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_query_int64(c,
                                "SELECT EXISTS (SELECT 1 FROM account_role ar JOIN role r"
                                " ON r.name = ar.role WHERE ar.account_id = ?1"
                                " AND r.admin_kind IS NOT NULL)",
                                &v, err, "i", id);
    *out = v != 0;
    return rc;
}

int cg_auth_follow_scope(struct cg_conn *c, int64_t account_id, const char *grid_prefix,
                         struct cg_error *err)
{
    int64_t admin = 0;
    int rc = cg_db_query_int64(c,
                               "SELECT EXISTS (SELECT 1 FROM account_role ar JOIN role r"
                               " ON r.name = ar.role WHERE ar.account_id = ?1"
                               " AND r.admin_kind IS NOT NULL)",
                               &admin, err, "i", account_id);
    char now[CG_TIME_ISO_LEN];

    if (rc) {
        return rc;
    }
    if (admin) {
        return cg_error_set(err, CG_EFORBIDDEN,
                            "an administrator's account cannot serve a grid; link another account");
    }
    now_iso(now);
    rc = cg_db_run(c,
                   "UPDATE account SET scope_kind = ?2, scope_ref = ?3, updated_at = ?4"
                   " WHERE id = ?1",
                   err, "ittt", account_id, *grid_prefix ? "grid" : "own", grid_prefix, now);
    return rc ? rc
              : cg_db_run(c, "DELETE FROM session WHERE account_id = ?1", err, "i", account_id);
}
