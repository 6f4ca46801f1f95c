/*
 * media_int.h: shared by the files of the media module only: a photo row and
 * the store functions (cg_media__*).
 */
#ifndef CG_MEDIA_INT_H
#define CG_MEDIA_INT_H

#include "base/cg.h"
#include "base/err.h"
#include "base/time.h"
#include "domain/media/media.h"

/* One photo of an event, as stored and listed. */
struct cg_media__photo {
    int64_t event_id;
    char hash[CG_MEDIA_HASH_LEN + 1];
    char stage[16];
    char type[16]; /* "image/jpeg", ... */
    int64_t size;  /* bytes */
    int width, height;
    int64_t thumb_size; /* bytes of the JPEG thumbnail */
    char uploaded_at[CG_TIME_ISO_LEN];
    char by[264]; /* uploader's login, "" when unknown */
};

/*
 * In one job: records the media row of p->hash unless it exists, attaches it
 * to p->event_id at p->stage unless it already is (then *out_created is
 * false and nothing else is written), and appends the event's log entry
 * (action "photo", state unchanged). CG_ENOTFOUND when the event is gone.
 */
int cg_media__attach(struct cg_db *db, const struct cg_media__photo *p, int64_t actor_id,
                     bool *out_created, struct cg_error *err);

/* Appends the photos of event_id, oldest first, to list as JSON objects. */
int cg_media__list(struct cg_db *db, int64_t event_id, json_t *list, struct cg_error *err);

/* Reads the media row of hash (event_id, stage, by left empty); CG_ENOTFOUND. */
int cg_media__get(struct cg_db *db, const char *hash, struct cg_media__photo *out,
                  struct cg_error *err);

/* Up to max ids of the events hash is attached to, lowest first, into ids; *out_n of them. */
int cg_media__events_of(struct cg_db *db, const char *hash, int64_t *ids, size_t max, size_t *out_n,
                        struct cg_error *err);

/* The photo as JSON: {hash, stage, type, size, width, height, uploaded_at, by}. */
json_t *cg_media__photo_json(const struct cg_media__photo *p);

#endif
