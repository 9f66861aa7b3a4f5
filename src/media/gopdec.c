/*
 * gopdec.c - a pool of decoder threads for independent GOP jobs (gopdec.h).
 *
 * Locking: one mutex guards the job queue, the stop flag and every job's
 * done flag; job contents are touched only by the thread that owns the job at
 * that moment (the sampler until submit, one worker until done, the sampler
 * again after it saw done under the mutex).
 */
#include "media/gopdec.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

struct GopPool {
    pthread_t *threads;
    AVCodecContext **dec;
    int n, started;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    GopJob *head, *tail; /* queued, not yet taken */
    int stop;
    atomic_llong pictures; /* decoded by all workers: progress, for a waiting sampler */
};

typedef struct WorkerArg {
    GopPool *pool;
    int index;
} WorkerArg;

static void keep(GopJob *job, const AVFrame *f)
{
    int64_t p = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
    for (int k = 0; k < job->n_want; k++)
        if (job->want[k] == p && !job->out[k])
            job->out[k] = av_frame_clone(f);
}

static void receive(GopPool *p, AVCodecContext *dec, AVFrame *f, GopJob *job)
{
    int ret;
    while ((ret = avcodec_receive_frame(dec, f)) >= 0) {
        job->decoded++;
        atomic_fetch_add_explicit(&p->pictures, 1, memory_order_relaxed);
        if (f->decode_error_flags || (f->flags & AV_FRAME_FLAG_CORRUPT))
            job->errors++;
        keep(job, f);
        av_frame_unref(f);
    }
    if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
        job->errors++;
}

static void send(GopPool *p, AVCodecContext *dec, AVFrame *f, GopJob *job, const AVPacket *pkt)
{
    int ret = avcodec_send_packet(dec, pkt);
    if (ret == AVERROR(EAGAIN)) {
        receive(p, dec, f, job);
        ret = avcodec_send_packet(dec, pkt);
    }
    if (ret < 0 && ret != AVERROR_EOF)
        job->errors++;
    receive(p, dec, f, job);
}

/* Each job starts on a flushed decoder and ends drained: jobs share no state. */
static void run_job(GopPool *p, AVCodecContext *dec, AVFrame *f, GopJob *job)
{
    job->out = calloc(job->n_want ? (size_t)job->n_want : 1, sizeof(*job->out));
    if (!job->out) {
        job->errors++;
        return;
    }
    avcodec_flush_buffers(dec);
    for (int i = 0; i < job->n_pkts; i++) {
        dec->skip_frame = (enum AVDiscard)job->skip[i];
        send(p, dec, f, job, job->pkts[i]);
    }
    dec->skip_frame = AVDISCARD_DEFAULT;
    send(p, dec, f, job, NULL);
    avcodec_flush_buffers(dec);
}

static void *worker(void *opaque)
{
    WorkerArg *arg = opaque;
    GopPool *p = arg->pool;
    AVCodecContext *dec = p->dec[arg->index];
    AVFrame *f = av_frame_alloc();
    free(arg);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && !p->head)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stop)
            break;
        GopJob *job = p->head;
        p->head = job->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        if (f)
            run_job(p, dec, f, job);
        else
            job->errors++;
        pthread_mutex_lock(&p->mu);
        job->done = 1;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    av_frame_free(&f);
    return NULL;
}

static int open_decoder(AVCodecContext **out, const AVCodecParameters *par, AVRational tb)
{
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    AVCodecContext *dec;
    int ret;
    if (!codec)
        return AVERROR_DECODER_NOT_FOUND;
    if (!(dec = avcodec_alloc_context3(codec)))
        return AVERROR(ENOMEM);
    *out = dec;
    if ((ret = avcodec_parameters_to_context(dec, par)) < 0)
        return ret;
    dec->pkt_timebase = tb;
    dec->thread_count = 1; /* the parallelism is across jobs */
    return avcodec_open2(dec, codec, NULL);
}

int vidx__gop_pool_new(GopPool **out, const AVCodecParameters *par, AVRational pkt_tb, int n)
{
    GopPool *p = calloc(1, sizeof(*p));
    int ret = AVERROR(ENOMEM);
    *out = NULL;
    if (!p)
        return ret;
    atomic_init(&p->pictures, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    if (!(p->threads = calloc((size_t)n, sizeof(*p->threads))) ||
        !(p->dec = calloc((size_t)n, sizeof(*p->dec))))
        goto fail;
    p->n = n;
    for (int i = 0; i < n; i++)
        if ((ret = open_decoder(&p->dec[i], par, pkt_tb)) < 0)
            goto fail;
    for (int i = 0; i < n; i++) {
        WorkerArg *arg = malloc(sizeof(*arg));
        if (arg)
            *arg = (WorkerArg){p, i};
        if (!arg || pthread_create(&p->threads[i], NULL, worker, arg) != 0) {
            free(arg);
            ret = AVERROR(ENOMEM);
            goto fail;
        }
        p->started++;
    }
    *out = p;
    return 0;
fail:
    vidx__gop_pool_free(&p);
    return ret;
}

void vidx__gop_pool_free(GopPool **pp)
{
    GopPool *p = pp ? *pp : NULL;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->threads[i], NULL);
    for (int i = 0; p->dec && i < p->n; i++)
        avcodec_free_context(&p->dec[i]);
    free(p->dec);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p);
    *pp = NULL;
}

void vidx__gop_pool_submit(GopPool *p, GopJob *job)
{
    job->next = NULL;
    job->done = 0;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
}

void vidx__gop_pool_wait(GopPool *p, GopJob *job, void (*progress)(void *), void *opaque)
{
    long long seen = atomic_load_explicit(&p->pictures, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    while (!job->done) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->done, &p->mu, &until);
        long long now = atomic_load_explicit(&p->pictures, memory_order_relaxed);
        if (progress && now != seen && !job->done) {
            seen = now;
            pthread_mutex_unlock(&p->mu);
            progress(opaque);
            pthread_mutex_lock(&p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
}

int vidx__gop_pool_done(GopPool *p, GopJob *job)
{
    pthread_mutex_lock(&p->mu);
    int done = job->done;
    pthread_mutex_unlock(&p->mu);
    return done;
}

int vidx__gop_job_add_packet(GopJob *job, AVPacket *pkt, enum AVDiscard skip)
{
    size_t need = (size_t)job->n_pkts + 1, cap_pkts = job->cap_pkts;
    /* Two parallel arrays, one capacity: it only moves once both grew. */
    if (vidx__grow(&job->pkts, &cap_pkts, need, sizeof(*job->pkts), 32) < 0 ||
        vidx__grow(&job->skip, &job->cap_pkts, need, sizeof(*job->skip), 32) < 0)
        return AVERROR(ENOMEM);
    job->pkts[job->n_pkts] = pkt;
    job->skip[job->n_pkts++] = (uint8_t)skip;
    return 0;
}

int vidx__gop_job_add_want(GopJob *job, int64_t pts)
{
    if (vidx__grow(&job->want, &job->cap_want, (size_t)job->n_want + 1, sizeof(*job->want), 8) < 0)
        return AVERROR(ENOMEM);
    job->want[job->n_want++] = pts;
    return 0;
}

void vidx__gop_job_free(GopJob **pj)
{
    GopJob *job = pj ? *pj : NULL;
    if (!job)
        return;
    for (int i = 0; i < job->n_pkts; i++)
        av_packet_free(&job->pkts[i]);
    for (int k = 0; job->out && k < job->n_want; k++)
        av_frame_free(&job->out[k]);
    free(job->pkts);
    free(job->skip);
    free(job->want);
    free(job->out);
    free(job);
    *pj = NULL;
}
