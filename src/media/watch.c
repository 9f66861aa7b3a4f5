/*
 * watch.c - the sampler's side of the watch hook (see watch.h): scales each
 * decoded picture to a small full-range grey thumbnail with swscale (area
 * averaging, so that noise and fine texture do not alias) and hands it to the
 * caller's function with its index and time.
 */
#include "media/watch.h"

#include <errno.h>
#include <stdlib.h>

#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "media/convert.h"

#define DEFAULT_SIDE 64

struct VidxWatcher {
    VidxWatch w;
    AVRational tb;
    double duration; /* one frame at the stream's rate, seconds */
    struct SwsContext *sws;
    int tw, th;     /* thumbnail size, from the first picture */
    uint8_t *thumb; /* tw x th */
};

int vidx__watcher_new(VidxWatcher **out, const VidxWatch *w, const AVStream *st)
{
    VidxWatcher *v = calloc(1, sizeof(*v));
    *out = NULL;
    if (!v)
        return AVERROR(ENOMEM);
    v->w = *w;
    if (v->w.max_side <= 0)
        v->w.max_side = DEFAULT_SIDE;
    v->tb = st->time_base;
    AVRational rate = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    v->duration = rate.num > 0 && rate.den > 0 ? av_q2d(av_inv_q(rate)) : 0;
    *out = v;
    return 0;
}

/* The thumbnail's size for a w x h picture: the longer side max_side, aspect kept. */
static int thumb_size(VidxWatcher *v, int w, int h)
{
    int side = VIDX_MIN(v->w.max_side, VIDX_MAX(w, h));
    v->tw = w >= h ? side : VIDX_MAX(1, (int)((int64_t)side * w / h));
    v->th = w >= h ? VIDX_MAX(1, (int)((int64_t)side * h / w)) : side;
    v->thumb = malloc((size_t)v->tw * (size_t)v->th);
    return v->thumb ? 0 : AVERROR(ENOMEM);
}

static int scale(VidxWatcher *v, const AVFrame *f)
{
    int ret;
    if (!v->thumb && (ret = thumb_size(v, f->width, f->height)) < 0)
        return ret;
    v->sws = sws_getCachedContext(v->sws, f->width, f->height, f->format, v->tw, v->th,
                                  AV_PIX_FMT_GRAY8, SWS_AREA, NULL, NULL, NULL);
    if (!v->sws)
        return VIDX_EUSAGE;
    const int *tab = sws_getCoefficients(SWS_CS_DEFAULT);
    sws_setColorspaceDetails(v->sws, tab, vidx__convert_full_range(f), tab, 1, 0, 1 << 16, 1 << 16);
    uint8_t *dst[4] = {v->thumb};
    int ls[4] = {v->tw};
    return sws_scale(v->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, ls) >
                   0
               ? 0
               : VIDX_EUSAGE;
}

int vidx__watcher_picture(VidxWatcher *v, const AVFrame *f, int64_t idx, int64_t pts)
{
    int ret = scale(v, f);
    if (ret < 0)
        return ret;
    VidxWatchPicture p = {v->thumb, v->tw, v->th, v->tw, idx, pts, 0, v->duration};
    p.time = pts == AV_NOPTS_VALUE ? idx * v->duration : pts * av_q2d(v->tb);
    return v->w.fn(v->w.opaque, &p);
}

void vidx__watcher_free(VidxWatcher **pv)
{
    VidxWatcher *v = *pv;
    if (!v)
        return;
    sws_freeContext(v->sws);
    free(v->thumb);
    free(v);
    *pv = NULL;
}
