/*
 * Unit tests for the store (src/db): migrations, the write path (savepoint per
 * job, grouped commits), reader connections, backup, restore and check.
 */
#include "test.h"
#include "base/str.h"
#include "db/db.h"

#include <pthread.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    char path[128];
    struct cg_db *db;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct cg_db_options opt;
    struct cg_error err = CG_ERROR_INIT;

    snprintf(f->dir, sizeof(f->dir), "/tmp/civgrid-dbtest-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    cg_db_options_init(&opt, f->path);
    opt.sync = CG_DB_SYNC_NORMAL; /* tests do not need power-loss durability */
    assert_int_equal(cg_db_open(&opt, &f->db, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[160];

    cg_db_close(f->db);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int64_t count_rows(struct cg_db *db)
{
    struct cg_conn *c;
    struct cg_stmt *st;
    struct cg_error err = CG_ERROR_INIT;
    int64_t n = -1;

    assert_int_equal(cg_db_reader(db, &c, &err), 0);
    assert_int_equal(cg_db_prepare(c, "SELECT COUNT(*) FROM meta", &st, &err), 0);
    assert_int_equal(cg_db_step(st, &err), CG_DB_ROW);
    n = cg_db_column_int64(st, 0);
    cg_db_finalize(st);
    return n;
}

struct put {
    const char *key;
    bool fail_after; /* insert, then fail: the insert must be rolled back */
};

static int put_job(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct put *p = ctx;
    struct cg_stmt *st;
    int rc = cg_db_prepare(c, "INSERT INTO meta(key, value) VALUES (?1, 'v')", &st, err);

    if (rc) {
        return rc;
    }
    rc = cg_db_bind_text(st, 1, p->key, strlen(p->key));
    rc = rc ? rc : cg_db_step_done(st, err);
    cg_db_finalize(st);
    if (!rc && p->fail_after) {
        rc = cg_error_set(err, CG_EINVAL, "refused after insert");
    }
    return rc;
}

static void test_migrated_on_open(void **state)
{
    struct fixture *f = *state;
    struct cg_db_info info;
    struct cg_error err = CG_ERROR_INIT;

    assert_int_equal(cg_db_info(f->db, &info, &err), 0);
    assert_string_equal(info.backend, "sqlite");
    assert_string_equal(info.journal_mode, "wal");
    assert_true(info.schema_version >= 1);
    assert_int_equal(info.schema_version, info.schema_latest);
}

static void test_write_commit_and_rollback(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct put ok = {"a", false}, bad = {"b", true}, dup = {"a", false};

    assert_int_equal(cg_db_write(f->db, put_job, &ok, &err), 0);
    assert_int_equal(count_rows(f->db), 1);
    assert_int_equal(cg_db_write(f->db, put_job, &bad, &err), CG_EINVAL);
    assert_int_equal(count_rows(f->db), 1); /* the failed job left nothing */
    cg_error_clear(&err);
    assert_int_equal(cg_db_write(f->db, put_job, &dup, &err), CG_ECONFLICT);
    assert_non_null(strstr(err.message, "UNIQUE"));
    assert_int_equal(count_rows(f->db), 1);
}

static void test_reader_refuses_writes(void **state)
{
    struct fixture *f = *state;
    struct cg_conn *c;
    struct cg_error err = CG_ERROR_INIT;

    assert_int_equal(cg_db_reader(f->db, &c, &err), 0);
    assert_int_not_equal(cg_db_exec(c, "INSERT INTO meta VALUES ('x', 'y')", &err), 0);
    assert_int_equal(count_rows(f->db), 0);
}

/* A read transaction sees one snapshot until its outermost end; nested ones share it. */
static void test_read_snapshot_nests(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct put a = {"a", false}, b = {"b", false};
    struct cg_conn *outer, *inner;

    assert_int_equal(cg_db_write(f->db, put_job, &a, &err), 0);
    assert_int_equal(cg_db_read_begin(f->db, &outer, &err), 0);
    assert_int_equal(count_rows(f->db), 1); /* takes the snapshot */
    assert_int_equal(cg_db_write(f->db, put_job, &b, &err), 0);
    assert_int_equal(cg_db_read_begin(f->db, &inner, &err), 0);
    assert_ptr_equal(inner, outer);
    assert_int_equal(count_rows(f->db), 1); /* the commit of b is after the snapshot */
    cg_db_read_end(inner);
    assert_int_equal(count_rows(f->db), 1); /* still inside the outer one */
    cg_db_read_end(outer);
    assert_int_equal(count_rows(f->db), 2);
    cg_db_read_end(outer); /* unmatched: nothing to end */
    cg_db_read_end(NULL);
    assert_int_equal(count_rows(f->db), 2);
}

struct thread_arg {
    struct cg_db *db;
    int base;
    int n;
};

static void *writer_thread(void *p)
{
    struct thread_arg *a = p;

    for (int i = 0; i < a->n; i++) {
        char key[32];
        struct put put = {key, (i % 10) == 9}; /* every tenth job fails */
        struct cg_error err = CG_ERROR_INIT;
        int rc;

        snprintf(key, sizeof(key), "k%d", a->base + i);
        rc = cg_db_write(a->db, put_job, &put, &err);
        if (rc != (put.fail_after ? CG_EINVAL : 0)) {
            return (void *)1;
        }
    }
    return NULL;
}

/* Many threads writing at once: every job is acknowledged, failures are isolated,
 * and commits are shared (fewer commits than jobs). */
static void test_group_commit(void **state)
{
    struct fixture *f = *state;
    enum { THREADS = 16, PER = 50 };
    pthread_t t[THREADS];
    struct thread_arg args[THREADS];
    struct cg_db_stats stats;

    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct thread_arg){f->db, i * PER, PER};
        assert_int_equal(pthread_create(&t[i], NULL, writer_thread, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *res;

        pthread_join(t[i], &res);
        assert_null(res);
    }
    assert_int_equal(count_rows(f->db), THREADS * PER * 9 / 10);
    cg_db_stats(f->db, &stats);
    assert_int_equal(stats.write_jobs, THREADS * PER * 9 / 10);
    assert_int_equal(stats.write_failures, THREADS * PER / 10);
    assert_true(stats.commits <= stats.write_jobs);
    print_message("    %" PRIu64 " jobs in %" PRIu64 " commits\n", stats.write_jobs, stats.commits);
}

static void test_backup_restore_check(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct put p = {"before", false};
    struct cg_str problems = CG_STR_INIT;
    char bak[160], other[160];
    struct cg_db_options opt;
    struct cg_db *db2;

    assert_int_equal(cg_db_write(f->db, put_job, &p, &err), 0);
    snprintf(bak, sizeof(bak), "%s/backup.db", f->dir);
    assert_int_equal(cg_db_backup(f->db, bak, &err), 0);
    assert_int_equal(access(bak, R_OK), 0);

    /* Restore into a new path and find the row there. */
    snprintf(other, sizeof(other), "%s/restored.db", f->dir);
    assert_int_equal(cg_db_restore(bak, other, &err), 0);
    cg_db_options_init(&opt, other);
    opt.create = false;
    assert_int_equal(cg_db_open(&opt, &db2, &err), 0);
    assert_int_equal(count_rows(db2), 1);
    assert_int_equal(cg_db_check(db2, &problems, &err), 0);
    cg_db_close(db2);

    /* A file that is not a database is refused and nothing is replaced. */
    {
        FILE *junk = fopen(bak, "w");

        fputs("not a database at all, just text", junk);
        fclose(junk);
    }
    assert_int_not_equal(cg_db_restore(bak, other, &err), 0);
    cg_error_clear(&err);
    cg_str_release(&problems);
}

static void test_open_missing_without_create(void **state)
{
    struct cg_db_options opt;
    struct cg_db *db = NULL;
    struct cg_error err = CG_ERROR_INIT;

    (void)state;
    cg_db_options_init(&opt, "/tmp/civgrid-no-such-dir/x.db");
    opt.create = false;
    assert_int_not_equal(cg_db_open(&opt, &db, &err), 0);
    assert_null(db);
    assert_true(err.message[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrated_on_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_commit_and_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_refuses_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_snapshot_nests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_restore_check, setup, teardown),
        cmocka_unit_test(test_open_missing_without_create),
    };

    return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
