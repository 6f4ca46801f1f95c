/*
 * cmd_kpi.c: the KPI roll-ups from the command line (domain/event/event.h,
 * docs/EVENTS.md "Roll-ups kept up to date"): "civgrid kpi check" compares
 * them with the events (read only) and "civgrid kpi rebuild" recomputes them
 * from the events in one write transaction, audited as "(cli)". civgrid check
 * runs the same comparison through cli_rollup_check().
 */
#include "base/cg.h"
#include "base/str.h"
#include "cli/cli.h"
#include "db/db.h"
#include "domain/event/event.h"

#define ROLLUP_LISTED 20 /* differing rows named; the rest are counted */

static const char kpi_help[] =
    "usage: civgrid kpi check [--db PATH]\n"
    "       civgrid kpi rebuild [--db PATH]\n\n"
    "The KPI roll-ups (table event_rollup, per China day and month) are kept up to date\n"
    "by triggers at every change of an event. check computes them again from the events\n"
    "and the log and compares them with the stored ones (the pending changes included),\n"
    "changing nothing: 'roll-ups ok: N rows' and exit 0, or the differing rows (target,\n"
    "bucket, area, key, counts expected and stored; the first 20 and how many more) and\n"
    "exit 1. rebuild empties the roll-ups and computes them from the events in one write\n"
    "transaction (an audit record 'kpi.rebuild'); safe while civgridd runs: readers see\n"
    "the roll-ups before or after. Run it after a restore, SQL run by hand or a bug.\n"
    "Exit codes: 0 success, 1 problems or failure, 2 usage error.\n";

struct listing {
    struct cg_str *out;
    const char *prefix;
    int64_t listed;
};

static void add_counts(struct cg_str *out, const struct cg_event_rollup_counts *c)
{
    cg_str_addf(out,
                "reported %" PRId64 " filed %" PRId64 " due %" PRId64 " closed %" PRId64
                " on_time %" PRId64 " rework %" PRId64 " self_resolved %" PRId64
                " revisits %" PRId64 " satisfaction %" PRId64,
                c->reported, c->filed, c->due, c->closed, c->on_time, c->rework, c->self_resolved,
                c->revisits, c->satisfaction);
}

static void list_diff(void *ctx, const struct cg_event_rollup_diff *d)
{
    struct listing *l = ctx;

    if (l->listed++ >= ROLLUP_LISTED) {
        return;
    }
    cg_str_addf(l->out, "%sroll-up dim %d lvl %d bucket %s area %s key '%s': expected ", l->prefix,
                d->dim, d->lvl, d->bucket, d->area, d->key);
    add_counts(l->out, &d->expected);
    cg_str_adds(l->out, "; stored ");
    add_counts(l->out, &d->stored);
    cg_str_adds(l->out, "\n");
}

int cli_rollup_check(struct cg_db *db, const char *prefix, struct cg_str *problems,
                     int64_t *out_rows, struct cg_error *err)
{
    struct listing l = {problems, prefix, 0};
    int64_t differ = 0;
    int rc = cg_event_rollup_check(db, list_diff, &l, out_rows, &differ, err);

    if (differ > ROLLUP_LISTED) {
        cg_str_addf(problems, "%s... and %" PRId64 " more differing roll-up rows\n", prefix,
                    differ - ROLLUP_LISTED);
    }
    return rc;
}

static int kpi_check(struct cli_ctx *ctx, struct cg_db *db)
{
    struct cg_str problems = CG_STR_INIT;
    struct cg_error err = CG_ERROR_INIT;
    int64_t rows = 0;
    int rc = cli_rollup_check(db, "", &problems, &rows, &err);

    if (rc == CG_ECONFLICT) {
        fputs(cg_str_ptr(&problems), stdout);
        cli_error(ctx, "%s", err.message);
    } else if (rc) {
        cli_error(ctx, "%s", err.message);
    } else {
        printf("roll-ups ok: %" PRId64 " rows\n", rows);
    }
    cg_str_release(&problems);
    return rc ? CLI_FAIL : CLI_OK;
}

static int kpi_rebuild(struct cli_ctx *ctx, struct cg_db *db)
{
    struct cg_error err = CG_ERROR_INIT;
    int64_t rows = 0;

    if (cg_event_rollup_rebuild(db, NULL, "cli", &rows, &err)) {
        cli_error(ctx, "%s", err.message);
        return CLI_FAIL;
    }
    printf("roll-ups rebuilt: %" PRId64 " rows\n", rows);
    return CLI_OK;
}

int cmd_kpi(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *db_path = NULL;
    const struct cli_opt opts[] = {{"--db", NULL, &db_path}, {NULL, NULL, NULL}};
    struct cg_error err = CG_ERROR_INIT;
    struct cg_db *db = NULL;
    char *pos[1];
    int npos = 0, rc = cli_parse_opts(ctx, argc, argv, kpi_help, opts, pos, 1, &npos);
    bool check = npos == 1 && !strcmp(pos[0], "check");

    if (rc) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (!npos) {
        cli_error(ctx, "expected a subcommand (see 'civgrid kpi --help')");
        return CLI_USAGE;
    }
    if (!check && strcmp(pos[0], "rebuild")) {
        cli_error(ctx, "unknown subcommand '%.40s' (check, rebuild)", pos[0]);
        return CLI_USAGE;
    }
    if (db_path && cg_config_set(&ctx->cfg, "db.path", db_path, &err)) {
        cli_error(ctx, "%s", err.message);
        return CLI_USAGE;
    }
    rc = cli_open_db(ctx, false, false, &db);
    if (rc) {
        return rc;
    }
    rc = check ? kpi_check(ctx, db) : kpi_rebuild(ctx, db);
    cg_db_close(db);
    return rc;
}
