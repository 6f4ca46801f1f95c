/*
 * event_feed_int.h: shared by event_feed.c and event_feed_store.c only: the
 * rows the live map's feed reads, before their warning is decided.
 */
#ifndef CG_EVENT_FEED_INT_H
#define CG_EVENT_FEED_INT_H

#include "base/cg.h"
#include "base/err.h"
#include "base/time.h"
#include "domain/event/event.h"

struct cg_db;

/* A feed row: the item without its warning, and what the warning is computed from. */
struct cg_event_feed__row {
    struct cg_event_feed_item item;
    char step_started_at[CG_TIME_ISO_LEN], deadline_at[CG_TIME_ISO_LEN]; /* "" for none */
};
typedef void cg_event_feed__row_fn(void *ctx, struct cg_event_feed__row *row);

/* The scope of a list, as the store filters it. */
struct cg_event_feed__scope {
    const char *grid_prefix; /* "" for all */
    const char *department;  /* "" unless a department scope */
    int64_t owner_id;        /* 0 unless an own scope */
};

int cg_event_feed__head(struct cg_db *db, int64_t *out_log, int64_t *out_notice,
                        struct cg_error *err);
/* Up to limit + 1 rows (the caller tells "more" by the extra one). */
int cg_event_feed__changes(struct cg_db *db, int64_t after_log, int64_t upto_log,
                           int64_t after_notice, int64_t upto_notice, int limit,
                           cg_event_feed__row_fn *fn, void *ctx, struct cg_error *err);
int cg_event_feed__open(struct cg_db *db, const struct cg_event_feed__scope *scope, int limit,
                        cg_event_feed__row_fn *fn, void *ctx, struct cg_error *err);

#endif
