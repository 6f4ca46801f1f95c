/*
 * audit_int.h: private to the audit module: the stored record and the store
 * functions of audit_store.c, which audit.c (chain logic, checks, JSON) calls.
 */
#ifndef CG_AUDIT_INT_H
#define CG_AUDIT_INT_H

#include "domain/audit/audit.h"

#define CG_AUDIT__ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* One stored record. Strings are borrowed (from the statement, during a callback); NULL: NULL. */
struct cg_audit__row {
    int64_t id;
    const char *at;
    bool has_actor; /* actor_id is not NULL */
    int64_t actor_id;
    const char *actor_login, *remote, *action, *object_type, *object_id, *result, *detail;
    const char *prev_hash, *hash;
};

/* Where the chain starts: the last purged record, or id 0 and 64 zeros. */
struct cg_audit__anchor {
    int64_t id;
    char hash[65];
};

/* Called for each row; a non-zero return stops the walk and is returned. */
typedef int cg_audit__row_fn(void *ctx, const struct cg_audit__anchor *anchor,
                             const struct cg_audit__row *row, struct cg_error *err);

/* The newest record's id and hash on conn c, else the anchor's, else 0 and 64 zeros. */
int cg_audit__tail(struct cg_conn *c, int64_t *out_id, char out_hash[65], struct cg_error *err);

/* Inserts a complete row (its id, at, prev_hash and hash filled in) on the write connection. */
int cg_audit__insert(struct cg_conn *w, const struct cg_audit__row *row, struct cg_error *err);

/* In one read transaction: reads the anchor, then calls fn for every row in id order. */
int cg_audit__walk(struct cg_db *db, cg_audit__row_fn *fn, void *ctx, struct cg_error *err);

/*
 * Calls fn for up to limit rows matching q, newest first. q has been checked
 * and its from/to are canonical ("YYYY-MM-DDTHH:MM:SS.mmmZ"); q->limit is ignored.
 */
int cg_audit__select(struct cg_db *db, const struct cg_audit_query *q, int limit,
                     cg_audit__row_fn *fn, void *ctx, struct cg_error *err);

/*
 * On the write connection: deletes the oldest run of rows whose at is before
 * cutoff (canonical time) and moves the anchor to the last of them.
 * *out_deleted receives the count (0: nothing was old enough).
 */
int cg_audit__purge_before(struct cg_conn *w, const char *cutoff, int64_t *out_deleted,
                           struct cg_error *err);

#endif
