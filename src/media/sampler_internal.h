/*
 * sampler_internal.h - the state of one VidxSampler, shared by the three
 * files that implement it: targets.c computes what to deliver from the
 * request, drive.c reads the file once and decodes what the planner asks for,
 * sampler.c is the public API (open, next, stats, close) and turns decoded
 * pictures into VidxFrames. The struct lives here only; nothing outside
 * src/media/ includes this header.
 */
#ifndef VIDX_MEDIA_SAMPLER_INTERNAL_H
#define VIDX_MEDIA_SAMPLER_INTERNAL_H

#include <stdint.h>

#include <libavcodec/avcodec.h>

#include "core/internal.h"
#include "media/audio.h"
#include "media/convert.h"
#include "media/gopdec.h"
#include "media/planner.h"
#include "media/sampler_cut.h"
#include "media/source.h"
#include "media/watch.h"

/* A decoded picture queued for delivery, with what it answers. */
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
    VidxWatcher *watch; /* sees every decoded picture (watch.h); NULL: none */
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
    int64_t want_in_flight; /* pictures the submitted jobs will hand back */
    int ahead_err;          /* an error met reading ahead, returned once the queue is empty */
    VidxSamplerStats stats;
    /* Where it decodes (hwdec.c): hw set for NVDEC; hw_lost when libavcodec refused it. */
    int hw, hw_lost;
    char device[224]; /* "cuda" or "cpu (REASON)" */
};

/* The time of a decoded picture in stream ticks. */
static inline int64_t vidx__frame_pts(const AVFrame *f)
{
    return f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
}

/* targets.c */

/* Computes the targets from s->set and creates s->plan (may prescan the file). */
int vidx__targets_plan(VidxSampler *s);
/*
 * The whole file was read: marks the video partial when it ends well before
 * its declared duration, and accounts for targets past its real end.
 */
void vidx__targets_at_eof(VidxSampler *s);
/* Was an index target past the last frame? Known only once the file was read. */
int vidx__targets_out_of_range(const VidxSampler *s);

/* hwdec.c */

/* Decides GPU or CPU for s (s->hw, s->device). VIDX_ENOGPU when hwaccel cuda cannot be had. */
int vidx__hwdec_choose(VidxSampler *s);
/* Prepares dec for NVDEC when s->hw (device, get_format, threads). */
int vidx__hwdec_setup(VidxSampler *s, AVCodecContext *dec);
/* VIDX_ENOGPU when hwaccel cuda was asked for and libavcodec refused NVDEC; else 0. */
int vidx__hwdec_check(const VidxSampler *s);

/* drive.c */

/* Chooses the planned or the sequential path for s->src's container (and seq_tick). */
void vidx__drive_choose_path(VidxSampler *s);
int vidx__drive_open_decoder(VidxSampler *s);
/* The time of a delivered picture in stream ticks; idx: its presentation index. */
int64_t vidx__drive_frame_pts(const VidxSampler *s, const AVFrame *f, int64_t idx);
/* Opens the pool of GOP decoders when several threads may decode one video. */
int vidx__drive_open_pool(VidxSampler *s);
/*
 * Reads and decodes until a picture is queued. 1: the next one, in
 * presentation order, is moved into dst and *e describes it (e->frame is
 * dst); 0: no more pictures; < 0: an error.
 */
int vidx__drive_next(VidxSampler *s, AVFrame *dst, Emit *e);
/* Frees what the driver holds: packets, queued pictures, jobs, pool, decoder. */
void vidx__drive_close(VidxSampler *s);

#endif
