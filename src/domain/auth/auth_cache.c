/*
 * auth_cache.c: the principals of recently seen sessions, so that a request does not
 * read its session, account, roles and permissions from the database every time
 * (two queries that were a third of the CPU of a report; docs/SECURITY.md, "Sessions").
 *
 * An entry is used for at most CACHE_TTL_MS, and only while no account or session has
 * changed since it was loaded: every write of the auth module that can change a
 * principal (sign-out, roles, status, password, second factor, scope, sweep) moves the
 * process-wide generation below once its write is committed, and an entry remembers the
 * generation read before its load began: an entry loaded before a commit is never used
 * after it (a load that began before and ended after it stored an older generation). So a
 * change made by this process is seen by the next request; a change made by another
 * process (the civgrid CLI on the same database) within CACHE_TTL_MS. The expiry and idle
 * checks run on the cached row at every request, as they did on the loaded one.
 *
 * The generation is one of the few named pieces of global state: the grid module
 * changes scopes inside its own write jobs (cg_auth_follow_scope), without a handle to
 * the auth module.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/time.h"
#include "domain/auth/auth_int.h"

#include <pthread.h>
#include <stdatomic.h>

#define CACHE_SLOTS 4096 /* direct-mapped by token hash; a power of two */
#define CACHE_LOCKS 64   /* slot i is guarded by lock i % CACHE_LOCKS */
#define CACHE_TTL_MS 1000

struct entry {
    char hash[65]; /* "" when empty */
    uint64_t gen;
    int64_t loaded_ms; /* monotonic */
    struct cg_auth__session_row row;
    struct cg_principal p; /* owned copy */
};

struct cg_auth__cache {
    pthread_mutex_t locks[CACHE_LOCKS];
    struct entry slots[CACHE_SLOTS];
};

static _Atomic uint64_t changes = 1;

void cg_auth__cache_changed(void)
{
    atomic_fetch_add(&changes, 1);
}

uint64_t cg_auth__cache_generation(void)
{
    return atomic_load(&changes);
}

struct cg_auth__cache *cg_auth__cache_new(void)
{
    struct cg_auth__cache *c = cg_calloc(1, sizeof(*c));

    for (int i = 0; i < CACHE_LOCKS; i++) {
        pthread_mutex_init(&c->locks[i], NULL);
    }
    return c;
}

void cg_auth__cache_free(struct cg_auth__cache *c)
{
    if (!c) {
        return;
    }
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        cg_principal_release(&c->slots[i].p);
    }
    for (int i = 0; i < CACHE_LOCKS; i++) {
        pthread_mutex_destroy(&c->locks[i]);
    }
    free(c);
}

/* The hash is hex BLAKE2b of a random token: its first characters are uniformly spread. */
static size_t slot_of(const char *hash)
{
    size_t x = 0;

    for (int i = 0; i < 8 && hash[i]; i++) {
        x = x * 16 + (size_t)(hash[i] <= '9' ? hash[i] - '0' : (hash[i] | 0x20) - 'a' + 10);
    }
    return x & (CACHE_SLOTS - 1);
}

/* A deep copy of p into out (out's own permissions are released first). */
static void principal_copy(struct cg_principal *out, const struct cg_principal *p)
{
    cg_principal_release(out);
    *out = *p;
    out->permissions = p->n_permissions ? cg_calloc(p->n_permissions, sizeof(char *)) : NULL;
    for (size_t i = 0; i < p->n_permissions; i++) {
        out->permissions[i] = cg_strdup(p->permissions[i]);
    }
}

bool cg_auth__cache_get(struct cg_auth__cache *c, const char *hash,
                        struct cg_auth__session_row *row, struct cg_principal *p)
{
    size_t i = slot_of(hash);
    struct entry *e = &c->slots[i];
    pthread_mutex_t *lock = &c->locks[i % CACHE_LOCKS];
    bool hit;

    pthread_mutex_lock(lock);
    hit = !strcmp(e->hash, hash) && e->gen == cg_auth__cache_generation() &&
          cg_time_mono_ns() / 1000000 - e->loaded_ms < CACHE_TTL_MS;
    if (hit) {
        *row = e->row;
        memset(p, 0, sizeof(*p));
        principal_copy(p, &e->p);
    }
    pthread_mutex_unlock(lock);
    return hit;
}

void cg_auth__cache_put(struct cg_auth__cache *c, const char *hash, uint64_t gen,
                        const struct cg_auth__session_row *row, const struct cg_principal *p)
{
    size_t i = slot_of(hash);
    struct entry *e = &c->slots[i];
    pthread_mutex_t *lock = &c->locks[i % CACHE_LOCKS];

    pthread_mutex_lock(lock);
    snprintf(e->hash, sizeof(e->hash), "%s", hash);
    e->gen = gen;
    e->loaded_ms = cg_time_mono_ns() / 1000000;
    e->row = *row;
    principal_copy(&e->p, p);
    pthread_mutex_unlock(lock);
}

void cg_auth__cache_touched(struct cg_auth__cache *c, const char *hash, int64_t last_seen_at)
{
    size_t i = slot_of(hash);
    struct entry *e = &c->slots[i];
    pthread_mutex_t *lock = &c->locks[i % CACHE_LOCKS];

    pthread_mutex_lock(lock);
    if (!strcmp(e->hash, hash)) {
        e->row.last_seen_at = last_seen_at;
    }
    pthread_mutex_unlock(lock);
}
