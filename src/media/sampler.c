/*
 * sampler.c - one sequential read of the file, decoding only what the planner
 * asks for, delivering frames in presentation order.
 *
 * DESIGN
 * The demux loop reads every packet once. Video packets are handed to the
 * planner and held until their GOP is finalised; a needed GOP is then fed to
 * the decoder (non-wanted non-reference pictures are discarded by the decoder
 * itself through skip_frame), an unneeded one is dropped undecoded. Decoded
 * pictures whose pts matches the next resolved target are queued for
 * delivery. Audio packets, when asked for, go to the audio decoder from the
 * same loop. Reading stops as soon as the last target is delivered, unless the
 * audio still needs the rest of the file.
 *
 * Containers whose packets carry no reliable presentation times (AVI, raw
 * elementary streams) use the sequential path instead: every picture is
 * decoded and targets are matched on the decoder's timestamps. Slower, equally
 * exact. Raw H.264/HEVC streams carry no timestamps at all: there picture i
 * is shown at i frame durations of the stream's frame rate (as ffmpeg times
 * them), which also gives the end of the stream from a count of its pictures.
 */
#include "core/internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/md5.h>
#include <libavutil/pixdesc.h>

#include "media/audio.h"
#include "media/convert.h"
#include "media/gopdec.h"
#include "media/planner.h"
#include "media/sampler_cut.h"
#include "media/settings.h"
#include "media/shown.h"
#include "media/source.h"

/* The largest longest side FFmpeg's image limit allows for a square picture. */
#define VIDX_MAX_SIDE 16255

/* Keyframes per parallel job in keyframes/--approx mode. */
#define KEYS_PER_JOB 4

/* Packets held while their GOP is undecided: more than this and the file is refused. */
#define MAX_PENDING_BYTES (1024LL * 1024 * 1024)

typedef struct Emit {
    AVFrame *frame;
    int64_t index;
    double target;
    int approx;
} Emit;

struct VidxSampler {
    VidxSource *src;
    VidxSamplerSettings set;
    AVStream *st;
    AVCodecContext *dec;
    Planner *plan;
    PlanKind kind;
    int sequential;
    VidxConvert *conv;
    VidxAudio *audio;
    AVPacket *pkt;
    AVFrame *frame;
    /* Undecided packets: pend[i] is packet number pend_base + i. */
    AVPacket **pend;
    int64_t pend_base, n_pend, pend_bytes;
    size_t cap_pend;
    /* Frames ready for delivery. */
    Emit *emit;
    int64_t emit_head, n_emit;
    size_t cap_emit;
    int64_t match_ptr; /* next target to match against decoded pictures */
    /* Sequential path. */
    AVFrame *prev;
    int64_t seq_index;
    int64_t seq_tick;   /* one frame duration in stream ticks, for untimed streams; else 0 */
    VidxSamplerCut cut; /* where the input was cut off (sampler_cut.h) */
    int finished;
    int fatal;
    int read_error;    /* the input ended with an error, not at its end */
    int64_t video_end; /* end (pts + duration) of the last video packet read */
    VidxFrame out;
    AVFrame *out_frame; /* the AVFrame behind out */
    /* Parallel GOP decoding (gopdec.c); NULL pool: one decoder, FFmpeg's threads. */
    GopPool *pool;
    int pool_size;
    GopJob *job;                   /* being built */
    int64_t job_last;              /* last packet number in it */
    GopJob *jobs_head, *jobs_tail; /* submitted, in order */
    int in_flight;
    VidxSamplerStats stats;
};

/* ---------------------------------------------------------------------- */
/* Targets                                                                 */
/* ---------------------------------------------------------------------- */

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

static int make_plan(VidxSampler *s)
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

/* ---------------------------------------------------------------------- */
/* Decoding and matching                                                   */
/* ---------------------------------------------------------------------- */

static int push_emit(VidxSampler *s, const AVFrame *f, int64_t index, double target, int approx)
{
    if (vidx__grow(&s->emit, &s->cap_emit, (size_t)s->n_emit + 1, sizeof(*s->emit), 16) < 0)
        return AVERROR(ENOMEM);
    AVFrame *ref = av_frame_clone(f);
    if (!ref)
        return AVERROR(ENOMEM);
    s->emit[s->n_emit++] = (Emit){ref, index, target, approx};
    return 0;
}

static int64_t frame_pts(const AVFrame *f)
{
    return f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
}

/* Sequential path: the time of the picture with presentation index idx. */
static int64_t seq_pts(const VidxSampler *s, const AVFrame *f, int64_t idx)
{
    int64_t p = frame_pts(f);
    return p == AV_NOPTS_VALUE && s->seq_tick > 0 ? idx * s->seq_tick : p;
}

/* Planned path: queue f for every resolved target it is the answer to. */
static int match_planned(VidxSampler *s, const AVFrame *f)
{
    int64_t n, resolved = vidx__planner_resolved(s->plan);
    const PlanTarget *t = vidx__planner_targets(s->plan, &n);
    int64_t p = frame_pts(f);
    int ret;
    while (s->match_ptr < resolved) {
        const PlanTarget *tg = &t[s->match_ptr];
        if (!tg->missed && tg->pts > p)
            break;
        if (tg->missed || tg->pts < p) {
            s->stats.targets_missed++; /* its picture never came out of the decoder */
            s->match_ptr++;
            continue;
        }
        ret = push_emit(s, f, vidx__planner_index_of(s->plan, p), tg->t, s->kind == PLAN_NEAREST);
        if (ret < 0)
            return ret;
        s->match_ptr++;
    }
    return 0;
}

/* Sequential path: a target t is answered by the last picture with pts <= t. */
static int match_sequential(VidxSampler *s, const AVFrame *f)
{
    int64_t n;
    const PlanTarget *t = vidx__planner_targets(s->plan, &n);
    int64_t idx = s->seq_index, p = f ? seq_pts(s, f, idx) : INT64_MAX;
    int ret = 0;
    if (s->kind == PLAN_KEYFRAMES) {
        if (f && (f->key_frame || f->pict_type == AV_PICTURE_TYPE_I))
            ret = push_emit(s, f, idx, NAN, 0);
        s->seq_index++;
        return ret;
    }
    for (; s->match_ptr < n && ret >= 0; s->match_ptr++) {
        const PlanTarget *tg = &t[s->match_ptr];
        if (tg->missed) { /* past the real end (check_overrun) */
            s->stats.targets_missed++;
            continue;
        }
        if (s->kind == PLAN_INDICES) {
            if (!f || tg->index > idx)
                break;
            ret = tg->index == idx ? push_emit(s, f, idx, NAN, 0) : 0;
            continue;
        }
        if (f && tg->ticks >= p)
            break;
        const AVFrame *ans = s->prev->buf[0] ? s->prev : f;
        if (!ans)
            break;
        ret = push_emit(s, ans, ans == f ? idx : idx - 1, tg->t, 0);
    }
    if (f) {
        av_frame_unref(s->prev);
        if (ret >= 0)
            ret = av_frame_ref(s->prev, f);
        s->seq_index++;
    }
    return ret;
}

static int receive_all(VidxSampler *s)
{
    for (;;) {
        int ret = avcodec_receive_frame(s->dec, s->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0) {
            s->stats.decode_errors++;
            return 0;
        }
        s->stats.frames_decoded++;
        vidx__source_progress(s->src);
        if (s->frame->decode_error_flags || (s->frame->flags & AV_FRAME_FLAG_CORRUPT))
            s->stats.decode_errors++;
        ret = s->sequential ? match_sequential(s, s->frame) : match_planned(s, s->frame);
        av_frame_unref(s->frame);
        if (ret < 0)
            return ret;
    }
}

static int send(VidxSampler *s, const AVPacket *pkt, enum AVDiscard skip)
{
    s->dec->skip_frame = skip;
    int ret = avcodec_send_packet(s->dec, pkt);
    if (ret == AVERROR(EAGAIN)) { /* output first, then the packet fits */
        if ((ret = receive_all(s)) < 0)
            return ret;
        ret = avcodec_send_packet(s->dec, pkt);
    }
    if (ret < 0 && ret != AVERROR_EOF) {
        if (ret == AVERROR(ENOMEM))
            return ret;
        s->stats.decode_errors++;
    }
    return receive_all(s);
}

static int drain(VidxSampler *s)
{
    int ret = send(s, NULL, AVDISCARD_DEFAULT);
    avcodec_flush_buffers(s->dec);
    return ret;
}

static AVPacket *pending(VidxSampler *s, int64_t n)
{
    return s->pend[n - s->pend_base];
}

static int feed_gop(VidxSampler *s, const PlanGop *g)
{
    int ret = 0;
    if (g->flush_before)
        avcodec_flush_buffers(s->dec);
    for (int64_t n = g->feed_first; n <= g->feed_last && ret >= 0; n++) {
        AVPacket *pkt = pending(s, n);
        int wanted = vidx__planner_wanted(s->plan, n);
        if (g->keys_only) {
            if (wanted)
                ret = send(s, pkt, AVDISCARD_NONKEY);
            continue;
        }
        /* Leading pictures of a GOP entered cold reference the GOP before it. */
        if (g->flush_before && n != g->first && pkt->pts < g->key_pts) {
            s->stats.frames_skipped++;
            continue;
        }
        ret = send(s, pkt, wanted ? AVDISCARD_DEFAULT : AVDISCARD_NONREF);
    }
    if (ret >= 0 && g->drain_after)
        ret = drain(s);
    return ret;
}

/* Drops held packets below packet number end. */
static void release_pending(VidxSampler *s, int64_t end)
{
    int64_t k = end - s->pend_base;
    for (int64_t i = 0; i < k; i++) {
        if (s->pend[i]) /* NULL: handed over to a parallel job */
            s->pend_bytes -= s->pend[i]->size;
        av_packet_free(&s->pend[i]);
    }
    memmove(s->pend, s->pend + k, (size_t)(s->n_pend - k) * sizeof(*s->pend));
    s->n_pend -= k;
    s->pend_base = end;
}

/* Hands the job being built to the pool, with the targets it answers. */
static int submit_job(VidxSampler *s)
{
    int64_t n, resolved = vidx__planner_resolved(s->plan);
    const PlanTarget *t = vidx__planner_targets(s->plan, &n);
    GopJob *job = s->job;
    if (!job)
        return 0;
    s->job = NULL;
    job->t_first = s->match_ptr;
    for (; s->match_ptr < resolved; s->match_ptr++) {
        const PlanTarget *tg = &t[s->match_ptr];
        if (!tg->missed && tg->pkt > s->job_last)
            break;
        if (!tg->missed && vidx__gop_job_add_want(job, tg->pts) < 0) {
            vidx__gop_job_free(&job);
            return AVERROR(ENOMEM);
        }
    }
    job->t_end = s->match_ptr;
    if (s->jobs_tail)
        s->jobs_tail->next = job;
    else
        s->jobs_head = job;
    s->jobs_tail = job;
    s->in_flight++;
    vidx__gop_pool_submit(s->pool, job);
    return 0;
}

/* Parallel path: moves the GOP's packets to the job being built (see feed_gop). */
static int add_to_job(VidxSampler *s, const PlanGop *g)
{
    if (!s->job && !(s->job = calloc(1, sizeof(*s->job))))
        return AVERROR(ENOMEM);
    for (int64_t n = g->feed_first; n <= g->feed_last; n++) {
        int wanted = vidx__planner_wanted(s->plan, n);
        AVPacket **slot = &s->pend[n - s->pend_base];
        enum AVDiscard skip = wanted ? AVDISCARD_DEFAULT : AVDISCARD_NONREF;
        if (g->keys_only && !wanted)
            continue;
        if (g->keys_only)
            skip = AVDISCARD_NONKEY;
        else if (g->flush_before && n != g->first && (*slot)->pts < g->key_pts)
            continue; /* leading pictures of a GOP entered cold */
        s->pend_bytes -= (*slot)->size;
        if (vidx__gop_job_add_packet(s->job, *slot, skip) < 0)
            return AVERROR(ENOMEM);
        *slot = NULL;
    }
    if (g->feed_last >= 0)
        s->job_last = g->feed_last;
    if (g->keys_only ? s->job->n_pkts >= KEYS_PER_JOB : g->drain_after)
        return submit_job(s);
    return 0;
}

static void source_progress(void *src)
{
    vidx__source_progress(src);
}

/* Moves the first submitted job's pictures to the delivery queue; wait: block for it. */
static int collect_job(VidxSampler *s, int wait)
{
    GopJob *job = s->jobs_head;
    int64_t n, w = 0;
    int ret = 0;
    if (!job || (!wait && !vidx__gop_pool_done(s->pool, job)))
        return 0;
    vidx__gop_pool_wait(s->pool, job, source_progress, s->src);
    s->jobs_head = job->next;
    if (!s->jobs_head)
        s->jobs_tail = NULL;
    s->in_flight--;
    s->stats.frames_decoded += job->decoded;
    s->stats.decode_errors += job->errors;
    const PlanTarget *t = vidx__planner_targets(s->plan, &n);
    for (int64_t i = job->t_first; i < job->t_end && ret >= 0; i++) {
        const AVFrame *f = t[i].missed ? NULL : job->out ? job->out[w++] : NULL;
        if (!f) {
            s->stats.targets_missed++;
            continue;
        }
        ret = push_emit(s, f, vidx__planner_index_of(s->plan, t[i].pts), t[i].t,
                        s->kind == PLAN_NEAREST);
    }
    vidx__gop_job_free(&job);
    return ret < 0 ? ret : 1;
}

static int process_gops(VidxSampler *s)
{
    PlanGop g;
    while (vidx__planner_next_gop(s->plan, &g)) {
        if (g.needed) {
            int ret = s->pool ? add_to_job(s, &g) : feed_gop(s, &g);
            if (ret < 0)
                return ret;
            int64_t fed = g.keys_only ? 1 : g.feed_last - g.feed_first + 1;
            s->stats.frames_skipped += (g.end - g.first) - fed;
        } else {
            s->stats.frames_skipped += g.end - g.first;
        }
        release_pending(s, g.end);
    }
    return 0;
}

static int hold_packet(VidxSampler *s, AVPacket *pkt)
{
    if (vidx__grow(&s->pend, &s->cap_pend, (size_t)s->n_pend + 1, sizeof(*s->pend), 64) < 0)
        return AVERROR(ENOMEM);
    AVPacket *ref = av_packet_alloc();
    if (!ref)
        return AVERROR(ENOMEM);
    av_packet_move_ref(ref, pkt);
    s->pend[s->n_pend++] = ref;
    s->pend_bytes += ref->size;
    if (s->pend_bytes > MAX_PENDING_BYTES)
        return vidx__detail(VIDX_ELIMIT,
                            "one GOP holds more than %lld MiB of packets (fixed limit)",
                            MAX_PENDING_BYTES >> 20);
    return 0;
}

static int video_packet(VidxSampler *s, AVPacket *pkt)
{
    s->stats.packets_read++;
    int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    if (ts != AV_NOPTS_VALUE && ts + pkt->duration > s->video_end)
        s->video_end = ts + pkt->duration;
    if (s->sequential) /* every picture: without timestamps only decoding tells indices */
        return send(s, pkt, AVDISCARD_DEFAULT);
    int64_t pts = pkt->pts, dts = pkt->dts;
    if (pts == AV_NOPTS_VALUE)
        pts = dts;
    if (pts == AV_NOPTS_VALUE) {
        s->stats.decode_errors++; /* no time at all: cannot be placed */
        return 0;
    }
    if (dts == AV_NOPTS_VALUE)
        dts = s->dec->has_b_frames ? INT64_MIN : pts;
    int shown = !(pkt->flags & AV_PKT_FLAG_DISCARD) && /* decoded, output dropped (edit lists) */
                vidx__packet_shown(s->st->codecpar->codec_id, pkt->data, pkt->size);
    int64_t n = vidx__planner_add(s->plan, pts, dts, pkt->flags & AV_PKT_FLAG_KEY, shown);
    if (n < 0)
        return (int)n;
    int ret = hold_packet(s, pkt);
    return ret < 0 ? ret : process_gops(s);
}

/*
 * The file ended well before the end its own header declares: it was cut off.
 * Only the video stream's own duration (header, or Matroska's DURATION tag) is
 * trusted for this: a container duration may be an audio track's.
 */
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
        dur = (int64_t)((h * 3600.0 + m * 60.0 + sec) / av_q2d(st->time_base));
        if (start > 0) /* muxers disagree on whether it counts from 0 or from the start */
            dur = VIDX_MAX(0, dur - start);
    }
    if (s->video_end == INT64_MIN || dur == AV_NOPTS_VALUE || dur <= 0)
        return 0;
    int64_t tol = av_rescale_q(AV_TIME_BASE / 2, AV_TIME_BASE_Q, st->time_base); /* 0.5 s */
    return s->video_end < start + dur - VIDX_MAX(tol, dur / 50);
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
    int64_t tol = VIDX_MAX(half, (s->video_end - start) / 50);
    int64_t n = vidx__planner_overrun(s->plan, s->video_end + tol);
    if (n <= 0)
        return;
    s->stats.partial = 1;
    s->stats.targets_past_end = n;
    s->stats.declared_duration = s->src->info.duration;
    s->stats.content_duration = (s->video_end - start) * av_q2d(tb);
}

/* The input broke off or ends before its header says: where, for the message. */
static void note_truncated(VidxSampler *s)
{
    int64_t start = s->st->start_time != AV_NOPTS_VALUE ? s->st->start_time : 0;
    s->cut.truncated = 1;
    s->cut.declared = s->src->info.duration;
    s->cut.ends_at =
        s->video_end == INT64_MIN ? 0.0 : (s->video_end - start) * av_q2d(s->st->time_base);
}

void vidx__sampler_cut(const VidxSampler *s, VidxSamplerCut *cut)
{
    *cut = s->cut;
}

/* at_eof: the whole file was read (not an early stop after the last target). */
static int finish(VidxSampler *s, int at_eof)
{
    int ret = 0;
    int cut = at_eof && cut_short(s);
    if (cut) {
        s->stats.partial = 1;
        if (!s->sequential)
            vidx__planner_truncate(s->plan, s->video_end);
    }
    if (at_eof && (s->read_error || cut))
        note_truncated(s);
    if (at_eof)
        check_overrun(s);
    if (s->sequential) {
        ret = drain(s);
        if (ret >= 0)
            ret = match_sequential(s, NULL);
    } else {
        vidx__planner_eof(s->plan);
        ret = process_gops(s);
        if (ret >= 0 && s->pool)
            ret = submit_job(s);
        else if (ret >= 0)
            ret = drain(s);
        int64_t n;
        vidx__planner_targets(s->plan, &n);
        s->stats.targets_missed += n - s->match_ptr;
        s->match_ptr = n;
    }
    if (ret >= 0 && s->audio)
        ret = vidx__audio_packet(s->audio, NULL);
    s->finished = 1;
    return ret;
}

/* Nothing left to decode for video: reading further would only cost time. */
static int all_delivered(const VidxSampler *s)
{
    int64_t n;
    if (!s->sequential)
        return vidx__planner_done(s->plan);
    vidx__planner_targets(s->plan, &n);
    return s->kind != PLAN_KEYFRAMES && s->match_ptr >= n;
}

/* Reads and dispatches one packet; finishes at end of file. */
static int pump(VidxSampler *s)
{
    if (!s->audio && all_delivered(s))
        return finish(s, 0);
    int ret = av_read_frame(s->src->fmt, s->pkt);
    s->src->used = 1;
    vidx__source_progress(s->src);
    if (ret == AVERROR(EAGAIN))
        return 0;
    if (ret < 0) {
        if (ret != AVERROR_EOF) {
            s->stats.partial = 1; /* truncated or unreadable tail: keep what we have */
            s->read_error = ret;
        }
        return finish(s, 1);
    }
    if (s->pkt->stream_index == s->st->index)
        ret = video_packet(s, s->pkt);
    else if (s->audio && s->pkt->stream_index == s->src->audio_index)
        ret = vidx__audio_packet(s->audio, s->pkt);
    av_packet_unref(s->pkt);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* Public API                                                              */
/* ---------------------------------------------------------------------- */

/*
 * One frame duration in st's ticks for demuxers that give packets no time at
 * all (raw H.264/HEVC elementary streams), from the stream's frame rate; 0
 * when packets are timed or no rate is known.
 */
static int64_t untimed_tick(const AVFormatContext *fmt, const AVStream *st)
{
    static const char *const names[] = {"h264", "hevc"};
    AVRational rate = st->r_frame_rate.num > 0 ? st->r_frame_rate : st->avg_frame_rate;
    int untimed = !!(fmt->iformat->flags & AVFMT_NOTIMESTAMPS);
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(names); i++)
        untimed |= !strcmp(fmt->iformat->name, names[i]);
    if (!untimed || rate.num <= 0 || rate.den <= 0)
        return 0;
    return VIDX_MAX(av_rescale_q(1, av_inv_q(rate), st->time_base), 0);
}

/* Containers that do not store presentation times for every packet. */
static int needs_sequential(const AVFormatContext *fmt)
{
    static const char *const names[] = {"avi",  "h264", "hevc", "m4v",       "mpegvideo",
                                        "h263", "h261", "vc1",  "cavsvideo", "dirac"};
    if (fmt->iformat->flags & AVFMT_NOTIMESTAMPS)
        return 1;
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(names); i++)
        if (!strcmp(fmt->iformat->name, names[i]))
            return 1;
    return 0;
}

static int open_decoder(VidxSampler *s)
{
    const AVCodec *codec = avcodec_find_decoder(s->st->codecpar->codec_id);
    int ret;
    if (!codec)
        return AVERROR_DECODER_NOT_FOUND;
    if (!(s->dec = avcodec_alloc_context3(codec)))
        return AVERROR(ENOMEM);
    if ((ret = avcodec_parameters_to_context(s->dec, s->st->codecpar)) < 0)
        return ret;
    s->dec->pkt_timebase = s->st->time_base;
    s->dec->thread_count = s->set.threads > 0 ? s->set.threads : 0;
    s->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    return avcodec_open2(s->dec, codec, NULL);
}

/*
 * Several threads for one video: independent GOP jobs on a pool of decoders
 * (see gopdec.h). One thread, or the sequential path: a single decoder.
 */
static int open_pool(VidxSampler *s)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = s->set.threads > 0 ? s->set.threads : (int)(cores > 0 ? cores : 1);
    if (s->sequential || n <= 1)
        return 0;
    s->pool_size = VIDX_MIN(n, 64);
    return vidx__gop_pool_new(&s->pool, s->st->codecpar, s->st->time_base, s->pool_size);
}

int vidx_sampler_open2(VidxSampler **out, VidxSource *src, const VidxSamplerSettings *caller,
                       const VidxAudioSettings *audio)
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
    s->sequential = needs_sequential(src->fmt);
    s->seq_tick = s->sequential ? untimed_tick(src->fmt, s->st) : 0;
    s->video_end = INT64_MIN;
    ret = AVERROR(ENOMEM);
    if (!(s->pkt = av_packet_alloc()) || !(s->frame = av_frame_alloc()) ||
        !(s->prev = av_frame_alloc()) || !(s->out_frame = av_frame_alloc()))
        goto fail;
    if ((ret = vidx__source_rewind(src)) < 0)
        goto fail;
    if ((ret = open_decoder(s)) < 0)
        goto fail;
    if ((ret = make_plan(s)) < 0)
        goto fail;
    s->st = src->video; /* a prescan reopens the input */
    if ((ret = open_pool(s)) < 0)
        goto fail;
    if (set->pixel != VIDX_PIXEL_NATIVE && (ret = vidx__convert_new(&s->conv, &src->info, set)) < 0)
        goto fail;
    if (audio && audio->enabled && src->audio_index >= 0) {
        ret = vidx__audio_open(&s->audio, src->fmt->streams[src->audio_index], audio);
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

int vidx_sampler_open(VidxSampler **out, VidxSource *src, const VidxSamplerSettings *set)
{
    return vidx_sampler_open2(out, src, set, NULL);
}

/* Was an --index past the last frame? Known only once the file was read. */
static int out_of_range(VidxSampler *s)
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

static int deliver(VidxSampler *s, const Emit *e, const VidxFrame **frame)
{
    VidxFrame *o = &s->out;
    const AVFrame *f = e->frame;
    int ret;
    memset(o, 0, sizeof(*o));
    o->index = e->index;
    o->target = e->target;
    o->pts = s->sequential ? seq_pts(s, f, e->index) : frame_pts(f);
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

int vidx_sampler_next(VidxSampler *s, const VidxFrame **frame)
{
    *frame = NULL;
    if (!s)
        return VIDX_EUSAGE;
    if (s->fatal < 0)
        return s->fatal;
    av_frame_unref(s->out_frame);
    while (s->emit_head == s->n_emit) {
        s->emit_head = s->n_emit = 0;
        /* Parallel jobs: take a finished one; block when all are out or reading is over. */
        int busy = s->jobs_head && (s->finished || s->in_flight >= 2 * s->pool_size);
        int got = s->jobs_head ? collect_job(s, busy) : 0;
        if (got < 0)
            return s->fatal = got;
        if (got)
            continue;
        if (s->finished) {
            if (out_of_range(s))
                return VIDX_ERANGE;
            if (s->stats.decode_errors || s->stats.targets_missed)
                s->stats.partial = 1;
            if (s->stats.frames_output > 0 || !s->stats.partial)
                return 0;
            if (s->read_error) /* nothing delivered because the input broke off */
                return s->src->network ? VIDX_ENETWORK : VIDX_ETRUNCATED;
            return VIDX_EDECODE;
        }
        int ret = pump(s);
        if (ret < 0)
            return s->fatal = ret;
    }
    Emit *e = &s->emit[s->emit_head++];
    av_frame_move_ref(s->out_frame, e->frame);
    av_frame_free(&e->frame);
    Emit local = *e;
    local.frame = s->out_frame;
    return deliver(s, &local, frame);
}

void vidx_sampler_stats(const VidxSampler *s, VidxSamplerStats *stats)
{
    *stats = s->stats;
    if (s->audio && vidx__audio_errors(s->audio))
        stats->partial = 1;
}

void vidx_sampler_close(VidxSampler **ps)
{
    VidxSampler *s = ps ? *ps : NULL;
    if (!s)
        return;
    for (int64_t i = 0; i < s->n_pend; i++)
        av_packet_free(&s->pend[i]);
    free(s->pend);
    for (int64_t i = s->emit_head; i < s->n_emit; i++)
        av_frame_free(&s->emit[i].frame);
    free(s->emit);
    while (s->jobs_head) { /* let the workers finish before the pool goes */
        GopJob *job = s->jobs_head;
        vidx__gop_pool_wait(s->pool, job, NULL, NULL);
        s->jobs_head = job->next;
        vidx__gop_job_free(&job);
    }
    vidx__gop_job_free(&s->job);
    vidx__gop_pool_free(&s->pool);
    avcodec_free_context(&s->dec);
    vidx__planner_free(&s->plan);
    vidx__convert_free(&s->conv);
    vidx__audio_close(&s->audio);
    av_packet_free(&s->pkt);
    av_frame_free(&s->frame);
    av_frame_free(&s->prev);
    av_frame_free(&s->out_frame);
    av_free(s);
    *ps = NULL;
}

int vidx_frame_md5(const VidxFrame *frame, char out[33])
{
    const AVFrame *f = frame ? (const AVFrame *)frame->picture : NULL;
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
