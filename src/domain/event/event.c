/*
 * event.c: the rules of events (event.h): the state machine table, reports,
 * actions, deadlines and warnings, the sweep and the dashboard. The KPIs are
 * event_kpi.c's. No SQL here: event_store.c has it.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/str.h"
#include "domain/auth/auth.h"
#include "domain/calendar/calendar.h"
#include "domain/catalogue/catalogue.h"
#include "db/db.h"
#include "domain/event/event_int.h"
#include "domain/grid/index.h"

#include <math.h>
#include <pthread.h>
#include <time.h>

/* Duplicates: open events of the same class this close, this recent (docs/EVENTS.md). */
#define DUP_RADIUS_M 100 /* metres */
#define DUP_WINDOW_MS (72 * 3600 * INT64_C(1000))
/* Repeats that raise the risk: any event of the class this close, this recent. */
#define REPEAT_RADIUS_M 200 /* metres */
#define REPEAT_WINDOW_MS (30 * 86400 * INT64_C(1000))
#define NEAR_MAX 16
/* The repeats read at a report, newest first: the duplicates are the newest of them. */
#define NEAR_SEEN 64
/* A citizen's latest reports that count as repeats by the same person. */
#define PERSON_LAST 10
/* How long the words of table risk_word are used before they are read again. */
#define RISK_WORDS_TTL_MS (10 * INT64_C(1000))

/* ---- the state machine ------------------------------------------------------------------ */

/* Extra conditions of a row, on the event or the action. */
enum guard {
    G_NONE,
    G_NOT_CITIZEN, /* not citizen-sourced: closed without a return visit */
    G_SATISFIED,   /* revisit with satisfaction 3..5 */
    G_UNSATISFIED, /* revisit with satisfaction 1..2: handled again */
};

/* What entering the target state does. */
enum effect {
    E_NONE = 0,
    E_REWORK = 1 << 0,    /* 返工: the rework counter grows */
    E_SUPERVISE = 1 << 1, /* 督办: flagged, state unchanged */
    E_ESCALATE = 1 << 2,  /* up one tier: grid > village > town > department */
    E_DUE = 1 << 3,       /* the handling limit (处置时限) starts: due_at */
    E_EXTEND = 1 << 4,    /* due_at moves by one more handling limit */
    E_CLOSE = 1 << 5,     /* closed: closure type and time */
    E_MERGE = 1 << 6,     /* a duplicate joins another event (into) */
    E_DELEGATE = 1 << 7,  /* down one tier (下派): department > town > village > grid */
};

/* Which catalogue limit the deadline of the target state comes from (-1: none). */
#define NO_STEP (-1)

struct transition {
    const char *from; /* "*": any open state, and the state does not change */
    const char *action;
    const char *to;
    const char *permission;
    enum guard guard;
    unsigned effects;
    int step;
};

/*
 * The workflow (standards.md 1.4; docs/EVENTS.md has the diagram). Rows are
 * tried in order: the first whose state, permission and guard match wins.
 */
static const struct transition machine[] = {
    {"reported", "accept", "accepted", "event.accept", G_NONE, 0, CG_CATALOGUE_ACCEPT},
    {"reported", "resolve", "closed", "event.resolve", G_NONE, E_CLOSE, NO_STEP},
    {"reported", "escalate", "reported", "event.resolve", G_NONE, E_ESCALATE, NO_STEP},
    {"reported", "escalate", "reported", "event.accept", G_NONE, E_ESCALATE, NO_STEP},
    {"reported", "cancel", "cancelled", "event.accept", G_NONE, 0, NO_STEP},
    {"accepted", "verify_request", "verifying", "event.accept", G_NONE, 0, CG_CATALOGUE_CHECK},
    {"accepted", "file", "filed", "event.accept", G_NONE, 0, CG_CATALOGUE_DISPATCH},
    {"accepted", "escalate", "accepted", "event.accept", G_NONE, E_ESCALATE, NO_STEP},
    {"reported", "delegate", "reported", "event.accept", G_NONE, E_DELEGATE, NO_STEP},
    {"accepted", "delegate", "accepted", "event.accept", G_NONE, E_DELEGATE, NO_STEP},
    {"accepted", "cancel", "cancelled", "event.accept", G_NONE, 0, NO_STEP},
    {"verifying", "verified", "accepted", "event.verify", G_NONE, 0, CG_CATALOGUE_ACCEPT},
    {"verifying", "cancel", "cancelled", "event.accept", G_NONE, 0, NO_STEP},
    {"filed", "dispatch", "dispatched", "event.dispatch", G_NONE, E_DUE, CG_CATALOGUE_HANDLE},
    {"dispatched", "sign", "handling", "event.handle", G_NONE, 0, CG_CATALOGUE_HANDLE},
    {"dispatched", "reassign", "dispatched", "event.dispatch", G_NONE, E_DUE, CG_CATALOGUE_HANDLE},
    {"dispatched", "return_request", "return_requested", "event.handle", G_NONE, 0, NO_STEP},
    {"handling", "feedback", "handled", "event.handle", G_NONE, 0, CG_CATALOGUE_CHECK},
    {"handling", "extend_request", "extension_requested", "event.handle", G_NONE, 0, NO_STEP},
    {"handling", "suspend_request", "suspension_requested", "event.handle", G_NONE, 0, NO_STEP},
    {"handling", "return_request", "return_requested", "event.handle", G_NONE, 0, NO_STEP},
    {"return_requested", "approve_return", "filed", "event.dispatch", G_NONE, 0,
     CG_CATALOGUE_DISPATCH},
    {"return_requested", "reject_return", "handling", "event.dispatch", G_NONE, 0,
     CG_CATALOGUE_HANDLE},
    {"extension_requested", "approve_extension", "handling", "event.supervise", G_NONE, E_EXTEND,
     NO_STEP},
    {"extension_requested", "reject_extension", "handling", "event.supervise", G_NONE, 0, NO_STEP},
    {"suspension_requested", "approve_suspension", "suspended", "event.supervise", G_NONE, 0,
     NO_STEP},
    {"suspension_requested", "reject_suspension", "handling", "event.supervise", G_NONE, 0,
     NO_STEP},
    {"suspended", "resume", "handling", "event.supervise", G_NONE, 0, CG_CATALOGUE_HANDLE},
    {"handled", "check_pass", "checked", "event.verify", G_NONE, 0, NO_STEP},
    {"handled", "check_fail", "handling", "event.verify", G_NONE, E_REWORK, CG_CATALOGUE_HANDLE},
    {"checked", "close", "closed", "event.close", G_NOT_CITIZEN, E_CLOSE, NO_STEP},
    {"checked", "revisit", "closed", "event.close", G_SATISFIED, E_CLOSE, NO_STEP},
    {"checked", "revisit", "handling", "event.close", G_UNSATISFIED, E_REWORK, CG_CATALOGUE_HANDLE},
    {"*", "supervise", "*", "event.supervise", G_NONE, E_SUPERVISE, NO_STEP},
    {"*", "merge", "merged", "event.accept", G_NONE, E_MERGE, NO_STEP},
};

static const char *const terminal[] = {"closed", "cancelled", "recorded", "merged", NULL};

static bool is_terminal(const char *state)
{
    for (size_t i = 0; terminal[i]; i++) {
        if (!strcmp(state, terminal[i])) {
            return true;
        }
    }
    return false;
}

static bool citizen_sourced(const struct cg_event__row *r)
{
    return !strcmp(r->source, "citizen") || !strcmp(r->source, "hotline");
}

static bool guard_holds(enum guard g, const struct cg_event__row *r,
                        const struct cg_event_action *a)
{
    switch (g) {
    case G_NONE:
        return true;
    case G_NOT_CITIZEN:
        return !citizen_sourced(r);
    case G_SATISFIED:
        return a && a->satisfaction >= 3;
    case G_UNSATISFIED:
        return a && a->satisfaction >= 1 && a->satisfaction <= 2;
    }
    return false;
}

static bool row_applies(const struct transition *t, const struct cg_event__row *r)
{
    return !strcmp(t->from, r->state) || (!strcmp(t->from, "*") && !is_terminal(r->state));
}

/* The actions p may take on r now, as a JSON array of names (each once). */
static json_t *allowed(const struct cg_principal *p, const struct cg_event__row *r)
{
    json_t *list = json_array(), *seen = json_object();

    for (size_t i = 0; i < CG_ARRAY_LEN(machine); i++) {
        const struct transition *t = &machine[i];

        if (row_applies(t, r) && cg_auth_has(p, t->permission) &&
            (t->guard != G_NOT_CITIZEN || !citizen_sourced(r)) &&
            !json_object_get(seen, t->action)) {
            json_object_set_new(seen, t->action, json_true());
            json_array_append_new(list, json_string(t->action));
        }
    }
    json_decref(seen);
    return list;
}

json_t *cg_event_machine_json(void)
{
    static const char *const guards[] = {NULL, "not citizen-sourced", "satisfaction 3-5",
                                         "satisfaction 1-2"};
    json_t *rows = json_array();

    for (size_t i = 0; i < CG_ARRAY_LEN(machine); i++) {
        const struct transition *t = &machine[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "from", t->from, "action", t->action, "to",
                              t->to, "permission", t->permission);

        if (guards[t->guard]) {
            json_object_set_new(o, "when", json_string(guards[t->guard]));
        }
        json_array_append_new(rows, o);
    }
    return json_pack("{s:o}", "transitions", rows);
}

/* ---- the module ------------------------------------------------------------------------- */

struct cg_events *cg_events_new(struct cg_db *db, struct cg_grid_locator *grids,
                                struct cg_calendar *cal)
{
    struct cg_events *ev = cg_calloc(1, sizeof(*ev));

    ev->db = db;
    ev->grids = grids;
    ev->recent = cg_event__recent_new(db, REPEAT_WINDOW_MS);
    cg_str_init(&ev->words.text, CG_STR_MAX_DEFAULT);
    pthread_mutex_init(&ev->mu, NULL);
    ev->cal = cal ? cg_calendar_hold(cal) : NULL;
    return ev;
}

void cg_events_free(struct cg_events *ev)
{
    if (!ev) {
        return;
    }
    if (ev->cal) {
        cg_calendar_release(ev->cal);
    }
    cg_event__recent_free(ev->recent);
    cg_str_release(&ev->words.text);
    free(ev->words.at);
    free(ev->words.points);
    pthread_mutex_destroy(&ev->mu);
    free(ev);
}

void cg_events_set_calendar(struct cg_events *ev, struct cg_calendar *cal)
{
    struct cg_calendar *old;

    pthread_mutex_lock(&ev->mu);
    old = ev->cal;
    ev->cal = cal ? cg_calendar_hold(cal) : NULL;
    pthread_mutex_unlock(&ev->mu);
    if (old) {
        cg_calendar_release(old);
    }
}

static struct cg_calendar *calendar(struct cg_events *ev)
{
    struct cg_calendar *cal;

    pthread_mutex_lock(&ev->mu);
    cal = ev->cal ? cg_calendar_hold(ev->cal) : NULL;
    pthread_mutex_unlock(&ev->mu);
    return cal;
}

/*
 * The deadline of a catalogue limit from start_ms into out (RFC 3339), "" when
 * the class has no limit for that step; when the working calendar cannot say
 * (no data for the year), "" too and *why tells (the documented rule: the step
 * has no deadline rather than a wrong one).
 */
static void deadline(struct cg_events *ev, const struct cg_catalogue_limit *lim, int64_t start_ms,
                     char out[CG_TIME_ISO_LEN], char *why, size_t why_size)
{
    static const enum cg_calendar_unit units[] = {CG_CALENDAR_WORK_HOUR, CG_CALENDAR_WORK_HOUR,
                                                  CG_CALENDAR_WORK_DAY, CG_CALENDAR_NATURAL_HOUR};
    struct cg_calendar *cal;
    struct cg_error err = CG_ERROR_INIT;
    int64_t at = 0;

    out[0] = '\0';
    if (lim->unit == CG_CATALOGUE_NO_LIMIT) {
        return;
    }
    if (lim->unit == CG_CATALOGUE_NATURAL_HOUR) {
        cg_time_iso(start_ms + (int64_t)llround(lim->value * 3600000.0), out, CG_TIME_ISO_LEN);
        return;
    }
    cal = calendar(ev);
    if (!cal) {
        snprintf(why, why_size, "no working calendar is loaded");
        return;
    }
    if (cg_calendar_add(cal, start_ms, (int64_t)llround(lim->value * 1000.0), units[lim->unit], &at,
                        &err)) {
        snprintf(why, why_size, "%s", err.message);
    } else {
        cg_time_iso(at, out, CG_TIME_ISO_LEN);
    }
    cg_calendar_release(cal);
}

static int parse_time(const char *iso, int64_t *out)
{
    return *iso && cg_time_parse_iso(iso, out) ? 0 : -1;
}

/* "red" past the deadline, "yellow" in the last quarter of the step's time, else NULL. */
static const char *warning_of(struct cg_events *ev, const struct cg_event__row *r, int64_t now)
{
    int64_t start, due, left = 0, span = 0;
    struct cg_calendar *cal;
    struct cg_error err = CG_ERROR_INIT;

    if (is_terminal(r->state) || parse_time(r->deadline_at, &due) ||
        parse_time(r->step_started_at, &start)) {
        return NULL;
    }
    if (now >= due) {
        return "red";
    }
    cal = calendar(ev);
    if (!cal || cg_calendar_elapsed(cal, now, due, &left, &err) ||
        cg_calendar_elapsed(cal, start, due, &span, &err)) {
        left = due - now; /* natural time when the calendar cannot say */
        span = due - start;
    }
    if (cal) {
        cg_calendar_release(cal);
    }
    return span > 0 && left * 4 <= span ? "yellow" : NULL;
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *row_json(struct cg_events *ev, const struct cg_event__row *r, int64_t now)
{
    const char *w = warning_of(ev, r, now);
    json_t *o = json_pack(
        "{s:I, s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:s, s:s, s:s,"
        " s:b, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:I, s:o}",
        "id", (json_int_t)r->id, "kind", r->kind, "source", r->source, "category", "kind",
        r->category_kind, "code", r->category_code, "name", r->category_name, "department",
        r->department, "urgency", r->urgency, "title", r->title, "description", r->description,
        "address", r->address, "lon", r->lon, "lat", r->lat, "grid", r->grid_code, "state",
        r->state, "tier", r->tier, "supervised", r->supervised, "rework_count",
        (json_int_t)r->rework_count, "step_started_at", str_or_null(r->step_started_at),
        "deadline_at", str_or_null(r->deadline_at), "due_at", str_or_null(r->due_at), "warning",
        str_or_null(w), "closure_type", str_or_null(r->closure_type), "satisfaction",
        r->satisfaction ? json_integer(r->satisfaction) : json_null(), "created_at", r->created_at,
        "closed_at", str_or_null(r->closed_at), "version", (json_int_t)r->version, "reporter_id",
        r->reporter_id ? json_integer(r->reporter_id) : json_null());
    json_t *reasons = json_loads(r->risk_reasons ? r->risk_reasons : "[]", 0, NULL);

    json_object_set_new(o, "people", json_integer(r->people));
    json_object_set_new(o, "risk",
                        json_pack("{s:i, s:o}", "score", r->risk_score, "reasons",
                                  reasons ? reasons : json_array()));
    json_object_set_new(o, "merged_into",
                        r->merged_into ? json_integer(r->merged_into) : json_null());
    return o;
}

/*
 * The scope check: the event's grid, department and reporter; a citizen also
 * sees the events that duplicates of its reports were merged into.
 */
static bool visible(struct cg_events *ev, const struct cg_principal *p,
                    const struct cg_event__row *r)
{
    struct cg_auth_object obj = {r->grid_code, r->department, r->reporter_id};
    struct cg_error err = CG_ERROR_INIT;

    if (!p || !cg_auth_allow(p, "event.read", &obj, &err)) {
        return true;
    }
    return p->scope_kind == CG_SCOPE_OWN && cg_auth_has(p, "event.read") &&
           cg_event__follows(ev->db, r->id, p->account_id);
}

/* ---- reporting -------------------------------------------------------------------------- */

struct risk_words {
    const char *title, *description;
    json_t *reasons;
    int points;
};

static void word_add(void *ctx, const char *word, int points)
{
    struct cg_event__word_list *l = ctx;

    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->at = cg_realloc(l->at, l->cap * sizeof(*l->at));
        l->points = cg_realloc(l->points, l->cap * sizeof(*l->points));
    }
    l->at[l->n] = l->text.len;
    l->points[l->n++] = points;
    cg_str_adds(&l->text, word);
    cg_str_addch(&l->text, '\0');
}

/*
 * The risk words found in w's title or description, into w. The words are read again from
 * the store every RISK_WORDS_TTL_MS (the table is edited by hand), not at every report.
 */
static void risk_words(struct cg_events *ev, struct risk_words *w)
{
    struct cg_event__word_list *l = &ev->words;
    struct cg_event__word_list old = {CG_STR_INIT, NULL, NULL, 0, 0, 0, false};
    int64_t now = cg_time_mono_ns() / 1000000;

    /* One thread reads the table again when due, outside the lock (which the calendar shares);
       the others use the words as last read meanwhile. A failed read is tried again when due
       (the words as last read until then). */
    pthread_mutex_lock(&ev->mu);
    if (!l->reading && (!l->read_ms || now - l->read_ms >= RISK_WORDS_TTL_MS)) {
        struct cg_event__word_list fresh = {CG_STR_INIT, NULL, NULL, 0, 0, now, false};
        struct cg_error err = CG_ERROR_INIT;
        bool ok;

        l->reading = true;
        l->read_ms = now;
        pthread_mutex_unlock(&ev->mu);
        ok = !cg_event__risk_words(ev->db, word_add, &fresh, &err) && !fresh.text.err;
        pthread_mutex_lock(&ev->mu);
        old = fresh; /* freed below: the one that failed, or the list it replaces */
        if (ok) {
            old = *l;
            *l = fresh;
        }
        l->reading = false;
    }
    for (size_t i = 0; i < l->n; i++) {
        const char *word = l->text.buf + l->at[i];

        if (strstr(w->title, word) || strstr(w->description, word)) {
            json_array_append_new(w->reasons, json_pack("{s:s, s:s, s:i}", "code", "word", "detail",
                                                        word, "points", l->points[i]));
            w->points += l->points[i];
        }
    }
    pthread_mutex_unlock(&ev->mu);
    cg_str_release(&old.text);
    free(old.at);
    free(old.points);
}

int cg_events_warm(struct cg_events *ev, size_t *out_events, struct cg_error *err)
{
    struct risk_words none = {"", "", json_array(), 0};

    risk_words(ev, &none); /* the words too, before a report races the first read */
    json_decref(none.reasons);
    return cg_event__recent_warm(ev->recent, cg_time_now_ms(), out_events, err);
}

/*
 * The risk score of a new report, 0..100, with its reasons: the class's
 * urgency (10, 30, 50), people involved (5 per doubling, at most 30), earlier
 * events of the class nearby (10 each, at most 30), sensitive words of the
 * risk_word table in the title or description (their points, at most 40); n is the
 * number of earlier events of the class within REPEAT_RADIUS_M and REPEAT_WINDOW_MS, mine
 * how many of the reporter's latest PERSON_LAST reports are that recent.
 */
static void risk(struct cg_events *ev, struct cg_event__row *r, size_t n, int64_t mine)
{
    static const int urgency_points[] = {10, 30, 50};
    json_t *reasons = json_array();
    struct risk_words w = {r->title, r->description, json_array(), 0};
    int u = !strcmp(r->urgency, "emergency") ? 2 : !strcmp(r->urgency, "urgent") ? 1 : 0;
    int score = urgency_points[u];

    json_array_append_new(reasons, json_pack("{s:s, s:s, s:i}", "code", "urgency", "detail",
                                             r->urgency, "points", urgency_points[u]));
    if (r->people > 0) {
        int p = 0;

        for (int64_t k = r->people + 1; k > 1 && p < 30; k >>= 1) {
            p += 5;
        }
        json_array_append_new(reasons, json_pack("{s:s, s:I, s:i}", "code", "people", "detail",
                                                 (json_int_t)r->people, "points", p));
        score += p;
    }
    if (n) {
        int p = n >= 3 ? 30 : (int)n * 10;

        json_array_append_new(reasons, json_pack("{s:s, s:I, s:i}", "code", "repeats", "detail",
                                                 (json_int_t)n, "points", p));
        score += p;
    }
    /* A citizen reporting again and again within the window: a grievance that is not settled
       (重复投诉). Reports by staff are their work, and a hotline operator reports for others. */
    if (r->reporter_id && !strcmp(r->source, "citizen")) {
        if (mine) {
            int p = mine >= 3 ? 20 : (int)mine * 5;

            json_array_append_new(reasons, json_pack("{s:s, s:I, s:i}", "code", "person_repeats",
                                                     "detail", (json_int_t)mine, "points", p));
            score += p;
        }
    }
    risk_words(ev, &w);
    if (w.points) {
        json_array_extend(reasons, w.reasons);
        score += w.points > 40 ? 40 : w.points;
    }
    json_decref(w.reasons);
    r->risk_score = score > 100 ? 100 : score;
    r->risk_reasons = json_dumps(reasons, JSON_COMPACT);
    json_decref(reasons);
}

_Static_assert(DUP_RADIUS_M <= REPEAT_RADIUS_M && DUP_WINDOW_MS <= REPEAT_WINDOW_MS,
               "a report's duplicates are taken from the repeats it read");

/* Not closed, cancelled, recorded (报备) or merged: the OPEN_STATE of the store. */
static bool is_open_state(const char *state)
{
    return strcmp(state, "closed") && strcmp(state, "cancelled") && strcmp(state, "recorded") &&
           strcmp(state, "merged");
}

/*
 * Open events of the same class near r, reported in the last 72 hours, for merging: those of
 * near (n of them, newest first, at least as far and as long ago as the duplicates' reach),
 * or read here from the recent events when near is NULL.
 */
static json_t *duplicates(struct cg_events *ev, const struct cg_principal *actor,
                          const struct cg_event__row *r, int64_t now,
                          const struct cg_event__near *near, size_t n)
{
    struct cg_event__near mine[NEAR_SEEN];
    struct cg_error err = CG_ERROR_INIT;
    char since[CG_TIME_ISO_LEN];
    json_t *list = json_array();
    size_t kept = 0;

    cg_time_iso(now - DUP_WINDOW_MS, since, sizeof(since));
    if (!near) {
        struct cg_event__around_query q = {.category_kind = r->category_kind,
                                           .category_code = r->category_code,
                                           .lon = r->lon,
                                           .lat = r->lat,
                                           .radius_m = DUP_RADIUS_M,
                                           .since_ms = now - DUP_WINDOW_MS}; /* no reporter */
        int64_t ignored_mine;

        /* on an error, what the memory already held */
        (void)cg_event__recent_around(ev->recent, &q, now, mine, NEAR_SEEN, &n, &ignored_mine,
                                      &err);
        cg_error_clear(&err);
        near = mine;
    }
    for (size_t i = 0; i < n && kept < NEAR_MAX; i++) {
        struct cg_auth_object obj = {near[i].grid_code, r->department, 0};

        if (near[i].distance_m > DUP_RADIUS_M || strcmp(near[i].created_at, since) < 0 ||
            !is_open_state(near[i].state)) {
            continue;
        }
        kept++;
        /* only what the reporter may see; a citizen is told only that there are some */
        if (near[i].id == r->id || (actor && cg_auth_allow(actor, "event.read", &obj, &err))) {
            cg_error_clear(&err);
            continue;
        }
        json_array_append_new(list, json_pack("{s:I, s:f, s:s, s:s}", "id", (json_int_t)near[i].id,
                                              "distance_m", near[i].distance_m, "state",
                                              near[i].state, "created_at", near[i].created_at));
    }
    return list;
}

static bool one_of(const char *s, const char *const *choices)
{
    for (size_t i = 0; s && choices[i]; i++) {
        if (!strcmp(s, choices[i])) {
            return true;
        }
    }
    return false;
}

static int check_text(const char *s, const char *field, size_t max, bool required,
                      struct cg_error *err)
{
    size_t n = s ? cg_utf8_count(s, strlen(s)) : 0;

    if (required && n == 0) {
        return cg_error_field(err, CG_EMISSING, field, "'%s' is required", field);
    }
    if (n > max) {
        return cg_error_field(err, CG_EINVAL, field, "'%s' is longer than %zu characters", field,
                              max);
    }
    return 0;
}

/* The event actor already reported with key, as cg_event_get() shows it, or *out NULL. */
static int replayed(struct cg_events *ev, const struct cg_principal *actor, const char *key,
                    json_t **out, struct cg_error *err)
{
    int64_t id = 0;
    int rc = cg_event__by_client_key(ev->db, actor->account_id, key, &id, err);

    *out = NULL;
    if (!rc && id) {
        rc = cg_event_get(ev, actor, id, out, err);
        if (!rc) {
            json_object_set_new(*out, "replayed", json_true());
        }
    }
    return rc;
}

/*
 * The report in as the row r and its log entries (logs, detail: the deadline's note, for the
 * caller to json_decref()), checked against the catalogue, the grid map and the actor's
 * area; or *out already, when in's Idempotency-Key names an event the actor reported.
 */
static int report_row(struct cg_events *ev, const struct cg_principal *actor,
                      const struct cg_event_input *in, const char *kind, int64_t now,
                      struct cg_event__row *r, struct cg_event__log *logs, json_t **detail,
                      json_t **out, struct cg_error *err)
{
    static const char *const urgencies[] = {"normal", "urgent", "emergency"};
    struct cg_catalogue_class cls;
    enum cg_catalogue_kind ckind;
    struct cg_auth_object obj = {0};
    struct cg_grid_index *ix;
    char why[CG_ERROR_MSG_MAX] = "";
    int slot, rc;

    if (in->client_key) {
        size_t n = strlen(in->client_key);

        if (!n || n > CG_EVENT_CLIENT_KEY_MAX ||
            strspn(in->client_key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789._:-") != n) {
            return cg_error_field(err, CG_EINVAL, "Idempotency-Key",
                                  "the Idempotency-Key must be 1 to %d letters, digits or ._:-",
                                  CG_EVENT_CLIENT_KEY_MAX);
        }
        if (actor && actor->account_id) {
            rc = replayed(ev, actor, in->client_key, out, err);
            if (rc || *out) {
                return rc;
            }
        }
    }
    if (!cg_catalogue_kind_parse(in->category_kind ? in->category_kind : "event", &ckind)) {
        return cg_error_field(err, CG_EINVAL, "category_kind", "no category kind '%.20s'",
                              in->category_kind);
    }
    rc = cg_catalogue_lookup(ev->db, ckind, in->category_code, &cls, err);
    if (rc == CG_ENOTFOUND) {
        cg_error_clear(err);
        return cg_error_field(err, CG_EINVAL, "category",
                              "no sub-class '%.20s' in the event catalogue", in->category_code);
    }
    if (rc) {
        return rc;
    }
    if (!cls.active) {
        return cg_error_field(err, CG_EINVAL, "category",
                              "sub-class %s is no longer offered for new events", cls.code);
    }
    ix = cg_grid_locator_acquire(ev->grids);
    slot = cg_grid_index_locate(ix, in->lon, in->lat);
    if (slot >= 0) {
        snprintf(r->grid_code, sizeof(r->grid_code), "%s", cg_grid_index_code(ix, slot));
    }
    cg_grid_locator_release(ev->grids, ix);
    if (slot < 0) {
        return cg_error_field(err, CG_EOUTSIDEGRIDS, "lon",
                              "the point %.6f, %.6f lies outside every grid", in->lon, in->lat);
    }
    obj.grid_code = r->grid_code;
    if (actor && actor->scope_kind != CG_SCOPE_OWN &&
        cg_auth_allow(actor, "event.report", &obj, err)) {
        cg_error_clear(err);
        return cg_error_field(err, CG_EFORBIDDEN, "lon",
                              "the point lies in grid %s, outside your area of work", r->grid_code);
    }
    if (!strcmp(kind, "self_resolved") && actor && !cg_auth_has(actor, "event.resolve")) {
        return cg_error_field(err, CG_EFORBIDDEN, "kind",
                              "only grid staff resolve events on the spot (event.resolve)");
    }
    snprintf(r->kind, sizeof(r->kind), "%s", kind);
    snprintf(r->source, sizeof(r->source), "%s", in->source);
    snprintf(r->category_kind, sizeof(r->category_kind), "%s", cg_catalogue_kind_name(ckind));
    snprintf(r->category_code, sizeof(r->category_code), "%s", cls.code);
    snprintf(r->category_name, sizeof(r->category_name), "%s", cls.name);
    snprintf(r->department, sizeof(r->department), "%s", cls.department);
    snprintf(r->urgency, sizeof(r->urgency), "%s", urgencies[cls.urgency]);
    snprintf(r->tier, sizeof(r->tier), "grid");
    r->title = (char *)in->title;
    r->description = (char *)(in->description ? in->description : "");
    r->address = (char *)(in->address ? in->address : "");
    r->lon = in->lon;
    r->lat = in->lat;
    r->reporter_id = actor ? actor->account_id : 0;
    if (in->people < 0 || in->people > 1000000) {
        return cg_error_field(err, CG_EINVAL, "people", "'people' must be 0 to 1000000");
    }
    r->people = in->people;
    cg_time_iso(now, r->created_at, sizeof(r->created_at));
    snprintf(r->step_started_at, sizeof(r->step_started_at), "%s", r->created_at);
    logs[0] =
        (struct cg_event__log){"report", NULL, "reported", in->note ? in->note : "", "", NULL};
    if (!strcmp(kind, "report_only")) {
        snprintf(r->state, sizeof(r->state), "recorded");
        logs[0].to_state = "recorded";
    } else if (!strcmp(kind, "self_resolved")) {
        snprintf(r->state, sizeof(r->state), "closed");
        snprintf(r->closure_type, sizeof(r->closure_type), "normal");
        snprintf(r->closed_at, sizeof(r->closed_at), "%s", r->created_at);
        logs[0].note = "";
        logs[1] = (struct cg_event__log){"resolve", "reported", "closed", in->note ? in->note : "",
                                         "",        NULL};
    } else {
        snprintf(r->state, sizeof(r->state), "reported");
        deadline(ev, &cls.limits[CG_CATALOGUE_ACCEPT], now, r->deadline_at, why, sizeof(why));
        logs[0].deadline_at = r->deadline_at;
        if (*why) {
            *detail = json_pack("{s:s}", "deadline_note", why);
            logs[0].detail = *detail;
        }
    }
    return 0;
}

int cg_event_report(struct cg_events *ev, const struct cg_principal *actor,
                    const struct cg_event_input *in, const char *remote, json_t **out,
                    struct cg_error *err)
{
    static const char *const kinds[] = {"normal", "self_resolved", "report_only", NULL};
    static const char *const sources[] = {"patrol", "citizen",    "hotline",
                                          "video",  "assignment", NULL};
    const char *kind = in->kind ? in->kind : "normal";
    struct cg_event__row r = {0};
    struct cg_event__log logs[2] = {{0}};
    struct cg_conn *snap = NULL;
    json_t *detail = NULL, *dups = NULL;
    int64_t now = cg_time_now_ms();
    int rc;

    (void)remote;
    *out = NULL;
    if (!one_of(kind, kinds)) {
        return cg_error_field(err, CG_EINVAL, "kind",
                              "'kind' must be normal, self_resolved (自行处置) or report_only "
                              "(事件报备)");
    }
    if (!one_of(in->source, sources)) {
        return cg_error_field(err, in->source ? CG_EINVAL : CG_EMISSING, "source",
                              "'source' must be patrol, citizen, hotline, video or assignment");
    }
    rc = check_text(in->title, "title", CG_EVENT_TITLE_MAX, true, err);
    rc = rc ? rc : check_text(in->description, "description", CG_EVENT_DESCRIPTION_MAX, false, err);
    rc = rc ? rc : check_text(in->address, "address", CG_EVENT_ADDRESS_MAX, false, err);
    rc = rc ? rc : check_text(in->note, "note", CG_EVENT_NOTE_MAX, false, err);
    if (rc) {
        return rc;
    }
    if (!in->category_code) {
        return cg_error_field(err, CG_EMISSING, "category", "'category' is required");
    }
    /* One snapshot for the reads of a report (its class, a replay, the risk, the duplicates). */
    rc = cg_db_read_begin(ev->db, &snap, err);
    rc = rc ? rc : report_row(ev, actor, in, kind, now, &r, logs, &detail, out, err);
    if (!rc && !*out) {
        /* The class's events around and the reporter's latest, from the recent events in
           memory: the risk's repeats, and of them the duplicates. */
        struct cg_event__around_query q = {
            r.category_kind, r.category_code, r.lon,
            r.lat,           REPEAT_RADIUS_M, now - REPEAT_WINDOW_MS,
            r.reporter_id,   PERSON_LAST,     now - REPEAT_WINDOW_MS};
        struct cg_event__near near[NEAR_SEEN];
        struct cg_error ignored = CG_ERROR_INIT;
        int64_t mine = 0;
        size_t n = 0;

        /* on an error, what the memory already held: a risk score short of some repeats
           rather than no report */
        (void)cg_event__recent_around(ev->recent, &q, now, near, NEAR_SEEN, &n, &mine, &ignored);
        risk(ev, &r, n, mine);
        dups = strcmp(kind, "normal") ? json_array() : duplicates(ev, actor, &r, now, near, n);
    }
    cg_db_read_end(snap);
    if (rc || *out) {
        json_decref(detail);
        return rc;
    }

    r.client_key = r.reporter_id ? in->client_key : NULL;
    rc = cg_event__insert(ev->db, &r, logs, strcmp(kind, "self_resolved") ? 1 : 2,
                          actor ? actor->account_id : 0, actor ? actor->login : NULL, err);
    if (rc == CG_ECONFLICT && r.client_key) {
        /* The same key raced in from a second request, which won: answer with its event. */
        struct cg_error again = CG_ERROR_INIT;

        if (!replayed(ev, actor, r.client_key, out, &again) && *out) {
            cg_error_clear(err);
            rc = 0;
            json_decref(dups);
            dups = NULL;
        }
    }
    json_decref(detail);
    if (!rc && !*out) {
        r.version = 1;
        *out = row_json(ev, &r, now);
        json_object_set_new(*out, "duplicates", dups);
        dups = NULL;
    }
    json_decref(dups);
    free(r.risk_reasons);
    return rc;
}

/* ---- reading ---------------------------------------------------------------------------- */

int cg_event_get(struct cg_events *ev, const struct cg_principal *actor, int64_t id, json_t **out,
                 struct cg_error *err)
{
    struct cg_event__row r;
    json_t *log;
    int rc = cg_event__load(ev->db, id, &r, err);

    *out = NULL;
    if (rc) {
        return rc;
    }
    if (!visible(ev, actor, &r)) {
        cg_event__row_release(&r);
        return cg_error_field(err, CG_ENOTFOUND, "id", "no event %" PRId64, id);
    }
    *out = row_json(ev, &r, cg_time_now_ms());
    log = json_array();
    rc = cg_event__log_json(ev->db, id, log, err);
    json_object_set_new(*out, "log", log);
    json_object_set_new(*out, "actions", actor ? allowed(actor, &r) : json_array());
    /* Who may merge sees the near-duplicates too, not only the reporter at intake. */
    if (actor && cg_auth_has(actor, "event.accept") && !is_terminal(r.state)) {
        json_object_set_new(*out, "duplicates",
                            duplicates(ev, actor, &r, cg_time_now_ms(), NULL, 0));
    }
    cg_event__row_release(&r);
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

struct list_ctx {
    struct cg_events *ev;
    const char *warning;
    json_t *list;
    int64_t now, last_id;
    int n, limit;
};

static void list_row(void *ctx, const struct cg_event__row *r)
{
    struct list_ctx *l = ctx;
    json_t *o;

    if (l->n >= l->limit) {
        l->n++; /* there is more */
        return;
    }
    o = row_json(l->ev, r, l->now);
    /* "yellow" needs working time, which SQL cannot count: filtered here. */
    if (l->warning && !json_is_string(json_object_get(o, "warning"))) {
        json_decref(o);
        return;
    }
    if (l->warning && strcmp(l->warning, json_string_value(json_object_get(o, "warning")))) {
        json_decref(o);
        return;
    }
    json_array_append_new(l->list, o);
    l->last_id = r->id;
    l->n++;
}

int cg_event_list(struct cg_events *ev, const struct cg_principal *actor,
                  const struct cg_event_query *q, json_t **out, struct cg_error *err)
{
    struct cg_event__scope scope = {"", NULL, 0};
    struct list_ctx l = {ev, q->warning, json_array(), cg_time_now_ms(), 0, 0, q->limit};
    char now[CG_TIME_ISO_LEN];
    int rc = 0;

    *out = NULL;
    if (actor) {
        switch (actor->scope_kind) {
        case CG_SCOPE_ALL:
            break;
        case CG_SCOPE_GRID:
            scope.grid_prefix = actor->scope_ref;
            break;
        case CG_SCOPE_DEPARTMENT:
            scope.department = actor->scope_ref;
            break;
        case CG_SCOPE_OWN:
            scope.owner_id = actor->account_id;
            break;
        }
        rc = cg_auth_allow_filter(actor, q->grid, err);
    }
    if (!rc && q->warning && strcmp(q->warning, "yellow") && strcmp(q->warning, "red")) {
        rc = cg_error_field(err, CG_EINVAL, "warning", "'warning' must be yellow or red");
    }
    if (rc) {
        json_decref(l.list);
        return rc;
    }
    cg_time_iso(l.now, now, sizeof(now));
    rc = cg_event__list(ev->db, &scope, q, now, list_row, &l, err);
    if (rc) {
        json_decref(l.list);
        return rc;
    }
    *out = json_pack("{s:o, s:o}", "events", l.list, "next_before",
                     l.n > l.limit && l.last_id ? json_integer(l.last_id) : json_null());
    return 0;
}

/* ---- actions ---------------------------------------------------------------------------- */

/* The deadline of the target state of t from now, into next (and due_at when it starts). */
static void schedule(struct cg_events *ev, const struct transition *t,
                     const struct cg_catalogue_class *cls, int64_t now, struct cg_event__row *next,
                     char *why, size_t why_size)
{
    int64_t due;

    if (strcmp(t->to, "*")) {
        next->deadline_at[0] = '\0';
        cg_time_iso(now, next->step_started_at, sizeof(next->step_started_at));
    }
    if (t->step != NO_STEP) {
        deadline(ev, &cls->limits[t->step], now, next->deadline_at, why, why_size);
    }
    if (t->effects & E_DUE) {
        snprintf(next->due_at, sizeof(next->due_at), "%s", next->deadline_at);
    }
    if (t->effects & E_EXTEND) {
        /* One more handling limit, counted from the current due time (or now). */
        int64_t from = parse_time(next->due_at, &due) ? now : (due > now ? due : now);

        deadline(ev, &cls->limits[CG_CATALOGUE_HANDLE], from, next->due_at, why, why_size);
        snprintf(next->deadline_at, sizeof(next->deadline_at), "%s", next->due_at);
    }
    if (!strcmp(next->state, "handling") && *next->due_at && !(t->effects & E_EXTEND)) {
        /* handling runs against the due time set at dispatch */
        snprintf(next->deadline_at, sizeof(next->deadline_at), "%s", next->due_at);
    }
}

/*
 * Merges duplicate r (becoming next) into event a->into: the target must be
 * another open event of the same class that actor may see; its log records
 * the duplicate and its reporter, who follows the target from now on.
 */
static int merge(struct cg_events *ev, const struct cg_principal *actor,
                 const struct cg_event__row *r, const struct cg_event__row *next,
                 const struct cg_event__log *log, const struct cg_event_action *a,
                 struct cg_error *err)
{
    struct cg_event__row target;
    struct cg_event__log tlog;
    json_t *detail;
    int rc;

    if (a->into <= 0 || a->into == r->id) {
        return cg_error_field(err, CG_EINVAL, "into",
                              "'into' must name the other event this one duplicates");
    }
    rc = cg_event__load(ev->db, a->into, &target, err);
    if (rc == CG_ENOTFOUND || (!rc && !visible(ev, actor, &target))) {
        if (!rc) {
            cg_event__row_release(&target);
        }
        cg_error_clear(err);
        return cg_error_field(err, CG_EINVAL, "into", "no event %" PRId64 " to merge into",
                              a->into);
    }
    if (rc) {
        return rc;
    }
    if (is_terminal(target.state) || strcmp(target.category_kind, r->category_kind) ||
        strcmp(target.category_code, r->category_code)) {
        rc = cg_error_field(err, CG_EINVAL, "into",
                            "event %" PRId64 " is %s or of another class: only an open event of "
                            "the same class takes duplicates",
                            a->into, target.state);
        cg_event__row_release(&target);
        return rc;
    }
    detail = json_pack("{s:I, s:o}", "from", (json_int_t)r->id, "reporter_id",
                       r->reporter_id ? json_integer(r->reporter_id) : json_null());
    tlog = (struct cg_event__log){
        "merge_in", target.state, target.state, a->note ? a->note : "", target.deadline_at, detail};
    rc = cg_event__merge(ev->db, next, log, target.id, target.version, &tlog,
                         actor ? actor->account_id : 0, actor ? actor->login : NULL, err);
    json_decref(detail);
    cg_event__row_release(&target);
    return rc;
}

int cg_event_act(struct cg_events *ev, const struct cg_principal *actor, int64_t id,
                 const struct cg_event_action *a, const char *remote, json_t **out,
                 struct cg_error *err)
{
    static const char *const tiers[] = {"grid", "village", "town", "department", NULL};
    struct cg_event__row r, next;
    const struct transition *t = NULL;
    struct cg_catalogue_class cls;
    enum cg_catalogue_kind ckind;
    struct cg_event__log log = {0};
    bool known = false;
    char why[CG_ERROR_MSG_MAX] = "";
    json_t *detail;
    int64_t now = cg_time_now_ms(), due;
    int rc;

    (void)remote;
    *out = NULL;
    rc = check_text(a->note, "note", CG_EVENT_NOTE_MAX, false, err);
    if (rc) {
        return rc;
    }
    rc = cg_event__load(ev->db, id, &r, err);
    if (rc) {
        return rc;
    }
    if (!visible(ev, actor, &r)) {
        cg_event__row_release(&r);
        return cg_error_field(err, CG_ENOTFOUND, "id", "no event %" PRId64, id);
    }
    if ((a->expected_state && strcmp(a->expected_state, r.state)) ||
        (a->expected_version > 0 && a->expected_version != r.version)) {
        rc = cg_error_set(err, CG_ECONFLICT,
                          "the event changed meanwhile: it is now %s (version %" PRId64 ")",
                          r.state, r.version);
        cg_event__row_release(&r);
        return rc;
    }
    for (size_t i = 0; i < CG_ARRAY_LEN(machine) && !t; i++) {
        const struct transition *m = &machine[i];

        if (strcmp(m->action, a->action ? a->action : "")) {
            continue;
        }
        known = true;
        if (row_applies(m, &r) && cg_auth_has(actor, m->permission) &&
            guard_holds(m->guard, &r, a)) {
            t = m;
        }
    }
    if (!t) {
        json_t *acts = allowed(actor, &r);
        char *list = json_dumps(acts, JSON_COMPACT);

        if (!known) {
            rc = cg_error_field(err, CG_EINVAL, "action", "no action '%.30s'; allowed now: %s",
                                a->action ? a->action : "", list);
        } else if (!strcmp(a->action, "revisit") && (a->satisfaction < 1 || a->satisfaction > 5) &&
                   !strcmp(r.state, "checked")) {
            rc = cg_error_field(err, CG_EINVAL, "satisfaction",
                                "a return visit records a satisfaction from 1 to 5");
        } else {
            rc = cg_error_set(err, CG_EBADSTATE,
                              "'%s' is not allowed on an event %s; allowed now: %s", a->action,
                              r.state, list);
        }
        free(list);
        json_decref(acts);
        cg_event__row_release(&r);
        return rc;
    }
    if (!cg_catalogue_kind_parse(r.category_kind, &ckind) ||
        cg_catalogue_lookup(ev->db, ckind, r.category_code, &cls, err)) {
        /* A class removed since: the step has no limit. */
        cg_error_clear(err);
        memset(&cls, 0, sizeof(cls));
    }
    next = r;
    if (strcmp(t->to, "*")) {
        snprintf(next.state, sizeof(next.state), "%s", t->to);
    }
    schedule(ev, t, &cls, now, &next, why, sizeof(why));
    /* The KPIs count an event filed (立案) and dispatched by these (migration 0010). */
    if (!strcmp(t->action, "file") && !*next.filed_at) {
        cg_time_iso(now, next.filed_at, sizeof(next.filed_at));
    }
    if (!strcmp(t->action, "dispatch") && !*next.dispatched_at) {
        cg_time_iso(now, next.dispatched_at, sizeof(next.dispatched_at));
    }
    if (t->effects & E_REWORK) {
        next.rework_count++;
    }
    if (t->effects & E_SUPERVISE) {
        next.supervised = true;
    }
    if (t->effects & E_ESCALATE) {
        size_t i = 0;

        while (tiers[i] && strcmp(tiers[i], r.tier)) {
            i++;
        }
        if (!tiers[i] || !tiers[i + 1]) {
            cg_event__row_release(&r);
            return cg_error_set(err, CG_EBADSTATE, "the event is at the top tier already");
        }
        snprintf(next.tier, sizeof(next.tier), "%s", tiers[i + 1]);
    }
    if (t->effects & E_DELEGATE) {
        size_t i = 0;

        while (tiers[i] && strcmp(tiers[i], r.tier)) {
            i++;
        }
        if (!tiers[i] || i == 0) {
            cg_event__row_release(&r);
            return cg_error_set(err, CG_EBADSTATE,
                                "the event is at the grid tier already: nobody is below it");
        }
        snprintf(next.tier, sizeof(next.tier), "%s", tiers[i - 1]);
    }
    if ((t->effects & E_DUE) && a->department && *a->department) {
        snprintf(next.department, sizeof(next.department), "%s", a->department);
    }
    if (t->effects & E_CLOSE) {
        const char *type = "normal";

        if (a->closure && strcmp(a->closure, "error") && strcmp(a->closure, "special")) {
            cg_event__row_release(&r);
            return cg_error_field(err, CG_EINVAL, "closure",
                                  "'closure' may be error (差错) or special (特殊); normal and "
                                  "overdue follow from the deadline");
        }
        if (a->closure) {
            type = a->closure;
        } else if (!parse_time(r.due_at, &due) && now > due) {
            type = "overdue";
        }
        snprintf(next.closure_type, sizeof(next.closure_type), "%s", type);
        cg_time_iso(now, next.closed_at, sizeof(next.closed_at));
        next.deadline_at[0] = '\0';
        if (a->satisfaction) {
            next.satisfaction = a->satisfaction;
        }
    } else if (a->satisfaction && !strcmp(t->action, "revisit")) {
        next.satisfaction = a->satisfaction; /* unsatisfied: recorded, handled again */
    }
    detail = json_object();
    if (*why) {
        json_object_set_new(detail, "deadline_note", json_string(why));
    }
    if (strcmp(next.department, r.department)) {
        json_object_set_new(detail, "department", json_string(next.department));
    }
    if (strcmp(next.tier, r.tier)) {
        json_object_set_new(detail, "tier", json_string(next.tier));
    }
    if (a->satisfaction) {
        json_object_set_new(detail, "satisfaction", json_integer(a->satisfaction));
    }
    if (*next.closure_type && !*r.closure_type) {
        json_object_set_new(detail, "closure_type", json_string(next.closure_type));
    }
    if (strcmp(next.due_at, r.due_at)) {
        json_object_set_new(detail, "due_at", str_or_null(next.due_at));
    }
    if (t->effects & E_MERGE) {
        next.deadline_at[0] = '\0';
        next.merged_into = a->into;
        json_object_set_new(detail, "into", json_integer(a->into));
    }
    log = (struct cg_event__log){t->action,        r.state,
                                 next.state,       a->note ? a->note : "",
                                 next.deadline_at, json_object_size(detail) ? detail : NULL};
    rc = (t->effects & E_MERGE)
             ? merge(ev, actor, &r, &next, &log, a, err)
             : cg_event__update(ev->db, &next, &log, actor ? actor->account_id : 0,
                                actor ? actor->login : NULL, err);
    json_decref(detail);
    if (!rc) {
        next.version++;
        *out = row_json(ev, &next, now);
        json_object_set_new(*out, "actions", allowed(actor, &next));
    }
    cg_event__row_release(&r);
    return rc;
}

/* ---- the deadline sweep ----------------------------------------------------------------- */

struct sweep_ctx {
    struct cg_events *ev;
    int64_t now;
    struct cg_event__row *due; /* copies of the rows to act on */
    size_t n, cap;
};

static void sweep_row(void *ctx, const struct cg_event__row *r)
{
    struct sweep_ctx *s = ctx;
    struct cg_event__row *c;

    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->due = cg_realloc(s->due, s->cap * sizeof(*s->due));
    }
    c = &s->due[s->n++];
    *c = *r;
    c->title = cg_strdup(r->title);
    c->description = cg_strdup(r->description);
    c->address = cg_strdup(r->address);
    c->risk_reasons = cg_strdup(r->risk_reasons);
}

int cg_event_sweep(struct cg_events *ev, struct cg_event_sweep_result *out, struct cg_error *err)
{
    struct sweep_ctx s = {ev, cg_time_now_ms(), NULL, 0, 0};
    char horizon[CG_TIME_ISO_LEN];
    int rc;

    memset(out, 0, sizeof(*out));
    /* Candidates: deadlines within a month (a step's last quarter starts before its end). */
    cg_time_iso(s.now + 31 * 86400 * INT64_C(1000), horizon, sizeof(horizon));
    rc = cg_event__due_before(ev->db, horizon, sweep_row, &s, err);
    for (size_t i = 0; i < s.n && !rc; i++) {
        struct cg_event__row *r = &s.due[i];
        const char *w = warning_of(ev, r, s.now);
        char msg[200];
        bool fresh = false;

        if (!w) {
            continue;
        }
        snprintf(msg, sizeof(msg), "%s: %s, %s %s", !strcmp(w, "red") ? "已超时" : "即将超时",
                 r->title, r->state, r->deadline_at);
        rc = cg_event__notice(ev->db, r, w, msg, &fresh, err);
        if (rc || !fresh) {
            continue;
        }
        if (!strcmp(w, "yellow")) {
            out->yellow++;
            continue;
        }
        out->red++;
        if (!r->supervised) {
            struct cg_event__row next = *r;
            struct cg_event__log log = {"supervise",    r->state,       r->state,
                                        "逾期自动督办", r->deadline_at, NULL};

            next.supervised = true;
            rc = cg_event__update(ev->db, &next, &log, 0, "scheduler", err);
            if (rc == CG_ECONFLICT) { /* acted on meanwhile: the next sweep sees it */
                cg_error_clear(err);
                rc = 0;
            } else if (!rc) {
                out->supervised++;
            }
        }
    }
    for (size_t i = 0; i < s.n; i++) {
        cg_event__row_release(&s.due[i]);
    }
    free(s.due);
    return rc;
}

int cg_event_notices(struct cg_events *ev, const struct cg_principal *actor, int64_t after_id,
                     int limit, json_t **out, struct cg_error *err)
{
    struct cg_event__scope scope = {"", NULL, 0};
    json_t *list = json_array();
    int rc;

    *out = NULL;
    if (actor && actor->scope_kind == CG_SCOPE_GRID) {
        scope.grid_prefix = actor->scope_ref;
    } else if (actor && actor->scope_kind == CG_SCOPE_DEPARTMENT) {
        scope.department = actor->scope_ref;
    } else if (actor && actor->scope_kind == CG_SCOPE_OWN) {
        scope.owner_id = actor->account_id ? actor->account_id : -1;
    }
    rc = cg_event__notices(ev->db, &scope, after_id, limit, list, err);
    if (rc) {
        json_decref(list);
        return rc;
    }
    *out = json_pack("{s:o}", "notices", list);
    return 0;
}

/* ---- the dashboard ---------------------------------------------------------------------- */

static void count_state(void *ctx, const char *state, int64_t n)
{
    json_object_set_new(ctx, state, json_integer(n));
}

/* The KPI totals of [from, to) for actor's scope (the "total" object of cg_event_kpi()). */
static int totals(struct cg_events *ev, const struct cg_principal *actor, int64_t from, int64_t to,
                  json_t **out, struct cg_error *err)
{
    char f[CG_TIME_ISO_LEN], t[CG_TIME_ISO_LEN];
    struct cg_event_kpi_query q = {.by = "town", .from = f, .to = t};
    int rc;

    cg_time_iso(from, f, sizeof(f));
    cg_time_iso(to, t, sizeof(t));
    rc = cg_event__kpi_total(ev, actor, &q, out, err);
    if (!rc) {
        json_object_set_new(*out, "from", json_string(f));
        json_object_set_new(*out, "to", json_string(t));
    }
    return rc;
}

struct warn_ctx {
    struct cg_events *ev;
    int64_t now, yellow;
};

static void warn_row(void *ctx, const struct cg_event__row *r)
{
    struct warn_ctx *w = ctx;
    const char *kind = warning_of(w->ev, r, w->now);

    if (kind && !strcmp(kind, "yellow")) {
        w->yellow++;
    }
}

int cg_event_dashboard(struct cg_events *ev, const struct cg_principal *actor, json_t **out,
                       struct cg_error *err)
{
    int64_t now = cg_time_now_ms(), today = (now + CN_OFFSET_MS) / DAY_MS * DAY_MS - CN_OFFSET_MS;
    int64_t month, next_month, red = 0;
    struct cg_event__scope scope;
    struct warn_ctx w = {ev, now, 0};
    json_t *t = NULL, *m = NULL, *open = json_object();
    time_t secs = (time_t)((now + CN_OFFSET_MS) / 1000);
    char now_iso[CG_TIME_ISO_LEN];
    struct tm tm;
    int rc;

    *out = NULL;
    gmtime_r(&secs, &tm); /* China time, as UTC fields */
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    month = (int64_t)timegm(&tm) * 1000 - CN_OFFSET_MS;
    tm.tm_mon++;
    next_month = (int64_t)timegm(&tm) * 1000 - CN_OFFSET_MS;
    cg_time_iso(now, now_iso, sizeof(now_iso));
    rc = cg_event__stats_scope(actor, NULL, &scope, err);
    rc = rc ? rc : totals(ev, actor, today, today + DAY_MS, &t, err);
    /* the whole China month: 应结案 includes what falls due later this month */
    rc = rc ? rc : totals(ev, actor, month, next_month, &m, err);
    rc = rc ? rc : cg_event__open_by_state(ev->db, &scope, count_state, open, err);
    rc = rc ? rc : cg_event__deadlines(ev->db, &scope, now_iso, &red, warn_row, &w, err);
    if (!rc) {
        *out = json_pack("{s:O, s:O, s:O, s:{s:I, s:I}}", "today", t, "month", m, "open", open,
                         "warnings", "red", (json_int_t)red, "yellow", (json_int_t)w.yellow);
    }
    json_decref(t);
    json_decref(m);
    json_decref(open);
    return rc;
}
