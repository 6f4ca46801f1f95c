/*
 * Unit tests for events (src/domain/event): the workflow from report to
 * closure with its log, refused transitions naming the allowed actions,
 * roles, concurrent actions (exactly one wins), citizen-sourced return
 * visits, self-resolved and report-only events, grid snapping and scope.
 * The store holds the Zhongshan demo city and the default catalogue.
 */
#include "test.h"
#include "testdb.h"
#include "base/mem.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/auth/auth.h"
#include "domain/calendar/calendar.h"
#include "domain/catalogue/catalogue.h"
#include "domain/event/event.h"
#include "domain/grid/demo.h"
#include "domain/grid/index.h"
#include "domain/pii/pii.h"

#include <pthread.h>

/* A point of grid 442000105001001 and one of 442000105207002. */
#define IN_LON 113.160803
#define IN_LAT 22.637102
#define OTHER_LON 113.19
#define OTHER_LAT 22.61

struct fixture {
    struct test_db t;
    struct cg_db *db;
    struct cg_grid_locator *grids;
    struct cg_calendar *cal;
    struct cg_events *ev;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct cg_error err = CG_ERROR_INIT;

    test_db_open(&f->t, "eventtest");
    f->db = f->t.db;
    test_db_demo(f->db);
    assert_int_equal(cg_grid_locator_new(f->db, &f->grids, &err), 0);
    assert_int_equal(cg_calendar_load(f->db, &f->cal, &err), 0);
    f->ev = cg_events_new(f->db, f->grids, f->cal);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cg_events_free(f->ev);
    cg_calendar_release(f->cal);
    cg_grid_locator_free(f->grids);
    test_db_close(&f->t);
    free(f);
    return 0;
}

#define principal test_principal

static const char *const worker_perms[] = {"event.report", "event.read", "event.resolve",
                                           "event.verify", NULL};
static const char *const duty_perms[] = {"event.read",
                                         "event.accept",
                                         "event.dispatch",
                                         "event.verify",
                                         "event.close",
                                         "event.supervise",
                                         NULL};
static const char *const handler_perms[] = {"event.read", "event.handle", NULL};
static const char *const citizen_perms[] = {"event.report", "event.read", NULL};

struct cast {
    struct cg_principal worker, other_worker, duty, handler, other_handler, citizen;
};

static void cast_make(struct cast *c)
{
    principal(&c->worker, 0, "worker", CG_SCOPE_GRID, "442000105001001", worker_perms);
    principal(&c->other_worker, 0, "other", CG_SCOPE_GRID, "442000105207002", worker_perms);
    principal(&c->duty, 0, "duty", CG_SCOPE_GRID, "442000105", duty_perms);
    principal(&c->handler, 0, "handler", CG_SCOPE_DEPARTMENT, "环境卫生管理部门", handler_perms);
    principal(&c->other_handler, 0, "water", CG_SCOPE_DEPARTMENT, "水务部门", handler_perms);
    principal(&c->citizen, 0, "citizen", CG_SCOPE_OWN, "", citizen_perms);
}

static void cast_free(struct cast *c)
{
    cg_principal_release(&c->worker);
    cg_principal_release(&c->other_worker);
    cg_principal_release(&c->duty);
    cg_principal_release(&c->handler);
    cg_principal_release(&c->other_handler);
    cg_principal_release(&c->citizen);
}

/* Reports 0102 暴露垃圾 (环境卫生管理部门) at (lon, lat); returns the id or a CG_E code. */
static int64_t report(struct fixture *f, const struct cg_principal *p, const char *kind,
                      const char *source, double lon, double lat, struct cg_error *err)
{
    struct cg_event_input in = {.kind = kind,
                                .source = source,
                                .category_kind = "event",
                                .category_code = "0102",
                                .title = "路边暴露垃圾",
                                .lon = lon,
                                .lat = lat};
    json_t *out = NULL;
    int rc = cg_event_report(f->ev, p, &in, "test", &out, err);
    int64_t id = rc ? rc : json_integer_value(json_object_get(out, "id"));

    json_decref(out);
    return id;
}

/* Acts and returns 0 or the error; *state (may be NULL) gets the new state. */
static int act(struct fixture *f, const struct cg_principal *p, int64_t id, const char *action,
               int satisfaction, char *state, size_t size)
{
    struct cg_event_action a = {.action = action, .satisfaction = satisfaction};
    struct cg_error err = CG_ERROR_INIT;
    json_t *out = NULL;
    int rc = cg_event_act(f->ev, p, id, &a, "test", &out, &err);

    if (!rc && state) {
        snprintf(state, size, "%s", json_string_value(json_object_get(out, "state")));
    }
    json_decref(out);
    return rc;
}

static void expect(struct fixture *f, const struct cg_principal *p, int64_t id, const char *action,
                   const char *state)
{
    char got[32] = "";

    assert_int_equal(act(f, p, id, action, 0, got, sizeof(got)), 0);
    assert_string_equal(got, state);
}

static json_t *get(struct fixture *f, const struct cg_principal *p, int64_t id)
{
    struct cg_error err = CG_ERROR_INIT;
    json_t *out = NULL;

    assert_int_equal(cg_event_get(f->ev, p, id, &out, &err), 0);
    return out;
}

static void test_workflow_to_closure(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cast c;
    int64_t id;
    json_t *e, *log;

    cast_make(&c);
    id = report(f, &c.worker, NULL, "patrol", IN_LON, IN_LAT, &err);
    assert_true(id > 0);
    e = get(f, &c.duty, id);
    assert_string_equal(json_string_value(json_object_get(e, "grid")), "442000105001001");
    assert_string_equal(json_string_value(json_object_get(e, "state")), "reported");
    assert_string_equal(json_string_value(json_object_get(e, "department")), "环境卫生管理部门");
    assert_true(json_is_string(json_object_get(e, "deadline_at")));
    json_decref(e);
    expect(f, &c.duty, id, "accept", "accepted");
    expect(f, &c.duty, id, "file", "filed");
    expect(f, &c.duty, id, "dispatch", "dispatched");
    expect(f, &c.handler, id, "sign", "handling");
    expect(f, &c.handler, id, "feedback", "handled");
    expect(f, &c.worker, id, "check_fail", "handling");
    expect(f, &c.handler, id, "feedback", "handled");
    expect(f, &c.worker, id, "check_pass", "checked");
    expect(f, &c.duty, id, "close", "closed");
    e = get(f, &c.duty, id);
    assert_string_equal(json_string_value(json_object_get(e, "closure_type")), "normal");
    assert_int_equal(json_integer_value(json_object_get(e, "rework_count")), 1);
    assert_true(json_is_string(json_object_get(e, "due_at")));
    log = json_object_get(e, "log");
    assert_int_equal(json_array_size(log), 10); /* the report and nine actions */
    assert_string_equal(json_string_value(json_object_get(json_array_get(log, 6), "action")),
                        "check_fail");
    assert_string_equal(json_string_value(json_object_get(json_array_get(log, 6), "from")),
                        "handled");
    assert_int_equal(json_array_size(json_object_get(e, "actions")), 0);
    json_decref(e);
    cast_free(&c);
}

static void test_refusals_name_the_allowed(void **state)
{
    struct fixture *f = *state;
    struct cg_event_action a = {.action = "dispatch"};
    struct cg_error err = CG_ERROR_INIT;
    struct cast c;
    json_t *out = NULL;
    int64_t id;

    cast_make(&c);
    id = report(f, &c.worker, NULL, "patrol", IN_LON, IN_LAT, &err);
    /* dispatch before filing */
    assert_int_equal(cg_event_act(f->ev, &c.duty, id, &a, "t", &out, &err), CG_EBADSTATE);
    assert_non_null(strstr(err.message, "\"accept\""));
    cg_error_clear(&err);
    /* a grid worker cannot accept */
    a.action = "accept";
    assert_int_equal(cg_event_act(f->ev, &c.worker, id, &a, "t", &out, &err), CG_EBADSTATE);
    cg_error_clear(&err);
    /* an action that does not exist */
    a.action = "teleport";
    assert_int_equal(cg_event_act(f->ev, &c.duty, id, &a, "t", &out, &err), CG_EINVAL);
    assert_string_equal(err.field, "action");
    cg_error_clear(&err);
    /* a stale version */
    a.action = "accept";
    a.expected_version = 7;
    assert_int_equal(cg_event_act(f->ev, &c.duty, id, &a, "t", &out, &err), CG_ECONFLICT);
    cg_error_clear(&err);
    a.expected_version = 0;
    a.expected_state = "filed";
    assert_int_equal(cg_event_act(f->ev, &c.duty, id, &a, "t", &out, &err), CG_ECONFLICT);
    assert_null(out);
    cast_free(&c);
}

struct race {
    struct fixture *f;
    const struct cg_principal *p;
    int64_t id;
    int rc;
};

static void *racer(void *arg)
{
    struct race *r = arg;

    r->rc = act(r->f, r->p, r->id, "dispatch", 0, NULL, 0);
    return NULL;
}

static void test_two_dispatchers_one_wins(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cast c;
    pthread_t th[4];
    struct race r[4];
    int wins = 0;

    cast_make(&c);
    for (int round = 0; round < 5; round++) {
        int64_t id = report(f, &c.worker, NULL, "patrol", IN_LON, IN_LAT, &err);

        expect(f, &c.duty, id, "accept", "accepted");
        expect(f, &c.duty, id, "file", "filed");
        wins = 0;
        for (int i = 0; i < 4; i++) {
            r[i] = (struct race){f, &c.duty, id, 0};
            assert_int_equal(pthread_create(&th[i], NULL, racer, &r[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            wins += r[i].rc == 0;
            /* the others lost: a conflict, or dispatch no longer allowed */
            assert_true(r[i].rc == 0 || r[i].rc == CG_ECONFLICT || r[i].rc == CG_EBADSTATE);
        }
        assert_int_equal(wins, 1);
        {
            json_t *e = get(f, &c.duty, id);

            assert_int_equal(json_array_size(json_object_get(e, "log")), 4);
            json_decref(e);
        }
    }
    cast_free(&c);
}

/* A citizen's account in the store (events keep their reporter). */
static int64_t citizen_account(struct fixture *f)
{
    struct cg_auth_policy pol;
    struct cg_pii_keys *keys = NULL;
    struct cg_auth *auth;
    struct cg_account_input in = {.login = "citizen.test",
                                  .display_name = "市民",
                                  .password = "Citizen-pass-2026",
                                  .roles = {"citizen"},
                                  .n_roles = 1,
                                  .scope_kind = CG_SCOPE_OWN,
                                  .scope_ref = ""};
    struct cg_error err = CG_ERROR_INIT;
    int64_t id = 0;

    cg_auth_policy_defaults(&pol);
    pol.argon2_ops = 1;
    pol.argon2_mem = 8192 * 1024;
    assert_int_equal(cg_pii_keys_parse(TEST_PII_KEYS, &keys, &err), 0);
    auth = cg_auth_new(f->db, keys, &pol);
    assert_int_equal(cg_auth_account_create(auth, NULL, &in, "test", &id, &err), 0);
    cg_auth_free(auth);
    cg_pii_keys_free(keys);
    return id;
}

static void test_citizen_return_visit(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cast c;
    char st[32];
    int64_t id;
    json_t *e;

    cast_make(&c);
    c.citizen.account_id = citizen_account(f);
    id = report(f, &c.citizen, NULL, "citizen", IN_LON, IN_LAT, &err);
    assert_true(id > 0);
    expect(f, &c.duty, id, "accept", "accepted");
    expect(f, &c.duty, id, "file", "filed");
    expect(f, &c.duty, id, "dispatch", "dispatched");
    expect(f, &c.handler, id, "sign", "handling");
    expect(f, &c.handler, id, "feedback", "handled");
    expect(f, &c.worker, id, "check_pass", "checked");
    /* citizen-sourced: no close without a return visit, and a visit needs a grade */
    assert_int_equal(act(f, &c.duty, id, "close", 0, NULL, 0), CG_EBADSTATE);
    assert_int_equal(act(f, &c.duty, id, "revisit", 0, NULL, 0), CG_EINVAL);
    assert_int_equal(act(f, &c.duty, id, "revisit", 2, st, sizeof(st)), 0);
    assert_string_equal(st, "handling"); /* unsatisfied: handled again */
    expect(f, &c.handler, id, "feedback", "handled");
    expect(f, &c.worker, id, "check_pass", "checked");
    assert_int_equal(act(f, &c.duty, id, "revisit", 5, st, sizeof(st)), 0);
    assert_string_equal(st, "closed");
    /* the citizen sees its own event, not others' */
    e = get(f, &c.citizen, id);
    assert_int_equal(json_integer_value(json_object_get(e, "satisfaction")), 5);
    assert_int_equal(json_integer_value(json_object_get(e, "rework_count")), 1);
    json_decref(e);
    cast_free(&c);
}

static void test_kinds_grids_and_scope(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cast c;
    int64_t solved, recorded, id;
    json_t *e = NULL;

    cast_make(&c);
    solved = report(f, &c.worker, "self_resolved", "patrol", IN_LON, IN_LAT, &err);
    e = get(f, &c.worker, solved);
    assert_string_equal(json_string_value(json_object_get(e, "state")), "closed");
    assert_int_equal(json_array_size(json_object_get(e, "log")), 2);
    json_decref(e);
    recorded = report(f, &c.worker, "report_only", "patrol", IN_LON, IN_LAT, &err);
    e = get(f, &c.duty, recorded);
    assert_string_equal(json_string_value(json_object_get(e, "state")), "recorded");
    assert_int_equal(json_array_size(json_object_get(e, "actions")), 0);
    json_decref(e);
    /* a citizen does not resolve on the spot */
    assert_int_equal(report(f, &c.citizen, "self_resolved", "citizen", IN_LON, IN_LAT, &err),
                     CG_EFORBIDDEN);
    cg_error_clear(&err);
    /* outside every grid, and in another worker's grid */
    assert_int_equal(report(f, &c.worker, NULL, "patrol", 113.0, 22.0, &err), CG_EOUTSIDEGRIDS);
    cg_error_clear(&err);
    assert_int_equal(report(f, &c.worker, NULL, "patrol", OTHER_LON, OTHER_LAT, &err),
                     CG_EFORBIDDEN);
    assert_non_null(strstr(err.message, "442000105207002"));
    cg_error_clear(&err);
    id = report(f, &c.other_worker, NULL, "patrol", OTHER_LON, OTHER_LAT, &err);
    assert_true(id > 0);
    /* scope: another grid's worker, another department, never see it */
    assert_int_equal(cg_event_get(f->ev, &c.worker, id, &e, &err), CG_ENOTFOUND);
    cg_error_clear(&err);
    assert_int_equal(cg_event_get(f->ev, &c.other_handler, id, &e, &err), CG_ENOTFOUND);
    cg_error_clear(&err);
    assert_int_equal(act(f, &c.worker, id, "resolve", 0, NULL, 0), CG_ENOTFOUND);
    {
        struct cg_event_query q = {.limit = 50};
        json_t *list = NULL;

        assert_int_equal(cg_event_list(f->ev, &c.worker, &q, &list, &err), 0);
        assert_int_equal(json_array_size(json_object_get(list, "events")), 2);
        json_decref(list);
        assert_int_equal(cg_event_list(f->ev, &c.duty, &q, &list, &err), 0);
        assert_int_equal(json_array_size(json_object_get(list, "events")), 3);
        json_decref(list);
        q.state = "closed";
        assert_int_equal(cg_event_list(f->ev, &c.duty, &q, &list, &err), 0);
        assert_int_equal(json_array_size(json_object_get(list, "events")), 1);
        json_decref(list);
    }
    /* bad input */
    {
        struct cg_event_input in = {.source = "pigeon", .category_code = "0102", .title = "x"};
        json_t *out = NULL;

        assert_int_equal(cg_event_report(f->ev, &c.worker, &in, "t", &out, &err), CG_EINVAL);
        assert_string_equal(err.field, "source");
        cg_error_clear(&err);
        in.source = "patrol";
        in.category_code = "9999";
        in.lon = IN_LON;
        in.lat = IN_LAT;
        assert_int_equal(cg_event_report(f->ev, &c.worker, &in, "t", &out, &err), CG_EINVAL);
        assert_string_equal(err.field, "category");
        cg_error_clear(&err);
    }
    cast_free(&c);
}

static void test_duplicates_merge_and_risk(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_event_input in = {.source = "citizen",
                                .category_kind = "event",
                                .category_code = "0102",
                                .title = "路边暴露垃圾",
                                .lon = IN_LON,
                                .lat = IN_LAT};
    struct cg_event_action a = {.action = "merge"};
    struct cast c;
    json_t *first = NULL, *second = NULL, *out = NULL, *e, *log;
    int64_t a_id, b_id;

    cast_make(&c);
    c.citizen.account_id = citizen_account(f);
    assert_int_equal(cg_event_report(f->ev, &c.worker, &in, "t", &first, &err), 0);
    assert_int_equal(json_array_size(json_object_get(first, "duplicates")), 0);
    a_id = json_integer_value(json_object_get(first, "id"));
    /* 30 m away, same class, minutes later: offered for merging, and the risk counts it */
    in.lon += 0.0003;
    in.title = "垃圾堆放，有人聚集闹事";
    in.people = 12;
    assert_int_equal(cg_event_report(f->ev, &c.citizen, &in, "t", &second, &err), 0);
    b_id = json_integer_value(json_object_get(second, "id"));
    assert_int_equal(json_array_size(json_object_get(second, "duplicates")),
                     0); /* not the citizen's */
    json_decref(second);
    assert_int_equal(cg_event_get(f->ev, &c.duty, b_id, &second, &err), 0);
    {
        json_t *risk = json_object_get(second, "risk"), *r;
        size_t i;
        int codes = 0;

        /* urgency normal 10 + 12 people (13 halves 3 times: 15) + one repeat 10 + 聚集 20
         * + 闹事 20 */
        assert_int_equal(json_integer_value(json_object_get(risk, "score")), 75);
        json_array_foreach(json_object_get(risk, "reasons"), i, r)
        {
            codes += !strcmp(json_string_value(json_object_get(r, "code")), "word");
        }
        assert_int_equal(codes, 2);
    }
    /* the duty officer, who merges, sees the near-duplicate on the event's page */
    {
        json_t *dups = json_object_get(second, "duplicates");

        assert_int_equal(json_array_size(dups), 1);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(dups, 0), "id")), a_id);
    }
    json_decref(second);
    /* the duty officer merges the citizen's duplicate into the worker's report */
    a.into = b_id;
    assert_int_equal(cg_event_act(f->ev, &c.duty, b_id, &a, "t", &out, &err), CG_EINVAL);
    cg_error_clear(&err);
    a.into = a_id;
    assert_int_equal(cg_event_act(f->ev, &c.worker, b_id, &a, "t", &out, &err), CG_EBADSTATE);
    cg_error_clear(&err);
    assert_int_equal(cg_event_act(f->ev, &c.duty, b_id, &a, "t", &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "state")), "merged");
    assert_int_equal(json_integer_value(json_object_get(out, "merged_into")), a_id);
    json_decref(out);
    /* the target's log names the duplicate and its reporter, who now follows it */
    e = get(f, &c.duty, a_id);
    log = json_object_get(e, "log");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(log, json_array_size(log) - 1), "action")),
        "merge_in");
    json_decref(e);
    e = get(f, &c.citizen, a_id);
    json_decref(e);
    /* a merged event takes no more actions */
    assert_int_equal(act(f, &c.duty, b_id, "accept", 0, NULL, 0), CG_EBADSTATE);
    json_decref(first);
    cast_free(&c);
}

static void test_sweep_warns_once_and_supervises(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_event_sweep_result r;
    struct cast c;
    int64_t late, soon;
    json_t *e, *list = NULL;

    cast_make(&c);
    late = report(f, &c.worker, NULL, "patrol", IN_LON, IN_LAT, &err);
    soon = report(f, &c.worker, NULL, "patrol", IN_LON, IN_LAT, &err);
    /* Move the stored deadlines: one passed, one in its last quarter. */
    {
        char past[CG_TIME_ISO_LEN], start[CG_TIME_ISO_LEN], near[CG_TIME_ISO_LEN], sql[512];
        int64_t now = cg_time_now_ms();

        cg_time_iso(now - 3600000, past, sizeof(past));
        cg_time_iso(now - 100LL * 86400000, start, sizeof(start));
        cg_time_iso(now + 60000, near, sizeof(near));
        snprintf(sql, sizeof(sql),
                 "UPDATE event SET deadline_at = '%s' WHERE id = %lld;"
                 " UPDATE event SET step_started_at = '%s', deadline_at = '%s' WHERE id = %lld",
                 past, (long long)late, start, near, (long long)soon);
        assert_int_equal(cg_db_write(f->db, test_exec_job, sql, &err), 0);
    }
    assert_int_equal(cg_event_sweep(f->ev, &r, &err), 0);
    assert_int_equal(r.red, 1);
    assert_int_equal(r.yellow, 1);
    assert_int_equal(r.supervised, 1);
    e = get(f, &c.duty, late);
    assert_true(json_is_true(json_object_get(e, "supervised")));
    assert_string_equal(json_string_value(json_object_get(e, "warning")), "red");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(e, "log"), 1), "actor")),
        "scheduler");
    json_decref(e);
    /* once per deadline */
    assert_int_equal(cg_event_sweep(f->ev, &r, &err), 0);
    assert_int_equal(r.red + r.yellow + r.supervised, 0);
    assert_int_equal(cg_event_notices(f->ev, &c.worker, 0, 50, &list, &err), 0);
    assert_int_equal(json_array_size(json_object_get(list, "notices")), 2);
    json_decref(list);
    assert_int_equal(cg_event_notices(f->ev, &c.other_worker, 0, 50, &list, &err), 0);
    assert_int_equal(json_array_size(json_object_get(list, "notices")), 0);
    json_decref(list);
    cast_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_workflow_to_closure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_name_the_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_dispatchers_one_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_citizen_return_visit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kinds_grids_and_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_merge_and_risk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_warns_once_and_supervises, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
