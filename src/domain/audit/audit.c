/*
 * audit.c: the audit trail's logic: field rules, the canonical serialisation
 * and hash chain, verification, search checks and JSON, retention. The SQL is
 * in audit_store.c; the format is described in audit.h.
 */
#include "base/cg.h"
#include "domain/audit/audit.h"
#include "base/str.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/audit/audit_int.h"

#include <sodium.h>

#define IDENT_MAX 64
#define LOGIN_MAX 64
#define REMOTE_MAX 64
#define OBJECT_ID_MAX 128
#define RETENTION_MAX 36500
#define MS_PER_DAY INT64_C(86400000)

/* ---- field rules ------------------------------------------------------------------------ */

/* 1..IDENT_MAX of [a-z0-9_.] */
static bool ident_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > IDENT_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) {
            return false;
        }
    }
    return true;
}

static bool result_ok(const char *s)
{
    return s && (!strcmp(s, "ok") || !strcmp(s, "denied") || !strcmp(s, "failed"));
}

static int check_entry(const struct cg_audit_entry *e, struct cg_error *err)
{
    if (!ident_ok(e->action)) {
        return cg_error_field(err, CG_EINVAL, "action", "audit action must be 1..64 of [a-z0-9_.]");
    }
    if (e->object_type && !ident_ok(e->object_type)) {
        return cg_error_field(err, CG_EINVAL, "object_type",
                              "audit object_type must be 1..64 of [a-z0-9_.]");
    }
    if (!result_ok(e->result)) {
        return cg_error_field(err, CG_EINVAL, "result",
                              "audit result must be 'ok', 'denied' or 'failed'");
    }
    return 0;
}

/* Length of the UTF-8 sequence a lead byte announces, 0 for a byte that cannot lead one. */
static size_t utf8_seq_len(unsigned char c)
{
    if (c < 0x80) {
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        return 2;
    }
    if ((c & 0xf0) == 0xe0) {
        return 3;
    }
    return (c & 0xf8) == 0xf0 ? 4 : 0;
}

/*
 * Copies free text into out with invalid UTF-8 and control characters (but tab
 * and newline when multiline) replaced by '?', cut to max bytes at a character
 * boundary ending in "...". Returns the text (borrowed from out), NULL for NULL.
 */
static const char *clean_text(const char *in, size_t max, bool multiline, struct cg_str *out)
{
    size_t len, cut;

    if (!in) {
        return NULL;
    }
    len = strlen(in);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)in[i];
        size_t n = utf8_seq_len(c);

        if (n == 0 || i + n > len || !cg_utf8_valid(in + i, n)) {
            cg_str_addch(out, '?');
            i++;
            continue;
        }
        if (n == 1 && (c < 0x20 || c == 0x7f) && !(multiline && (c == '\t' || c == '\n'))) {
            cg_str_addch(out, '?');
        } else {
            cg_str_add(out, in + i, n);
        }
        i += n;
    }
    if (cg_str_len(out) > max) {
        const char *p = cg_str_ptr(out);

        cut = max - 3;
        while (cut > 0 && ((unsigned char)p[cut] & 0xc0) == 0x80) {
            cut--;
        }
        /* cg_str has no truncate: rebuild from the kept prefix. */
        {
            struct cg_str kept = CG_STR_INIT;

            cg_str_add(&kept, p, cut);
            cg_str_adds(&kept, "...");
            cg_str_release(out);
            *out = kept;
        }
    }
    CG_ASSERT(!cg_str_error(out));
    return cg_str_ptr(out);
}

/* ---- the chain -------------------------------------------------------------------------- */

/* Feeds one netstring field ("<len>:<bytes>,", or "-," when absent) to the hash. */
static void hash_field(crypto_hash_sha256_state *st, const char *s)
{
    char len[24];

    if (!s) {
        crypto_hash_sha256_update(st, (const uint8_t *)"-,", 2);
        return;
    }
    snprintf(len, sizeof(len), "%zu:", strlen(s));
    crypto_hash_sha256_update(st, (const uint8_t *)len, strlen(len));
    crypto_hash_sha256_update(st, (const uint8_t *)s, strlen(s));
    crypto_hash_sha256_update(st, (const uint8_t *)",", 1);
}

/* out = hex SHA-256 of prev_hash "\n" and the netstrings of the record's fields. */
static void hash_row(const struct cg_audit__row *r, char out[65])
{
    crypto_hash_sha256_state st;
    uint8_t h[crypto_hash_sha256_BYTES];
    char id[24], actor[24];

    snprintf(id, sizeof(id), "%" PRId64, r->id);
    snprintf(actor, sizeof(actor), "%" PRId64, r->actor_id);
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)r->prev_hash, strlen(r->prev_hash));
    crypto_hash_sha256_update(&st, (const uint8_t *)"\n", 1);
    hash_field(&st, id);
    hash_field(&st, r->at);
    hash_field(&st, r->has_actor ? actor : NULL);
    hash_field(&st, r->actor_login);
    hash_field(&st, r->remote);
    hash_field(&st, r->action);
    hash_field(&st, r->object_type);
    hash_field(&st, r->object_id);
    hash_field(&st, r->result);
    hash_field(&st, r->detail);
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

/* Appends e with time at_ms on the write connection w (tests give old times). */
static int append_at(struct cg_conn *w, const struct cg_audit_entry *e, int64_t at_ms,
                     struct cg_error *err)
{
    struct cg_str login = CG_STR_INIT, remote = CG_STR_INIT, object_id = CG_STR_INIT,
                  detail = CG_STR_INIT;
    struct cg_audit__row row = {0};
    char at[CG_TIME_ISO_LEN], prev[65], hash[65];
    int rc;

    CG_ASSERT(w && e);
    rc = check_entry(e, err);
    rc = rc ? rc : cg_audit__tail(w, &row.id, prev, err);
    if (rc) {
        return rc;
    }
    cg_time_iso(at_ms, at, sizeof(at));
    row.id++;
    row.at = at;
    row.has_actor = e->actor_id != 0;
    row.actor_id = e->actor_id;
    row.actor_login = clean_text(e->actor_login, LOGIN_MAX, false, &login);
    row.remote = clean_text(e->remote, REMOTE_MAX, false, &remote);
    row.action = e->action;
    row.object_type = e->object_type;
    row.object_id = clean_text(e->object_id, OBJECT_ID_MAX, false, &object_id);
    row.result = e->result;
    row.detail = clean_text(e->detail, CG_AUDIT_DETAIL_MAX, true, &detail);
    row.prev_hash = prev;
    hash_row(&row, hash);
    row.hash = hash;
    rc = cg_audit__insert(w, &row, err);
    cg_str_release(&login);
    cg_str_release(&remote);
    cg_str_release(&object_id);
    cg_str_release(&detail);
    return rc;
}

/* Runs on the writer thread (see cg_db_write()). */
static int record_job_run(struct cg_conn *w, void *ctx, struct cg_error *err)
{
    return cg_audit_append(w, ctx, err);
}

struct verify_ctx {
    bool started;
    int64_t expect_id; /* the id the next record must have */
    char prev[65];     /* the hash it must link to */
    int64_t checked;
    int64_t first_broken;
};

static int verify_row(void *ctx, const struct cg_audit__anchor *anchor,
                      const struct cg_audit__row *row, struct cg_error *err)
{
    struct verify_ctx *v = ctx;
    char hash[65];

    if (!v->started) {
        v->started = true;
        v->expect_id = anchor->id + 1;
        snprintf(v->prev, sizeof(v->prev), "%s", anchor->hash);
    }
    v->first_broken = row->id;
    if (row->id > v->expect_id) {
        return cg_error_set(err, CG_ECONFLICT,
                            "audit record %" PRId64 " is broken: records %" PRId64 "..%" PRId64
                            " before it are missing",
                            row->id, v->expect_id, row->id - 1);
    }
    if (row->id < v->expect_id) {
        return cg_error_set(err, CG_ECONFLICT,
                            "audit record %" PRId64 " is broken: it precedes the chain start "
                            "(id %" PRId64 " expected)",
                            row->id, v->expect_id);
    }
    if (strcmp(row->prev_hash, v->prev) != 0) {
        return cg_error_set(
            err, CG_ECONFLICT,
            "audit record %" PRId64 " is broken: its prev_hash does not match "
            "the hash of %s",
            row->id, v->checked || anchor->id == 0 ? "the record before it" : "the purge anchor");
    }
    hash_row(row, hash);
    if (strcmp(hash, row->hash) != 0) {
        return cg_error_set(err, CG_ECONFLICT,
                            "audit record %" PRId64 " is broken: its contents do not match its "
                            "hash (edited)",
                            row->id);
    }
    v->first_broken = 0;
    v->checked++;
    v->expect_id++;
    snprintf(v->prev, sizeof(v->prev), "%s", row->hash);
    return 0;
}

/* ---- search ----------------------------------------------------------------------------- */

static bool fixed_digits(const char *p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

/* Parses RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" into ms since the epoch. */
static bool parse_rfc3339(const char *s, int64_t *out_ms)
{
    int y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0, sign = 0, nd = 0;
    const char *p = s + 19;

    if (strlen(s) < 20 || !fixed_digits(s, 4, &y) || s[4] != '-' || !fixed_digits(s + 5, 2, &mo) ||
        s[7] != '-' || !fixed_digits(s + 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !fixed_digits(s + 11, 2, &h) ||
        s[13] != ':' || !fixed_digits(s + 14, 2, &mi) || s[16] != ':' ||
        !fixed_digits(s + 17, 2, &sec)) {
        return false;
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, nd++) {
            ms = nd < 3 ? ms * 10 + (*p - '0') : ms;
        }
        if (nd == 0 || nd > 9) {
            return false;
        }
        for (; nd < 3; nd++) {
            ms *= 10;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && fixed_digits(p + 1, 2, &oh) && p[3] == ':' &&
               fixed_digits(p + 4, 2, &om)) {
        sign = *p == '+' ? 1 : -1;
        p += 6;
    } else {
        return false;
    }
    if (*p || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || sec > 59 || oh > 23 || om > 59) {
        return false;
    }
    *out_ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) -
               sign * (oh * 3600 + om * 60)) *
                  1000 +
              ms;
    return *out_ms >= 0;
}

/* Checks q and fills c with it, from/to made canonical in the two buffers. */
static int check_query(const struct cg_audit_query *q, struct cg_audit_query *c,
                       char from[CG_TIME_ISO_LEN], char to[CG_TIME_ISO_LEN], struct cg_error *err)
{
    int64_t from_ms = 0, to_ms = 0;

    *c = *q;
    if (q->limit < 1 || q->limit > CG_AUDIT_SEARCH_MAX) {
        return cg_error_field(err, CG_EINVAL, "limit", "'limit' must be 1..%d",
                              CG_AUDIT_SEARCH_MAX);
    }
    if (q->before_id < 0) {
        return cg_error_field(err, CG_EINVAL, "before", "'before' must be a record id (>= 0)");
    }
    if (q->action && !ident_ok(q->action)) {
        return cg_error_field(err, CG_EINVAL, "action",
                              "'action' must be 1..64 of [a-z0-9_.] (a prefix of an action)");
    }
    if (q->result && !result_ok(q->result)) {
        return cg_error_field(err, CG_EINVAL, "result",
                              "'result' must be 'ok', 'denied' or 'failed'");
    }
    if (q->from) {
        if (!parse_rfc3339(q->from, &from_ms)) {
            return cg_error_field(err, CG_EINVAL, "from",
                                  "'from' must be an RFC 3339 time after 1970, such as "
                                  "2026-11-23T09:00:00+08:00");
        }
        cg_time_iso(from_ms, from, CG_TIME_ISO_LEN);
        c->from = from;
    }
    if (q->to) {
        if (!parse_rfc3339(q->to, &to_ms)) {
            return cg_error_field(err, CG_EINVAL, "to",
                                  "'to' must be an RFC 3339 time after 1970, such as "
                                  "2026-11-23T18:00:00+08:00");
        }
        cg_time_iso(to_ms, to, CG_TIME_ISO_LEN);
        c->to = to;
    }
    if (q->from && q->to && from_ms > to_ms) {
        return cg_error_field(err, CG_EINVAL, "from", "'from' is after 'to'");
    }
    return 0;
}

/* A JSON string, or null for NULL; text that is not UTF-8 (edited by hand) is shown as such. */
static json_t *json_text(const char *s)
{
    json_t *j;

    if (!s) {
        return json_null();
    }
    j = json_string(s);
    return j ? j : json_string("(invalid utf-8)");
}

static json_t *row_json(const struct cg_audit__row *r)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_integer(r->id));
    json_object_set_new(o, "at", json_text(r->at));
    json_object_set_new(o, "actor_id", r->has_actor ? json_integer(r->actor_id) : json_null());
    json_object_set_new(o, "actor_login", json_text(r->actor_login));
    json_object_set_new(o, "remote", json_text(r->remote));
    json_object_set_new(o, "action", json_text(r->action));
    json_object_set_new(o, "object_type", json_text(r->object_type));
    json_object_set_new(o, "object_id", json_text(r->object_id));
    json_object_set_new(o, "result", json_text(r->result));
    json_object_set_new(o, "detail", json_text(r->detail));
    json_object_set_new(o, "prev_hash", json_text(r->prev_hash));
    json_object_set_new(o, "hash", json_text(r->hash));
    return o;
}

struct search_ctx {
    json_t *records;
    int limit;
    int n;
    int64_t last_id;
    bool more; /* a row beyond limit exists */
};

static int collect_row(void *ctx, const struct cg_audit__anchor *anchor,
                       const struct cg_audit__row *row, struct cg_error *err)
{
    struct search_ctx *s = ctx;

    (void)anchor;
    (void)err;
    if (s->n == s->limit) {
        s->more = true;
        return 0;
    }
    json_array_append_new(s->records, row_json(row));
    s->n++;
    s->last_id = row->id;
    return 0;
}

/* ---- retention -------------------------------------------------------------------------- */

struct purge_job {
    int days;
    int64_t now_ms;
    char cutoff[CG_TIME_ISO_LEN];
    int64_t deleted;
};

/* Runs on the writer thread: deletes, moves the anchor and records the purge, all or nothing. */
static int purge_job_run(struct cg_conn *w, void *ctx, struct cg_error *err)
{
    struct purge_job *job = ctx;
    char detail[160];
    struct cg_audit_entry e = {0, NULL, NULL, "audit.purge", "audit_log", NULL, "ok", detail};
    int rc = cg_audit__purge_before(w, job->cutoff, &job->deleted, err);

    if (rc) {
        return rc;
    }
    snprintf(detail, sizeof(detail),
             "{\"deleted\":%" PRId64 ",\"retention_days\":%d,\"before\":\"%s\"}", job->deleted,
             job->days, job->cutoff);
    return append_at(w, &e, job->now_ms, err);
}

/* ---- public ----------------------------------------------------------------------------- */

int cg_audit_append(struct cg_conn *w, const struct cg_audit_entry *e, struct cg_error *err)
{
    return append_at(w, e, cg_time_now_ms(), err);
}

int cg_audit_record(struct cg_db *db, const struct cg_audit_entry *e, struct cg_error *err)
{
    int rc;

    CG_ASSERT(db && e);
    rc = check_entry(e, err); /* refuse before queueing */
    if (rc) {
        return rc;
    }
    return cg_db_write(db, record_job_run, (void *)e, err);
}

int cg_audit_verify(struct cg_db *db, int64_t *out_checked, int64_t *out_first_broken,
                    struct cg_error *err)
{
    struct verify_ctx v = {0};
    int rc;

    CG_ASSERT(db && out_checked && out_first_broken);
    rc = cg_audit__walk(db, verify_row, &v, err);
    *out_checked = v.checked;
    *out_first_broken = rc == CG_ECONFLICT ? v.first_broken : 0;
    return rc;
}

int cg_audit_head(struct cg_db *db, int64_t *out_id, char out_hash[65], struct cg_error *err)
{
    struct cg_conn *c;
    int rc;

    CG_ASSERT(db && out_id && out_hash);
    rc = cg_db_reader(db, &c, err);
    return rc ? rc : cg_audit__tail(c, out_id, out_hash, err);
}

int cg_audit_search(struct cg_db *db, const struct cg_audit_query *q, json_t **out_records,
                    int64_t *out_next_before_id, struct cg_error *err)
{
    struct cg_audit_query c;
    char from[CG_TIME_ISO_LEN], to[CG_TIME_ISO_LEN];
    struct search_ctx s = {NULL, q ? q->limit : 0, 0, 0, false};
    int rc;

    CG_ASSERT(db && q && out_records && out_next_before_id);
    rc = check_query(q, &c, from, to, err);
    if (rc) {
        return rc;
    }
    s.records = json_array();
    rc = cg_audit__select(db, &c, q->limit + 1, collect_row, &s, err);
    if (rc) {
        json_decref(s.records);
        return rc;
    }
    *out_records = s.records;
    *out_next_before_id = s.more ? s.last_id : 0;
    return 0;
}

int cg_audit_purge(struct cg_db *db, int retention_days, int64_t *out_deleted, struct cg_error *err)
{
    struct purge_job job = {.days = retention_days};
    int rc;

    CG_ASSERT(db && out_deleted);
    if (retention_days < CG_AUDIT_RETENTION_MIN || retention_days > RETENTION_MAX) {
        return cg_error_field(err, CG_EINVAL, "retention_days",
                              "audit retention must be %d..%d days (the law asks for six months "
                              "at least)",
                              CG_AUDIT_RETENTION_MIN, RETENTION_MAX);
    }
    job.now_ms = cg_time_now_ms();
    cg_time_iso(job.now_ms - retention_days * MS_PER_DAY, job.cutoff, sizeof(job.cutoff));
    rc = cg_db_write(db, purge_job_run, &job, err);
    if (!rc) {
        *out_deleted = job.deleted;
    }
    return rc;
}
