/*
 * media_store.c: the SQL of the media module. Attaching a photo is one write
 * job: the media row (once per content hash), the event_photo row and the
 * event's log entry commit together.
 */
#include "base/cg.h"
#include "db/db.h"
#include "domain/media/media_int.h"

struct attach_job {
    const struct cg_media__photo *p;
    int64_t actor_id;
    bool created;
};

static int attach_run(struct cg_conn *c, void *ctx, struct cg_error *err)
{
    struct attach_job *j = ctx;
    const struct cg_media__photo *p = j->p;
    int64_t n = 0;
    json_t *d = json_pack("{s:s, s:s}", "hash", p->hash, "stage", p->stage);
    char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
    int rc = cg_db_run(c,
                       "INSERT INTO media(hash, type, size, width, height, thumb_size, created_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (hash) DO NOTHING",
                       err, "ttiiiit", p->hash, p->type, p->size, (int64_t)p->width,
                       (int64_t)p->height, p->thumb_size, p->uploaded_at);

    json_decref(d);
    rc = rc ? rc
            : cg_db_query_int64(c,
                                "SELECT COUNT(*) FROM event_photo"
                                " WHERE event_id = ?1 AND hash = ?2 AND stage = ?3",
                                &n, err, "itt", p->event_id, p->hash, p->stage);
    if (rc || n) {
        free(detail);
        return rc;
    }
    rc = cg_db_run(c,
                   "INSERT INTO event_photo(event_id, hash, stage, uploaded_at, uploader_id,"
                   " uploader_login) VALUES (?1, ?2, ?3, ?4, NULLIF(?5, 0), NULLIF(?6, ''))",
                   err, "itttit", p->event_id, p->hash, p->stage, p->uploaded_at, j->actor_id,
                   p->by);
    rc = rc ? rc
            : cg_db_run(c,
                        "INSERT INTO event_log(event_id, at, actor_id, actor_login, action,"
                        " from_state, to_state, note, detail)"
                        " SELECT id, ?2, NULLIF(?3, 0), NULLIF(?4, ''), 'photo', state, state,"
                        " ?5, ?6 FROM event WHERE id = ?1",
                        err, "itittt", p->event_id, p->uploaded_at, j->actor_id, p->by, p->stage,
                        detail);
    free(detail);
    if (!rc && cg_db_changes(c) != 1) {
        rc = cg_error_set(err, CG_ENOTFOUND, "no event %" PRId64, p->event_id);
    }
    j->created = !rc;
    return rc;
}

int cg_media__attach(struct cg_db *db, const struct cg_media__photo *p, int64_t actor_id,
                     bool *out_created, struct cg_error *err)
{
    struct attach_job j = {p, actor_id, false};
    int rc = cg_db_write(db, attach_run, &j, err);

    *out_created = !rc && j.created;
    return rc;
}

json_t *cg_media__photo_json(const struct cg_media__photo *p)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:i, s:i, s:s, s:s?}", "hash", p->hash, "stage",
                     p->stage, "type", p->type, "size", (json_int_t)p->size, "width", p->width,
                     "height", p->height, "uploaded_at", p->uploaded_at, "by",
                     p->by[0] ? p->by : NULL);
}

static void read_media(struct cg_stmt *st, struct cg_media__photo *p)
{
    snprintf(p->hash, sizeof(p->hash), "%s", cg_db_column_text(st, 0));
    snprintf(p->type, sizeof(p->type), "%s", cg_db_column_text(st, 1));
    p->size = cg_db_column_int64(st, 2);
    p->width = (int)cg_db_column_int64(st, 3);
    p->height = (int)cg_db_column_int64(st, 4);
    p->thumb_size = cg_db_column_int64(st, 5);
}

int cg_media__list(struct cg_db *db, int64_t event_id, json_t *list, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT m.hash, m.type, m.size, m.width, m.height, m.thumb_size,"
                                 " p.stage, p.uploaded_at, COALESCE(p.uploader_login, '')"
                                 " FROM event_photo p JOIN media m ON m.hash = p.hash"
                                 " WHERE p.event_id = ?1 ORDER BY p.id",
                                 &st, err, "i", event_id);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        struct cg_media__photo p = {.event_id = event_id};

        read_media(st, &p);
        snprintf(p.stage, sizeof(p.stage), "%s", cg_db_column_text(st, 6));
        snprintf(p.uploaded_at, sizeof(p.uploaded_at), "%s", cg_db_column_text(st, 7));
        snprintf(p.by, sizeof(p.by), "%s", cg_db_column_text(st, 8));
        json_array_append_new(list, cg_media__photo_json(&p));
        rc = 0;
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}

int cg_media__get(struct cg_db *db, const char *hash, struct cg_media__photo *out,
                  struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    memset(out, 0, sizeof(*out));
    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT hash, type, size, width, height, thumb_size, created_at"
                                 " FROM media WHERE hash = ?1",
                                 &st, err, "t", hash);
    rc = rc ? rc : cg_db_step(st, err);
    if (rc == CG_DB_ROW) {
        read_media(st, out);
        snprintf(out->uploaded_at, sizeof(out->uploaded_at), "%s", cg_db_column_text(st, 6));
        rc = 0;
    } else if (rc == CG_DB_DONE) {
        rc = cg_error_set(err, CG_ENOTFOUND, "no photo '%s'", hash);
    }
    cg_db_finalize(st);
    return rc;
}

int cg_media__events_of(struct cg_db *db, const char *hash, int64_t *ids, size_t max, size_t *out_n,
                        struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_stmt *st = NULL;
    int rc = cg_db_reader(db, &c, err);

    *out_n = 0;
    rc = rc ? rc
            : cg_db_prepare_bind(c,
                                 "SELECT DISTINCT event_id FROM event_photo WHERE hash = ?1"
                                 " ORDER BY event_id LIMIT ?2",
                                 &st, err, "ti", hash, (int64_t)max);
    while (!rc && (rc = cg_db_step(st, err)) == CG_DB_ROW) {
        ids[(*out_n)++] = cg_db_column_int64(st, 0);
        rc = 0;
    }
    cg_db_finalize(st);
    return rc < 0 ? rc : 0;
}
