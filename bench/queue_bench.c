/*
 * queue_bench.c - what the work queue itself costs, without decoding:
 * latency of a claim, a heartbeat and a fenced finish (the per-video queue
 * overhead of vidx worker) with N rows queued, and the throughput one
 * PostgreSQL sustains with C clients claiming and finishing at once.
 *
 *   vidx-queue-bench URL ROWS SAMPLES CLIENTS
 *
 * Fills the queue of the (empty) database URL with ROWS rows (paths only, no
 * files), then: SAMPLES claim / heartbeat / finish cycles of one video by
 * one client, timed each (median, p90, p99 in ms); then CLIENTS processes
 * doing the same cycle as fast as they can for 5 s (videos per second in
 * all). One JSON line on stdout. Used by bench/run_queue.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/queue.h"
#include "core/internal.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[(int)(p * (n - 1))];
}

static int fill(VidxCatalog *c, long rows)
{
    enum { CHUNK = 50000 };
    char **paths = malloc(CHUNK * sizeof(*paths));
    int ret = paths ? 0 : -1;
    for (long i = 0; ret == 0 && i < rows; i += CHUNK) {
        long n = rows - i < CHUNK ? rows - i : CHUNK;
        int64_t added, requeued;
        for (long k = 0; k < n; k++) {
            paths[k] = malloc(64);
            snprintf(paths[k], 64, "/library/%08ld.mp4", i + k);
        }
        ret = vidx__queue_enqueue(c, "bench", "{}", (const char *const *)paths, (size_t)n, 0,
                                  &added, &requeued);
        for (long k = 0; k < n; k++)
            free(paths[k]);
    }
    free(paths);
    return ret;
}

/* One video's queue work: claim, heartbeat, finish in a transaction. Seconds of each. */
static int cycle(VidxCatalog *c, int64_t worker, int64_t options, double t[3])
{
    QueueItem it;
    double t0 = vidx__now();
    if (vidx__queue_claim(c, worker, options, 60, &it, 1) != 1)
        return -1;
    double t1 = vidx__now();
    vidx__queue_heartbeat(c, worker, 60);
    double t2 = vidx__now();
    int ret = vidx__catalog_begin(c);
    if (ret == 0 && vidx__queue_finish(c, it.id, it.fence, QUEUE_DONE, NULL) == 1)
        ret = vidx__catalog_commit(c);
    else
        vidx__catalog_rollback(c), ret = -1;
    double t3 = vidx__now();
    free(it.path);
    t[0] = t1 - t0, t[1] = t2 - t1, t[2] = t3 - t2;
    return ret;
}

static int64_t options_of(VidxCatalog *c, int64_t worker)
{
    int64_t options = 0, waiting;
    char hash[32], *settings = NULL;
    vidx__queue_pending(c, worker, 60, &options, hash, &settings, &waiting);
    free(settings);
    return options;
}

/* A client process: cycles for seconds; exits with the count (capped). */
static void client(const char *url, double seconds, int fd)
{
    VidxCatalog *c;
    int64_t worker;
    long n = 0;
    if (vidx__catalog_open_url(&c, url) < 0 || vidx__queue_join(c, "bench", getpid(), &worker))
        _exit(1);
    int64_t options = options_of(c, worker);
    double end = vidx__now() + seconds, t[3];
    while (vidx__now() < end && cycle(c, worker, options, t) == 0)
        n++;
    if (write(fd, &n, sizeof(n)) != sizeof(n))
        _exit(1);
    _exit(0);
}

static double throughput(const char *url, int clients, double seconds)
{
    int fds[2];
    long total = 0, n;
    if (pipe(fds) < 0)
        return -1;
    for (int i = 0; i < clients; i++)
        if (fork() == 0)
            client(url, seconds, fds[1]);
    close(fds[1]);
    while (read(fds[0], &n, sizeof(n)) == sizeof(n))
        total += n;
    while (wait(NULL) > 0)
        ;
    close(fds[0]);
    return (double)total / seconds;
}

int main(int argc, char **argv)
{
    VidxCatalog *c;
    int64_t worker;
    if (argc != 5) {
        fprintf(stderr, "usage: %s URL ROWS SAMPLES CLIENTS\n", argv[0]);
        return 2;
    }
    long rows = atol(argv[2]);
    int samples = atoi(argv[3]), clients = atoi(argv[4]);
    double t_fill = vidx__now();
    if (vidx__catalog_open_url(&c, argv[1]) < 0 || fill(c, rows) < 0 ||
        vidx__queue_join(c, "bench", getpid(), &worker) < 0)
        return 1;
    t_fill = vidx__now() - t_fill;
    int64_t options = options_of(c, worker);
    double *claim = calloc((size_t)samples, sizeof(double)), *beat = calloc((size_t)samples, 8),
           *fin = calloc((size_t)samples, 8), *sum = calloc((size_t)samples, 8), t[3];
    for (int i = 0; i < samples; i++) {
        if (cycle(c, worker, options, t) < 0)
            return 1;
        claim[i] = t[0] * 1e3, beat[i] = t[1] * 1e3, fin[i] = t[2] * 1e3;
        sum[i] = claim[i] + beat[i] + fin[i];
    }
    vidx_catalog_close(&c);
    double vps = clients > 0 ? throughput(argv[1], clients, 5.0) : 0;
    printf("{\"rows\": %ld, \"fill_s\": %.2f, \"samples\": %d, \"claim_ms\": [%.3f, %.3f, %.3f], "
           "\"heartbeat_ms\": [%.3f, %.3f, %.3f], \"finish_ms\": [%.3f, %.3f, %.3f], "
           "\"per_video_ms\": [%.3f, %.3f, %.3f], \"clients\": %d, \"videos_per_s\": %.0f}\n",
           rows, t_fill, samples, pct(claim, samples, .5), pct(claim, samples, .9),
           pct(claim, samples, .99), pct(beat, samples, .5), pct(beat, samples, .9),
           pct(beat, samples, .99), pct(fin, samples, .5), pct(fin, samples, .9),
           pct(fin, samples, .99), pct(sum, samples, .5), pct(sum, samples, .9),
           pct(sum, samples, .99), clients, vps);
    free(claim), free(beat), free(fin), free(sum);
    return 0;
}
