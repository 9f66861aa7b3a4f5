/*
 * image.c - the public image encoding entry points: format names, the pixel
 * layout each encoder takes, and dispatch through the encoder tables.
 */
#include "encode/encoder.h"

#include <strings.h>

static const VidxEncoder *const encoders[] = {
    [VIDX_IMAGE_JPEG] = &vidx__encoder_jpeg,
    [VIDX_IMAGE_WEBP] = &vidx__encoder_webp,
    [VIDX_IMAGE_PNG] = &vidx__encoder_png,
};

static const VidxEncoder *lookup(VidxImageFormat fmt)
{
    return (unsigned)fmt < VIDX_ARRAY_SIZE(encoders) ? encoders[fmt] : NULL;
}

VidxPixel vidx_image_pixel(VidxImageFormat fmt)
{
    const VidxEncoder *e = lookup(fmt);
    return e ? e->pixel : VIDX_PIXEL_YUV420_JPEG;
}

const char *vidx_image_extension(VidxImageFormat fmt)
{
    const VidxEncoder *e = lookup(fmt);
    return e ? e->name : "bin";
}

int vidx_image_format_parse(const char *name, VidxImageFormat *fmt)
{
    if (!name)
        return VIDX_EUSAGE;
    if (!strcasecmp(name, "jpg") || !strcasecmp(name, "jpeg"))
        *fmt = VIDX_IMAGE_JPEG;
    else if (!strcasecmp(name, "webp"))
        *fmt = VIDX_IMAGE_WEBP;
    else if (!strcasecmp(name, "png"))
        *fmt = VIDX_IMAGE_PNG;
    else
        return VIDX_EUSAGE;
    return 0;
}

int vidx_image_encode(const VidxFrame *frame, VidxImageFormat fmt, int quality, uint8_t **out,
                      size_t *size)
{
    const VidxEncoder *e = lookup(fmt);
    *out = NULL;
    *size = 0;
    if (!e || !frame || frame->width <= 0 || frame->height <= 0)
        return VIDX_EUSAGE;
    if (quality < 1 || quality > 100)
        return VIDX_EUSAGE;
    return e->encode(frame, quality, out, size);
}
