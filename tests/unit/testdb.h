/*
 * testdb.h: what the unit tests of the store-backed modules share: a fresh
 * database in its own temporary directory (removed afterwards), the Zhongshan
 * demo city with the default catalogue, accounts as the access decision sees
 * them, and a write job that runs a test's own SQL. Include after test.h.
 */
#ifndef CG_TESTDB_H
#define CG_TESTDB_H

#include "base/mem.h"
#include "db/db.h"
#include "domain/auth/auth.h"
#include "domain/catalogue/catalogue.h"
#include "domain/grid/demo.h"
#include "domain/pii/pii.h"

/* The key ring of personal data every test uses (never a real key). */
#define TEST_PII_KEYS "1:5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"

struct test_db {
    char dir[64];
    char path[128]; /* dir/t.db */
    struct cg_db *db;
};

/* Creates /tmp/civgrid-<name>-XXXXXX and opens (creates, migrates) t.db in it. */
static inline void test_db_open(struct test_db *t, const char *name)
{
    struct cg_db_options opt;
    struct cg_error err = CG_ERROR_INIT;

    snprintf(t->dir, sizeof(t->dir), "/tmp/civgrid-%s-XXXXXX", name);
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/t.db", t->dir);
    cg_db_options_init(&opt, t->path);
    opt.sync = CG_DB_SYNC_NORMAL; /* durability is the store's own tests' business */
    assert_int_equal(cg_db_open(&opt, &t->db, &err), 0);
}

/* Closes the database and removes its directory. */
static inline void test_db_close(struct test_db *t)
{
    char cmd[160];

    cg_db_close(t->db);
    t->db = NULL;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
}

/* Loads the Zhongshan demo (古镇镇: 13 villages, 68 grids, 958 workers) and the catalogue. */
static inline void test_db_demo(struct cg_db *db)
{
    struct cg_error err = CG_ERROR_INIT;
    struct cg_pii_keys *keys = NULL;
    struct cg_grid_demo_stats st;
    struct cg_catalogue_counts cc;

    assert_int_equal(cg_pii_keys_parse(TEST_PII_KEYS, &keys, &err), 0);
    assert_int_equal(cg_grid_demo_load(db, keys, "zhongshan", 1, 3, &st, &err), 0);
    cg_pii_keys_free(keys);
    assert_int_equal(cg_catalogue_seed(db, NULL, false, &cc, &err), 0);
}

/* A write job that runs the SQL text ctx (a test's own changes to stored rows). */
static inline int test_exec_job(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    return cg_db_exec(c, ctx, err);
}

static inline int test_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * An account as the access decision sees it: id, login, scope and the
 * permissions (NULL-terminated). Release with cg_principal_release().
 */
static inline void test_principal(struct cg_principal *p, int64_t id, const char *login,
                                  enum cg_scope_kind kind, const char *ref,
                                  const char *const *perms)
{
    memset(p, 0, sizeof(*p));
    p->account_id = id;
    snprintf(p->login, sizeof(p->login), "%s", login);
    p->scope_kind = kind;
    snprintf(p->scope_ref, sizeof(p->scope_ref), "%s", ref);
    while (perms[p->n_permissions]) {
        p->n_permissions++;
    }
    p->permissions = cg_calloc(p->n_permissions + 1, sizeof(char *));
    for (size_t i = 0; i < p->n_permissions; i++) {
        p->permissions[i] = cg_strdup(perms[i]);
    }
    qsort(p->permissions, p->n_permissions, sizeof(char *), test_cmp_str);
}

#endif
