/*
 * Unit tests for the live map (src/domain/live and the event and patrol
 * feeds, docs/LIVE.md): what the feeds return between two cursors and who
 * may see it, and the hub: hello and cursor, messages in scope only, refused
 * cursors, the subscriber limit, a client that does not read being dropped,
 * and resuming from a cursor. The store holds the Zhongshan demo city and
 * the default catalogue.
 */
#include "test.h"
#include "testdb.h"
#include "base/mem.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/auth/auth.h"
#include "domain/calendar/calendar.h"
#include "domain/event/event.h"
#include "domain/grid/index.h"
#include "domain/live/live.h"
#include "domain/patrol/patrol.h"

#include <unistd.h>

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
    struct cg_patrols *pm;
    struct cg_principal w1, w2, town, village207, dept;
};

static const char accounts_sql[] =
    "INSERT INTO account(id, login, display_name, password_hash, password_changed_at,"
    " scope_kind, scope_ref, created_at, updated_at) VALUES"
    " (101, 'w1', '网格员一', 'x', 'now', 'grid', '442000105001001', 'now', 'now'),"
    " (102, 'w2', '网格员二', 'x', 'now', 'grid', '442000105207002', 'now', 'now');"
    "UPDATE grid_staff SET account_id = 101 WHERE id = (SELECT MIN(staff_id) FROM"
    " grid_assignment WHERE grid_code = '442000105001001' AND role = 'worker'"
    " AND until IS NULL);";

static const char *const worker_perms[] = {"event.report", "event.read", "patrol.record", NULL};
static const char *const live_perms[] = {"event.read", "live.read", NULL};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct cg_error err = CG_ERROR_INIT;

    test_db_open(&f->t, "livetest");
    f->db = f->t.db;
    test_db_demo(f->db);
    assert_int_equal(cg_db_write(f->db, test_exec_job, (void *)accounts_sql, &err), 0);
    assert_int_equal(cg_grid_locator_new(f->db, &f->grids, &err), 0);
    assert_int_equal(cg_calendar_load(f->db, &f->cal, &err), 0);
    f->ev = cg_events_new(f->db, f->grids, f->cal);
    f->pm = cg_patrols_new(f->db, f->grids, f->ev);
    assert_int_equal(cg_patrols_load(f->pm, &err), 0);
    test_principal(&f->w1, 101, "w1", CG_SCOPE_GRID, "442000105001001", worker_perms);
    test_principal(&f->w2, 102, "w2", CG_SCOPE_GRID, "442000105207002", worker_perms);
    test_principal(&f->town, 201, "town", CG_SCOPE_GRID, "442000105", live_perms);
    test_principal(&f->village207, 202, "v207", CG_SCOPE_GRID, "442000105207", live_perms);
    test_principal(&f->dept, 203, "water", CG_SCOPE_DEPARTMENT, "水务部门", live_perms);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cg_principal_release(&f->w1);
    cg_principal_release(&f->w2);
    cg_principal_release(&f->town);
    cg_principal_release(&f->village207);
    cg_principal_release(&f->dept);
    cg_patrols_free(f->pm);
    cg_events_free(f->ev);
    cg_calendar_release(f->cal);
    cg_grid_locator_free(f->grids);
    test_db_close(&f->t);
    free(f);
    return 0;
}

static int64_t report(struct fixture *f, const struct cg_principal *p, double lon, double lat)
{
    struct cg_event_input in = {.source = "patrol",
                                .category_kind = "event",
                                .category_code = "0102",
                                .title = "路边暴露垃圾",
                                .lon = lon,
                                .lat = lat};
    struct cg_error err = CG_ERROR_INIT;
    json_t *out = NULL;
    int rc = cg_event_report(f->ev, p, &in, "test", &out, &err);
    int64_t id = rc ? rc : json_integer_value(json_object_get(out, "id"));

    assert_true(id > 0);
    json_decref(out);
    return id;
}

struct seen {
    struct cg_event_feed_item items[16];
    struct cg_patrol_feed_item workers[16];
    int n, n_workers;
};

static void seen_event(void *ctx, const struct cg_event_feed_item *it)
{
    struct seen *s = ctx;

    assert_true(s->n < 16);
    s->items[s->n++] = *it;
}

static void seen_worker(void *ctx, const struct cg_patrol_feed_item *it)
{
    struct seen *s = ctx;

    assert_true(s->n_workers < 16);
    s->workers[s->n_workers++] = *it;
}

static void test_event_feed(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    int64_t log0, notice0, log1, notice1;
    struct seen s = {0};
    bool more = true;
    int64_t a, b;

    assert_int_equal(cg_event_feed_head(f->db, &log0, &notice0, &err), 0);
    a = report(f, &f->w1, IN_LON, IN_LAT);
    b = report(f, &f->w2, OTHER_LON, OTHER_LAT);
    assert_int_equal(cg_event_feed_head(f->db, &log1, &notice1, &err), 0);
    assert_int_equal(log1, log0 + 2);
    assert_int_equal(cg_event_feed_changes(f->db, f->cal, log0, log1, notice0, notice1, 10,
                                           cg_time_now_ms(), seen_event, &s, &more, &err),
                     0);
    assert_false(more);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.items[0].id, a); /* in the order of the log */
    assert_int_equal(s.items[1].id, b);
    assert_string_equal(s.items[0].state, "reported");
    assert_string_equal(s.items[0].grid_code, "442000105001001");
    assert_string_equal(s.items[0].warning, "none"); /* a fresh step is far from its deadline */
    assert_true(s.items[0].open);
    assert_true(cg_event_feed_visible(&f->town, &s.items[0]));
    assert_true(cg_event_feed_visible(&f->town, &s.items[1]));
    assert_false(cg_event_feed_visible(&f->village207, &s.items[0]));
    assert_true(cg_event_feed_visible(&f->village207, &s.items[1]));
    assert_false(cg_event_feed_visible(&f->dept, &s.items[0]));

    /* One event changed twice between the cursors comes once; a limit says "more". */
    memset(&s, 0, sizeof(s));
    assert_int_equal(cg_event_feed_changes(f->db, f->cal, log0, log1, notice0, notice1, 1,
                                           cg_time_now_ms(), seen_event, &s, &more, &err),
                     0);
    assert_int_equal(s.n, 1);
    assert_true(more);

    /* The open events of a scope. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(cg_event_feed_open(f->db, f->cal, &f->village207, 10, cg_time_now_ms(),
                                        seen_event, &s, &err),
                     0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.items[0].id, b);
    {
        json_t *j = cg_event_feed_json(&s.items[0]);

        assert_string_equal(json_string_value(json_object_get(j, "state")), "reported");
        assert_string_equal(json_string_value(json_object_get(j, "warning")), "none");
        assert_int_equal(json_integer_value(json_object_get(j, "id")), b);
        assert_true(json_is_true(json_object_get(j, "open")));
        json_decref(j);
    }
}

static void test_patrol_feed(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct seen s = {0};
    bool more = true;
    int64_t head0 = 0, head1 = 0, now = cg_time_now_ms();
    json_t *out = NULL, *pts;
    char t[CG_TIME_ISO_LEN], text[160];
    int64_t id;

    assert_int_equal(cg_patrol_feed_head(f->db, &head0, &err), 0);
    assert_int_equal(cg_patrol_start(f->pm, &f->w1, NULL, 0, &out, &err), 0);
    id = json_integer_value(json_object_get(out, "id"));
    json_decref(out);
    cg_time_iso(now - 1000, t, sizeof(t));
    snprintf(text, sizeof(text), "[{\"t\": \"%s\", \"lon\": %.6f, \"lat\": %.6f}]", t, IN_LON,
             IN_LAT);
    pts = json_loads(text, 0, NULL);
    assert_int_equal(cg_patrol_points(f->pm, &f->w1, id, pts, &out, &err), 0);
    json_decref(pts);
    json_decref(out);
    assert_int_equal(cg_patrol_feed_head(f->db, &head1, &err), 0);
    assert_true(head1 >= head0 && head1 > 0);

    assert_int_equal(cg_patrol_feed_changes(f->db, head1, 10, seen_worker, &s, &more, &err), 0);
    assert_false(more);
    assert_int_equal(s.n_workers, 1); /* at or after the head: the change itself */
    assert_int_equal(s.workers[0].account_id, 101);
    assert_int_equal(s.workers[0].t_ms, now - 1000);
    assert_true(s.workers[0].on_duty); /* duty "auto" while the patrol runs */
    assert_string_equal(s.workers[0].name, "网格员一");
    assert_true(cg_patrol_feed_visible(&f->town, &s.workers[0]));
    assert_false(cg_patrol_feed_visible(&f->village207, &s.workers[0]));
    assert_false(cg_patrol_feed_visible(&f->dept, &s.workers[0]));

    memset(&s, 0, sizeof(s));
    assert_int_equal(cg_patrol_feed_all(f->db, &f->village207, seen_worker, &s, &err), 0);
    assert_int_equal(s.n_workers, 0);
    assert_int_equal(cg_patrol_feed_all(f->db, &f->town, seen_worker, &s, &err), 0);
    assert_int_equal(s.n_workers, 1);
}

/* Reads what sub has queued into buf (NUL-terminated); CG_LIVE_END when it ended. */
static ssize_t drain(struct cg_live_sub *sub, char *buf, size_t size)
{
    size_t len = 0;
    ssize_t n;

    while ((n = cg_live_sub_read(sub, buf + len, size - 1 - len)) > 0) {
        len += (size_t)n;
    }
    buf[len] = '\0';
    return n < 0 ? n : (ssize_t)len;
}

/* Waits (up to 20 s) until sub's queue holds needle; returns what was read. */
static bool wait_for(struct cg_live_sub *sub, const char *needle, char *acc, size_t size)
{
    size_t len = strlen(acc);

    for (int i = 0; i < 2000; i++) {
        ssize_t n = drain(sub, acc + len, size - len);

        if (n > 0) {
            len += (size_t)n;
        }
        if (strstr(acc, needle)) {
            return true;
        }
        if (n < 0) {
            return false;
        }
        usleep(10000);
    }
    return false;
}

static void wake_count(void *arg)
{
    (*(int *)arg)++;
}

static void test_hub(void **state)
{
    struct fixture *f = *state;
    struct cg_error err = CG_ERROR_INIT;
    struct cg_live_options opt = {2, 64 * 1024, 50, 60000, 3600};
    struct cg_live *lv = NULL;
    struct cg_live_sub *town = NULL, *v207 = NULL, *third = NULL;
    static char a[65536], b[65536];
    char needle[64], cursor[CG_LIVE_CURSOR_MAX];
    int wakes = 0;
    int64_t in, out;

    assert_int_equal(cg_live_start(f->db, f->cal, &opt, &lv, &err), 0);
    assert_int_equal(cg_live_subscribe(lv, &f->town, "x-1-2", json_object(), &town, &err),
                     CG_EINVAL);
    assert_string_equal(err.field, "after");
    cg_error_clear(&err);
    assert_int_equal(cg_live_subscribe(lv, &f->town, NULL, json_object(), &town, &err), 0);
    assert_int_equal(cg_live_subscribe(lv, &f->village207, "", json_object(), &v207, &err), 0);
    assert_int_equal(cg_live_subscribers(lv), 2);
    assert_int_equal(cg_live_subscribe(lv, &f->town, NULL, json_object(), &third, &err), CG_EBUSY);
    cg_error_clear(&err);
    cg_live_sub_attach(town, wake_count, &wakes);

    a[0] = b[0] = '\0';
    assert_true(drain(town, a, sizeof(a)) > 0);
    assert_non_null(strstr(a, "event: hello\ndata: {"));
    cg_live_cursor(lv, cursor);
    assert_non_null(strstr(a, cursor));

    out = report(f, &f->w1, IN_LON, IN_LAT);
    in = report(f, &f->w2, OTHER_LON, OTHER_LAT);
    snprintf(needle, sizeof(needle), "\"id\":%" PRId64 ",", in);
    assert_true(wait_for(town, needle, a, sizeof(a)));
    assert_true(wait_for(v207, needle, b, sizeof(b)));
    assert_true(wakes > 0);
    snprintf(needle, sizeof(needle), "\"id\":%" PRId64 ",", out);
    assert_non_null(strstr(a, needle));
    assert_null(strstr(b, needle)); /* the earlier event of another village never came */
    assert_non_null(strstr(b, "\nid: "));

    /* Resuming from the first cursor: what was missed comes again. */
    cg_live_sub_free(v207);
    assert_int_equal(cg_live_subscribe(lv, &f->town, cursor, json_object(), &v207, &err), 0);
    b[0] = '\0';
    assert_true(wait_for(v207, needle, b, sizeof(b)));

    /* A subscriber that never reads is dropped once its queue passes queue_bytes. */
    cg_live_sub_free(v207);
    cg_live_sub_free(town);
    cg_live_stop(lv);
    opt.queue_bytes = 1024;
    assert_int_equal(cg_live_start(f->db, f->cal, &opt, &lv, &err), 0);
    assert_int_equal(cg_live_subscribe(lv, &f->town, NULL, json_object(), &town, &err), 0);
    for (int i = 0; i < 8; i++) {
        report(f, &f->w1, IN_LON, IN_LAT); /* some 300 bytes of message each */
    }
    {
        int64_t head = 0, notice = 0;
        bool caught_up = false;

        assert_int_equal(cg_event_feed_head(f->db, &head, &notice, &err), 0);
        snprintf(needle, sizeof(needle), "%" PRId64 "-", head);
        for (int i = 0; i < 2000 && !caught_up; i++) {
            cg_live_cursor(lv, cursor);
            caught_up = !strncmp(cursor, needle, strlen(needle));
            if (!caught_up) {
                usleep(10000);
            }
        }
        assert_true(caught_up); /* the hub went through every report, nobody read */
        a[0] = '\0';
        assert_int_equal(drain(town, a, sizeof(a)), CG_LIVE_END);
    }
    cg_live_sub_free(town);
    cg_live_stop(lv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_event_feed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patrol_feed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
