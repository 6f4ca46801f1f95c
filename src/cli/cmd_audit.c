/*
 * cmd_audit.c: the audit trail from the command line: civgrid audit verify|
 * head|search|purge. Reading it needs no account here: whoever runs the CLI
 * holds the database file. Changing it is impossible except by purging what
 * is older than the retention period (never less than 180 days).
 */
#include "base/cg.h"
#include "cli/cli.h"
#include "db/db.h"
#include "domain/audit/audit.h"

static const char help_text[] =
    "usage: civgrid audit verify\n"
    "       civgrid audit head\n"
    "       civgrid audit search [--actor LOGIN] [--action PREFIX] [--result ok|denied|failed]\n"
    "                            [--from TIME] [--to TIME] [--limit N]\n"
    "       civgrid audit purge [--days N]\n\n"
    "verify  walks the hash chain and names the first broken record (exit 1)\n"
    "head    prints the newest record's id and hash, to keep outside the database\n"
    "search  prints matching records, newest first, one JSON object a line\n"
    "purge   deletes records older than N days (default: audit.retention_days)\n";

static int audit_verify(struct cli_ctx *ctx, struct cg_db *db)
{
    struct cg_error err = CG_ERROR_INIT;
    int64_t checked = 0, broken = 0;
    int rc = cg_audit_verify(db, &checked, &broken, &err);

    if (rc) {
        cli_error(ctx, "%s", err.message);
        return CLI_FAIL;
    }
    printf("audit chain intact: %" PRId64 " records\n", checked);
    return CLI_OK;
}

int cmd_audit(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cg_audit_query q = {.limit = 100};
    struct cg_error err = CG_ERROR_INIT;
    struct cg_db *db = NULL;
    const char *sub = argc ? argv[0] : NULL;
    int64_t days = ctx->cfg.audit_retention_days;
    int rc;

    if (!sub || !strcmp(sub, "-h") || !strcmp(sub, "--help")) {
        fputs(help_text, sub ? stdout : stderr);
        return sub ? CLI_OK : CLI_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help_text, stdout);
            return CLI_OK;
        }
        if (!v || a[0] != '-') {
            cli_error(ctx, "unexpected argument '%s' (see 'civgrid audit --help')", a);
            return CLI_USAGE;
        }
        i++;
        if (!strcmp(a, "--actor")) {
            q.actor_login = v;
        } else if (!strcmp(a, "--action")) {
            q.action = v;
        } else if (!strcmp(a, "--result")) {
            q.result = v;
        } else if (!strcmp(a, "--from")) {
            q.from = v;
        } else if (!strcmp(a, "--to")) {
            q.to = v;
        } else if (!strcmp(a, "--limit") || !strcmp(a, "--days")) {
            char *end = NULL;
            long long n = strtoll(v, &end, 10);

            if (*end || end == v || n < 1 || n > 36500) {
                cli_error(ctx, "bad number '%s' for %s", v, a);
                return CLI_USAGE;
            }
            if (a[2] == 'l') {
                q.limit = (int)n;
            } else {
                days = n;
            }
        } else {
            cli_error(ctx, "unknown option '%s' (see 'civgrid audit --help')", a);
            return CLI_USAGE;
        }
    }
    if (strcmp(sub, "verify") && strcmp(sub, "head") && strcmp(sub, "search") &&
        strcmp(sub, "purge")) {
        cli_error(ctx, "unknown subcommand '%s' (see 'civgrid audit --help')", sub);
        return CLI_USAGE;
    }
    rc = cli_open_db(ctx, false, true, &db);
    if (rc) {
        return rc;
    }
    if (!strcmp(sub, "verify")) {
        rc = audit_verify(ctx, db);
    } else if (!strcmp(sub, "head")) {
        int64_t id = 0;
        char hash[65];

        rc = cg_audit_head(db, &id, hash, &err);
        if (!rc) {
            printf("%" PRId64 " %s\n", id, hash);
        }
    } else if (!strcmp(sub, "search")) {
        json_t *records = NULL, *r;
        int64_t next = 0;
        size_t i;

        rc = cg_audit_search(db, &q, &records, &next, &err);
        json_array_foreach(records, i, r)
        {
            char *line = json_dumps(r, JSON_COMPACT);

            if (line) {
                puts(line);
                free(line);
            }
        }
        json_decref(records);
    } else {
        int64_t deleted = 0;

        rc = cg_audit_purge(db, (int)days, &deleted, &err);
        if (!rc) {
            printf("purged %" PRId64 " audit records older than %" PRId64 " days\n", deleted, days);
        }
    }
    if (rc && rc != CLI_FAIL) {
        cli_error(ctx, "%s", err.message);
        rc = CLI_FAIL;
    }
    cg_db_close(db);
    return rc;
}
