/*
 * Unit tests for events (src/domain/event): the workflow from report to
 * closure with its log, refused transitions naming the allowed actions,
 * roles, concurrent actions (exactly one wins), citizen-sourced return
 * visits, self-resolved and report-only events, grid snapping and scope; the
 * KPI roll-ups against the scan of the events over a random history, and
 * their check and rebuild (civgrid kpi) after rows changed by hand.
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
#include "domain/event/event_int.h"
#include "domain/grid/demo.h"
#include "domain/grid/index.h"
#include "domain/pii/pii.h"

#include <math.h>
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

/* Escalation goes up the tiers and delegation (下派) back down; each end refuses. */
static void test_tiers_up_and_down(void **state)
{
    static const char *const up[] = {"village", "town", "department"};
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cast c;
    int64_t id;
    json_t *e;

    cast_make(&c);
    id = report(f, &c.worker, NULL, "patrol", IN_LON, IN_LAT, &err);
    assert_true(id > 0);
    assert_int_equal(act(f, &c.duty, id, "delegate", 0, NULL, 0), CG_EBADSTATE); /* at grid */
    for (size_t i = 0; i < CG_ARRAY_LEN(up); i++) {
        expect(f, &c.duty, id, "escalate", "reported");
        e = get(f, &c.duty, id);
        assert_string_equal(json_string_value(json_object_get(e, "tier")), up[i]);
        json_decref(e);
    }
    assert_int_equal(act(f, &c.duty, id, "escalate", 0, NULL, 0), CG_EBADSTATE); /* the top */
    expect(f, &c.duty, id, "accept", "accepted");
    expect(f, &c.duty, id, "delegate", "accepted");
    expect(f, &c.duty, id, "delegate", "accepted");
    e = get(f, &c.duty, id);
    assert_string_equal(json_string_value(json_object_get(e, "tier")), "village");
    /* The log names each move: the report, three escalations, accept, two delegations. */
    assert_int_equal(json_array_size(json_object_get(e, "log")), 7);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(e, "log"), 6), "detail"), "tier")),
        "village");
    json_decref(e);
    /* A grid worker cannot hand an event down: it is the command center's decision. */
    assert_int_equal(act(f, &c.worker, id, "delegate", 0, NULL, 0), CG_EBADSTATE);
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

/* The points of the reason code in an event's risk, 0 when it has none. */
static int64_t risk_points(json_t *event, const char *code)
{
    json_t *r;
    size_t i;

    json_array_foreach(json_object_get(json_object_get(event, "risk"), "reasons"), i, r)
    {
        if (!strcmp(json_string_value(json_object_get(r, "code")), code)) {
            return json_integer_value(json_object_get(r, "points"));
        }
    }
    return 0;
}

/* A citizen who reports again and again: 5 points a report in 30 days, 20 from three on. */
static void test_risk_repeats_by_the_same_person(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_event_input in = {.source = "citizen",
                                .category_kind = "event",
                                .category_code = "0102",
                                .title = "路边暴露垃圾"};
    static const int64_t expect[] = {0, 5, 10, 20, 20};
    struct cast c;

    cast_make(&c);
    c.citizen.account_id = citizen_account(f);
    for (int i = 0; i < 5; i++) {
        json_t *out = NULL;

        /* far enough apart (about 1 km) that the place's repeats do not count */
        in.lon = IN_LON + 0.01 * (i % 2);
        in.lat = IN_LAT - 0.009 * (i / 2);
        assert_int_equal(cg_event_report(f->ev, &c.citizen, &in, "t", &out, &err), 0);
        assert_int_equal(risk_points(out, "person_repeats"), expect[i]);
        assert_int_equal(risk_points(out, "repeats"), 0);
        json_decref(out);
    }
    /* a grid worker's patrol reports are work, not a grievance */
    in.source = "patrol";
    for (int i = 0; i < 4; i++) {
        json_t *out = NULL;

        in.lon = IN_LON; /* inside the worker's grid */
        in.lat = IN_LAT;
        assert_int_equal(cg_event_report(f->ev, &c.worker, &in, "t", &out, &err), 0);
        assert_int_equal(risk_points(out, "person_repeats"), 0);
        json_decref(out);
    }
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

/* ---- KPI roll-ups against the scan -------------------------------------------------------- */

static unsigned rnd(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) & 0x7fff;
}

struct history {
    struct fixture *f;
    struct cast c;
    unsigned seed;
    int64_t open_id; /* an open event others may be merged into */
};

/* Acts with the optional department; false when the action was refused (the walk stops). */
static bool step(struct history *h, const struct cg_principal *p, int64_t id, const char *action,
                 int satisfaction, const char *department)
{
    struct cg_event_action a = {
        .action = action, .satisfaction = satisfaction, .department = department};
    struct cg_error err = CG_ERROR_INIT;
    json_t *out = NULL;
    int rc = cg_event_act(h->f->ev, p, id, &a, "test", &out, &err);

    json_decref(out);
    return rc == 0;
}

/* One event taken through the workflow by random choices, as far as a random number of steps. */
static void walk(struct history *h)
{
    static const char *const depts[] = {"环境卫生管理部门", "水务部门"};
    struct cg_error err = CG_ERROR_INIT;
    unsigned who = rnd(&h->seed) % 3, k = rnd(&h->seed) % 10;
    const struct cg_principal *rep = who == 0   ? &h->c.worker
                                     : who == 1 ? &h->c.other_worker
                                                : &h->c.citizen;
    const char *kind = k == 0 ? "report_only" : k == 1 && who < 2 ? "self_resolved" : NULL;
    int budget = (int)(rnd(&h->seed) % 16), dept = 0;
    double lon = who == 1 ? OTHER_LON : IN_LON, lat = who == 1 ? OTHER_LAT : IN_LAT;
    int64_t id = report(h->f, rep, kind, who == 2 ? "citizen" : "patrol", lon, lat, &err);
    const struct cg_principal *handler;

    if (id <= 0) {
        fail_msg("report by %s: %s", rep->login, err.message);
    }
    if (kind) {
        return;
    }
#define STEP(p, action, sat, d)                                                                    \
    do {                                                                                           \
        if (budget-- <= 0 || !step(h, p, id, action, sat, d)) {                                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)
    if (rnd(&h->seed) % 5 == 0) {
        STEP(&h->c.duty, "escalate", 0, NULL);
    }
    if (rnd(&h->seed) % 7 == 0 && who < 2) {
        STEP(who == 0 ? &h->c.worker : &h->c.other_worker, "resolve", 0, NULL);
    }
    if (rnd(&h->seed) % 9 == 0) {
        STEP(&h->c.duty, "cancel", 0, NULL);
    }
    if (rnd(&h->seed) % 8 == 0 && h->open_id) {
        struct cg_event_action a = {.action = "merge", .into = h->open_id};
        json_t *out = NULL;

        if (!cg_event_act(h->f->ev, &h->c.duty, id, &a, "test", &out, &err)) {
            json_decref(out);
            return;
        }
        cg_error_clear(&err);
    }
    if (budget == 0) {
        h->open_id = id;
    }
    STEP(&h->c.duty, "accept", 0, NULL);
    if (rnd(&h->seed) % 3 == 0) {
        STEP(&h->c.duty, "verify_request", 0, NULL);
        STEP(&h->c.duty, "verified", 0, NULL);
    }
    STEP(&h->c.duty, "file", 0, NULL);
    dept = (int)(rnd(&h->seed) % 2);
    STEP(&h->c.duty, "dispatch", 0, depts[dept]);
    if (rnd(&h->seed) % 4 == 0) {
        dept = 1 - dept;
        STEP(&h->c.duty, "reassign", 0, depts[dept]);
    }
    handler = dept ? &h->c.other_handler : &h->c.handler;
    STEP(handler, "sign", 0, NULL);
    if (rnd(&h->seed) % 4 == 0) {
        STEP(handler, "extend_request", 0, NULL);
        STEP(&h->c.duty, "approve_extension", 0, NULL);
    }
    if (rnd(&h->seed) % 5 == 0) {
        STEP(&h->c.duty, "supervise", 0, NULL);
    }
    STEP(handler, "feedback", 0, NULL);
    if (rnd(&h->seed) % 3 == 0) {
        STEP(&h->c.worker, "check_fail", 0, NULL);
        if (rnd(&h->seed) % 2 == 0) {
            /* returned and dispatched to the other department: its 返工 follow it */
            STEP(handler, "return_request", 0, NULL);
            STEP(&h->c.duty, "approve_return", 0, NULL);
            dept = 1 - dept;
            STEP(&h->c.duty, "dispatch", 0, depts[dept]);
            handler = dept ? &h->c.other_handler : &h->c.handler;
            STEP(handler, "sign", 0, NULL);
        }
        STEP(handler, "feedback", 0, NULL);
    }
    STEP(&h->c.duty, "check_pass", 0, NULL);
    if (who == 2) {
        int sat = 1 + (int)(rnd(&h->seed) % 5);

        STEP(&h->c.duty, "revisit", sat, NULL);
        if (sat <= 2) {
            STEP(handler, "feedback", 0, NULL);
            STEP(&h->c.duty, "check_pass", 0, NULL);
            STEP(&h->c.duty, "revisit", 4, NULL);
        }
    } else {
        STEP(&h->c.duty, "close", 0, NULL);
    }
#undef STEP
}

static void china_date(int64_t day, char *out, size_t size)
{
    time_t secs = (time_t)(day * 86400);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(out, size, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* The rates of a KPI row are numbers with a fraction (1.0, not 1) or null, as jansson wrote. */
static void assert_rates_are_reals(const json_t *row)
{
    static const char *const rates[] = {"closure_rate", "on_time_rate", "self_resolution_rate",
                                        "satisfaction"};

    for (size_t i = 0; i < CG_ARRAY_LEN(rates); i++) {
        const json_t *v = json_object_get(row, rates[i]);

        assert_true(json_is_real(v) || json_is_null(v));
    }
}

/* The KPIs of p from the roll-ups and from the scan agree ("source" aside). */
static int compare_kpis(struct fixture *f, const struct cg_principal *p, const char *by,
                        const char *from, const char *to)
{
    struct cg_event_kpi_query q = {.by = by, .from = from, .to = to};
    struct cg_error err = CG_ERROR_INIT;
    json_t *a = NULL, *b = NULL;
    int rollup;

    char *text = NULL, *dumped;
    size_t len = 0;

    assert_int_equal(cg_event_kpi(f->ev, p, &q, &a, &err), 0);
    assert_int_equal(cg_event__kpi_reference(f->ev, p, &q, &b, &err), 0);
    assert_string_equal(json_string_value(json_object_get(b, "source")), "scan");
    /* the API's text is byte for byte what jansson writes for the same answer */
    assert_int_equal(cg_event_kpi_text(f->ev, p, &q, &text, &len, &err), 0);
    dumped = json_dumps(a, JSON_COMPACT);
    assert_int_equal(len, strlen(text));
    assert_string_equal(text, dumped);
    free(text);
    free(dumped);
    assert_rates_are_reals(json_object_get(a, "total"));
    for (size_t i = 0; i < json_array_size(json_object_get(a, "rows")); i++) {
        assert_rates_are_reals(json_array_get(json_object_get(a, "rows"), i));
    }
    rollup = !strcmp(json_string_value(json_object_get(a, "source")), "rollup");
    if (!json_equal(json_object_get(a, "rows"), json_object_get(b, "rows")) ||
        !json_equal(json_object_get(a, "total"), json_object_get(b, "total"))) {
        char *x = json_dumps(a, JSON_COMPACT), *y = json_dumps(b, JSON_COMPACT);

        fail_msg("%s by %s [%s, %s):\nrollup %s\nscan   %s", p->login, by, from, to, x, y);
        free(x);
        free(y);
    }
    json_decref(a);
    json_decref(b);
    return rollup;
}

/* The open events by state of the dashboard, counted from the rows in the same scope. */
static void compare_open(struct fixture *f, const struct cg_principal *p, const char *prefix,
                         const char *dept, int64_t owner)
{
    struct cg_error err = CG_ERROR_INIT;
    struct cg_conn *conn;
    struct cg_stmt *st = NULL;
    json_t *d = NULL, *want = json_object();
    char like[40];

    snprintf(like, sizeof(like), "%s%%", prefix);
    assert_int_equal(cg_db_reader(f->db, &conn, &err), 0);
    assert_int_equal(cg_db_prepare_bind(conn,
                                        "SELECT state, count(*) FROM event WHERE state NOT IN"
                                        " ('closed', 'cancelled', 'recorded', 'merged')"
                                        " AND grid_code LIKE ?1 AND (?2 IS NULL OR department = ?2)"
                                        " AND (?3 = 0 OR reporter_id = ?3) GROUP BY state",
                                        &st, &err, "tti", like, dept, owner),
                     0);
    while (cg_db_step(st, &err) == CG_DB_ROW) {
        json_object_set_new(want, cg_db_column_text(st, 0),
                            json_integer(cg_db_column_int64(st, 1)));
    }
    cg_db_finalize(st);
    assert_int_equal(cg_event_dashboard(f->ev, p, &d, &err), 0);
    if (!json_equal(json_object_get(d, "open"), want)) {
        char *x = json_dumps(d, JSON_COMPACT), *y = json_dumps(want, JSON_COMPACT);

        fail_msg("%s: dashboard %s, rows say %s", p->login, x, y);
        free(x);
        free(y);
    }
    json_decref(d);
    json_decref(want);
}

/*
 * A random history through the real workflow, spread over two months: the roll-ups have
 * rows both folded and pending. h->c is made here (cast_free() it).
 */
static void build_history(struct history *h)
{
    struct fixture *f = h->f;
    struct cg_error err = CG_ERROR_INIT;

    cast_make(&h->c);
    /* reporters with accounts, so that the KPIs by worker have keys */
    assert_int_equal(
        cg_db_write(f->db, test_exec_job,
                    (char *)"INSERT INTO account(id, login, display_name, password_hash,"
                            " password_changed_at, scope_kind, created_at, updated_at)"
                            " SELECT 100000 + n, 'kpi' || n, 'kpi', 'x', '', 'own', '', ''"
                            " FROM (SELECT 3 AS n UNION ALL SELECT 4 UNION ALL SELECT 5)",
                    &err),
        0);
    /* one worker with a name that needs escaping in the answer's JSON text */
    assert_int_equal(cg_db_write(f->db, test_exec_job,
                                 (char *)"INSERT INTO grid_staff(name, employment, account_id,"
                                         " created_at, updated_at) VALUES ('网格员 \"阿\\明\"\n"
                                         "\t' || char(1), 'full_time', 100003, '', '')",
                                 &err),
                     0);
    h->c.worker.account_id = 100003;
    h->c.other_worker.account_id = 100004;
    h->c.citizen.account_id = 100005;
    for (int i = 0; i < 90; i++) {
        walk(h);
    }
    /*
     * Spread the history over two months (odd ids) and over the year before
     * (even ids: the year roll-ups less the months outside a period): every
     * event's times move by a random number of hours (its due time and closure
     * a little more), through plain UPDATEs, which the roll-ups follow as they
     * follow the workflow.
     */
    for (int64_t id = 1; id <= 200; id++) {
        char sql[700];
        int a = -(int)(rnd(&h->seed) % ((id % 2 ? 50 : 400) * 24)),
            b = (int)(rnd(&h->seed) % 145) - 72, c = (int)(rnd(&h->seed) % 97);

        snprintf(sql, sizeof(sql),
                 "UPDATE event SET created_at = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', created_at,"
                 " '%d hours'), filed_at = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', filed_at,"
                 " '%d hours'), dispatched_at = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ',"
                 " dispatched_at, '%d hours'), due_at = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ',"
                 " due_at, '%d hours'), closed_at = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ',"
                 " closed_at, '%d hours') WHERE id = %lld",
                 a, a, a, a + b, a + c, (long long)id);
        assert_int_equal(cg_db_write(f->db, test_exec_job, sql, &err), 0);
    }
    {
        /* both paths are in play: changes folded into the roll-ups, and some still pending */
        struct cg_conn *conn;
        int64_t folded = 0, pending = 0;

        assert_int_equal(cg_db_reader(f->db, &conn, &err), 0);
        assert_int_equal(
            cg_db_query_int64(conn, "SELECT count(*) FROM event_rollup", &folded, &err, ""), 0);
        assert_int_equal(cg_db_query_int64(conn, "SELECT count(*) FROM event_rollup_pending",
                                           &pending, &err, ""),
                         0);
        assert_true(folded > 0);
        assert_true(pending > 0);
    }
}

static void test_kpi_rollups_match_the_scan(void **state)
{
    static const char *const bys[] = {"grid", "village", "town", "department", "worker"};
    static const char *const stats[] = {"stats.read", "event.read", NULL};
    struct fixture *f = *state;
    struct history h = {.f = f, .seed = 20261201};
    struct cg_principal everyone, village, dept, own;
    const struct cg_principal *ps[5];
    int64_t today = (cg_time_now_ms() + 8 * 3600000LL) / 86400000LL;
    int rollups = 0;

    build_history(&h);
    test_principal(&everyone, 0, "everyone", CG_SCOPE_ALL, "", stats);
    test_principal(&village, 0, "village", CG_SCOPE_GRID, "442000105001", stats);
    test_principal(&dept, 0, "dept", CG_SCOPE_DEPARTMENT, "水务部门", stats);
    test_principal(&own, 100005, "own", CG_SCOPE_OWN, "", stats);
    ps[0] = &everyone;
    ps[1] = &h.c.duty;
    ps[2] = &village;
    ps[3] = &dept;
    ps[4] = &own;
    for (int i = 0; i < 40; i++) {
        int64_t d1 = today - 60 + (int64_t)(rnd(&h.seed) % 70);
        int64_t d2 = d1 + 1 + (int64_t)(rnd(&h.seed) % (i < 10 ? 2 : 75));
        char from[40], to[40];

        china_date(d1, from, sizeof(from));
        china_date(d2, to, sizeof(to));
        for (size_t p = 0; p < CG_ARRAY_LEN(ps); p++) {
            for (size_t b = 0; b < CG_ARRAY_LEN(bys); b++) {
                rollups += compare_kpis(f, ps[p], bys[b], from, to);
            }
        }
    }
    assert_true(rollups > 40 * 20); /* only department by worker, own by department scanned */
    /* periods of many months: a year row less the months and days outside, or across years */
    for (int i = 0; i < 12; i++) {
        /* even: ending inside the history (the months after it are subtracted) */
        int64_t d2 = i % 2 ? 0 : today - (int64_t)(rnd(&h.seed) % 40);
        int64_t d1 = i % 2 ? today - 400 + (int64_t)(rnd(&h.seed) % 380)
                           : d2 - 150 - (int64_t)(rnd(&h.seed) % 300);

        d2 = i % 2 ? d1 + 150 + (int64_t)(rnd(&h.seed) % 400) : d2;
        char from[40], to[40];

        china_date(d1, from, sizeof(from));
        china_date(d2, to, sizeof(to));
        for (size_t p = 0; p < CG_ARRAY_LEN(ps); p++) {
            for (size_t b = 0; b < CG_ARRAY_LEN(bys); b++) {
                compare_kpis(f, ps[p], bys[b], from, to);
            }
        }
    }
    compare_kpis(f, &everyone, "town", "2000-01-01", "2100-01-01");
    compare_open(f, &everyone, "", NULL, 0);
    compare_open(f, &h.c.duty, "442000105", NULL, 0);
    compare_open(f, &village, "442000105001", NULL, 0);
    compare_open(f, &dept, "", "水务部门", 0);
    compare_open(f, &own, "", NULL, 100005);
    cg_principal_release(&everyone);
    cg_principal_release(&village);
    cg_principal_release(&dept);
    cg_principal_release(&own);
    cast_free(&h.c);
}

/* ---- the roll-ups checked and rebuilt ----------------------------------------------------- */

struct diffs {
    const char *bucket, *area; /* the rows looked for (dim 0, lvl 3: a grid) */
    const char *pending_day, *pending_grid;
    bool found_rollup, found_pending;
    int64_t n;
};

static void collect_diff(void *ctx, const struct cg_event_rollup_diff *d)
{
    struct diffs *x = ctx;

    x->n++;
    if (d->dim != 0 || d->lvl != 3) {
        return;
    }
    if (!strcmp(d->bucket, x->bucket) && !strcmp(d->area, x->area) &&
        d->stored.closed == d->expected.closed + 1) {
        x->found_rollup = true;
    }
    if (!strcmp(d->bucket, x->pending_day) && !strcmp(d->area, x->pending_grid) &&
        d->stored.reported == d->expected.reported + 2) {
        x->found_pending = true;
    }
}

static int64_t count_rows(struct fixture *f, const char *sql)
{
    struct cg_error err = CG_ERROR_INIT;
    struct cg_conn *conn;
    int64_t n = -1;

    assert_int_equal(cg_db_reader(f->db, &conn, &err), 0);
    assert_int_equal(cg_db_query_int64(conn, sql, &n, &err, ""), 0);
    return n;
}

static json_t *kpi_of(struct fixture *f, const struct cg_principal *p, const char *by,
                      const char *from, const char *to)
{
    struct cg_event_kpi_query q = {.by = by, .from = from, .to = to};
    struct cg_error err = CG_ERROR_INIT;
    json_t *out = NULL;

    assert_int_equal(cg_event_kpi(f->ev, p, &q, &out, &err), 0);
    return out;
}

/* Compares the recent events in memory with the store's answers for random questions. */
static void compare_recent(struct fixture *f, struct cg_event__recent *recent, unsigned *seed,
                           int rounds)
{
    static const char *const reporters[] = {"100003", "100004", "100005", "0"};
    int64_t now = cg_time_now_ms();

    for (int i = 0; i < rounds; i++) {
        double lon = (rnd(seed) % 2 ? OTHER_LON : IN_LON) + ((int)(rnd(seed) % 601) - 300) * 1e-5;
        double lat = (rnd(seed) % 2 ? OTHER_LAT : IN_LAT) + ((int)(rnd(seed) % 601) - 300) * 1e-5;
        double radius = rnd(seed) % 2 ? 200.0 : 100.0;
        int64_t since = now - (int64_t)(rnd(seed) % (30 * 24)) * 3600000;
        const char *reporter = reporters[rnd(seed) % 4];
        struct cg_event__around_query q = {"event", "0102",          lon, lat,  radius,
                                           since,   atoll(reporter), 10,  since};
        struct cg_event__near mem[64], sql[64];
        struct cg_error err = CG_ERROR_INIT;
        char since_iso[CG_TIME_ISO_LEN], window_iso[CG_TIME_ISO_LEN];
        size_t n_mem = 0, n_sql = 0;
        int64_t mine = -1, want = -1;
        struct cg_conn *c;

        cg_time_iso(since, since_iso, sizeof(since_iso));
        assert_int_equal(cg_event__recent_around(recent, &q, now, mem, 64, &n_mem, &mine, &err), 0);
        assert_int_equal(cg_event__nearby(f->db, "event", "0102", lon, lat, radius, since_iso,
                                          false, sql, 64, &n_sql, &err),
                         0);
        assert_int_equal(cg_db_reader(f->db, &c, &err), 0);
        /* the reporter's latest 10 of the window (by id), and of them those since since */
        cg_time_iso(now - 30 * 86400 * INT64_C(1000), window_iso, sizeof(window_iso));
        assert_int_equal(cg_db_query_int64(c,
                                           "SELECT COUNT(*) FROM (SELECT created_at FROM event"
                                           " WHERE reporter_id = ?1 AND kind <> 'report_only'"
                                           " AND created_at >= ?3 ORDER BY id DESC LIMIT 10)"
                                           " WHERE created_at >= ?2",
                                           &want, &err, "itt", atoll(reporter), since_iso,
                                           window_iso),
                         0);
        if (n_mem != n_sql) {
            fail_msg("round %d at %.6f %.6f r %.0f since %s: %zu in memory, %zu in the store", i,
                     lon, lat, radius, since_iso, n_mem, n_sql);
        }
        for (size_t k = 0; k < n_sql; k++) {
            assert_int_equal(mem[k].id, sql[k].id);
            assert_string_equal(mem[k].state, sql[k].state);
            assert_string_equal(mem[k].created_at, sql[k].created_at);
            assert_string_equal(mem[k].grid_code, sql[k].grid_code);
            assert_true(fabs(mem[k].distance_m - sql[k].distance_m) < 1e-6);
        }
        if (mine != (atoll(reporter) ? want : 0)) {
            fail_msg("round %d: reporter %s since %s: %lld in memory, %lld in the store", i,
                     reporter, since_iso, (long long)mine, (long long)want);
        }
    }
}

/*
 * The recent events in memory answer what the store answers (the events of the class around
 * a point, the reporter's latest): loaded at first, then kept up to date from the log through
 * reports, transitions, merges and cancellations of every kind.
 */
static void test_recent_events_agree_with_the_store(void **state)
{
    struct fixture *f = *state;
    struct history h = {.f = f, .seed = 20261204};
    struct cg_event__recent *recent;
    struct cg_error err = CG_ERROR_INIT;
    size_t held = 0;

    build_history(&h);
    /* scattered around the two points, by hand (before the memory is made: no log entry) */
    assert_int_equal(cg_db_write(f->db, test_exec_job,
                                 (char *)"UPDATE event SET lon = lon + ((id * 7919) % 601 - 300)"
                                         " * 1e-5, lat = lat + ((id * 104729) % 601 - 300) * 1e-5",
                                 &err),
                     0);
    recent = cg_event__recent_new(f->db, 30 * 86400 * INT64_C(1000));
    assert_int_equal(cg_event__recent_warm(recent, cg_time_now_ms(), &held, &err), 0);
    assert_true(held > 20 && held < 200); /* a part of the history is older than 30 days */
    compare_recent(f, recent, &h.seed, 200);
    /* events the memory holds change state (accepted, cancelled), and new ones come through
       the workflow: each change reaches the memory by the log */
    for (int64_t id = 1; id <= 120; id++) {
        (void)act(f, &h.c.duty, id, id % 3 ? "accept" : "cancel", 0, NULL, 0);
    }
    compare_recent(f, recent, &h.seed, 200);
    /* events moved to another place and reporter, with a log entry (as a correction would) */
    assert_int_equal(
        cg_db_write(f->db, test_exec_job,
                    (char *)"UPDATE event SET lon = lon + 0.004, reporter_id = 100004"
                            " WHERE id % 5 = 0; INSERT INTO event_log(event_id, at, action,"
                            " from_state, to_state, note) SELECT id, created_at, 'note', state,"
                            " state, 'moved' FROM event WHERE id % 5 = 0",
                    &err),
        0);
    compare_recent(f, recent, &h.seed, 200);
    for (int i = 0; i < 60; i++) {
        walk(&h);
        if (i % 10 == 0) {
            compare_recent(f, recent, &h.seed, 5);
        }
    }
    compare_recent(f, recent, &h.seed, 200);
    cg_event__recent_free(recent);
    cast_free(&h.c);
}

/*
 * Rankings: a page of rows sorted by a figure (kept in a heap of offset + limit on the way)
 * is that slice of all the rows sorted the same way, for every field, both ways.
 */
static void test_kpi_pages_are_slices_of_the_ranking(void **state)
{
    static const char *const fields[] = {
        "reported",     "filed",        "due",    "closed",        "closed_on_time",
        "closure_rate", "on_time_rate", "rework", "self_resolved", "self_resolution_rate",
        "revisits",     "satisfaction", "key"};
    static const char *const bys[] = {"grid", "worker", "department"};
    struct fixture *f = *state;
    struct history h = {.f = f, .seed = 20261203};
    struct cg_principal everyone;
    static const char *const stats[] = {"stats.read", NULL};
    struct cg_error err = CG_ERROR_INIT;
    int pages = 0;

    build_history(&h);
    test_principal(&everyone, 0, "everyone", CG_SCOPE_ALL, "", stats);
    for (size_t b = 0; b < CG_ARRAY_LEN(bys); b++) {
        for (size_t i = 0; i < CG_ARRAY_LEN(fields) * 2; i++) {
            char order[40];
            struct cg_event_kpi_query q = {
                .by = bys[b], .from = "2000-01-01", .to = "2100-01-01", .order = order};
            json_t *all = NULL, *rows;
            size_t n;

            snprintf(order, sizeof(order), "%s%s", i % 2 ? "-" : "", fields[i / 2]);
            assert_int_equal(cg_event_kpi(f->ev, &everyone, &q, &all, &err), 0);
            rows = json_object_get(all, "rows");
            n = json_array_size(rows);
            assert_int_equal(json_integer_value(json_object_get(all, "groups")), (json_int_t)n);
            for (int64_t offset = 0; offset <= 3; offset++) {
                for (int64_t limit = 1; limit <= 3; limit++) {
                    json_t *page = NULL, *want = json_array();

                    q.offset = offset;
                    q.limit = limit;
                    assert_int_equal(cg_event_kpi(f->ev, &everyone, &q, &page, &err), 0);
                    for (size_t j = (size_t)offset; j < n && j < (size_t)(offset + limit); j++) {
                        json_array_append(want, json_array_get(rows, j));
                    }
                    if (!json_equal(want, json_object_get(page, "rows"))) {
                        char *x = json_dumps(want, JSON_COMPACT);
                        char *y = json_dumps(json_object_get(page, "rows"), JSON_COMPACT);

                        fail_msg("by %s order %s offset %lld limit %lld:\nwant %s\ngot  %s", bys[b],
                                 order, (long long)offset, (long long)limit, x, y);
                    }
                    assert_true(
                        json_equal(json_object_get(all, "total"), json_object_get(page, "total")));
                    pages += n > (size_t)(offset + limit);
                    json_decref(want);
                    json_decref(page);
                }
            }
            q.offset = 0;
            q.limit = 0;
            json_decref(all);
        }
    }
    assert_true(pages > 100); /* most pages leave groups out: the heap replaced rows */
    cg_principal_release(&everyone);
    cast_free(&h.c);
}

static void test_rollup_check_and_rebuild(void **state)
{
    static const char *const stats[] = {"stats.read", "event.read", NULL};
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct history h = {.f = f, .seed = 20261224};
    struct cg_principal everyone;
    struct diffs x = {0};
    char bucket[16], area[32], day[16], grid[32];
    int64_t rows = 0, differ = -1, rebuilt = 0, before = 0;
    json_t *year, *by_dept, *again;
    struct cg_conn *conn;
    struct cg_stmt *st = NULL;

    build_history(&h);
    test_principal(&everyone, 0, "everyone", CG_SCOPE_ALL, "", stats);
    assert_int_equal(cg_event_rollup_check(f->db, NULL, NULL, &rows, &differ, &err), 0);
    assert_true(rows > 0);
    assert_int_equal(differ, 0);
    year = kpi_of(f, &everyone, "grid", "2000-01-01", "2100-01-01");
    by_dept = kpi_of(f, &h.c.duty, "department", "2000-01-01", "2100-01-01");
    assert_string_equal(json_string_value(json_object_get(year, "source")), "rollup");

    /* one folded row of a grid's month and one pending row, changed by hand */
    assert_int_equal(cg_db_reader(f->db, &conn, &err), 0);
    assert_int_equal(cg_db_prepare_bind(conn,
                                        "SELECT bucket, area FROM event_rollup WHERE dim = 0"
                                        " AND lvl = 3 AND length(bucket) = 7 ORDER BY 1, 2",
                                        &st, &err, ""),
                     0);
    assert_int_equal(cg_db_step(st, &err), CG_DB_ROW);
    snprintf(bucket, sizeof(bucket), "%s", cg_db_column_text(st, 0));
    snprintf(area, sizeof(area), "%s", cg_db_column_text(st, 1));
    cg_db_finalize(st);
    assert_int_equal(cg_db_prepare_bind(conn,
                                        "SELECT day, g FROM event_rollup_pending"
                                        " ORDER BY id LIMIT 1",
                                        &st, &err, ""),
                     0);
    assert_int_equal(cg_db_step(st, &err), CG_DB_ROW);
    snprintf(day, sizeof(day), "%s", cg_db_column_text(st, 0));
    snprintf(grid, sizeof(grid), "%s", cg_db_column_text(st, 1));
    cg_db_finalize(st);
    {
        char sql[300];

        snprintf(sql, sizeof(sql),
                 "UPDATE event_rollup SET closed = closed + 1 WHERE dim = 0 AND lvl = 3"
                 " AND bucket = '%s' AND area = '%s' AND key = ''",
                 bucket, area);
        assert_int_equal(cg_db_write(f->db, test_exec_job, sql, &err), 0);
    }
    assert_int_equal(cg_db_write(f->db, test_exec_job,
                                 (char *)"UPDATE event_rollup_pending SET reported = reported + 2"
                                         " WHERE id = (SELECT min(id) FROM event_rollup_pending)",
                                 &err),
                     0);

    /* the check names both, and changes nothing: a second check says the same */
    x.bucket = bucket;
    x.area = area;
    x.pending_day = day;
    x.pending_grid = grid;
    before = count_rows(f, "SELECT count(*) FROM event_rollup_pending");
    assert_int_equal(cg_event_rollup_check(f->db, collect_diff, &x, &rows, &differ, &err),
                     CG_ECONFLICT);
    assert_true(x.found_rollup);
    assert_true(x.found_pending);
    assert_int_equal(x.n, differ);
    assert_true(differ >= 2);
    assert_non_null(strstr(err.message, "differ"));
    cg_error_clear(&err);
    x.n = 0;
    assert_int_equal(cg_event_rollup_check(f->db, collect_diff, &x, &rows, &differ, &err),
                     CG_ECONFLICT);
    cg_error_clear(&err);
    assert_int_equal(x.n, differ);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM event_rollup_pending"), before);

    /* rebuilt: the check passes, nothing is pending, the KPIs answer as before, audited */
    assert_int_equal(cg_event_rollup_rebuild(f->db, NULL, "test", &rebuilt, &err), 0);
    assert_int_equal(rebuilt, rows);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM event_rollup"), rows);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM event_rollup_pending"), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM audit_log WHERE action = 'kpi.rebuild'"
                                   " AND object_type = 'event_rollup' AND remote = 'test'"),
                     1);
    assert_int_equal(cg_event_rollup_check(f->db, NULL, NULL, &rows, &differ, &err), 0);
    assert_int_equal(differ, 0);
    again = kpi_of(f, &everyone, "grid", "2000-01-01", "2100-01-01");
    assert_true(json_equal(again, year));
    json_decref(again);
    again = kpi_of(f, &h.c.duty, "department", "2000-01-01", "2100-01-01");
    assert_true(json_equal(again, by_dept));
    json_decref(again);
    compare_kpis(f, &everyone, "town", "2000-01-01", "2100-01-01");
    compare_kpis(f, &everyone, "worker", "2000-01-01", "2100-01-01");

    /* the triggers go on from the rebuilt roll-ups: more history still checks */
    for (int i = 0; i < 20; i++) {
        walk(&h);
    }
    assert_int_equal(cg_event_rollup_check(f->db, NULL, NULL, &rows, &differ, &err), 0);
    compare_kpis(f, &everyone, "village", "2000-01-01", "2100-01-01");
    json_decref(year);
    json_decref(by_dept);
    cg_principal_release(&everyone);
    cast_free(&h.c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_workflow_to_closure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_name_the_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tiers_up_and_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_dispatchers_one_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_citizen_return_visit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kinds_grids_and_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_merge_and_risk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_risk_repeats_by_the_same_person, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_warns_once_and_supervises, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kpi_rollups_match_the_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kpi_pages_are_slices_of_the_ranking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recent_events_agree_with_the_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollup_check_and_rebuild, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
