/*
 * grid_store.c: the SQL of the grid module, through db.h only. An import is
 * one write job that also appends its audit record, so the grids and their
 * trace commit (or roll back) together.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/str.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/audit/audit.h"
#include "domain/auth/auth.h"
#include "domain/grid/crs.h"
#include "domain/grid/grid_int.h"

#define FAR_FUTURE "9999-12-31T23:59:59.999Z"

static void now_iso(char buf[CG_TIME_ISO_LEN])
{
    cg_time_iso(cg_time_now_ms(), buf, CG_TIME_ISO_LEN);
}

/* The upper bound of a code-prefix range: every code starting with prefix sorts below it. */
static void prefix_end(const char *prefix, char *out, size_t size)
{
    snprintf(out, size, "%s:", prefix); /* ':' follows '9' */
}

static enum cg_grid_level level_from(const char *s)
{
    return !strcmp(s, "city") ? CG_GRID_CITY : !strcmp(s, "town") ? CG_GRID_TOWN : CG_GRID_VILLAGE;
}

int cg_grid__next_seq(struct cg_db *db, const char *community, int64_t *out, struct cg_error *err)
{
    struct cg_conn *c;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_query_int64(c,
                                "SELECT COALESCE(MAX(CAST(substr(code, 13) AS INTEGER)), 0) + 1"
                                " FROM grid WHERE community_code = ?1",
                                out, err, "t", community);
    return rc;
}

/* Adds a stored row to s unless its code is there already; takes geometry text. */
static void add_row(struct cg_grid_set *s, json_t *seen, enum cg_grid_level level,
                    const char *code, const char *name, const char *geometry)
{
    struct cg_grid_feature *f;

    if (json_object_get(seen, code)) {
        return;
    }
    json_object_set_new(seen, code, json_true());
    f = cg_grid__set_add(s);
    f->level = level;
    f->code = cg_strdup(code);
    f->name = cg_strdup(name);
    snprintf(f->kind, sizeof(f->kind), "territorial");
    f->g = *geometry ? cg_grid__read_geometry(s->h, geometry) : NULL;
    if (f->g) {
        cg_grid__measure(s->h, f);
    }
}

static int load_prefix(struct cg_conn *c, const char *prefix, const char *at, struct cg_grid_set *s,
                       json_t *seen, struct cg_error *err)
{
    struct cg_stmt *st = NULL;
    char end[32];
    int rc;

    prefix_end(prefix, end, sizeof(end));
    /* The division itself, its ancestors, and everything under it. */
    rc = cg_db_prepare_bind(c,
                            "SELECT code, level, name, COALESCE(geometry, '') FROM division"
                            " WHERE (code >= ?1 AND code < ?2) OR code = substr(?1, 1, length(code))"
                            " ORDER BY code",
                            &st, err, "tt", prefix, end);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        add_row(s, seen, level_from(cg_db_column_text(st, 1)), cg_db_column_text(st, 0),
                cg_db_column_text(st, 2), cg_db_column_text(st, 3));
        rc = 0;
    }
    cg_db_finalize(st);
    st = NULL;
    if (rc < 0) {
        return rc;
    }
    rc = cg_db_prepare_bind(c,
                            "SELECT code, name, geometry, kind, COALESCE(sector_type, ''),"
                            " households, population, version FROM grid"
                            " WHERE code >= ?1 AND code < ?2 AND valid_from <= ?3"
                            " AND (valid_to IS NULL OR valid_to > ?3) ORDER BY code",
                            &st, err, "ttt", prefix, end, at);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        const char *code = cg_db_column_text(st, 0);
        struct cg_grid_feature *f;

        rc = 0;
        if (json_object_get(seen, code)) {
            continue;
        }
        add_row(s, seen, CG_GRID_GRID, code, cg_db_column_text(st, 1), cg_db_column_text(st, 2));
        f = &s->f[s->n - 1];
        snprintf(f->kind, sizeof(f->kind), "%s", cg_db_column_text(st, 3));
        snprintf(f->sector_type, sizeof(f->sector_type), "%s", cg_db_column_text(st, 4));
        f->households = cg_db_column_int64(st, 5);
        f->population = cg_db_column_int64(st, 6);
        f->version = cg_db_column_int64(st, 7);
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

int cg_grid__load(struct cg_db *db, const char *const *prefixes, const char *at,
                  struct cg_grid_set *s, struct cg_error *err)
{
    static const char *const everything[] = {"", NULL};
    struct cg_conn *c;
    char now[CG_TIME_ISO_LEN];
    json_t *seen = json_object();
    int rc = cg_db_reader(db, &c, err);

    if (!at) {
        now_iso(now);
        at = now;
    }
    for (const char *const *p = prefixes ? prefixes : everything; !rc && *p; p++) {
        rc = load_prefix(c, *p, at, s, seen, err);
    }
    json_decref(seen);
    return rc;
}

/* ---- apply ------------------------------------------------------------------------------ */

struct apply_job {
    struct cg_grid_set *s;
    const char *actor, *remote;
    int64_t actor_id;
    struct cg_grid__apply_counts counts;
};

static int apply_division(struct cg_conn *c, struct cg_grid_set *s, struct cg_grid_feature *f,
                          const char *now, struct cg_error *err)
{
    static const size_t plen[] = {0, 6, 9};
    char parent[16];
    char *geo = f->g ? cg_grid__write_geometry(s->h, f->g) : NULL;
    int rc;

    snprintf(parent, sizeof(parent), "%.*s", (int)plen[f->level], f->code);
    rc = cg_db_run(c,
                   "INSERT INTO division(code, parent_code, level, name, geometry, area_m2,"
                   " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
                   " ON CONFLICT(code) DO UPDATE SET name = excluded.name,"
                   " geometry = excluded.geometry, area_m2 = excluded.area_m2,"
                   " updated_at = excluded.updated_at",
                   err, "tttttdt", f->code, f->level == CG_GRID_CITY ? NULL : parent,
                   cg_grid_level_name(f->level), f->name, geo, f->area_m2, now);
    free(geo);
    return rc;
}

static int apply_grid(struct cg_conn *c, struct cg_grid_set *s, struct cg_grid_feature *f,
                      const char *now, struct cg_error *err)
{
    char community[13];
    char *geo;
    int64_t version = 0;
    int rc;

    if (f->change == CHANGE_UPDATED) {
        return cg_db_run(c,
                         "UPDATE grid SET households = ?2, population = ?3"
                         " WHERE code = ?1 AND valid_to IS NULL",
                         err, "tii", f->code, f->households, f->population);
    }
    snprintf(community, sizeof(community), "%.12s", f->code);
    rc = cg_db_query_int64(c, "SELECT COALESCE(MAX(version), 0) FROM grid WHERE code = ?1",
                           &version, err, "t", f->code);
    if (!rc && f->change == CHANGE_REDRAWN) {
        rc = cg_db_run(c, "UPDATE grid SET valid_to = ?2 WHERE code = ?1 AND valid_to IS NULL",
                       err, "tt", f->code, now);
    }
    if (rc) {
        return rc;
    }
    geo = cg_grid__write_geometry(s->h, f->g);
    if (!geo) {
        return cg_error_set(err, CG_EINTERNAL, "cannot write the geometry of %s", f->code);
    }
    rc = cg_db_run(c,
                   "INSERT INTO grid(code, version, community_code, name, kind, sector_type,"
                   " households, population, geometry, area_m2, min_lon, min_lat, max_lon,"
                   " max_lat, valid_from) VALUES"
                   " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                   err, "tittttiitdddddt", f->code, version + 1, community, f->name, f->kind,
                   *f->sector_type ? f->sector_type : NULL, f->households, f->population, geo,
                   f->area_m2, f->bbox[0], f->bbox[1], f->bbox[2], f->bbox[3], now);
    free(geo);
    return rc;
}

static int apply_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct apply_job *j = ctx;
    struct cg_grid_set *s = j->s;
    struct cg_grid__apply_counts *n = &j->counts;
    char now[CG_TIME_ISO_LEN], detail[200];
    int rc = 0;

    memset(n, 0, sizeof(*n));
    now_iso(now);
    /* Parents before children: the division table's foreign key wants them there first. */
    for (int level = CG_GRID_CITY; level <= CG_GRID_GRID && !rc; level++) {
        for (size_t i = 0; i < s->n && !rc; i++) {
            struct cg_grid_feature *f = &s->f[i];

            if (f->idx < 0 || f->bad || (int)f->level != level) {
                continue;
            }
            if (f->change == CHANGE_NONE) {
                n->grids_unchanged += level == CG_GRID_GRID;
                continue;
            }
            if (level != CG_GRID_GRID) {
                rc = apply_division(c, s, f, now, err);
                n->divisions++;
                continue;
            }
            rc = apply_grid(c, s, f, now, err);
            n->grids_new += f->change == CHANGE_NEW;
            n->grids_redrawn += f->change == CHANGE_REDRAWN;
            n->grids_updated += f->change == CHANGE_UPDATED;
        }
    }
    if (!rc) {
        struct cg_audit_entry e = {j->actor_id, j->actor, j->remote, "grid.import", "grid",
                                   NULL,        "ok",     detail};

        snprintf(detail, sizeof(detail),
                 "divisions %" PRId64 ", grids new %" PRId64 ", redrawn %" PRId64
                 ", updated %" PRId64 ", unchanged %" PRId64,
                 n->divisions, n->grids_new, n->grids_redrawn, n->grids_updated,
                 n->grids_unchanged);
        rc = cg_audit_append(c, &e, err);
    }
    return rc;
}

int cg_grid__apply(struct cg_db *db, struct cg_grid_set *s, const char *actor, int64_t actor_id,
                   const char *remote, struct cg_grid__apply_counts *counts, struct cg_error *err)
{
    struct apply_job j = {.s = s, .actor = actor, .remote = remote, .actor_id = actor_id};
    int rc = cg_db_write(db, apply_run, &j, err);

    *counts = j.counts;
    return rc;
}

/* ---- rows of the point index ------------------------------------------------------------ */

int cg_grid__index_rows(struct cg_db *db, const char *at, cg_grid__row_fn *fn, void *ctx,
                        struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    char now[CG_TIME_ISO_LEN];
    int rc = cg_db_reader(db, &c, err);

    if (!at) {
        now_iso(now);
        at = now;
    }
    rc = rc ? rc
            : cg_db_prepare_bind(
                  c,
                  "SELECT g.code, g.name, g.kind, COALESCE(g.sector_type, ''), g.geometry,"
                  " v.code, v.name, COALESCE(t.code, ''), COALESCE(t.name, '')"
                  " FROM grid g JOIN division v ON v.code = g.community_code"
                  " LEFT JOIN division t ON t.code = v.parent_code"
                  " WHERE g.valid_from <= ?1 AND (g.valid_to IS NULL OR g.valid_to > ?1)"
                  " ORDER BY g.code",
                  &st, err, "t", at);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        struct cg_grid__index_row r = {
            cg_db_column_text(st, 0), cg_db_column_text(st, 1), cg_db_column_text(st, 2),
            cg_db_column_text(st, 3), cg_db_column_text(st, 4), cg_db_column_text(st, 5),
            cg_db_column_text(st, 6), cg_db_column_text(st, 7), cg_db_column_text(st, 8)};

        rc = fn(ctx, &r);
        if (rc) {
            rc = cg_error_set(err, rc, "cannot index grid %s", r.code);
        }
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

/* ---- staff ------------------------------------------------------------------------------ */

struct bulk_job {
    const struct cg_grid__staff_row *rows;
    size_t n;
    const struct cg_grid__assign_row *as;
    size_t nas;
};

static int bulk_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct bulk_job *j = ctx;
    int64_t *ids = cg_calloc(j->n + 1, sizeof(*ids));
    char now[CG_TIME_ISO_LEN], detail[120];
    int rc = 0;

    now_iso(now);
    for (size_t i = 0; i < j->n && !rc; i++) {
        const struct cg_grid__staff_row *r = &j->rows[i];

        rc = cg_db_run(c,
                       "INSERT INTO grid_staff(name, phone_enc, phone_idx, phone_mask, employment,"
                       " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                       err, "tttttt", r->name, r->phone_enc, r->phone_enc ? r->phone_idx : NULL,
                       r->phone_enc ? r->phone_mask : NULL, r->employment, now);
        ids[i] = cg_db_last_insert_id(c);
    }
    for (size_t i = 0; i < j->nas && !rc; i++) {
        rc = cg_db_run(c,
                       "INSERT INTO grid_assignment(grid_code, staff_id, role, since)"
                       " VALUES (?1, ?2, ?3, ?4)",
                       err, "titt", j->as[i].grid_code, ids[j->as[i].staff], j->as[i].role, now);
    }
    if (!rc) {
        struct cg_audit_entry e = {0, NULL, "demo", "grid.staff.import", "grid_staff", NULL, "ok",
                                   detail};

        snprintf(detail, sizeof(detail), "%zu staff, %zu assignments", j->n, j->nas);
        rc = cg_audit_append(c, &e, err);
    }
    free(ids);
    return rc;
}

int cg_grid__staff_bulk(struct cg_db *db, const struct cg_grid__staff_row *rows, size_t n,
                        const struct cg_grid__assign_row *as, size_t nas, struct cg_error *err)
{
    struct bulk_job j = {rows, n, as, nas};

    return cg_db_write(db, bulk_run, &j, err);
}
