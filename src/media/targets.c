/*
 * targets.c - what a sampler delivers: the targets computed from the request,
 * handed to the planner, and the accounting at the end of the file for
 * durations that lied.
 *
 * Count mode takes the middles of count equal slices of the duration, fps
 * mode one target every 1/fps from the start, times mode the given times from
 * the start (sorted; refused past a known duration), indices mode frame
 * numbers (sorted; negative ones count from the end), keyframes mode no
 * targets (every keyframe). Times are absolute seconds turned into stream
 * ticks. The duration is the one the file declares; when it declares none, or
 * an index counts from the end, a prescan reads every video packet once
 * without decoding to learn the end time and the picture count, then the
 * input is rewound. At the end of the file, a video that ends well before its
 * declared duration is partial, and targets past its real end are missed
 * rather than all answered by the last frame.
 */
#include "media/sampler_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/shown.h"

static int64_t seconds_to_ticks(double t, AVRational tb)
{
    /* The small bias keeps a target that sits exactly on a frame on that frame. */
    return (int64_t)floor(t * tb.den / tb.num + 1e-4);
}

/* Reads every video packet once (no decoding) to learn count and end time. */
static int prescan(VidxSampler *s, int64_t *count, double *end)
{
    AVFormatContext *fmt = s->src->fmt;
    int64_t n = 0, last = INT64_MIN;
    int ret;
    s->src->used = 1;
    while ((ret = av_read_frame(fmt, s->pkt)) >= 0 || ret == AVERROR(EAGAIN)) {
        vidx__source_progress(s->src);
        if (ret >= 0 && s->pkt->stream_index == s->st->index) {
            int64_t ts = s->pkt->pts != AV_NOPTS_VALUE ? s->pkt->pts : s->pkt->dts;
            if (ts != AV_NOPTS_VALUE && ts + s->pkt->duration > last)
                last = ts + s->pkt->duration;
            n += !(s->pkt->flags & AV_PKT_FLAG_DISCARD) &&
                 vidx__packet_shown(s->st->codecpar->codec_id, s->pkt->data, s->pkt->size);
        }
        av_packet_unref(s->pkt);
    }
    *count = n;
    if (last == INT64_MIN && s->seq_tick > 0) /* untimed: n pictures of one tick each */
        last = n * s->seq_tick;
    *end = last == INT64_MIN ? -1.0 : last * av_q2d(s->st->time_base);
    if ((ret = vidx__source_rewind(s->src)) < 0)
        return ret;
    s->st = s->src->video;
    return n > 0 ? 0 : VIDX_EDECODE;
}

static int duration_for_targets(VidxSampler *s, double *d)
{
    const VidxVideoInfo *vi = &s->src->info;
    if (vi->duration > 0) {
        *d = vi->duration;
        return 0;
    }
    int64_t n;
    double end;
    int ret = prescan(s, &n, &end);
    if (ret < 0)
        return ret;
    *d = end - vi->start;
    return *d > 0 ? 0 : VIDX_EDECODE;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Fills targets' t (absolute seconds) for the time-based modes. */
static int time_targets(VidxSampler *s, PlanTarget **out, int64_t *n)
{
    const VidxSamplerSettings *set = &s->set;
    double start = s->src->info.start, d = 0;
    int64_t count = 0;
    int ret = 0;

    if (set->mode == VIDX_MODE_COUNT || set->mode == VIDX_MODE_FPS) {
        if ((ret = duration_for_targets(s, &d)) < 0)
            return ret;
    }
    if (set->mode == VIDX_MODE_COUNT)
        count = set->count;
    else if (set->mode == VIDX_MODE_FPS)
        count = (int64_t)ceil(d * set->fps - 1e-9);
    else
        count = (int64_t)set->n_times;
    if (count > set->max_frames)
        return vidx__detail(VIDX_ELIMIT, "%lld frames exceed --max-frames (%lld)", (long long)count,
                            (long long)set->max_frames);
    PlanTarget *t = av_calloc(VIDX_MAX(count, 1), sizeof(*t));
    if (!t)
        return AVERROR(ENOMEM);
    for (int64_t i = 0; i < count; i++) {
        if (set->mode == VIDX_MODE_COUNT)
            t[i].t = start + (i + 0.5) * d / count;
        else if (set->mode == VIDX_MODE_FPS)
            t[i].t = start + i / set->fps;
        else
            t[i].t = start + set->times[i];
    }
    if (set->mode == VIDX_MODE_TIMES)
        qsort(t, count, sizeof(*t), cmp_double); /* t is the first member */
    for (int64_t i = 0; i < count; i++)
        t[i].ticks = seconds_to_ticks(t[i].t, s->st->time_base);
    *out = t;
    *n = count;
    return 0;
}

static int index_targets(VidxSampler *s, PlanTarget **out, int64_t *n)
{
    const VidxSamplerSettings *set = &s->set;
    int64_t total = -1, count = (int64_t)set->n_indices;
    int64_t *idx = av_calloc(VIDX_MAX(count, 1), sizeof(*idx));
    int ret = 0;
    if (!idx)
        return AVERROR(ENOMEM);
    memcpy(idx, set->indices, count * sizeof(*idx));
    for (int64_t i = 0; i < count && total < 0; i++) {
        if (idx[i] < 0) {
            double end;
            if ((ret = prescan(s, &total, &end)) < 0)
                goto done;
        }
    }
    for (int64_t i = 0; i < count; i++) {
        if (idx[i] < 0)
            idx[i] += total;
        if (idx[i] < 0 || (total >= 0 && idx[i] >= total)) {
            ret = VIDX_ERANGE;
            goto done;
        }
    }
    qsort(idx, count, sizeof(*idx), cmp_i64);
    PlanTarget *t = av_calloc(VIDX_MAX(count, 1), sizeof(*t));
    if (!t) {
        ret = AVERROR(ENOMEM);
        goto done;
    }
    for (int64_t i = 0; i < count; i++) {
        t[i].t = NAN;
        t[i].index = idx[i];
    }
    *out = t;
    *n = count;
done:
    av_free(idx);
    return ret;
}

int vidx__targets_plan(VidxSampler *s)
{
    PlanTarget *t = NULL;
    int64_t n = 0;
    int ret = 0;
    switch (s->set.mode) {
    case VIDX_MODE_KEYFRAMES:
        s->kind = PLAN_KEYFRAMES;
        break;
    case VIDX_MODE_INDICES:
        s->kind = PLAN_INDICES;
        ret = index_targets(s, &t, &n);
        break;
    default:
        s->kind = s->set.approx && !s->sequential ? PLAN_NEAREST : PLAN_TIMES;
        ret = time_targets(s, &t, &n);
    }
    if (ret >= 0 && s->set.mode == VIDX_MODE_TIMES && s->src->info.duration > 0) {
        for (int64_t i = 0; i < n; i++)
            if (t[i].t - s->src->info.start > s->src->info.duration + 1e-6)
                ret = VIDX_ERANGE;
    }
    if (ret >= 0)
        ret = vidx__planner_new(&s->plan, s->kind, t, n);
    av_free(t);
    return ret;
}

/*
 * The file ended well before the end its own header declares: it was cut off.
 * Only the video stream's own duration (header, or Matroska's DURATION tag) is
 * trusted for this: a container duration may be an audio track's.
 */
/* a + b and a - b, saturated: a hostile file's timestamps can be anything. */
static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static int64_t sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_sub_overflow(a, b, &r) ? (b < 0 ? INT64_MAX : INT64_MIN) : r;
}

static int cut_short(const VidxSampler *s)
{
    const AVStream *st = s->st;
    int64_t dur = st->duration;
    const AVDictionaryEntry *tag = av_dict_get(st->metadata, "DURATION", NULL, 0);
    unsigned h, m;
    double sec;
    int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    if ((dur == AV_NOPTS_VALUE || dur <= 0) && tag &&
        sscanf(tag->value, "%u:%u:%lf", &h, &m, &sec) == 3) { /* Matroska's per-track tag */
        double ticks = (h * 3600.0 + m * 60.0 + sec) / av_q2d(st->time_base);
        dur = ticks >= 0 && ticks < 9e18 ? (int64_t)ticks : AV_NOPTS_VALUE;
        if (start > 0 && dur != AV_NOPTS_VALUE) /* muxers disagree: from 0 or from the start */
            dur = VIDX_MAX(0, sat_sub(dur, start));
    }
    if (s->video_end == INT64_MIN || dur == AV_NOPTS_VALUE || dur <= 0)
        return 0;
    int64_t tol = av_rescale_q(AV_TIME_BASE / 2, AV_TIME_BASE_Q, st->time_base); /* 0.5 s */
    return s->video_end < sat_sub(sat_add(start, dur), VIDX_MAX(tol, dur / 50));
}

/*
 * The video ended well before targets planned from the duration the file
 * declared (a lying header, or a container duration far past the video's):
 * the targets past the real end would all be the last frame again. It is
 * delivered once; the rest are missed and the video is partial.
 */
static void check_overrun(VidxSampler *s)
{
    const AVRational tb = s->st->time_base;
    if (s->video_end == INT64_MIN || (s->kind != PLAN_TIMES && s->kind != PLAN_NEAREST))
        return;
    int64_t start = s->st->start_time != AV_NOPTS_VALUE ? s->st->start_time : 0;
    int64_t half = av_rescale_q(AV_TIME_BASE / 2, AV_TIME_BASE_Q, tb); /* 0.5 s */
    int64_t tol = VIDX_MAX(half, sat_sub(s->video_end, start) / 50);
    int64_t n = vidx__planner_overrun(s->plan, sat_add(s->video_end, tol));
    if (n <= 0)
        return;
    s->stats.partial = 1;
    s->stats.targets_past_end = n;
    s->stats.declared_duration = s->src->info.duration;
    s->stats.content_duration = ((double)s->video_end - (double)start) * av_q2d(tb);
}

/* The input broke off or ends before its header says: where, for the message. */
static void note_truncated(VidxSampler *s)
{
    int64_t start = s->st->start_time != AV_NOPTS_VALUE ? s->st->start_time : 0;
    s->cut.truncated = 1;
    s->cut.declared = s->src->info.duration;
    s->cut.ends_at = s->video_end == INT64_MIN
                         ? 0.0
                         : ((double)s->video_end - (double)start) * av_q2d(s->st->time_base);
}

void vidx__targets_at_eof(VidxSampler *s)
{
    int cut = cut_short(s);
    if (cut) {
        s->stats.partial = 1;
        if (!s->sequential)
            vidx__planner_truncate(s->plan, s->video_end);
    }
    if (s->read_error || cut)
        note_truncated(s);
    check_overrun(s);
}

int vidx__targets_out_of_range(const VidxSampler *s)
{
    int64_t n;
    const PlanTarget *t = vidx__planner_targets(s->plan, &n);
    if (s->kind != PLAN_INDICES)
        return 0;
    for (int64_t i = 0; i < n; i++)
        if (s->sequential ? t[i].index >= s->seq_index : t[i].missed == PLAN_OUT_OF_RANGE)
            return 1;
    return 0;
}
