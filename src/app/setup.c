/*
 * setup.c: turning settings into the running parts that the server and the
 * CLI share: the key ring of personal data and the accounts policy.
 */
#include "base/cg.h"
#include "app/app.h"
#include "app/config.h"
#include "domain/auth/auth.h"
#include "domain/pii/pii.h"

#include "base/str.h"

#include <ctype.h>
#include <unistd.h>

int cg_app_load_keys(const struct cg_config *cfg, bool create, bool *out_created,
                     struct cg_pii_keys **out_keys, struct cg_error *err)
{
    int rc;

    *out_created = false;
    if (*cfg->pii_keys) {
        return cg_pii_keys_parse(cfg->pii_keys, out_keys, err);
    }
    if (create && access(cfg->pii_key_file, F_OK)) {
        rc = cg_pii_keys_create(cfg->pii_key_file, err);
        if (rc) {
            return rc;
        }
        *out_created = true;
    }
    return cg_pii_keys_load(cfg->pii_key_file, out_keys, err);
}

void cg_app_auth_policy(const struct cg_config *cfg, struct cg_auth_policy *p)
{
    cg_auth_policy_defaults(p);
    p->argon2_ops = (uint64_t)cfg->auth_argon2_ops;
    p->argon2_mem = (size_t)cfg->auth_argon2_mem_kib * 1024;
    p->session_max_age_s = (int)cfg->auth_session_max_age;
    p->session_idle_s = (int)cfg->auth_session_idle;
    p->lock_after = (int)cfg->auth_lock_after;
    p->disable_after = (int)cfg->auth_disable_after;
    p->totp_required_for_admins = cfg->auth_totp_admins != 0;
}

int cg_app_tile_origin(const char *url, char *out, size_t size, struct cg_error *err)
{
    const char *host, *p;
    struct cg_str o = CG_STR_INIT_MAX(256);
    int rc = 0;

    *out = '\0';
    if (!*url) {
        return 0;
    }
    if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)) {
        return cg_error_field(err, CG_EINVAL, "map.tile_url",
                              "map.tile_url must start with https:// (or http://)");
    }
    if (!strstr(url, "{z}") || !strstr(url, "{x}") || !strstr(url, "{y}")) {
        return cg_error_field(err, CG_EINVAL, "map.tile_url",
                              "map.tile_url must contain {z}, {x} and {y}");
    }
    host = strstr(url, "//") + 2;
    cg_str_add(&o, url, (size_t)(host - url));
    for (p = host; *p && *p != '/'; p++) {
        if (!strncmp(p, "{s}", 3)) { /* subdomains a, b, c...: any subdomain */
            cg_str_addch(&o, '*');
            p += 2;
        } else if (isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':') {
            cg_str_addch(&o, *p);
        } else {
            rc = cg_error_field(err, CG_EINVAL, "map.tile_url",
                                "map.tile_url has a host that is not a plain name");
            break;
        }
    }
    if (!rc && (p == host || cg_str_len(&o) >= size)) {
        rc = cg_error_field(err, CG_EINVAL, "map.tile_url", "map.tile_url has no usable host");
    }
    if (!rc) {
        snprintf(out, size, "%s", cg_str_ptr(&o));
    }
    cg_str_release(&o);
    return rc;
}
