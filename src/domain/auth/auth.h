/*
 * auth.h: accounts, roles, sessions and the one access decision of civgrid.
 *
 * Every endpoint asks cg_auth_allow() whether an account may perform a named
 * permission ("event.dispatch") on an object, given the object's place in the
 * grid tree. Roles and their permissions are data (tables role and
 * role_permission); scopes are subtrees of the grid hierarchy written as code
 * prefixes (a town's 9-digit code covers its villages and grids), a
 * department, or the account's own items.
 *
 * Passwords are hashed with argon2id (libsodium); session tokens are 256
 * random bits of which only a hash is stored; a session ends at its absolute
 * expiry, after its idle timeout, on logout, and when its password changes.
 */
#ifndef CG_AUTH_H
#define CG_AUTH_H

#include "base/cg.h"
#include "base/err.h"

#include <jansson.h>

struct cg_db;
struct cg_pii_keys;

#define CG_AUTH_LOGIN_MAX 64 /* characters */
#define CG_AUTH_NAME_MAX 64
#define CG_AUTH_PASSWORD_MIN 10
#define CG_AUTH_PASSWORD_MAX 128
#define CG_AUTH_MAX_ROLES 8
#define CG_AUTH_TOKEN_LEN 43 /* base64url of 32 bytes */

/* Tunables, from the settings table (auth.*). */
struct cg_auth_policy {
    uint64_t argon2_ops;   /* crypto_pwhash opslimit */
    size_t argon2_mem;     /* crypto_pwhash memlimit, bytes */
    int session_max_age_s; /* absolute lifetime of a session */
    int session_idle_s;    /* idle timeout */
    int lock_after;        /* failures before delays start */
    int disable_after;     /* consecutive failures that lock the account for good */
    bool totp_required_for_admins;
};
void cg_auth_policy_defaults(struct cg_auth_policy *p);

/* The module's state: policy, the key ring for sensitive fields, login throttles. */
struct cg_auth;
/* Creates the module; borrows db and keys for its whole life. Free with cg_auth_free(). */
struct cg_auth *cg_auth_new(struct cg_db *db, struct cg_pii_keys *keys,
                            const struct cg_auth_policy *policy);
void cg_auth_free(struct cg_auth *auth);

/* ---- who is asking ---------------------------------------------------------------------- */

enum cg_scope_kind { CG_SCOPE_ALL, CG_SCOPE_GRID, CG_SCOPE_DEPARTMENT, CG_SCOPE_OWN };

/* An authenticated account, as the access decision sees it. */
struct cg_principal {
    int64_t account_id;
    int64_t session_id;
    char login[CG_AUTH_LOGIN_MAX * 4 + 1];
    enum cg_scope_kind scope_kind;
    char scope_ref[64]; /* grid code prefix or department code */
    char roles[CG_AUTH_MAX_ROLES][24];
    int n_roles;
    char **permissions; /* owned, sorted: every permission of every role */
    size_t n_permissions;
    bool via_cookie;      /* authenticated by cookie: writes need the CSRF token */
    bool must_enrol_totp; /* an administrator without a second factor yet */
    bool must_change_password;
    char csrf_hash[65]; /* private: of the session's CSRF token */
    char remote[64];    /* the address the request came from, for the audit */
};
void cg_principal_release(struct cg_principal *p);

/* Where an object sits, for the scope check. Empty strings and 0 mean "not applicable". */
struct cg_auth_object {
    const char *grid_code; /* the grid (or division) the object belongs to */
    const char *department;
    int64_t owner_id; /* the account that owns it (citizen's own reports) */
};

/*
 * THE access decision. Returns 0 when p holds permission and, if obj is
 * given, obj lies inside p's scope; CG_EFORBIDDEN otherwise, with a message
 * that names the permission. Never touches the database.
 */
int cg_auth_allow(const struct cg_principal *p, const char *permission,
                  const struct cg_auth_object *obj, struct cg_error *err);
/* True when p holds permission (ignoring scope). */
bool cg_auth_has(const struct cg_principal *p, const char *permission);
/*
 * Checks that a list filter scope (a grid code prefix the caller asked for)
 * lies inside p's scope. NULL or "" asks for "everything I may see".
 */
int cg_auth_allow_filter(const struct cg_principal *p, const char *grid_prefix,
                         struct cg_error *err);

/* ---- sessions --------------------------------------------------------------------------- */

struct cg_login_request {
    const char *login, *password;
    const char *totp_code; /* NULL unless the account has a second factor */
    const char *recovery_code;
    const char *remote, *user_agent;
};

struct cg_login_result {
    char token[CG_AUTH_TOKEN_LEN + 1]; /* give to the client once; never stored */
    char csrf[CG_AUTH_TOKEN_LEN + 1];
    int64_t account_id;
    int64_t expires_at_s;
    int retry_after_s; /* set with CG_ERATELIMIT */
};

/*
 * Verifies credentials (and the second factor when enrolled) and opens a
 * session. Unknown logins and wrong passwords fail the same way
 * (CG_ECREDENTIALS) after the same work. CG_EMFA when a second factor is
 * needed and missing; CG_ERATELIMIT with retry_after_s while throttled;
 * CG_ECREDENTIALS for locked or disabled accounts too. Every outcome is audited.
 */
int cg_auth_login(struct cg_auth *auth, const struct cg_login_request *in,
                  struct cg_login_result *out, struct cg_error *err);

/*
 * Resolves a session token to its principal, enforcing expiry and idle
 * timeout and touching last_seen. CG_EUNAUTH when unknown, expired or idle.
 * Fills *out (release with cg_principal_release()).
 */
int cg_auth_session(struct cg_auth *auth, const char *token, struct cg_principal *out,
                    struct cg_error *err);
/* True when csrf matches the CSRF token of p's session. */
bool cg_auth_csrf_ok(struct cg_auth *auth, const struct cg_principal *p, const char *csrf);
/* Ends p's session, or every session of p's account when all. */
int cg_auth_logout(struct cg_auth *auth, const struct cg_principal *p, bool all, const char *remote,
                   struct cg_error *err);

/* Deletes expired and idle sessions; *out_deleted (may be NULL) gets the count. */
int cg_auth_sweep_sessions(struct cg_auth *auth, int64_t *out_deleted, struct cg_error *err);

/*
 * Re-encrypts every encrypted account field (phones, TOTP seeds) that is not
 * under the key ring's current key, in one transaction (key rotation, step 2).
 * *out_count receives how many values were re-encrypted.
 */
int cg_auth_rekey(struct cg_auth *auth, int64_t *out_count, struct cg_error *err);

/* ---- accounts --------------------------------------------------------------------------- */

struct cg_account_input {
    const char *login, *display_name, *password, *phone; /* phone may be NULL */
    const char *roles[CG_AUTH_MAX_ROLES];
    int n_roles;
    enum cg_scope_kind scope_kind;
    const char *scope_ref;
};

/* Parses "all", "grid:4420001050", "department:城管", "own" into kind and ref. */
int cg_auth_parse_scope(const char *text, enum cg_scope_kind *out_kind, char *ref, size_t size,
                        struct cg_error *err);
const char *cg_auth_scope_kind_name(enum cg_scope_kind kind);

/* Checks a password against the complexity rules; CG_EINVAL naming the rule broken. */
int cg_auth_check_password(const char *password, const char *login, struct cg_error *err);

/*
 * Creates an account. actor is the administrator doing it (NULL from the CLI,
 * which runs as the operating system's administrator). Checks every field,
 * the role combination (one administrator role at most, never with a business
 * role) and the password rules. Returns the new id through out_id.
 */
int cg_auth_account_create(struct cg_auth *auth, const struct cg_principal *actor,
                           const struct cg_account_input *in, const char *remote, int64_t *out_id,
                           struct cg_error *err);

/*
 * Returns account id as a new JSON object (masked phone, roles, scope, status).
 * With an actor, an account outside the actor's scope is CG_ENOTFOUND, as if
 * it did not exist. actor NULL: the CLI, which sees everything.
 */
int cg_auth_account_get(struct cg_auth *auth, const struct cg_principal *actor, int64_t id,
                        json_t **out, struct cg_error *err);
/* Every role with its labels and permissions, as a new JSON array. */
int cg_auth_roles(struct cg_auth *auth, json_t **out, struct cg_error *err);
/* Finds an account id by login; CG_ENOTFOUND. */
int cg_auth_account_find(struct cg_auth *auth, const char *login, int64_t *out_id,
                         struct cg_error *err);

struct cg_account_query {
    const char *grid_prefix; /* only accounts scoped inside this subtree */
    const char *status, *role;
    int64_t after_id; /* paging */
    int limit;
};
/* Lists accounts visible to actor (its scope) matching q, as a new JSON array. */
int cg_auth_account_list(struct cg_auth *auth, const struct cg_principal *actor,
                         const struct cg_account_query *q, json_t **out, int64_t *out_next,
                         struct cg_error *err);

/*
 * Changes roles and scope of account id. The actor may not change its own
 * roles or scope. Ends the account's sessions so the change takes effect.
 */
int cg_auth_account_set_roles(struct cg_auth *auth, const struct cg_principal *actor, int64_t id,
                              const char *const *roles, int n_roles, enum cg_scope_kind kind,
                              const char *scope_ref, const char *remote, struct cg_error *err);
/*
 * Sets status (active, locked, disabled) under permission (user.disable for
 * disabling and re-enabling, user.unlock for unlocking); disabling or locking
 * ends the account's sessions.
 */
int cg_auth_account_set_status(struct cg_auth *auth, const struct cg_principal *actor, int64_t id,
                               const char *status, const char *permission, const char *remote,
                               struct cg_error *err);
/*
 * Sets a new password. With actor == the account itself, current must match
 * and the other sessions end; with an administrator (or NULL: the CLI) the
 * account must change it at next sign-in and all its sessions end.
 */
int cg_auth_account_set_password(struct cg_auth *auth, const struct cg_principal *actor, int64_t id,
                                 const char *current, const char *password, const char *remote,
                                 struct cg_error *err);
/* Reveals the clear phone number of account id for a stated reason; audited. */
int cg_auth_account_reveal_phone(struct cg_auth *auth, const struct cg_principal *actor, int64_t id,
                                 const char *reason, const char *remote, char **out_phone,
                                 struct cg_error *err);

/*
 * Inside a running write job (w is the write connection): makes the grid
 * scope of account_id the subtree grid_prefix ("" leaves it only its own
 * items) and ends its sessions so the new scope applies at once. Used by the
 * grid module when staff assignments change (a worker's scope follows their
 * grid). Administrators' accounts are never changed: CG_EFORBIDDEN.
 */
struct cg_conn;
int cg_auth_follow_scope(struct cg_conn *w, int64_t account_id, const char *grid_prefix,
                         struct cg_error *err) CG_MUST_CHECK;
/* Call after the commit of a write that ran cg_auth_follow_scope(): sessions see it now. */
void cg_auth_scopes_changed(void);

/* ---- second factor ---------------------------------------------------------------------- */

/* Starts TOTP enrolment: a new secret (not yet active) as base32 and otpauth:// URI. */
int cg_auth_totp_begin(struct cg_auth *auth, const struct cg_principal *p, char **out_secret,
                       char **out_uri, struct cg_error *err);
/* Confirms enrolment with a first code; returns ten recovery codes (owned JSON array). */
int cg_auth_totp_confirm(struct cg_auth *auth, const struct cg_principal *p, const char *code,
                         const char *remote, json_t **out_codes, struct cg_error *err);

#endif
