/*
 * auth.c: sign-in, sessions, the access decision and account rules. The SQL
 * is in auth_store.c; the audit records are written in the same transaction
 * as the change they record (src/domain/audit).
 */
#include "base/cg.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/str.h"
#include "base/time.h"
#include "domain/audit/audit.h"
#include "domain/auth/auth.h"
#include "domain/auth/auth_int.h"
#include "domain/auth/totp.h"
#include "domain/pii/pii.h"

#include <ctype.h>
#include <strings.h>
#include <sodium.h>
#include <unistd.h>

/* ---- policy and life cycle -------------------------------------------------------------- */

void cg_auth_policy_defaults(struct cg_auth_policy *p)
{
    p->argon2_ops = 2; /* OWASP: argon2id m=19 MiB, t=2, p=1 */
    p->argon2_mem = 19u << 20;
    p->session_max_age_s = 12 * 3600;
    p->session_idle_s = 30 * 60;
    p->lock_after = 5;
    p->disable_after = 10;
    p->totp_required_for_admins = true;
}

struct cg_auth *cg_auth_new(struct cg_db *db, struct cg_pii_keys *keys,
                            const struct cg_auth_policy *policy)
{
    struct cg_auth *a = cg_calloc(1, sizeof(*a));
    unsigned char pw[16];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    CG_ASSERT(sodium_init() >= 0);
    a->db = db;
    a->keys = keys;
    a->policy = *policy;
    a->throttle = cg_calloc(THROTTLE_SLOTS, sizeof(struct throttle_slot));
    a->cache = cg_auth__cache_new();
    pthread_mutex_init(&a->throttle_lock, NULL);
    pthread_mutex_init(&a->hash_lock, NULL);
    pthread_cond_init(&a->hash_cond, NULL);
    a->max_hashing = cores > 0 ? (int)cores : 1;
    /* A hash of a random password nobody knows, verified for unknown logins. */
    randombytes_buf(pw, sizeof(pw));
    CG_ASSERT(crypto_pwhash_str(a->dummy_hash, (const char *)pw, sizeof(pw), a->policy.argon2_ops,
                                a->policy.argon2_mem) == 0);
    return a;
}

void cg_auth_free(struct cg_auth *a)
{
    if (!a) {
        return;
    }
    pthread_cond_destroy(&a->hash_cond);
    pthread_mutex_destroy(&a->hash_lock);
    pthread_mutex_destroy(&a->throttle_lock);
    free(a->throttle);
    cg_auth__cache_free(a->cache);
    free(a);
}

void cg_principal_release(struct cg_principal *p)
{
    for (size_t i = 0; i < p->n_permissions; i++) {
        free(p->permissions[i]);
    }
    free(p->permissions);
    p->permissions = NULL;
    p->n_permissions = 0;
}

/*
 * argon2id is the expensive step of sign-in by design; at most one run per
 * core at a time, so a burst of sign-ins queues instead of starving the rest.
 */
static void hash_enter(struct cg_auth *a)
{
    pthread_mutex_lock(&a->hash_lock);
    while (a->hashing >= a->max_hashing) {
        pthread_cond_wait(&a->hash_cond, &a->hash_lock);
    }
    a->hashing++;
    pthread_mutex_unlock(&a->hash_lock);
}

static void hash_leave(struct cg_auth *a)
{
    pthread_mutex_lock(&a->hash_lock);
    a->hashing--;
    pthread_cond_signal(&a->hash_cond);
    pthread_mutex_unlock(&a->hash_lock);
}

static bool password_matches(struct cg_auth *a, const char *hash, const char *password)
{
    int rc;

    hash_enter(a);
    rc = crypto_pwhash_str_verify(hash, password, strlen(password));
    hash_leave(a);
    return rc == 0;
}

static int password_hash(struct cg_auth *a, const char *password, char out[128],
                         struct cg_error *err)
{
    int rc;

    hash_enter(a);
    rc = crypto_pwhash_str(out, password, strlen(password), a->policy.argon2_ops,
                           a->policy.argon2_mem);
    hash_leave(a);
    return rc ? cg_error_set(err, CG_ENOMEM, "cannot hash the password") : 0;
}

/* ---- tokens ----------------------------------------------------------------------------- */

static void new_token(char out[CG_AUTH_TOKEN_LEN + 1])
{
    unsigned char raw[32];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, CG_AUTH_TOKEN_LEN + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

/* Hex SHA-256 (BLAKE2b-256) of a token: what the database keeps instead of it. */
static void token_hash(const char *token, char out[65])
{
    unsigned char h[32];

    crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

/* ---- throttling of failed sign-ins ------------------------------------------------------ */

static struct throttle_slot *throttle_find(struct cg_auth *a, const char *key, bool create)
{
    uint64_t h = 1469598103934665603ull;
    int64_t now = cg_time_now_ms();
    struct throttle_slot *victim = NULL;

    for (const char *k = key; *k; k++) {
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    }
    for (size_t i = 0; i < 16; i++) {
        struct throttle_slot *s = &a->throttle[(h + i) % THROTTLE_SLOTS];

        if (!strcmp(s->key, key)) {
            return s;
        }
        /* Forget entries quiet for a day; reuse the oldest when the probe is full. */
        if (!s->key[0] || now - s->last > 86400000) {
            if (!victim || victim->key[0]) {
                victim = s;
            }
        } else if (!victim || (victim->key[0] && s->last < victim->last)) {
            victim = s;
        }
    }
    if (!create) {
        return NULL;
    }
    memset(victim, 0, sizeof(*victim));
    snprintf(victim->key, sizeof(victim->key), "%s", key);
    return victim;
}

/* Seconds the caller must still wait for key, 0 when free. */
static int throttle_wait(struct cg_auth *a, const char *key)
{
    struct throttle_slot *s;
    int wait = 0;
    int64_t now = cg_time_now_ms();

    pthread_mutex_lock(&a->throttle_lock);
    s = throttle_find(a, key, false);
    if (s && s->blocked_until > now) {
        wait = (int)((s->blocked_until - now + 999) / 1000);
    }
    pthread_mutex_unlock(&a->throttle_lock);
    return wait;
}

/* Counts a failure: from lock_after on, each one doubles the wait (30 s up to an hour). */
static void throttle_fail(struct cg_auth *a, const char *key)
{
    struct throttle_slot *s;
    int64_t now = cg_time_now_ms();

    pthread_mutex_lock(&a->throttle_lock);
    s = throttle_find(a, key, true);
    s->failures++;
    s->last = now;
    if (s->failures >= a->policy.lock_after) {
        int n = s->failures - a->policy.lock_after;
        int64_t delay = 30000ll << (n > 7 ? 7 : n);

        s->blocked_until = now + (delay > 3600000 ? 3600000 : delay);
    }
    pthread_mutex_unlock(&a->throttle_lock);
}

static void throttle_clear(struct cg_auth *a, const char *key)
{
    struct throttle_slot *s;

    pthread_mutex_lock(&a->throttle_lock);
    s = throttle_find(a, key, false);
    if (s) {
        memset(s, 0, sizeof(*s));
    }
    pthread_mutex_unlock(&a->throttle_lock);
}

/* ---- the access decision ---------------------------------------------------------------- */

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

bool cg_auth_has(const struct cg_principal *p, const char *permission)
{
    return p && p->n_permissions &&
           bsearch(&permission, p->permissions, p->n_permissions, sizeof(char *), cmp_str);
}

static bool grid_covers(const char *scope_prefix, const char *code)
{
    size_t n = strlen(scope_prefix);

    return n && code && !strncmp(code, scope_prefix, n);
}

int cg_auth_allow(const struct cg_principal *p, const char *permission,
                  const struct cg_auth_object *obj, struct cg_error *err)
{
    bool inside = false;

    if (!cg_auth_has(p, permission)) {
        return cg_error_set(err, CG_EFORBIDDEN, "your roles do not include '%s'", permission);
    }
    if (!obj) {
        return 0;
    }
    switch (p->scope_kind) {
    case CG_SCOPE_ALL:
        inside = true;
        break;
    case CG_SCOPE_GRID:
        inside = grid_covers(p->scope_ref, obj->grid_code);
        break;
    case CG_SCOPE_DEPARTMENT:
        inside = obj->department && !strcmp(obj->department, p->scope_ref);
        break;
    case CG_SCOPE_OWN:
        inside = obj->owner_id && obj->owner_id == p->account_id;
        break;
    }
    return inside
               ? 0
               : cg_error_set(err, CG_EFORBIDDEN, "'%s' is outside your area of work", permission);
}

int cg_auth_allow_filter(const struct cg_principal *p, const char *grid_prefix,
                         struct cg_error *err)
{
    if (!grid_prefix || !*grid_prefix || p->scope_kind == CG_SCOPE_ALL) {
        return 0;
    }
    if (p->scope_kind == CG_SCOPE_GRID && grid_covers(p->scope_ref, grid_prefix)) {
        return 0;
    }
    return cg_error_field(err, CG_EFORBIDDEN, "grid", "grid '%s' is outside your area of work",
                          grid_prefix);
}

/* ---- scopes and input rules ------------------------------------------------------------- */

static const char *const scope_names[] = {"all", "grid", "department", "own"};

const char *cg_auth_scope_kind_name(enum cg_scope_kind kind)
{
    return scope_names[kind];
}

int cg_auth_parse_scope(const char *text, enum cg_scope_kind *out_kind, char *ref, size_t size,
                        struct cg_error *err)
{
    const char *colon = text ? strchr(text, ':') : NULL;
    size_t klen = colon ? (size_t)(colon - text) : (text ? strlen(text) : 0);

    ref[0] = '\0';
    for (int k = 0; k < 4; k++) {
        if (strlen(scope_names[k]) != klen || strncmp(text, scope_names[k], klen)) {
            continue;
        }
        *out_kind = (enum cg_scope_kind)k;
        if (k == CG_SCOPE_ALL || k == CG_SCOPE_OWN) {
            return colon ? cg_error_field(err, CG_EINVAL, "scope", "scope '%s' takes no value",
                                          scope_names[k])
                         : 0;
        }
        if (!colon || !colon[1] || strlen(colon + 1) >= size) {
            return cg_error_field(err, CG_EINVAL, "scope",
                                  "scope '%s' needs a value, as in '%s:4420001050'", scope_names[k],
                                  scope_names[k]);
        }
        if (k == CG_SCOPE_GRID) {
            for (const char *c = colon + 1; *c; c++) {
                if (!isdigit((unsigned char)*c)) {
                    return cg_error_field(err, CG_EINVAL, "scope",
                                          "a grid scope is a division or grid code (digits)");
                }
            }
        } else if (!cg_utf8_valid(colon + 1, strlen(colon + 1))) {
            return cg_error_field(err, CG_EINVAL, "scope", "scope must be UTF-8 text");
        }
        snprintf(ref, size, "%s", colon + 1);
        return 0;
    }
    return cg_error_field(err, CG_EINVAL, "scope",
                          "scope must be 'all', 'grid:<code>', 'department:<name>' or 'own'");
}

/* Login names: 3-64 of letters, digits, '.', '_', '-' (ASCII), starting with a letter or digit. */
static int check_login(const char *login, struct cg_error *err)
{
    size_t n = login ? strlen(login) : 0;

    if (n < 3 || n > CG_AUTH_LOGIN_MAX) {
        return cg_error_field(err, CG_EINVAL, "login", "login name must have 3 to %d characters",
                              CG_AUTH_LOGIN_MAX);
    }
    if (!isalnum((unsigned char)login[0])) {
        return cg_error_field(err, CG_EINVAL, "login",
                              "login name must start with a letter or digit");
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)login[i];

        if (!(isalnum(c) || c == '.' || c == '_' || c == '-')) {
            return cg_error_field(err, CG_EINVAL, "login",
                                  "login name may hold only letters, digits, '.', '_' and '-'");
        }
    }
    return 0;
}

/* ASCII case-insensitive substring test. */
static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++) {
        if (!strncasecmp(hay, needle, n)) {
            return true;
        }
    }
    return false;
}

int cg_auth_check_password(const char *password, const char *login, struct cg_error *err)
{
    size_t n = password ? strlen(password) : 0;
    size_t chars;
    int classes = 0;
    bool lower = false, upper = false, digit = false, other = false;

    if (!password || !cg_utf8_valid(password, n)) {
        return cg_error_field(err, CG_EINVAL, "password", "password must be UTF-8 text");
    }
    chars = cg_utf8_count(password, n);
    if (chars < CG_AUTH_PASSWORD_MIN || chars > CG_AUTH_PASSWORD_MAX) {
        return cg_error_field(err, CG_EINVAL, "password", "password must have %d to %d characters",
                              CG_AUTH_PASSWORD_MIN, CG_AUTH_PASSWORD_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)password[i];

        if (c < 0x20 || c == 0x7f) {
            return cg_error_field(err, CG_EINVAL, "password",
                                  "password must not contain control characters");
        }
        lower |= islower(c) != 0;
        upper |= isupper(c) != 0;
        digit |= isdigit(c) != 0;
        other |= !isalnum(c);
    }
    classes = lower + upper + digit + other;
    if (classes < 3) {
        return cg_error_field(err, CG_EINVAL, "password",
                              "password must mix at least three of: lower case, upper case, "
                              "digits, other characters");
    }
    if (login && *login && contains_ci(password, login)) {
        return cg_error_field(err, CG_EINVAL, "password",
                              "password must not contain the login name");
    }
    return 0;
}

/* ---- sign-in ---------------------------------------------------------------------------- */

static void audit_login(struct cg_auth *a, int64_t account_id, const char *login,
                        const char *remote, const char *result, const char *detail)
{
    struct cg_audit_entry e = {account_id, login, remote, "auth.login",
                               "account",  NULL,  result, detail};
    struct cg_error aerr = CG_ERROR_INIT;

    if (cg_audit_record(a->db, &e, &aerr)) {
        CG_LOG(CG_LOG_ERROR, "cannot write the audit record of a sign-in: %s", aerr.message);
    }
}

static int verify_second_factor(struct cg_auth *a, struct cg_auth__login_row *row,
                                const struct cg_login_request *in, struct cg_auth__login_ok *ok,
                                char recovery_hash[65], struct cg_error *err)
{
    char *secret_b32 = NULL;
    uint8_t key[64];
    size_t key_len = 0;
    int rc;

    if (in->recovery_code && *in->recovery_code) {
        char norm[64];
        size_t j = 0;

        /* Recovery codes are shown as XXXXX-XXXXX; accept any case and spacing. */
        for (const char *c = in->recovery_code; *c && j + 1 < sizeof(norm); c++) {
            if (isalnum((unsigned char)*c)) {
                norm[j++] = (char)toupper((unsigned char)*c);
            }
        }
        norm[j] = '\0';
        token_hash(norm, recovery_hash);
        ok->recovery_hash = recovery_hash;
        return 0; /* spent (or refused) in the same transaction as the session */
    }
    if (!in->totp_code || !*in->totp_code) {
        return cg_error_set(err, CG_EMFA, NULL);
    }
    rc = cg_pii_decrypt(a->keys, "totp", row->totp_secret_enc, &secret_b32, err);
    if (rc) {
        return rc;
    }
    rc = cg_totp_base32_decode(secret_b32, key, sizeof(key), &key_len);
    cg_pii_free_plain(secret_b32);
    if (rc) {
        return cg_error_set(err, CG_EINTERNAL, "stored second factor is unreadable");
    }
    rc = cg_totp_verify(key, key_len, in->totp_code, cg_time_now_ms() / 1000, 1,
                        row->totp_last_step, &ok->totp_step, err);
    sodium_memzero(key, sizeof(key));
    return rc;
}

int cg_auth_login(struct cg_auth *a, const struct cg_login_request *in, struct cg_login_result *out,
                  struct cg_error *err)
{
    struct cg_auth__login_row row = {0};
    struct cg_auth__login_ok ok = {0};
    char ip_key[96], login_key[96], recovery_hash[65], rehash[128];
    struct cg_error inner = CG_ERROR_INIT;
    bool found, password_ok;
    int wait, rc;

    memset(out, 0, sizeof(*out));
    if (!in->login || !in->password || !*in->login || !*in->password) {
        return cg_error_set(err, CG_EMISSING, "enter a login name and a password");
    }
    if (strlen(in->login) > CG_AUTH_LOGIN_MAX || strlen(in->password) > 4 * CG_AUTH_PASSWORD_MAX) {
        audit_login(a, 0, NULL, in->remote, "denied", "over-long login or password");
        return cg_error_set(err, CG_EINVAL, "login name or password too long");
    }
    snprintf(ip_key, sizeof(ip_key), "ip:%s", in->remote ? in->remote : "?");
    snprintf(login_key, sizeof(login_key), "login:%s", in->login);
    for (char *c = login_key; *c; c++) {
        *c = (char)tolower((unsigned char)*c);
    }
    wait = throttle_wait(a, login_key);
    if (throttle_wait(a, ip_key) > wait) {
        wait = throttle_wait(a, ip_key);
    }
    if (wait) {
        out->retry_after_s = wait;
        audit_login(a, 0, in->login, in->remote, "denied", "throttled after repeated failures");
        return cg_error_set(err, CG_ERATELIMIT, "too many failed sign-ins: try again in %d seconds",
                            wait);
    }

    rc = cg_auth__load_login(a->db, in->login, &row, &inner);
    if (rc && rc != CG_ENOTFOUND) {
        return cg_error_set(err, rc, "%s", inner.message);
    }
    found = rc == 0;
    /* Unknown names cost the same argon2id run as known ones. */
    password_ok = password_matches(a, found ? row.password_hash : a->dummy_hash, in->password);
    if (!found || !password_ok) {
        throttle_fail(a, ip_key);
        throttle_fail(a, login_key);
        if (found) {
            struct cg_audit_entry e = {row.id,    in->login, in->remote, "auth.login",
                                       "account", NULL,      "failed",   "wrong password"};

            (void)cg_auth__login_failed(a->db, row.id, a->policy.disable_after, &e, &inner);
        } else {
            audit_login(a, 0, in->login, in->remote, "failed", "unknown login name");
        }
        free(row.totp_secret_enc);
        return cg_error_set(err, CG_ECREDENTIALS, NULL);
    }
    if (strcmp(row.status, "active")) {
        audit_login(a, row.id, in->login, in->remote, "denied", row.status);
        free(row.totp_secret_enc);
        return cg_error_set(err, CG_EFORBIDDEN,
                            !strcmp(row.status, "locked")
                                ? "this account is locked: ask the security administrator"
                                : "this account is disabled");
    }
    if (row.totp_enabled) {
        rc = verify_second_factor(a, &row, in, &ok, recovery_hash, err);
        if (rc == CG_EMFA) {
            free(row.totp_secret_enc);
            return rc; /* not a failure: the client asks for the code next */
        }
        if (rc) {
            struct cg_audit_entry e = {
                row.id,    in->login, in->remote, "auth.login",
                "account", NULL,      "failed",   "wrong second-factor code"};

            throttle_fail(a, ip_key);
            throttle_fail(a, login_key);
            (void)cg_auth__login_failed(a->db, row.id, a->policy.disable_after, &e, &inner);
            free(row.totp_secret_enc);
            cg_error_clear(err);
            return cg_error_set(err, CG_EMFA, "the code is wrong, expired or already used");
        }
    }
    free(row.totp_secret_enc);

    /* Parameters were raised since this hash was made: upgrade it now that we know the password. */
    if (crypto_pwhash_str_needs_rehash(row.password_hash, a->policy.argon2_ops,
                                       a->policy.argon2_mem) &&
        !password_hash(a, in->password, rehash, &inner)) {
        ok.new_password_hash = rehash;
    }
    new_token(out->token);
    new_token(out->csrf);
    token_hash(out->token, ok.token_hash);
    token_hash(out->csrf, ok.csrf_hash);
    ok.account_id = row.id;
    ok.login = in->login;
    ok.now = cg_time_now_ms() / 1000;
    ok.expires_at = ok.now + a->policy.session_max_age_s;
    ok.remote = in->remote;
    ok.user_agent = in->user_agent;
    rc = cg_auth__login_succeeded(a->db, &ok, err);
    if (rc) {
        if (ok.recovery_hash) {
            struct cg_audit_entry e = {
                row.id,    in->login, in->remote, "auth.login",
                "account", NULL,      "failed",   "wrong or used recovery code"};

            throttle_fail(a, ip_key);
            throttle_fail(a, login_key);
            (void)cg_auth__login_failed(a->db, row.id, a->policy.disable_after, &e, &inner);
        }
        sodium_memzero(out, sizeof(*out));
        return rc;
    }
    /* The address keeps its count: one good sign-in must not hide spraying from it. */
    throttle_clear(a, login_key);
    out->account_id = row.id;
    out->expires_at_s = ok.expires_at;
    return 0;
}

/* ---- sessions --------------------------------------------------------------------------- */

static bool has_admin_role(const struct cg_principal *p)
{
    for (int i = 0; i < p->n_roles; i++) {
        if (!strcmp(p->roles[i], "sys_admin") || !strcmp(p->roles[i], "sec_admin") ||
            !strcmp(p->roles[i], "audit_admin")) {
            return true;
        }
    }
    return false;
}

/* Loads the session of hash and its account's principal from the database. */
static int session_load(struct cg_auth *a, const char *hash, struct cg_auth__session_row *row,
                        struct cg_principal *out, struct cg_error *err)
{
    int rc = cg_auth__session_load(a->db, hash, row, err);

    if (rc == CG_ENOTFOUND) {
        cg_error_clear(err);
        return cg_error_set(err, CG_EUNAUTH, "sign in again: the session has ended");
    }
    if (rc) {
        return rc;
    }
    out->account_id = row->account_id;
    out->session_id = row->session_id;
    snprintf(out->login, sizeof(out->login), "%s", row->login);
    snprintf(out->scope_ref, sizeof(out->scope_ref), "%s", row->scope_ref);
    out->scope_kind = CG_SCOPE_OWN;
    for (int k = 0; k < 4; k++) {
        if (!strcmp(row->scope_kind, scope_names[k])) {
            out->scope_kind = (enum cg_scope_kind)k;
        }
    }
    out->must_change_password = row->must_change_password;
    snprintf(out->csrf_hash, sizeof(out->csrf_hash), "%s", row->csrf_hash);
    rc = cg_auth__load_permissions(a->db, out, err);
    if (rc) {
        cg_principal_release(out);
        return rc;
    }
    qsort(out->permissions, out->n_permissions, sizeof(char *), cmp_str);
    out->must_enrol_totp =
        a->policy.totp_required_for_admins && !row->totp_enabled && has_admin_role(out);
    return 0;
}

int cg_auth_session(struct cg_auth *a, const char *token, struct cg_principal *out,
                    struct cg_error *err)
{
    struct cg_auth__session_row row;
    char hash[65];
    int64_t now = cg_time_now_ms() / 1000;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!token || strlen(token) != CG_AUTH_TOKEN_LEN) {
        return cg_error_set(err, CG_EUNAUTH, "sign in again: the session token is not valid");
    }
    token_hash(token, hash);
    if (!cg_auth__cache_get(a->cache, hash, &row, out)) {
        uint64_t gen = cg_auth__cache_generation(); /* before the load: see auth_cache.c */

        rc = session_load(a, hash, &row, out, err);
        if (rc) {
            return rc;
        }
        cg_auth__cache_put(a->cache, hash, gen, &row, out);
    }
    if (strcmp(row.status, "active") || now >= row.expires_at ||
        now - row.last_seen_at >= a->policy.session_idle_s) {
        cg_principal_release(out);
        memset(out, 0, sizeof(*out));
        return cg_error_set(err, CG_EUNAUTH, "sign in again: the session has expired");
    }
    if (now - row.last_seen_at >= 60) {
        rc = cg_auth__session_touch(a->db, row.session_id, now, err);
        if (rc) {
            cg_principal_release(out);
            return rc;
        }
        cg_auth__cache_touched(a->cache, hash, now);
    }
    return 0;
}

bool cg_auth_csrf_ok(struct cg_auth *a, const struct cg_principal *p, const char *csrf)
{
    char hash[65];

    (void)a;
    if (!csrf || strlen(csrf) != CG_AUTH_TOKEN_LEN) {
        return false;
    }
    token_hash(csrf, hash);
    return sodium_memcmp(hash, p->csrf_hash, 64) == 0;
}

int cg_auth_logout(struct cg_auth *a, const struct cg_principal *p, bool all, const char *remote,
                   struct cg_error *err)
{
    struct cg_audit_entry e = {
        p->account_id, p->login, remote, all ? "auth.logout_all" : "auth.logout",
        "account",     NULL,     "ok",   NULL};

    return cg_auth__sessions_end(a->db, p->account_id, p->session_id, all, &e, err);
}

int cg_auth_rekey(struct cg_auth *a, int64_t *out_count, struct cg_error *err)
{
    return cg_auth__rekey(a->db, a->keys, out_count, err);
}

int cg_auth_sweep_sessions(struct cg_auth *a, int64_t *out_deleted, struct cg_error *err)
{
    int64_t now = cg_time_now_ms() / 1000;

    return cg_auth__sessions_sweep(a->db, now, now - a->policy.session_idle_s, out_deleted, err);
}

/* ---- accounts --------------------------------------------------------------------------- */

static const char *actor_login(const struct cg_principal *actor)
{
    return actor ? actor->login : "(cli)";
}

static int64_t actor_id(const struct cg_principal *actor)
{
    return actor ? actor->account_id : 0;
}

/* Records a refusal that the route gate could not see: an object outside the scope. */
static void audit_denied(struct cg_auth *a, const struct cg_principal *actor, const char *action,
                         const char *object_id, const char *why)
{
    struct cg_audit_entry e = {actor->account_id, actor->login, actor->remote, action,
                               "account",         object_id,    "denied",      why};
    struct cg_error aerr = CG_ERROR_INIT;

    if (cg_audit_record(a->db, &e, &aerr)) {
        CG_LOG(CG_LOG_ERROR, "cannot write the audit record of a refusal: %s", aerr.message);
    }
}

/*
 * Separation of duties: at most one of the three administrator roles, and an
 * administrator holds no business role (least privilege, 三权分立).
 */
static int check_roles(struct cg_auth *a, const char *const *roles, int n, struct cg_error *err)
{
    char kinds[CG_AUTH_MAX_ROLES][16];
    int admins = 0;
    int rc;

    if (n < 1 || n > CG_AUTH_MAX_ROLES) {
        return cg_error_field(err, CG_EINVAL, "roles", "give 1 to %d roles", CG_AUTH_MAX_ROLES);
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
            if (!strcmp(roles[i], roles[j])) {
                return cg_error_field(err, CG_EINVAL, "roles", "role '%s' is listed twice",
                                      roles[i]);
            }
        }
    }
    rc = cg_auth__role_kinds(a->db, roles, n, kinds, err);
    if (rc) {
        return rc;
    }
    for (int i = 0; i < n; i++) {
        admins += kinds[i][0] != '\0';
    }
    if (admins > 1) {
        return cg_error_field(err, CG_EINVAL, "roles",
                              "the system, security and audit administrators must be "
                              "different accounts");
    }
    if (admins == 1 && n > 1) {
        return cg_error_field(err, CG_EINVAL, "roles",
                              "an administrator account holds no other role");
    }
    return 0;
}

/* An administrator's scope is the whole city; a citizen's is their own items. */
static int check_scope_for_roles(const char *const *roles, int n, enum cg_scope_kind kind,
                                 struct cg_error *err)
{
    for (int i = 0; i < n; i++) {
        bool admin = !strcmp(roles[i], "sys_admin") || !strcmp(roles[i], "sec_admin") ||
                     !strcmp(roles[i], "audit_admin");

        if (admin && kind != CG_SCOPE_ALL) {
            return cg_error_field(err, CG_EINVAL, "scope", "administrators have scope 'all'");
        }
        if (!strcmp(roles[i], "citizen") && kind != CG_SCOPE_OWN) {
            return cg_error_field(err, CG_EINVAL, "scope", "citizens have scope 'own'");
        }
    }
    return 0;
}

static int check_text(const char *field, const char *s, size_t max, struct cg_error *err)
{
    size_t n = s ? strlen(s) : 0;

    if (!n || !cg_utf8_valid(s, n) || cg_utf8_count(s, n) > max) {
        return cg_error_field(err, CG_EINVAL, field, "'%s' must have 1 to %zu characters", field,
                              max);
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            return cg_error_field(err, CG_EINVAL, field, "'%s' must not hold control characters",
                                  field);
        }
    }
    return 0;
}

int cg_auth_account_create(struct cg_auth *a, const struct cg_principal *actor,
                           const struct cg_account_input *in, const char *remote, int64_t *out_id,
                           struct cg_error *err)
{
    struct cg_auth__account_new n = {.in = in};
    char hash[128], phone[32], idx[65], mask[32];
    char *phone_enc = NULL;
    int rc = check_login(in->login, err);

    rc = rc ? rc : check_text("display_name", in->display_name, CG_AUTH_NAME_MAX, err);
    rc = rc ? rc : cg_auth_check_password(in->password, in->login, err);
    rc = rc ? rc : check_roles(a, in->roles, in->n_roles, err);
    rc = rc ? rc : check_scope_for_roles(in->roles, in->n_roles, in->scope_kind, err);
    for (int i = 0; !rc && actor && i < in->n_roles; i++) {
        if (!strcmp(in->roles[i], "sys_admin") || !strcmp(in->roles[i], "sec_admin") ||
            !strcmp(in->roles[i], "audit_admin")) {
            rc = cg_error_field(err, CG_EFORBIDDEN, "roles",
                                "administrator accounts are created with the civgrid CLI");
        }
    }
    if (!rc && actor) {
        /* Nobody hands out a scope wider than their own. */
        struct cg_auth_object obj = {in->scope_ref, in->scope_ref, 0};

        if (actor->scope_kind != CG_SCOPE_ALL &&
            (in->scope_kind == CG_SCOPE_ALL || cg_auth_allow(actor, "user.create", &obj, err))) {
            rc = cg_error_field(err, CG_EFORBIDDEN, "scope", "that scope is wider than yours");
        }
    }
    if (!rc && in->phone && *in->phone) {
        struct cg_error perr = CG_ERROR_INIT;

        rc = cg_pii_normalize_phone(in->phone, phone, sizeof(phone), &perr);
        if (rc) {
            cg_error_field(err, rc, "phone", "%s", perr.message);
        }
        if (!rc) {
            rc = cg_pii_encrypt(a->keys, "phone", phone, strlen(phone), &phone_enc, err);
        }
        if (!rc) {
            cg_pii_blind_index(a->keys, "phone", phone, idx);
            cg_pii_mask_phone(phone, mask, sizeof(mask));
            n.phone_enc = phone_enc;
            n.phone_idx = idx;
            n.phone_mask = mask;
        }
        sodium_memzero(phone, sizeof(phone));
    }
    rc = rc ? rc : password_hash(a, in->password, hash, err);
    if (!rc) {
        struct cg_audit_entry e = {actor_id(actor), actor_login(actor), remote, "user.create",
                                   "account",       in->login,          "ok",   NULL};

        n.password_hash = hash;
        n.scope_kind = scope_names[in->scope_kind];
        n.must_change = actor != NULL;
        n.audit = &e;
        rc = cg_auth__account_insert(a->db, &n, err);
        if (rc == CG_ECONFLICT) {
            cg_error_clear(err);
            rc = cg_error_field(err, CG_ECONFLICT, "login", "login name '%s' is taken", in->login);
        }
    }
    free(phone_enc);
    if (!rc) {
        *out_id = n.id;
    }
    return rc;
}

int cg_auth_account_find(struct cg_auth *a, const char *login, int64_t *out_id,
                         struct cg_error *err)
{
    return cg_auth__account_find(a->db, login, out_id, err);
}

int cg_auth_account_list(struct cg_auth *a, const struct cg_principal *actor,
                         const struct cg_account_query *q, json_t **out, int64_t *out_next,
                         struct cg_error *err)
{
    int rc = cg_auth_allow_filter(actor, q->grid_prefix, err);

    if (rc) {
        audit_denied(a, actor, "user.read", q->grid_prefix, err->message);
    }
    if (!rc && (q->limit < 1 || q->limit > 500)) {
        rc = cg_error_field(err, CG_EINVAL, "limit", "limit must be from 1 to 500");
    }
    return rc ? rc : cg_auth__account_list(a->db, actor, q, out, out_next, err);
}

/* Is account id inside actor's scope? Accounts are placed by their own scope. */
static int account_in_scope(struct cg_auth *a, const struct cg_principal *actor, int64_t id,
                            const char *permission, struct cg_error *err)
{
    char kind[16], ref[64];
    struct cg_auth_object obj = {NULL, NULL, id};
    int rc = cg_auth__account_scope(a->db, id, kind, sizeof(kind), ref, sizeof(ref), err);

    if (rc || !actor) {
        return rc;
    }
    if (strcmp(permission, "user.read") && strcmp(permission, "user.unlock")) {
        bool target_admin = false;

        rc = cg_auth__account_is_admin(a->db, id, &target_admin, err);
        if (!rc && target_admin) {
            /* 三权分立: no administrator can disable, reset or re-role another one. */
            rc = cg_error_set(err, CG_EFORBIDDEN,
                              "administrator accounts are managed with the civgrid CLI");
        }
        if (rc) {
            return rc;
        }
    }
    if (actor->scope_kind == CG_SCOPE_ALL) {
        return cg_auth_allow(actor, permission, NULL, err);
    }
    if (!strcmp(kind, "grid")) {
        obj.grid_code = ref;
    } else if (!strcmp(kind, "department")) {
        obj.department = ref;
    }
    rc = cg_auth_allow(actor, permission, &obj, err);
    if (rc) {
        char idtext[24];

        snprintf(idtext, sizeof(idtext), "%" PRId64, id);
        audit_denied(a, actor, permission, idtext, err->message);
        /* Outside the scope, an account does not exist: ids cannot be probed. */
        cg_error_clear(err);
        return cg_error_set(err, CG_ENOTFOUND, "no account %" PRId64, id);
    }
    return 0;
}

int cg_auth_account_get(struct cg_auth *a, const struct cg_principal *actor, int64_t id,
                        json_t **out, struct cg_error *err)
{
    int rc =
        actor && actor->account_id != id ? account_in_scope(a, actor, id, "user.read", err) : 0;

    return rc ? rc : cg_auth__account_json(a->db, id, out, err);
}

int cg_auth_roles(struct cg_auth *a, json_t **out, struct cg_error *err)
{
    return cg_auth__roles_json(a->db, out, err);
}

int cg_auth_account_set_roles(struct cg_auth *a, const struct cg_principal *actor, int64_t id,
                              const char *const *roles, int n_roles, enum cg_scope_kind kind,
                              const char *scope_ref, const char *remote, struct cg_error *err)
{
    char detail[256];
    int rc;

    if (actor && actor->account_id == id) {
        return cg_error_set(err, CG_EFORBIDDEN, "nobody may change their own roles or scope");
    }
    rc = account_in_scope(a, actor, id, "user.role", err);
    rc = rc ? rc : check_roles(a, roles, n_roles, err);
    rc = rc ? rc : check_scope_for_roles(roles, n_roles, kind, err);
    if (!rc) {
        struct cg_str d = CG_STR_INIT_MAX(200);
        char idtext[24];
        struct cg_audit_entry e = {
            actor_id(actor), actor_login(actor), remote, "user.role", "account", idtext, "ok",
            detail};

        for (int i = 0; i < n_roles; i++) {
            cg_str_addf(&d, "%s%s", i ? "," : "roles=", roles[i]);
        }
        snprintf(detail, sizeof(detail), "%s scope=%s:%s", cg_str_ptr(&d), scope_names[kind],
                 scope_ref ? scope_ref : "");
        cg_str_release(&d);
        snprintf(idtext, sizeof(idtext), "%" PRId64, id);
        rc = cg_auth__account_set_roles(a->db, id, roles, n_roles, scope_names[kind],
                                        scope_ref ? scope_ref : "", &e, err);
    }
    return rc;
}

int cg_auth_account_set_status(struct cg_auth *a, const struct cg_principal *actor, int64_t id,
                               const char *status, const char *permission, const char *remote,
                               struct cg_error *err)
{
    char idtext[24];
    struct cg_audit_entry e = {
        actor_id(actor), actor_login(actor), remote, "user.status", "account", idtext, "ok",
        status};
    int rc;

    if (strcmp(status, "active") && strcmp(status, "locked") && strcmp(status, "disabled")) {
        return cg_error_field(err, CG_EINVAL, "status",
                              "status must be 'active', 'locked' or 'disabled'");
    }
    if (actor && actor->account_id == id) {
        return cg_error_set(err, CG_EFORBIDDEN,
                            "nobody may change the status of their own account");
    }
    rc = account_in_scope(a, actor, id, permission, err);
    if (!rc && actor) {
        /* unlock: locked -> active; disable/enable: active|locked -> disabled -> active. */
        json_t *acc = NULL;
        const char *cur;

        rc = cg_auth__account_json(a->db, id, &acc, err);
        cur = rc ? "" : json_string_value(json_object_get(acc, "status"));
        if (!rc && !strcmp(permission, "user.unlock") &&
            (strcmp(cur, "locked") || strcmp(status, "active"))) {
            rc = cg_error_set(err, CG_EBADSTATE, "only a locked account can be unlocked (it is %s)",
                              cur);
        } else if (!rc && !strcmp(permission, "user.disable") && !strcmp(status, "active") &&
                   strcmp(cur, "disabled")) {
            rc = cg_error_set(err, CG_EBADSTATE,
                              "only a disabled account can be enabled (it is %s)", cur);
        }
        json_decref(acc);
    }
    snprintf(idtext, sizeof(idtext), "%" PRId64, id);
    return rc ? rc : cg_auth__account_set_status(a->db, id, status, &e, err);
}

int cg_auth_account_set_password(struct cg_auth *a, const struct cg_principal *actor, int64_t id,
                                 const char *current, const char *password, const char *remote,
                                 struct cg_error *err)
{
    bool self = actor && actor->account_id == id;
    char hash[128], old_hash[160], idtext[24];
    struct cg_audit_entry e = {actor_id(actor),
                               actor_login(actor),
                               remote,
                               self ? "auth.password_change" : "user.password_reset",
                               "account",
                               idtext,
                               "ok",
                               NULL};
    json_t *acc = NULL;
    int rc;

    snprintf(idtext, sizeof(idtext), "%" PRId64, id);
    rc = self ? 0 : account_in_scope(a, actor, id, "user.password_reset", err);
    rc = rc ? rc : cg_auth__account_json(a->db, id, &acc, err);
    if (rc) {
        return rc;
    }
    rc = cg_auth_check_password(password, json_string_value(json_object_get(acc, "login")), err);
    json_decref(acc);
    if (!rc && self) {
        rc = cg_auth__password_hash_of(a->db, id, old_hash, sizeof(old_hash), err);
        if (!rc && (!current || !password_matches(a, old_hash, current))) {
            rc = cg_error_field(err, CG_EFORBIDDEN, "current_password",
                                "the current password is wrong");
        }
        if (!rc && password_matches(a, old_hash, password)) {
            rc = cg_error_field(err, CG_EINVAL, "password",
                                "the new password must differ from the current one");
        }
    }
    rc = rc ? rc : password_hash(a, password, hash, err);
    /* Self: other sessions end, this one stays; reset: every session ends, change required. */
    return rc ? rc
              : cg_auth__account_password(a->db, id, NULL, hash, !self,
                                          self ? actor->session_id : 0, &e, err);
}

int cg_auth_account_reveal_phone(struct cg_auth *a, const struct cg_principal *actor, int64_t id,
                                 const char *reason, const char *remote, char **out_phone,
                                 struct cg_error *err)
{
    char idtext[24], detail[300];
    char *enc = NULL;
    struct cg_audit_entry e = {
        actor_id(actor), actor_login(actor), remote, "user.reveal_phone", "account", idtext, "ok",
        detail};
    int rc = check_text("reason", reason, 200, err);

    snprintf(idtext, sizeof(idtext), "%" PRId64, id);
    if (!rc && cg_utf8_count(reason, strlen(reason)) < 4) {
        rc = cg_error_field(err, CG_EINVAL, "reason", "state why the number is needed");
    }
    rc = rc ? rc : account_in_scope(a, actor, id, "user.reveal", err);
    rc = rc ? rc : cg_auth__phone_enc(a->db, id, &enc, err);
    if (!rc && !enc) {
        rc = cg_error_set(err, CG_ENOTFOUND, "account %" PRId64 " has no phone number", id);
    }
    rc = rc ? rc : cg_pii_decrypt(a->keys, "phone", enc, out_phone, err);
    free(enc);
    if (!rc) {
        snprintf(detail, sizeof(detail), "reason: %s", reason);
        /* The reveal is only given once its audit record is durable. */
        rc = cg_audit_record(a->db, &e, err);
        if (rc) {
            cg_pii_free_plain(*out_phone);
            *out_phone = NULL;
        }
    }
    return rc;
}

/* ---- second factor ---------------------------------------------------------------------- */

int cg_auth_totp_begin(struct cg_auth *a, const struct cg_principal *p, char **out_secret,
                       char **out_uri, struct cg_error *err)
{
    uint8_t key[20];
    char b32[64];
    char *enc = NULL;
    bool enabled = false;
    int64_t last = 0;
    int rc = cg_auth__totp_secret(a->db, p->account_id, &enc, &enabled, &last, err);

    free(enc);
    enc = NULL;
    if (!rc && enabled) {
        rc = cg_error_set(err, CG_ECONFLICT, "a second factor is already set up");
    }
    if (rc) {
        return rc;
    }
    cg_totp_new_secret(key);
    cg_totp_base32_encode(key, sizeof(key), b32, sizeof(b32));
    rc = cg_pii_encrypt(a->keys, "totp", b32, strlen(b32), &enc, err);
    rc = rc ? rc : cg_auth__totp_store(a->db, p->account_id, enc, false, NULL, 0, 0, NULL, err);
    if (!rc) {
        *out_secret = cg_strdup(b32);
        *out_uri = cg_totp_uri(p->login, key, sizeof(key));
    }
    free(enc);
    sodium_memzero(key, sizeof(key));
    sodium_memzero(b32, sizeof(b32));
    return rc;
}

int cg_auth_totp_confirm(struct cg_auth *a, const struct cg_principal *p, const char *code,
                         const char *remote, json_t **out_codes, struct cg_error *err)
{
    char *enc = NULL, *b32 = NULL;
    uint8_t key[64];
    size_t key_len = 0;
    bool enabled = false;
    int64_t last = 0, step = 0;
    char codes[10][12], hashes[10][65];
    const char *hash_ptrs[10];
    struct cg_audit_entry e = {p->account_id, p->login, remote, "auth.totp_enrol",
                               "account",     NULL,     "ok",   NULL};
    int rc = cg_auth__totp_secret(a->db, p->account_id, &enc, &enabled, &last, err);

    if (!rc && (enabled || !enc)) {
        rc = cg_error_set(err, CG_ECONFLICT,
                          enabled ? "a second factor is already set up"
                                  : "start the set-up first (POST /api/v1/auth/totp)");
    }
    rc = rc ? rc : cg_pii_decrypt(a->keys, "totp", enc, &b32, err);
    if (!rc && cg_totp_base32_decode(b32, key, sizeof(key), &key_len)) {
        rc = cg_error_set(err, CG_EINTERNAL, "stored secret is unreadable");
    }
    rc = rc ? rc : cg_totp_verify(key, key_len, code, cg_time_now_ms() / 1000, 1, last, &step, err);
    if (!rc) {
        static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; /* no 0/O, 1/I */

        *out_codes = json_array();
        for (int i = 0; i < 10; i++) {
            char plain[11];

            for (int j = 0; j < 10; j++) {
                plain[j] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
            }
            plain[10] = '\0';
            snprintf(codes[i], sizeof(codes[i]), "%.5s-%.5s", plain, plain + 5);
            token_hash(plain, hashes[i]);
            hash_ptrs[i] = hashes[i];
            json_array_append_new(*out_codes, json_string(codes[i]));
        }
        rc = cg_auth__totp_store(a->db, p->account_id, enc, true, hash_ptrs, 10, step, &e, err);
        if (rc) {
            json_decref(*out_codes);
            *out_codes = NULL;
        }
    }
    sodium_memzero(key, sizeof(key));
    sodium_memzero(codes, sizeof(codes));
    cg_pii_free_plain(b32);
    free(enc);
    return rc;
}

void cg_auth_scopes_changed(void)
{
    cg_auth__cache_changed();
}
