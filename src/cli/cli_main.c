/*
 * cli_main.c: civgrid's main(): global options, then dispatch to a subcommand
 * from the table below. A new capability adds its cmd_<area>.c and its rows.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/str.h"
#include "cli/cli.h"
#include "db/db.h"

#include <sys/stat.h>
#include <microhttpd.h>
#include <sodium.h>
#include <sqlite3.h>
#include <jansson.h>
#include <geos_c.h>

static int cmd_version(struct cli_ctx *ctx, int argc, char **argv);

static const struct cli_command commands[] = {
    {"init", cmd_init, "create the database (or bring it up to date)"},
    {"migrate", cmd_migrate, "apply pending schema migrations"},
    {"backup", cmd_backup, "write a consistent copy of the live database"},
    {"restore", cmd_restore, "replace the database with a checked backup"},
    {"check", cmd_check, "check database integrity, foreign keys, schema, audit and KPI roll-ups"},
    {"user", cmd_user, "manage accounts: add, list, passwd, disable, enable, unlock, role, demo"},
    {"audit", cmd_audit, "the audit trail: verify the hash chain, head, search, purge"},
    {"keys", cmd_keys, "the key ring of personal data: init, status, rotate"},
    {"grid", cmd_grid, "the grid map: validate, import and export GeoJSON"},
    {"demo", cmd_demo, "load a demo city (zhongshan: Guzhen; dongguan) from its real outline"},
    {"calendar", cmd_calendar, "the working calendar: show, import a year, hours, deadline"},
    {"catalogue", cmd_catalogue, "the event catalogue: import and export CSV, default classes"},
    {"kpi", cmd_kpi, "the KPI roll-ups: check them against the events, rebuild them"},
    {"version", cmd_version, "show versions of civgrid and its libraries"},
};

void cli_error(const struct cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "civgrid%s%s: ", ctx->cmd ? " " : "", ctx->cmd ? ctx->cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_parse(struct cli_ctx *ctx, int argc, char **argv, const char *help,
              const char *const *bool_flags, unsigned *out_flags, int *out_npos)
{
    int npos = 0;
    bool only_pos = false;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool known = false;

        if (only_pos || a[0] != '-' || !a[1]) {
            argv[npos++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = true;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help, stdout);
            return -1;
        }
        for (unsigned b = 0; bool_flags && bool_flags[b]; b++) {
            if (!strcmp(a, bool_flags[b])) {
                *out_flags |= 1u << b;
                known = true;
            }
        }
        if (!known) {
            cli_error(ctx, "unknown option '%s'", a);
            fprintf(stderr, "Try 'civgrid %s --help'.\n", ctx->cmd);
            return CLI_USAGE;
        }
    }
    *out_npos = npos;
    return 0;
}

int cli_parse_opts(struct cli_ctx *ctx, int argc, char **argv, const char *help,
                   const struct cli_opt *opts, char **pos, int max_pos, int *out_npos)
{
    *out_npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const struct cli_opt *o = opts;

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help, stdout);
            return -1;
        }
        while (o->name && strcmp(o->name, a)) {
            o++;
        }
        if (o->name && o->flag) {
            *o->flag = true;
        } else if (o->name) {
            if (i + 1 >= argc) {
                cli_error(ctx, "%s needs a value", a);
                return CLI_USAGE;
            }
            *o->value = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            cli_error(ctx, "unknown option '%s' (see 'civgrid %s --help')", a, ctx->cmd);
            return CLI_USAGE;
        } else if (*out_npos < max_pos) {
            pos[(*out_npos)++] = argv[i];
        } else {
            cli_error(ctx, "too many arguments (see 'civgrid %s --help')", ctx->cmd);
            return CLI_USAGE;
        }
    }
    return 0;
}

int cli_read_file(struct cli_ctx *ctx, const char *path, size_t max, char **out, size_t *out_len)
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
    if ((uint64_t)sb.st_size > max) {
        cli_error(ctx, "'%s' has %lld bytes, more than the %zu allowed", path,
                  (long long)sb.st_size, max);
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

int cli_open_db(struct cli_ctx *ctx, bool create, bool migrate, struct cg_db **out_db)
{
    struct cg_db_options opt;
    struct cg_error err = CG_ERROR_INIT;

    cg_db_options_init(&opt, ctx->cfg.db_path);
    opt.backend = ctx->cfg.db_backend;
    opt.create = create;
    opt.migrate = migrate;
    opt.sync = strcmp(ctx->cfg.db_synchronous, "normal") ? CG_DB_SYNC_FULL : CG_DB_SYNC_NORMAL;
    if (!create) {
        FILE *f = fopen(ctx->cfg.db_path, "rb");

        if (!f) {
            cli_error(ctx, "no database at '%s' (run 'civgrid init' first)", ctx->cfg.db_path);
            return CLI_FAIL;
        }
        fclose(f);
    }
    if (cg_db_open(&opt, out_db, &err)) {
        cli_error(ctx, "%s", err.message);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int cmd_version(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char help[] = "usage: civgrid version\n\nShows the versions of civgrid and "
                               "the libraries it runs on.\n";
    int npos, rc = cli_parse(ctx, argc, argv, help, NULL, NULL, &npos);

    if (rc) {
        return rc < 0 ? CLI_OK : rc;
    }
    printf("civgrid %s\n", CG_VERSION);
    printf("sqlite %s\nlibmicrohttpd %s\njansson %s\nlibsodium %s\ngeos %s\n", sqlite3_libversion(),
           MHD_get_version(), JANSSON_VERSION, sodium_version_string(), GEOSversion());
    return CLI_OK;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: civgrid [--config FILE] [--db PATH] COMMAND [ARGS]\n\n"
                 "civgrid administration tool (网格化社会治理平台).\n\n"
                 "global options:\n"
                 "  -c, --config FILE   settings file (default: $CIVGRID_CONFIG when set)\n"
                 "  -d, --db PATH       database file (setting db.path)\n"
                 "  -h, --help          show this help\n"
                 "  -V, --version       show the version\n\ncommands:\n");
    for (size_t i = 0; i < CG_ARRAY_LEN(commands); i++) {
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(out, "\nRun 'civgrid COMMAND --help' for a command's options.\n"
                 "Exit codes: 0 success, 1 failure, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    struct cli_ctx ctx = {0};
    struct cg_error err = CG_ERROR_INIT;
    const char *config_path = getenv("CIVGRID_CONFIG");
    const char *db_path = NULL;
    int i = 1, rc;

    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return CLI_OK;
        }
        if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            printf("civgrid %s\n", CG_VERSION);
            return CLI_OK;
        }
        if ((!strcmp(a, "-c") || !strcmp(a, "--config") || !strcmp(a, "-d") ||
             !strcmp(a, "--db")) &&
            i + 1 < argc) {
            if (a[1] == 'c' || a[2] == 'c') {
                config_path = argv[++i];
            } else {
                db_path = argv[++i];
            }
            continue;
        }
        fprintf(stderr, "civgrid: unknown or incomplete option '%s'\n", a);
        usage(stderr);
        return CLI_USAGE;
    }
    if (i >= argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    cg_config_init(&ctx.cfg);
    rc = config_path ? cg_config_load_file(&ctx.cfg, config_path, &err) : 0;
    rc = rc ? rc : cg_config_load_env(&ctx.cfg, &err);
    rc = rc || !db_path ? rc : cg_config_set(&ctx.cfg, "db.path", db_path, &err);
    if (rc) {
        fprintf(stderr, "civgrid: %s\n", err.message);
        cg_config_release(&ctx.cfg);
        return rc == CG_EINVAL ? CLI_USAGE : CLI_FAIL;
    }
    rc = -1;
    for (size_t c = 0; c < CG_ARRAY_LEN(commands); c++) {
        if (!strcmp(argv[i], commands[c].name)) {
            ctx.cmd = commands[c].name;
            rc = commands[c].fn(&ctx, argc - i - 1, argv + i + 1);
            break;
        }
    }
    if (rc < 0) {
        fprintf(stderr, "civgrid: unknown command '%s'\n", argv[i]);
        fprintf(stderr, "Run 'civgrid --help' for the list of commands.\n");
        rc = CLI_USAGE;
    }
    cg_config_release(&ctx.cfg);
    return rc;
}
