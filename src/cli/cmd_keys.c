/*
 * cmd_keys.c: the key ring of personal data (src/domain/pii): civgrid keys
 * init|status|rotate. Rotation adds key N+1 to the key file (new values are
 * encrypted with it from then on) and re-encrypts every stored value under
 * it; the old keys stay in the file, so a backup made before the rotation can
 * still be read. Key 1 also derives the blind indexes and is never removed.
 */
#include "base/cg.h"
#include "app/app.h"
#include "cli/cli.h"
#include "db/db.h"
#include "domain/auth/auth.h"
#include "domain/pii/pii.h"

static const char help_text[] =
    "usage: civgrid keys init\n"
    "       civgrid keys status\n"
    "       civgrid keys rotate\n\n"
    "init    creates the key file (pii.key_file) with one random key, if it is missing\n"
    "status  prints the key ids and which one encrypts new values\n"
    "rotate  adds a new key and re-encrypts every stored value with it; stop civgridd\n"
    "        first and restart it after, so that it loads the new key\n";

int cmd_keys(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cg_error err = CG_ERROR_INIT;
    struct cg_pii_keys *keys = NULL;
    const char *sub = argc ? argv[0] : NULL;
    const char *file = ctx->cfg.pii_key_file;
    int rc;

    if (!sub || !strcmp(sub, "-h") || !strcmp(sub, "--help")) {
        fputs(help_text, sub ? stdout : stderr);
        return sub ? CLI_OK : CLI_USAGE;
    }
    if (argc > 1) {
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
            fputs(help_text, stdout);
            return CLI_OK;
        }
        cli_error(ctx, "unexpected argument '%s'", argv[1]);
        return CLI_USAGE;
    }
    if (*ctx->cfg.pii_keys && strcmp(sub, "status")) {
        cli_error(ctx, "the keys come from pii.keys (environment): change them there");
        return CLI_USAGE;
    }
    if (!strcmp(sub, "init")) {
        if (cg_pii_keys_create(file, &err)) {
            cli_error(ctx, "%s", err.message);
            return CLI_FAIL;
        }
        printf("key file %s is ready; back it up apart from the database\n", file);
        return CLI_OK;
    }
    if (!strcmp(sub, "status")) {
        bool created = false;

        if (cg_app_load_keys(&ctx->cfg, false, &created, &keys, &err)) {
            cli_error(ctx, "%s", err.message);
            return CLI_FAIL;
        }
        printf("current key: %d (new values are encrypted with it)\n", cg_pii_keys_current(keys));
        cg_pii_keys_free(keys);
        return CLI_OK;
    }
    if (strcmp(sub, "rotate")) {
        cli_error(ctx, "unknown subcommand '%s' (see 'civgrid keys --help')", sub);
        return CLI_USAGE;
    }
    {
        struct cg_db *db = NULL;
        struct cg_auth *auth;
        struct cg_auth_policy policy;
        bool created = false;
        int64_t count = 0;
        int id = 0;

        rc = cli_open_db(ctx, false, true, &db);
        if (rc) {
            return rc;
        }
        if (cg_pii_keys_add(file, &id, &err) ||
            cg_app_load_keys(&ctx->cfg, false, &created, &keys, &err)) {
            cli_error(ctx, "%s", err.message);
            cg_db_close(db);
            return CLI_FAIL;
        }
        cg_app_auth_policy(&ctx->cfg, &policy);
        auth = cg_auth_new(db, keys, &policy);
        rc = cg_auth_rekey(auth, &count, &err);
        if (rc) {
            cli_error(ctx, "key %d added but re-encryption failed (run rotate again): %s", id,
                      err.message);
        } else {
            printf("added key %d and re-encrypted %" PRId64 " values; restart civgridd\n", id,
                   count);
        }
        cg_auth_free(auth);
        cg_db_close(db);
        cg_pii_keys_free(keys);
        return rc ? CLI_FAIL : CLI_OK;
    }
}
