/*
 * media_api.c: photos of events over HTTP (docs/MEDIA.md): upload as the raw
 * image body, the list of an event's photos, and the bytes and thumbnail of
 * one photo by its content hash. The media module decides everything else.
 */
#include "base/cg.h"
#include "api/api.h"
#include "app/app.h"
#include "domain/media/media.h"

#include <ctype.h>

int cg_api_photo_upload(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    const char *stage = cg_req_query(req, "stage");
    const char *type = cg_req_header(req, "Content-Type");
    char declared[64] = "";
    size_t len = 0;
    const char *body = cg_req_body(req, &len);
    json_t *out = NULL;
    bool created = false;
    int64_t id = 0;
    int rc = cg_req_path_id(req, "id", "event", &id, err);

    /* The media type without parameters ("image/jpeg; q=1" is image/jpeg), lower case. */
    for (size_t i = 0;
         type && type[i] && type[i] != ';' && type[i] != ' ' && i + 1 < sizeof(declared); i++) {
        declared[i] = (char)tolower((unsigned char)type[i]);
    }
    rc = rc ? rc
            : cg_media_attach(app->media, cg_req_user(req), id, stage ? stage : "report", declared,
                              body, len, &out, &created, err);
    return rc ? rc : cg_reply_json(req, created ? 201 : 200, out);
}

int cg_api_photo_list(struct cg_req *req, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    json_t *out = NULL;
    int64_t id = 0;
    int rc = cg_req_path_id(req, "id", "event", &id, err);

    rc = rc ? rc : cg_media_list(app->media, cg_req_user(req), id, &out, err);
    return rc ? rc : cg_reply_json(req, 200, out);
}

static int fetch(struct cg_req *req, bool thumb, struct cg_error *err)
{
    struct cg_app *app = cg_req_app(req);
    const char *hash = cg_req_param(req, "hash"), *type = NULL;
    void *data = NULL;
    size_t len = 0;
    int rc = cg_media_fetch(app->media, cg_req_user(req), hash, thumb, &data, &len, &type, err);

    return rc ? rc : cg_reply_blob(req, type, data, len, hash);
}

int cg_api_photo_get(struct cg_req *req, struct cg_error *err)
{
    return fetch(req, false, err);
}

int cg_api_photo_thumb(struct cg_req *req, struct cg_error *err)
{
    return fetch(req, true, err);
}
