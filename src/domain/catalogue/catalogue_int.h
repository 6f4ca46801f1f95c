/*
 * catalogue_int.h: what the files of the catalogue module share and nobody
 * else sees: one row of the catalogue (from a file or from the store), sets
 * of rows, the change of a PUT, the CSV parser and the store functions
 * (cg_catalogue__*).
 */
#ifndef CG_CATALOGUE_INT_H
#define CG_CATALOGUE_INT_H

#include "base/cg.h"
#include "base/err.h"
#include "base/time.h"
#include "domain/catalogue/catalogue.h"

struct cg_db;
struct cg_str;
struct cg_stmt;

/* A class (大类, major) or sub-class (小类) row. Strings are owned (NULL: absent). */
struct cg_catalogue__row {
    int line; /* line of its file where it starts; 0 for store rows */
    enum cg_catalogue_kind kind;
    bool major; /* a class */
    char code[CG_CATALOGUE_CODE_MAX + 1];
    char major_code[CG_CATALOGUE_CODE_MAX + 1]; /* "" for a class */
    char *name;
    char *major_name; /* file rows of sub-classes: the name of their class */
    char *department; /* sub-classes only */
    enum cg_catalogue_urgency urgency;
    struct cg_catalogue_limit limits[CG_CATALOGUE_STEPS];
    char *filing, *closing; /* 立案条件, 结案条件 */
    char *standard_ref;
    char *confidence; /* "V", "S", "U" or NULL */
    char *limits_ref, *note;
    bool active;
    int64_t version;                  /* store rows */
    char updated_at[CG_TIME_ISO_LEN]; /* store rows */
};

struct cg_catalogue__set {
    struct cg_catalogue__row *r;
    size_t n, cap;
};

/* Letters and digits, 1..CG_CATALOGUE_CODE_MAX of them. */
bool cg_catalogue__code_ok(const char *s);
/* "4 work_hour", "0.5 work_day"; "none" for no limit. */
void cg_catalogue__limit_format(const struct cg_catalogue_limit *l, char *buf, size_t size);
/* A copy of s (owned by the caller), NULL for NULL. */
char *cg_catalogue__dup(const char *s);

void cg_catalogue__set_release(struct cg_catalogue__set *s);
/* Appends a zeroed row and returns it (valid until the next add). */
struct cg_catalogue__row *cg_catalogue__set_add(struct cg_catalogue__set *s);
void cg_catalogue__row_release(struct cg_catalogue__row *r);
/* Copies src into dst (dst's strings are new copies; dst is overwritten, not released). */
void cg_catalogue__row_copy(struct cg_catalogue__row *dst, const struct cg_catalogue__row *src);
/* True when a and b hold the same catalogue data (line, version and times ignored). */
bool cg_catalogue__row_same(const struct cg_catalogue__row *a, const struct cg_catalogue__row *b);

/* The class of sub-class r in s, or NULL. */
const struct cg_catalogue__row *cg_catalogue__class_of(const struct cg_catalogue__set *s,
                                                       const struct cg_catalogue__row *r);

/*
 * Parses a CSV file (catalogue_csv.c) and appends its rows to s: for each
 * class its class row first (name from major_name, standard_ref and
 * confidence of its first sub-class, active when one of its sub-classes is),
 * then its sub-classes. Problems as cg_catalogue_check_csv().
 */
int cg_catalogue__parse(const char *text, size_t len, struct cg_catalogue__set *s,
                        struct cg_str *problems, struct cg_error *err);

/* A PUT: which fields change, and their new values in v. */
enum {
    CG_CATALOGUE__NAME = 1u << 0,
    CG_CATALOGUE__DEPARTMENT = 1u << 1,
    CG_CATALOGUE__URGENCY = 1u << 2,
    CG_CATALOGUE__LIMIT0 = 1u << 3, /* << step: four bits */
    CG_CATALOGUE__FILING = 1u << 7,
    CG_CATALOGUE__CLOSING = 1u << 8,
    CG_CATALOGUE__LIMITS_REF = 1u << 9,
    CG_CATALOGUE__NOTE = 1u << 10,
    CG_CATALOGUE__ACTIVE = 1u << 11,
};
struct cg_catalogue__change {
    unsigned fields;
    int64_t version; /* the version the caller saw; 0: not checked */
    struct cg_catalogue__row v;
};

/*
 * Puts the changes of ch onto a copy of cur in *out (to release) and
 * describes them in detail ("handle: 4 work_hour -> 2 work_hour; ...").
 * Returns false when nothing would change.
 */
bool cg_catalogue__merge(const struct cg_catalogue__row *cur, const struct cg_catalogue__change *ch,
                         struct cg_catalogue__row *out, struct cg_str *detail);

/* ---- store (catalogue_store.c) ---------------------------------------------------------- */

/*
 * Appends to s the rows of kind (NULL: every kind), ordered by kind and code:
 * all of them when code is NULL, else the row (kind, code) and the
 * sub-classes whose class it is.
 */
int cg_catalogue__load(struct cg_db *db, const enum cg_catalogue_kind *kind, const char *code,
                       struct cg_catalogue__set *s, struct cg_error *err);
/* The row (kind, code) alone, by its primary key (s stays empty when there is none). */
int cg_catalogue__load_exact(struct cg_db *db, enum cg_catalogue_kind kind, const char *code,
                             struct cg_catalogue__set *s, struct cg_error *err);

/* Bit (1 << kind) for every kind that has a row with code. */
int cg_catalogue__kinds_of(struct cg_db *db, const char *code, unsigned *out_mask,
                           struct cg_error *err);

/*
 * Applies the rows of s (classes before their sub-classes) in one job with
 * one audit record (action, object_id source): missing rows are inserted;
 * existing ones are updated when update_existing and they differ.
 */
int cg_catalogue__apply(struct cg_db *db, const struct cg_principal *actor, const char *remote,
                        const char *action, const char *source, const struct cg_catalogue__set *s,
                        bool update_existing, struct cg_catalogue_counts *counts,
                        struct cg_error *err);

/*
 * Applies ch to (kind, code) in one job: checks ch->version, merges, writes
 * (a class's active also goes to its sub-classes) and audits.
 */
int cg_catalogue__update(struct cg_db *db, const struct cg_principal *actor, const char *remote,
                         enum cg_catalogue_kind kind, const char *code,
                         const struct cg_catalogue__change *ch, struct cg_error *err);

#endif
