/*
 * server_main.c: civgridd's main(). Settings -> log -> database (created and
 * migrated when needed) -> HTTP -> wait for SIGTERM/SIGINT -> graceful stop
 * (in-flight requests finish, queued writes commit) -> exit.
 */
#include "base/cg.h"
#include "app/app.h"
#include "app/config.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/audit/audit.h"
#include "domain/auth/auth.h"
#include "domain/catalogue/catalogue.h"
#include "domain/calendar/calendar.h"
#include "domain/event/event.h"
#include "domain/grid/index.h"
#include "domain/live/live.h"
#include "domain/patrol/patrol.h"
#include "domain/media/media.h"
#include "domain/pii/pii.h"
#include "http/http.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out)
{
    struct cg_str s = CG_STR_INIT;

    cg_config_describe(&s);
    fprintf(out,
            "usage: civgridd [options]\n"
            "\n"
            "civgrid server (网格化社会治理平台): serves the API and the web UI.\n"
            "\n"
            "options:\n"
            "  -c, --config FILE     read settings from FILE ('key = value' lines);\n"
            "                        default: $CIVGRID_CONFIG when set\n"
            "  -p, --port N          same as --set http.port=N\n"
            "  -d, --db PATH         same as --set db.path=PATH\n"
            "  -w, --web-root DIR    same as --set http.web_root=DIR\n"
            "  -l, --log-level LVL   same as --set log.level=LVL\n"
            "  -s, --set KEY=VALUE   set any setting (repeatable)\n"
            "      --print-config    print the effective settings and exit\n"
            "  -h, --help            show this help and exit\n"
            "  -V, --version         show the version and exit\n"
            "\n"
            "settings (precedence: default < file < environment < command line):\n%s"
            "\n"
            "Stops gracefully on SIGTERM or SIGINT: in-flight requests finish.\n",
            cg_str_ptr(&s));
    cg_str_release(&s);
}

static int set_kv(struct cg_config *cfg, const char *kv, struct cg_error *err)
{
    char key[64];
    const char *eq = strchr(kv, '=');

    if (!eq || (size_t)(eq - kv) >= sizeof(key)) {
        return cg_error_set(err, CG_EINVAL, "expected KEY=VALUE, got '%s'", kv);
    }
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    return cg_config_set(cfg, key, eq + 1, err);
}

/* Loads file and environment, then the command line over them. Returns 0, 1 or 2 (usage). */
static int load_settings(int argc, char **argv, struct cg_config *cfg, bool *print_config)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},    {"port", required_argument, NULL, 'p'},
        {"db", required_argument, NULL, 'd'},        {"web-root", required_argument, NULL, 'w'},
        {"log-level", required_argument, NULL, 'l'}, {"set", required_argument, NULL, 's'},
        {"print-config", no_argument, NULL, 'P'},    {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0},
    };
    const char *config_path = getenv("CIVGRID_CONFIG");
    struct cg_error err = CG_ERROR_INIT;
    int c, rc;

    /* First pass: --config, --help and --version, which decide what else happens. */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:p:d:w:l:s:hV", longopts, NULL)) != -1) {
        if (c == 'c') {
            config_path = optarg;
        } else if (c == 'h') {
            usage(stdout);
            exit(0);
        } else if (c == 'V') {
            printf("civgridd %s\n", CG_VERSION);
            exit(0);
        } else if (c == '?') {
            fprintf(stderr, "civgridd: unknown or incomplete option '%s'\n", argv[optind - 1]);
            fprintf(stderr, "Try 'civgridd --help'.\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "civgridd: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    rc = config_path ? cg_config_load_file(cfg, config_path, &err) : 0;
    rc = rc ? rc : cg_config_load_env(cfg, &err);
    optind = 1;
    while (!rc && (c = getopt_long(argc, argv, "c:p:d:w:l:s:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            rc = cg_config_set(cfg, "http.port", optarg, &err);
            break;
        case 'd':
            rc = cg_config_set(cfg, "db.path", optarg, &err);
            break;
        case 'w':
            rc = cg_config_set(cfg, "http.web_root", optarg, &err);
            break;
        case 'l':
            rc = cg_config_set(cfg, "log.level", optarg, &err);
            break;
        case 's':
            rc = set_kv(cfg, optarg, &err);
            break;
        case 'P':
            *print_config = true;
            break;
        default:
            break;
        }
    }
    if (rc) {
        fprintf(stderr, "civgridd: %s\n", err.message);
        return rc == CG_EINVAL ? 2 : 1;
    }
    return 0;
}

/*
 * Housekeeping, at start and then hourly: end expired sessions, purge audit
 * records past their retention, and publish the head of the audit chain in
 * the operational log, so that a later check can tell whether records at the
 * end of the chain were removed (the chain alone cannot show that). Every
 * event.sweep_seconds between rounds, the deadline sweep of the events
 * (yellow and red notices, 督办 of overdue events: cg_event_sweep()).
 */
struct housekeeping {
    struct cg_app *app;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
};

static void housekeeping_round(struct cg_app *app)
{
    struct cg_error err = CG_ERROR_INIT;
    int64_t sessions = 0, purged = 0, head_id = 0;
    char head[65] = "";

    if (cg_auth_sweep_sessions(app->auth, &sessions, &err)) {
        CG_LOG(CG_LOG_ERROR, "cannot sweep sessions: %s", err.message);
        cg_error_clear(&err);
    }
    if (cg_audit_purge(app->db, (int)app->cfg->audit_retention_days, &purged, &err)) {
        CG_LOG(CG_LOG_ERROR, "cannot purge the audit trail: %s", err.message);
        cg_error_clear(&err);
    }
    if (cg_audit_head(app->db, &head_id, head, &err)) {
        CG_LOG(CG_LOG_ERROR, "cannot read the audit head: %s", err.message);
    }
    cg_log_json(CG_LOG_INFO, "housekeeping",
                json_pack("{s:I, s:I, s:I, s:s}", "sessions_ended", (json_int_t)sessions,
                          "audit_purged", (json_int_t)purged, "audit_head_id", (json_int_t)head_id,
                          "audit_head_hash", head));
}

static void deadline_sweep(struct cg_app *app)
{
    struct cg_event_sweep_result r;
    struct cg_error err = CG_ERROR_INIT;

    if (cg_event_sweep(app->events, &r, &err)) {
        CG_LOG(CG_LOG_ERROR, "the deadline sweep failed: %s", err.message);
    } else if (r.yellow || r.red || r.supervised) {
        cg_log_json(CG_LOG_INFO, "deadline sweep",
                    json_pack("{s:I, s:I, s:I}", "yellow", (json_int_t)r.yellow, "red",
                              (json_int_t)r.red, "supervised", (json_int_t)r.supervised));
    }
}

static void *housekeeping_main(void *arg)
{
    struct housekeeping *h = arg;
    int64_t next_round = 0;

    pthread_mutex_lock(&h->lock);
    while (!h->stop) {
        struct timespec until;

        pthread_mutex_unlock(&h->lock);
        if (cg_time_mono_ns() >= next_round) {
            housekeeping_round(h->app);
            next_round = cg_time_mono_ns() + INT64_C(3600) * 1000000000;
        }
        deadline_sweep(h->app);
        pthread_mutex_lock(&h->lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += h->app->cfg->event_sweep_seconds;
        while (!h->stop && pthread_cond_timedwait(&h->cond, &h->lock, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

int main(int argc, char **argv)
{
    struct cg_config cfg;
    struct cg_app app = {0};
    struct cg_db_options dbo;
    struct cg_http_options ho;
    char tile_origin[256];
    struct cg_error err = CG_ERROR_INIT;
    sigset_t sigs;
    FILE *log_file = NULL;
    bool print_config = false;
    int rc, sig = 0;

    cg_config_init(&cfg);
    rc = load_settings(argc, argv, &cfg, &print_config);
    if (rc) {
        cg_config_release(&cfg);
        return rc;
    }
    if (print_config) {
        struct cg_str s = CG_STR_INIT;

        cg_config_dump(&cfg, &s);
        fputs(cg_str_ptr(&s), stdout);
        cg_str_release(&s);
        cg_config_release(&cfg);
        return 0;
    }
    cg_log_threshold = (enum cg_log_level)cg_log_level_parse(cfg.log_level);
    if (*cfg.log_file) {
        log_file = fopen(cfg.log_file, "a");
        if (!log_file) {
            fprintf(stderr, "civgridd: cannot open log file '%s': %s\n", cfg.log_file,
                    strerror(errno));
            cg_config_release(&cfg);
            return 1;
        }
        cg_log_set_stream(log_file);
    }

    /* Signals are taken by sigwait() below; every thread started from here blocks them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    app.cfg = &cfg;
    app.started_ms = cg_time_now_ms();
    app.started_mono_ns = cg_time_mono_ns();
    cg_db_options_init(&dbo, cfg.db_path);
    dbo.backend = cfg.db_backend;
    dbo.sync = strcmp(cfg.db_synchronous, "normal") ? CG_DB_SYNC_FULL : CG_DB_SYNC_NORMAL;
    dbo.max_batch = (int)cfg.db_max_batch;
    dbo.busy_timeout_ms = (int)cfg.db_busy_timeout_ms;
    rc = cg_db_open(&dbo, &app.db, &err);
    if (rc) {
        cg_log_json(CG_LOG_ERROR, "cannot open the database",
                    json_pack("{s:s, s:s}", "path", cfg.db_path, "detail", err.message));
        rc = 1;
        goto out;
    }

    {
        struct cg_auth_policy policy;
        bool created = false;

        rc = cg_app_load_keys(&cfg, true, &created, &app.keys, &err);
        if (rc) {
            cg_log_json(
                CG_LOG_ERROR, "cannot load the personal-data keys",
                json_pack("{s:s, s:s}", "key_file", cfg.pii_key_file, "detail", err.message));
            rc = 1;
            goto out;
        }
        if (created) {
            cg_log_json(CG_LOG_WARN,
                        "created a new key file for personal data: back it up apart "
                        "from the database, without it that data cannot be read",
                        json_pack("{s:s}", "key_file", cfg.pii_key_file));
        }
        cg_app_auth_policy(&cfg, &policy);
        app.auth = cg_auth_new(app.db, app.keys, &policy);
    }
    {
        int64_t t0 = cg_time_mono_ns();

        rc = cg_grid_locator_new(app.db, &app.grids, &err);
        if (rc) {
            cg_log_json(CG_LOG_ERROR, "cannot build the grid index",
                        json_pack("{s:s}", "detail", err.message));
            rc = 1;
            goto out;
        }
        {
            struct cg_grid_index *ix = cg_grid_locator_acquire(app.grids);

            cg_log_json(CG_LOG_INFO, "grid index built",
                        json_pack("{s:I, s:f}", "grids", (json_int_t)cg_grid_index_count(ix), "ms",
                                  (double)(cg_time_mono_ns() - t0) / 1e6));
            cg_grid_locator_release(app.grids, ix);
        }
    }
    {
        /* The default event catalogue: rows still missing are added, edits are kept. */
        struct cg_catalogue_counts cc;

        rc = cg_catalogue_seed(app.db, NULL, false, &cc, &err);
        if (rc) {
            cg_log_json(CG_LOG_ERROR, "cannot load the default event catalogue",
                        json_pack("{s:s}", "detail", err.message));
            rc = 1;
            goto out;
        }
        if (cc.added) {
            cg_log_json(CG_LOG_INFO, "default event catalogue loaded",
                        json_pack("{s:I}", "rows_added", (json_int_t)cc.added));
        }
    }

    ho.address = cfg.http_address;
    ho.port = (int)cfg.http_port;
    ho.threads = cfg.http_threads ? (int)cfg.http_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (ho.threads < 1) {
        ho.threads = 1;
    }
    ho.workers = (int)cfg.http_workers;
    ho.max_body = (size_t)cfg.http_max_body;
    ho.max_upload = (size_t)cfg.http_max_upload;
    ho.max_raw = (size_t)cfg.media_max_photo;
    ho.max_header = (size_t)cfg.http_max_header;
    ho.max_connections = (int)cfg.http_max_connections;
    ho.max_per_ip = (int)cfg.http_max_per_ip;
    ho.idle_timeout_s = (int)cfg.http_idle_timeout;
    ho.web_root = cfg.http_web_root;
    ho.trusted_proxy = cfg.http_trusted_proxy;
    rc = cg_calendar_load(app.db, &app.calendar, &err);
    if (rc) {
        cg_log_json(CG_LOG_ERROR, "cannot load the working calendar",
                    json_pack("{s:s}", "detail", err.message));
        rc = 1;
        goto out;
    }
    app.events = cg_events_new(app.db, app.grids, app.calendar);
    {
        int64_t t0 = cg_time_mono_ns();
        size_t n = 0;

        if (cg_events_warm(app.events, &n, &err)) {
            /* not fatal: the first report tries again */
            cg_log_json(CG_LOG_WARN, "cannot read the recent events into memory",
                        json_pack("{s:s}", "detail", err.message));
            cg_error_clear(&err);
        } else {
            cg_log_json(CG_LOG_INFO, "recent events read into memory",
                        json_pack("{s:I, s:I}", "events", (json_int_t)n, "ms",
                                  (json_int_t)((cg_time_mono_ns() - t0) / 1000000)));
        }
    }
    app.patrols = cg_patrols_new(app.db, app.grids, app.events);
    {
        struct cg_live_options lo = {(int)cfg.live_max_subscribers,
                                     (size_t)cfg.live_queue_kib * 1024, (int)cfg.live_poll_ms,
                                     (int)cfg.live_heartbeat_s * 1000, (int)cfg.live_max_stream_s};

        rc = cg_live_start(app.db, app.calendar, &lo, &app.live, &err);
        if (rc) {
            cg_log_json(CG_LOG_ERROR, "cannot start the live map",
                        json_pack("{s:s}", "detail", err.message));
            rc = 1;
            goto out;
        }
    }
    if (cg_patrols_load(app.patrols, &err)) {
        cg_log_json(CG_LOG_ERROR, "cannot load the workers' positions",
                    json_pack("{s:s}", "detail", err.message));
        rc = 1;
        goto out;
    }
    /* A relative media.dir lies beside the database file. */
    char media_dir[2100];

    cg_media_resolve_dir(cfg.db_path, cfg.media_dir, media_dir, sizeof(media_dir));
    rc =
        cg_media_open(app.db, app.events, media_dir, (size_t)cfg.media_max_photo, &app.media, &err);
    if (rc) {
        cg_log_json(CG_LOG_ERROR, "cannot open the media directory",
                    json_pack("{s:s}", "detail", err.message));
        rc = 1;
        goto out;
    }
    rc = cg_app_tile_origin(cfg.map_tile_url, tile_origin, sizeof(tile_origin), &err);
    if (rc) {
        cg_log_json(CG_LOG_ERROR, "bad setting", json_pack("{s:s}", "detail", err.message));
        rc = 1;
        goto out;
    }
    ho.img_source = tile_origin;
    ho.gate = cg_app_gate;
    ho.on_bad_body = cg_app_bad_body;
    ho.gate_ctx = &app;
    rc = cg_http_start(&ho, cg_routes, cg_routes_count, &app, &app.http, &err);
    if (rc) {
        cg_log_json(CG_LOG_ERROR, "cannot start the HTTP server",
                    json_pack("{s:s}", "detail", err.message));
        rc = 1;
        goto out;
    }
    cg_log_json(CG_LOG_INFO, "listening",
                json_pack("{s:s, s:s, s:i, s:i, s:s, s:s}", "version", CG_VERSION, "address",
                          cfg.http_address, "port", cg_http_port(app.http), "threads", ho.threads,
                          "db", cfg.db_path, "web_root", cfg.http_web_root));

    pthread_t hk_thread;
    struct housekeeping hk = {&app, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    bool hk_started = !pthread_create(&hk_thread, NULL, housekeeping_main, &hk);

    sigwait(&sigs, &sig);
    if (hk_started) {
        pthread_mutex_lock(&hk.lock);
        hk.stop = true;
        pthread_cond_signal(&hk.cond);
        pthread_mutex_unlock(&hk.lock);
        pthread_join(hk_thread, NULL);
    }
    cg_log_json(CG_LOG_INFO, "stopping",
                json_pack("{s:s, s:I}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                          "timeout_s", (json_int_t)cfg.http_shutdown_timeout));
    cg_http_stop(app.http, (int)cfg.http_shutdown_timeout);
    app.http = NULL;
    rc = 0;
out:
    cg_http_stop(app.http, 0);
    cg_live_stop(app.live); /* after the server: its streams are over */
    cg_auth_free(app.auth);
    cg_media_free(app.media);
    cg_patrols_free(app.patrols);
    cg_events_free(app.events);
    cg_calendar_release(app.calendar);
    cg_grid_locator_free(app.grids);
    cg_db_close(app.db);
    cg_pii_keys_free(app.keys);
    if (!rc) {
        cg_log_json(CG_LOG_INFO, "stopped", NULL);
    }
    cg_config_release(&cfg);
    if (log_file) {
        fclose(log_file);
    }
    return rc;
}
