/*
 * hwdec.c - where one sampler decodes: the GPU (NVDEC through libavcodec's
 * CUDA hwaccel, gpu/gpu.h) or the CPU, and why, decided once per video from
 * the settings' hwaccel and kept as the sampler's device string. The decoder
 * side (hw_device_ctx, get_format) is set up here too; a stream libavcodec
 * refuses when the decoder starts falls back to the software decoder, and
 * that is recorded as well (see gpu.h for the design).
 */
#include "media/sampler_internal.h"

#include <stdio.h>
#include <string.h>

#include "gpu/gpu.h"

int vidx_hwaccel_parse(const char *name)
{
    static const char *const names[] = {"auto", "cuda", "none"};
    for (int i = 0; name && i < (int)VIDX_ARRAY_SIZE(names); i++)
        if (!strcmp(name, names[i]))
            return i;
    return vidx__detail(VIDX_EUSAGE, "--hwaccel takes auto, cuda or none, not '%s'",
                        name ? name : "");
}

/* Why this sampler cannot use the GPU at all, whatever the machine has; NULL: it can. */
static const char *settings_reason(const VidxSampler *s)
{
    if (s->set.hwaccel == VIDX_HWACCEL_NONE)
        return "--hwaccel none";
    if (s->set.pixel == VIDX_PIXEL_NATIVE)
        return "native pixels are delivered from the CPU decoder";
    if (s->watch)
        return "--scenes reads every picture on the CPU";
    return NULL;
}

int vidx__hwdec_choose(VidxSampler *s)
{
    char why[192];
    const char *r = settings_reason(s);
    s->hw = 0;
    if (r)
        snprintf(why, sizeof(why), "%s", r);
    else if (!vidx__gpu_built())
        snprintf(why, sizeof(why), "vidx was built without CUDA");
    else if (vidx__gpu_stream_supported(s->st->codecpar, why, sizeof(why)) &&
             vidx__gpu_ready(why, sizeof(why)))
        s->hw = 1;
    if (s->hw) {
        snprintf(s->device, sizeof(s->device), "cuda");
        return 0;
    }
    snprintf(s->device, sizeof(s->device), "cpu (%s)", why);
    if (s->set.hwaccel == VIDX_HWACCEL_CUDA)
        return vidx__detail(VIDX_ENOGPU, "%s", why);
    return 0;
}

/* Picks the CUDA format when offered; when not (NVDEC refused the stream), the software one. */
static enum AVPixelFormat get_format(AVCodecContext *dec, const enum AVPixelFormat *fmts)
{
    VidxSampler *s = dec->opaque;
    for (const enum AVPixelFormat *p = fmts; *p != AV_PIX_FMT_NONE; p++)
        if (*p == AV_PIX_FMT_CUDA)
            return *p;
    if (s->hw) {
        s->hw = 0;
        s->hw_lost = 1;
        snprintf(s->device, sizeof(s->device),
                 "cpu (NVDEC refused the stream: libavcodec's CUDA decoder did not start, "
                 "e.g. an unsupported profile or no decode session or GPU memory left)");
    }
    return avcodec_default_get_format(dec, fmts);
}

int vidx__hwdec_setup(VidxSampler *s, AVCodecContext *dec)
{
    if (!s->hw)
        return 0;
    if (!(dec->hw_device_ctx = vidx__gpu_device_ref()))
        return AVERROR(ENOMEM);
    dec->opaque = s;
    dec->get_format = get_format;
    dec->thread_count = 1;     /* NVDEC does the work */
    dec->extra_hw_frames = 16; /* pictures queued for delivery hold decoder surfaces */
    return 0;
}

int vidx__hwdec_check(const VidxSampler *s)
{
    if (s->hw_lost && s->set.hwaccel == VIDX_HWACCEL_CUDA)
        return vidx__detail(VIDX_ENOGPU, "%s", s->device + 5);
    return 0;
}

const char *vidx_sampler_device(const VidxSampler *s)
{
    return s ? s->device : "";
}
