/*
 * fuzz_media.c: the photo path of POST /api/v1/events/:id/photos on any bytes
 * (src/domain/media/media.h): the sniff by magic bytes, the header probe that
 * keeps decompression bombs from the decoder, then libgd's full decode and the
 * JPEG thumbnail. What the probe accepts must agree with the sniff, and a
 * thumbnail must be a JPEG within its bounds. Images over 4 megapixels are
 * probed but not decoded here, so that one input cannot take seconds (the
 * server decodes up to CG_MEDIA_MAX_PIXELS).
 */
#include "base/cg.h"
#include "domain/media/media.h"

#include <stdio.h>

#include "fuzz.h"

#define FUZZ_MAX_DECODE (4 * 1000 * 1000) /* pixels */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cg_error err = CG_ERROR_INIT;
    const char *sniffed = cg_media_sniff(data, size);
    const char *type = NULL;
    int w = 0, h = 0, tw = 0, th = 0;
    void *thumb = NULL;
    size_t thumb_len = 0;
    int rc = cg_media_probe(data, size, &type, &w, &h, &err);

    FUZZ_ASSERT(rc <= 0);
    if (rc) {
        FUZZ_ASSERT(err.message[0]); /* the 422 says what is wrong */
        return 0;
    }
    FUZZ_ASSERT(type && sniffed && !strcmp(type, sniffed));
    FUZZ_ASSERT(w >= 1 && h >= 1 && w <= CG_MEDIA_MAX_SIDE && h <= CG_MEDIA_MAX_SIDE);
    FUZZ_ASSERT((int64_t)w * h <= CG_MEDIA_MAX_PIXELS);
    if ((int64_t)w * h > FUZZ_MAX_DECODE) {
        return 0;
    }
    rc = cg_media_thumbnail(data, size, CG_MEDIA_THUMB_SIDE, &thumb, &thumb_len, &tw, &th, &err);
    FUZZ_ASSERT(rc <= 0);
    if (rc == 0) {
        FUZZ_ASSERT(thumb && thumb_len > 0);
        FUZZ_ASSERT(cg_media_sniff(thumb, thumb_len) &&
                    !strcmp(cg_media_sniff(thumb, thumb_len), "image/jpeg"));
        FUZZ_ASSERT(tw >= 1 && th >= 1 && tw <= CG_MEDIA_THUMB_SIDE && th <= CG_MEDIA_THUMB_SIDE);
        FUZZ_ASSERT(tw <= w && th <= h); /* never enlarged */
    } else {
        FUZZ_ASSERT(!thumb && err.message[0]);
    }
    free(thumb);
    return 0;
}
