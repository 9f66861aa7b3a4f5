/*
 * drive.c - the decode driver of a sampler: one sequential read of the file,
 * decoding only what the planner asks for, delivering frames in presentation
 * order through a queue of decoded pictures.
 *
 * DESIGN
 * The demux loop reads every packet once. Video packets are handed to the
 * planner and held until their GOP is finalised; a needed GOP is then fed to
 * the decoder (non-wanted non-reference pictures are discarded by the decoder
 * itself through skip_frame), an unneeded one is dropped undecoded. Decoded
 * pictures whose pts matches the next resolved target are queued for
 * delivery. With several threads for one video, needed GOPs go instead as
 * independent jobs to a pool of decoders (gopdec.h), collected in submission
 * order. Audio packets, when asked for, go to the audio decoder from the same
 * loop. Reading stops as soon as the last target is delivered, unless the
 * audio still needs the rest of the file.
 *
 * Containers whose packets carry no reliable presentation times (AVI, raw
 * elementary streams) use the sequential path instead: every picture is
 * decoded and targets are matched on the decoder's timestamps. Slower, equally
 * exact. Raw H.264/HEVC streams carry no timestamps at all: there picture i
 * is shown at i frame durations of the stream's frame rate (as ffmpeg times
 * them), which also gives the end of the stream from a count of its pictures.
 * A watch (watch.h) also takes the sequential path and reads to the end: it
 * sees every picture, scaled down, before the targets are matched on it.
 */
#include "media/sampler_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media/shown.h"

/* Keyframes per parallel job in keyframes/--approx mode. */
#define KEYS_PER_JOB 4

/*
 * Parallel path: decoded pictures the jobs in flight may hold for the caller. A
 * job beyond the first is submitted only while they are fewer bytes than this:
 * without it, dense targets (every picture) kept whole GOPs of pictures waiting
 * on several decoders, each decoder's buffer pool growing to hold them.
 */
#define WANT_IN_FLIGHT_BYTES (64LL << 20)

/* Packets held while their GOP is undecided: more than this and the file is refused. */
#define MAX_PENDING_BYTES (1024LL * 1024 * 1024)

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

/* Sequential path: the time of the picture with presentation index idx. */
static int64_t seq_pts(const VidxSampler *s, const AVFrame *f, int64_t idx)
{
    int64_t p = vidx__frame_pts(f);
    return p == AV_NOPTS_VALUE && s->seq_tick > 0 ? idx * s->seq_tick : p;
}

int64_t vidx__drive_frame_pts(const VidxSampler *s, const AVFrame *f, int64_t idx)
{
    return s->sequential ? seq_pts(s, f, idx) : vidx__frame_pts(f);
}

/* Planned path: queue f for every resolved target it is the answer to. */
static int match_planned(VidxSampler *s, const AVFrame *f)
{
    int64_t n, resolved = vidx__planner_resolved(s->plan);
    const PlanTarget *t = vidx__planner_targets(s->plan, &n);
    int64_t p = vidx__frame_pts(f);
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
        if (tg->missed) { /* past the real end (targets.c) */
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
        if (s->watch) /* sequential: seq_index is this picture's */
            ret = vidx__watcher_picture(s->watch, s->frame, s->seq_index,
                                        seq_pts(s, s->frame, s->seq_index));
        if (ret >= 0)
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
    s->want_in_flight += job->n_want;
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
    s->want_in_flight -= job->n_want;
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

/* at_eof: the whole file was read (not an early stop after the last target). */
static int finish(VidxSampler *s, int at_eof)
{
    int ret = 0;
    if (at_eof)
        vidx__targets_at_eof(s);
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
    if (!s->audio && !s->watch && all_delivered(s))
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

void vidx__drive_choose_path(VidxSampler *s)
{
    s->sequential = s->watch || needs_sequential(s->src->fmt); /* a watch sees every picture */
    s->seq_tick = s->sequential ? untimed_tick(s->src->fmt, s->st) : 0;
}

int vidx__drive_open_decoder(VidxSampler *s)
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
    if ((ret = vidx__hwdec_setup(s, s->dec)) < 0)
        return ret;
    return avcodec_open2(s->dec, codec, NULL);
}

/*
 * Several threads for one video: independent GOP jobs on a pool of decoders
 * (see gopdec.h). One thread, or the sequential path: a single decoder.
 */
int vidx__drive_open_pool(VidxSampler *s)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = s->set.threads > 0 ? s->set.threads : (int)(cores > 0 ? cores : 1);
    if (s->sequential || n <= 1 || s->hw) /* NVDEC: one decoder, the GPU's engines */
        return 0;
    s->pool_size = VIDX_MIN(n, 64);
    return vidx__gop_pool_new(&s->pool, s->st->codecpar, s->st->time_base, s->pool_size);
}

/* Parallel path: enough submitted; more would wait (or hold pictures) rather than decode. */
static int pool_full(const VidxSampler *s)
{
    const AVCodecParameters *par = s->st->codecpar;
    int64_t bytes = (int64_t)par->width * par->height * 3 / 2; /* 8-bit 4:2:0; a guide */
    return s->in_flight >= 2 * s->pool_size ||
           (s->in_flight > 0 && s->want_in_flight * bytes >= WANT_IN_FLIGHT_BYTES);
}

/*
 * Parallel path, pictures queued for the caller: reads on until the pool is
 * full, so that the decoders work while the caller converts the queue. An error
 * is kept for when the queue is empty (the pictures before it still go out).
 */
static void read_ahead(VidxSampler *s)
{
    while (s->pool && !s->finished && !s->ahead_err && !pool_full(s)) {
        int ret = pump(s);
        if (ret < 0)
            s->ahead_err = ret;
    }
}

int vidx__drive_next(VidxSampler *s, AVFrame *dst, Emit *e)
{
    while (s->emit_head == s->n_emit) {
        s->emit_head = s->n_emit = 0;
        if (s->ahead_err)
            return s->ahead_err;
        /* Parallel jobs: take a finished one; block when the pool is full or reading is over. */
        int busy = s->jobs_head && (s->finished || pool_full(s));
        int got = s->jobs_head ? collect_job(s, busy) : 0;
        if (got < 0)
            return got;
        if (got)
            continue;
        if (s->finished)
            return 0;
        int ret = pump(s);
        if (ret < 0)
            return ret;
    }
    read_ahead(s);
    Emit *q = &s->emit[s->emit_head++];
    av_frame_move_ref(dst, q->frame);
    av_frame_free(&q->frame);
    *e = *q;
    e->frame = dst;
    return 1;
}

void vidx__drive_close(VidxSampler *s)
{
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
}
