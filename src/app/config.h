/*
 * config.h: every setting of civgridd and civgrid, declared once in the table
 * of config.c (redis standardConfig). Precedence, lowest first: built-in
 * default < config file < environment (CIVGRID_HTTP_PORT for http.port) <
 * command line. Everything is validated before the server starts; nothing
 * reads the file or the environment afterwards.
 */
#ifndef CG_CONFIG_H
#define CG_CONFIG_H

#include "base/cg.h"
#include "base/err.h"

struct cg_str;

struct cg_config {
    /* http */
    char *http_address; /* listen address, IPv4 or IPv6 literal */
    int64_t http_port;
    int64_t http_threads;    /* I/O threads; 0 = one per core */
    int64_t http_workers;    /* threads that run write handlers (they wait on commits) */
    int64_t http_max_body;   /* bytes */
    int64_t http_max_upload; /* bytes, for CG_ROUTE_UPLOAD routes */
    int64_t http_max_header; /* bytes of request line plus headers per connection */
    int64_t http_max_connections;
    int64_t http_max_per_ip;
    int64_t http_idle_timeout;     /* seconds */
    int64_t http_shutdown_timeout; /* seconds to let in-flight requests finish */
    char *http_web_root;
    char *http_trusted_proxy;
    /* front proxy whose X-Real-IP names the client */ /* directory served at / */
    /* db */
    char *db_backend;
    char *db_path;
    char *db_synchronous; /* "full" or "normal" */
    int64_t db_max_batch;
    int64_t db_busy_timeout_ms;
    /* media */
    char *media_dir;         /* photos by content hash; relative: beside db_path */
    int64_t media_max_photo; /* bytes */
    /* auth */
    int64_t auth_argon2_ops;      /* argon2id passes (opslimit) */
    int64_t auth_argon2_mem_kib;  /* argon2id memory (memlimit), KiB */
    int64_t auth_session_max_age; /* seconds */
    int64_t auth_session_idle;    /* seconds */
    int64_t auth_lock_after;      /* failed sign-ins before growing delays */
    int64_t auth_disable_after;   /* consecutive failures that lock the account */
    int64_t auth_totp_admins;     /* 1: administrators must use a second factor */
    int64_t auth_cookie_secure;   /* 1: cookies carry Secure (behind TLS) */
    /* personal data */
    char *pii_key_file; /* key ring file, outside the database */
    char *pii_keys;     /* or the keys themselves ("1:hex,..."), from the environment */
    /* audit */
    int64_t audit_retention_days;
    /* log */
    int64_t grid_seq_width;      /* digits of a grid's sequence */
    int64_t event_sweep_seconds; /* between deadline sweeps */
    char *map_tile_url;          /* "" = no base map */
    char *map_tile_attribution;
    char *map_tile_crs; /* "wgs84" or "gcj02" */

    /* live map */
    int64_t live_max_subscribers; /* live map streams open at once */
    int64_t live_queue_kib;       /* unsent KiB a live stream may have before it is dropped */
    int64_t live_poll_ms;         /* between two polls of the change feeds */
    int64_t live_heartbeat_s;     /* a comment line to a quiet stream */
    int64_t live_max_stream_s;    /* a stream ends after this long; the browser reconnects */

    char *log_level;
    char *log_file; /* "" = stderr */
};

/* Fills cfg with the built-in defaults. Free with cg_config_release(). */
void cg_config_init(struct cg_config *cfg);
void cg_config_release(struct cg_config *cfg);

/* Sets key (e.g. "http.port") from text; CG_EINVAL with a message naming the key. */
int cg_config_set(struct cg_config *cfg, const char *key, const char *value,
                  struct cg_error *err) CG_MUST_CHECK;
/* Reads "key = value" lines ('#' starts a comment) from path. */
int cg_config_load_file(struct cg_config *cfg, const char *path,
                        struct cg_error *err) CG_MUST_CHECK;
/* Applies CIVGRID_<KEY> environment variables (dots become underscores, upper case). */
int cg_config_load_env(struct cg_config *cfg, struct cg_error *err) CG_MUST_CHECK;
/* Appends every setting as "key = value" lines to out. */
void cg_config_dump(const struct cg_config *cfg, struct cg_str *out);
/* Appends a help table of every setting (key, env variable, default, meaning) to out. */
void cg_config_describe(struct cg_str *out);

#endif
