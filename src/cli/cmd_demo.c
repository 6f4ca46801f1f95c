/*
 * cmd_demo.c: "civgrid demo --city zhongshan|dongguan [--seed N] [--events N]"
 * loads a demo city (domain/grid/demo.h) into the database: its divisions and
 * grids through the ordinary import, its staff roster, and a few events taken
 * through the real workflow (domain/event/event.h) to different steps, so that
 * the command center has something to show.
 */
#include "base/cg.h"
#include "app/app.h"
#include "base/time.h"
#include "cli/cli.h"
#include "db/db.h"
#include "base/mem.h"
#include "domain/auth/auth.h"
#include "domain/calendar/calendar.h"
#include "domain/catalogue/catalogue.h"
#include "domain/event/event.h"
#include "domain/grid/demo.h"
#include "domain/grid/index.h"
#include "domain/pii/pii.h"

static const char demo_help[] =
    "usage: civgrid demo --city zhongshan|dongguan [--seed N] [--events N]\n\n"
    "Loads a demo city made from its real outline:\n"
    "  zhongshan  古镇镇 (442000105): 1 town, 13 villages, 68 grids, 958 grid workers\n"
    "  dongguan   东莞市: 36 towns, 590 villages, 2,894 grids, 9,889 grid workers\n"
    "Villages and grids are Voronoi cells clipped to the outline, numbered west\n"
    "to east, north to south; names, households and people are invented. The same\n"
    "seed (default 1) gives the same city. Creates the database when missing.\n"
    "--events N (default 0; make run asks for 150) reports N events at random points\n"
    "of the grids and takes each through the workflow to a random step, from just\n"
    "reported to closed.\n";

/* The demo's "system" actor: every event permission, the whole city. */
static void demo_actor(struct cg_principal *p)
{
    static const char *const perms[] = {"event.accept",  "event.close",     "event.dispatch",
                                        "event.handle",  "event.read",      "event.report",
                                        "event.resolve", "event.supervise", "event.verify"};

    memset(p, 0, sizeof(*p));
    snprintf(p->login, sizeof(p->login), "demo");
    p->scope_kind = CG_SCOPE_ALL;
    p->n_permissions = CG_ARRAY_LEN(perms);
    p->permissions = cg_calloc(p->n_permissions, sizeof(char *));
    for (size_t i = 0; i < p->n_permissions; i++) {
        p->permissions[i] = cg_strdup(perms[i]); /* already sorted */
    }
}

static uint64_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/*
 * Reports n events at random points inside the grids, of common classes, and
 * moves each through the workflow to a random step (all through the event
 * module, so their logs and deadlines are real). Returns 0 or a CG_E*.
 */
static int demo_events(struct cg_db *db, int n, uint64_t seed, int *out_made, struct cg_error *err)
{
    static const struct {
        const char *kind, *code, *title;
    } classes[] = {{"event", "0101", "沿街私搭乱建雨棚"}, {"event", "0102", "路边暴露垃圾"},
                   {"event", "0103", "积存建筑垃圾渣土"}, {"event", "0104", "道路不洁"},
                   {"social", "01002", "邻里噪音纠纷"},   {"social", "01010", "工厂欠薪劳动争议"}};
    static const char *const path[] = {"accept",   "file",       "dispatch", "sign",
                                       "feedback", "check_pass", "close"};
    static const char *const sources[] = {"patrol", "patrol", "patrol", "citizen", "hotline"};
    struct cg_grid_locator *grids = NULL;
    struct cg_calendar *cal = NULL;
    struct cg_events *ev;
    struct cg_principal actor;
    uint64_t rng = seed * 2654435761u + 7;
    double b[4];
    int rc = cg_grid_locator_new(db, &grids, err);

    *out_made = 0;
    rc = rc ? rc : cg_calendar_load(db, &cal, err);
    if (rc) {
        cg_grid_locator_free(grids);
        return rc;
    }
    ev = cg_events_new(db, grids, cal);
    demo_actor(&actor);
    {
        struct cg_grid_index *ix = cg_grid_locator_acquire(grids);

        cg_grid_index_bounds(ix, b);
        cg_grid_locator_release(grids, ix);
    }
    for (int i = 0; i < n && !rc; i++) {
        size_t c = next_rand(&rng) % CG_ARRAY_LEN(classes);
        struct cg_event_input in = {.source = sources[next_rand(&rng) % 5],
                                    .category_kind = classes[c].kind,
                                    .category_code = classes[c].code,
                                    .title = classes[c].title};
        json_t *out = NULL;
        int64_t id;
        int steps = (int)(next_rand(&rng) % (CG_ARRAY_LEN(path) + 1));
        struct cg_grid_index *ix = cg_grid_locator_acquire(grids);

        do { /* a point inside some grid */
            in.lon = b[0] + (b[2] - b[0]) * (double)(next_rand(&rng) % 1000000) / 1e6;
            in.lat = b[1] + (b[3] - b[1]) * (double)(next_rand(&rng) % 1000000) / 1e6;
        } while (cg_grid_index_locate(ix, in.lon, in.lat) < 0);
        cg_grid_locator_release(grids, ix);
        if (next_rand(&rng) % 4 == 0 && !strcmp(in.source, "patrol")) {
            in.kind = "self_resolved"; /* most are solved on the spot in Guzhen */
            in.note = "网格员现场处置";
        }
        rc = cg_event_report(ev, &actor, &in, "demo", &out, err);
        if (rc) {
            break;
        }
        id = json_integer_value(json_object_get(out, "id"));
        json_decref(out);
        for (int k = 0; k < steps && !in.kind; k++) {
            struct cg_event_action a = {.action = path[k]};

            if (!strcmp(path[k], "close") && strcmp(in.source, "patrol")) {
                a.action = "revisit"; /* citizen-sourced: the return visit closes it */
                a.satisfaction = 3 + (int)(next_rand(&rng) % 3);
            }
            rc = cg_event_act(ev, &actor, id, &a, "demo", &out, err);
            json_decref(out);
            if (rc) {
                break;
            }
        }
        (*out_made)++;
    }
    cg_principal_release(&actor);
    cg_events_free(ev);
    cg_calendar_release(cal);
    cg_grid_locator_free(grids);
    return rc;
}

int cmd_demo(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *city = NULL;
    uint64_t seed = 1;
    long events = 0;
    int made = 0;
    struct cg_grid_demo_stats st;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_pii_keys *keys = NULL;
    struct cg_db *db = NULL;
    bool created = false;
    int64_t t0 = cg_time_mono_ns();
    int rc;

    const char *seed_s = NULL, *events_s = NULL;
    const struct cli_opt opts[] = {{"--city", NULL, &city},
                                   {"--seed", NULL, &seed_s},
                                   {"--events", NULL, &events_s},
                                   {NULL, NULL, NULL}};
    char *pos[1];
    int npos = 0;

    rc = cli_parse_opts(ctx, argc, argv, demo_help, opts, pos, 0, &npos);
    if (rc) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (seed_s) {
        char *end = NULL;

        errno = 0;
        seed = strtoull(seed_s, &end, 10);
        if (errno || !*seed_s || *end || *seed_s == '-') {
            cli_error(ctx, "--seed takes a whole number");
            return CLI_USAGE;
        }
    }
    if (events_s) {
        char *end = NULL;

        errno = 0;
        events = strtol(events_s, &end, 10);
        if (errno || !*events_s || *end || events < 0 || events > 100000) {
            cli_error(ctx, "--events takes a number from 0 to 100000");
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
    if (!rc && events) {
        struct cg_catalogue_counts cc; /* the classes the events use, if init did not add them */

        rc = cg_catalogue_seed(db, NULL, false, &cc, &err);
        rc = rc ? rc : demo_events(db, (int)events, seed, &made, &err);
    }
    if (rc) {
        cli_error(ctx, "%s", err.message);
    } else {
        printf("loaded the %s demo (seed %" PRIu64 ") in %.1f s: %zu town%s (%.1f km2), "
               "%zu villages, %zu grids, %zu grid workers, %zu guiding officers\n",
               city, seed, (double)(cg_time_mono_ns() - t0) / 1e9, st.towns,
               st.towns == 1 ? "" : "s", st.town_area_m2 / 1e6, st.villages, st.grids, st.workers,
               st.guides);
        if (made) {
            printf("reported %d demo events and took them through the workflow\n", made);
        }
    }
    cg_pii_keys_free(keys);
    cg_db_close(db);
    return rc ? CLI_FAIL : CLI_OK;
}
