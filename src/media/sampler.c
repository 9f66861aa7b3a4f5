/*
 * sampler.c - the public sampler API: vidx_sampler_open/open2/next/stats/
 * close and the settings check. It owns a VidxSampler's lifetime and turns
 * each decoded picture into a VidxFrame (converted planes, or the decoder's
 * own). What to deliver is computed in targets.c; reading and decoding (one
 * sequential read, exact sampling) is drive.c's; the shared state is in
 * sampler_internal.h.
 */
#include "media/sampler_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/md5.h>
#include <libavutil/pixdesc.h>

#include "media/settings.h"

/* The largest longest side FFmpeg's image limit allows for a square picture. */
#define VIDX_MAX_SIDE 16255

/* FFmpeg's image size limit (av_image_check_size): (W+128) x (H+128) < INT_MAX/8. */
static int image_too_big(int w, int h)
{
    return ((int64_t)w + 128) * ((int64_t)h + 128) >= INT_MAX / 8;
}

static int check_size(const VidxSamplerSettings *s)
{
    if (s->width < 0 || s->height < 0 || s->max_side < 0)
        return VIDX_EUSAGE;
    if (s->width > 0 && s->height > 0 && image_too_big(s->width, s->height))
        return vidx__detail(VIDX_EUSAGE,
                            "--size %dx%d is beyond FFmpeg's image limit: (W+128) x (H+128) must "
                            "stay below %d",
                            s->width, s->height, INT_MAX / 8);
    if (!(s->width > 0 && s->height > 0) && s->max_side > 0 &&
        image_too_big(s->max_side, s->max_side)) /* a square video would need it square */
        return vidx__detail(
            VIDX_EUSAGE, "--size %d is beyond FFmpeg's image limit: at most %d for a longest side",
            s->max_side, VIDX_MAX_SIDE);
    return 0;
}

int vidx_sampler_check_settings(const VidxSamplerSettings *caller)
{
    VidxSamplerSettings set;
    const VidxSamplerSettings *s = &set; /* the caller's, at this library's size */
    int ret = caller ? vidx__abi_import(&vidx__sampler_layout, &set, caller) : VIDX_EUSAGE;
    if (ret < 0 || (ret = check_size(s)) < 0)
        return ret;
    if (s->hwaccel < VIDX_HWACCEL_AUTO || s->hwaccel > VIDX_HWACCEL_NONE)
        return vidx__detail(VIDX_EUSAGE, "hwaccel %d is not a VidxHwaccel", s->hwaccel);
    switch (s->mode) {
    case VIDX_MODE_COUNT:
        return s->count >= 1 ? 0 : VIDX_EUSAGE;
    case VIDX_MODE_FPS:
        return s->fps > 0 && isfinite(s->fps) ? 0 : VIDX_EUSAGE;
    case VIDX_MODE_KEYFRAMES:
        return 0;
    case VIDX_MODE_TIMES:
        for (size_t i = 0; i < s->n_times; i++)
            if (!isfinite(s->times[i]) || s->times[i] < 0)
                return VIDX_ERANGE;
        return s->n_times > 0 ? 0 : VIDX_EUSAGE;
    case VIDX_MODE_INDICES:
        return s->n_indices > 0 ? 0 : VIDX_EUSAGE;
    }
    return VIDX_EUSAGE;
}

int vidx__sampler_open_watched(VidxSampler **out, VidxSource *src,
                               const VidxSamplerSettings *caller, const VidxAudioSettings *audio,
                               const VidxWatch *watch)
{
    VidxSampler *s;
    VidxSamplerSettings imported;
    const VidxSamplerSettings *set = &imported; /* the caller's, at this library's size */
    int ret;
    *out = NULL;
    vidx__detail_clear();
    if (!src || !caller)
        return VIDX_EUSAGE;
    if ((ret = vidx__abi_import(&vidx__sampler_layout, &imported, caller)) < 0 ||
        (ret = vidx_sampler_check_settings(set)) < 0)
        return ret;
    if (audio && audio->enabled && !audio->callback)
        return VIDX_EUSAGE;
    if (!(s = av_mallocz(sizeof(*s))))
        return AVERROR(ENOMEM);
    s->src = src;
    s->set = *set;
    s->st = src->video;
    if (watch && (ret = vidx__watcher_new(&s->watch, watch, s->st)) < 0)
        goto fail;
    vidx__drive_choose_path(s);
    s->video_end = INT64_MIN;
    ret = AVERROR(ENOMEM);
    if (!(s->pkt = av_packet_alloc()) || !(s->frame = av_frame_alloc()) ||
        !(s->prev = av_frame_alloc()) || !(s->out_frame = av_frame_alloc()))
        goto fail;
    if ((ret = vidx__source_rewind(src)) < 0)
        goto fail;
    if ((ret = vidx__hwdec_choose(s)) < 0 || (ret = vidx__drive_open_decoder(s)) < 0)
        goto fail;
    if ((ret = vidx__targets_plan(s)) < 0)
        goto fail;
    s->st = src->video; /* a prescan reopens the input */
    if ((ret = vidx__drive_open_pool(s)) < 0)
        goto fail;
    if (set->pixel != VIDX_PIXEL_NATIVE && (ret = vidx__convert_new(&s->conv, &src->info, set)) < 0)
        goto fail;
    if (audio && audio->enabled && src->audio_index >= 0) {
        ret = vidx__audio_open(&s->audio, src->fmt->streams[src->audio_index],
                               vidx__audio_origin(src->fmt), vidx__audio_discont(src->fmt), audio);
        if (ret < 0)
            goto fail;
    }
    for (unsigned i = 0; i < src->fmt->nb_streams; i++) /* let the demuxer skip the rest */
        src->fmt->streams[i]->discard =
            ((int)i == s->st->index || (s->audio && (int)i == src->audio_index)) ? AVDISCARD_DEFAULT
                                                                                 : AVDISCARD_ALL;
    *out = s;
    return 0;
fail:
    vidx_sampler_close(&s);
    return ret;
}

int vidx_sampler_open2(VidxSampler **out, VidxSource *src, const VidxSamplerSettings *set,
                       const VidxAudioSettings *audio)
{
    return vidx__sampler_open_watched(out, src, set, audio, NULL);
}

int vidx_sampler_open(VidxSampler **out, VidxSource *src, const VidxSamplerSettings *set)
{
    return vidx_sampler_open2(out, src, set, NULL);
}

static int deliver(VidxSampler *s, const Emit *e, const VidxFrame **frame)
{
    VidxFrame *o = &s->out;
    const AVFrame *f = e->frame;
    int ret;
    memset(o, 0, sizeof(*o));
    o->index = e->index;
    o->target = e->target;
    o->pts = vidx__drive_frame_pts(s, f, e->index);
    o->time = o->pts * av_q2d(s->st->time_base);
    o->keyframe = f->key_frame;
    o->approx = e->approx;
    o->stream = s->st->index;
    o->native_format = av_get_pix_fmt_name(f->format);
    o->picture = (const struct VidxPicture *)s->out_frame;
    if (s->conv) {
        if ((ret = vidx__convert_frame(s->conv, f, o)) < 0)
            return ret;
    } else {
        o->width = f->width;
        o->height = f->height;
        o->pixel = VIDX_PIXEL_NATIVE;
        for (int p = 0; p < 4 && f->data[p]; p++) {
            o->data[p] = f->data[p];
            o->linesize[p] = f->linesize[p];
            o->nplanes = p + 1;
        }
    }
    s->stats.frames_output++;
    *frame = o;
    return 1;
}

/* No more pictures: 0, or why nothing (or not everything asked) came. */
static int end_status(VidxSampler *s)
{
    if (vidx__targets_out_of_range(s))
        return VIDX_ERANGE;
    if (s->stats.decode_errors || s->stats.targets_missed)
        s->stats.partial = 1;
    if (s->stats.frames_output > 0 || !s->stats.partial)
        return 0;
    if (s->read_error) /* nothing delivered because the input broke off */
        return s->src->network ? VIDX_ENETWORK : VIDX_ETRUNCATED;
    return VIDX_EDECODE;
}

int vidx_sampler_next(VidxSampler *s, const VidxFrame **frame)
{
    Emit e;
    *frame = NULL;
    if (!s)
        return VIDX_EUSAGE;
    if (s->fatal < 0)
        return s->fatal;
    av_frame_unref(s->out_frame);
    int ret = vidx__drive_next(s, s->out_frame, &e);
    if (ret >= 0 && vidx__hwdec_check(s) < 0)
        ret = VIDX_ENOGPU;
    if (ret < 0)
        return s->fatal = ret;
    if (ret == 0)
        return end_status(s);
    return deliver(s, &e, frame);
}

void vidx_sampler_stats(const VidxSampler *s, VidxSamplerStats *stats)
{
    *stats = s->stats;
    if (s->audio && vidx__audio_errors(s->audio))
        stats->partial = 1;
}

void vidx__sampler_cut(const VidxSampler *s, VidxSamplerCut *cut)
{
    *cut = s->cut;
}

void vidx_sampler_close(VidxSampler **ps)
{
    VidxSampler *s = ps ? *ps : NULL;
    if (!s)
        return;
    vidx__drive_close(s);
    vidx__planner_free(&s->plan);
    vidx__convert_free(&s->conv);
    vidx__audio_close(&s->audio);
    vidx__watcher_free(&s->watch);
    av_packet_free(&s->pkt);
    av_frame_free(&s->frame);
    av_frame_free(&s->prev);
    av_frame_free(&s->out_frame);
    av_free(s);
    *ps = NULL;
}

static int frame_md5(const AVFrame *f, char out[33]);

/* A GPU picture's md5 is that of its planes downloaded (NV12/P010, as NVDEC decodes). */
int vidx_frame_md5(const VidxFrame *frame, char out[33])
{
    const AVFrame *f = frame ? (const AVFrame *)frame->picture : NULL;
    if (!f || f->format != AV_PIX_FMT_CUDA)
        return f ? frame_md5(f, out) : VIDX_EUSAGE;
    AVFrame *sw = av_frame_alloc();
    int ret = sw ? av_hwframe_transfer_data(sw, f, 0) : AVERROR(ENOMEM);
    if (ret >= 0)
        ret = frame_md5(sw, out);
    av_frame_free(&sw);
    return ret;
}

static int frame_md5(const AVFrame *f, char out[33])
{
    const AVPixFmtDescriptor *d = f ? av_pix_fmt_desc_get(f->format) : NULL;
    uint8_t digest[16];
    int ls[4];
    if (!d || av_image_fill_linesizes(ls, f->format, f->width) < 0)
        return VIDX_EUSAGE;
    struct AVMD5 *md5 = av_md5_alloc();
    if (!md5)
        return AVERROR(ENOMEM);
    av_md5_init(md5);
    for (int p = 0; p < 4 && f->data[p] && ls[p]; p++) {
        int h = (p == 1 || p == 2) ? AV_CEIL_RSHIFT(f->height, d->log2_chroma_h) : f->height;
        for (int y = 0; y < h; y++)
            av_md5_update(md5, f->data[p] + (ptrdiff_t)y * f->linesize[p], ls[p]);
    }
    av_md5_final(md5, digest);
    av_free(md5);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    return 0;
}
