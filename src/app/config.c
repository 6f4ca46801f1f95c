/*
 * config.c: the settings table and its loaders. Adding a setting means adding
 * one row to opts[] and one field to struct cg_config; parsing, bounds,
 * environment names, dumps and help text all come from the row.
 */
#include "base/cg.h"
#include "app/config.h"
#include "base/mem.h"
#include "base/str.h"

#include <ctype.h>

enum opt_type { OPT_INT, OPT_STR };

struct opt {
    const char *key;
    enum opt_type type;
    size_t offset;              /* of the field in struct cg_config */
    const char *def;            /* default, as text */
    int64_t min, max;           /* bounds for OPT_INT; max length for OPT_STR in max */
    const char *const *choices; /* allowed values for OPT_STR, NULL-terminated, or NULL */
    const char *help;
};

static const char *const sync_choices[] = {"full", "normal", NULL};
static const char *const level_choices[] = {"debug", "info", "warn", "error", "off", NULL};
static const char *const backend_choices[] = {"sqlite", NULL};
static const char *const crs_choices[] = {"wgs84", "gcj02", NULL};

#define F(field) offsetof(struct cg_config, field)
static const struct opt opts[] = {
    {"http.address", OPT_STR, F(http_address), "127.0.0.1", 0, 64, NULL, "listen address"},
    {"http.port", OPT_INT, F(http_port), "8080", 0, 65535, NULL, "listen port (0: any free port)"},
    {"http.threads", OPT_INT, F(http_threads), "0", 0, 256, NULL, "I/O threads (0: one per core)"},
    {"http.workers", OPT_INT, F(http_workers), "32", 1, 1024, NULL,
     "threads that run write requests while they wait for their commit"},
    {"http.max_body", OPT_INT, F(http_max_body), "1048576", 1024, 268435456, NULL,
     "largest request body in bytes"},
    {"http.max_upload", OPT_INT, F(http_max_upload), "67108864", 1024, 1073741824, NULL,
     "largest body of an upload route (GeoJSON import) in bytes"},
    {"http.max_header", OPT_INT, F(http_max_header), "16384", 4096, 1048576, NULL,
     "largest request line plus headers in bytes (larger: 431)"},
    {"http.max_connections", OPT_INT, F(http_max_connections), "1024", 1, 100000, NULL,
     "most open connections in all"},
    {"http.max_per_ip", OPT_INT, F(http_max_per_ip), "64", 1, 100000, NULL,
     "most open connections from one address"},
    {"http.idle_timeout", OPT_INT, F(http_idle_timeout), "30", 1, 3600, NULL,
     "seconds before an idle connection is closed"},
    {"http.shutdown_timeout", OPT_INT, F(http_shutdown_timeout), "10", 0, 600, NULL,
     "seconds in-flight requests get to finish on SIGTERM"},
    {"http.web_root", OPT_STR, F(http_web_root), "web/public", 0, 1024, NULL,
     "directory of the web UI served at /"},
    {"http.trusted_proxy", OPT_STR, F(http_trusted_proxy), "", 0, 64, NULL,
     "address of the front proxy (nginx) whose X-Real-IP header names the client"},
    {"db.backend", OPT_STR, F(db_backend), "sqlite", 0, 16, backend_choices, "database backend"},
    {"db.path", OPT_STR, F(db_path), "civgrid.db", 1, 1024, NULL, "SQLite database file"},
    {"db.synchronous", OPT_STR, F(db_synchronous), "full", 0, 16, sync_choices,
     "full: commits survive power loss; normal: survive a crash of the process"},
    {"db.max_batch", OPT_INT, F(db_max_batch), "256", 1, 100000, NULL,
     "most write requests grouped into one commit"},
    {"db.busy_timeout_ms", OPT_INT, F(db_busy_timeout_ms), "5000", 0, 600000, NULL,
     "milliseconds a connection waits for a database lock"},
    {"media.dir", OPT_STR, F(media_dir), "media", 1, 1024, NULL,
     "directory of the photos, by content hash (relative: beside the database file)"},
    {"media.max_photo", OPT_INT, F(media_max_photo), "10485760", 1024, 104857600, NULL,
     "largest photo in bytes (larger: 413 before the body is read)"},
    {"auth.argon2_ops", OPT_INT, F(auth_argon2_ops), "2", 1, 20, NULL,
     "argon2id passes per password hash"},
    {"auth.argon2_mem_kib", OPT_INT, F(auth_argon2_mem_kib), "19456", 8192, 4194304, NULL,
     "argon2id memory per password hash, KiB (19 MiB: OWASP's minimum)"},
    {"auth.session_max_age", OPT_INT, F(auth_session_max_age), "43200", 300, 2592000, NULL,
     "seconds a session lasts at most"},
    {"auth.session_idle", OPT_INT, F(auth_session_idle), "1800", 60, 86400, NULL,
     "seconds of inactivity that end a session"},
    {"auth.lock_after", OPT_INT, F(auth_lock_after), "5", 1, 100, NULL,
     "failed sign-ins (per account and per address) before delays start"},
    {"auth.disable_after", OPT_INT, F(auth_disable_after), "10", 2, 1000, NULL,
     "consecutive failed sign-ins that lock an account until the security admin unlocks it"},
    {"auth.totp_admins", OPT_INT, F(auth_totp_admins), "1", 0, 1, NULL,
     "1: the three administrators must set up a second factor (TOTP)"},
    {"auth.cookie_secure", OPT_INT, F(auth_cookie_secure), "0", 0, 1, NULL,
     "1: session cookies are marked Secure (set it behind TLS)"},
    {"pii.key_file", OPT_STR, F(pii_key_file), "civgrid.keys", 0, 1024, NULL,
     "key file for personal data (created on first start; keep it out of the database backups)"},
    {"pii.keys", OPT_STR, F(pii_keys), "", 0, 8192, NULL,
     "the keys themselves, 'N:hex,...' (overrides pii.key_file; give it by environment)"},
    {"audit.retention_days", OPT_INT, F(audit_retention_days), "365", 180, 36500, NULL,
     "days audit records are kept (the law asks for at least 180)"},
    {"grid.seq_width", OPT_INT, F(grid_seq_width), "3", 2, 4, NULL,
     "digits of the grid sequence after the 12-digit community code (3: 15-digit grid codes)"},
    {"event.sweep_seconds", OPT_INT, F(event_sweep_seconds), "60", 1, 3600, NULL,
     "seconds between deadline sweeps (yellow and red warnings, 督办 of overdue events)"},
    {"live.max_subscribers", OPT_INT, F(live_max_subscribers), "256", 1, 100000, NULL,
     "live map streams open at once (more: 503)"},
    {"live.queue_kib", OPT_INT, F(live_queue_kib), "256", 16, 65536, NULL,
     "KiB a live stream may have unsent; a client further behind is dropped"},
    {"live.poll_ms", OPT_INT, F(live_poll_ms), "500", 50, 10000, NULL,
     "milliseconds between two polls of the event log and positions for the live map"},
    {"live.heartbeat_s", OPT_INT, F(live_heartbeat_s), "15", 1, 3600, NULL,
     "seconds of quiet after which a live stream gets a comment line (finds clients gone)"},
    {"live.max_stream_s", OPT_INT, F(live_max_stream_s), "900", 10, 86400, NULL,
     "seconds a live stream lasts; the browser reconnects, with its session checked again"},
    {"map.tile_url", OPT_STR, F(map_tile_url), "", 0, 512, NULL,
     "base map tiles, e.g. https://host/{z}/{x}/{y}.png (empty: a blank background)"},
    {"map.tile_attribution", OPT_STR, F(map_tile_attribution), "", 0, 512, NULL,
     "credit line of the base map (with its 审图号 where the law asks for one)"},
    {"map.tile_crs", OPT_STR, F(map_tile_crs), "wgs84", 0, 8, crs_choices,
     "coordinates of the base map: wgs84 (天地图, CGCS2000) or gcj02 (高德, 腾讯)"},
    {"log.level", OPT_STR, F(log_level), "info", 0, 8, level_choices, "log threshold"},
    {"log.file", OPT_STR, F(log_file), "", 0, 1024, NULL, "log file (empty: standard error)"},
};
#undef F

static const struct opt *find_opt(const char *key)
{
    for (size_t i = 0; i < CG_ARRAY_LEN(opts); i++) {
        if (!strcmp(opts[i].key, key)) {
            return &opts[i];
        }
    }
    return NULL;
}

static int set_opt(struct cg_config *cfg, const struct opt *o, const char *value,
                   struct cg_error *err)
{
    char *field = (char *)cfg + o->offset;

    if (o->type == OPT_INT) {
        char *end = NULL;
        long long v;

        errno = 0;
        v = strtoll(value, &end, 10);
        if (errno || end == value || *end || v < o->min || v > o->max) {
            return cg_error_field(err, CG_EINVAL, o->key,
                                  "bad value for '%s': '%s' (an integer from %lld to %lld)", o->key,
                                  value, (long long)o->min, (long long)o->max);
        }
        *(int64_t *)(void *)field = v;
        return 0;
    }
    if ((int64_t)strlen(value) > o->max || (int64_t)strlen(value) < o->min) {
        return cg_error_field(err, CG_EINVAL, o->key,
                              "bad value for '%s': length %zu not in %lld..%lld", o->key,
                              strlen(value), (long long)o->min, (long long)o->max);
    }
    if (o->choices) {
        bool ok = false;

        for (const char *const *c = o->choices; *c; c++) {
            ok = ok || !strcmp(*c, value);
        }
        if (!ok) {
            return cg_error_field(err, CG_EINVAL, o->key, "bad value for '%s': '%s'", o->key,
                                  value);
        }
    }
    free(*(char **)(void *)field);
    *(char **)(void *)field = cg_strdup(value);
    return 0;
}

void cg_config_init(struct cg_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < CG_ARRAY_LEN(opts); i++) {
        int rc = set_opt(cfg, &opts[i], opts[i].def, NULL);

        CG_ASSERT(rc == 0); /* every default is within its own bounds */
    }
}

void cg_config_release(struct cg_config *cfg)
{
    for (size_t i = 0; i < CG_ARRAY_LEN(opts); i++) {
        if (opts[i].type == OPT_STR) {
            cg_freez((char *)cfg + opts[i].offset);
        }
    }
}

int cg_config_set(struct cg_config *cfg, const char *key, const char *value, struct cg_error *err)
{
    const struct opt *o = find_opt(key);

    if (!o) {
        return cg_error_field(err, CG_EINVAL, key, "unknown setting '%s'", key);
    }
    return set_opt(cfg, o, value, err);
}

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) {
        *--e = '\0';
    }
    return s;
}

int cg_config_load_file(struct cg_config *cfg, const char *path, struct cg_error *err)
{
    FILE *f = fopen(path, "r");
    char line[2048];
    int lineno = 0, rc = 0;

    if (!f) {
        return cg_error_set(err, CG_ENOTFOUND, "cannot open config file '%s': %s", path,
                            strerror(errno));
    }
    while (!rc && fgets(line, sizeof(line), f)) {
        char *s, *eq, *hash;

        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            rc = cg_error_set(err, CG_EINVAL, "%s:%d: line too long", path, lineno);
            break;
        }
        hash = strchr(line, '#');
        if (hash) {
            *hash = '\0';
        }
        s = trim(line);
        if (!*s) {
            continue;
        }
        eq = strchr(s, '=');
        if (!eq) {
            rc = cg_error_set(err, CG_EINVAL, "%s:%d: expected 'key = value'", path, lineno);
            break;
        }
        *eq = '\0';
        {
            struct cg_error e2 = CG_ERROR_INIT;

            rc = cg_config_set(cfg, trim(s), trim(eq + 1), &e2);
            if (rc) {
                cg_error_field(err, rc, e2.field, "%s:%d: %s", path, lineno, e2.message);
            }
        }
    }
    fclose(f);
    return rc;
}

/* "http.max_body" -> "CIVGRID_HTTP_MAX_BODY" */
static void env_name(const char *key, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "CIVGRID_");

    for (const char *k = key; *k && n + 1 < size; k++) {
        buf[n++] = *k == '.' ? '_' : (char)toupper((unsigned char)*k);
    }
    buf[n] = '\0';
}

int cg_config_load_env(struct cg_config *cfg, struct cg_error *err)
{
    char name[64];

    for (size_t i = 0; i < CG_ARRAY_LEN(opts); i++) {
        const char *v;

        env_name(opts[i].key, name, sizeof(name));
        v = getenv(name);
        if (v) {
            struct cg_error e2 = CG_ERROR_INIT;
            int rc = set_opt(cfg, &opts[i], v, &e2);

            if (rc) {
                return cg_error_field(err, rc, e2.field, "environment %s: %s", name, e2.message);
            }
        }
    }
    return 0;
}

void cg_config_dump(const struct cg_config *cfg, struct cg_str *out)
{
    for (size_t i = 0; i < CG_ARRAY_LEN(opts); i++) {
        const char *field = (const char *)cfg + opts[i].offset;

        if (opts[i].type == OPT_INT) {
            cg_str_addf(out, "%s = %lld\n", opts[i].key,
                        (long long)*(const int64_t *)(const void *)field);
        } else if (!strcmp(opts[i].key, "pii.keys")) {
            cg_str_addf(out, "%s = %s\n", opts[i].key,
                        **(char *const *)(const void *)field ? "(set, not shown)" : "");
        } else {
            cg_str_addf(out, "%s = %s\n", opts[i].key, *(char *const *)(const void *)field);
        }
    }
}

void cg_config_describe(struct cg_str *out)
{
    char name[64];

    for (size_t i = 0; i < CG_ARRAY_LEN(opts); i++) {
        env_name(opts[i].key, name, sizeof(name));
        cg_str_addf(out, "  %-22s %-30s default '%s'\n  %22s %s\n", opts[i].key, name, opts[i].def,
                    "", opts[i].help);
    }
}
