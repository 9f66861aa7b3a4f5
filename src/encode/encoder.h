/*
 * encoder.h - the image encoder interface. One const table per format, one
 * file per implementation; image.c picks by VidxImageFormat.
 */
#ifndef VIDX_ENCODE_ENCODER_H
#define VIDX_ENCODE_ENCODER_H

#include "core/internal.h"

typedef struct VidxEncoder {
    const char *name; /* canonical extension */
    VidxPixel pixel;  /* the layout it takes directly */
    /* On success *out (av_malloc'd, *size bytes) belongs to the caller. */
    int (*encode)(const VidxFrame *f, int quality, uint8_t **out, size_t *size);
} VidxEncoder;

extern const VidxEncoder vidx__encoder_jpeg;
extern const VidxEncoder vidx__encoder_webp;
extern const VidxEncoder vidx__encoder_png;

#endif
