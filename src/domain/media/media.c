/*
 * media.c: the rules of photos (media.h): sniffing and header probing, the
 * full decode and the thumbnail (libgd), the content hash (libsodium), the
 * content-addressed files (temporary file, fsync, rename, fsync of the
 * directory) and the scope checks through the event module.
 */
#include "base/cg.h"
#include "domain/media/media.h"
#include "base/mem.h"
#include "base/time.h"
#include "domain/auth/auth.h"
#include "domain/event/event.h"
#include "domain/media/media_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <gd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

struct cg_media {
    struct cg_db *db;         /* borrowed */
    struct cg_events *events; /* borrowed */
    char *dir;                /* owned: the media directory */
    size_t max_photo;         /* bytes */
};

#define MAX_EVENTS_CHECKED 64     /* events of one photo tried for scope when it is fetched */
#define MAX_THUMB_BYTES (8 << 20) /* a thumbnail file larger than this is not served */

/* ---- the bytes -------------------------------------------------------------------------- */

const char *cg_media_sniff(const void *data, size_t len)
{
    const unsigned char *p = data;

    if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
        return "image/jpeg";
    }
    if (len >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8)) {
        return "image/png";
    }
    if (len >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4)) {
        return "image/webp";
    }
    return NULL;
}

static uint32_t be16(const unsigned char *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le16(const unsigned char *p)
{
    return (uint32_t)p[1] << 8 | p[0];
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint32_t le24(const unsigned char *p)
{
    return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_make_table(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;

        for (int k = 0; k < 8; k++) {
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        crc_table[n] = c;
    }
}

/* The CRC-32 of PNG chunks (ISO 3309, as zlib's crc32()). */
static uint32_t crc32_png(const unsigned char *p, size_t len)
{
    uint32_t c = 0xFFFFFFFFu;

    pthread_once(&crc_once, crc_make_table);
    for (size_t i = 0; i < len; i++) {
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

/*
 * PNG: every chunk inside the file with a correct CRC, ending with IEND (libpng would
 * otherwise print warnings of its own on standard error, which is our log).
 */
static bool png_chunks_ok(const unsigned char *p, size_t len)
{
    size_t i = 8;

    while (i + 12 <= len) {
        uint32_t n = be32(p + i);

        if (n > len - i - 12 || crc32_png(p + i + 4, (size_t)n + 4) != be32(p + i + 8 + n)) {
            return false;
        }
        if (!memcmp(p + i + 4, "IEND", 4)) {
            return true;
        }
        i += 12 + (size_t)n;
    }
    return false;
}
/* An end-of-image marker (FF D9) in p[0..len). */
static bool has_eoi(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (p[i] == 0xFF && p[i + 1] == 0xD9) {
            return true;
        }
    }
    return false;
}

/* JPEG: the first start-of-frame marker's size; *out_sos the offset of the first scan. */
static bool probe_jpeg(const unsigned char *p, size_t len, uint32_t *w, uint32_t *h,
                       size_t *out_sos)
{
    size_t i = 2;
    bool have = false;

    while (i + 4 <= len) {
        unsigned m;
        uint32_t seg;

        if (p[i] != 0xFF) {
            return false;
        }
        while (i < len && p[i] == 0xFF) {
            i++;
        }
        if (i + 3 > len) {
            return false;
        }
        m = p[i++];
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) {
            continue; /* markers without a length */
        }
        seg = be16(p + i);
        if (seg < 2 || i + seg > len) {
            return false;
        }
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            if (seg < 7) {
                return false;
            }
            *h = be16(p + i + 3);
            *w = be16(p + i + 5);
            have = true;
        }
        if (m == 0xDA) {
            *out_sos = i + seg;
            return have;
        }
        if (m == 0xD9) {
            return false;
        }
        i += seg;
    }
    return false;
}

static bool probe_webp(const unsigned char *p, size_t len, uint32_t *w, uint32_t *h)
{
    /* The header read below must lie inside the RIFF as it declares itself: what follows the
       RIFF is not the image (libwebp and the metadata strip both stop there). */
    uint32_t chunk;

    if (len < 30 || le32(p + 4) < 30 - 8) {
        return false;
    }
    /* ... and inside the first chunk as it declares itself: the strip keeps a chunk by its
       size, so a header read past it would not be in the stripped image (found by fuzzing:
       a VP8X chunk of 0 bytes, its canvas read from the next chunk's bytes). */
    chunk = le32(p + 16);
    if (!memcmp(p + 12, "VP8 ", 4)) {
        if (chunk < 10 || memcmp(p + 23, "\x9d\x01\x2a", 3)) {
            return false;
        }
        *w = le16(p + 26) & 0x3FFF;
        *h = le16(p + 28) & 0x3FFF;
        return true;
    }
    if (!memcmp(p + 12, "VP8L", 4)) {
        uint32_t bits =
            (uint32_t)p[21] | (uint32_t)p[22] << 8 | (uint32_t)p[23] << 16 | (uint32_t)p[24] << 24;

        if (chunk < 5 || p[20] != 0x2F) {
            return false;
        }
        *w = (bits & 0x3FFF) + 1;
        *h = ((bits >> 14) & 0x3FFF) + 1;
        return true;
    }
    if (!memcmp(p + 12, "VP8X", 4)) {
        if (chunk < 10) {
            return false;
        }
        *w = le24(p + 24) + 1;
        *h = le24(p + 27) + 1;
        return true;
    }
    return false;
}

int cg_media_probe(const void *data, size_t len, const char **out_type, int *out_width,
                   int *out_height, struct cg_error *err)
{
    const unsigned char *p = data;
    const char *type = cg_media_sniff(data, len);
    uint32_t w = 0, h = 0;
    size_t sos = 0;
    bool ok = false;

    if (!type) {
        return cg_error_set(err, CG_EINVAL, "the body is not a JPEG, PNG or WebP image");
    }
    if (!strcmp(type, "image/png")) {
        ok = len >= 33 && be32(p + 8) == 13 && !memcmp(p + 12, "IHDR", 4);
        if (ok) {
            w = be32(p + 16);
            h = be32(p + 20);
        }
    } else if (!strcmp(type, "image/jpeg")) {
        ok = probe_jpeg(p, len, &w, &h, &sos);
        /* Entropy-coded data never holds FF D9: without it after the first scan, it is cut. */
        ok = ok && has_eoi(p + sos, len - sos);
    } else {
        ok = probe_webp(p, len, &w, &h);
    }
    if (!ok) {
        return cg_error_set(err, CG_EINVAL, "the %s image is broken or truncated", type + 6);
    }
    if (!w || !h) {
        return cg_error_set(err, CG_EINVAL, "the image has no pixels (%" PRIu32 "x%" PRIu32 ")", w,
                            h);
    }
    if (w > CG_MEDIA_MAX_SIDE || h > CG_MEDIA_MAX_SIDE ||
        (uint64_t)w * h > (uint64_t)CG_MEDIA_MAX_PIXELS) {
        return cg_error_set(err, CG_EINVAL,
                            "the image is %" PRIu32 "x%" PRIu32 " pixels; the limits are %d a "
                            "side and %d megapixels",
                            w, h, CG_MEDIA_MAX_SIDE, CG_MEDIA_MAX_PIXELS / 1000000);
    }
    /* The size first (a bomb is refused as one), then the chunks of a PNG. */
    if (!strcmp(type, "image/png") && !png_chunks_ok(p, len)) {
        return cg_error_set(err, CG_EINVAL, "the png image is broken or truncated");
    }
    *out_type = type;
    *out_width = (int)w;
    *out_height = (int)h;
    return 0;
}

/* ---- metadata --------------------------------------------------------------------------- */

/* The output of a strip: never longer than the input plus one EXIF_MIN_LEN segment. */
struct strip_out {
    unsigned char *p;
    size_t n;
};

static void out_put(struct strip_out *o, const void *p, size_t n)
{
    memcpy(o->p + o->n, p, n);
    o->n += n;
}

#define EXIF_MIN_LEN 36 /* FF E1, length, "Exif\0\0", a TIFF header and one IFD0 entry */

/* Orientation (0x0112, SHORT, 1 to 8) from IFD0 of the TIFF data of an Exif segment; 1 if none. */
static int tiff_orientation(const unsigned char *t, size_t n)
{
    bool le;
    uint32_t ifd, count;

    if (n < 8 || (memcmp(t, "II*\0", 4) && memcmp(t, "MM\0*", 4))) {
        return 1;
    }
    le = t[0] == 'I';
    ifd = le ? le32(t + 4) : be32(t + 4);
    if (ifd > n - 2) {
        return 1;
    }
    count = le ? le16(t + ifd) : be16(t + ifd);
    for (uint32_t k = 0; k < count && (size_t)ifd + 2 + 12 * ((size_t)k + 1) <= n; k++) {
        const unsigned char *e = t + ifd + 2 + 12 * (size_t)k;
        uint32_t tag = le ? le16(e) : be16(e), type = le ? le16(e + 2) : be16(e + 2);
        uint32_t v = le ? le16(e + 8) : be16(e + 8);

        if (tag == 0x0112) {
            return type == 3 && v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
    return 1;
}

/* A JPEG APP1 segment of data p[0..n) (after its length) that is Exif: its orientation. */
static bool app1_exif(const unsigned char *p, size_t n, int *orientation)
{
    if (n < 6 || memcmp(p, "Exif\0\0", 6)) {
        return false;
    }
    *orientation = tiff_orientation(p + 6, n - 6);
    return true;
}

/* The only metadata kept for an orientation other than 1: IFD0 with one entry, big-endian. */
static void put_min_exif(struct strip_out *o, int orientation)
{
    static const unsigned char head[29] = "\xFF\xE1\0\x22"
                                          "Exif\0\0"
                                          "MM\0\x2A\0\0\0\x08"          /* big-endian, IFD0 at 8 */
                                          "\0\x01"                      /* one entry: */
                                          "\x01\x12\0\x03\0\0\0\x01\0"; /* 0x0112 SHORT 1 */
    unsigned char tail[7] = {(unsigned char)orientation};               /* then no next IFD */

    out_put(o, head, sizeof(head));
    out_put(o, tail, sizeof(tail));
}

/* APPn segments kept: JFIF (APP0), ICC profiles (APP2 "ICC_PROFILE"), Adobe (APP14). */
static bool app_kept(unsigned m, const unsigned char *p, size_t n)
{
    return m == 0xE0 || m == 0xEE || (m == 0xE2 && n >= 12 && !memcmp(p, "ICC_PROFILE\0", 12));
}

/*
 * JPEG: every marker segment is walked, up to the end-of-image marker, scans included (a
 * progressive JPEG has tables and scans after its first one). APPn other than app_kept()
 * and COM are dropped, the rest copied as they are; what follows the end of the image
 * (trailers, the second pictures of MPF, motion photos) is dropped too.
 */
static bool strip_jpeg(const unsigned char *p, size_t len, struct strip_out *o, int *orientation)
{
    size_t i = 2, at, exif_at = 2;
    bool seen_exif = false, seen_scan = false, in_scan = false;

    out_put(o, p, 2);
    for (;;) {
        unsigned m;
        uint32_t seg;

        if (in_scan) {
            /* Entropy-coded data: up to the next marker that is not a stuffed 00 or a restart. */
            size_t j = i;

            while (j + 1 < len && !(p[j] == 0xFF && p[j + 1] != 0x00 && p[j + 1] != 0xFF &&
                                    (p[j + 1] < 0xD0 || p[j + 1] > 0xD7))) {
                j++;
            }
            if (j + 1 >= len) {
                return false;
            }
            out_put(o, p + i, j - i);
            i = j;
        }
        if (i >= len || p[i] != 0xFF) {
            return false;
        }
        while (i < len && p[i] == 0xFF) {
            i++;
        }
        if (i >= len) {
            return false;
        }
        m = p[i++];
        if (m == 0xD9) {
            break;
        }
        if (m == 0x00 || m == 0xD8) {
            return false;
        }
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
            out_put(o, (unsigned char[]){0xFF, (unsigned char)m}, 2);
            continue;
        }
        if (i + 2 > len || (seg = be16(p + i)) < 2 || seg > len - i) {
            return false;
        }
        if (m == 0xE1 && !seen_exif) {
            seen_exif = app1_exif(p + i + 2, seg - 2, orientation);
        }
        in_scan = m == 0xDA;
        seen_scan = seen_scan || in_scan;
        if (m == 0xFE || (m >= 0xE0 && m <= 0xEF && !app_kept(m, p + i + 2, seg - 2))) {
            i += seg; /* metadata: Exif, XMP, IPTC, comments and the rest */
            continue;
        }
        at = o->n;
        out_put(o, p + i - 2, 2);
        out_put(o, p + i, seg);
        if (m == 0xE0 && at == 2) {
            exif_at = o->n; /* JFIF wants its APP0 first: the Exif segment goes after it */
        }
        i += seg;
    }
    if (!seen_scan) {
        return false;
    }
    out_put(o, "\xFF\xD9", 2);
    if (*orientation != 1) {
        size_t tail = o->n - exif_at;

        memmove(o->p + exif_at + EXIF_MIN_LEN, o->p + exif_at, tail);
        o->n = exif_at;
        put_min_exif(o, *orientation);
        o->n += tail;
    }
    return true;
}

/* PNG ancillary chunks kept: transparency, colour, pixel size, animation. */
static bool png_kept(const unsigned char *type)
{
    static const char kept[][5] = {"tRNS", "gAMA", "cHRM", "sRGB", "iCCP", "sBIT", "cICP", "mDCv",
                                   "cLLi", "pHYs", "bKGD", "hIST", "sPLT", "acTL", "fcTL", "fdAT"};

    if (!(type[0] & 0x20)) {
        return true; /* critical: the image itself */
    }
    for (size_t k = 0; k < CG_ARRAY_LEN(kept); k++) {
        if (!memcmp(type, kept[k], 4)) {
            return true;
        }
    }
    return false; /* tEXt, zTXt, iTXt, tIME, eXIf and private chunks */
}

/* PNG: chunk by chunk to IEND (each whole); what follows IEND is dropped. */
static bool strip_png(const unsigned char *p, size_t len, struct strip_out *o)
{
    size_t i = 8;

    out_put(o, p, 8);
    while (i + 12 <= len) {
        uint32_t n = be32(p + i);

        if (n > len - i - 12) {
            return false;
        }
        if (png_kept(p + i + 4)) {
            out_put(o, p + i, 12 + (size_t)n);
        }
        if (!memcmp(p + i + 4, "IEND", 4)) {
            return true;
        }
        i += 12 + (size_t)n;
    }
    return false;
}

/* WebP: the RIFF chunks (padded to even sizes); EXIF, XMP and unknown chunks are dropped. */
static bool strip_webp(const unsigned char *p, size_t len, struct strip_out *o)
{
    static const char kept[][5] = {"VP8 ", "VP8L", "VP8X", "ALPH", "ANIM", "ANMF", "ICCP"};
    uint32_t riff = le32(p + 4);
    size_t i = 12, end, vp8x = 0;

    if (riff < 4 || riff > len - 8) {
        return false;
    }
    end = (size_t)riff + 8; /* bytes after the RIFF are not the image */
    out_put(o, p, 12);
    while (i < end) {
        uint32_t n;
        size_t whole;
        bool keep = false;

        if (end - i < 8) {
            return false;
        }
        n = le32(p + i + 4);
        if (n > end - i - 8) {
            return false;
        }
        whole = 8 + (size_t)n + (n & 1);
        whole = whole > end - i ? end - i : whole;
        for (size_t k = 0; k < CG_ARRAY_LEN(kept); k++) {
            keep = keep || !memcmp(p + i, kept[k], 4);
        }
        if (keep) {
            if (!memcmp(p + i, "VP8X", 4) && n >= 1) {
                vp8x = o->n + 8;
            }
            out_put(o, p + i, whole);
        }
        i += whole;
    }
    if (vp8x) {
        o->p[vp8x] &= (unsigned char)~0x0C; /* the EXIF and XMP flags: those chunks are gone */
    }
    riff = (uint32_t)(o->n - 8);
    o->p[4] = (unsigned char)riff;
    o->p[5] = (unsigned char)(riff >> 8);
    o->p[6] = (unsigned char)(riff >> 16);
    o->p[7] = (unsigned char)(riff >> 24);
    return true;
}

int cg_media_strip(const void *data, size_t len, void **out, size_t *out_len, int *out_orientation,
                   struct cg_error *err)
{
    const char *type = cg_media_sniff(data, len);
    struct strip_out o = {0};
    bool ok;

    *out = NULL;
    *out_orientation = 1;
    if (!type) {
        return cg_error_set(err, CG_EINVAL, "the body is not a JPEG, PNG or WebP image");
    }
    o.p = cg_malloc(len + EXIF_MIN_LEN);
    if (!strcmp(type, "image/jpeg")) {
        ok = strip_jpeg(data, len, &o, out_orientation);
    } else if (!strcmp(type, "image/png")) {
        ok = strip_png(data, len, &o);
    } else {
        ok = strip_webp(data, len, &o);
    }
    if (!ok) {
        free(o.p);
        *out_orientation = 1;
        return cg_error_set(err, CG_EINVAL, "the %s image is broken or truncated", type + 6);
    }
    *out = o.p;
    *out_len = o.n;
    return 0;
}

/* ---- decoding and the thumbnail --------------------------------------------------------- */

static void gd_quiet(int priority, const char *fmt, va_list ap)
{
    (void)priority;
    (void)fmt;
    (void)ap;
}

static pthread_once_t gd_once = PTHREAD_ONCE_INIT;

static void gd_setup(void)
{
    gdSetErrorMethod(gd_quiet);
}

/* The EXIF orientation of a JPEG (its first Exif segment before the first scan), else 1. */
static int jpeg_orientation(const unsigned char *p, size_t len)
{
    size_t i = 2;
    int orientation = 1;

    while (i + 4 <= len && p[i] == 0xFF && p[i + 1] != 0xDA && p[i + 1] != 0xD9) {
        uint32_t seg = be16(p + i + 2);

        if (seg < 2 || seg > len - i - 2) {
            break;
        }
        if (p[i + 1] == 0xE1 && app1_exif(p + i + 4, seg - 2, &orientation)) {
            break;
        }
        i += 2 + seg;
    }
    return orientation;
}

/*
 * The image turned upright for EXIF orientation o (2 to 8): mirrored, turned or both, a new
 * image (swapped sides for 5 to 8). Applied to the thumbnail, not to the decoded photo: the
 * same result on at most 320 x 320 pixels.
 */
static gdImagePtr orient(gdImagePtr src, int o)
{
    int w = gdImageSX(src), h = gdImageSY(src);
    gdImagePtr dst = o >= 5 ? gdImageCreateTrueColor(h, w) : gdImageCreateTrueColor(w, h);

    for (int y = 0; dst && y < h; y++) {
        for (int x = 0; x < w; x++) {
            int dx = x, dy = y;

            switch (o) {
            case 2:
                dx = w - 1 - x;
                break;
            case 3:
                dx = w - 1 - x;
                dy = h - 1 - y;
                break;
            case 4:
                dy = h - 1 - y;
                break;
            case 5:
                dx = y;
                dy = x;
                break;
            case 6:
                dx = h - 1 - y;
                dy = x;
                break;
            case 7:
                dx = h - 1 - y;
                dy = w - 1 - x;
                break;
            case 8:
                dx = y;
                dy = w - 1 - x;
                break;
            default:
                break;
            }
            gdImageSetPixel(dst, dx, dy, gdImageGetTrueColorPixel(src, x, y));
        }
    }
    return dst;
}

int cg_media_thumbnail(const void *data, size_t len, int max_side, void **out, size_t *out_len,
                       int *out_width, int *out_height, struct cg_error *err)
{
    const char *type = NULL;
    int w = 0, h = 0, tw, th, size = 0, orientation = 1;
    gdImagePtr src = NULL, dst;
    void *jpeg;
    int rc = cg_media_probe(data, len, &type, &w, &h, err);

    *out = NULL;
    if (rc) {
        return rc;
    }
    if (len > INT_MAX) {
        return cg_error_set(err, CG_ETOOBIG, "the image is too large to decode");
    }
    pthread_once(&gd_once, gd_setup);
    if (!strcmp(type, "image/jpeg")) {
        orientation = jpeg_orientation(data, len);
        src = gdImageCreateFromJpegPtrEx((int)len, (void *)data, 0);
    } else if (!strcmp(type, "image/png")) {
        src = gdImageCreateFromPngPtr((int)len, (void *)data);
    } else {
        src = gdImageCreateFromWebpPtr((int)len, (void *)data);
    }
    if (!src || gdImageSX(src) != w || gdImageSY(src) != h) {
        if (src) {
            gdImageDestroy(src);
        }
        return cg_error_set(err, CG_EINVAL, "the %s image does not decode", type + 6);
    }
    if (w >= h) {
        tw = w > max_side ? max_side : w;
        th = (int)(((int64_t)h * tw + w / 2) / w);
    } else {
        th = h > max_side ? max_side : h;
        tw = (int)(((int64_t)w * th + h / 2) / h);
    }
    tw = tw < 1 ? 1 : tw;
    th = th < 1 ? 1 : th;
    dst = gdImageCreateTrueColor(tw, th);
    if (!dst) {
        gdImageDestroy(src);
        return cg_error_set(err, CG_ENOMEM, "cannot make the thumbnail");
    }
    /* Transparent pixels become white, not black, in the JPEG. */
    gdImageFilledRectangle(dst, 0, 0, tw - 1, th - 1, gdTrueColor(255, 255, 255));
    gdImageAlphaBlending(dst, 1);
    gdImageCopyResampled(dst, src, 0, 0, 0, 0, tw, th, w, h);
    gdImageDestroy(src);
    if (orientation != 1) {
        gdImagePtr up = orient(dst, orientation);

        gdImageDestroy(dst);
        if (!up) {
            return cg_error_set(err, CG_ENOMEM, "cannot make the thumbnail");
        }
        dst = up;
        tw = gdImageSX(dst);
        th = gdImageSY(dst);
    }
    jpeg = gdImageJpegPtr(dst, &size, 82);
    gdImageDestroy(dst);
    if (!jpeg || size <= 0) {
        gdFree(jpeg);
        return cg_error_set(err, CG_EINTERNAL, "cannot encode the thumbnail");
    }
    *out = cg_malloc((size_t)size);
    memcpy(*out, jpeg, (size_t)size);
    gdFree(jpeg);
    *out_len = (size_t)size;
    *out_width = tw;
    *out_height = th;
    return 0;
}

void cg_media_sha256_hex(const void *data, size_t len, char out[CG_MEDIA_HASH_LEN + 1])
{
    unsigned char d[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(d, data, len);
    sodium_bin2hex(out, CG_MEDIA_HASH_LEN + 1, d, sizeof(d));
}

/* ---- files ------------------------------------------------------------------------------ */

static int make_dirs(const char *path, struct cg_error *err)
{
    char buf[1024];
    size_t n = strlen(path);

    if (!n || n >= sizeof(buf)) {
        return cg_error_set(err, CG_EINVAL, "invalid media directory '%.200s'", path);
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || !buf[i]) {
            char c = buf[i];

            buf[i] = '\0';
            if (mkdir(buf, 0750) && errno != EEXIST) {
                return cg_error_set(err, CG_EIO, "cannot create directory '%s': %s", buf,
                                    strerror(errno));
            }
            buf[i] = c;
        }
    }
    return 0;
}

static void file_path(const char *dir, const char *hash, bool thumb, char *out, size_t size)
{
    snprintf(out, size, "%s/%.2s/%s%s", dir, hash, hash, thumb ? ".thumb.jpg" : "");
}

/*
 * Writes data as the file of hash under dir unless a file of that size is there: temp file,
 * fsync, rename, fsync of the directory.
 */
static int write_once(const char *dir, const char *hash, bool thumb, const void *data, size_t len,
                      struct cg_error *err)
{
    static _Atomic unsigned counter;
    char sub[1100], path[1200], tmp[1300];
    struct stat sb;
    const char *p = data;
    size_t done = 0;
    int fd, dfd;

    file_path(dir, hash, thumb, path, sizeof(path));
    if (!stat(path, &sb) && (size_t)sb.st_size == len) {
        return 0; /* content-addressed: the same name is the same bytes */
    }
    snprintf(sub, sizeof(sub), "%s/%.2s", dir, hash);
    if (mkdir(sub, 0750) && errno != EEXIST) {
        return cg_error_set(err, CG_EIO, "cannot create directory '%s': %s", sub, strerror(errno));
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", path, (long)getpid(),
             atomic_fetch_add(&counter, 1));
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
        return cg_error_set(err, CG_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    }
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        done += (size_t)n;
    }
    if (done < len || fsync(fd) || close(fd)) {
        int e = errno;

        if (done < len) {
            close(fd);
        }
        unlink(tmp);
        return cg_error_set(err, CG_EIO, "cannot write '%s': %s", tmp, strerror(e));
    }
    if (rename(tmp, path)) {
        int e = errno;

        unlink(tmp);
        return cg_error_set(err, CG_EIO, "cannot rename '%s': %s", tmp, strerror(e));
    }
    dfd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

static int read_file(const char *path, size_t max, void **out, size_t *out_len,
                     struct cg_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    char *buf;
    size_t done = 0;

    if (fd < 0) {
        return cg_error_set(err, errno == ENOENT ? CG_ENOTFOUND : CG_EIO,
                            "cannot open the photo file: %s", strerror(errno));
    }
    if (fstat(fd, &sb) || sb.st_size < 0 || (size_t)sb.st_size > max) {
        close(fd);
        return cg_error_set(err, CG_EIO, "the photo file has an unexpected size");
    }
    buf = cg_malloc((size_t)sb.st_size + 1);
    while (done < (size_t)sb.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)sb.st_size - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        done += (size_t)n;
    }
    close(fd);
    if (done != (size_t)sb.st_size) {
        free(buf);
        return cg_error_set(err, CG_EIO, "cannot read the photo file");
    }
    *out = buf;
    *out_len = done;
    return 0;
}

/* ---- copies (backup and restore) -------------------------------------------------------- */

/* A file name of the media directory: 64 hex digits, then nothing or ".thumb.jpg". */
static bool media_name(const char *name, bool *thumb)
{
    size_t n = strspn(name, "0123456789abcdef");

    *thumb = n == CG_MEDIA_HASH_LEN && !strcmp(name + n, ".thumb.jpg");
    return n == CG_MEDIA_HASH_LEN && (!name[n] || *thumb);
}

/* Copies one file of from/sub into to, checking a photo's bytes against its name. */
static int copy_one(const char *from, const char *to, const char *name, bool thumb,
                    struct cg_media_copy *st, struct cg_error *err)
{
    char path[1200], dst[1200], hex[CG_MEDIA_HASH_LEN + 1];
    struct stat sf, sd;
    void *data = NULL;
    size_t len = 0;
    int rc;

    file_path(from, name, thumb, path, sizeof(path));
    file_path(to, name, thumb, dst, sizeof(dst));
    if (!stat(path, &sf) && !stat(dst, &sd) && sd.st_size == sf.st_size) {
        st->present++; /* content-addressed: the same name and size is the same file */
        return 0;
    }
    rc = read_file(path, (size_t)1 << 30, &data, &len, err);
    if (rc) {
        return rc;
    }
    if (!thumb) {
        cg_media_sha256_hex(data, len, hex);
        if (memcmp(hex, name, CG_MEDIA_HASH_LEN)) {
            /* Damaged on disk: copying it would spread the damage under a name that lies. */
            st->damaged++;
            free(data);
            return 0;
        }
    }
    rc = write_once(to, name, thumb, data, len, err);
    free(data);
    if (!rc) {
        st->copied++;
        st->bytes += (int64_t)len;
    }
    return rc;
}

int cg_media_copy_dir(const char *from, const char *to, struct cg_media_copy *st,
                      struct cg_error *err)
{
    DIR *top = opendir(from);
    struct dirent *d;
    int rc = 0;

    memset(st, 0, sizeof(*st));
    if (!top) {
        return errno == ENOENT
                   ? 0
                   : cg_error_set(err, CG_EIO, "cannot read '%s': %s", from, strerror(errno));
    }
    rc = make_dirs(to, err);
    while (!rc && (d = readdir(top))) {
        char sub[1100];
        DIR *dir;
        struct dirent *f;

        if (strlen(d->d_name) != 2 || strspn(d->d_name, "0123456789abcdef") != 2) {
            continue;
        }
        snprintf(sub, sizeof(sub), "%s/%s", from, d->d_name);
        dir = opendir(sub);
        if (!dir) {
            rc = cg_error_set(err, CG_EIO, "cannot read '%s': %s", sub, strerror(errno));
            break;
        }
        while (!rc && (f = readdir(dir))) {
            bool thumb;

            /* Temporary files of writes in progress are not photos yet. */
            if (media_name(f->d_name, &thumb) && !strncmp(f->d_name, d->d_name, 2)) {
                char hash[CG_MEDIA_HASH_LEN + 1];

                memcpy(hash, f->d_name, CG_MEDIA_HASH_LEN);
                hash[CG_MEDIA_HASH_LEN] = '\0';
                rc = copy_one(from, to, hash, thumb, st, err);
            }
        }
        closedir(dir);
    }
    closedir(top);
    return rc;
}

void cg_media_resolve_dir(const char *db_path, const char *dir, char *out, size_t size)
{
    const char *slash = strrchr(db_path, '/');

    snprintf(out, size, "%.*s%s", dir[0] == '/' || !slash ? 0 : (int)(slash - db_path + 1), db_path,
             dir);
}

/* ---- the module ------------------------------------------------------------------------- */

int cg_media_open(struct cg_db *db, struct cg_events *events, const char *dir, size_t max_photo,
                  struct cg_media **out, struct cg_error *err)
{
    struct cg_media *m;
    int rc = make_dirs(dir, err);

    *out = NULL;
    if (rc) {
        return rc;
    }
    m = cg_calloc(1, sizeof(*m));
    m->db = db;
    m->events = events;
    m->dir = cg_strdup(dir);
    m->max_photo = max_photo;
    *out = m;
    return 0;
}

void cg_media_free(struct cg_media *m)
{
    if (!m) {
        return;
    }
    free(m->dir);
    free(m);
}

bool cg_media_stage_valid(const char *stage)
{
    static const char *const stages[] = {"report", "before", "after", "handling", "check"};

    for (size_t i = 0; stage && i < CG_ARRAY_LEN(stages); i++) {
        if (!strcmp(stage, stages[i])) {
            return true;
        }
    }
    return false;
}

/* The event if actor may read it (its JSON into *out when out is not NULL). */
static int readable(struct cg_media *m, const struct cg_principal *actor, int64_t id, json_t **out,
                    struct cg_error *err)
{
    json_t *ev = NULL;
    int rc = cg_event_get(m->events, actor, id, &ev, err);

    if (!rc && out) {
        *out = ev;
    } else {
        json_decref(ev);
    }
    return rc;
}

static bool is_photo_type(const char *t)
{
    return t && (!strcmp(t, "image/jpeg") || !strcmp(t, "image/png") || !strcmp(t, "image/webp"));
}

int cg_media_attach(struct cg_media *m, const struct cg_principal *actor, int64_t event_id,
                    const char *stage, const char *declared, const void *data, size_t len,
                    json_t **out, bool *out_created, struct cg_error *err)
{
    struct cg_media__photo p = {.event_id = event_id};
    const char *type = NULL, *kind;
    json_t *ev = NULL;
    void *thumb = NULL, *clean = NULL;
    size_t thumb_len = 0;
    int tw, th, orientation, rc;

    *out = NULL;
    *out_created = false;
    if (!cg_media_stage_valid(stage)) {
        return cg_error_field(err, CG_EINVAL, "stage",
                              "'stage' must be report, before, after, handling or check");
    }
    rc = readable(m, actor, event_id, &ev, err);
    if (rc) {
        return rc;
    }
    kind = json_string_value(json_object_get(ev, "kind"));
    if ((!strcmp(stage, "before") || !strcmp(stage, "after")) &&
        (!kind || strcmp(kind, "self_resolved"))) {
        json_decref(ev);
        return cg_error_field(err, CG_EINVAL, "stage",
                              "before and after photos belong to self-resolved events");
    }
    json_decref(ev);
    if (!is_photo_type(declared)) {
        return cg_error_set(err, CG_EMEDIATYPE,
                            "send the photo as image/jpeg, image/png or image/webp");
    }
    if (!len) {
        return cg_error_set(err, CG_EINVAL, "the body is empty; send the image's bytes");
    }
    if (len > m->max_photo) {
        return cg_error_set(err, CG_ETOOBIG, "the photo is %zu bytes; the limit is %zu", len,
                            m->max_photo);
    }
    type = cg_media_sniff(data, len);
    if (!type) {
        return cg_error_set(err, CG_EINVAL, "the body is not a JPEG, PNG or WebP image");
    }
    if (strcmp(type, declared)) {
        return cg_error_set(err, CG_EMEDIATYPE, "the body is %s but was sent as %s", type,
                            declared);
    }
    rc = cg_media_probe(data, len, &type, &p.width, &p.height, err);
    /* What is kept, hashed and served is the photo without its metadata (GPS, device...). */
    rc = rc ? rc : cg_media_strip(data, len, &clean, &len, &orientation, err);
    data = clean;
    rc = rc ? rc
            : cg_media_thumbnail(data, len, CG_MEDIA_THUMB_SIDE, &thumb, &thumb_len, &tw, &th, err);
    if (rc) {
        free(clean);
        return rc;
    }
    cg_media_sha256_hex(data, len, p.hash);
    snprintf(p.stage, sizeof(p.stage), "%s", stage);
    snprintf(p.type, sizeof(p.type), "%s", type);
    p.size = (int64_t)len;
    p.thumb_size = (int64_t)thumb_len;
    cg_time_iso(cg_time_now_ms(), p.uploaded_at, sizeof(p.uploaded_at));
    snprintf(p.by, sizeof(p.by), "%s", actor ? actor->login : "");
    /* Files first: a row never names a file that is not there (an orphan file is harmless). */
    rc = write_once(m->dir, p.hash, false, data, len, err);
    rc = rc ? rc : write_once(m->dir, p.hash, true, thumb, thumb_len, err);
    free(thumb);
    free(clean);
    rc = rc ? rc : cg_media__attach(m->db, &p, actor ? actor->account_id : 0, out_created, err);
    if (!rc) {
        *out = cg_media__photo_json(&p);
    }
    return rc;
}

int cg_media_list(struct cg_media *m, const struct cg_principal *actor, int64_t event_id,
                  json_t **out, struct cg_error *err)
{
    json_t *list;
    int rc = readable(m, actor, event_id, NULL, err);

    *out = NULL;
    if (rc) {
        return rc;
    }
    list = json_array();
    rc = cg_media__list(m->db, event_id, list, err);
    if (rc) {
        json_decref(list);
        return rc;
    }
    *out = json_pack("{s:I, s:o}", "event", (json_int_t)event_id, "photos", list);
    return 0;
}

static bool valid_hash(const char *h)
{
    return h && strlen(h) == CG_MEDIA_HASH_LEN &&
           strspn(h, "0123456789abcdef") == CG_MEDIA_HASH_LEN;
}

int cg_media_fetch(struct cg_media *m, const struct cg_principal *actor, const char *hash,
                   bool thumb, void **out_data, size_t *out_len, const char **out_type,
                   struct cg_error *err)
{
    struct cg_media__photo p;
    int64_t ids[MAX_EVENTS_CHECKED];
    size_t n = 0;
    char path[1200];
    bool ok = false;
    int rc;

    *out_data = NULL;
    if (!valid_hash(hash)) {
        return cg_error_set(err, CG_ENOTFOUND, "no photo '%.64s'", hash ? hash : "");
    }
    rc = cg_media__get(m->db, hash, &p, err);
    rc = rc ? rc : cg_media__events_of(m->db, hash, ids, CG_ARRAY_LEN(ids), &n, err);
    for (size_t i = 0; !rc && !ok && i < n; i++) {
        struct cg_error ignored = CG_ERROR_INIT;

        ok = !readable(m, actor, ids[i], NULL, &ignored);
    }
    if (!rc && !ok) {
        rc = cg_error_set(err, CG_ENOTFOUND, "no photo '%s'", hash);
    }
    if (rc) {
        return rc;
    }
    file_path(m->dir, hash, thumb, path, sizeof(path));
    rc = read_file(path, thumb ? MAX_THUMB_BYTES : (size_t)p.size, out_data, out_len, err);
    if (rc == CG_ENOTFOUND) {
        /* The row is there and the file is not: the media directory was lost or moved. */
        rc = cg_error_set(err, CG_EIO, "the file of photo '%s' is missing", hash);
    }
    *out_type = thumb ? "image/jpeg"
                      : (!strcmp(p.type, "image/png")    ? "image/png"
                         : !strcmp(p.type, "image/webp") ? "image/webp"
                                                         : "image/jpeg");
    return rc;
}
