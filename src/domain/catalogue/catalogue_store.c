/*
 * catalogue_store.c: the SQL of the event catalogue (table event_category,
 * migration 0006): loading rows, applying a file in one job, changing one
 * row. Every change is one write job with its audit record.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/str.h"
#include "db/db.h"
#include "domain/audit/audit.h"
#include "domain/auth/auth.h"
#include "domain/catalogue/catalogue_int.h"

#define ROW_COLUMNS                                                                                \
    "kind, code, level, major_code, name, department, urgency, accept_limit, accept_unit,"         \
    " dispatch_limit, dispatch_unit, handle_limit, handle_unit, check_limit, check_unit,"          \
    " filing_condition, closing_condition, standard_ref, confidence, limits_ref, note, active,"    \
    " version, updated_at"

static void now_iso(char buf[CG_TIME_ISO_LEN])
{
    cg_time_iso(cg_time_now_ms(), buf, CG_TIME_ISO_LEN);
}

static char *text_or_null(struct cg_stmt *st, int col)
{
    return cg_db_column_is_null(st, col) ? NULL : cg_strdup(cg_db_column_text(st, col));
}

/* Fills r from a row of ROW_COLUMNS. */
static void read_row(struct cg_stmt *st, struct cg_catalogue__row *r)
{
    static const char *const units[] = {"", "work_hour", "work_day", "natural_hour"};

    cg_catalogue_kind_parse(cg_db_column_text(st, 0), &r->kind);
    snprintf(r->code, sizeof(r->code), "%s", cg_db_column_text(st, 1));
    r->major = !strcmp(cg_db_column_text(st, 2), "major");
    snprintf(r->major_code, sizeof(r->major_code), "%s", cg_db_column_text(st, 3));
    r->name = cg_strdup(cg_db_column_text(st, 4));
    r->department = text_or_null(st, 5);
    if (!cg_catalogue_urgency_parse(cg_db_column_text(st, 6), &r->urgency)) {
        r->urgency = CG_CATALOGUE_NORMAL;
    }
    for (int s = 0; s < CG_CATALOGUE_STEPS; s++) {
        const char *u = cg_db_column_text(st, 8 + 2 * s);

        r->limits[s].unit = CG_CATALOGUE_NO_LIMIT;
        r->limits[s].value = 0;
        for (int i = 1; i < 4; i++) {
            if (!cg_db_column_is_null(st, 8 + 2 * s) && !strcmp(u, units[i])) {
                r->limits[s].unit = (enum cg_catalogue_unit)i;
                r->limits[s].value = cg_db_column_double(st, 7 + 2 * s);
            }
        }
    }
    r->filing = text_or_null(st, 15);
    r->closing = text_or_null(st, 16);
    r->standard_ref = text_or_null(st, 17);
    r->confidence = text_or_null(st, 18);
    r->limits_ref = text_or_null(st, 19);
    r->note = text_or_null(st, 20);
    r->active = cg_db_column_int64(st, 21) != 0;
    r->version = cg_db_column_int64(st, 22);
    snprintf(r->updated_at, sizeof(r->updated_at), "%s", cg_db_column_text(st, 23));
}

/* Steps st (prepared when rc is 0) to its end, adding each row to s, and finalizes it. */
static int read_rows(int rc, struct cg_stmt *st, struct cg_catalogue__set *s, struct cg_error *err)
{
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        rc = 0;
        read_row(st, cg_catalogue__set_add(s));
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

int cg_catalogue__load(struct cg_db *db, const enum cg_catalogue_kind *kind, const char *code,
                       struct cg_catalogue__set *s, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT " ROW_COLUMNS " FROM event_category"
                                 " WHERE (?1 IS NULL OR kind = ?1)"
                                 " AND (?2 IS NULL OR code = ?2 OR major_code = ?2)"
                                 " ORDER BY kind, code",
                                 &st, err, "tt", kind ? cg_catalogue_kind_name(*kind) : NULL, code);
    return read_rows(rc, st, s, err);
}

int cg_catalogue__load_exact(struct cg_db *db, enum cg_catalogue_kind kind, const char *code,
                             struct cg_catalogue__set *s, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    /* The primary key: every report looks its class up, so no scan here. */
    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT " ROW_COLUMNS " FROM event_category"
                                 " WHERE kind = ?1 AND code = ?2",
                                 &st, err, "tt", cg_catalogue_kind_name(kind), code);
    return read_rows(rc, st, s, err);
}

int cg_catalogue__kinds_of(struct cg_db *db, const char *code, unsigned *out_mask,
                           struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    *out_mask = 0;
    rc = rc ? rc
            : cg_db_prepare_bind(c, "SELECT kind FROM event_category WHERE code = ?1", &st, err,
                                 "t", code);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        enum cg_catalogue_kind k;

        rc = 0;
        if (cg_catalogue_kind_parse(cg_db_column_text(st, 0), &k)) {
            *out_mask |= 1u << k;
        }
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

/* Reads (kind, code) on the write connection; *found false when there is none. */
static int read_current(struct cg_conn *c, enum cg_catalogue_kind kind, const char *code,
                        struct cg_catalogue__row *out, bool *found, struct cg_error *err)
{
    struct cg_stmt *st = NULL;
    int rc = cg_db_prepare_bind(c,
                                "SELECT " ROW_COLUMNS " FROM event_category"
                                " WHERE kind = ?1 AND code = ?2",
                                &st, err, "tt", cg_catalogue_kind_name(kind), code);

    *found = false;
    rc = rc ? rc : cg_db_step(st, err);
    if (rc == CG_DB_ROW) {
        read_row(st, out);
        *found = true;
        rc = 0;
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

static const char *unit_or_null(const struct cg_catalogue_limit *l)
{
    return l->unit == CG_CATALOGUE_NO_LIMIT ? NULL : cg_catalogue_unit_name(l->unit);
}

/* Inserts r, or (insert false) replaces the row of the same key and bumps its version. */
static int write_row(struct cg_conn *c, const struct cg_catalogue__row *r, const char *now,
                     bool insert, struct cg_error *err)
{
    const struct cg_catalogue_limit *l = r->limits;
    const char *urgency = r->major ? NULL : cg_catalogue_urgency_name(r->urgency);

    if (insert) {
        return cg_db_run(c,
                         "INSERT INTO event_category(" ROW_COLUMNS
                         ", created_at) VALUES (?1, ?2, ?3, ?4, ?5,"
                         " ?6, ?7, CASE WHEN ?9 IS NULL THEN NULL ELSE ?8 END, ?9,"
                         " CASE WHEN ?11 IS NULL THEN NULL ELSE ?10 END, ?11,"
                         " CASE WHEN ?13 IS NULL THEN NULL ELSE ?12 END, ?13,"
                         " CASE WHEN ?15 IS NULL THEN NULL ELSE ?14 END, ?15,"
                         " ?16, ?17, ?18, ?19, ?20, ?21, ?22, 1, ?23, ?23)",
                         err, "tttttttdtdtdtdtttttttit", cg_catalogue_kind_name(r->kind), r->code,
                         r->major ? "major" : "minor", r->major ? NULL : r->major_code, r->name,
                         r->major ? NULL : r->department, urgency, l[0].value, unit_or_null(&l[0]),
                         l[1].value, unit_or_null(&l[1]), l[2].value, unit_or_null(&l[2]),
                         l[3].value, unit_or_null(&l[3]), r->filing, r->closing, r->standard_ref,
                         r->confidence, r->limits_ref, r->note, (int64_t)r->active, now);
    }
    return cg_db_run(
        c,
        "UPDATE event_category SET level = ?3, major_code = ?4, name = ?5,"
        " department = ?6, urgency = ?7,"
        " accept_limit = CASE WHEN ?9 IS NULL THEN NULL ELSE ?8 END, accept_unit = ?9,"
        " dispatch_limit = CASE WHEN ?11 IS NULL THEN NULL ELSE ?10 END,"
        " dispatch_unit = ?11,"
        " handle_limit = CASE WHEN ?13 IS NULL THEN NULL ELSE ?12 END,"
        " handle_unit = ?13,"
        " check_limit = CASE WHEN ?15 IS NULL THEN NULL ELSE ?14 END, check_unit = ?15,"
        " filing_condition = ?16, closing_condition = ?17, standard_ref = ?18,"
        " confidence = ?19, limits_ref = ?20, note = ?21, active = ?22,"
        " version = version + 1, updated_at = ?23 WHERE kind = ?1 AND code = ?2",
        err, "tttttttdtdtdtdtttttttit", cg_catalogue_kind_name(r->kind), r->code,
        r->major ? "major" : "minor", r->major ? NULL : r->major_code, r->name,
        r->major ? NULL : r->department, urgency, l[0].value, unit_or_null(&l[0]), l[1].value,
        unit_or_null(&l[1]), l[2].value, unit_or_null(&l[2]), l[3].value, unit_or_null(&l[3]),
        r->filing, r->closing, r->standard_ref, r->confidence, r->limits_ref, r->note,
        (int64_t)r->active, now);
}

/*
 * A class is active when one of its sub-classes is: puts every class (of
 * kind and code, or all with NULLs) that differs right, bumping its version.
 */
static int sync_classes(struct cg_conn *c, const char *kind, const char *code, const char *now,
                        struct cg_error *err)
{
    return cg_db_run(c,
                     "UPDATE event_category SET active = 1 - active, version = version + 1,"
                     " updated_at = ?3 WHERE level = 'major'"
                     " AND (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR code = ?2)"
                     " AND active <> (CASE WHEN EXISTS (SELECT 1 FROM event_category m"
                     " WHERE m.kind = event_category.kind AND m.major_code = event_category.code"
                     " AND m.active = 1) THEN 1 ELSE 0 END)",
                     err, "ttt", kind, code, now);
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

/* ---- applying a file -------------------------------------------------------------------- */

struct apply_job {
    const struct cg_principal *actor;
    const char *remote, *action, *source;
    const struct cg_catalogue__set *s;
    bool update_existing;
    struct cg_catalogue_counts *counts;
};

static int apply_row(struct cg_conn *c, struct apply_job *j, const struct cg_catalogue__row *r,
                     const char *now, struct cg_error *err)
{
    struct cg_catalogue__row cur = {0}, cmp;
    bool found = false, same;
    int rc = read_current(c, r->kind, r->code, &cur, &found, err);

    if (rc) {
        return rc;
    }
    if (!found) {
        j->counts->added++;
        return write_row(c, r, now, true, err);
    }
    if (cur.major != r->major) {
        rc = cg_error_set(err, CG_ECONFLICT, "line %d: %s:%s is a %s in the catalogue, not a %s",
                          r->line, cg_catalogue_kind_name(r->kind), r->code,
                          cur.major ? "class (大类)" : "sub-class (小类)",
                          r->major ? "class" : "sub-class");
        cg_catalogue__row_release(&cur);
        return rc;
    }
    cmp = *r;
    if (r->major) {
        cmp.active = cur.active; /* a class's active follows its sub-classes (sync_classes) */
    }
    same = cg_catalogue__row_same(&cur, &cmp);
    if (same || !j->update_existing) {
        j->counts->unchanged++;
        cg_catalogue__row_release(&cur);
        return 0;
    }
    j->counts->updated++;
    rc = write_row(c, &cmp, now, false, err);
    cg_catalogue__row_release(&cur);
    return rc;
}

static int apply_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct apply_job *j = ctx;
    char now[CG_TIME_ISO_LEN], detail[200];
    int rc = 0;

    now_iso(now);
    j->counts->added = j->counts->updated = j->counts->unchanged = 0;
    for (size_t i = 0; !rc && i < j->s->n; i++) {
        rc = apply_row(c, j, &j->s->r[i], now, err);
    }
    rc = rc ? rc : sync_classes(c, NULL, NULL, now, err);
    if (rc) {
        return rc;
    }
    if (!strcmp(j->action, "catalogue.seed") && !j->counts->added && !j->counts->updated) {
        return 0; /* the usual start: nothing missing, nothing to record */
    }
    snprintf(detail, sizeof(detail),
             "%" PRId64 " sub-classes; %" PRId64 " rows added, %" PRId64 " updated, %" PRId64
             " unchanged",
             j->counts->rows, j->counts->added, j->counts->updated, j->counts->unchanged);
    return audit(c, j->actor, j->remote, j->action, "event_catalogue", j->source, detail, err);
}

int cg_catalogue__apply(struct cg_db *db, const struct cg_principal *actor, const char *remote,
                        const char *action, const char *source, const struct cg_catalogue__set *s,
                        bool update_existing, struct cg_catalogue_counts *counts,
                        struct cg_error *err)
{
    struct apply_job j = {actor, remote, action, source, s, update_existing, counts};

    return cg_db_write(db, apply_run, &j, err);
}

/* ---- changing one row ------------------------------------------------------------------- */

struct update_job {
    const struct cg_principal *actor;
    const char *remote;
    enum cg_catalogue_kind kind;
    const char *code;
    const struct cg_catalogue__change *ch;
};

static int update_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct update_job *j = ctx;
    struct cg_catalogue__row cur = {0}, next = {0};
    struct cg_str detail = CG_STR_INIT_MAX(CG_AUDIT_DETAIL_MAX);
    const char *kind = cg_catalogue_kind_name(j->kind);
    char now[CG_TIME_ISO_LEN], ref[CG_CATALOGUE_CODE_MAX + 16];
    bool found = false;
    int rc = read_current(c, j->kind, j->code, &cur, &found, err);

    snprintf(ref, sizeof(ref), "%s:%s", kind, j->code);
    if (!rc && !found) {
        rc = cg_error_field(err, CG_ENOTFOUND, "code", "no event category '%s'", ref);
    }
    if (!rc && j->ch->version && j->ch->version != cur.version) {
        rc = cg_error_field(err, CG_ECONFLICT, "version",
                            "%s is at version %" PRId64 ", not %" PRId64
                            ": reload it and make the change again",
                            ref, cur.version, j->ch->version);
    }
    if (rc || !cg_catalogue__merge(&cur, j->ch, &next, &detail)) {
        goto out; /* an error, or nothing to change: no write, no record */
    }
    now_iso(now);
    rc = write_row(c, &next, now, false, err);
    if (!rc && cur.major && next.active != cur.active) {
        rc = cg_db_run(c,
                       "UPDATE event_category SET active = ?3, version = version + 1,"
                       " updated_at = ?4 WHERE kind = ?1 AND major_code = ?2 AND active <> ?3",
                       err, "ttit", kind, j->code, (int64_t)next.active, now);
        if (!rc) {
            cg_str_addf(&detail, " (and %" PRId64 " sub-classes)", cg_db_changes(c));
        }
    } else if (!rc && next.active != cur.active) {
        rc = sync_classes(c, kind, cur.major_code, now, err);
    }
    rc = rc ? rc
            : audit(c, j->actor, j->remote, "catalogue.update", "event_category", ref,
                    cg_str_ptr(&detail), err);
out:
    cg_catalogue__row_release(&cur);
    cg_catalogue__row_release(&next);
    cg_str_release(&detail);
    return rc;
}

int cg_catalogue__update(struct cg_db *db, const struct cg_principal *actor, const char *remote,
                         enum cg_catalogue_kind kind, const char *code,
                         const struct cg_catalogue__change *ch, struct cg_error *err)
{
    struct update_job j = {actor, remote, kind, code, ch};

    return cg_db_write(db, update_run, &j, err);
}
