/*
 * gopdec.h - decoding independent GOP ranges of one video in parallel.
 *
 * The planner cuts the decoding work into jobs that each start from a
 * keyframe on a flushed decoder and end with a drain, so jobs share no decoder
 * state. A pool of single-threaded decoders (one per thread) takes jobs in
 * order; the sampler collects results in submission order, so frames still
 * come out in presentation order. This scales across cores where FFmpeg's
 * frame threading stalls at every per-GOP drain.
 */
#ifndef VIDX_MEDIA_GOPDEC_H
#define VIDX_MEDIA_GOPDEC_H

#include <stdint.h>

#include <libavcodec/avcodec.h>

typedef struct GopJob {
    /* input, owned by the job */
    AVPacket **pkts;
    uint8_t *skip; /* enum AVDiscard per packet */
    int n_pkts;
    size_t cap_pkts;
    int64_t *want; /* pts of the pictures to keep, in any order */
    int n_want;
    size_t cap_want;
    /* output */
    AVFrame **out; /* out[k] answers want[k]; NULL if the picture never came */
    int64_t decoded, errors;
    /* bookkeeping for the sampler */
    int64_t t_first, t_end; /* targets [t_first, t_end) are answered by this job */
    int done;
    struct GopJob *next;
} GopJob;

typedef struct GopPool GopPool;

/* n decoders for the stream described by par; returns 0 or a negative code. */
int vidx__gop_pool_new(GopPool **out, const AVCodecParameters *par, AVRational pkt_tb, int n);
void vidx__gop_pool_free(GopPool **p);

/* Queues job (the pool does not take ownership). */
void vidx__gop_pool_submit(GopPool *p, GopJob *job);
/*
 * Blocks until job is done; meanwhile calls progress(opaque) (may be NULL)
 * about every 0.2 s in which some worker of the pool decoded a picture.
 */
void vidx__gop_pool_wait(GopPool *p, GopJob *job, void (*progress)(void *), void *opaque);
/* Non-blocking: 1 if done. */
int vidx__gop_pool_done(GopPool *p, GopJob *job);

/* Job building and teardown. */
int vidx__gop_job_add_packet(GopJob *job, AVPacket *pkt, enum AVDiscard skip);
int vidx__gop_job_add_want(GopJob *job, int64_t pts);
void vidx__gop_job_free(GopJob **job);

#endif
