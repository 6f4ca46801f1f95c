/*
 * grid.c: the rules of an import (grid.h): a plan is the file's features
 * checked in the state the store would be in after applying them. The
 * features of the file come first in the set, then the stored divisions and
 * grids of the towns it touches; a stored row that a file feature replaces is
 * compared with it (new, redrawn, updated, unchanged) and then left out of
 * the checks.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/str.h"
#include "domain/auth/auth.h"
#include "domain/grid/grid_int.h"

#include <math.h>

struct cg_grid_plan {
    struct cg_grid_set s;
    size_t nfile; /* s.f[0..nfile) are the file's features */
    struct cg_grid_report r;
    struct cg_grid_import_opts o;
    int64_t version; /* of the map when it was read; -1 without a store */
};

/* A map code -> feature, kept as a jansson object of integer indexes into the set. */
static json_t *index_codes(const struct cg_grid_set *s)
{
    json_t *m = json_object();

    for (size_t i = 0; i < s->n; i++) {
        if (s->f[i].code && !s->f[i].replaced) {
            json_object_set_new(m, s->f[i].code, json_integer((json_int_t)i));
        }
    }
    return m;
}

static struct cg_grid_feature *lookup(struct cg_grid_set *s, json_t *m, const char *code)
{
    json_t *v = json_object_get(m, code);

    return v ? &s->f[json_integer_value(v)] : NULL;
}

/* The code of f's parent: its code without the last level's digits; "" for a city. */
static void parent_code(const struct cg_grid_feature *f, char *out, size_t size)
{
    static const size_t len[] = {0, 6, 9, 12};
    size_t n = len[f->level];

    snprintf(out, size, "%.*s", (int)n, f->code ? f->code : "");
}

bool cg_grid_code_ok(const char *code, int seq_width)
{
    size_t n = code ? strlen(code) : 0;

    for (size_t i = 0; i < n; i++) {
        if (code[i] < '0' || code[i] > '9') {
            return false;
        }
    }
    return n == 6 || n == 9 || n == 12 || (seq_width > 0 && n == 12 + (size_t)seq_width);
}

/* ---- numbering -------------------------------------------------------------------------- */

struct numbered {
    struct cg_grid_feature *f;
    long row;
};

static int by_row_then_west(const void *a, const void *b)
{
    const struct numbered *x = a, *y = b;

    if (x->row != y->row) {
        return x->row < y->row ? -1 : 1;
    }
    if (x->f->cx != y->f->cx) {
        return x->f->cx < y->f->cx ? -1 : 1;
    }
    return x->f->idx < y->f->idx ? -1 : 1;
}

static int by_north(const void *a, const void *b)
{
    const struct numbered *x = a, *y = b;

    if (x->f->cy != y->f->cy) {
        return x->f->cy > y->f->cy ? -1 : 1;
    }
    return x->f->idx < y->f->idx ? -1 : 1;
}

void cg_grid__order_we_ns(struct cg_grid_feature **f, size_t n)
{
    struct numbered *g = cg_calloc(n + 1, sizeof(*g));
    double mean_h = 0, top = 0;
    long row = -1;

    for (size_t i = 0; i < n; i++) {
        g[i].f = f[i];
        mean_h += f[i]->bbox[3] - f[i]->bbox[1];
    }
    mean_h = n ? mean_h / (double)n : 0;
    qsort(g, n, sizeof(*g), by_north);
    for (size_t i = 0; i < n; i++) {
        if (row < 0 || top - g[i].f->cy > mean_h / 2) {
            row++;
            top = g[i].f->cy;
        }
        g[i].row = row;
    }
    qsort(g, n, sizeof(*g), by_row_then_west);
    for (size_t i = 0; i < n; i++) {
        f[i] = g[i].f;
    }
    free(g);
}

/* Numbers the grids g[0..n) of one community, continuing after next_seq - 1. */
static void number_community(struct cg_grid_plan *p, struct cg_grid_feature **g, size_t n,
                             const char *community, int64_t next_seq)
{
    cg_grid__order_we_ns(g, n);
    for (size_t i = 0; i < n; i++, next_seq++) {
        char code[CG_GRID_CODE_MAX + 8];

        if (next_seq >= (int64_t)pow(10, p->o.seq_width)) {
            cg_grid__problem(&p->r, g[i]->idx, NULL, "invalid_code", false,
                             "community %s has no free %d-digit grid number left", community,
                             p->o.seq_width);
            g[i]->bad = true;
            continue;
        }
        snprintf(code, sizeof(code), "%s%0*" PRId64, community, p->o.seq_width, next_seq);
        g[i]->code = cg_strdup(code);
    }
}

/* Gives codes to the grids of the file that name a community instead (opts.number). */
static int number_grids(struct cg_grid_plan *p, struct cg_db *db, struct cg_error *err)
{
    struct cg_grid_feature **g = cg_calloc(p->nfile + 1, sizeof(*g));
    json_t *done = json_object();
    int rc = 0;

    for (size_t i = 0; i < p->nfile && !rc; i++) {
        struct cg_grid_feature *f = &p->s.f[i];
        const char *c = f->community;
        int64_t next = 1;
        size_t n = 0;

        if (f->code || !c || f->level != CG_GRID_GRID || json_object_get(done, c)) {
            continue;
        }
        json_object_set_new(done, c, json_true());
        if (strlen(c) != 12 || !cg_grid_code_ok(c, 0)) {
            cg_grid__problem(&p->r, f->idx, NULL, "invalid_code", false,
                             "properties.community '%.20s' is not a 12-digit village code", c);
            f->bad = true;
            continue;
        }
        for (size_t k = i; k < p->nfile; k++) {
            struct cg_grid_feature *o = &p->s.f[k];

            if (!o->code && o->community && !strcmp(o->community, c) && o->g) {
                g[n++] = o;
            }
        }
        if (db) {
            rc = cg_grid__next_seq(db, c, &next, err);
        }
        if (!rc) {
            number_community(p, g, n, c, next);
        }
    }
    json_decref(done);
    free(g);
    return rc;
}

/* ---- checks ----------------------------------------------------------------------------- */

/* The import rules of each file feature: a code of the right width, a name. */
static void check_properties(struct cg_grid_plan *p)
{
    for (size_t i = 0; i < p->nfile; i++) {
        struct cg_grid_feature *f = &p->s.f[i];

        if (!f->code) {
            if (f->community && !p->o.number) {
                cg_grid__problem(&p->r, f->idx, NULL, "missing_code", false,
                                 "the grid has no code: give properties.code, or import with "
                                 "numbering to number the grids of community %.20s",
                                 f->community);
            }
            f->bad = true;
            continue;
        }
        if (f->level == CG_GRID_GRID && strlen(f->code) != 12 + (size_t)p->o.seq_width) {
            cg_grid__problem(&p->r, f->idx, f->code, "invalid_code", false,
                             "a grid code is its 12-digit community code and %d digits of "
                             "sequence (setting grid.seq_width)",
                             p->o.seq_width);
            f->bad = true;
        }
        if (!f->name || cg_utf8_count(f->name, strlen(f->name)) > CG_GRID_NAME_MAX) {
            cg_grid__problem(&p->r, f->idx, f->code, "missing_name", false,
                             f->name ? "properties.name is longer than %d characters"
                                     : "the feature has no properties.name (up to %d characters)",
                             CG_GRID_NAME_MAX);
            f->bad = true;
        }
        if (!f->g && !f->bad) {
            cg_grid__problem(&p->r, f->idx, f->code, "missing_geometry", false,
                             "the feature has no usable geometry");
            f->bad = true;
        }
    }
}

static void check_scope(struct cg_grid_plan *p, const struct cg_principal *actor)
{
    for (size_t i = 0; actor && i < p->nfile; i++) {
        struct cg_grid_feature *f = &p->s.f[i];
        struct cg_auth_object obj = {.grid_code = f->code};
        struct cg_error e = CG_ERROR_INIT;

        if (f->code && cg_auth_allow(actor, "grid.manage", &obj, &e)) {
            cg_grid__problem(&p->r, f->idx, f->code, "outside_scope", false,
                             "%s %s is outside your area of work", cg_grid_level_name(f->level),
                             f->code);
            f->bad = true;
        }
    }
}

/* Compares file features with the stored rows of the same code and marks what would change. */
static void compare_with_store(struct cg_grid_plan *p)
{
    json_t *stored = json_object();

    for (size_t i = p->nfile; i < p->s.n; i++) {
        json_object_set_new(stored, p->s.f[i].code, json_integer((json_int_t)i));
    }
    for (size_t i = 0; i < p->nfile; i++) {
        struct cg_grid_feature *f = &p->s.f[i], *o;

        o = f->code ? lookup(&p->s, stored, f->code) : NULL;
        if (!o || o->level != f->level) {
            f->change = CHANGE_NEW;
            continue;
        }
        f->stored = o;
        o->replaced = true;
        if (!f->g || !o->g) {
            f->change = CHANGE_REDRAWN;
        } else if (!GEOSEqualsExact_r(p->s.h, f->g, o->g, 1e-9) || strcmp(f->name, o->name) ||
                   strcmp(f->kind, o->kind) || strcmp(f->sector_type, o->sector_type)) {
            f->change = CHANGE_REDRAWN;
        } else if (f->households != o->households || f->population != o->population) {
            f->change = CHANGE_UPDATED;
        } else {
            f->change = CHANGE_NONE;
        }
    }
    json_decref(stored);
}

/* Parents exist (in the file or the store) and are not themselves refused. */
static void check_parents(struct cg_grid_plan *p, json_t *codes)
{
    /* Top-down, so a refused village refuses its grids too. */
    for (int level = CG_GRID_TOWN; level <= CG_GRID_GRID; level++) {
        for (size_t i = 0; i < p->nfile; i++) {
            struct cg_grid_feature *f = &p->s.f[i], *parent;
            char pc[CG_GRID_CODE_MAX];

            if ((int)f->level != level || !f->code) {
                continue;
            }
            parent_code(f, pc, sizeof(pc));
            parent = lookup(&p->s, codes, pc);
            if (!parent || parent->level != f->level - 1) {
                cg_grid__problem(&p->r, f->idx, f->code, "missing_parent", false,
                                 "its %s %s is neither stored nor in the file",
                                 cg_grid_level_name(f->level - 1), pc);
                f->bad = true;
            } else if (parent->idx >= 0 && parent->bad && !parent->stored && !f->bad) {
                cg_grid__problem(&p->r, f->idx, f->code, "missing_parent", false,
                                 "its %s %s has errors and cannot be applied",
                                 cg_grid_level_name(f->level - 1), pc);
                f->bad = true;
            }
        }
    }
}

/* Reports child area outside parent (over the tolerance) with its size and a point of it. */
static void check_inside(struct cg_grid_plan *p, struct cg_grid_feature *child,
                         struct cg_grid_feature *parent)
{
    GEOSGeometry *out = GEOSDifference_r(p->s.h, child->g, parent->g);
    double a = 0, x = 0, y = 0;

    if (out && !cg_grid__area_m2(p->s.h, out, &a, &x, &y) && a > CG_GRID_OVERLAP_TOLERANCE_M2) {
        struct cg_grid_feature *named = child->idx >= 0 ? child : parent;
        struct cg_grid_problem *pr =
            cg_grid__problem(&p->r, named->idx, named->code, "outside_parent", false,
                             "%s %s reaches outside its %s %s", cg_grid_level_name(child->level),
                             child->code, cg_grid_level_name(parent->level), parent->code);
        GEOSGeometry *pt = GEOSPointOnSurface_r(p->s.h, out);

        pr->area_m2 = a;
        if (pt && GEOSGeomGetX_r(p->s.h, pt, &x) && GEOSGeomGetY_r(p->s.h, pt, &y)) {
            cg_grid__problem_at(pr, x, y);
        }
        if (pt) {
            GEOSGeom_destroy_r(p->s.h, pt);
        }
        named->bad = true;
    }
    if (out) {
        GEOSGeom_destroy_r(p->s.h, out);
    }
}

/* Area of parent that none of its children cover (territorial grids of a village, villages
 * of a town). */
static void check_gap(struct cg_grid_plan *p, struct cg_grid_feature *parent,
                      struct cg_grid_feature **kids, size_t n)
{
    GEOSGeometry **clones = cg_calloc(n, sizeof(*clones)), *coll, *uni, *gap;
    double a = 0, x = 0, y = 0;

    for (size_t i = 0; i < n; i++) {
        clones[i] = GEOSGeom_clone_r(p->s.h, kids[i]->g);
    }
    coll = GEOSGeom_createCollection_r(p->s.h, GEOS_GEOMETRYCOLLECTION, clones, (unsigned)n);
    free(clones);
    uni = coll ? GEOSUnaryUnion_r(p->s.h, coll) : NULL;
    gap = uni ? GEOSDifference_r(p->s.h, parent->g, uni) : NULL;
    if (gap && !cg_grid__area_m2(p->s.h, gap, &a, &x, &y) && a > CG_GRID_OVERLAP_TOLERANCE_M2) {
        int parts = GEOSGetNumGeometries_r(p->s.h, gap);
        struct cg_grid_problem *pr = cg_grid__problem(
            &p->r, parent->idx, parent->code, "gap", true,
            "%d part%s of %s %s (%s) lie in none of its %s", parts, parts == 1 ? "" : "s",
            cg_grid_level_name(parent->level), parent->code, parent->name ? parent->name : "",
            parent->level == CG_GRID_VILLAGE ? "territorial grids" : "villages");
        GEOSGeometry *pt = GEOSPointOnSurface_r(p->s.h, gap);

        pr->area_m2 = a;
        if (pt && GEOSGeomGetX_r(p->s.h, pt, &x) && GEOSGeomGetY_r(p->s.h, pt, &y)) {
            cg_grid__problem_at(pr, x, y);
        }
        if (pt) {
            GEOSGeom_destroy_r(p->s.h, pt);
        }
    }
    if (gap) {
        GEOSGeom_destroy_r(p->s.h, gap);
    }
    if (uni) {
        GEOSGeom_destroy_r(p->s.h, uni);
    }
    if (coll) {
        GEOSGeom_destroy_r(p->s.h, coll);
    }
}

/* Children inside parents, and gaps in the parents the file touches. */
static void check_hierarchy(struct cg_grid_plan *p, json_t *codes)
{
    struct cg_grid_set *s = &p->s;
    size_t *nkids = cg_calloc(s->n, sizeof(*nkids)), *off = cg_calloc(s->n + 1, sizeof(*off));
    size_t *parent_of = cg_calloc(s->n, sizeof(*parent_of));
    bool *touched = cg_calloc(s->n, sizeof(*touched));
    struct cg_grid_feature **kids = cg_calloc(s->n + 1, sizeof(*kids));

    /* Each live feature's parent, as an index into the set (s->n: none). */
    for (size_t i = 0; i < s->n; i++) {
        struct cg_grid_feature *f = &s->f[i], *par;
        char pc[CG_GRID_CODE_MAX];

        parent_of[i] = s->n;
        if (f->replaced || !f->code || !f->g || f->level == CG_GRID_CITY) {
            continue;
        }
        parent_code(f, pc, sizeof(pc));
        par = lookup(s, codes, pc);
        if (!par || !par->g || par->level != f->level - 1) {
            continue;
        }
        parent_of[i] = (size_t)(par - s->f);
        if (f->idx >= 0 || par->idx >= 0) {
            check_inside(p, f, par);
        }
        if (f->idx >= 0 || par->idx >= 0) {
            touched[parent_of[i]] = true;
        }
        if (f->level != CG_GRID_GRID || !strcmp(f->kind, "territorial")) {
            nkids[parent_of[i]]++;
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        off[i + 1] = off[i] + nkids[i];
        nkids[i] = 0;
    }
    for (size_t i = 0; i < s->n; i++) {
        size_t par = parent_of[i];

        if (par < s->n && (s->f[i].level != CG_GRID_GRID || !strcmp(s->f[i].kind, "territorial"))) {
            kids[off[par] + nkids[par]++] = &s->f[i];
        }
    }
    /* A city's towns may be loaded one at a time: gaps are looked for in towns and villages. */
    for (size_t i = 0; i < s->n; i++) {
        if (touched[i] && nkids[i] && s->f[i].level != CG_GRID_CITY) {
            check_gap(p, &s->f[i], kids + off[i], nkids[i]);
        }
    }
    free(kids);
    free(touched);
    free(parent_of);
    free(off);
    free(nkids);
}

/* The distinct town (or city) prefixes of the file, for loading what the store has there. */
static char **file_prefixes(const struct cg_grid_plan *p)
{
    json_t *seen = json_object();
    char **out = cg_calloc(p->nfile + 2, sizeof(*out));
    size_t n = 0;

    for (size_t i = 0; i < p->nfile; i++) {
        const struct cg_grid_feature *f = &p->s.f[i];
        const char *c = f->code ? f->code : f->community;
        char pre[16];

        if (!c || strlen(c) < 6) {
            continue;
        }
        snprintf(pre, sizeof(pre), "%.*s", strlen(c) >= 9 ? 9 : 6, c);
        if (!json_object_get(seen, pre)) {
            json_object_set_new(seen, pre, json_true());
            out[n++] = cg_strdup(pre);
        }
    }
    json_decref(seen);
    return out;
}

static void free_prefixes(char **v)
{
    for (size_t i = 0; v[i]; i++) {
        free(v[i]);
    }
    free(v);
}

int cg_grid_plan_new(struct cg_db *db, const struct cg_principal *actor, const char *text,
                     size_t len, const struct cg_grid_import_opts *opts,
                     struct cg_grid_plan **out_plan, struct cg_error *err)
{
    struct cg_grid_plan *p = cg_calloc(1, sizeof(*p));
    json_t *codes;
    char **prefixes;
    int rc;

    p->o = *opts;
    p->version = -1;
    if (p->o.seq_width < CG_GRID_SEQ_WIDTH_MIN || p->o.seq_width > CG_GRID_SEQ_WIDTH_MAX) {
        p->o.seq_width = 3;
    }
    *out_plan = p;
    cg_grid__set_init(&p->s);
    rc = cg_grid__parse(text, len, p->o.seq_width, &p->s, &p->r, err);
    p->nfile = p->s.n;
    if (rc) {
        return rc;
    }
    if (p->o.number) {
        rc = number_grids(p, db, err);
        if (rc) {
            return rc;
        }
    }
    check_properties(p);
    check_scope(p, actor);
    if (db) {
        /* Read before the rows: a change after this makes the apply fail, never slip by. */
        rc = cg_grid__map_version(db, &p->version, err);
        if (rc) {
            return rc;
        }
        prefixes = file_prefixes(p);
        rc = prefixes[0] ? cg_grid__load(db, (const char *const *)prefixes, NULL, &p->s, err) : 0;
        free_prefixes(prefixes);
        if (rc) {
            return rc;
        }
        compare_with_store(p);
    } else {
        for (size_t i = 0; i < p->nfile; i++) {
            p->s.f[i].change = CHANGE_NEW;
        }
    }
    codes = index_codes(&p->s);
    if (db) {
        check_parents(p, codes);
    }
    cg_grid__overlaps(&p->s, &p->r);
    check_hierarchy(p, codes);
    json_decref(codes);
    return 0;
}

void cg_grid_plan_free(struct cg_grid_plan *p)
{
    if (!p) {
        return;
    }
    cg_grid__set_release(&p->s);
    cg_grid_report_release(&p->r);
    free(p);
}

size_t cg_grid_plan_errors(const struct cg_grid_plan *p)
{
    size_t n = 0;

    for (size_t i = 0; i < p->r.count; i++) {
        n += !p->r.problems[i].warning;
    }
    return n;
}

/* What applying would change, counting only features without errors. */
static json_t *changes_json(const struct cg_grid_plan *p, bool only_good)
{
    json_int_t div = 0, gnew = 0, redrawn = 0, updated = 0, same = 0;

    for (size_t i = 0; i < p->nfile; i++) {
        const struct cg_grid_feature *f = &p->s.f[i];

        if (only_good && f->bad) {
            continue;
        }
        if (f->level != CG_GRID_GRID) {
            div += f->change != CHANGE_NONE;
            continue;
        }
        gnew += f->change == CHANGE_NEW;
        redrawn += f->change == CHANGE_REDRAWN;
        updated += f->change == CHANGE_UPDATED;
        same += f->change == CHANGE_NONE;
    }
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "divisions", div, "grids_new", gnew,
                     "grids_changed", redrawn + updated, "grids_redrawn", redrawn, "grids_updated",
                     updated, "grids_unchanged", same);
}

json_t *cg_grid_plan_report(const struct cg_grid_plan *p)
{
    json_t *o = cg_grid_report_json(&p->r);

    json_object_set_new(o, "changes", changes_json(p, true));
    return o;
}

int cg_grid_plan_apply(struct cg_db *db, struct cg_grid_plan *p, const struct cg_principal *actor,
                       const char *remote, bool partial, json_t **out_result, struct cg_error *err)
{
    struct cg_grid__apply_counts counts = {0};
    json_t *skipped = json_array();
    size_t errors = cg_grid_plan_errors(p);
    int rc;

    *out_result = NULL;
    if (p->nfile == 0 && p->r.count) {
        json_decref(skipped);
        return cg_error_set(err, CG_EINVALIDGRIDS, "the file is not a GeoJSON FeatureCollection");
    }
    if (errors && !partial) {
        json_decref(skipped);
        return cg_error_set(err, CG_EINVALIDGRIDS,
                            "%zu problem%s found: nothing was applied (fix them, or import the "
                            "valid features only)",
                            errors, errors == 1 ? "" : "s");
    }
    for (size_t i = 0; i < p->nfile; i++) {
        if (p->s.f[i].bad) {
            json_array_append_new(skipped, json_integer(p->s.f[i].idx));
        }
    }
    rc = cg_grid__apply(db, &p->s, p->version, actor ? actor->login : NULL,
                        actor ? actor->account_id : 0, remote, &counts, err);
    if (rc) {
        json_decref(skipped);
        return rc;
    }
    *out_result = json_pack(
        "{s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:o}", "applied", "divisions",
        (json_int_t)counts.divisions, "grids_new", (json_int_t)counts.grids_new, "grids_changed",
        (json_int_t)(counts.grids_redrawn + counts.grids_updated), "grids_redrawn",
        (json_int_t)counts.grids_redrawn, "grids_updated", (json_int_t)counts.grids_updated,
        "grids_unchanged", (json_int_t)counts.grids_unchanged, "skipped", skipped);
    return 0;
}

const struct cg_grid_set *cg_grid__plan_set(const struct cg_grid_plan *p)
{
    return &p->s;
}

bool cg_grid__plan_has_stored(const struct cg_grid_plan *p)
{
    for (size_t i = 0; i < p->nfile; i++) {
        if (p->s.f[i].stored) {
            return true;
        }
    }
    return false;
}
