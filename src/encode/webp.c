/*
 * webp.c - lossy WebP through libwebp's simple encoding API, from RGB.
 */
#include "encode/encoder.h"

#include <errno.h>
#include <string.h>

#include <libavutil/mem.h>
#include <webp/encode.h>

static int webp_encode(const VidxFrame *f, int quality, uint8_t **out, size_t *size)
{
    uint8_t *buf = NULL;
    if (f->pixel != VIDX_PIXEL_RGB24)
        return VIDX_EUSAGE;
    size_t len =
        WebPEncodeRGB(f->data[0], f->width, f->height, f->linesize[0], (float)quality, &buf);
    if (!len)
        return VIDX_EENCODE;
    if (!(*out = av_malloc(len))) {
        WebPFree(buf);
        return AVERROR(ENOMEM);
    }
    memcpy(*out, buf, len);
    *size = len;
    WebPFree(buf);
    return 0;
}

const VidxEncoder vidx__encoder_webp = {"webp", VIDX_PIXEL_RGB24, webp_encode};
