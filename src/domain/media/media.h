/*
 * media.h: photos of events (docs/MEDIA.md).
 *
 * A photo arrives as the raw bytes of one image. Its type is sniffed from the
 * magic bytes (the declared Content-Type must agree), its dimensions are read
 * from the header before anything is decoded (at most CG_MEDIA_MAX_SIDE a
 * side and CG_MEDIA_MAX_PIXELS in all: decompression bombs never reach the
 * decoder), its metadata is removed (EXIF with GPS, XMP, IPTC, comments,
 * PNG text chunks: cg_media_strip()), then it is decoded in full (libgd) and
 * a JPEG thumbnail of CG_MEDIA_THUMB_SIDE on the long side is made, upright
 * by the EXIF orientation. The stripped bytes are stored once by their
 * SHA-256 in content-addressed files under the media directory (<dir>/<2
 * hex>/<64 hex>, written to a temporary file, fsynced, renamed),
 * and the attachment to an event at a stage is one row written in the same
 * transaction as the event's log entry (action "photo").
 *
 * Scope follows the event module: a photo of an event is attached, listed and
 * served only for accounts that can read the event (cg_event_get()); a photo
 * is served to whoever can read any event it is attached to. Outside scope is
 * CG_ENOTFOUND. Returned JSON is owned by the caller.
 */
#ifndef CG_MEDIA_H
#define CG_MEDIA_H

#include "base/cg.h"
#include "base/err.h"

#include <jansson.h>

struct cg_db;
struct cg_events;
struct cg_principal;

#define CG_MEDIA_MAX_SIDE 16000                /* pixels, either side */
#define CG_MEDIA_MAX_PIXELS (50 * 1000 * 1000) /* width x height: ~200 MB decoded at most */
#define CG_MEDIA_THUMB_SIDE 320                /* pixels, the thumbnail's long side */
#define CG_MEDIA_HASH_LEN 64                   /* hex digits of a SHA-256 */

/* ---- the bytes alone (no store) --------------------------------------------------------- */

/* "image/jpeg", "image/png" or "image/webp" by the magic bytes, or NULL for anything else. */
const char *cg_media_sniff(const void *data, size_t len);

/*
 * Reads the image's dimensions from its header without decoding it. CG_EINVAL
 * for something that is not a JPEG, PNG or WebP or whose header is broken,
 * and for dimensions of 0 or over the limits above (the message says which).
 */
int cg_media_probe(const void *data, size_t len, const char **out_type, int *out_width,
                   int *out_height, struct cg_error *err) CG_MUST_CHECK;

/*
 * The image without its metadata, by a walk of its segments or chunks (nothing
 * is decoded; the pixels' bytes are copied as they are). JPEG keeps APP0
 * (JFIF), APP2 ICC profiles, APP14 (Adobe) and every segment that is not APPn
 * or COM, up to the end-of-image marker; PNG keeps critical chunks and those
 * of transparency, colour, pixel size and animation, up to IEND; WebP keeps
 * the image, alpha, animation and ICC chunks. *out_orientation is the EXIF
 * orientation of a JPEG (1 to 8; 1 when there is none, and for PNG and WebP);
 * other than 1, the JPEG keeps an Exif segment holding that tag alone.
 * CG_EINVAL for a structure that is broken or cut. *out is a new buffer owned
 * by the caller (free with free()), at most len + 36 bytes.
 */
int cg_media_strip(const void *data, size_t len, void **out, size_t *out_len, int *out_orientation,
                   struct cg_error *err) CG_MUST_CHECK;

/*
 * Decodes the image in full (after cg_media_probe()) and returns a JPEG
 * thumbnail whose long side is at most max_side (never enlarged), its size in
 * *out_len and its dimensions, turned upright by a JPEG's EXIF orientation
 * (the sides swap for orientations 5 to 8). CG_EINVAL when the image does not
 * decode. *out is a new buffer owned by the caller (free with free()).
 */
int cg_media_thumbnail(const void *data, size_t len, int max_side, void **out, size_t *out_len,
                       int *out_width, int *out_height, struct cg_error *err) CG_MUST_CHECK;

/* Writes the SHA-256 of data as 64 lowercase hex digits and a NUL into out. */
void cg_media_sha256_hex(const void *data, size_t len, char out[CG_MEDIA_HASH_LEN + 1]);

/* ---- the media directory as files (backup, restore) ------------------------------------- */

/* The media directory of a database: dir itself when absolute, else beside db_path. */
void cg_media_resolve_dir(const char *db_path, const char *dir, char *out, size_t size);

struct cg_media_copy {
    int64_t copied, present, damaged; /* files; damaged: a photo whose bytes fail its hash */
    int64_t bytes;                    /* of the files copied */
};
/*
 * Copies every photo and thumbnail file of the media directory from into to (made when
 * missing), each durably (temporary file, fsync, rename), skipping those already there;
 * photos are checked against their hash on the way and damaged ones are counted, not
 * copied. A missing from is an empty directory. Safe while the server writes into from.
 */
int cg_media_copy_dir(const char *from, const char *to, struct cg_media_copy *st,
                      struct cg_error *err) CG_MUST_CHECK;

/* ---- photos of events ------------------------------------------------------------------- */

/* The module's state: the store, the event module and the media directory. */
struct cg_media;

/*
 * Borrows db and events for its whole life; dir is copied and created (with
 * its parents) when missing; max_photo bounds a photo's bytes. Returns 0 and
 * the module (free with cg_media_free()), or CG_EIO when dir cannot be made.
 */
int cg_media_open(struct cg_db *db, struct cg_events *events, const char *dir, size_t max_photo,
                  struct cg_media **out, struct cg_error *err) CG_MUST_CHECK;
void cg_media_free(struct cg_media *m); /* NULL-safe */

/* The stages of a photo: "report", "before", "after" (自行处置), "handling", "check". */
bool cg_media_stage_valid(const char *stage);

/*
 * Attaches a photo to event event_id at stage, for actor. declared is the
 * Content-Type the client sent: it must be image/jpeg, image/png or
 * image/webp (CG_EMEDIATYPE) and agree with the sniffed type (CG_EMEDIATYPE
 * naming both); an empty body or a broken image is CG_EINVAL; more than
 * max_photo bytes CG_ETOOBIG; an event outside scope CG_ENOTFOUND; stages
 * "before" and "after" on an event that is not self-resolved CG_EINVAL. The same
 * bytes at the same stage of the same event are attached once: *out_created
 * tells whether this call attached them. What is stored, hashed and served is
 * the image as cg_media_strip() leaves it (a broken structure is CG_EINVAL),
 * its thumbnail upright by its EXIF orientation. *out is the photo as listed.
 */
int cg_media_attach(struct cg_media *m, const struct cg_principal *actor, int64_t event_id,
                    const char *stage, const char *declared, const void *data, size_t len,
                    json_t **out, bool *out_created, struct cg_error *err) CG_MUST_CHECK;

/*
 * The photos of event event_id, oldest first: {"photos": [{hash, stage, type,
 * size, width, height, uploaded_at, by}]}. CG_ENOTFOUND outside scope.
 */
int cg_media_list(struct cg_media *m, const struct cg_principal *actor, int64_t event_id,
                  json_t **out, struct cg_error *err) CG_MUST_CHECK;

/*
 * The bytes of photo hash (its thumbnail when thumb), if actor can read an
 * event it is attached to (else CG_ENOTFOUND). *out_data is a new buffer
 * owned by the caller (free with free()); *out_type is static.
 */
int cg_media_fetch(struct cg_media *m, const struct cg_principal *actor, const char *hash,
                   bool thumb, void **out_data, size_t *out_len, const char **out_type,
                   struct cg_error *err) CG_MUST_CHECK;

#endif
