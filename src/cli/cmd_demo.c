/*
 * cmd_demo.c: "civgrid demo --city zhongshan|dongguan [--seed N]" loads a
 * demo city (domain/grid/demo.h) into the database: its divisions and grids
 * through the ordinary import, then its staff roster.
 */
#include "base/cg.h"
#include "app/app.h"
#include "base/time.h"
#include "cli/cli.h"
#include "db/db.h"
#include "domain/grid/demo.h"
#include "domain/pii/pii.h"

static const char demo_help[] =
    "usage: civgrid demo --city zhongshan|dongguan [--seed N]\n\n"
    "Loads a demo city made from its real outline:\n"
    "  zhongshan  古镇镇 (442000105): 1 town, 13 villages, 68 grids, 958 grid workers\n"
    "  dongguan   东莞市: 36 towns, 590 villages, 2,894 grids, 9,889 grid workers\n"
    "Villages and grids are Voronoi cells clipped to the outline, numbered west\n"
    "to east, north to south; names, households and people are invented. The same\n"
    "seed (default 1) gives the same city. Creates the database when missing.\n";

int cmd_demo(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *city = NULL;
    uint64_t seed = 1;
    struct cg_grid_demo_stats st;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_pii_keys *keys = NULL;
    struct cg_db *db = NULL;
    bool created = false;
    int64_t t0 = cg_time_mono_ns();
    int rc;

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(demo_help, stdout);
            return CLI_OK;
        }
        if (!strcmp(argv[i], "--city") && i + 1 < argc) {
            city = argv[++i];
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            char *end = NULL;

            errno = 0;
            seed = strtoull(argv[++i], &end, 10);
            if (errno || !*argv[i] || *end) {
                cli_error(ctx, "--seed takes a whole number");
                return CLI_USAGE;
            }
        } else {
            cli_error(ctx, "unexpected '%s' (see 'civgrid demo --help')", argv[i]);
            return CLI_USAGE;
        }
    }
    if (!city || (strcmp(city, "zhongshan") && strcmp(city, "dongguan"))) {
        cli_error(ctx, "give --city zhongshan or --city dongguan");
        return CLI_USAGE;
    }
    rc = cli_open_db(ctx, true, true, &db);
    if (rc) {
        return rc;
    }
    if (cg_app_load_keys(&ctx->cfg, true, &created, &keys, &err)) {
        cli_error(ctx, "%s", err.message);
        cg_db_close(db);
        return CLI_FAIL;
    }
    rc = cg_grid_demo_load(db, keys, city, seed, (int)ctx->cfg.grid_seq_width, &st, &err);
    if (rc) {
        cli_error(ctx, "%s", err.message);
    } else {
        printf("loaded the %s demo (seed %" PRIu64 ") in %.1f s: %zu town%s (%.1f km2), "
               "%zu villages, %zu grids, %zu grid workers, %zu guiding officers\n",
               city, seed, (double)(cg_time_mono_ns() - t0) / 1e9, st.towns,
               st.towns == 1 ? "" : "s", st.town_area_m2 / 1e6, st.villages, st.grids, st.workers,
               st.guides);
    }
    cg_pii_keys_free(keys);
    cg_db_close(db);
    return rc ? CLI_FAIL : CLI_OK;
}
