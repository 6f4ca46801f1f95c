/*
 * fuzz_media.c: the photo path of POST /api/v1/events/:id/photos on any bytes
 * (src/domain/media/media.h): the sniff by magic bytes, the header probe that
 * keeps decompression bombs from the decoder, the metadata stripper (on every
 * input), then, as cg_media_attach() does, libgd's full decode and the JPEG
 * thumbnail of the stripped bytes. What the probe accepts must agree with the
 * sniff; a stripped image must probe the same, strip to itself again and be
 * at most 36 bytes longer (the Exif segment of its orientation); a thumbnail
 * must be a JPEG within its bounds, its sides swapped for orientations 5 to 8. Images over 4 megapixels are
 * probed but not decoded here, so that one input cannot take seconds (the
 * server decodes up to CG_MEDIA_MAX_PIXELS).
 */
#include "base/cg.h"
#include "domain/media/media.h"

#include <stdio.h>

#include "fuzz.h"

#define FUZZ_MAX_DECODE (4 * 1000 * 1000) /* pixels */

/* The stripped copy of data (NULL when refused), its length and the orientation. */
static void *strip(const void *data, size_t size, size_t *out_len, int *orientation)
{
    struct cg_error err = CG_ERROR_INIT;
    void *out = NULL;
    int rc = cg_media_strip(data, size, &out, out_len, orientation, &err);

    FUZZ_ASSERT(rc <= 0 && *orientation >= 1 && *orientation <= 8);
    FUZZ_ASSERT(rc ? !out && err.message[0] : out && *out_len <= size + 36);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cg_error err = CG_ERROR_INIT;
    const char *sniffed = cg_media_sniff(data, size);
    const char *type = NULL;
    int w = 0, h = 0, tw = 0, th = 0, cw = 0, ch = 0, o = 1, o2 = 1;
    void *thumb = NULL, *clean, *again;
    size_t thumb_len = 0, clean_len = 0, again_len = 0;
    int rc = cg_media_probe(data, size, &type, &w, &h, &err);

    FUZZ_ASSERT(rc <= 0);
    clean = strip(data, size, &clean_len, &o);
    if (rc) {
        FUZZ_ASSERT(err.message[0]); /* the 422 says what is wrong */
        free(clean);
        return 0;
    }
    FUZZ_ASSERT(type && sniffed && !strcmp(type, sniffed));
    FUZZ_ASSERT(w >= 1 && h >= 1 && w <= CG_MEDIA_MAX_SIDE && h <= CG_MEDIA_MAX_SIDE);
    FUZZ_ASSERT((int64_t)w * h <= CG_MEDIA_MAX_PIXELS);
    if (!clean) {
        return 0; /* refused by cg_media_attach() */
    }
    FUZZ_ASSERT(cg_media_probe(clean, clean_len, &type, &cw, &ch, &err) == 0);
    FUZZ_ASSERT(cw == w && ch == h && !strcmp(type, sniffed));
    again = strip(clean, clean_len, &again_len, &o2);
    FUZZ_ASSERT(again && o2 == o && again_len == clean_len && !memcmp(again, clean, clean_len));
    free(again);
    if ((int64_t)w * h > FUZZ_MAX_DECODE) {
        free(clean);
        return 0;
    }
    rc = cg_media_thumbnail(clean, clean_len, CG_MEDIA_THUMB_SIDE, &thumb, &thumb_len, &tw, &th,
                            &err);
    free(clean);
    FUZZ_ASSERT(rc <= 0);
    if (rc == 0) {
        FUZZ_ASSERT(thumb && thumb_len > 0);
        FUZZ_ASSERT(cg_media_sniff(thumb, thumb_len) &&
                    !strcmp(cg_media_sniff(thumb, thumb_len), "image/jpeg"));
        FUZZ_ASSERT(tw >= 1 && th >= 1 && tw <= CG_MEDIA_THUMB_SIDE && th <= CG_MEDIA_THUMB_SIDE);
        /* Never enlarged; turned upright by the EXIF orientation. */
        FUZZ_ASSERT(o >= 5 ? tw <= h && th <= w : tw <= w && th <= h);
    } else {
        FUZZ_ASSERT(!thumb && err.message[0]);
    }
    free(thumb);
    return 0;
}
