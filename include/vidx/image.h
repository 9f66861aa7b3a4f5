/*
 * vidx/image.h - image encoders (JPEG, WebP, PNG) for sampled frames.
 *
 * Part of the public API; include <vidx/vidx.h>, which includes every vidx header.
 */
#ifndef VIDX_IMAGE_H
#define VIDX_IMAGE_H

#include "sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum VidxImageFormat {
    VIDX_IMAGE_JPEG = 0,
    VIDX_IMAGE_WEBP,
    VIDX_IMAGE_PNG,
} VidxImageFormat;

/** The pixel layout the encoder for fmt takes directly (set it in VidxSamplerSettings). */
VIDX_API VidxPixel vidx_image_pixel(VidxImageFormat fmt);

/** File extension for fmt, without the dot ("jpg", "webp", "png"). */
VIDX_API const char *vidx_image_extension(VidxImageFormat fmt);

/** Parses "jpg", "jpeg", "webp" or "png". Returns 0 or VIDX_EUSAGE. */
VIDX_API int vidx_image_format_parse(const char *name, VidxImageFormat *fmt);

/**
 * Encodes one frame. quality: 1-100 (JPEG, WebP; ignored for PNG).
 * On success *out (of *size bytes) belongs to the caller (vidx_free);
 * on error nothing is allocated. Returns 0, VIDX_EUSAGE (frame pixel layout not
 * accepted by the format), VIDX_EENCODE or -ENOMEM.
 */
VIDX_API int vidx_image_encode(const VidxFrame *frame, VidxImageFormat fmt, int quality,
                               uint8_t **out, size_t *size);

#ifdef __cplusplus
}
#endif
#endif /* VIDX_IMAGE_H */
