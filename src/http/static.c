/*
 * static.c: serves the web UI from the web root. Only GET and HEAD reach here.
 * The path is validated before it touches the file system: well-formed UTF-8,
 * no "." or ".." segments, no hidden files, no backslashes, no symlinks at the
 * last component; anything else is answered with a JSON error.
 */
#include "base/cg.h"
#include "base/str.h"
#include "http/http_int.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_STATIC_PATH 1024

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
    {".geojson", "application/geo+json"},
};

static const char *content_type_of(const char *path)
{
    const char *dot = strrchr(path, '.');

    if (dot && !strchr(dot, '/')) {
        for (size_t i = 0; i < CG_ARRAY_LEN(content_types); i++) {
            if (!strcmp(dot, content_types[i].ext)) {
                return content_types[i].type;
            }
        }
    }
    return "application/octet-stream";
}

/* A path is safe when every segment is a plain, visible name. */
static bool path_is_safe(const char *path)
{
    const char *seg = path;

    if (path[0] != '/' || strchr(path, '\\') || !cg_utf8_valid(path, strlen(path))) {
        return false;
    }
    while (*seg) {
        const char *end;

        seg++; /* skip '/' */
        end = strchr(seg, '/');
        if (!end) {
            end = seg + strlen(seg);
        }
        if (end > seg && seg[0] == '.') {
            return false; /* ".", ".." and hidden files */
        }
        seg = end;
    }
    return true;
}

int cg_http__serve_static(struct cg_req *req, const char *web_root, const char *csp,
                          const char *path, struct cg_error *err)
{
    char full[MAX_STATIC_PATH + 512], etag[64];
    struct stat sb;
    struct MHD_Response *resp;
    const char *inm;
    size_t plen = strlen(path);
    int fd;

    if (plen > MAX_STATIC_PATH || !path_is_safe(path)) {
        return cg_error_set(err, CG_EBADREQ, "invalid path");
    }
    if (!web_root || !*web_root) {
        return cg_error_set(err, CG_ENOTFOUND, "no such page");
    }
    snprintf(full, sizeof(full), "%s%s%s", web_root, path,
             path[plen - 1] == '/' ? "index.html" : "");
    fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return cg_error_set(err, CG_ENOTFOUND, "no such page");
    }
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        close(fd);
        return cg_error_set(err, CG_ENOTFOUND, "no such page");
    }
    snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)sb.st_size,
             (unsigned long long)sb.st_mtime);
    inm = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm && !strcmp(inm, etag)) {
        close(fd);
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        req->status = MHD_HTTP_NOT_MODIFIED;
    } else {
        resp = MHD_create_response_from_fd64((uint64_t)sb.st_size, fd); /* takes fd */
        req->status = MHD_HTTP_OK;
        if (!resp) {
            close(fd);
            return cg_error_set(err, CG_EIO, "cannot send file");
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type_of(full));
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    /* Vendored libraries change only with their pinned version; pages revalidate. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            !strncmp(path, "/vendor/", 8) ? "public, max-age=86400" : "no-cache");
    if (!strcmp(content_type_of(full), "text/html; charset=utf-8")) {
        MHD_add_response_header(resp, "Content-Security-Policy", csp);
    }
    cg_http__common_headers(req, resp);
    req->resp = resp;
    return 0;
}
