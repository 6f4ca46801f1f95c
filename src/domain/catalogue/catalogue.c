/*
 * catalogue.c: the rules of the event catalogue (catalogue.h): names of
 * kinds, steps, units and urgencies; time limits; rows; the JSON of classes
 * and sub-classes and the tree with its filters; resolving a reference; the
 * checks of a change and its merge. The CSV files are in catalogue_csv.c,
 * the SQL in catalogue_store.c.
 */
#include "base/cg.h"
#include "domain/catalogue/catalogue_int.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/str.h"

#include <ctype.h>
#include <math.h>

/* ---- names ------------------------------------------------------------------------------ */

static const char *const kind_names[CG_CATALOGUE_KINDS] = {"event", "component", "matter", "social",
                                                           "hotline"};
static const char *const kind_labels_zh[CG_CATALOGUE_KINDS] = {"事件", "部件", "事项",
                                                               "社会治理事件", "12345 诉求"};
static const char *const kind_labels_en[CG_CATALOGUE_KINDS] = {
    "Events (CJ/T 214)", "Components (CJ/T 214)", "Matters (GB/T 47678.5)", "Social governance",
    "12345 requests"};
static const char *const step_names[CG_CATALOGUE_STEPS] = {"accept", "dispatch", "handle", "check"};
static const char *const unit_names[] = {NULL, "work_hour", "work_day", "natural_hour"};
static const char *const urgency_names[] = {"normal", "urgent", "emergency", NULL};

const char *cg_catalogue_kind_name(enum cg_catalogue_kind kind)
{
    return (unsigned)kind < CG_CATALOGUE_KINDS ? kind_names[kind] : NULL;
}

const char *cg_catalogue_step_name(enum cg_catalogue_step step)
{
    return (unsigned)step < CG_CATALOGUE_STEPS ? step_names[step] : NULL;
}

const char *cg_catalogue_unit_name(enum cg_catalogue_unit unit)
{
    return (unsigned)unit < CG_ARRAY_LEN(unit_names) ? unit_names[unit] : NULL;
}

const char *cg_catalogue_urgency_name(enum cg_catalogue_urgency urgency)
{
    return (unsigned)urgency <= CG_CATALOGUE_EMERGENCY ? urgency_names[urgency] : NULL;
}

bool cg_catalogue_kind_parse(const char *s, enum cg_catalogue_kind *out)
{
    for (int k = 0; s && k < CG_CATALOGUE_KINDS; k++) {
        if (!strcmp(s, kind_names[k])) {
            *out = (enum cg_catalogue_kind)k;
            return true;
        }
    }
    return false;
}

bool cg_catalogue_urgency_parse(const char *s, enum cg_catalogue_urgency *out)
{
    for (int u = 0; s && urgency_names[u]; u++) {
        if (!strcmp(s, urgency_names[u])) {
            *out = (enum cg_catalogue_urgency)u;
            return true;
        }
    }
    return false;
}

bool cg_catalogue__code_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 1 || n > CG_CATALOGUE_CODE_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

/* ---- time limits ------------------------------------------------------------------------ */

/* A value in (0, CG_CATALOGUE_LIMIT_MAX] that is a multiple of 0.25 (exact in binary). */
static bool limit_value_ok(double v)
{
    return isfinite(v) && v > 0 && v <= CG_CATALOGUE_LIMIT_MAX && v * 4 == floor(v * 4);
}

int cg_catalogue_limit_parse(const char *s, struct cg_catalogue_limit *out, struct cg_error *err)
{
    static const struct {
        const char *name;
        enum cg_catalogue_unit unit;
    } units[] = {
        {"work_hour", CG_CATALOGUE_WORK_HOUR},       {"工作时", CG_CATALOGUE_WORK_HOUR},
        {"work_day", CG_CATALOGUE_WORK_DAY},         {"工作日", CG_CATALOGUE_WORK_DAY},
        {"natural_hour", CG_CATALOGUE_NATURAL_HOUR}, {"自然时", CG_CATALOGUE_NATURAL_HOUR}};
    const char *p = s ? s : "";
    size_t n;
    char *end = NULL;
    double v;

    out->value = 0;
    out->unit = CG_CATALOGUE_NO_LIMIT;
    while (*p == ' ') {
        p++;
    }
    if (!*p) {
        return 0;
    }
    if (*p == '-') {
        return cg_error_set(err, CG_EINVAL,
                            "the value of time limit '%.40s' must be greater than 0", s);
    }
    n = strspn(p, "0123456789.");
    if (!n || p[0] == '.') {
        return cg_error_set(err, CG_EINVAL,
                            "a time limit is a number and a unit, like '4 work_hour', not '%.40s'",
                            s);
    }
    errno = 0;
    v = strtod(p, &end);
    if (errno || end != p + n || !limit_value_ok(v)) {
        return cg_error_set(err, CG_EINVAL,
                            "the value of time limit '%.40s' must be greater than 0, at most %d "
                            "and a multiple of 0.25",
                            s, CG_CATALOGUE_LIMIT_MAX);
    }
    p = end;
    while (*p == ' ') {
        p++;
    }
    for (size_t i = 0; i < CG_ARRAY_LEN(units); i++) {
        if (!strcmp(p, units[i].name)) {
            out->value = v;
            out->unit = units[i].unit;
            return 0;
        }
    }
    return cg_error_set(err, CG_EINVAL,
                        "the unit of time limit '%.40s' must be work_hour, work_day or "
                        "natural_hour",
                        s);
}

void cg_catalogue__limit_format(const struct cg_catalogue_limit *l, char *buf, size_t size)
{
    if (l->unit == CG_CATALOGUE_NO_LIMIT) {
        snprintf(buf, size, "none");
    } else {
        snprintf(buf, size, "%g %s", l->value, cg_catalogue_unit_name(l->unit));
    }
}

static json_t *limit_json(const struct cg_catalogue_limit *l)
{
    json_t *v;

    if (l->unit == CG_CATALOGUE_NO_LIMIT) {
        return json_null();
    }
    v = l->value == floor(l->value) ? json_integer((json_int_t)l->value) : json_real(l->value);
    return json_pack("{s:o, s:s}", "value", v, "unit", cg_catalogue_unit_name(l->unit));
}

/* ---- rows and sets ---------------------------------------------------------------------- */

void cg_catalogue__row_release(struct cg_catalogue__row *r)
{
    free(r->name);
    free(r->major_name);
    free(r->department);
    free(r->filing);
    free(r->closing);
    free(r->standard_ref);
    free(r->confidence);
    free(r->limits_ref);
    free(r->note);
    memset(r, 0, sizeof(*r));
}

char *cg_catalogue__dup(const char *s)
{
    return s ? cg_strdup(s) : NULL;
}

void cg_catalogue__row_copy(struct cg_catalogue__row *dst, const struct cg_catalogue__row *src)
{
    *dst = *src;
    dst->name = cg_catalogue__dup(src->name);
    dst->major_name = cg_catalogue__dup(src->major_name);
    dst->department = cg_catalogue__dup(src->department);
    dst->filing = cg_catalogue__dup(src->filing);
    dst->closing = cg_catalogue__dup(src->closing);
    dst->standard_ref = cg_catalogue__dup(src->standard_ref);
    dst->confidence = cg_catalogue__dup(src->confidence);
    dst->limits_ref = cg_catalogue__dup(src->limits_ref);
    dst->note = cg_catalogue__dup(src->note);
}

static bool str_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

bool cg_catalogue__row_same(const struct cg_catalogue__row *a, const struct cg_catalogue__row *b)
{
    if (a->kind != b->kind || a->major != b->major || strcmp(a->code, b->code) ||
        strcmp(a->major_code, b->major_code) || a->urgency != b->urgency ||
        a->active != b->active) {
        return false;
    }
    for (int s = 0; s < CG_CATALOGUE_STEPS; s++) {
        if (a->limits[s].unit != b->limits[s].unit || a->limits[s].value != b->limits[s].value) {
            return false;
        }
    }
    return str_same(a->name, b->name) && str_same(a->department, b->department) &&
           str_same(a->filing, b->filing) && str_same(a->closing, b->closing) &&
           str_same(a->standard_ref, b->standard_ref) && str_same(a->confidence, b->confidence) &&
           str_same(a->limits_ref, b->limits_ref) && str_same(a->note, b->note);
}

void cg_catalogue__set_release(struct cg_catalogue__set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        cg_catalogue__row_release(&s->r[i]);
    }
    free(s->r);
    memset(s, 0, sizeof(*s));
}

struct cg_catalogue__row *cg_catalogue__set_add(struct cg_catalogue__set *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->r = cg_realloc(s->r, s->cap * sizeof(*s->r));
    }
    memset(&s->r[s->n], 0, sizeof(s->r[0]));
    return &s->r[s->n++];
}

/* The class of sub-class r in s (loaded in kind and code order), or NULL. */
const struct cg_catalogue__row *cg_catalogue__class_of(const struct cg_catalogue__set *s,
                                                       const struct cg_catalogue__row *r)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->r[i].major && s->r[i].kind == r->kind && !strcmp(s->r[i].code, r->major_code)) {
            return &s->r[i];
        }
    }
    return NULL;
}

/* ---- JSON ------------------------------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *ref_json(const struct cg_catalogue__row *r)
{
    char ref[CG_CATALOGUE_CODE_MAX + 16];

    snprintf(ref, sizeof(ref), "%s:%s", kind_names[r->kind], r->code);
    return json_string(ref);
}

/* A sub-class; cls (may be NULL) is its class. */
static json_t *minor_json(const struct cg_catalogue__row *r, const struct cg_catalogue__row *cls)
{
    json_t *limits = json_object();

    for (int s = 0; s < CG_CATALOGUE_STEPS; s++) {
        json_object_set_new(limits, step_names[s], limit_json(&r->limits[s]));
    }
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:{s:s, s:o}, s:o, s:s, s:o, s:o, s:o, s:o, "
                     "s:o, s:o, s:o, s:b, s:I, s:s}",
                     "kind", kind_names[r->kind], "code", r->code, "ref", ref_json(r), "level",
                     "minor", "name", r->name, "major", "code", r->major_code, "name",
                     str_or_null(cls ? cls->name : NULL), "department", str_or_null(r->department),
                     "urgency", urgency_names[r->urgency], "time_limits", limits,
                     "filing_condition", str_or_null(r->filing), "closing_condition",
                     str_or_null(r->closing), "standard_ref", str_or_null(r->standard_ref),
                     "confidence", str_or_null(r->confidence), "limits_ref",
                     str_or_null(r->limits_ref), "note", str_or_null(r->note), "active", r->active,
                     "version", (json_int_t)r->version, "updated_at", r->updated_at);
}

/* A class, with an empty "minors" list. */
static json_t *major_json(const struct cg_catalogue__row *r)
{
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:b, s:I, s:s, s:[]}", "kind",
                     kind_names[r->kind], "code", r->code, "ref", ref_json(r), "level", "major",
                     "name", r->name, "standard_ref", str_or_null(r->standard_ref), "confidence",
                     str_or_null(r->confidence), "active", r->active, "version",
                     (json_int_t)r->version, "updated_at", r->updated_at, "minors");
}

static bool contains(const char *hay, const char *needle)
{
    return !needle || !*needle || (hay && strstr(hay, needle));
}

static bool passes(const struct cg_catalogue_query *q, const struct cg_catalogue__row *r,
                   const struct cg_catalogue__row *cls)
{
    if (q->active >= 0 && r->active != (q->active == 1)) {
        return false;
    }
    if (q->urgency && strcmp(q->urgency, urgency_names[r->urgency])) {
        return false;
    }
    if (q->q && *q->q && !contains(r->name, q->q) && !(cls && contains(cls->name, q->q))) {
        return false;
    }
    return contains(r->department, q->department) && contains(r->standard_ref, q->standard);
}

int cg_catalogue_tree(struct cg_db *db, const struct cg_catalogue_query *q, json_t **out,
                      struct cg_error *err)
{
    struct cg_catalogue__set s = {0};
    enum cg_catalogue_kind kind = CG_CATALOGUE_EVENT;
    enum cg_catalogue_urgency urg;
    json_t *kinds = json_array();
    int64_t majors = 0, minors = 0;
    int rc = 0;

    *out = NULL;
    if (q->kind && !cg_catalogue_kind_parse(q->kind, &kind)) {
        rc = cg_error_field(err, CG_EINVAL, "kind",
                            "'kind' must be event, component, matter, social or hotline");
    }
    if (!rc && q->urgency && !cg_catalogue_urgency_parse(q->urgency, &urg)) {
        rc = cg_error_field(err, CG_EINVAL, "urgency",
                            "'urgency' must be normal, urgent or emergency");
    }
    if (!rc && q->major && !cg_catalogue__code_ok(q->major)) {
        rc = cg_error_field(err, CG_EINVAL, "major",
                            "'major' must be a class code (1 to %d letters or digits)",
                            CG_CATALOGUE_CODE_MAX);
    }
    rc = rc ? rc : cg_catalogue__load(db, q->kind ? &kind : NULL, NULL, &s, err);
    if (rc) {
        json_decref(kinds);
        return rc;
    }
    for (int k = 0; k < CG_CATALOGUE_KINDS; k++) {
        json_t *list = json_array(), *cur = NULL;
        const struct cg_catalogue__row *cls = NULL;

        for (size_t i = 0; i < s.n; i++) {
            const struct cg_catalogue__row *r = &s.r[i];

            if ((int)r->kind != k) {
                continue;
            }
            if (r->major) {
                cls = r;
                cur = NULL;
                continue;
            }
            if (!cls || strcmp(cls->code, r->major_code)) {
                cls = cg_catalogue__class_of(&s, r);
                cur = NULL;
            }
            if ((q->major && strcmp(q->major, r->major_code)) || !passes(q, r, cls)) {
                continue;
            }
            if (!cur && cls) {
                cur = major_json(cls);
                json_array_append_new(list, cur);
                majors++;
            }
            if (cur) {
                json_array_append_new(json_object_get(cur, "minors"), minor_json(r, cls));
                minors++;
            }
        }
        if (json_array_size(list) || (q->kind && (int)kind == k)) {
            json_array_append_new(kinds, json_pack("{s:s, s:s, s:s, s:o}", "kind", kind_names[k],
                                                   "label_zh", kind_labels_zh[k], "label_en",
                                                   kind_labels_en[k], "majors", list));
        } else {
            json_decref(list);
        }
    }
    cg_catalogue__set_release(&s);
    *out = json_pack("{s:o, s:{s:I, s:I}}", "kinds", kinds, "count", "majors", (json_int_t)majors,
                     "minors", (json_int_t)minors);
    return 0;
}

int cg_catalogue_resolve(struct cg_db *db, const char *ref, const char *kind,
                         enum cg_catalogue_kind *out_kind, char out_code[CG_CATALOGUE_CODE_MAX + 1],
                         struct cg_error *err)
{
    const char *colon = ref ? strchr(ref, ':') : NULL;
    const char *code = colon ? colon + 1 : ref;
    enum cg_catalogue_kind k = CG_CATALOGUE_EVENT, qk = CG_CATALOGUE_EVENT;
    unsigned mask = 0;
    int rc, n = 0;

    if (kind && !cg_catalogue_kind_parse(kind, &qk)) {
        return cg_error_field(err, CG_EINVAL, "kind",
                              "'kind' must be event, component, matter, social or hotline");
    }
    if (colon) {
        char name[16];

        snprintf(name, sizeof(name), "%.*s", (int)(colon - ref < 15 ? colon - ref : 15), ref);
        if (colon - ref > 15 || !cg_catalogue_kind_parse(name, &k) ||
            !cg_catalogue__code_ok(code)) {
            return cg_error_field(err, CG_ENOTFOUND, "code", "no event category '%.40s'", ref);
        }
        if (kind && qk != k) {
            return cg_error_field(err, CG_EINVAL, "kind", "'%.40s' is not of kind '%s'", ref, kind);
        }
    } else if (!cg_catalogue__code_ok(code)) {
        return cg_error_field(err, CG_ENOTFOUND, "code", "no event category '%.40s'",
                              code ? code : "");
    } else if (kind) {
        k = qk;
    } else {
        rc = cg_catalogue__kinds_of(db, code, &mask, err);
        if (rc) {
            return rc;
        }
        for (int i = 0; i < CG_CATALOGUE_KINDS; i++) {
            if (mask & (1u << i)) {
                k = n++ ? k : (enum cg_catalogue_kind)i;
            }
        }
        if (!n) {
            return cg_error_field(err, CG_ENOTFOUND, "code", "no event category '%s'", code);
        }
        if (n > 1) {
            char kinds[80] = "";

            for (int i = 0; i < CG_CATALOGUE_KINDS; i++) {
                if (mask & (1u << i)) {
                    size_t l = strlen(kinds);

                    snprintf(kinds + l, sizeof(kinds) - l, "%s%s", l ? ", " : "", kind_names[i]);
                }
            }
            return cg_error_field(err, CG_EINVAL, "kind",
                                  "code '%s' is used by several kinds (%s): ask for %s:%s or give "
                                  "?kind=",
                                  code, kinds, kind_names[k], code);
        }
    }
    *out_kind = k;
    snprintf(out_code, CG_CATALOGUE_CODE_MAX + 1, "%s", code);
    return 0;
}

/* Loads (kind, code) with its sub-classes; the row itself is r->r[*out_i]. */
static int load_one(struct cg_db *db, enum cg_catalogue_kind kind, const char *code,
                    struct cg_catalogue__set *s, size_t *out_i, struct cg_error *err)
{
    int rc = cg_catalogue__load(db, &kind, code, s, err);

    if (rc) {
        return rc;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (!strcmp(s->r[i].code, code)) {
            *out_i = i;
            return 0;
        }
    }
    return cg_error_field(err, CG_ENOTFOUND, "code", "no event category '%s:%s'", kind_names[kind],
                          code);
}

int cg_catalogue_get(struct cg_db *db, enum cg_catalogue_kind kind, const char *code, json_t **out,
                     struct cg_error *err)
{
    struct cg_catalogue__set s = {0}, cs = {0};
    size_t at = 0;
    int rc = cg_catalogue__code_ok(code)
                 ? load_one(db, kind, code, &s, &at, err)
                 : cg_error_field(err, CG_ENOTFOUND, "code", "no event category");

    *out = NULL;
    if (!rc && s.r[at].major) {
        *out = major_json(&s.r[at]);
        for (size_t i = 0; i < s.n; i++) {
            if (!s.r[i].major) {
                json_array_append_new(json_object_get(*out, "minors"),
                                      minor_json(&s.r[i], &s.r[at]));
            }
        }
    } else if (!rc) {
        size_t ci = 0;

        /* The class, for its name. */
        if (!load_one(db, kind, s.r[at].major_code, &cs, &ci, err)) {
            *out = minor_json(&s.r[at], &cs.r[ci]);
        } else {
            cg_error_clear(err);
            *out = minor_json(&s.r[at], NULL);
        }
    }
    cg_catalogue__set_release(&s);
    cg_catalogue__set_release(&cs);
    return rc;
}

int cg_catalogue_lookup(struct cg_db *db, enum cg_catalogue_kind kind, const char *code,
                        struct cg_catalogue_class *out, struct cg_error *err)
{
    struct cg_catalogue__set s = {0};
    size_t at = 0;
    int rc = cg_catalogue__code_ok(code)
                 ? cg_catalogue__load_exact(db, kind, code, &s, err)
                 : cg_error_field(err, CG_ENOTFOUND, "code", "no event category");

    memset(out, 0, sizeof(*out));
    if (!rc && s.n == 0) {
        rc = cg_error_field(err, CG_ENOTFOUND, "code", "no event category '%s:%s'",
                            kind_names[kind], code);
    }
    if (!rc && s.r[at].major) {
        rc = cg_error_field(err, CG_ENOTFOUND, "code",
                            "%s:%s is a class (大类): events take a sub-class (小类)",
                            kind_names[kind], code);
    }
    if (!rc) {
        const struct cg_catalogue__row *r = &s.r[at];

        out->kind = r->kind;
        snprintf(out->code, sizeof(out->code), "%s", r->code);
        snprintf(out->major_code, sizeof(out->major_code), "%s", r->major_code);
        snprintf(out->name, sizeof(out->name), "%s", r->name);
        snprintf(out->department, sizeof(out->department), "%s",
                 r->department ? r->department : "");
        out->urgency = r->urgency;
        memcpy(out->limits, r->limits, sizeof(out->limits));
        out->active = r->active;
        out->version = r->version;
    }
    cg_catalogue__set_release(&s);
    return rc;
}

/* ---- changes ---------------------------------------------------------------------------- */

/* A text member: absent leaves it, null or "" clears it (when clearable). */
static int change_text(json_t *body, const char *key, size_t max, bool clearable, bool multiline,
                       unsigned bit, char **slot, struct cg_catalogue__change *ch,
                       struct cg_error *err)
{
    json_t *v = json_object_get(body, key);
    const char *s = NULL;
    int rc;

    if (!v) {
        return 0;
    }
    if (json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
        if (!clearable) {
            return cg_error_field(err, CG_EINVAL, key, "field '%s' must not be empty", key);
        }
        ch->fields |= bit;
        *slot = NULL;
        return 0;
    }
    rc = cg_json_get_string(body, key, false, 1, max, multiline, &s, err);
    if (rc) {
        return rc;
    }
    ch->fields |= bit;
    *slot = cg_strdup(s);
    return 0;
}

/* time_limits: {step: null | {"value": n, "unit": "..."}}. */
static int change_limits(json_t *tl, struct cg_catalogue__change *ch, struct cg_error *err)
{
    const char *key;
    json_t *v;

    if (!json_is_object(tl)) {
        return cg_error_field(err, CG_ETYPE, "time_limits",
                              "field 'time_limits' must be an object such as "
                              "{\"handle\": {\"value\": 4, \"unit\": \"work_hour\"}}");
    }
    json_object_foreach(tl, key, v)
    {
        static const char *const parts[] = {"value", "unit", NULL};
        char field[CG_ERROR_FIELD_MAX];
        int s = 0;
        json_t *value, *unit;
        const char *u, *part;
        double d;

        while (s < CG_CATALOGUE_STEPS && strcmp(key, step_names[s])) {
            s++;
        }
        snprintf(field, sizeof(field), "time_limits.%.30s", key);
        if (s == CG_CATALOGUE_STEPS) {
            return cg_error_field(err, CG_EINVAL, field,
                                  "unknown step '%.30s': the steps are accept, dispatch, handle "
                                  "and check",
                                  key);
        }
        ch->fields |= CG_CATALOGUE__LIMIT0 << s;
        if (json_is_null(v)) {
            ch->v.limits[s] = (struct cg_catalogue_limit){0, CG_CATALOGUE_NO_LIMIT};
            continue;
        }
        if (!json_is_object(v)) {
            return cg_error_field(err, CG_ETYPE, field,
                                  "field '%s' must be null or {\"value\": ..., \"unit\": ...}",
                                  field);
        }
        json_object_foreach(v, part, value)
        {
            bool known = !strcmp(part, parts[0]) || !strcmp(part, parts[1]);

            if (!known) {
                snprintf(field, sizeof(field), "time_limits.%s.%.20s", step_names[s], part);
                return cg_error_field(err, CG_EINVAL, field, "unknown field '%s'", field);
            }
        }
        value = json_object_get(v, "value");
        unit = json_object_get(v, "unit");
        snprintf(field, sizeof(field), "time_limits.%s.value", step_names[s]);
        if (!value || json_is_null(value)) {
            return cg_error_field(err, CG_EMISSING, field, "field '%s' is required", field);
        }
        if (!json_is_number(value)) {
            return cg_error_field(err, CG_ETYPE, field, "field '%s' must be a number", field);
        }
        d = json_number_value(value);
        if (!limit_value_ok(d)) {
            return cg_error_field(err, CG_EINVAL, field,
                                  d <= 0 ? "field '%s' must be greater than 0"
                                         : "field '%s' must be at most %d and a multiple of 0.25",
                                  field, CG_CATALOGUE_LIMIT_MAX);
        }
        snprintf(field, sizeof(field), "time_limits.%s.unit", step_names[s]);
        if (!unit || json_is_null(unit)) {
            return cg_error_field(err, CG_EMISSING, field, "field '%s' is required", field);
        }
        if (!json_is_string(unit)) {
            return cg_error_field(err, CG_ETYPE, field, "field '%s' must be a string", field);
        }
        u = json_string_value(unit);
        ch->v.limits[s].value = d;
        ch->v.limits[s].unit = !strcmp(u, "work_hour")      ? CG_CATALOGUE_WORK_HOUR
                               : !strcmp(u, "work_day")     ? CG_CATALOGUE_WORK_DAY
                               : !strcmp(u, "natural_hour") ? CG_CATALOGUE_NATURAL_HOUR
                                                            : CG_CATALOGUE_NO_LIMIT;
        if (ch->v.limits[s].unit == CG_CATALOGUE_NO_LIMIT) {
            return cg_error_field(err, CG_EINVAL, field,
                                  "field '%s' must be work_hour, work_day or natural_hour", field);
        }
    }
    return 0;
}

static int parse_changes(json_t *body, const struct cg_catalogue__row *cur,
                         struct cg_catalogue__change *ch, struct cg_error *err)
{
    static const char *const all[] = {"name",
                                      "department",
                                      "urgency",
                                      "time_limits",
                                      "filing_condition",
                                      "closing_condition",
                                      "limits_ref",
                                      "note",
                                      "active",
                                      "version",
                                      NULL};
    static const char *const minor_only[] = {
        "department",        "urgency",    "time_limits", "filing_condition",
        "closing_condition", "limits_ref", "note",        NULL};
    json_t *v;
    const char *urg = NULL;
    int rc;

    if (!json_is_object(body)) {
        return cg_error_set(err, CG_ETYPE, "the body must be a JSON object");
    }
    rc = cg_json_only_keys(body, all, err);
    if (rc) {
        return rc;
    }
    for (size_t i = 0; cur->major && minor_only[i]; i++) {
        if (json_object_get(body, minor_only[i])) {
            return cg_error_field(err, CG_EINVAL, minor_only[i],
                                  "'%s' belongs to sub-classes (小类); %s:%s is a class (大类): "
                                  "a class has only a name and active",
                                  minor_only[i], kind_names[cur->kind], cur->code);
        }
    }
    rc = change_text(body, "name", CG_CATALOGUE_NAME_MAX, false, false, CG_CATALOGUE__NAME,
                     &ch->v.name, ch, err);
    rc = rc ? rc
            : change_text(body, "department", CG_CATALOGUE_DEPT_MAX, false, false,
                          CG_CATALOGUE__DEPARTMENT, &ch->v.department, ch, err);
    rc = rc ? rc : cg_json_get_enum(body, "urgency", false, urgency_names, &urg, err);
    if (!rc && urg) {
        ch->fields |= CG_CATALOGUE__URGENCY;
        cg_catalogue_urgency_parse(urg, &ch->v.urgency);
    }
    v = json_object_get(body, "time_limits");
    rc = rc || !v ? rc : change_limits(v, ch, err);
    rc = rc ? rc
            : change_text(body, "filing_condition", CG_CATALOGUE_TEXT_MAX, true, true,
                          CG_CATALOGUE__FILING, &ch->v.filing, ch, err);
    rc = rc ? rc
            : change_text(body, "closing_condition", CG_CATALOGUE_TEXT_MAX, true, true,
                          CG_CATALOGUE__CLOSING, &ch->v.closing, ch, err);
    rc = rc ? rc
            : change_text(body, "limits_ref", CG_CATALOGUE_REF_MAX, true, false,
                          CG_CATALOGUE__LIMITS_REF, &ch->v.limits_ref, ch, err);
    rc = rc ? rc
            : change_text(body, "note", CG_CATALOGUE_TEXT_MAX, true, true, CG_CATALOGUE__NOTE,
                          &ch->v.note, ch, err);
    if (rc) {
        return rc;
    }
    v = json_object_get(body, "active");
    if (v && !json_is_boolean(v)) {
        return cg_error_field(err, CG_ETYPE, "active", "field 'active' must be true or false");
    }
    if (v) {
        ch->fields |= CG_CATALOGUE__ACTIVE;
        ch->v.active = json_is_true(v);
    }
    rc = cg_json_get_int(body, "version", false, 1, INT64_MAX, &ch->version, err);
    if (rc) {
        return rc;
    }
    if (!ch->fields) {
        return cg_error_set(err, CG_EINVAL,
                            cur->major ? "give a field to change: name or active"
                                       : "give a field to change: name, department, urgency, "
                                         "time_limits, filing_condition, closing_condition, "
                                         "limits_ref, note or active");
    }
    return 0;
}

static void detail_text(struct cg_str *d, const char *what, const char *from, const char *to)
{
    cg_str_addf(d, "%s%s: '%.60s' -> '%.60s'", cg_str_len(d) ? "; " : "", what, from ? from : "",
                to ? to : "");
}

/* Puts a changed string into *slot (freeing the old one) and records it. */
static void merge_text(unsigned fields, unsigned bit, const char *what, char **slot, const char *to,
                       struct cg_str *d, bool *changed)
{
    if (!(fields & bit) || str_same(*slot, to)) {
        return;
    }
    detail_text(d, what, *slot, to);
    free(*slot);
    *slot = cg_catalogue__dup(to);
    *changed = true;
}

bool cg_catalogue__merge(const struct cg_catalogue__row *cur, const struct cg_catalogue__change *ch,
                         struct cg_catalogue__row *out, struct cg_str *detail)
{
    bool changed = false, limits = false;

    cg_catalogue__row_copy(out, cur);
    merge_text(ch->fields, CG_CATALOGUE__NAME, "name", &out->name, ch->v.name, detail, &changed);
    merge_text(ch->fields, CG_CATALOGUE__DEPARTMENT, "department", &out->department,
               ch->v.department, detail, &changed);
    if ((ch->fields & CG_CATALOGUE__URGENCY) && out->urgency != ch->v.urgency) {
        detail_text(detail, "urgency", urgency_names[out->urgency], urgency_names[ch->v.urgency]);
        out->urgency = ch->v.urgency;
        changed = true;
    }
    for (int s = 0; s < CG_CATALOGUE_STEPS; s++) {
        const struct cg_catalogue_limit *a = &out->limits[s], *b = &ch->v.limits[s];
        char fa[48], fb[48];

        if (!(ch->fields & (CG_CATALOGUE__LIMIT0 << s)) ||
            (a->unit == b->unit && a->value == b->value)) {
            continue;
        }
        cg_catalogue__limit_format(a, fa, sizeof(fa));
        cg_catalogue__limit_format(b, fb, sizeof(fb));
        cg_str_addf(detail, "%s%s: %s -> %s", cg_str_len(detail) ? "; " : "", step_names[s], fa,
                    fb);
        out->limits[s] = *b;
        changed = limits = true;
    }
    merge_text(ch->fields, CG_CATALOGUE__FILING, "filing_condition", &out->filing, ch->v.filing,
               detail, &changed);
    merge_text(ch->fields, CG_CATALOGUE__CLOSING, "closing_condition", &out->closing, ch->v.closing,
               detail, &changed);
    if (ch->fields & CG_CATALOGUE__LIMITS_REF) {
        merge_text(ch->fields, CG_CATALOGUE__LIMITS_REF, "limits_ref", &out->limits_ref,
                   ch->v.limits_ref, detail, &changed);
    } else if (limits) {
        merge_text(CG_CATALOGUE__LIMITS_REF, CG_CATALOGUE__LIMITS_REF, "limits_ref",
                   &out->limits_ref, "local setting", detail, &changed);
    }
    merge_text(ch->fields, CG_CATALOGUE__NOTE, "note", &out->note, ch->v.note, detail, &changed);
    if ((ch->fields & CG_CATALOGUE__ACTIVE) && out->active != ch->v.active) {
        detail_text(detail, "active", out->active ? "true" : "false",
                    ch->v.active ? "true" : "false");
        out->active = ch->v.active;
        changed = true;
    }
    return changed;
}

int cg_catalogue_update(struct cg_db *db, const struct cg_principal *actor,
                        enum cg_catalogue_kind kind, const char *code, json_t *changes,
                        const char *remote, json_t **out, struct cg_error *err)
{
    struct cg_catalogue__set s = {0};
    struct cg_catalogue__change ch = {0};
    size_t at = 0;
    int rc = cg_catalogue__code_ok(code)
                 ? load_one(db, kind, code, &s, &at, err)
                 : cg_error_field(err, CG_ENOTFOUND, "code", "no event category");

    *out = NULL;
    rc = rc ? rc : parse_changes(changes, &s.r[at], &ch, err);
    rc = rc ? rc : cg_catalogue__update(db, actor, remote, kind, code, &ch, err);
    rc = rc ? rc : cg_catalogue_get(db, kind, code, out, err);
    cg_catalogue__row_release(&ch.v);
    cg_catalogue__set_release(&s);
    return rc;
}
