/*
 * cmd_catalogue.c: the event catalogue from the command line
 * (domain/catalogue/catalogue.h, docs/CATALOGUE.md): "civgrid catalogue
 * import" of a CSV table, "export" of the whole catalogue, and "defaults"
 * to add (or put back) the default classes built into civgrid.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/str.h"
#include "cli/cli.h"
#include "db/db.h"
#include "domain/catalogue/catalogue.h"

static const char catalogue_help[] =
    "usage: civgrid catalogue import [--dry-run] FILE.csv\n"
    "       civgrid catalogue export [FILE.csv]\n"
    "       civgrid catalogue defaults [--overwrite]\n\n"
    "import reads a catalogue table (UTF-8 CSV, one row per sub-class 小类; columns in\n"
    "docs/CATALOGUE.md), checks every row and applies it in one transaction: new\n"
    "classes and sub-classes are added, rows that differ are updated, rows the file\n"
    "does not name are kept. A file with any problem changes nothing; every problem\n"
    "is printed as 'line N: ...'. --dry-run only checks the file (no database needed).\n"
    "export writes the whole catalogue to FILE or standard output in the same format,\n"
    "so that it can be edited in a spreadsheet and imported again.\n"
    "defaults adds the default rows that are missing (the files of data/catalogue,\n"
    "built in); with --overwrite it also puts existing default rows back as they were.\n"
    "Exit codes: 0 success, 1 problems or failure, 2 usage error.\n";

static void print_counts(const char *what, const struct cg_catalogue_counts *c)
{
    printf("%s: %" PRId64 " sub-classes; %" PRId64 " rows added, %" PRId64 " updated, %" PRId64
           " unchanged\n",
           what, c->rows, c->added, c->updated, c->unchanged);
}

static int catalogue_import(struct cli_ctx *ctx, const char *path, bool dry_run)
{
    struct cg_str problems = CG_STR_INIT_MAX((size_t)1 << 20);
    struct cg_error err = CG_ERROR_INIT;
    struct cg_catalogue_counts counts = {0};
    struct cg_db *db = NULL;
    char *text = NULL;
    size_t len = 0;
    int64_t rows = 0;
    int rc = cli_read_file(ctx, path, CG_CATALOGUE_FILE_MAX, &text, &len);

    if (rc) {
        return rc;
    }
    if (dry_run) {
        rc = cg_catalogue_check_csv(text, len, &problems, &rows, &err);
        if (!rc) {
            printf("%s: %" PRId64 " sub-classes, no problems\n", path, rows);
        }
    } else {
        rc = cli_open_db(ctx, false, true, &db);
        if (rc) {
            free(text);
            return rc;
        }
        rc = cg_catalogue_import_csv(db, NULL, text, len, path, "cli", &problems, &counts, &err);
        if (!rc) {
            print_counts(path, &counts);
        }
        cg_db_close(db);
    }
    if (rc && cg_str_len(&problems)) {
        fputs(cg_str_ptr(&problems), stderr);
        cli_error(ctx, "%s has problems: nothing was imported", path);
    } else if (rc) {
        cli_error(ctx, "%s", err.message);
    }
    cg_str_release(&problems);
    free(text);
    return rc ? CLI_FAIL : CLI_OK;
}

static int catalogue_export(struct cli_ctx *ctx, const char *path)
{
    struct cg_str out = CG_STR_INIT_MAX((size_t)64 << 20);
    struct cg_error err = CG_ERROR_INIT;
    struct cg_db *db = NULL;
    int rc = cli_open_db(ctx, false, true, &db);

    if (rc) {
        return rc;
    }
    rc = cg_catalogue_export_csv(db, &out, &err);
    cg_db_close(db);
    if (rc) {
        cli_error(ctx, "%s", err.message);
    } else if (path && strcmp(path, "-")) {
        FILE *f = fopen(path, "wb");

        if (!f || fwrite(cg_str_ptr(&out), 1, cg_str_len(&out), f) != cg_str_len(&out) ||
            fclose(f)) {
            cli_error(ctx, "cannot write '%s': %s", path, strerror(errno));
            rc = 1;
        }
    } else {
        fwrite(cg_str_ptr(&out), 1, cg_str_len(&out), stdout);
    }
    cg_str_release(&out);
    return rc ? CLI_FAIL : CLI_OK;
}

static int catalogue_defaults(struct cli_ctx *ctx, bool overwrite)
{
    struct cg_error err = CG_ERROR_INIT;
    struct cg_catalogue_counts counts = {0};
    struct cg_db *db = NULL;
    int rc = cli_open_db(ctx, false, true, &db);

    if (rc) {
        return rc;
    }
    rc = cg_catalogue_seed(db, NULL, overwrite, &counts, &err);
    cg_db_close(db);
    if (rc) {
        cli_error(ctx, "%s", err.message);
        return CLI_FAIL;
    }
    print_counts("default catalogue", &counts);
    return CLI_OK;
}

int cmd_catalogue(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const flags[] = {"--dry-run", "--overwrite", NULL};
    unsigned f = 0;
    int npos = 0, rc = cli_parse(ctx, argc, argv, catalogue_help, flags, &f, &npos);
    const char *sub = npos ? argv[0] : NULL;

    if (rc) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (!sub) {
        cli_error(ctx, "expected a subcommand (see 'civgrid catalogue --help')");
        return CLI_USAGE;
    }
    if ((f & 1u) && strcmp(sub, "import")) {
        cli_error(ctx, "--dry-run goes with import");
        return CLI_USAGE;
    }
    if ((f & 2u) && strcmp(sub, "defaults")) {
        cli_error(ctx, "--overwrite goes with defaults");
        return CLI_USAGE;
    }
    if (!strcmp(sub, "import") && npos == 2) {
        return catalogue_import(ctx, argv[1], f & 1u);
    }
    if (!strcmp(sub, "export") && npos <= 2) {
        return catalogue_export(ctx, npos == 2 ? argv[1] : NULL);
    }
    if (!strcmp(sub, "defaults") && npos == 1) {
        return catalogue_defaults(ctx, f & 2u);
    }
    if (!strcmp(sub, "import") || !strcmp(sub, "export") || !strcmp(sub, "defaults")) {
        cli_error(ctx, "wrong arguments for '%s' (see 'civgrid catalogue --help')", sub);
        return CLI_USAGE;
    }
    cli_error(ctx, "unknown subcommand '%.40s' (import, export, defaults)", sub);
    return CLI_USAGE;
}
