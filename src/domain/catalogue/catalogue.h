/*
 * catalogue.h: the event catalogue (事件分类目录), docs/CATALOGUE.md. Classes
 * (大类) and their sub-classes (小类) are data: rows keyed by (kind, code), so
 * that the codes of CJ/T 214 / GB/T 30428.2, of GB/T 47678.5 and of local
 * tables coexist (the same code may name different things in two kinds).
 * Each sub-class carries its responsible department, urgency, a time limit
 * per step (value and unit: working hour, working day, natural hour), the
 * filing and closing conditions where a source gives them, the source of the
 * class (standard_ref) and of its limits (limits_ref), and whether it is
 * offered for new events (active).
 *
 * The catalogue is loaded from CSV files (format in docs/CATALOGUE.md); the
 * default files of data/catalogue/ are embedded in the binaries and their
 * missing rows are added at `civgrid init` and at every server start
 * (cg_catalogue_seed()), so that admins' edits are never overwritten.
 *
 * Every change is audited. actor NULL is the CLI (the machine's
 * administrator). Returned JSON is a new reference owned by the caller.
 */
#ifndef CG_CATALOGUE_H
#define CG_CATALOGUE_H

#include "base/cg.h"
#include "base/err.h"

#include <jansson.h>

struct cg_db;
struct cg_str;
struct cg_principal;

/* What a class classifies; the code space of each kind is its own. */
enum cg_catalogue_kind {
    CG_CATALOGUE_EVENT,     /* "event": 事件, CJ/T 214 / GB/T 30428.2 (2 + 2 digits) */
    CG_CATALOGUE_COMPONENT, /* "component": 部件 cases, CJ/T 214 / GB/T 30428.2 */
    CG_CATALOGUE_MATTER,    /* "matter": 事项, GB/T 47678.5-2026 (2 + 3 digits) */
    CG_CATALOGUE_SOCIAL,    /* "social": social-governance events (综治) */
    CG_CATALOGUE_HOTLINE,   /* "hotline": 12345 request types */
    CG_CATALOGUE_KINDS
};

/* The steps that carry a time limit, in workflow order. */
enum cg_catalogue_step {
    CG_CATALOGUE_ACCEPT,   /* "accept": 受理/立案 */
    CG_CATALOGUE_DISPATCH, /* "dispatch": 派遣 */
    CG_CATALOGUE_HANDLE,   /* "handle": 处置 */
    CG_CATALOGUE_CHECK,    /* "check": 核查 */
    CG_CATALOGUE_STEPS
};

enum cg_catalogue_unit {
    CG_CATALOGUE_NO_LIMIT = 0,
    CG_CATALOGUE_WORK_HOUR,   /* "work_hour": 工作时, counted on the working calendar */
    CG_CATALOGUE_WORK_DAY,    /* "work_day": 工作日 */
    CG_CATALOGUE_NATURAL_HOUR /* "natural_hour": 自然时, around the clock */
};

enum cg_catalogue_urgency {
    CG_CATALOGUE_NORMAL,   /* "normal" */
    CG_CATALOGUE_URGENT,   /* "urgent" */
    CG_CATALOGUE_EMERGENCY /* "emergency" */
};

#define CG_CATALOGUE_CODE_MAX 16    /* bytes: letters and digits */
#define CG_CATALOGUE_NAME_MAX 40    /* characters */
#define CG_CATALOGUE_DEPT_MAX 64    /* characters */
#define CG_CATALOGUE_TEXT_MAX 500   /* characters: conditions and notes */
#define CG_CATALOGUE_REF_MAX 200    /* characters: standard_ref and limits_ref */
#define CG_CATALOGUE_LIMIT_MAX 8760 /* the largest limit value, in its unit */
#define CG_CATALOGUE_ROWS_MAX 5000  /* rows of one file */
#define CG_CATALOGUE_FILE_MAX ((size_t)4 << 20)

/* Stable names ("event", "accept", "work_hour", "urgent"); NULL out of range. */
const char *cg_catalogue_kind_name(enum cg_catalogue_kind kind);
const char *cg_catalogue_step_name(enum cg_catalogue_step step);
const char *cg_catalogue_unit_name(enum cg_catalogue_unit unit);
const char *cg_catalogue_urgency_name(enum cg_catalogue_urgency urgency);
/* Parse those names; false for anything else (NULL included). */
bool cg_catalogue_kind_parse(const char *s, enum cg_catalogue_kind *out);
bool cg_catalogue_urgency_parse(const char *s, enum cg_catalogue_urgency *out);

/* A time limit: a value > 0 that is a multiple of 0.25, or no limit. */
struct cg_catalogue_limit {
    double value; /* in unit; 0 when unit is CG_CATALOGUE_NO_LIMIT */
    enum cg_catalogue_unit unit;
};

/*
 * Parses a limit written "4 work_hour", "0.5 工作日", "2natural_hour" (units
 * work_hour/工作时, work_day/工作日, natural_hour/自然时); "" is no limit.
 * CG_EINVAL with a message naming what is wrong.
 */
int cg_catalogue_limit_parse(const char *s, struct cg_catalogue_limit *out, struct cg_error *err);

/* One sub-class as the event workflow needs it (strings are copies). */
struct cg_catalogue_class {
    enum cg_catalogue_kind kind;
    char code[CG_CATALOGUE_CODE_MAX + 1];
    char major_code[CG_CATALOGUE_CODE_MAX + 1];
    char name[CG_CATALOGUE_NAME_MAX * 4 + 1];
    char department[CG_CATALOGUE_DEPT_MAX * 4 + 1];
    enum cg_catalogue_urgency urgency;
    struct cg_catalogue_limit limits[CG_CATALOGUE_STEPS]; /* by enum cg_catalogue_step */
    bool active;
    int64_t version; /* grows by one at every change of the row */
};

/*
 * Reads sub-class (kind, code) into *out. CG_ENOTFOUND when there is none
 * (a class, 大类, is not a sub-class). Events should copy the limits they
 * use: an admin may change them later.
 */
int cg_catalogue_lookup(struct cg_db *db, enum cg_catalogue_kind kind, const char *code,
                        struct cg_catalogue_class *out, struct cg_error *err) CG_MUST_CHECK;

/* ---- loading ---------------------------------------------------------------------------- */

struct cg_catalogue_counts {
    int64_t rows;      /* sub-classes in the files read */
    int64_t added;     /* classes and sub-classes inserted */
    int64_t updated;   /* rows changed */
    int64_t unchanged; /* rows already as in the file */
};

/*
 * Checks a CSV catalogue file (text, len bytes, UTF-8) without touching the
 * store: header, every field, duplicate codes, class names consistent across
 * rows. Each problem is appended to problems (may be NULL) as one line
 * "line N: ..."; returns 0 with *out_rows (may be NULL) the number of
 * sub-classes, or CG_EINVAL (err holds the first problem) / CG_ETOOBIG.
 */
int cg_catalogue_check_csv(const char *text, size_t len, struct cg_str *problems, int64_t *out_rows,
                           struct cg_error *err) CG_MUST_CHECK;

/*
 * Checks a CSV file as cg_catalogue_check_csv() and applies it in one
 * transaction with one audit record ("catalogue.import", object source):
 * new classes and sub-classes are added, rows that differ from the file are
 * updated (their version grows), rows the file does not name are kept.
 * Nothing is written when the file has a problem. CG_ECONFLICT when a code is
 * a class in the file and a sub-class in the store (or the other way round).
 */
int cg_catalogue_import_csv(struct cg_db *db, const struct cg_principal *actor, const char *text,
                            size_t len, const char *source, const char *remote,
                            struct cg_str *problems, struct cg_catalogue_counts *out_counts,
                            struct cg_error *err) CG_MUST_CHECK;

/*
 * The default catalogue (the files of data/catalogue, embedded). Adds the rows
 * that are missing from the store and, with overwrite, also puts the rows
 * that exist back to their default values. Audited ("catalogue.seed") when it
 * changed anything. Run at `civgrid init` and at every server start.
 */
int cg_catalogue_seed(struct cg_db *db, const struct cg_principal *actor, bool overwrite,
                      struct cg_catalogue_counts *out_counts, struct cg_error *err) CG_MUST_CHECK;

/* The names and texts of the embedded default files, for tests and tools; NULL past the end. */
const char *cg_catalogue_default_file(size_t i, const char **out_text);

/*
 * Appends the whole catalogue as a CSV file that cg_catalogue_import_csv()
 * reads back unchanged (sub-classes in kind and code order, all columns).
 */
int cg_catalogue_export_csv(struct cg_db *db, struct cg_str *out,
                            struct cg_error *err) CG_MUST_CHECK;

/* ---- reading ---------------------------------------------------------------------------- */

/* Filters of the tree; NULL (or -1) members do not filter. Strings borrowed. */
struct cg_catalogue_query {
    const char *kind;       /* one kind name */
    const char *major;      /* a class code */
    const char *q;          /* part of the name of the sub-class or of its class */
    const char *urgency;    /* one urgency name */
    const char *department; /* part of the department */
    const char *standard;   /* part of standard_ref, e.g. "47678" */
    int active;             /* 1: only active (the default), 0: only inactive, -1: all */
};

/*
 * The classes and sub-classes that pass the filters, as a tree:
 * {"kinds": [{"kind", "label", "majors": [{class..., "minors": [...]}]}],
 *  "count": {"majors", "minors"}}. A class is listed when one of its
 * sub-classes passes. CG_EINVAL naming the filter for a bad kind or urgency.
 */
int cg_catalogue_tree(struct cg_db *db, const struct cg_catalogue_query *q, json_t **out,
                      struct cg_error *err) CG_MUST_CHECK;

/*
 * Resolves ref: "kind:code", or a bare code with kind NULL (found when only
 * one kind has it) or kind given. CG_ENOTFOUND (field "code") when there is
 * no such row; CG_EINVAL (field "kind") for an unknown kind or a bare code
 * that several kinds use (the message lists them).
 */
int cg_catalogue_resolve(struct cg_db *db, const char *ref, const char *kind,
                         enum cg_catalogue_kind *out_kind, char out_code[CG_CATALOGUE_CODE_MAX + 1],
                         struct cg_error *err) CG_MUST_CHECK;

/* One class (with its sub-classes as "minors") or sub-class as JSON; CG_ENOTFOUND. */
int cg_catalogue_get(struct cg_db *db, enum cg_catalogue_kind kind, const char *code, json_t **out,
                     struct cg_error *err) CG_MUST_CHECK;

/*
 * Changes (kind, code) with the members of changes (docs/CATALOGUE.md):
 * name, active and version for a class (active also applies to its
 * sub-classes); for a sub-class also department, urgency, time_limits
 * (an object of steps, each null or {"value", "unit"}; steps not named keep
 * theirs), filing_condition, closing_condition, limits_ref and note.
 * version, when given, must be the row's current version (else CG_ECONFLICT).
 * Changing time limits without limits_ref sets limits_ref to "local setting".
 * Every field is checked first (CG_EINVAL / CG_ETYPE / CG_EMISSING naming it,
 * e.g. "time_limits.handle.unit"); one audit record lists what changed.
 * *out is the row as cg_catalogue_get() shows it after the change.
 */
int cg_catalogue_update(struct cg_db *db, const struct cg_principal *actor,
                        enum cg_catalogue_kind kind, const char *code, json_t *changes,
                        const char *remote, json_t **out, struct cg_error *err) CG_MUST_CHECK;

#endif
