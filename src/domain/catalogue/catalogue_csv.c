/*
 * catalogue_csv.c: the CSV files of the event catalogue (docs/CATALOGUE.md):
 * reading records (RFC 4180 quoting, '#' comment lines, a byte order mark),
 * checking every row of a file, the default files embedded in the binaries,
 * importing, seeding and exporting. The SQL is in catalogue_store.c.
 */
#include "base/cg.h"
#include "domain/catalogue/catalogue_int.h"
#include "base/mem.h"
#include "base/str.h"

/* The default catalogue, embedded from data/catalogue/ by tools/embed-data.sh. */
extern const char cg_catalogue_urban_cjt214_csv[];
extern const char cg_catalogue_urban_gbt47678_csv[];
extern const char cg_catalogue_social_csv[];
extern const char cg_catalogue_hotline_csv[];

static const struct {
    const char *name;
    const char *text;
} default_files[] = {
    {"data/catalogue/urban-cjt214.csv", cg_catalogue_urban_cjt214_csv},
    {"data/catalogue/urban-gbt47678.csv", cg_catalogue_urban_gbt47678_csv},
    {"data/catalogue/social.csv", cg_catalogue_social_csv},
    {"data/catalogue/hotline.csv", cg_catalogue_hotline_csv},
};

/* ---- reading CSV ------------------------------------------------------------------------ */

/* The columns of a catalogue file; the first CSV_REQUIRED must be present. */
enum col {
    C_KIND,
    C_MAJOR_CODE,
    C_MAJOR_NAME,
    C_CODE,
    C_NAME,
    C_URGENCY,
    C_DEPARTMENT,
    C_STANDARD_REF,
    C_ACCEPT, /* the four steps in enum cg_catalogue_step order */
    C_DISPATCH,
    C_HANDLE,
    C_CHECK,
    C_FILING,
    C_CLOSING,
    C_CONFIDENCE,
    C_LIMITS_REF,
    C_ACTIVE,
    C_NOTE,
    C_COUNT
};
#define CSV_REQUIRED (C_STANDARD_REF + 1)

static const char *const col_names[C_COUNT] = {"kind",
                                               "major_code",
                                               "major_name",
                                               "code",
                                               "name",
                                               "urgency",
                                               "department",
                                               "standard_ref",
                                               "accept",
                                               "dispatch",
                                               "handle",
                                               "check",
                                               "filing_condition",
                                               "closing_condition",
                                               "confidence",
                                               "limits_ref",
                                               "active",
                                               "note"};

/* The order export writes them in (the order of the default files). */
static const enum col export_order[C_COUNT] = {
    C_KIND,       C_MAJOR_CODE,   C_MAJOR_NAME, C_CODE,       C_NAME,   C_URGENCY,
    C_DEPARTMENT, C_ACCEPT,       C_DISPATCH,   C_HANDLE,     C_CHECK,  C_FILING,
    C_CLOSING,    C_STANDARD_REF, C_CONFIDENCE, C_LIMITS_REF, C_ACTIVE, C_NOTE};

#define CSV_FIELDS_MAX 64

struct csv {
    const char *p, *end;
    int line;           /* line number at p */
    struct cg_str cell; /* the field being read */
};

struct record {
    int line; /* where the record starts */
    size_t n;
    char *f[CSV_FIELDS_MAX];
};

static void record_release(struct record *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->f[i]);
    }
    r->n = 0;
}

/* Trims spaces and tabs at both ends, in place. */
static char *trim(char *s)
{
    size_t n = strlen(s);

    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        s[--n] = '\0';
    }
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return s;
}

/*
 * Reads the next record into r. Blank lines and lines starting with '#' are
 * skipped. Returns 1 for a record, 0 at the end, CG_EINVAL with err set.
 */
static int csv_next(struct csv *c, struct record *r, struct cg_error *err)
{
    r->n = 0;
    for (;;) {
        if (c->p >= c->end) {
            return 0;
        }
        if (*c->p == '#') {
            while (c->p < c->end && *c->p != '\n') {
                c->p++;
            }
        }
        if (c->p < c->end && (*c->p == '\n' || *c->p == '\r')) {
            if (*c->p == '\n') {
                c->line++;
            }
            c->p++;
            continue;
        }
        if (c->p < c->end) {
            break;
        }
    }
    r->line = c->line;
    for (;;) {
        bool quoted = false;

        cg_str_reset(&c->cell);
        if (c->p < c->end && *c->p == '"') {
            quoted = true;
            c->p++;
            for (;;) {
                if (c->p >= c->end) {
                    return cg_error_set(err, CG_EINVAL, "line %d: a quoted field is not closed",
                                        r->line);
                }
                if (*c->p == '"') {
                    if (c->p + 1 < c->end && c->p[1] == '"') {
                        cg_str_addch(&c->cell, '"');
                        c->p += 2;
                        continue;
                    }
                    c->p++;
                    break;
                }
                if (*c->p == '\n') {
                    c->line++;
                }
                cg_str_addch(&c->cell, *c->p++);
            }
        }
        while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
            if (quoted && *c->p != ' ' && *c->p != '\t') {
                return cg_error_set(err, CG_EINVAL, "line %d: text after a closing quote", c->line);
            }
            cg_str_addch(&c->cell, *c->p++);
        }
        if (cg_str_error(&c->cell)) {
            return cg_error_set(err, CG_ETOOBIG, "line %d: a field is too long", c->line);
        }
        if (r->n == CSV_FIELDS_MAX) {
            return cg_error_set(err, CG_EINVAL, "line %d: more than %d fields", r->line,
                                CSV_FIELDS_MAX);
        }
        r->f[r->n++] = cg_strdup(trim((char *)cg_str_ptr(&c->cell)));
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '\r') {
            c->p++;
        }
        if (c->p < c->end && *c->p == '\n') {
            c->p++;
            c->line++;
        }
        return 1;
    }
}

/* ---- checking a file -------------------------------------------------------------------- */

struct check {
    struct cg_str *problems; /* may be NULL */
    struct cg_error *err;    /* the first problem */
    int count;
};

static void problem(struct check *ck, int line, const char *fmt, ...) CG_PRINTF(3, 4);

static void problem(struct check *ck, int line, const char *fmt, ...)
{
    char msg[CG_ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ck->count++;
    if (ck->problems) {
        cg_str_addf(ck->problems, "line %d: %s\n", line, msg);
    }
    cg_error_set(ck->err, CG_EINVAL, "line %d: %s", line, msg);
}

/*
 * A text field of at most max characters (min 1 when required): no control
 * characters but newline and tab in multiline ones. Returns a copy or NULL
 * when empty; *ok false after a problem.
 */
static char *text_field(struct check *ck, int line, const char *col, const char *s, size_t max,
                        bool required, bool multiline, bool *ok)
{
    size_t len = strlen(s), chars = cg_utf8_count(s, len);

    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];

        if ((ch < 0x20 && !(multiline && (ch == '\n' || ch == '\t' || ch == '\r'))) || ch == 0x7f) {
            problem(ck, line, "column '%s' must not contain control characters", col);
            *ok = false;
            return NULL;
        }
    }
    if (!chars && required) {
        problem(ck, line, "column '%s' is empty", col);
        *ok = false;
        return NULL;
    }
    if (chars > max) {
        problem(ck, line, "column '%s' has %zu characters, more than %zu", col, chars, max);
        *ok = false;
        return NULL;
    }
    return chars ? cg_strdup(s) : NULL;
}

/* Fills row from a data record (fields by column index, -1 when the column is absent). */
static bool row_from_record(struct check *ck, const struct record *rec, const int *idx,
                            struct cg_catalogue__row *row)
{
    const char *v[C_COUNT];
    struct cg_error lerr = CG_ERROR_INIT;
    bool ok = true;
    int line = rec->line;

    for (int c = 0; c < C_COUNT; c++) {
        v[c] = idx[c] >= 0 ? rec->f[idx[c]] : "";
    }
    row->line = line;
    if (!cg_catalogue_kind_parse(v[C_KIND], &row->kind)) {
        problem(ck, line, "kind '%.20s' is not event, component, matter, social or hotline",
                v[C_KIND]);
        ok = false;
    }
    if (!cg_catalogue__code_ok(v[C_MAJOR_CODE])) {
        problem(ck, line, "major_code '%.20s' must be 1 to %d letters or digits", v[C_MAJOR_CODE],
                CG_CATALOGUE_CODE_MAX);
        ok = false;
    }
    if (!cg_catalogue__code_ok(v[C_CODE])) {
        problem(ck, line, "code '%.20s' must be 1 to %d letters or digits", v[C_CODE],
                CG_CATALOGUE_CODE_MAX);
        ok = false;
    } else if (cg_catalogue__code_ok(v[C_MAJOR_CODE]) &&
               (strlen(v[C_CODE]) <= strlen(v[C_MAJOR_CODE]) ||
                strncmp(v[C_CODE], v[C_MAJOR_CODE], strlen(v[C_MAJOR_CODE])))) {
        problem(ck, line, "code '%s' must start with its class code '%s' and be longer", v[C_CODE],
                v[C_MAJOR_CODE]);
        ok = false;
    }
    snprintf(row->code, sizeof(row->code), "%s", cg_catalogue__code_ok(v[C_CODE]) ? v[C_CODE] : "");
    snprintf(row->major_code, sizeof(row->major_code), "%s",
             cg_catalogue__code_ok(v[C_MAJOR_CODE]) ? v[C_MAJOR_CODE] : "");
    row->major_name = text_field(ck, line, "major_name", v[C_MAJOR_NAME], CG_CATALOGUE_NAME_MAX,
                                 true, false, &ok);
    row->name = text_field(ck, line, "name", v[C_NAME], CG_CATALOGUE_NAME_MAX, true, false, &ok);
    row->department = text_field(ck, line, "department", v[C_DEPARTMENT], CG_CATALOGUE_DEPT_MAX,
                                 true, false, &ok);
    if (!cg_catalogue_urgency_parse(v[C_URGENCY], &row->urgency)) {
        problem(ck, line, "urgency '%.20s' is not normal, urgent or emergency", v[C_URGENCY]);
        ok = false;
    }
    for (int s = 0; s < CG_CATALOGUE_STEPS; s++) {
        cg_error_clear(&lerr);
        if (cg_catalogue_limit_parse(v[C_ACCEPT + s], &row->limits[s], &lerr)) {
            problem(ck, line, "column '%s': %s", col_names[C_ACCEPT + s], lerr.message);
            ok = false;
        }
    }
    row->filing = text_field(ck, line, "filing_condition", v[C_FILING], CG_CATALOGUE_TEXT_MAX,
                             false, true, &ok);
    row->closing = text_field(ck, line, "closing_condition", v[C_CLOSING], CG_CATALOGUE_TEXT_MAX,
                              false, true, &ok);
    row->standard_ref = text_field(ck, line, "standard_ref", v[C_STANDARD_REF],
                                   CG_CATALOGUE_REF_MAX, true, false, &ok);
    if (*v[C_CONFIDENCE] && strcmp(v[C_CONFIDENCE], "V") && strcmp(v[C_CONFIDENCE], "S") &&
        strcmp(v[C_CONFIDENCE], "U")) {
        problem(ck, line, "confidence '%.20s' is not V, S, U or empty", v[C_CONFIDENCE]);
        ok = false;
    } else {
        row->confidence = *v[C_CONFIDENCE] ? cg_strdup(v[C_CONFIDENCE]) : NULL;
    }
    row->limits_ref = text_field(ck, line, "limits_ref", v[C_LIMITS_REF], CG_CATALOGUE_REF_MAX,
                                 false, false, &ok);
    row->note = text_field(ck, line, "note", v[C_NOTE], CG_CATALOGUE_TEXT_MAX, false, true, &ok);
    if (!*v[C_ACTIVE] || !strcmp(v[C_ACTIVE], "1") || !strcmp(v[C_ACTIVE], "true") ||
        !strcmp(v[C_ACTIVE], "yes")) {
        row->active = true;
    } else if (!strcmp(v[C_ACTIVE], "0") || !strcmp(v[C_ACTIVE], "false") ||
               !strcmp(v[C_ACTIVE], "no")) {
        row->active = false;
    } else {
        problem(ck, line, "active '%.20s' is not 1, 0, true, false or empty", v[C_ACTIVE]);
        ok = false;
    }
    return ok;
}

/* Orders rows by kind, code, then line (to find duplicates). */
static int cmp_row_ptr(const void *a, const void *b)
{
    const struct cg_catalogue__row *x = *(const struct cg_catalogue__row *const *)a;
    const struct cg_catalogue__row *y = *(const struct cg_catalogue__row *const *)b;
    int c = (int)x->kind - (int)y->kind;

    c = c ? c : strcmp(x->code, y->code);
    return c ? c : x->line - y->line;
}

/* The class row of (kind, code) among s->r[from..], or NULL. */
static struct cg_catalogue__row *find_class(struct cg_catalogue__set *s, size_t from,
                                            enum cg_catalogue_kind kind, const char *code)
{
    for (size_t i = from; i < s->n; i++) {
        if (s->r[i].major && s->r[i].kind == kind && !strcmp(s->r[i].code, code)) {
            return &s->r[i];
        }
    }
    return NULL;
}

/* Header: every column known and once, the required ones present. */
static bool read_header(struct check *ck, const struct record *rec, int *idx)
{
    bool ok = true;

    for (int c = 0; c < C_COUNT; c++) {
        idx[c] = -1;
    }
    for (size_t i = 0; i < rec->n; i++) {
        int c = 0;

        while (c < C_COUNT && strcmp(rec->f[i], col_names[c])) {
            c++;
        }
        if (c == C_COUNT) {
            problem(ck, rec->line, "unknown column '%.40s' in the header", rec->f[i]);
            ok = false;
        } else if (idx[c] >= 0) {
            problem(ck, rec->line, "column '%s' appears twice in the header", col_names[c]);
            ok = false;
        } else {
            idx[c] = (int)i;
        }
    }
    for (int c = 0; c < CSV_REQUIRED; c++) {
        if (ok && idx[c] < 0) {
            problem(ck, rec->line, "the header has no column '%s'", col_names[c]);
            ok = false;
        }
    }
    return ok;
}

/* After parsing: no (kind, code) twice, one name per class. */
static void check_set(struct check *ck, struct cg_catalogue__set *s, size_t from)
{
    size_t n = s->n - from;
    struct cg_catalogue__row **p = cg_calloc(n ? n : 1, sizeof(*p));

    for (size_t i = 0; i < n; i++) {
        p[i] = &s->r[from + i];
    }
    qsort(p, n, sizeof(*p), cmp_row_ptr);
    for (size_t i = 1; i < n; i++) {
        if (p[i]->kind == p[i - 1]->kind && !strcmp(p[i]->code, p[i - 1]->code) &&
            (!p[i]->major || !p[i - 1]->major)) {
            const struct cg_catalogue__row *later = p[i]->major ? p[i - 1] : p[i];
            const struct cg_catalogue__row *first = later == p[i] ? p[i - 1] : p[i];

            if (first->major) {
                problem(ck, later->line, "%s code '%s' is also a class on line %d",
                        cg_catalogue_kind_name(later->kind), later->code, first->line);
            } else {
                problem(ck, later->line, "%s code '%s' is also on line %d",
                        cg_catalogue_kind_name(later->kind), later->code, first->line);
            }
        }
    }
    free(p);
}

int cg_catalogue__parse(const char *text, size_t len, struct cg_catalogue__set *s,
                        struct cg_str *problems, struct cg_error *err)
{
    struct csv c = {text, text + len, 1, CG_STR_INIT_MAX(64 * 1024)};
    struct record rec = {0};
    struct check ck = {problems, err, 0};
    int idx[C_COUNT];
    size_t from = s->n, rows = 0, want;
    int rc;

    if (len > CG_CATALOGUE_FILE_MAX) {
        return cg_error_set(err, CG_ETOOBIG, "a catalogue file has at most %zu bytes",
                            CG_CATALOGUE_FILE_MAX);
    }
    if (!cg_utf8_valid(text, len)) {
        if (problems) {
            cg_str_adds(problems, "line 1: the file is not valid UTF-8\n");
        }
        return cg_error_set(err, CG_EINVAL, "the file is not valid UTF-8 (save it as UTF-8)");
    }
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) {
        c.p += 3; /* the byte order mark spreadsheets write */
    }
    rc = csv_next(&c, &rec, err);
    if (rc <= 0) {
        record_release(&rec);
        cg_str_release(&c.cell);
        if (!rc) {
            problem(&ck, c.line, "the file has no header line");
        } else if (problems) {
            cg_str_addf(problems, "%s\n", err->message);
        }
        return rc ? rc : CG_EINVAL;
    }
    if (!read_header(&ck, &rec, idx)) {
        record_release(&rec);
        cg_str_release(&c.cell);
        return CG_EINVAL;
    }
    want = rec.n;
    record_release(&rec);
    while ((rc = csv_next(&c, &rec, err)) > 0) {
        struct cg_catalogue__row row = {0}, *cls;

        if (++rows > CG_CATALOGUE_ROWS_MAX) {
            problem(&ck, rec.line, "a catalogue file has at most %d rows", CG_CATALOGUE_ROWS_MAX);
            record_release(&rec);
            break;
        }
        if (rec.n != want) {
            problem(&ck, rec.line, "%zu fields where the header has %zu", rec.n, want);
            record_release(&rec);
            continue;
        }
        if (!row_from_record(&ck, &rec, idx, &row)) {
            cg_catalogue__row_release(&row);
            record_release(&rec);
            continue;
        }
        record_release(&rec);
        cls = find_class(s, from, row.kind, row.major_code);
        if (cls && strcmp(cls->name, row.major_name)) {
            problem(&ck, row.line, "class %s %s is named '%s' here but '%s' on line %d",
                    cg_catalogue_kind_name(row.kind), row.major_code, row.major_name, cls->name,
                    cls->line);
            cg_catalogue__row_release(&row);
            continue;
        }
        if (!cls) {
            cls = cg_catalogue__set_add(s);
            cls->line = row.line;
            cls->kind = row.kind;
            cls->major = true;
            snprintf(cls->code, sizeof(cls->code), "%s", row.major_code);
            cls->name = cg_strdup(row.major_name);
            cls->standard_ref = cg_strdup(row.standard_ref);
            cls->confidence = cg_catalogue__dup(row.confidence);
        }
        cls->active = cls->active || row.active;
        *cg_catalogue__set_add(s) = row;
    }
    record_release(&rec); /* what a broken record had read */
    cg_str_release(&c.cell);
    if (rc < 0) {
        if (problems) {
            cg_str_addf(problems, "%s\n", err->message);
        }
        return rc;
    }
    check_set(&ck, s, from);
    return ck.count ? CG_EINVAL : 0;
}

static int64_t count_minors(const struct cg_catalogue__set *s)
{
    int64_t n = 0;

    for (size_t i = 0; i < s->n; i++) {
        n += !s->r[i].major;
    }
    return n;
}

int cg_catalogue_check_csv(const char *text, size_t len, struct cg_str *problems, int64_t *out_rows,
                           struct cg_error *err)
{
    struct cg_catalogue__set s = {0};
    int rc = cg_catalogue__parse(text, len, &s, problems, err);

    if (out_rows) {
        *out_rows = rc ? 0 : count_minors(&s);
    }
    cg_catalogue__set_release(&s);
    return rc;
}

int cg_catalogue_import_csv(struct cg_db *db, const struct cg_principal *actor, const char *text,
                            size_t len, const char *source, const char *remote,
                            struct cg_str *problems, struct cg_catalogue_counts *out_counts,
                            struct cg_error *err)
{
    struct cg_catalogue__set s = {0};
    int rc = cg_catalogue__parse(text, len, &s, problems, err);

    memset(out_counts, 0, sizeof(*out_counts));
    if (!rc) {
        out_counts->rows = count_minors(&s);
        rc = cg_catalogue__apply(db, actor, remote, "catalogue.import", source, &s, true,
                                 out_counts, err);
    }
    cg_catalogue__set_release(&s);
    return rc;
}

const char *cg_catalogue_default_file(size_t i, const char **out_text)
{
    if (i >= CG_ARRAY_LEN(default_files)) {
        return NULL;
    }
    *out_text = default_files[i].text;
    return default_files[i].name;
}

int cg_catalogue_seed(struct cg_db *db, const struct cg_principal *actor, bool overwrite,
                      struct cg_catalogue_counts *out_counts, struct cg_error *err)
{
    struct cg_catalogue__set s = {0};
    int rc = 0;

    memset(out_counts, 0, sizeof(*out_counts));
    for (size_t i = 0; !rc && i < CG_ARRAY_LEN(default_files); i++) {
        const char *t = default_files[i].text;

        rc = cg_catalogue__parse(t, strlen(t), &s, NULL, err);
        if (rc) {
            char msg[CG_ERROR_MSG_MAX];

            snprintf(msg, sizeof(msg), "%s", err->message);
            cg_error_clear(err);
            rc = cg_error_set(err, CG_EINTERNAL, "default catalogue %s: %s", default_files[i].name,
                              msg);
        }
    }
    if (!rc) {
        out_counts->rows = count_minors(&s);
        rc = cg_catalogue__apply(db, actor, NULL, "catalogue.seed", "defaults", &s, overwrite,
                                 out_counts, err);
    }
    cg_catalogue__set_release(&s);
    return rc;
}

/* ---- writing CSV ------------------------------------------------------------------------ */

static void csv_field(struct cg_str *out, const char *s, bool first)
{
    if (!first) {
        cg_str_addch(out, ',');
    }
    s = s ? s : "";
    if (!strpbrk(s, ",\"\r\n") && *s != '#' && *s != ' ') {
        cg_str_adds(out, s);
        return;
    }
    cg_str_addch(out, '"');
    for (; *s; s++) {
        if (*s == '"') {
            cg_str_addch(out, '"');
        }
        cg_str_addch(out, *s);
    }
    cg_str_addch(out, '"');
}

int cg_catalogue_export_csv(struct cg_db *db, struct cg_str *out, struct cg_error *err)
{
    struct cg_catalogue__set s = {0};
    int rc = cg_catalogue__load(db, NULL, NULL, &s, err);

    if (rc) {
        return rc;
    }
    cg_str_adds(out, "# civgrid event catalogue (docs/CATALOGUE.md): civgrid catalogue import "
                     "reads this file back\n");
    for (int c = 0; c < C_COUNT; c++) {
        csv_field(out, col_names[export_order[c]], c == 0);
    }
    cg_str_addch(out, '\n');
    for (int k = 0; k < CG_CATALOGUE_KINDS; k++) {
        for (size_t i = 0; i < s.n; i++) {
            const struct cg_catalogue__row *r = &s.r[i], *cls;
            char lim[CG_CATALOGUE_STEPS][48];

            if ((int)r->kind != k || r->major) {
                continue;
            }
            cls = cg_catalogue__class_of(&s, r);
            for (int st = 0; st < CG_CATALOGUE_STEPS; st++) {
                cg_catalogue__limit_format(&r->limits[st], lim[st], sizeof(lim[st]));
                if (r->limits[st].unit == CG_CATALOGUE_NO_LIMIT) {
                    lim[st][0] = '\0';
                }
            }
            for (int c = 0; c < C_COUNT; c++) {
                const char *v = "";

                switch (export_order[c]) {
                case C_KIND:
                    v = cg_catalogue_kind_name(r->kind);
                    break;
                case C_MAJOR_CODE:
                    v = r->major_code;
                    break;
                case C_MAJOR_NAME:
                    v = cls ? cls->name : "";
                    break;
                case C_CODE:
                    v = r->code;
                    break;
                case C_NAME:
                    v = r->name;
                    break;
                case C_URGENCY:
                    v = cg_catalogue_urgency_name(r->urgency);
                    break;
                case C_DEPARTMENT:
                    v = r->department;
                    break;
                case C_STANDARD_REF:
                    v = r->standard_ref;
                    break;
                case C_ACCEPT:
                case C_DISPATCH:
                case C_HANDLE:
                case C_CHECK:
                    v = lim[export_order[c] - C_ACCEPT];
                    break;
                case C_FILING:
                    v = r->filing;
                    break;
                case C_CLOSING:
                    v = r->closing;
                    break;
                case C_CONFIDENCE:
                    v = r->confidence;
                    break;
                case C_LIMITS_REF:
                    v = r->limits_ref;
                    break;
                case C_ACTIVE:
                    v = r->active ? "1" : "0";
                    break;
                case C_NOTE:
                    v = r->note;
                    break;
                case C_COUNT:
                    break;
                }
                csv_field(out, v, c == 0);
            }
            cg_str_addch(out, '\n');
        }
    }
    cg_catalogue__set_release(&s);
    return cg_str_error(out) ? cg_error_set(err, CG_ETOOBIG, "the catalogue is too large") : 0;
}
