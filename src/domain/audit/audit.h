/*
 * audit.h: the security audit trail (等保 2.0 level 3 安全审计; 网络安全法 Art 21:
 * network logs kept at least six months). Who did what to which object, when,
 * from where, and whether it succeeded, in the table audit_log.
 *
 * Tamper evidence. Records form a hash chain: each record stores the hash of
 * the one before it (prev_hash) and its own hash, the lowercase hex SHA-256 of
 *     prev_hash "\n" id at actor_id actor_login remote action object_type
 *     object_id result detail
 * where every field is a netstring "<byte length>:<bytes>," and an absent field
 * (SQL NULL) is "-,", so no two different records serialise alike. The first
 * record links to 64 zeros, or after a purge to the hash kept in audit_anchor.
 * Triggers refuse UPDATE of any record and DELETE of records younger than 180
 * days, so through civgrid the trail is append-only; cg_audit_verify() detects
 * what someone with direct write access to the database file did: an edited
 * record, a record deleted or inserted in the middle, records reordered.
 *
 * Limitation: the chain alone cannot show that its newest records were deleted
 * (the shorter chain is still a valid chain), nor a chain recomputed from the
 * edit onwards by someone who also rewrites every later hash. Mitigation:
 * publish the newest id and hash (cg_audit_head()) outside the database, in
 * the operational log at start, after purges and periodically, and with every
 * backup and off-site copy; a later check compares the chain with the last
 * published pair (the record with that id must still carry that hash).
 *
 * Field rules: action is 1..64 of [a-z0-9_.] ("auth.login"), object_type NULL or
 * 1..64 of the same, result one of "ok", "denied", "failed". Free text (actor_login,
 * remote, object_id, detail) is never refused, since the record matters more
 * than its form: it is cut to its limit (64, 64, 128 and 2000 bytes; a cut
 * ends in "...") and invalid UTF-8 or control characters (other than tab and
 * newline in detail) become '?'. Never put secrets or clear personal data in a
 * record: mask them (pii.h).
 */
#ifndef CG_AUDIT_H
#define CG_AUDIT_H

#include "base/cg.h"
#include "base/err.h"

#include <jansson.h>

struct cg_db;
struct cg_conn;

#define CG_AUDIT_RETENTION_MIN 180 /* days; the legal floor (six months) */
#define CG_AUDIT_SEARCH_MAX 500    /* most records one search returns */
#define CG_AUDIT_DETAIL_MAX 2000   /* bytes of detail kept */

/* One record to append. */
struct cg_audit_entry { /* strings borrowed; NULL = absent */
    int64_t actor_id;   /* 0 = no account (e.g. failed login of an unknown name) */
    const char *actor_login, *remote, *action, *object_type, *object_id, *result, *detail;
};

/*
 * Appends e inside a running write job on the write connection w (the caller's
 * transaction: the record commits or rolls back with the action it records).
 * Reads the newest hash itself; the single writer serialises appends. Returns
 * 0, CG_EINVAL for a bad action, object_type or result (err names the field),
 * or a store error.
 */
int cg_audit_append(struct cg_conn *w, const struct cg_audit_entry *e,
                    struct cg_error *err) CG_MUST_CHECK;

/*
 * Appends e as its own durable write (cg_db_write()): for reads, refusals and
 * failed logins, which have no transaction of their own to join.
 */
int cg_audit_record(struct cg_db *db, const struct cg_audit_entry *e,
                    struct cg_error *err) CG_MUST_CHECK;

/*
 * Walks the chain from the anchor in one read transaction, recomputing every
 * hash and checking each prev_hash link and that ids are contiguous. Returns 0
 * when intact (*out_first_broken = 0), CG_ECONFLICT with *out_first_broken =
 * the id of the first bad record and a message naming it and what is wrong
 * (edited, records missing before it, wrong link), or a store error.
 * *out_checked receives the number of records found intact (before the first
 * broken one). See the limitation above.
 */
int cg_audit_verify(struct cg_db *db, int64_t *out_checked, int64_t *out_first_broken,
                    struct cg_error *err) CG_MUST_CHECK;

/*
 * The newest record's id and hash (after a purge of everything: the anchor's;
 * for an empty trail 0 and 64 zeros), to publish outside the database.
 */
int cg_audit_head(struct cg_db *db, int64_t *out_id, char out_hash[65],
                  struct cg_error *err) CG_MUST_CHECK;

/* A search; every member is optional (NULL / 0) but limit. Strings borrowed. */
struct cg_audit_query {
    const char *actor_login; /* exact */
    const char *action;      /* prefix: "auth." matches "auth.login" and "auth.logout" */
    const char *object_type; /* exact */
    const char *object_id;   /* exact */
    const char *result;      /* "ok", "denied" or "failed" */
    const char *from, *to;   /* RFC 3339 with Z or an offset; from inclusive, to exclusive */
    int64_t before_id;       /* paging: records with smaller ids; 0 = from the newest */
    int limit;               /* 1..CG_AUDIT_SEARCH_MAX */
};

/*
 * Returns the matching records, newest first, as a new JSON array owned by the
 * caller (json_decref()) of objects {id, at, actor_id (null when none),
 * actor_login, remote, action, object_type, object_id, result, detail,
 * prev_hash, hash} (absent strings are null), and *out_next_before_id, the
 * before_id of the next page (0 when this was the last). CG_EINVAL naming the
 * field for a bad date, limit, result, action prefix or before_id.
 */
int cg_audit_search(struct cg_db *db, const struct cg_audit_query *q, json_t **out_records,
                    int64_t *out_next_before_id, struct cg_error *err) CG_MUST_CHECK;

/*
 * Deletes the records older than retention_days (the oldest run of records
 * whose time is before now - retention_days), moves audit_anchor to the last
 * deleted record in the same transaction so cg_audit_verify() still passes,
 * and appends an "audit.purge" record saying how many went. *out_deleted
 * receives the count. CG_EINVAL when retention_days < CG_AUDIT_RETENTION_MIN
 * or > 36500.
 */
int cg_audit_purge(struct cg_db *db, int retention_days, int64_t *out_deleted,
                   struct cg_error *err) CG_MUST_CHECK;

#endif
