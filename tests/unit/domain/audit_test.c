/*
 * Unit tests for src/domain/audit: appends inside and outside write jobs, the
 * hash chain and its verification against an attacker who edits the database
 * file directly (triggers dropped), the triggers themselves, search and paging,
 * and retention. Includes audit.c for append_at(), to give records old times.
 */
#include "test.h"
#include "domain/audit/audit.c"

#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#define DAY_MS INT64_C(86400000)

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

    snprintf(f->dir, sizeof(f->dir), "/tmp/civgrid-audittest-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    cg_db_options_init(&opt, f->path);
    opt.sync = CG_DB_SYNC_NORMAL;
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

/* ---- helpers ---------------------------------------------------------------------------- */

static void record(struct cg_db *db, int64_t actor_id, const char *login, const char *action,
                   const char *object_id, const char *result)
{
    struct cg_audit_entry e = {actor_id,  login,     "10.0.0.7", action,
                               "account", object_id, result,     "{\"why\":\"test\"}"};
    struct cg_error err = CG_ERROR_INIT;

    assert_int_equal(cg_audit_record(db, &e, &err), 0);
}

/* A write job appending n entries at time at_ms (0: now), then failing when asked. */
struct append_job {
    const struct cg_audit_entry *e;
    int n;
    int64_t at_ms;
    bool fail_after;
};

static int append_job_run(struct cg_conn *w, void *ctx, struct cg_error *err)
{
    struct append_job *job = ctx;
    int rc = 0;

    for (int i = 0; i < job->n && !rc; i++) {
        rc = job->at_ms ? append_at(w, job->e, job->at_ms, err) : cg_audit_append(w, job->e, err);
    }
    if (!rc && job->fail_after) {
        rc = cg_error_set(err, CG_EINVAL, "the action failed after its audit record");
    }
    return rc;
}

static void append_at_time(struct cg_db *db, const char *action, const char *result, int64_t at_ms)
{
    struct cg_audit_entry e = {42, "zhang.san", "10.0.0.8", action, "event", "7", result, NULL};
    struct append_job job = {&e, 1, at_ms, false};
    struct cg_error err = CG_ERROR_INIT;

    assert_int_equal(cg_db_write(db, append_job_run, &job, &err), 0);
}

static int64_t count_records(struct cg_db *db)
{
    struct cg_conn *c;
    struct cg_stmt *st;
    struct cg_error err = CG_ERROR_INIT;
    int64_t n;

    assert_int_equal(cg_db_reader(db, &c, &err), 0);
    assert_int_equal(cg_db_prepare(c, "SELECT COUNT(*) FROM audit_log", &st, &err), 0);
    assert_int_equal(cg_db_step(st, &err), CG_DB_ROW);
    n = cg_db_column_int64(st, 0);
    cg_db_finalize(st);
    return n;
}

static void assert_intact(struct cg_db *db, int64_t want_checked)
{
    struct cg_error err = CG_ERROR_INIT;
    int64_t checked = -1, broken = -1;
    int rc = cg_audit_verify(db, &checked, &broken, &err);

    if (rc) {
        fail_msg("verify: %s", err.message);
    }
    assert_int_equal(checked, want_checked);
    assert_int_equal(broken, 0);
}

static void assert_broken(struct cg_db *db, int64_t want_id, int64_t want_checked, const char *what)
{
    struct cg_error err = CG_ERROR_INIT;
    int64_t checked = -1, broken = -1;
    char name[64];

    assert_int_equal(cg_audit_verify(db, &checked, &broken, &err), CG_ECONFLICT);
    assert_int_equal(broken, want_id);
    assert_int_equal(checked, want_checked);
    snprintf(name, sizeof(name), "audit record %" PRId64 " ", want_id);
    assert_non_null(strstr(err.message, name));
    if (!strstr(err.message, what)) {
        fail_msg("'%s' does not say '%s'", err.message, what);
    }
}

/* Runs sql on a connection of our own, as someone with the database file would. */
static void raw_exec(const struct fixture *f, const char *sql)
{
    sqlite3 *h = NULL;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fail_msg("%s: %s", sql, msg);
    }
    sqlite3_close(h);
}

static json_t *search(struct cg_db *db, const struct cg_audit_query *q, int64_t *out_next)
{
    struct cg_error err = CG_ERROR_INIT;
    json_t *records = NULL;
    int64_t next = -1;

    if (cg_audit_search(db, q, &records, out_next ? out_next : &next, &err)) {
        fail_msg("search: %s", err.message);
    }
    return records;
}

static int64_t search_count(struct cg_db *db, const struct cg_audit_query *q)
{
    json_t *r = search(db, q, NULL);
    int64_t n = (int64_t)json_array_size(r);

    json_decref(r);
    return n;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_append_and_verify(void **state)
{
    struct fixture *f = *state;
    struct cg_audit_entry e = {7,         "li.lei", "10.0.0.9", "user.create",
                               "account", "12",     "ok",       "{\"roles\":[\"grid_worker\"]}"};
    struct cg_audit_entry anon = {0,    "no-such-user", "10.0.0.10", "auth.login",
                                  NULL, NULL,           "failed",    NULL};
    struct append_job two = {&e, 2, 0, false}, failing = {&e, 1, 0, true};
    struct cg_error err = CG_ERROR_INIT;
    struct cg_audit_query all = {.limit = 10};
    json_t *r, *first;

    assert_intact(f->db, 0); /* an empty trail is intact */
    record(f->db, 1, "admin", "auth.login", "1", "ok");
    assert_int_equal(cg_audit_record(f->db, &anon, &err), 0);
    assert_int_equal(cg_db_write(f->db, append_job_run, &two, &err), 0);
    assert_int_equal(cg_db_write(f->db, append_job_run, &failing, &err), CG_EINVAL);
    assert_int_equal(count_records(f->db), 4); /* the failed job's record is gone with it */
    record(f->db, 1, "admin", "auth.logout", "1", "ok");
    assert_int_equal(count_records(f->db), 5);
    assert_intact(f->db, 5);

    r = search(f->db, &all, NULL);
    assert_int_equal(json_array_size(r), 5);
    /* Newest first, ids contiguous: the rolled-back record took no id. */
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(json_integer_value(json_object_get(json_array_get(r, i), "id")), 5 - i);
    }
    first = json_array_get(r, 4);
    assert_string_equal(json_string_value(json_object_get(first, "prev_hash")),
                        CG_AUDIT__ZERO_HASH);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 3), "prev_hash")),
                        json_string_value(json_object_get(first, "hash")));
    /* Record 4 (anon): no actor, absent fields are null. */
    assert_true(json_is_null(json_object_get(json_array_get(r, 3), "actor_id")));
    assert_true(json_is_null(json_object_get(json_array_get(r, 3), "object_type")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 3), "actor_login")),
                        "no-such-user");
    json_decref(r);
}

static void test_entry_rules(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_audit_entry bad_action = {0, NULL, NULL, "Auth Login", NULL, NULL, "ok", NULL};
    struct cg_audit_entry no_action = {0, NULL, NULL, NULL, NULL, NULL, "ok", NULL};
    struct cg_audit_entry bad_result = {0, NULL, NULL, "auth.login", NULL, NULL, "success", NULL};
    struct cg_audit_entry bad_type = {0, NULL, NULL, "auth.login", "Account", NULL, "ok", NULL};
    char login[300], detail[CG_AUDIT_DETAIL_MAX + 100];
    struct cg_audit_entry messy = {0,    login,    "1.2.3.4\r\n", "auth.login",
                                   NULL, "\x01id", "denied",      detail};
    struct cg_audit_query all = {.limit = 1};
    json_t *r, *o;
    const char *s;

    assert_int_equal(cg_audit_record(f->db, &bad_action, &err), CG_EINVAL);
    assert_string_equal(err.field, "action");
    cg_error_clear(&err);
    assert_int_equal(cg_audit_record(f->db, &no_action, &err), CG_EINVAL);
    cg_error_clear(&err);
    assert_int_equal(cg_audit_record(f->db, &bad_result, &err), CG_EINVAL);
    assert_string_equal(err.field, "result");
    cg_error_clear(&err);
    assert_int_equal(cg_audit_record(f->db, &bad_type, &err), CG_EINVAL);
    assert_string_equal(err.field, "object_type");
    assert_int_equal(count_records(f->db), 0);

    /* Free text is kept, not refused: cut, with bad bytes and controls replaced. */
    memset(login, 0, sizeof(login));
    for (int i = 0; i < 99; i++) {
        memcpy(login + i * 3, "张", 3); /* 297 bytes */
    }
    memset(detail, 'd', sizeof(detail) - 1);
    detail[sizeof(detail) - 1] = '\0';
    detail[0] = '\xff';
    detail[1] = '\n';
    assert_int_equal(cg_audit_record(f->db, &messy, &err), 0);
    r = search(f->db, &all, NULL);
    o = json_array_get(r, 0);
    s = json_string_value(json_object_get(o, "actor_login"));
    assert_true(strlen(s) <= LOGIN_MAX);
    assert_string_equal(s + strlen(s) - 3, "...");
    assert_true(cg_utf8_valid(s, strlen(s)));
    assert_string_equal(json_string_value(json_object_get(o, "remote")), "1.2.3.4??");
    assert_string_equal(json_string_value(json_object_get(o, "object_id")), "?id");
    s = json_string_value(json_object_get(o, "detail"));
    assert_int_equal(strlen(s), CG_AUDIT_DETAIL_MAX);
    assert_memory_equal(s, "?\nd", 3);
    json_decref(r);
    assert_intact(f->db, 1);
}

/* Pins the documented serialisation: a change of format breaks every stored chain. */
static void test_hash_format(void **state)
{
    struct fixture *f = *state;
    struct cg_audit_entry e = {0, NULL, "::1", "auth.login", NULL, "李", "denied", ""};
    struct cg_audit_query all = {.limit = 1};
    struct cg_error err = CG_ERROR_INIT;
    struct cg_str sb = CG_STR_INIT;
    uint8_t h[32];
    char hex[65];
    json_t *r;
    const char *at;

    assert_int_equal(cg_audit_record(f->db, &e, &err), 0);
    r = search(f->db, &all, NULL);
    at = json_string_value(json_object_get(json_array_get(r, 0), "at"));
    assert_int_equal(strlen(at), 24);
    cg_str_addf(&sb, "%s\n1:1,24:%s,-,-,3:::1,10:auth.login,-,3:李,6:denied,0:,",
                CG_AUDIT__ZERO_HASH, at);
    crypto_hash_sha256(h, (const uint8_t *)cg_str_ptr(&sb), cg_str_len(&sb));
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "hash")), hex);
    cg_str_release(&sb);
    json_decref(r);
}

static void make_five(struct fixture *f)
{
    for (int i = 1; i <= 5; i++) {
        char id[8];

        snprintf(id, sizeof(id), "%d", i);
        record(f->db, i, "wang.wu", "event.update", id, "ok");
    }
    assert_intact(f->db, 5);
}

static void test_tamper_edit(void **state)
{
    struct fixture *f = *state;

    make_five(f);
    raw_exec(f, "DROP TRIGGER audit_log_no_update;"
                "UPDATE audit_log SET detail = '{\"why\":\"nothing to see\"}' WHERE id = 3");
    assert_broken(f->db, 3, 2, "do not match its hash (edited)");
}

static void test_tamper_edit_and_rehash(void **state)
{
    struct fixture *f = *state;
    struct cg_audit_query q = {.object_id = "3", .limit = 1};
    struct cg_audit__row row = {0};
    char sql[512], hash[65];
    json_t *r, *o;

    make_five(f);
    /* The attacker recomputes record 3's own hash after editing it: record 4 gives it away. */
    r = search(f->db, &q, NULL);
    o = json_array_get(r, 0);
    row.id = 3;
    row.at = json_string_value(json_object_get(o, "at"));
    row.has_actor = true;
    row.actor_id = 3;
    row.actor_login = "wang.wu";
    row.remote = "10.0.0.7";
    row.action = "event.update";
    row.object_type = "account";
    row.object_id = "3";
    row.result = "denied"; /* was ok */
    row.detail = "{\"why\":\"test\"}";
    row.prev_hash = json_string_value(json_object_get(o, "prev_hash"));
    hash_row(&row, hash);
    snprintf(sql, sizeof(sql),
             "DROP TRIGGER audit_log_no_update;"
             "UPDATE audit_log SET result = 'denied', hash = '%s' WHERE id = 3",
             hash);
    json_decref(r);
    raw_exec(f, sql);
    assert_broken(f->db, 4, 3, "prev_hash does not match");
}

static void test_tamper_delete(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    int64_t id_before = 0, id_after = 0;
    char hash_before[65], hash_after[65];

    make_five(f);
    assert_int_equal(cg_audit_head(f->db, &id_before, hash_before, &err), 0);
    assert_int_equal(id_before, 5);
    /* Deleting the newest record leaves a valid, shorter chain: the documented limitation. */
    raw_exec(f, "DROP TRIGGER audit_log_keep_180_days; DELETE FROM audit_log WHERE id = 5");
    assert_intact(f->db, 4);
    /* What catches it: the head published earlier is no longer the head. */
    assert_int_equal(cg_audit_head(f->db, &id_after, hash_after, &err), 0);
    assert_int_equal(id_after, 4);
    assert_string_not_equal(hash_before, hash_after);
    /* Deleting from the middle is detected at the next record. */
    raw_exec(f, "DELETE FROM audit_log WHERE id = 2");
    assert_broken(f->db, 3, 1, "records 2..2 before it are missing");
}

static void test_tamper_reorder(void **state)
{
    struct fixture *f = *state;

    make_five(f);
    /* Swap the contents of records 2 and 3 but keep the ids. */
    raw_exec(f, "DROP TRIGGER audit_log_no_update;"
                "UPDATE audit_log SET object_id = CASE id WHEN 2 THEN '3' ELSE '2' END,"
                " actor_id = CASE id WHEN 2 THEN 3 ELSE 2 END WHERE id IN (2, 3)");
    assert_broken(f->db, 2, 1, "edited");
}

struct raw_sql {
    const char *sql;
};

static int raw_sql_job(struct cg_conn *w, void *ctx, struct cg_error *err)
{
    return cg_db_exec(w, ((struct raw_sql *)ctx)->sql, err);
}

static void test_triggers_refuse(void **state)
{
    struct fixture *f = *state;
    struct raw_sql upd = {"UPDATE audit_log SET result = 'ok' WHERE id = 1"};
    struct raw_sql del = {"DELETE FROM audit_log WHERE id = 1"};
    struct raw_sql anchor = {"INSERT INTO audit_anchor VALUES (1, 5, 'x');"
                             "UPDATE audit_anchor SET last_purged_id = 4"};
    struct raw_sql anchor_del = {"INSERT INTO audit_anchor VALUES (1, 5, 'x');"
                                 "DELETE FROM audit_anchor"};
    struct cg_error err = CG_ERROR_INIT;

    record(f->db, 1, "admin", "auth.login", "1", "failed");
    assert_int_equal(cg_db_write(f->db, raw_sql_job, &upd, &err), CG_ECONFLICT);
    assert_non_null(strstr(err.message, "append-only"));
    cg_error_clear(&err);
    assert_int_equal(cg_db_write(f->db, raw_sql_job, &del, &err), CG_ECONFLICT);
    assert_non_null(strstr(err.message, "180 days"));
    cg_error_clear(&err);
    assert_int_equal(cg_db_write(f->db, raw_sql_job, &anchor, &err), CG_ECONFLICT);
    assert_non_null(strstr(err.message, "forward"));
    cg_error_clear(&err);
    assert_int_equal(cg_db_write(f->db, raw_sql_job, &anchor_del, &err), CG_ECONFLICT);
    assert_int_equal(count_records(f->db), 1);
    assert_intact(f->db, 1);
}

static void test_search_filters_and_paging(void **state)
{
    struct fixture *f = *state;
    int64_t now = cg_time_now_ms(), next = -1;
    struct cg_audit_query q = {.limit = 100};
    json_t *r;
    int64_t seen = 0;
    char from[40], to[40];

    append_at_time(f->db, "auth.login", "ok", now - 10 * DAY_MS);
    append_at_time(f->db, "auth.login", "failed", now - 9 * DAY_MS);
    append_at_time(f->db, "auth.logout", "ok", now - 8 * DAY_MS);
    append_at_time(f->db, "authz.check", "denied", now - 7 * DAY_MS);
    append_at_time(f->db, "user.create", "ok", now - 6 * DAY_MS);
    record(f->db, 9, "li.si", "user.reveal_phone", "15", "ok");
    record(f->db, 9, "li.si", "user.reveal_phone", "16", "denied");

    assert_int_equal(search_count(f->db, &q), 7);
    q.action = "auth.";
    assert_int_equal(search_count(f->db, &q), 3);
    q.action = "auth";
    assert_int_equal(search_count(f->db, &q), 4); /* a plain prefix: authz too */
    q.action = "auth.login";
    assert_int_equal(search_count(f->db, &q), 2);
    q.result = "failed";
    assert_int_equal(search_count(f->db, &q), 1);
    q = (struct cg_audit_query){.actor_login = "li.si", .limit = 100};
    assert_int_equal(search_count(f->db, &q), 2);
    q.object_id = "16";
    assert_int_equal(search_count(f->db, &q), 1);
    q = (struct cg_audit_query){.object_type = "event", .result = "ok", .limit = 100};
    assert_int_equal(search_count(f->db, &q), 3);

    /* Time range, with an offset: from inclusive, to exclusive. */
    cg_time_iso(now - 9 * DAY_MS, from, sizeof(from));
    cg_time_iso(now - 7 * DAY_MS, to, sizeof(to));
    q = (struct cg_audit_query){.from = from, .to = to, .limit = 100};
    assert_int_equal(search_count(f->db, &q), 2);
    q = (struct cg_audit_query){
        .from = "2000-01-01T08:00:00+08:00", .to = "2000-01-01T00:00:00Z", .limit = 100};
    assert_int_equal(search_count(f->db, &q), 0); /* the same instant: an empty range */
    q = (struct cg_audit_query){.from = "2000-01-01T00:00:00.5+08:00", .limit = 100};
    assert_int_equal(search_count(f->db, &q), 7);

    /* Paging by two: 2 + 2 + 2 + 1, next_before 0 at the end. */
    q = (struct cg_audit_query){.limit = 2};
    do {
        r = search(f->db, &q, &next);
        for (size_t i = 0; i < json_array_size(r); i++) {
            int64_t id = json_integer_value(json_object_get(json_array_get(r, i), "id"));

            assert_int_equal(id, 7 - seen);
            seen++;
        }
        assert_true(next == 0 || next == 7 - seen + 1);
        json_decref(r);
        q.before_id = next;
    } while (next);
    assert_int_equal(seen, 7);
    q = (struct cg_audit_query){.limit = 7};
    r = search(f->db, &q, &next);
    assert_int_equal(next, 0); /* exactly limit records: no further page */
    json_decref(r);
}

static void test_search_refusals(void **state)
{
    struct fixture *f = *state;
    static const struct {
        struct cg_audit_query q;
        const char *field;
    } bad[] = {
        {{.limit = 0}, "limit"},
        {{.limit = 501}, "limit"},
        {{.limit = 10, .before_id = -1}, "before"},
        {{.limit = 10, .result = "success"}, "result"},
        {{.limit = 10, .action = "Auth"}, "action"},
        {{.limit = 10, .action = "auth%"}, "action"},
        {{.limit = 10, .from = "2026-02-30T00:00:00Z"}, "from"},
        {{.limit = 10, .from = "2026-01-01"}, "from"},
        {{.limit = 10, .from = "2026-01-01T00:00:00"}, "from"},
        {{.limit = 10, .from = "1969-12-31T23:59:59Z"}, "from"},
        {{.limit = 10, .to = "2026-01-01T24:00:00Z"}, "to"},
        {{.limit = 10, .to = "2026-01-01T00:00:00+0800"}, "to"},
        {{.limit = 10, .to = "2026-01-01T00:00:00.Z"}, "to"},
        {{.limit = 10, .from = "2026-01-02T00:00:00Z", .to = "2026-01-01T00:00:00Z"}, "from"},
    };
    struct cg_error err = CG_ERROR_INIT;
    json_t *r = NULL;
    int64_t next;

    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++) {
        cg_error_clear(&err);
        if (cg_audit_search(f->db, &bad[i].q, &r, &next, &err) != CG_EINVAL) {
            fail_msg("query %zu accepted", i);
        }
        assert_string_equal(err.field, bad[i].field);
        assert_null(r);
    }
}

static void test_purge(void **state)
{
    struct fixture *f = *state;
    int64_t now = cg_time_now_ms(), deleted = -1, head = 0;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_audit_query q = {.action = "audit.purge", .limit = 10};
    char hash[65];
    json_t *r;

    assert_int_equal(cg_audit_purge(f->db, 179, &deleted, &err), CG_EINVAL);
    assert_string_equal(err.field, "retention_days");
    assert_int_equal(deleted, -1);
    for (int i = 0; i < 3; i++) {
        append_at_time(f->db, "auth.login", "ok", now - (400 - i) * DAY_MS);
    }
    append_at_time(f->db, "auth.login", "ok", now - 200 * DAY_MS);
    append_at_time(f->db, "auth.login", "ok", now - 190 * DAY_MS);
    append_at_time(f->db, "auth.login", "ok", now - 10 * DAY_MS);
    record(f->db, 1, "admin", "auth.login", "1", "ok");
    assert_intact(f->db, 7);

    assert_int_equal(cg_audit_purge(f->db, 365, &deleted, &err), 0);
    assert_int_equal(deleted, 3);
    assert_int_equal(count_records(f->db), 5); /* 4 kept and the purge's own record */
    assert_intact(f->db, 5);
    r = search(f->db, &q, NULL);
    assert_int_equal(json_array_size(r), 1);
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(r, 0), "detail")),
                           "\"deleted\":3"));
    json_decref(r);

    assert_int_equal(cg_audit_purge(f->db, 180, &deleted, &err), 0);
    assert_int_equal(deleted, 2);
    assert_intact(f->db, 4);
    assert_int_equal(cg_audit_purge(f->db, 180, &deleted, &err), 0);
    assert_int_equal(deleted, 0); /* nothing old enough: only the purge is recorded */
    assert_intact(f->db, 5);
    assert_int_equal(cg_audit_head(f->db, &head, hash, &err), 0);
    assert_int_equal(head, 10);

    /* A forged anchor breaks the first record after it. */
    raw_exec(f, "DROP TRIGGER audit_anchor_forward;"
                "UPDATE audit_anchor SET last_purged_hash = '" CG_AUDIT__ZERO_HASH "'");
    assert_broken(f->db, 6, 0, "purge anchor");
}

static void test_purge_everything(void **state)
{
    struct fixture *f = *state;
    int64_t now = cg_time_now_ms(), deleted = 0, head = 0;
    struct cg_error err = CG_ERROR_INIT;
    char hash[65];

    append_at_time(f->db, "auth.login", "ok", now - 300 * DAY_MS);
    append_at_time(f->db, "auth.login", "ok", now - 299 * DAY_MS);
    assert_int_equal(cg_audit_purge(f->db, 200, &deleted, &err), 0);
    assert_int_equal(deleted, 2);
    /* Only the purge record remains, linked to the anchor. */
    assert_int_equal(count_records(f->db), 1);
    assert_intact(f->db, 1);
    assert_int_equal(cg_audit_head(f->db, &head, hash, &err), 0);
    assert_int_equal(head, 3);
    record(f->db, 1, "admin", "auth.login", "1", "ok");
    assert_intact(f->db, 2);
}

struct thread_arg {
    struct cg_db *db;
    int n;
};

static void *recorder(void *p)
{
    struct thread_arg *a = p;

    for (int i = 0; i < a->n; i++) {
        struct cg_audit_entry e = {i + 1,   "grid.worker", "10.1.1.1", "event.report",
                                   "event", NULL,          "ok",       NULL};
        struct cg_error err = CG_ERROR_INIT;

        if (cg_audit_record(a->db, &e, &err)) {
            return (void *)1;
        }
    }
    return NULL;
}

/* Concurrent appends are serialised by the single writer: the chain stays whole. */
static void test_concurrent_records(void **state)
{
    struct fixture *f = *state;
    enum { THREADS = 8, PER = 25 };
    pthread_t t[THREADS];
    struct thread_arg arg = {f->db, PER};

    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, recorder, &arg), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *res;

        pthread_join(t[i], &res);
        assert_null(res);
    }
    assert_intact(f->db, THREADS * PER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_and_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_edit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_edit_and_rehash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_reorder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_triggers_refuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_filters_and_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_records, setup, teardown),
    };

    return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
