/*
 * jpeg.c - JPEG through libjpeg-turbo's TurboJPEG API, straight from 4:2:0
 * full-range YCbCr planes: the colour conversion JPEG would do anyway is
 * skipped, so no RGB round trip.
 */
#include "encode/encoder.h"

#include <errno.h>
#include <string.h>

#include <libavutil/mem.h>
#include <turbojpeg.h>

static int jpeg_encode(const VidxFrame *f, int quality, uint8_t **out, size_t *size)
{
    tjhandle tj = tjInitCompress();
    unsigned char *buf = NULL;
    unsigned long len = 0;
    int ret = VIDX_EENCODE;

    if (!tj)
        return AVERROR(ENOMEM);
    if (f->pixel == VIDX_PIXEL_YUV420_JPEG) {
        const unsigned char *planes[3] = {f->data[0], f->data[1], f->data[2]};
        int strides[3] = {f->linesize[0], f->linesize[1], f->linesize[2]};
        if (tjCompressFromYUVPlanes(tj, planes, f->width, strides, f->height, TJSAMP_420, &buf,
                                    &len, quality, 0) < 0)
            goto done;
    } else if (f->pixel == VIDX_PIXEL_RGB24) {
        if (tjCompress2(tj, f->data[0], f->width, f->linesize[0], f->height, TJPF_RGB, &buf, &len,
                        TJSAMP_420, quality, 0) < 0)
            goto done;
    } else {
        ret = VIDX_EUSAGE;
        goto done;
    }
    if (!(*out = av_malloc(len))) {
        ret = AVERROR(ENOMEM);
        goto done;
    }
    memcpy(*out, buf, len);
    *size = len;
    ret = 0;
done:
    tjFree(buf);
    tjDestroy(tj);
    return ret;
}

const VidxEncoder vidx__encoder_jpeg = {"jpg", VIDX_PIXEL_YUV420_JPEG, jpeg_encode};
