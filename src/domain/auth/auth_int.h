/*
 * auth_int.h: private to src/domain/auth: the module state and its store
 * functions (auth_store.c holds all of the module's SQL).
 */
#ifndef CG_AUTH_INT_H
#define CG_AUTH_INT_H

#include "base/cg.h"
#include "domain/auth/auth.h"

#include <pthread.h>

struct cg_conn;
struct cg_audit_entry;

#define THROTTLE_SLOTS 4096

struct throttle_slot {
    char key[96];          /* "ip:1.2.3.4" or "login:name"; "" when free */
    int failures;          /* consecutive failures */
    int64_t blocked_until; /* Unix ms */
    int64_t last;          /* Unix ms of the last failure */
};

struct cg_auth {
    struct cg_db *db;         /* borrowed */
    struct cg_pii_keys *keys; /* borrowed */
    struct cg_auth_policy policy;
    char dummy_hash[128]; /* verified for unknown logins: same work, same time */
    pthread_mutex_t throttle_lock;
    struct throttle_slot *throttle; /* THROTTLE_SLOTS entries */
    pthread_mutex_t hash_lock;      /* bounds concurrent argon2id runs */
    pthread_cond_t hash_cond;
    int hashing, max_hashing;
    struct cg_auth__cache *cache; /* owned: recently seen sessions (auth_cache.c) */
};

/* An account as sign-in needs it. */
struct cg_auth__login_row {
    int64_t id;
    char status[16];
    char password_hash[160];
    bool totp_enabled;
    char *totp_secret_enc; /* owned */
    int64_t totp_last_step;
    int64_t failed_logins;
    bool is_admin;
};

/* What a successful sign-in writes. */
struct cg_auth__login_ok {
    int64_t account_id;
    const char *login;
    char token_hash[65], csrf_hash[65];
    int64_t now, expires_at;
    int64_t totp_step;             /* > 0: the step to remember */
    const char *recovery_hash;     /* non-NULL: a recovery code to spend */
    const char *new_password_hash; /* non-NULL: rehash with current parameters */
    const char *remote, *user_agent;
    int64_t session_id; /* OUT */
};

struct cg_auth__session_row {
    int64_t session_id, account_id, last_seen_at, expires_at;
    char csrf_hash[65];
    char login[CG_AUTH_LOGIN_MAX * 4 + 1];
    char status[16];
    char scope_kind[16];
    char scope_ref[64];
    bool totp_enabled, must_change_password;
};

/* ---- auth_cache.c: recently seen sessions ----------------------------------------------- */

struct cg_auth__cache;
struct cg_auth__cache *cg_auth__cache_new(void);
void cg_auth__cache_free(struct cg_auth__cache *c); /* NULL-safe */
/* Says that accounts or sessions may have changed: cached principals are reloaded. */
void cg_auth__cache_changed(void);
uint64_t cg_auth__cache_generation(void);
/* Copies the cached row and principal of hash into row and p (p to release): true on a hit. */
bool cg_auth__cache_get(struct cg_auth__cache *c, const char *hash,
                        struct cg_auth__session_row *row, struct cg_principal *p);
/* Keeps a loaded session; gen is cg_auth__cache_generation() read before the load began. */
void cg_auth__cache_put(struct cg_auth__cache *c, const char *hash, uint64_t gen,
                        const struct cg_auth__session_row *row, const struct cg_principal *p);
/* The session's last_seen_at was written. */
void cg_auth__cache_touched(struct cg_auth__cache *c, const char *hash, int64_t last_seen_at);

int cg_auth__load_login(struct cg_db *db, const char *login, struct cg_auth__login_row *out,
                        struct cg_error *err);
int cg_auth__login_failed(struct cg_db *db, int64_t account_id, int disable_after,
                          const struct cg_audit_entry *audit, struct cg_error *err);
int cg_auth__login_succeeded(struct cg_db *db, struct cg_auth__login_ok *ok, struct cg_error *err);
int cg_auth__session_load(struct cg_db *db, const char *token_hash,
                          struct cg_auth__session_row *out, struct cg_error *err);
int cg_auth__session_touch(struct cg_db *db, int64_t session_id, int64_t now, struct cg_error *err);
int cg_auth__load_permissions(struct cg_db *db, struct cg_principal *p, struct cg_error *err);
/* Deletes session_id, or with all every session of account_id; audits as action. */
int cg_auth__sessions_end(struct cg_db *db, int64_t account_id, int64_t session_id, bool all,
                          const struct cg_audit_entry *audit, struct cg_error *err);

/* Deletes sessions that expired before now or were last seen before idle_before. */
int cg_auth__sessions_sweep(struct cg_db *db, int64_t now, int64_t idle_before,
                            int64_t *out_deleted, struct cg_error *err);

/* Re-encrypts account fields not under the current key, in one write. */
int cg_auth__rekey(struct cg_db *db, const struct cg_pii_keys *keys, int64_t *out_count,
                   struct cg_error *err);

/* Account writes, each one transaction with its audit record. */
struct cg_auth__account_new {
    const struct cg_account_input *in;
    const char *password_hash, *phone_enc, *phone_idx, *phone_mask;
    const char *scope_kind;
    bool must_change; /* created by an administrator: the password is theirs, not the user's */
    const struct cg_audit_entry *audit;
    int64_t id; /* OUT */
};
int cg_auth__account_insert(struct cg_db *db, struct cg_auth__account_new *a, struct cg_error *err);
/* The admin_kind of each role in roles ("" for business roles); CG_EINVAL for an unknown one. */
int cg_auth__role_kinds(struct cg_db *db, const char *const *roles, int n, char kinds[][16],
                        struct cg_error *err);
int cg_auth__account_json(struct cg_db *db, int64_t id, json_t **out, struct cg_error *err);
int cg_auth__account_scope(struct cg_db *db, int64_t id, char *kind, size_t kind_size, char *ref,
                           size_t ref_size, struct cg_error *err);
int cg_auth__account_is_admin(struct cg_db *db, int64_t id, bool *out, struct cg_error *err);
int cg_auth__roles_json(struct cg_db *db, json_t **out, struct cg_error *err);
int cg_auth__account_find(struct cg_db *db, const char *login, int64_t *out_id,
                          struct cg_error *err);
int cg_auth__account_list(struct cg_db *db, const struct cg_principal *actor,
                          const struct cg_account_query *q, json_t **out, int64_t *out_next,
                          struct cg_error *err);
int cg_auth__account_set_roles(struct cg_db *db, int64_t id, const char *const *roles, int n,
                               const char *kind, const char *ref,
                               const struct cg_audit_entry *audit, struct cg_error *err);
int cg_auth__account_set_status(struct cg_db *db, int64_t id, const char *status,
                                const struct cg_audit_entry *audit, struct cg_error *err);
int cg_auth__account_password(struct cg_db *db, int64_t id, const char *current_hash_check,
                              const char *hash, bool must_change, int64_t keep_session,
                              const struct cg_audit_entry *audit, struct cg_error *err);
int cg_auth__password_hash_of(struct cg_db *db, int64_t id, char *out, size_t size,
                              struct cg_error *err);
int cg_auth__phone_enc(struct cg_db *db, int64_t id, char **out_enc, struct cg_error *err);
int cg_auth__totp_store(struct cg_db *db, int64_t id, const char *secret_enc, bool enable,
                        const char *const *recovery_hashes, int n_recovery, int64_t step,
                        const struct cg_audit_entry *audit, struct cg_error *err);
int cg_auth__totp_secret(struct cg_db *db, int64_t id, char **out_enc, bool *out_enabled,
                         int64_t *out_last_step, struct cg_error *err);

#endif
