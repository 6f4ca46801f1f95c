/*
 * cmd_grid.c: grid boundaries. "civgrid grid validate FILE" checks a GeoJSON
 * FeatureCollection of grid polygons (domain/grid/geojson.h) before any
 * import; it needs no database.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "domain/grid/geojson.h"

#include <sys/stat.h>

static const char grid_help[] =
    "usage: civgrid grid validate [--json] FILE.geojson\n\n"
    "Validates a GeoJSON FeatureCollection of grid polygons: Polygon or\n"
    "MultiPolygon geometries, closed rings of [lon, lat] positions inside China,\n"
    "valid geometry (self-intersections with their location), unique\n"
    "properties.code, and no overlap between features (pair and area in m2).\n"
    "Prints one line per problem and a summary; --json prints the report as JSON.\n"
    "Exit codes: 0 no problems, 1 problems or unreadable file, 2 usage error.\n";

/* Reads path whole into *out (NUL-terminated); files over the limit are refused. */
static int read_file(struct cli_ctx *ctx, const char *path, char **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    char *buf;
    size_t n;

    if (!f) {
        cli_error(ctx, "cannot open '%s': %s", path, strerror(errno));
        return CLI_FAIL;
    }
    if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode)) {
        cli_error(ctx, "'%s' is not a regular file", path);
        fclose(f);
        return CLI_FAIL;
    }
    if ((uint64_t)sb.st_size > CG_GRID_GEOJSON_MAX) {
        cli_error(ctx, "'%s' has %lld bytes, more than the %zu allowed", path,
                  (long long)sb.st_size, CG_GRID_GEOJSON_MAX);
        fclose(f);
        return CLI_FAIL;
    }
    buf = cg_malloc((size_t)sb.st_size + 1);
    n = fread(buf, 1, (size_t)sb.st_size, f);
    if (ferror(f)) {
        cli_error(ctx, "cannot read '%s'", path);
        free(buf);
        fclose(f);
        return CLI_FAIL;
    }
    fclose(f);
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return CLI_OK;
}

static void print_feature(long idx, const char *code)
{
    if (idx < 0) {
        fputs("file", stdout);
    } else if (code) {
        printf("feature %ld (%s)", idx, code);
    } else {
        printf("feature %ld", idx);
    }
}

static void print_report(const char *path, const struct cg_grid_report *r)
{
    for (size_t i = 0; i < r->count; i++) {
        const struct cg_grid_problem *p = &r->problems[i];

        print_feature(p->feature, p->code);
        printf(": %s: %s", p->kind, p->message);
        if (p->area_m2 >= 0) {
            printf(": %.0f m2", p->area_m2);
        }
        if (p->has_location) {
            printf(" at %.6f,%.6f", p->lon, p->lat);
        }
        putchar('\n');
    }
    printf("%s: %zu feature%s, %zu valid polygon%s, total area %.0f m2 (%.3f km2), "
           "%zu problem%s\n",
           path, r->features, r->features == 1 ? "" : "s", r->polygons, r->polygons == 1 ? "" : "s",
           r->total_area_m2, r->total_area_m2 / 1e6, r->count, r->count == 1 ? "" : "s");
}

static int grid_validate(struct cli_ctx *ctx, const char *path, bool as_json)
{
    struct cg_grid_report report;
    struct cg_error err = CG_ERROR_INIT;
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(ctx, path, &text, &len);

    if (rc) {
        return rc;
    }
    rc = cg_grid_validate_geojson(text, len, &report, &err);
    free(text);
    if (as_json) {
        json_t *j = cg_grid_report_json(&report);

        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
        putchar('\n');
        json_decref(j);
    } else if (rc) {
        cli_error(ctx, "%s: %s", path, err.message);
    } else {
        print_report(path, &report);
    }
    rc = rc || report.count ? CLI_FAIL : CLI_OK;
    cg_grid_report_release(&report);
    return rc;
}

int cmd_grid(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const flags[] = {"--json", NULL};
    unsigned fl = 0;
    int npos, rc = cli_parse(ctx, argc, argv, grid_help, flags, &fl, &npos);

    if (rc) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (npos == 0) {
        cli_error(ctx, "expected a subcommand (see 'civgrid grid --help')");
        return CLI_USAGE;
    }
    if (strcmp(argv[0], "validate")) {
        cli_error(ctx, "unknown subcommand '%s' (see 'civgrid grid --help')", argv[0]);
        return CLI_USAGE;
    }
    if (npos != 2) {
        cli_error(ctx, "expected one GeoJSON file (see 'civgrid grid --help')");
        return CLI_USAGE;
    }
    return grid_validate(ctx, argv[1], fl & 1u);
}
