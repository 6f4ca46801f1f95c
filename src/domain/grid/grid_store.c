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

int cg_grid__map_version(struct cg_db *db, int64_t *out, struct cg_error *err)
{
    struct cg_conn *c;
    int rc = cg_db_reader(db, &c, err);

    return rc ? rc : cg_db_query_int64(c, "SELECT n FROM grid_map_version", out, err, "");
}

int cg_grid__bump_version(struct cg_conn *c, int64_t expected, struct cg_error *err)
{
    int64_t now = 0;
    int rc =
        expected >= 0 ? cg_db_query_int64(c, "SELECT n FROM grid_map_version", &now, err, "") : 0;

    if (!rc && expected >= 0 && now != expected) {
        return cg_error_set(err, CG_ECONFLICT,
                            "the map changed while this file was being checked: check it again");
    }
    return rc ? rc : cg_db_run(c, "UPDATE grid_map_version SET n = n + 1", err, "");
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
static void add_row(struct cg_grid_set *s, json_t *seen, enum cg_grid_level level, const char *code,
                    const char *name, const char *geometry)
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
    rc =
        cg_db_prepare_bind(c,
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
    int64_t version; /* of the map the plan was checked against */
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
        rc = cg_db_run(c, "UPDATE grid SET valid_to = ?2 WHERE code = ?1 AND valid_to IS NULL", err,
                       "tt", f->code, now);
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
    rc = cg_grid__bump_version(c, j->version, err);
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
        struct cg_audit_entry e = {j->actor_id, j->actor, j->remote, "grid.import",
                                   "grid",      NULL,     "ok",      detail};

        snprintf(detail, sizeof(detail),
                 "divisions %" PRId64 ", grids new %" PRId64 ", redrawn %" PRId64
                 ", updated %" PRId64 ", unchanged %" PRId64,
                 n->divisions, n->grids_new, n->grids_redrawn, n->grids_updated,
                 n->grids_unchanged);
        rc = cg_audit_append(c, &e, err);
    }
    return rc;
}

int cg_grid__apply(struct cg_db *db, struct cg_grid_set *s, int64_t version, const char *actor,
                   int64_t actor_id, const char *remote, struct cg_grid__apply_counts *counts,
                   struct cg_error *err)
{
    struct apply_job j = {
        .s = s, .actor = actor, .remote = remote, .actor_id = actor_id, .version = version};
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
        struct cg_audit_entry e = {0,    NULL, "demo", "grid.staff.import", "grid_staff",
                                   NULL, "ok", detail};

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

/* ---- reading ---------------------------------------------------------------------------- */

/*
 * The code prefix the actor may see within `within` (NULL: everything in
 * scope). CG_EFORBIDDEN when the account's scope is not an area, or within
 * lies outside it.
 */
static int visible_prefix(const struct cg_principal *actor, const char *within, char *out,
                          size_t size, struct cg_error *err)
{
    const char *scope = "";
    size_t ns, nw;

    if (actor && actor->scope_kind == CG_SCOPE_GRID) {
        scope = actor->scope_ref;
    } else if (actor && actor->scope_kind != CG_SCOPE_ALL) {
        return cg_error_set(err, CG_EFORBIDDEN,
                            "your account's scope is a department or your own items, not an area "
                            "of the grid map");
    }
    within = within ? within : "";
    ns = strlen(scope);
    nw = strlen(within);
    if (!strncmp(within, scope, ns)) {
        snprintf(out, size, "%s", within); /* within lies inside the scope */
    } else if (!strncmp(scope, within, nw)) {
        snprintf(out, size, "%s", scope); /* within is wider: what of it is in scope */
    } else {
        return cg_error_field(err, CG_EFORBIDDEN, "within", "'%s' is outside your area of work",
                              within);
    }
    return 0;
}

static void at_or_now(const char *at, char buf[CG_TIME_ISO_LEN], const char **out)
{
    if (at && *at) {
        *out = at;
    } else {
        now_iso(buf);
        *out = buf;
    }
}

/* Converts every [lon, lat] of a GeoJSON coordinates array to GCJ-02, in place. */
static void to_gcj02(json_t *coords)
{
    size_t i;
    json_t *v;

    if (json_array_size(coords) >= 2 && json_is_number(json_array_get(coords, 0))) {
        double lon, lat;

        cg_crs_wgs84_to_gcj02(json_number_value(json_array_get(coords, 0)),
                              json_number_value(json_array_get(coords, 1)), &lon, &lat);
        json_array_set_new(coords, 0, json_real(lon));
        json_array_set_new(coords, 1, json_real(lat));
        return;
    }
    json_array_foreach(coords, i, v)
    {
        to_gcj02(v);
    }
}

static void add_feature(struct cg_str *out, bool *first, json_t *props, const char *geometry,
                        bool gcj02)
{
    char *ptext = json_dumps(props, JSON_COMPACT);

    cg_str_adds(out, *first ? "\n" : ",\n");
    *first = false;
    cg_str_adds(out, "{\"type\":\"Feature\",\"properties\":");
    cg_str_adds(out, ptext);
    cg_str_adds(out, ",\"geometry\":");
    if (!*geometry) {
        cg_str_adds(out, "null");
    } else if (gcj02) {
        json_t *g = json_loads(geometry, 0, NULL);
        char *gtext;

        to_gcj02(json_object_get(g, "coordinates"));
        gtext = json_dumps(g, JSON_COMPACT | JSON_REAL_PRECISION(10));
        cg_str_adds(out, gtext ? gtext : "null");
        free(gtext);
        json_decref(g);
    } else {
        cg_str_adds(out, geometry);
    }
    cg_str_adds(out, "}");
    free(ptext);
}

int cg_grid_export(struct cg_db *db, const struct cg_principal *actor,
                   const struct cg_grid_export_opts *o, struct cg_str *out, struct cg_error *err)
{
    unsigned levels = o->levels ? o->levels : CG_GRID_LEVELS_ALL;
    char prefix[CG_GRID_CODE_MAX + 1], end[CG_GRID_CODE_MAX + 2], nowb[CG_TIME_ISO_LEN];
    const char *at;
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    bool first = true;
    int rc = visible_prefix(actor, o->within, prefix, sizeof(prefix), err);

    rc = rc ? rc : cg_db_reader(db, &c, err);
    if (rc) {
        return rc;
    }
    at_or_now(o->at, nowb, &at);
    prefix_end(prefix, end, sizeof(end));
    cg_str_adds(out, "{\"type\":\"FeatureCollection\",\"features\":[");
    rc =
        cg_db_prepare_bind(c,
                           "SELECT code, level, name, COALESCE(parent_code, ''),"
                           " COALESCE(geometry, ''), area_m2 FROM division"
                           " WHERE (code >= ?1 AND code < ?2) OR code = substr(?1, 1, length(code))"
                           " ORDER BY length(code), code",
                           &st, err, "tt", prefix, end);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        enum cg_grid_level lv = level_from(cg_db_column_text(st, 1));
        json_t *props;

        rc = 0;
        if (!(levels & CG_GRID_LEVEL_BIT(lv))) {
            continue;
        }
        props = json_pack("{s:s, s:s, s:s, s:f}", "level", cg_grid_level_name(lv), "code",
                          cg_db_column_text(st, 0), "name", cg_db_column_text(st, 2), "area_m2",
                          cg_db_column_double(st, 5));
        if (*cg_db_column_text(st, 3)) {
            json_object_set_new(props, "parent", json_string(cg_db_column_text(st, 3)));
        }
        add_feature(out, &first, props, cg_db_column_text(st, 4), o->gcj02);
        json_decref(props);
    }
    cg_db_finalize(st);
    st = NULL;
    if (rc >= 0 && (levels & CG_GRID_LEVEL_BIT(CG_GRID_GRID))) {
        rc = cg_db_prepare_bind(
            c,
            "SELECT g.code, g.name, g.community_code, g.kind, g.sector_type, g.households,"
            " g.population, g.area_m2, g.version, g.valid_from, g.geometry,"
            " (SELECT COUNT(DISTINCT a.staff_id) FROM grid_assignment a WHERE a.grid_code = g.code"
            "  AND a.until IS NULL AND a.role IN ('worker', 'leader'))"
            " FROM grid g WHERE g.code >= ?1 AND g.code < ?2 AND g.valid_from <= ?3"
            " AND (g.valid_to IS NULL OR g.valid_to > ?3) ORDER BY g.code",
            &st, err, "ttt", prefix, end, at);
        while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
            json_t *props = json_pack(
                "{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:f, s:I, s:I, s:s}", "level", "grid",
                "code", cg_db_column_text(st, 0), "name", cg_db_column_text(st, 1), "parent",
                cg_db_column_text(st, 2), "kind", cg_db_column_text(st, 3), "sector_type",
                cg_db_column_is_null(st, 4) ? json_null() : json_string(cg_db_column_text(st, 4)),
                "households", (json_int_t)cg_db_column_int64(st, 5), "population",
                (json_int_t)cg_db_column_int64(st, 6), "area_m2", cg_db_column_double(st, 7),
                "version", (json_int_t)cg_db_column_int64(st, 8), "staff",
                (json_int_t)cg_db_column_int64(st, 11), "valid_from", cg_db_column_text(st, 9));

            rc = 0;
            add_feature(out, &first, props, cg_db_column_text(st, 10), o->gcj02);
            json_decref(props);
        }
        cg_db_finalize(st);
    }
    cg_str_adds(out, "\n]}\n");
    if (rc < 0) {
        return rc;
    }
    return cg_str_error(out) ? cg_error_set(err, CG_ETOOBIG, "the export is too large") : 0;
}

json_t *cg_grid__staff_json(struct cg_stmt *st, int col)
{
    return json_pack(
        "{s:I, s:s, s:s, s:s, s:o, s:o}", "worker_id", (json_int_t)cg_db_column_int64(st, col),
        "name", cg_db_column_text(st, col + 1), "role", cg_db_column_text(st, col + 2),
        "employment", cg_db_column_text(st, col + 3), "phone",
        cg_db_column_is_null(st, col + 4) ? json_null()
                                          : json_string(cg_db_column_text(st, col + 4)),
        "account_id",
        cg_db_column_is_null(st, col + 5)
            ? json_null()
            : json_integer((json_int_t)cg_db_column_int64(st, col + 5)));
}

static int duty_lists(struct cg_conn *c, const char *kind, json_t *card, struct cg_error *err)
{
    struct cg_stmt *st = NULL;
    json_t *duties = json_array(), *adm = json_array();
    int rc =
        cg_db_prepare_bind(c,
                           "SELECT list, text, standard_ref FROM grid_duty WHERE grid_kind = ?1"
                           " ORDER BY list, position",
                           &st, err, "t", kind);

    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        json_t *item = json_pack("{s:s}", "text", cg_db_column_text(st, 1));

        rc = 0;
        if (!cg_db_column_is_null(st, 2)) {
            json_object_set_new(item, "standard_ref", json_string(cg_db_column_text(st, 2)));
        }
        json_array_append_new(strcmp(cg_db_column_text(st, 0), "duty") ? adm : duties, item);
    }
    cg_db_finalize(st);
    json_object_set_new(card, "duties", duties);
    json_object_set_new(card, "admissible", adm);
    return rc < 0 ? rc : 0;
}

/* The centroid of a stored geometry (0, 0 if it cannot be read). */
static void centroid_of(const char *geometry, double *x, double *y)
{
    GEOSContextHandle_t h = GEOS_init_r();
    GEOSGeometry *g = cg_grid__read_geometry(h, geometry);
    double a;

    if (g) {
        cg_grid__area_m2(h, g, &a, x, y);
        GEOSGeom_destroy_r(h, g);
    }
    GEOS_finish_r(h);
}

int cg_grid_get(struct cg_db *db, const struct cg_principal *actor, const char *code,
                const char *at_in, json_t **out, struct cg_error *err)
{
    struct cg_auth_object obj = {.grid_code = code};
    char nowb[CG_TIME_ISO_LEN], kind[40];
    const char *at;
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    json_t *card = NULL, *list;
    double x0 = 0, y0 = 0, x1 = 0, y1 = 0, cx = 0, cy = 0;
    int rc;

    *out = NULL;
    if (actor && cg_auth_allow(actor, "grid.read", &obj, err)) {
        cg_error_clear(err);
        return cg_error_field(err, CG_ENOTFOUND, "code", "no grid '%.20s'", code);
    }
    rc = cg_db_reader(db, &c, err);
    if (rc) {
        return rc;
    }
    at_or_now(at_in, nowb, &at);
    rc = cg_db_prepare_bind(
        c,
        "SELECT g.code, g.name, g.kind, g.sector_type, g.households, g.population, g.area_m2,"
        " g.version, g.valid_from, g.valid_to, v.code, v.name, COALESCE(t.code, ''),"
        " COALESCE(t.name, ''), g.min_lon, g.min_lat, g.max_lon, g.max_lat, g.geometry"
        " FROM grid g JOIN division v ON v.code = g.community_code"
        " LEFT JOIN division t ON t.code = v.parent_code"
        " WHERE g.code = ?1 AND g.valid_from <= ?2 AND (g.valid_to IS NULL OR g.valid_to > ?2)",
        &st, err, "tt", code, at);
    rc = rc ? rc : cg_db_step(st, err);
    if (rc == CG_DB_ROW) {
        rc = 0;
        x0 = cg_db_column_double(st, 14);
        y0 = cg_db_column_double(st, 15);
        x1 = cg_db_column_double(st, 16);
        y1 = cg_db_column_double(st, 17);
        centroid_of(cg_db_column_text(st, 18), &cx, &cy);
        card = json_pack(
            "{s:s, s:s, s:s, s:o, s:I, s:I, s:f, s:I, s:s, s:o, s:{s:s, s:s}, s:{s:s, s:s},"
            " s:[f, f, f, f]}",
            "code", cg_db_column_text(st, 0), "name", cg_db_column_text(st, 1), "kind",
            cg_db_column_text(st, 2), "sector_type",
            cg_db_column_is_null(st, 3) ? json_null() : json_string(cg_db_column_text(st, 3)),
            "households", (json_int_t)cg_db_column_int64(st, 4), "population",
            (json_int_t)cg_db_column_int64(st, 5), "area_m2", cg_db_column_double(st, 6), "version",
            (json_int_t)cg_db_column_int64(st, 7), "valid_from", cg_db_column_text(st, 8),
            "valid_to",
            cg_db_column_is_null(st, 9) ? json_null() : json_string(cg_db_column_text(st, 9)),
            "community", "code", cg_db_column_text(st, 10), "name", cg_db_column_text(st, 11),
            "town", "code", cg_db_column_text(st, 12), "name", cg_db_column_text(st, 13), "bbox",
            x0, y0, x1, y1);
        snprintf(kind, sizeof(kind), "%s%s%s", cg_db_column_text(st, 2),
                 cg_db_column_is_null(st, 3) ? "" : ":", cg_db_column_text(st, 3));
        if (!strcmp(cg_db_column_text(st, 2), "territorial")) {
            snprintf(kind, sizeof(kind), "territorial");
        }
    } else if (rc == CG_DB_DONE) {
        rc = cg_error_field(err, CG_ENOTFOUND, "code", "no grid '%.20s'%s%s", code,
                            at_in ? " valid at " : "", at_in ? at_in : "");
    }
    cg_db_finalize(st);
    st = NULL;
    if (rc) {
        json_decref(card);
        return rc;
    }
    json_object_set_new(card, "centroid", json_pack("[f, f]", cx, cy));
    list = json_array();
    rc = cg_db_prepare_bind(c,
                            "SELECT s.id, s.name, a.role, s.employment, s.phone_mask, s.account_id"
                            " FROM grid_assignment a JOIN grid_staff s ON s.id = a.staff_id"
                            " WHERE a.grid_code = ?1 AND a.until IS NULL"
                            " ORDER BY CASE a.role WHEN 'leader' THEN 0 WHEN 'guide' THEN 1"
                            " ELSE 2 END, s.id",
                            &st, err, "t", code);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        rc = 0;
        json_array_append_new(list, cg_grid__staff_json(st, 0));
    }
    cg_db_finalize(st);
    st = NULL;
    json_object_set_new(card, "staff", list);
    rc = rc < 0 ? rc : duty_lists(c, kind, card, err);
    list = json_array();
    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT version, valid_from, valid_to FROM grid WHERE code = ?1"
                                 " ORDER BY version",
                                 &st, err, "t", code);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        rc = 0;
        json_array_append_new(
            list, json_pack("{s:I, s:s, s:o}", "version", (json_int_t)cg_db_column_int64(st, 0),
                            "valid_from", cg_db_column_text(st, 1), "valid_to",
                            cg_db_column_is_null(st, 2) ? json_null()
                                                        : json_string(cg_db_column_text(st, 2))));
    }
    cg_db_finalize(st);
    json_object_set_new(card, "versions", list);
    if (rc < 0) {
        json_decref(card);
        return rc;
    }
    *out = card;
    return 0;
}

int cg_grid_list(struct cg_db *db, const struct cg_principal *actor, const struct cg_grid_query *q,
                 json_t **out, struct cg_error *err)
{
    char prefix[CG_GRID_CODE_MAX + 1], end[CG_GRID_CODE_MAX + 2], nowb[CG_TIME_ISO_LEN];
    const char *at;
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    json_t *list = json_array();
    int n = 0, rc = visible_prefix(actor, q->within, prefix, sizeof(prefix), err);
    const char *last = NULL;

    *out = NULL;
    rc = rc ? rc : cg_db_reader(db, &c, err);
    if (rc) {
        json_decref(list);
        return rc;
    }
    at_or_now(q->at, nowb, &at);
    prefix_end(prefix, end, sizeof(end));
    rc = cg_db_prepare_bind(
        c,
        "SELECT g.code, g.name, g.community_code, g.kind, g.sector_type, g.households,"
        " g.population, g.area_m2, g.version, g.valid_from, g.valid_to,"
        " (SELECT COUNT(DISTINCT a.staff_id) FROM grid_assignment a WHERE a.grid_code = g.code"
        "  AND a.until IS NULL AND a.role IN ('worker', 'leader'))"
        " FROM grid g WHERE g.code >= ?1 AND g.code < ?2 AND g.code > ?3"
        " AND (?4 IS NULL OR g.kind = ?4) AND g.valid_from <= ?5"
        " AND (g.valid_to IS NULL OR g.valid_to > ?5) ORDER BY g.code LIMIT ?6",
        &st, err, "ttttti", prefix, end, q->after ? q->after : "", q->kind, at,
        (int64_t)q->limit + 1);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        rc = 0;
        if (n++ == q->limit) {
            break;
        }
        json_array_append_new(
            list,
            json_pack(
                "{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:f, s:I, s:s, s:o, s:I}", "code",
                cg_db_column_text(st, 0), "name", cg_db_column_text(st, 1), "community_code",
                cg_db_column_text(st, 2), "kind", cg_db_column_text(st, 3), "sector_type",
                cg_db_column_is_null(st, 4) ? json_null() : json_string(cg_db_column_text(st, 4)),
                "households", (json_int_t)cg_db_column_int64(st, 5), "population",
                (json_int_t)cg_db_column_int64(st, 6), "area_m2", cg_db_column_double(st, 7),
                "version", (json_int_t)cg_db_column_int64(st, 8), "valid_from",
                cg_db_column_text(st, 9), "valid_to",
                cg_db_column_is_null(st, 10) ? json_null() : json_string(cg_db_column_text(st, 10)),
                "staff", (json_int_t)cg_db_column_int64(st, 11)));
    }
    cg_db_finalize(st);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    if (n > q->limit) {
        last =
            json_string_value(json_object_get(json_array_get(list, (size_t)q->limit - 1), "code"));
    }
    *out = json_pack("{s:o, s:o}", "grids", list, "next_after",
                     last ? json_string(last) : json_null());
    return 0;
}

int cg_grid_divisions(struct cg_db *db, const struct cg_principal *actor, const char *parent,
                      json_t **out, struct cg_error *err)
{
    char prefix[CG_GRID_CODE_MAX + 1];
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    json_t *list = json_array();
    int rc = visible_prefix(actor, NULL, prefix, sizeof(prefix), err);

    *out = NULL;
    rc = rc ? rc : cg_db_reader(db, &c, err);
    rc = rc ? rc
            : cg_db_prepare_bind(
                  c,
                  "SELECT d.code, d.level, d.name, d.parent_code, d.area_m2,"
                  /* grids under the division that the caller may see (prefix ?2) */
                  " (SELECT COUNT(*) FROM grid g WHERE g.valid_to IS NULL"
                  "  AND g.code >= d.code AND g.code < d.code || ':'"
                  "  AND g.code >= ?2 AND g.code < ?2 || ':')"
                  " FROM division d WHERE (?1 IS NULL AND d.parent_code IS NULL) OR d.parent_code "
                  "= ?1"
                  " ORDER BY d.code",
                  &st, err, "tt", parent, prefix);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        const char *code = cg_db_column_text(st, 0);

        rc = 0;
        /* In scope: inside the scope, or an ancestor of it (the path down to it). */
        if (strncmp(code, prefix, strlen(prefix)) && strncmp(prefix, code, strlen(code))) {
            continue;
        }
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s, s:o, s:f, s:I}", "code", code, "level",
                            cg_db_column_text(st, 1), "name", cg_db_column_text(st, 2), "parent",
                            cg_db_column_is_null(st, 3) ? json_null()
                                                        : json_string(cg_db_column_text(st, 3)),
                            "area_m2", cg_db_column_double(st, 4), "grids",
                            (json_int_t)cg_db_column_int64(st, 5)));
    }
    cg_db_finalize(st);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    *out = json_pack("{s:o}", "divisions", list);
    return 0;
}

bool cg_grid_bounds(struct cg_db *db, const struct cg_principal *actor, double out[4])
{
    char prefix[CG_GRID_CODE_MAX + 1], end[CG_GRID_CODE_MAX + 2];
    struct cg_error err = CG_ERROR_INIT;
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    bool found = false;

    if (visible_prefix(actor, NULL, prefix, sizeof(prefix), &err) || cg_db_reader(db, &c, &err)) {
        return false;
    }
    prefix_end(prefix, end, sizeof(end));
    if (!cg_db_prepare_bind(
            c,
            "SELECT MIN(min_lon), MIN(min_lat), MAX(max_lon), MAX(max_lat), COUNT(*)"
            " FROM grid WHERE code >= ?1 AND code < ?2 AND valid_to IS NULL",
            &st, &err, "tt", prefix, end) &&
        cg_db_step(st, &err) == CG_DB_ROW && cg_db_column_int64(st, 4) > 0) {
        for (int i = 0; i < 4; i++) {
            out[i] = cg_db_column_double(st, i);
        }
        found = true;
    }
    cg_db_finalize(st);
    return found;
}
