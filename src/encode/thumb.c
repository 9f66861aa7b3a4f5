/*
 * thumb.c - JPEG thumbnails (encode/thumb.h): decoded at the largest
 * TurboJPEG scaling factor that still covers the width asked for (the IDCT
 * does the scaling, so a 1080p frame costs an 8x8-to-1x1 decode), then coded
 * again at quality 80.
 */
#include "encode/thumb.h"
#include "core/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#define THUMB_MAX_SIDE 16384

int vidx__jpeg_thumbnail(const uint8_t *in, size_t size, int max_width, uint8_t **out,
                         size_t *out_size)
{
    int w, h, sub, cs, n_factors, ret = VIDX_EFORMAT;
    tjhandle d = tjInitDecompress(), c = NULL;
    unsigned char *pixels = NULL, *jpeg = NULL;
    unsigned long jpeg_size = 0;
    *out = NULL;
    *out_size = 0;
    if (!d || size > 0x7fffffff ||
        tjDecompressHeader3(d, in, (unsigned long)size, &w, &h, &sub, &cs) < 0 || w <= 0 || h <= 0)
        goto done;
    if (w > THUMB_MAX_SIDE || h > THUMB_MAX_SIDE) {
        ret = VIDX_ELIMIT;
        goto done;
    }
    if (w <= max_width) {
        if (!(*out = malloc(size)))
            ret = -ENOMEM;
        else
            memcpy(*out, in, size), *out_size = size, ret = 0;
        goto done;
    }
    tjscalingfactor *f = tjGetScalingFactors(&n_factors), best = {1, 1};
    for (int i = 0; f && i < n_factors; i++) /* the smallest factor still >= max_width wide */
        if (TJSCALED(w, f[i]) >= max_width && f[i].num * best.denom < best.num * f[i].denom)
            best = f[i];
    int sw = TJSCALED(w, best), sh = TJSCALED(h, best);
    if (!(pixels = malloc((size_t)sw * (size_t)sh * 3))) {
        ret = -ENOMEM;
        goto done;
    }
    if (tjDecompress2(d, in, (unsigned long)size, pixels, sw, 0, sh, TJPF_RGB, 0) < 0)
        goto done;
    if (!(c = tjInitCompress()) ||
        tjCompress2(c, pixels, sw, 0, sh, TJPF_RGB, &jpeg, &jpeg_size, TJSAMP_420, 80, 0) < 0) {
        ret = VIDX_EENCODE;
        goto done;
    }
    if (!(*out = malloc(jpeg_size))) {
        ret = -ENOMEM;
        goto done;
    }
    memcpy(*out, jpeg, jpeg_size);
    *out_size = jpeg_size;
    ret = 0;
done:
    tjFree(jpeg);
    free(pixels);
    if (c)
        tjDestroy(c);
    if (d)
        tjDestroy(d);
    return ret;
}
