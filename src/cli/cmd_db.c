/*
 * cmd_db.c: database life cycle: init, migrate, backup, restore, check (of the store, the
 * audit chain and the KPI roll-ups).
 */
#include "base/cg.h"
#include "base/str.h"
#include "cli/cli.h"
#include "db/db.h"
#include "domain/audit/audit.h"
#include "domain/catalogue/catalogue.h"
#include "domain/media/media.h"

#include <sys/stat.h>

static bool file_exists(const char *path)
{
    struct stat sb;

    return !stat(path, &sb);
}

int cmd_init(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char help[] =
        "usage: civgrid init\n\n"
        "Creates the database at db.path with the current schema and the default\n"
        "event catalogue. On an existing database it only applies pending migrations\n"
        "and adds the default catalogue rows that are missing.\n";
    struct cg_db *db = NULL;
    struct cg_db_info info;
    struct cg_error err = CG_ERROR_INIT;
    bool existed = file_exists(ctx->cfg.db_path);
    int npos, rc = cli_parse(ctx, argc, argv, help, NULL, NULL, &npos);

    if (rc) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (npos) {
        cli_error(ctx, "unexpected argument '%s'", argv[0]);
        return CLI_USAGE;
    }
    rc = cli_open_db(ctx, true, true, &db);
    if (rc) {
        return rc;
    }
    rc = cg_db_info(db, &info, &err);
    if (rc) {
        cli_error(ctx, "%s", err.message);
    } else {
        printf("%s %s (schema version %d)\n", existed ? "database ready:" : "created database",
               ctx->cfg.db_path, info.schema_version);
    }
    if (!rc) {
        struct cg_catalogue_counts cc;

        rc = cg_catalogue_seed(db, NULL, false, &cc, &err);
        if (rc) {
            cli_error(ctx, "%s", err.message);
        } else if (cc.added) {
            printf("event catalogue: %" PRId64 " default rows added\n", cc.added);
        }
    }
    cg_db_close(db);
    return rc ? CLI_FAIL : CLI_OK;
}

int cmd_migrate(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char help[] =
        "usage: civgrid migrate\n\n"
        "Applies pending schema migrations to the existing database at db.path,\n"
        "each in its own transaction. civgridd also does this when it starts.\n";
    struct cg_db *db = NULL;
    struct cg_error err = CG_ERROR_INIT;
    int applied = 0, npos, rc = cli_parse(ctx, argc, argv, help, NULL, NULL, &npos);

    if (rc) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (npos) {
        cli_error(ctx, "unexpected argument '%s'", argv[0]);
        return CLI_USAGE;
    }
    rc = cli_open_db(ctx, false, false, &db);
    if (rc) {
        return rc;
    }
    rc = cg_db_migrate(db, &applied, &err);
    if (rc) {
        cli_error(ctx, "%s", err.message);
    } else {
        printf("applied %d migration%s\n", applied, applied == 1 ? "" : "s");
    }
    cg_db_close(db);
    return rc ? CLI_FAIL : CLI_OK;
}

/* Copies the photos from into to and says what it did; 0 or CLI_FAIL. */
static int copy_media(struct cli_ctx *ctx, const char *from, const char *to)
{
    struct cg_error err = CG_ERROR_INIT;
    struct cg_media_copy st;

    if (cg_media_copy_dir(from, to, &st, &err)) {
        cli_error(ctx, "photos: %s", err.message);
        return CLI_FAIL;
    }
    printf("photos: %" PRId64 " files copied (%" PRId64 " bytes), %" PRId64
           " already there, into %s\n",
           st.copied, st.bytes, st.present, to);
    if (st.damaged) {
        cli_error(ctx,
                  "photos: %" PRId64 " files in %s do not match their hash (damaged on disk) "
                  "and were not copied",
                  st.damaged, from);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cmd_backup(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char help[] =
        "usage: civgrid backup DEST\n\n"
        "Writes a consistent copy of the database to DEST with SQLite's online\n"
        "backup API, then the photos (media.dir) into DEST.media/: only the files not\n"
        "there yet, each checked against its hash. Safe while civgridd is running; DEST\n"
        "appears only when complete. The key file of personal data is not copied: keep\n"
        "it apart (docs/SECURITY.md).\n";
    struct cg_db *db = NULL;
    struct cg_error err = CG_ERROR_INIT;
    char media[2100], dest_media[2100];
    int npos, rc = cli_parse(ctx, argc, argv, help, NULL, NULL, &npos);

    if (rc) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (npos != 1) {
        cli_error(ctx, "expected one destination file (see 'civgrid backup --help')");
        return CLI_USAGE;
    }
    rc = cli_open_db(ctx, false, false, &db);
    if (rc) {
        return rc;
    }
    rc = cg_db_backup(db, argv[0], &err);
    cg_db_close(db);
    if (rc) {
        cli_error(ctx, "%s", err.message);
        return CLI_FAIL;
    }
    printf("backed up %s to %s\n", ctx->cfg.db_path, argv[0]);
    /* After the database: every photo its copy names was on disk before its row committed. */
    cg_media_resolve_dir(ctx->cfg.db_path, ctx->cfg.media_dir, media, sizeof(media));
    snprintf(dest_media, sizeof(dest_media), "%s.media", argv[0]);
    return copy_media(ctx, media, dest_media);
}

int cmd_restore(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const flags[] = {"--yes", NULL};
    static const char help[] =
        "usage: civgrid restore [--yes] SRC\n\n"
        "Replaces the database at db.path with the backup SRC after checking the\n"
        "backup's integrity, then copies the photos of SRC.media/ (when there) into\n"
        "media.dir, keeping those already there. Stop civgridd first. Replacing an\n"
        "existing database needs --yes.\n";
    struct cg_error err = CG_ERROR_INIT;
    unsigned f = 0;
    int npos, rc = cli_parse(ctx, argc, argv, help, flags, &f, &npos);

    if (rc) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (npos != 1) {
        cli_error(ctx, "expected one backup file (see 'civgrid restore --help')");
        return CLI_USAGE;
    }
    if (file_exists(ctx->cfg.db_path) && !(f & 1)) {
        cli_error(ctx, "'%s' exists; add --yes to replace it with '%s'", ctx->cfg.db_path, argv[0]);
        return CLI_USAGE;
    }
    rc = cg_db_restore(argv[0], ctx->cfg.db_path, &err);
    if (rc) {
        cli_error(ctx, "%s", err.message);
        return CLI_FAIL;
    }
    printf("restored %s from %s\n", ctx->cfg.db_path, argv[0]);
    {
        char media[2100], src_media[2100];

        cg_media_resolve_dir(ctx->cfg.db_path, ctx->cfg.media_dir, media, sizeof(media));
        snprintf(src_media, sizeof(src_media), "%s.media", argv[0]);
        return file_exists(src_media) ? copy_media(ctx, src_media, media) : CLI_OK;
    }
}

int cmd_check(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char help[] =
        "usage: civgrid check\n\n"
        "Checks the database: page integrity, foreign keys, schema version, the\n"
        "hash chain of the audit trail (an edited or deleted record is named) and the\n"
        "KPI roll-ups against the events (as 'civgrid kpi check': differing rows named).\n"
        "Prints 'ok' and exits 0 when healthy; lists each problem and exits 1 otherwise.\n";
    struct cg_db *db = NULL;
    struct cg_str problems = CG_STR_INIT;
    struct cg_error err = CG_ERROR_INIT;
    int npos, rc = cli_parse(ctx, argc, argv, help, NULL, NULL, &npos);

    if (rc) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (npos) {
        cli_error(ctx, "unexpected argument '%s'", argv[0]);
        return CLI_USAGE;
    }
    rc = cli_open_db(ctx, false, false, &db);
    if (rc) {
        return rc;
    }
    rc = cg_db_check(db, &problems, &err);
    if (rc == 0 || rc == CG_ECONFLICT) {
        /* The audit trail is part of the database's health: an edit or a deletion shows. */
        struct cg_error aerr = CG_ERROR_INIT;
        int64_t checked = 0, broken = 0;
        int arc = cg_audit_verify(db, &checked, &broken, &aerr);

        if (arc) {
            cg_str_addf(&problems, "audit: %s\n", aerr.message);
            rc = CG_ECONFLICT;
        }
    }
    if (rc == 0 || rc == CG_ECONFLICT) {
        /* The KPI roll-ups must still agree with the events (civgrid kpi check). */
        struct cg_error kerr = CG_ERROR_INIT;
        int64_t rows = 0;

        if (cli_rollup_check(db, "kpi: ", &problems, &rows, &kerr)) {
            cg_str_addf(&problems, "kpi: %s\n", kerr.message);
            rc = CG_ECONFLICT;
        }
    }
    if (rc == CG_ECONFLICT) {
        fputs(cg_str_ptr(&problems), stdout);
        cli_error(ctx, "database '%s' has problems", ctx->cfg.db_path);
    } else if (rc) {
        cli_error(ctx, "%s", err.message);
    } else {
        printf("ok\n");
    }
    cg_str_release(&problems);
    cg_db_close(db);
    return rc ? CLI_FAIL : CLI_OK;
}
