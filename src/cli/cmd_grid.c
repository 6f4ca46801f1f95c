/*
 * cmd_grid.c: the grid map from the command line: "civgrid grid validate",
 * "import" and "export" of GeoJSON (domain/grid/grid.h). validate needs no
 * database (it checks the file alone when there is none).
 */
#include "base/cg.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "base/str.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/grid/geojson.h"
#include "domain/grid/grid.h"

#include <unistd.h>

static const char grid_help[] =
    "usage: civgrid grid validate [--json] [--number] FILE.geojson\n"
    "       civgrid grid import [--partial] [--number] [--json] FILE.geojson\n"
    "       civgrid grid export [--within CODE] [--at TIME] [--level LEVELS] [--gcj02]\n"
    "                           [FILE.geojson]\n\n"
    "validate checks a GeoJSON FeatureCollection of divisions (level city, town,\n"
    "village) and grids: Polygon or MultiPolygon geometries, closed rings of\n"
    "[lon, lat] positions inside China, valid geometry (self-intersections with\n"
    "their location), codes and names, unique codes, no overlap between siblings\n"
    "(pair and area in m2); when the database exists, also against what it holds:\n"
    "parents present, children inside their parent, overlaps with stored grids,\n"
    "gaps inside villages and towns (warnings). It changes nothing.\n"
    "import applies the file in one transaction when it has no errors; with\n"
    "--partial the features with errors are skipped and listed. Redrawn grids keep\n"
    "their earlier version. --number gives codes to grids that carry\n"
    "properties.community instead, west to east, north to south.\n"
    "export writes the divisions and grids (as valid at TIME, RFC 3339) under CODE\n"
    "to FILE or standard output; LEVELS is a list such as town,village,grid;\n"
    "--gcj02 converts coordinates for a GCJ-02 base map (display only).\n"
    "Exit codes: 0 success (no errors), 1 problems or failure, 2 usage error.\n";

/* Options with a value: --within CODE, --at TIME, --level LIST. */
struct grid_opts {
    const char *within, *at, *level;
    bool json, number, partial, gcj02;
    char *pos[4];
    int npos;
};

static int parse(struct cli_ctx *ctx, int argc, char **argv, struct grid_opts *o)
{
    const struct cli_opt opts[] = {{"--json", &o->json, NULL},       {"--number", &o->number, NULL},
                                   {"--partial", &o->partial, NULL}, {"--gcj02", &o->gcj02, NULL},
                                   {"--within", NULL, &o->within},   {"--at", NULL, &o->at},
                                   {"--level", NULL, &o->level},     {NULL, NULL, NULL}};

    memset(o, 0, sizeof(*o));
    return cli_parse_opts(ctx, argc, argv, grid_help, opts, o->pos, 4, &o->npos);
}

static void print_plan(const char *path, const struct cg_grid_plan *plan)
{
    json_t *rep = cg_grid_plan_report(plan), *p, *ch = json_object_get(rep, "changes");
    size_t i;

    json_array_foreach(json_object_get(rep, "problems"), i, p)
    {
        json_t *f = json_object_get(p, "feature"), *code = json_object_get(p, "code");

        if (json_is_integer(f)) {
            printf("feature %" JSON_INTEGER_FORMAT, json_integer_value(f));
            if (json_is_string(code)) {
                printf(" (%s)", json_string_value(code));
            }
        } else {
            printf("%s", json_is_string(code) ? json_string_value(code) : "file");
        }
        printf(": %s%s: %s", json_string_value(json_object_get(p, "kind")),
               strcmp(json_string_value(json_object_get(p, "severity")), "warning") ? ""
                                                                                    : " (warning)",
               json_string_value(json_object_get(p, "message")));
        if (json_object_get(p, "area_m2")) {
            printf(": %.0f m2", json_real_value(json_object_get(p, "area_m2")));
        }
        if (json_object_get(p, "lon")) {
            printf(" at %.6f,%.6f", json_real_value(json_object_get(p, "lon")),
                   json_real_value(json_object_get(p, "lat")));
        }
        putchar('\n');
    }
    printf("%s: %" JSON_INTEGER_FORMAT " features, %" JSON_INTEGER_FORMAT
           " valid polygons, total area %.3f km2, %" JSON_INTEGER_FORMAT
           " errors, %" JSON_INTEGER_FORMAT " warnings\n",
           path, json_integer_value(json_object_get(rep, "features")),
           json_integer_value(json_object_get(rep, "polygons")),
           json_real_value(json_object_get(rep, "total_area_m2")) / 1e6,
           json_integer_value(json_object_get(rep, "errors")),
           json_integer_value(json_object_get(rep, "warnings")));
    printf("changes: %" JSON_INTEGER_FORMAT " divisions, %" JSON_INTEGER_FORMAT
           " new grids, %" JSON_INTEGER_FORMAT " redrawn, %" JSON_INTEGER_FORMAT
           " updated, %" JSON_INTEGER_FORMAT " unchanged\n",
           json_integer_value(json_object_get(ch, "divisions")),
           json_integer_value(json_object_get(ch, "grids_new")),
           json_integer_value(json_object_get(ch, "grids_redrawn")),
           json_integer_value(json_object_get(ch, "grids_updated")),
           json_integer_value(json_object_get(ch, "grids_unchanged")));
    json_decref(rep);
}

static void print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    putchar('\n');
}

/* validate and import: the same plan; import applies it. */
static int grid_check(struct cli_ctx *ctx, const struct grid_opts *o, bool apply)
{
    struct cg_grid_import_opts io = {.seq_width = (int)ctx->cfg.grid_seq_width,
                                     .number = o->number};
    struct cg_grid_plan *plan = NULL;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_db *db = NULL;
    char *text = NULL;
    size_t len = 0;
    json_t *result = NULL;
    int rc = cli_read_file(ctx, o->pos[1], CG_GRID_GEOJSON_MAX, &text, &len);

    if (rc) {
        return rc;
    }
    /* validate works without a database (the file alone); import needs one. */
    if (apply || access(ctx->cfg.db_path, F_OK) == 0) {
        rc = cli_open_db(ctx, false, true, &db);
        if (rc) {
            free(text);
            return rc;
        }
    }
    rc = cg_grid_plan_new(db, NULL, text, len, &io, &plan, &err);
    free(text);
    if (rc && !o->json) {
        cli_error(ctx, "%s: %s", o->pos[1], err.message);
    } else if (o->json && !apply) {
        json_t *rep = cg_grid_plan_report(plan);

        print_json(rep);
        json_decref(rep);
    } else if (!o->json) {
        print_plan(o->pos[1], plan);
    }
    if (!rc && apply) {
        rc = cg_grid_plan_apply(db, plan, NULL, "cli", o->partial, &result, &err);
        if (rc) {
            cli_error(ctx, "%s", err.message);
        } else if (o->json) {
            json_object_set_new(result, "report", cg_grid_plan_report(plan));
            print_json(result);
        } else {
            json_t *a = json_object_get(result, "applied");

            printf("applied: %" JSON_INTEGER_FORMAT " divisions, %" JSON_INTEGER_FORMAT
                   " new grids, %" JSON_INTEGER_FORMAT " redrawn, %" JSON_INTEGER_FORMAT
                   " updated; %zu features skipped\n",
                   json_integer_value(json_object_get(a, "divisions")),
                   json_integer_value(json_object_get(a, "grids_new")),
                   json_integer_value(json_object_get(a, "grids_redrawn")),
                   json_integer_value(json_object_get(a, "grids_updated")),
                   json_array_size(json_object_get(result, "skipped")));
        }
        json_decref(result);
    } else if (!rc && cg_grid_plan_errors(plan)) {
        rc = 1;
    }
    cg_grid_plan_free(plan);
    cg_db_close(db);
    return rc ? CLI_FAIL : CLI_OK;
}

static int grid_export(struct cli_ctx *ctx, const struct grid_opts *o)
{
    struct cg_grid_export_opts eo = {.within = o->within, .gcj02 = o->gcj02};
    struct cg_str out = CG_STR_INIT_MAX((size_t)1 << 30);
    struct cg_error err = CG_ERROR_INIT;
    struct cg_db *db = NULL;
    char at[CG_TIME_ISO_LEN];
    int64_t ms;
    int rc;

    if (o->at) {
        if (!cg_time_parse_iso(o->at, &ms)) {
            cli_error(ctx, "--at takes a UTC time like 2026-01-31T08:00:00Z or a date");
            return CLI_USAGE;
        }
        cg_time_iso(ms, at, sizeof(at));
        eo.at = at;
    }
    if (o->level) {
        char buf[64], *save = NULL;

        snprintf(buf, sizeof(buf), "%s", o->level);
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            int l = !strcmp(t, "city")      ? 0
                    : !strcmp(t, "town")    ? 1
                    : !strcmp(t, "village") ? 2
                    : !strcmp(t, "grid")    ? 3
                                            : -1;

            if (l < 0) {
                cli_error(ctx, "--level is a list of city, town, village, grid");
                return CLI_USAGE;
            }
            eo.levels |= CG_GRID_LEVEL_BIT(l);
        }
    }
    rc = cli_open_db(ctx, false, true, &db);
    if (rc) {
        return rc;
    }
    rc = cg_grid_export(db, NULL, &eo, &out, &err);
    cg_db_close(db);
    if (rc) {
        cli_error(ctx, "%s", err.message);
    } else if (o->npos > 1 && strcmp(o->pos[1], "-")) {
        FILE *f = fopen(o->pos[1], "wb");

        if (!f || fwrite(cg_str_ptr(&out), 1, cg_str_len(&out), f) != cg_str_len(&out) ||
            fclose(f)) {
            cli_error(ctx, "cannot write '%s': %s", o->pos[1], strerror(errno));
            rc = 1;
        }
    } else {
        fwrite(cg_str_ptr(&out), 1, cg_str_len(&out), stdout);
    }
    cg_str_release(&out);
    return rc ? CLI_FAIL : CLI_OK;
}

int cmd_grid(struct cli_ctx *ctx, int argc, char **argv)
{
    struct grid_opts o;
    int rc = parse(ctx, argc, argv, &o);

    if (rc) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (o.npos == 0) {
        cli_error(ctx, "expected a subcommand (see 'civgrid grid --help')");
        return CLI_USAGE;
    }
    if (!strcmp(o.pos[0], "export")) {
        return o.npos <= 2 ? grid_export(ctx, &o) : CLI_USAGE;
    }
    if (strcmp(o.pos[0], "validate") && strcmp(o.pos[0], "import")) {
        cli_error(ctx, "unknown subcommand '%s' (see 'civgrid grid --help')", o.pos[0]);
        return CLI_USAGE;
    }
    if (o.npos != 2) {
        cli_error(ctx, "expected one GeoJSON file (see 'civgrid grid --help')");
        return CLI_USAGE;
    }
    return grid_check(ctx, &o, !strcmp(o.pos[0], "import"));
}
