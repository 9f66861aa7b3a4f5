/*
 * convert.h - turns decoded pictures into display-oriented output planes
 * (scale, bit depth, range, matrix, rotation, crop/pad) for one sampler.
 */
#ifndef VIDX_MEDIA_CONVERT_H
#define VIDX_MEDIA_CONVERT_H

#include <libavutil/frame.h>

#include "core/internal.h"

typedef struct VidxConvert VidxConvert;

int vidx__convert_new(VidxConvert **out, const VidxVideoInfo *vi, const VidxSamplerSettings *s);
void vidx__convert_free(VidxConvert **c);

/*
 * Converts f; on success fills the geometry and plane fields of out, which
 * point into c's buffers until the next call. Returns 0, VIDX_EUSAGE (format
 * swscale cannot read) or -ENOMEM.
 */
int vidx__convert_frame(VidxConvert *c, const AVFrame *f, VidxFrame *out);

/* Is f's YCbCr full range (JPEG), by its colour range or its (deprecated J) format? */
int vidx__convert_full_range(const AVFrame *f);

#endif
