/*
 * Unit tests for photos (src/domain/media): sniffing by magic bytes, header
 * probing with the size limits (decompression bombs refused before decoding),
 * truncated and undecodable images, thumbnail sizes, metadata stripped from
 * JPEG, PNG and WebP fixtures built byte by byte (EXIF GPS, make and model,
 * XMP, IPTC, comments, text chunks) with the EXIF orientation kept and
 * applied to the thumbnail, broken segment lengths, the SHA-256, and
 * attaching to events: the declared type must agree, stages, the size cap,
 * one file per content however often it is attached, the event's log entry,
 * listing, and fetching only within the event's scope.
 */
#include "test.h"
#include "testdb.h"
#include "base/mem.h"
#include "base/time.h"
#include "db/db.h"
#include "domain/auth/auth.h"
#include "domain/calendar/calendar.h"
#include "domain/catalogue/catalogue.h"
#include "domain/event/event.h"
#include "domain/grid/demo.h"
#include "domain/grid/index.h"
#include "domain/media/media.h"
#include "domain/pii/pii.h"

#include <dirent.h>
#include <gd.h>

/* ---- images made with libgd ------------------------------------------------------------- */

/* An image of w x h with a gradient; fmt 'p' PNG, 'j' JPEG, 'w' WebP. Free with gdFree(). */
static void *make_image(int w, int h, char fmt, size_t *out_len)
{
    gdImagePtr im = gdImageCreateTrueColor(w, h);
    void *out = NULL;
    int size = 0;

    assert_non_null(im);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            gdImageSetPixel(im, x, y, gdTrueColor(x * 255 / w, y * 255 / h, 128));
        }
    }
    if (fmt == 'p') {
        out = gdImagePngPtr(im, &size);
    } else if (fmt == 'j') {
        out = gdImageJpegPtr(im, &size, 90);
    } else {
        out = gdImageWebpPtr(im, &size);
    }
    gdImageDestroy(im);
    assert_non_null(out);
    assert_true(size > 0);
    *out_len = (size_t)size;
    return out;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* CRC-32 of PNG chunks, bit by bit. */
static uint32_t crc32(const unsigned char *p, size_t len)
{
    uint32_t c = 0xFFFFFFFFu;

    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
    }
    return c ^ 0xFFFFFFFFu;
}

static void test_sniff(void **state)
{
    size_t n;
    void *png = make_image(8, 8, 'p', &n);
    void *jpg;
    void *webp;

    (void)state;
    assert_string_equal(cg_media_sniff(png, n), "image/png");
    gdFree(png);
    jpg = make_image(8, 8, 'j', &n);
    assert_string_equal(cg_media_sniff(jpg, n), "image/jpeg");
    gdFree(jpg);
    webp = make_image(8, 8, 'w', &n);
    assert_string_equal(cg_media_sniff(webp, n), "image/webp");
    gdFree(webp);
    assert_null(cg_media_sniff("GIF89a......", 12));
    assert_null(cg_media_sniff("{\"a\":1}", 7));
    assert_null(cg_media_sniff("", 0));
    assert_null(cg_media_sniff("\x89PNG", 4)); /* too short to be a PNG */
    assert_null(cg_media_sniff("RIFF\0\0\0\0WAVE", 12));
}

static void test_probe_limits_and_bombs(void **state)
{
    struct cg_error err = CG_ERROR_INIT;
    const char *type = NULL;
    int w = 0, h = 0;
    size_t n;
    char fmts[] = {'p', 'j', 'w'};
    unsigned char *png;

    (void)state;
    for (size_t i = 0; i < sizeof(fmts); i++) {
        void *img = make_image(40, 30, fmts[i], &n);

        assert_int_equal(cg_media_probe(img, n, &type, &w, &h, &err), 0);
        assert_int_equal(w, 40);
        assert_int_equal(h, 30);
        gdFree(img);
    }
    /* A side over 16,000 px, a real PNG. */
    png = make_image(CG_MEDIA_MAX_SIDE + 1, 1, 'p', &n);
    assert_int_equal(cg_media_probe(png, n, &type, &w, &h, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "16001x1"));
    gdFree(png);
    /* A bomb: a tiny file whose header claims 8,000 x 8,000 (64 megapixels). */
    png = make_image(8, 8, 'p', &n);
    put_be32(png + 16, 8000);
    put_be32(png + 20, 8000);
    cg_error_clear(&err);
    assert_int_equal(cg_media_probe(png, n, &type, &w, &h, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "megapixels"));
    /* No pixels. */
    put_be32(png + 16, 0);
    cg_error_clear(&err);
    assert_int_equal(cg_media_probe(png, n, &type, &w, &h, &err), CG_EINVAL);
    gdFree(png);
    /* Not an image, a cut JPEG, a PNG without its header chunk. */
    cg_error_clear(&err);
    assert_int_equal(cg_media_probe("hello world", 11, &type, &w, &h, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "not a JPEG, PNG or WebP"));
    {
        void *jpg = make_image(64, 64, 'j', &n);

        cg_error_clear(&err);
        assert_int_equal(cg_media_probe(jpg, n / 2, &type, &w, &h, &err), CG_EINVAL);
        assert_non_null(strstr(err.message, "truncated"));
        gdFree(jpg);
    }
    cg_error_clear(&err);
    assert_int_equal(cg_media_probe("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDX\0\0\0\1\0\0\0\1\x08\x02\0\0\0"
                                    "\0\0\0\0",
                                    33, &type, &w, &h, &err),
                     CG_EINVAL);
    /* A WebP whose RIFF ends before its image header (found by fuzzing: the strip, which
       stops at the RIFF's end, left no image of what the probe had read past it). */
    {
        unsigned char *webp = make_image(8, 8, 'w', &n);

        webp[4] = 4;
        webp[5] = webp[6] = webp[7] = 0;
        cg_error_clear(&err);
        assert_int_equal(cg_media_probe(webp, n, &type, &w, &h, &err), CG_EINVAL);
        gdFree(webp);
    }
    /* A first chunk shorter than the header read from it (found by fuzzing: a VP8X chunk of
       0 bytes whose canvas came from the next chunk's bytes, which the strip then dropped). */
    {
        static const char *const kinds[] = {"VP8X", "VP8 ", "VP8L"};
        static const uint8_t sizes[] = {9, 9, 4};
        unsigned char webp[40] = "RIFF\x20\0\0\0WEBP";

        for (size_t i = 0; i < CG_ARRAY_LEN(kinds); i++) {
            memcpy(webp + 12, kinds[i], 4);
            webp[16] = sizes[i];
            memcpy(webp + 23, "\x9d\x01\x2a", 3); /* the VP8 start code */
            webp[20] = i == 2 ? 0x2F : 0;         /* the VP8L signature */
            webp[26] = webp[28] = i == 1 ? 8 : 0; /* a VP8 frame of 8 x 8 */
            cg_error_clear(&err);
            assert_int_equal(cg_media_probe(webp, sizeof(webp), &type, &w, &h, &err), CG_EINVAL);
            webp[16] = (uint8_t)(sizes[i] + 1); /* one byte more: the header is inside */
            cg_error_clear(&err);
            assert_int_equal(cg_media_probe(webp, sizeof(webp), &type, &w, &h, &err), 0);
        }
    }
}

static void test_decode_and_thumbnail(void **state)
{
    struct cg_error err = CG_ERROR_INIT;
    void *thumb = NULL;
    size_t n, tn = 0;
    int tw = 0, th = 0;
    const char *type;
    int w, h;
    void *img;

    (void)state;
    /* Landscape, shrunk to 320 on the long side, as a JPEG. */
    img = make_image(1000, 500, 'p', &n);
    assert_int_equal(cg_media_thumbnail(img, n, 320, &thumb, &tn, &tw, &th, &err), 0);
    assert_int_equal(tw, 320);
    assert_int_equal(th, 160);
    assert_string_equal(cg_media_sniff(thumb, tn), "image/jpeg");
    assert_int_equal(cg_media_probe(thumb, tn, &type, &w, &h, &err), 0);
    assert_int_equal(w, 320);
    assert_int_equal(h, 160);
    free(thumb);
    gdFree(img);
    /* Portrait WebP. */
    img = make_image(300, 900, 'w', &n);
    assert_int_equal(cg_media_thumbnail(img, n, 320, &thumb, &tn, &tw, &th, &err), 0);
    assert_int_equal(tw, 107);
    assert_int_equal(th, 320);
    free(thumb);
    gdFree(img);
    /* Small images are never enlarged. */
    img = make_image(40, 30, 'j', &n);
    assert_int_equal(cg_media_thumbnail(img, n, 320, &thumb, &tn, &tw, &th, &err), 0);
    assert_int_equal(tw, 40);
    assert_int_equal(th, 30);
    free(thumb);
    gdFree(img);
    /* A PNG cut in the middle is refused before decoding. */
    img = make_image(200, 200, 'p', &n);
    assert_int_equal(cg_media_thumbnail(img, n / 2, 320, &thumb, &tn, &tw, &th, &err), CG_EINVAL);
    assert_null(thumb);
    assert_non_null(strstr(err.message, "truncated"));
    /* One whose chunks are whole but whose pixel data is garbage does not decode. */
    {
        unsigned char *p = img;
        size_t i = 8;

        while (memcmp(p + i + 4, "IDAT", 4)) {
            i += 12 +
                 ((size_t)p[i] << 24 | (size_t)p[i + 1] << 16 | (size_t)p[i + 2] << 8 | p[i + 3]);
        }
        {
            uint32_t len = (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 |
                           (uint32_t)p[i + 2] << 8 | p[i + 3];

            memset(p + i + 8, 0x5a, len);
            put_be32(p + i + 8 + len, crc32(p + i + 4, len + 4));
        }
    }
    cg_error_clear(&err);
    assert_int_equal(cg_media_thumbnail(img, n, 320, &thumb, &tn, &tw, &th, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "does not decode"));
    gdFree(img);
}

static void test_sha256(void **state)
{
    char hex[CG_MEDIA_HASH_LEN + 1];

    (void)state;
    cg_media_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cg_media_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* ---- metadata: built byte by byte ------------------------------------------------------- */

static bool has_bytes(const void *hay, size_t n, const void *needle, size_t k)
{
    const unsigned char *h = hay;

    for (size_t i = 0; k <= n && i <= n - k; i++) {
        if (!memcmp(h + i, needle, k)) {
            return true;
        }
    }
    return false;
}

/* A growable byte buffer of the tests. */
struct bytes {
    unsigned char p[8192];
    size_t n;
};

static void add(struct bytes *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof(b->p));
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void add16(struct bytes *b, uint32_t v)
{
    add(b, (unsigned char[]){(unsigned char)(v >> 8), (unsigned char)v}, 2);
}

static void add32(struct bytes *b, uint32_t v)
{
    add16(b, v >> 16);
    add16(b, v & 0xFFFF);
}

#define MAKE "CivgridPhone"
#define MODEL "Model-X9 SN4471"
#define LAT_MIN 0x0000002Bu /* 43' in the GPS IFD, with 22 deg and 38.5" */

/*
 * An APP1 Exif segment as a phone writes it: big-endian TIFF, IFD0 with Make, Model,
 * Orientation and the GPS IFD pointer; the GPS IFD with latitude N 22 deg 43' 38.5".
 */
static void exif_segment(struct bytes *b, int orientation)
{
    struct bytes t = {.n = 0};
    /* Offsets in the TIFF data: IFD0 at 8 (4 entries: 2 + 48 + 4 = 54 bytes), then GPS IFD
     * at 62 (2 entries: 2 + 24 + 4 = 30), then the strings and rationals at 92. */
    uint32_t data = 92, make = data, model = make + sizeof(MAKE), lat = model + sizeof(MODEL);

    add(&t, "MM\0\x2A", 4);
    add32(&t, 8);
    add16(&t, 4);
    add16(&t, 0x010F), add16(&t, 2), add32(&t, sizeof(MAKE)), add32(&t, make);
    add16(&t, 0x0110), add16(&t, 2), add32(&t, sizeof(MODEL)), add32(&t, model);
    add16(&t, 0x0112), add16(&t, 3), add32(&t, 1), add16(&t, (uint32_t)orientation), add16(&t, 0);
    add16(&t, 0x8825), add16(&t, 4), add32(&t, 1), add32(&t, 62);
    add32(&t, 0);
    assert_int_equal(t.n, 62);
    add16(&t, 2);
    add16(&t, 0x0001), add16(&t, 2), add32(&t, 2), add(&t, "N\0\0\0", 4);
    add16(&t, 0x0002), add16(&t, 5), add32(&t, 3), add32(&t, lat);
    add32(&t, 0);
    assert_int_equal(t.n, data);
    add(&t, MAKE, sizeof(MAKE));
    add(&t, MODEL, sizeof(MODEL));
    add32(&t, 22), add32(&t, 1), add32(&t, LAT_MIN), add32(&t, 1), add32(&t, 385), add32(&t, 10);
    add16(b, 0xFFE1);
    add16(b, (uint32_t)(2 + 6 + t.n));
    add(b, "Exif\0\0", 6);
    add(b, t.p, t.n);
}

/* The libgd JPEG jpg with, right after its SOI, Exif (orientation), XMP, IPTC and a comment. */
static void jpeg_with_metadata(const void *jpg, size_t n, int orientation, struct bytes *b)
{
    static const char xmp[] = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><exif:GPSLatitude>"
                              "22,43.64N</exif:GPSLatitude></x:xmpmeta>";
    static const char iptc[] = "Photoshop 3.0\0"
                               "8BIM\x04\x04\0\0\0\0\0\x0c\x1c\x02\x50\0\x08"
                               "Zhang San";
    static const char com[] = "taken by Zhang San";

    b->n = 0;
    add(b, jpg, 2);
    exif_segment(b, orientation);
    add16(b, 0xFFE1), add16(b, 2 + sizeof(xmp) - 1), add(b, xmp, sizeof(xmp) - 1);
    add16(b, 0xFFED), add16(b, 2 + sizeof(iptc) - 1), add(b, iptc, sizeof(iptc) - 1);
    add16(b, 0xFFFE), add16(b, 2 + sizeof(com) - 1), add(b, com, sizeof(com) - 1);
    add(b, (const unsigned char *)jpg + 2, n - 2);
}

static void assert_no_metadata(const void *p, size_t n)
{
    const unsigned char lat[] = {0, 0, 0, 0x2B, 0, 0, 0, 1};

    assert_false(has_bytes(p, n, MAKE, strlen(MAKE)));
    assert_false(has_bytes(p, n, "Model-X9", 8));
    assert_false(has_bytes(p, n, lat, sizeof(lat)));
    assert_false(has_bytes(p, n, "\x88\x25", 2)); /* the GPS IFD pointer tag */
    assert_false(has_bytes(p, n, "GPSLatitude", 11));
    assert_false(has_bytes(p, n, "Zhang San", 9));
    assert_false(has_bytes(p, n, "8BIM", 4));
    assert_false(has_bytes(p, n, "CREATOR: gd-jpeg", 16)); /* libgd's own comment */
}

/* The red and green of a pixel of a JPEG. */
static void pixel_rg(const void *jpeg, size_t n, int x, int y, int *r, int *g)
{
    gdImagePtr im = gdImageCreateFromJpegPtr((int)n, (void *)jpeg);
    int c;

    assert_non_null(im);
    c = gdImageGetTrueColorPixel(im, x, y);
    *r = gdTrueColorGetRed(c);
    *g = gdTrueColorGetGreen(c);
    gdImageDestroy(im);
}

static void test_strip_jpeg(void **state)
{
    struct cg_error err = CG_ERROR_INIT;
    size_t n, sn = 0, tn = 0, plain_n = 0;
    void *jpg = make_image(40, 30, 'j', &n);
    void *out = NULL, *plain = NULL, *thumb = NULL;
    const unsigned char min_exif[] =
        "\xFF\xE1\0\x22"
        "Exif\0\0MM\0\x2A\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06";
    struct bytes *b = calloc(1, sizeof(*b));
    const char *type;
    int o = 0, w, h, tw, th, r0, g0, r1, g1;
    gdImagePtr im;

    (void)state;
    jpeg_with_metadata(jpg, n, 6, b);
    assert_true(has_bytes(b->p, b->n, MAKE, strlen(MAKE)));
    assert_int_equal(cg_media_strip(b->p, b->n, &out, &sn, &o, &err), 0);
    assert_int_equal(o, 6);
    assert_no_metadata(out, sn);
    /* The orientation stays, alone, in an Exif segment after the JFIF APP0. */
    assert_true(has_bytes(out, sn, min_exif, sizeof(min_exif) - 1));
    assert_int_equal(((unsigned char *)out)[2], 0xFF);
    assert_int_equal(((unsigned char *)out)[3], 0xE0);
    assert_memory_equal((unsigned char *)out + sn - 2, "\xFF\xD9", 2);
    /* Still the same JPEG: probed, decoded by libgd, same size. */
    assert_int_equal(cg_media_probe(out, sn, &type, &w, &h, &err), 0);
    assert_string_equal(type, "image/jpeg");
    assert_int_equal(w, 40);
    assert_int_equal(h, 30);
    im = gdImageCreateFromJpegPtr((int)sn, out);
    assert_non_null(im);
    assert_int_equal(gdImageSX(im), 40);
    assert_int_equal(gdImageSY(im), 30);
    gdImageDestroy(im);
    /* Stripping twice changes nothing more. */
    assert_int_equal(cg_media_strip(out, sn, &plain, &plain_n, &o, &err), 0);
    assert_int_equal(o, 6);
    assert_int_equal(plain_n, sn);
    assert_memory_equal(plain, out, sn);
    free(plain);

    /* Orientation 6 (turn 90 degrees clockwise): the thumbnail is 30 x 40, upright. */
    assert_int_equal(cg_media_thumbnail(out, sn, 320, &thumb, &tn, &tw, &th, &err), 0);
    assert_int_equal(tw, 30);
    assert_int_equal(th, 40);
    /* The source's top row (green 0) is now its right column; red grows downwards. */
    pixel_rg(thumb, tn, 2, 2, &r0, &g0);
    pixel_rg(thumb, tn, tw - 3, th - 3, &r1, &g1);
    assert_true(r1 > r0 + 120);
    assert_true(g0 > g1 + 120);
    free(thumb);
    /* The thumbnail of the upload as it came is the same shape. */
    assert_int_equal(cg_media_thumbnail(b->p, b->n, 320, &thumb, &tn, &tw, &th, &err), 0);
    assert_int_equal(tw, 30);
    assert_int_equal(th, 40);
    free(thumb);
    free(out);

    /* Orientation 1: no Exif at all, and the same bytes as the photo without metadata. */
    assert_int_equal(cg_media_strip(jpg, n, &plain, &plain_n, &o, &err), 0);
    assert_int_equal(o, 1);
    jpeg_with_metadata(jpg, n, 1, b);
    assert_int_equal(cg_media_strip(b->p, b->n, &out, &sn, &o, &err), 0);
    assert_int_equal(o, 1);
    assert_false(has_bytes(out, sn, "Exif", 4));
    assert_no_metadata(out, sn);
    assert_int_equal(sn, plain_n);
    assert_memory_equal(out, plain, sn);
    free(out);
    free(plain);

    /* Every other orientation turns the thumbnail's sides as it should. */
    for (int k = 2; k <= 8; k++) {
        jpeg_with_metadata(jpg, n, k, b);
        assert_int_equal(cg_media_thumbnail(b->p, b->n, 320, &thumb, &tn, &tw, &th, &err), 0);
        assert_int_equal(tw, k >= 5 ? 30 : 40);
        assert_int_equal(th, k >= 5 ? 40 : 30);
        free(thumb);
    }

    /* Broken structure: refused, never read past the end. */
    jpeg_with_metadata(jpg, n, 6, b);
    for (size_t cut = 0; cut < b->n; cut++) {
        void *copy = cg_malloc(cut ? cut : 1);

        memcpy(copy, b->p, cut);
        cg_error_clear(&err);
        assert_int_equal(cg_media_strip(copy, cut, &out, &sn, &o, &err), CG_EINVAL);
        assert_null(out);
        free(copy);
    }
    assert_non_null(strstr(err.message, "broken or truncated"));
    b->p[4] = 0xFF; /* the Exif segment's length runs past the end */
    b->p[5] = 0xF0;
    cg_error_clear(&err);
    assert_int_equal(cg_media_strip(b->p, b->n, &out, &sn, &o, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "jpeg image is broken or truncated"));
    b->p[4] = 0;
    b->p[5] = 1; /* shorter than its own length field */
    cg_error_clear(&err);
    assert_int_equal(cg_media_strip(b->p, b->n, &out, &sn, &o, &err), CG_EINVAL);
    /* An Exif segment whose TIFF data is garbage is still dropped, orientation 1. */
    jpeg_with_metadata(jpg, n, 6, b);
    b->p[12] = 'X';
    assert_int_equal(cg_media_strip(b->p, b->n, &out, &sn, &o, &err), 0);
    assert_int_equal(o, 1);
    assert_no_metadata(out, sn);
    free(out);
    free(b);
    gdFree(jpg);
}

static void add_chunk(struct bytes *b, const char *type, const void *data, uint32_t n)
{
    size_t at = b->n + 4;

    add32(b, n);
    add(b, type, 4);
    add(b, data, n);
    add32(b, crc32(b->p + at, (size_t)n + 4));
}

static void test_strip_png_and_webp(void **state)
{
    struct cg_error err = CG_ERROR_INIT;
    size_t n, sn = 0, ihdr_end = 8 + 12 + 13;
    unsigned char *img = make_image(20, 10, 'p', &n);
    struct bytes *b = calloc(1, sizeof(*b)), *want = calloc(1, sizeof(*want));
    void *out = NULL;
    const char *type;
    int o = 0, w, h;
    gdImagePtr im;

    (void)state;
    assert_true(n + 200 < sizeof(b->p));
    /* Signature and IHDR, gAMA (kept), text, time and EXIF (dropped), then the rest. */
    add(b, img, ihdr_end);
    add_chunk(b, "gAMA", "\0\0\xb1\x8f", 4);
    add(want, b->p, b->n);
    add_chunk(b, "tEXt", "Author\0Zhang San", 16);
    add_chunk(b, "tIME", "\x07\xe9\x03\x0f\x0a\x1e\x00", 7);
    add_chunk(b, "eXIf", "MM\0\x2A\0\0\0\x08\0\x01\x01\x0f\0\x02\0\0\0\x0d" MAKE, 30);
    add_chunk(b, "zTXt", "Comment\0\0x", 10);
    add(b, img + ihdr_end, n - ihdr_end);
    add(want, img + ihdr_end, n - ihdr_end);
    assert_int_equal(cg_media_probe(b->p, b->n, &type, &w, &h, &err), 0);
    assert_int_equal(cg_media_strip(b->p, b->n, &out, &sn, &o, &err), 0);
    assert_int_equal(o, 1);
    assert_int_equal(sn, want->n);
    assert_memory_equal(out, want->p, sn);
    assert_false(has_bytes(out, sn, "Zhang San", 9));
    assert_false(has_bytes(out, sn, MAKE, strlen(MAKE)));
    im = gdImageCreateFromPngPtr((int)sn, out);
    assert_non_null(im);
    assert_int_equal(gdImageSX(im), 20);
    assert_int_equal(gdImageSY(im), 10);
    gdImageDestroy(im);
    free(out);
    /* A chunk whose length runs past the end, and a PNG cut before IEND. */
    b->p[ihdr_end + 16 + 1] = 0x7F; /* the tEXt after gAMA */
    cg_error_clear(&err);
    assert_int_equal(cg_media_strip(b->p, b->n, &out, &sn, &o, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "png image is broken or truncated"));
    cg_error_clear(&err);
    assert_int_equal(cg_media_strip(want->p, want->n - 1, &out, &sn, &o, &err), CG_EINVAL);
    assert_null(out);
    gdFree(img);

    /* WebP: an EXIF chunk after the image goes, and the RIFF size follows. */
    img = make_image(20, 10, 'w', &n);
    b->n = 0;
    add(b, img, n);
    add(b, "EXIF\x1f\0\0\0", 8);
    add(b, "MM\0\x2A\0\0\0\x08\0\x01\x01\x0f\0\x02\0\0\0\x0d" MAKE, 31);
    add(b, "\0", 1);
    b->p[4] = (unsigned char)(b->n - 8);
    b->p[5] = (unsigned char)((b->n - 8) >> 8);
    assert_int_equal(cg_media_probe(b->p, b->n, &type, &w, &h, &err), 0);
    assert_int_equal(cg_media_strip(b->p, b->n, &out, &sn, &o, &err), 0);
    assert_int_equal(sn, n);
    assert_memory_equal(out, img, n);
    free(out);
    /* A RIFF that claims more than there is. */
    cg_error_clear(&err);
    assert_int_equal(cg_media_strip(b->p, b->n - 1, &out, &sn, &o, &err), CG_EINVAL);
    gdFree(img);
    free(b);
    free(want);
}

/* ---- photos of events ------------------------------------------------------------------- */

#define IN_LON 113.160803 /* a point of grid 442000105001001 */
#define IN_LAT 22.637102

struct fixture {
    struct test_db t;
    char media_dir[128];
    struct cg_db *db;
    struct cg_grid_locator *grids;
    struct cg_calendar *cal;
    struct cg_events *ev;
    struct cg_media *media;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct cg_error err = CG_ERROR_INIT;

    test_db_open(&f->t, "mediatest");
    f->db = f->t.db;
    snprintf(f->media_dir, sizeof(f->media_dir), "%s/a/media", f->t.dir);
    test_db_demo(f->db);
    assert_int_equal(cg_grid_locator_new(f->db, &f->grids, &err), 0);
    assert_int_equal(cg_calendar_load(f->db, &f->cal, &err), 0);
    f->ev = cg_events_new(f->db, f->grids, f->cal);
    assert_int_equal(cg_media_open(f->db, f->ev, f->media_dir, 1 << 20, &f->media, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cg_media_free(f->media);
    cg_events_free(f->ev);
    cg_calendar_release(f->cal);
    cg_grid_locator_free(f->grids);
    test_db_close(&f->t);
    free(f);
    return 0;
}

/* Sorted, as cg_principal wants them. */
static const char *const worker_perms[] = {"event.read", "event.report", "event.resolve",
                                           "event.verify", NULL};

static void principal(struct cg_principal *p, const char *login, const char *grid)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->login, sizeof(p->login), "%s", login);
    p->scope_kind = CG_SCOPE_GRID;
    snprintf(p->scope_ref, sizeof(p->scope_ref), "%s", grid);
    while (worker_perms[p->n_permissions]) {
        p->n_permissions++;
    }
    p->permissions = cg_calloc(p->n_permissions, sizeof(char *));
    for (size_t i = 0; i < p->n_permissions; i++) {
        p->permissions[i] = cg_strdup(worker_perms[i]);
    }
}

static int64_t report(struct fixture *f, const struct cg_principal *p, const char *kind)
{
    struct cg_event_input in = {.kind = kind,
                                .source = "patrol",
                                .category_kind = "event",
                                .category_code = "0102",
                                .title = "路边暴露垃圾",
                                .lon = IN_LON,
                                .lat = IN_LAT,
                                .note = "已清理"};
    struct cg_error err = CG_ERROR_INIT;
    json_t *out = NULL;
    int64_t id;

    assert_int_equal(cg_event_report(f->ev, p, &in, "test", &out, &err), 0);
    id = json_integer_value(json_object_get(out, "id"));
    json_decref(out);
    return id;
}

static int attach(struct fixture *f, const struct cg_principal *p, int64_t id, const char *stage,
                  const char *declared, const void *data, size_t len, bool *created,
                  struct cg_error *err)
{
    json_t *out = NULL;
    bool c = false;
    int rc = cg_media_attach(f->media, p, id, stage, declared, data, len, &out, &c, err);

    if (created) {
        *created = c;
    }
    json_decref(out);
    return rc;
}

/* Regular files under the media directory, recursively one level down. */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d))) {
        char sub[512];
        DIR *s;
        struct dirent *e2;

        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        s = opendir(sub);
        assert_non_null(s);
        while ((e2 = readdir(s))) {
            n += e2->d_name[0] != '.';
        }
        closedir(s);
    }
    closedir(d);
    return n;
}

static void test_attach_dedup_log_and_scope(void **state)
{
    struct fixture *f = *state;
    struct cg_principal worker, other;
    struct cg_error err = CG_ERROR_INIT;
    size_t n, jn, len = 0;
    void *png = make_image(64, 48, 'p', &n);
    void *jpg = make_image(32, 32, 'j', &jn);
    int64_t a, b, self;
    bool created = false;
    json_t *list = NULL, *ev = NULL, *log;
    char hash[CG_MEDIA_HASH_LEN + 1];
    void *data = NULL;
    const char *type = NULL;
    bool saw_photo = false;

    principal(&worker, "worker", "442000105001001");
    principal(&other, "other", "442000105207002");
    a = report(f, &worker, NULL);
    b = report(f, &worker, NULL);
    self = report(f, &worker, "self_resolved");
    cg_media_sha256_hex(png, n, hash);

    /* The first attachment stores it; the same again changes nothing; another event shares it. */
    assert_int_equal(attach(f, &worker, a, "report", "image/png", png, n, &created, &err), 0);
    assert_true(created);
    assert_int_equal(attach(f, &worker, a, "report", "image/png", png, n, &created, &err), 0);
    assert_false(created);
    assert_int_equal(attach(f, &worker, b, "report", "image/png", png, n, &created, &err), 0);
    assert_true(created);
    assert_int_equal(count_files(f->media_dir), 2); /* the photo and its thumbnail, once */
    assert_int_equal(attach(f, &worker, a, "handling", "image/jpeg", jpg, jn, &created, &err), 0);
    assert_int_equal(count_files(f->media_dir), 4);

    /* Listed oldest first, and written to the event's log. */
    assert_int_equal(cg_media_list(f->media, &worker, a, &list, &err), 0);
    assert_int_equal(json_array_size(json_object_get(list, "photos")), 2);
    {
        json_t *p0 = json_array_get(json_object_get(list, "photos"), 0);

        assert_string_equal(json_string_value(json_object_get(p0, "hash")), hash);
        assert_string_equal(json_string_value(json_object_get(p0, "type")), "image/png");
        assert_string_equal(json_string_value(json_object_get(p0, "stage")), "report");
        assert_int_equal(json_integer_value(json_object_get(p0, "width")), 64);
        assert_int_equal(json_integer_value(json_object_get(p0, "height")), 48);
        assert_int_equal(json_integer_value(json_object_get(p0, "size")), (json_int_t)n);
        assert_string_equal(json_string_value(json_object_get(p0, "by")), "worker");
        assert_int_equal(strlen(json_string_value(json_object_get(p0, "uploaded_at"))),
                         CG_TIME_ISO_LEN - 1);
        assert_int_equal(json_string_value(json_object_get(p0, "uploaded_at"))[10], 'T');
    }
    json_decref(list);
    assert_int_equal(cg_event_get(f->ev, &worker, a, &ev, &err), 0);
    log = json_object_get(ev, "log");
    for (size_t i = 0; i < json_array_size(log); i++) {
        const char *act = json_string_value(json_object_get(json_array_get(log, i), "action"));

        saw_photo = saw_photo || (act && !strcmp(act, "photo"));
    }
    assert_true(saw_photo);
    assert_string_equal(json_string_value(json_object_get(ev, "state")), "reported");
    json_decref(ev);

    /* Served to readers of the event, bytes intact; the thumbnail is a JPEG. */
    assert_int_equal(cg_media_fetch(f->media, &worker, hash, false, &data, &len, &type, &err), 0);
    assert_int_equal(len, n);
    assert_memory_equal(data, png, n);
    assert_string_equal(type, "image/png");
    free(data);
    assert_int_equal(cg_media_fetch(f->media, &worker, hash, true, &data, &len, &type, &err), 0);
    assert_string_equal(cg_media_sniff(data, len), "image/jpeg");
    free(data);
    /* Out of scope: as if it did not exist. */
    cg_error_clear(&err);
    assert_int_equal(cg_media_fetch(f->media, &other, hash, false, &data, &len, &type, &err),
                     CG_ENOTFOUND);
    cg_error_clear(&err);
    assert_int_equal(cg_media_list(f->media, &other, a, &list, &err), CG_ENOTFOUND);
    cg_error_clear(&err);
    assert_int_equal(attach(f, &other, a, "report", "image/png", png, n, NULL, &err), CG_ENOTFOUND);
    cg_error_clear(&err);
    assert_int_equal(cg_media_fetch(f->media, &worker, "00", false, &data, &len, &type, &err),
                     CG_ENOTFOUND);

    /* Bad input. */
    cg_error_clear(&err);
    assert_int_equal(attach(f, &worker, a, "report", "image/jpeg", png, n, NULL, &err),
                     CG_EMEDIATYPE);
    assert_non_null(strstr(err.message, "image/png but was sent as image/jpeg"));
    cg_error_clear(&err);
    assert_int_equal(attach(f, &worker, a, "report", "application/json", "{}", 2, NULL, &err),
                     CG_EMEDIATYPE);
    cg_error_clear(&err);
    assert_int_equal(attach(f, &worker, a, "report", "image/png", "hello", 5, NULL, &err),
                     CG_EINVAL);
    cg_error_clear(&err);
    assert_int_equal(attach(f, &worker, a, "report", "image/png", "", 0, NULL, &err), CG_EINVAL);
    cg_error_clear(&err);
    assert_int_equal(attach(f, &worker, a, "selfie", "image/png", png, n, NULL, &err), CG_EINVAL);
    assert_string_equal(err.field, "stage");
    cg_error_clear(&err);
    assert_int_equal(attach(f, &worker, a, "before", "image/png", png, n, NULL, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "self-resolved"));
    cg_error_clear(&err);
    assert_int_equal(attach(f, &worker, 999999, "report", "image/png", png, n, NULL, &err),
                     CG_ENOTFOUND);
    {
        char *big = cg_calloc(1, (1 << 20) + 1);

        memcpy(big, png, n);
        cg_error_clear(&err);
        assert_int_equal(
            attach(f, &worker, a, "report", "image/png", big, (1 << 20) + 1, NULL, &err),
            CG_ETOOBIG);
        free(big);
    }
    /* Before and after photos of a self-resolved event. */
    assert_int_equal(attach(f, &worker, self, "before", "image/png", png, n, &created, &err), 0);
    assert_int_equal(attach(f, &worker, self, "after", "image/jpeg", jpg, jn, &created, &err), 0);
    assert_int_equal(cg_media_list(f->media, &worker, self, &list, &err), 0);
    assert_int_equal(json_array_size(json_object_get(list, "photos")), 2);
    json_decref(list);
    assert_int_equal(count_files(f->media_dir), 4);

    gdFree(png);
    gdFree(jpg);
    cg_principal_release(&worker);
    cg_principal_release(&other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_probe_limits_and_bombs),
        cmocka_unit_test(test_decode_and_thumbnail),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_strip_jpeg),
        cmocka_unit_test(test_strip_png_and_webp),
        cmocka_unit_test_setup_teardown(test_attach_dedup_log_and_scope, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
