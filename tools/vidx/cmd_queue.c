/*
 * cmd_queue.c - `vidx enqueue` and `vidx worker`: a library processed by
 * any number of machines through the work queue of a PostgreSQL catalog, as
 * thin clients of vidx_enqueue() and vidx_work().
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_CATALOG = 600,
    OPT_RETRY_Q,
    OPT_FOLLOW_LINKS,
    OPT_AUDIO_ONLY,
    OPT_DEDUP,
    OPT_JSON,
    OPT_FOLLOW,
    OPT_LEASE,
    OPT_ATTEMPTS,
    OPT_POLL,
    OPT_LABEL,
};

/* ---------------------------------------------------------------------- */
/* vidx enqueue                                                            */
/* ---------------------------------------------------------------------- */

static const CliOption enqueue_own_options[] = {
    {"catalog", OPT_CATALOG, "URL", "the queue's PostgreSQL catalog (postgresql://...)"},
    {"retry", OPT_RETRY_Q, NULL, "put back videos that failed or were quarantined"},
    {"follow-symlinks", OPT_FOLLOW_LINKS, NULL, "directory walks follow symlinks (loop-safe)"},
    {"audio-files", OPT_AUDIO_ONLY, NULL, "also take audio-only files, for their audio (--audio)"},
    {"dedup-exact", OPT_DEDUP, NULL, "store byte-identical frames once (content-addressed)"},
    {"label", OPT_LABEL, NULL,
     "label each kept frame (--label-prompt, --label-model, --label-size; the endpoint is "
     "each worker's --label-url)"},
    {"json", OPT_JSON, NULL, "print the summary as JSON"},
    {NULL, 0, NULL, NULL},
};

typedef struct EnqueueArgs {
    CliJob job;
    VidxRunSettings run;
    int json;
} EnqueueArgs;

static int enqueue_option(int key, const char *arg, void *ctx)
{
    EnqueueArgs *a = ctx;
    int ret = cli_job_option(&a->job, key, arg);
    if (ret != 0)
        return ret < 0 ? -1 : 0;
    switch (key) {
    case OPT_CATALOG:
        a->run.catalog = arg;
        return 0;
    case OPT_RETRY_Q:
        a->run.retry = 1;
        return 0;
    case OPT_FOLLOW_LINKS:
        a->run.follow_symlinks = 1;
        return 0;
    case OPT_AUDIO_ONLY:
        a->run.audio_files = 1;
        return 0;
    case OPT_DEDUP:
        a->run.dedup_exact = 1;
        return 0;
    case OPT_LABEL:
        a->job.label_queued = 1;
        return 0;
    case OPT_JSON:
        a->json = 1;
        return 0;
    }
    return -1;
}

/* The options that belong to each worker, not to the queue: a message and 1, or 0. */
static int worker_side_given(const CliJob *j)
{
    if (cli_asr_given(&j->asr)) {
        cli_error(NULL, "the queue does not store the recogniser: give the --asr-* options to "
                        "each vidx worker");
        return 1;
    }
    if (cli_label_endpoint_given(&j->label)) {
        cli_error(NULL, "the queue does not store the label endpoint: enqueue with --label (and "
                        "--label-prompt, --label-model, --label-size); give --label-url and "
                        "--label-key-env, -jobs, -timeout, -retries to each vidx worker");
        return 1;
    }
    return 0;
}

static void print_enqueued(const VidxEnqueueSummary *s, int json)
{
    if (json)
        printf("{\"videos\": %lld, \"added\": %lld, \"requeued\": %lld, \"not_video\": %lld, "
               "\"duplicates\": %lld, \"symlinks\": %lld}\n",
               (long long)s->videos, (long long)s->added, (long long)s->requeued,
               (long long)s->not_video, (long long)s->duplicates, (long long)s->symlinks);
    else
        fprintf(stderr,
                "vidx: %lld videos: %lld added to the queue, %lld already there%s; %lld files "
                "were not video\n",
                (long long)s->videos, (long long)s->added,
                (long long)(s->videos - s->added - s->requeued),
                s->requeued ? " (some put back: --retry)" : "", (long long)s->not_video);
}

int cmd_enqueue(int argc, char **argv)
{
    static const char usage[] =
        "usage: vidx enqueue INPUT... --catalog URL [sampling options] [--audio wav|flac]\n\n"
        "Adds the videos named by INPUT (as vidx run takes them) to the work queue in the\n"
        "PostgreSQL catalog URL, with the sampling and output options given here: every\n"
        "worker (vidx worker) applies exactly these. Enqueuing again adds nothing; --retry\n"
        "puts back the videos that failed or were quarantined. Paths are stored canonical\n"
        "(absolute): every worker must see the files at the same path (a shared filesystem).\n"
        "Exit codes: 0 done, 2 usage, 10 catalog failure.";
    EnqueueArgs a;
    VidxEnqueueSummary sum;
    int first;
    memset(&a, 0, sizeof(a));
    cli_job_init(&a.job);
    vidx_run_default_settings(&a.run);
    int ret = cli_parse(argc, argv, usage, cli_with_job_options(enqueue_own_options),
                        enqueue_option, &a, &first);
    if (ret != 0 || cli_job_finish(&a.job) < 0) {
        cli_job_free(&a.job);
        return ret > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (worker_side_given(&a.job)) {
        cli_job_free(&a.job);
        return CLI_EXIT_USAGE;
    }
    if (first >= argc || !a.run.catalog) {
        cli_error(NULL, "enqueue takes at least one INPUT and --catalog URL (see --help)");
        cli_job_free(&a.job);
        return CLI_EXIT_USAGE;
    }
    a.run.job = a.job.job;
    ret = vidx_enqueue((const char *const *)argv + first, (size_t)(argc - first), &a.run, &sum);
    cli_job_free(&a.job);
    if (ret < 0) {
        cli_error(NULL, "enqueue failed: %s", vidx_strerror(ret));
        return ret == VIDX_EUSAGE ? CLI_EXIT_USAGE : CLI_EXIT_FATAL;
    }
    print_enqueued(&sum, a.json);
    return CLI_EXIT_OK;
}

/* ---------------------------------------------------------------------- */
/* vidx worker                                                             */
/* ---------------------------------------------------------------------- */

static const CliOption worker_own_options[] = {
    {"catalog", OPT_CATALOG, "URL", "the queue's PostgreSQL catalog (postgresql://...)"},
    {"follow", OPT_FOLLOW, NULL, "keep polling for new videos instead of exiting"},
    {"lease", OPT_LEASE, "SEC", "a claim lapses after SEC without a heartbeat (default 60)"},
    {"max-attempts", OPT_ATTEMPTS, "N", "quarantine a video that crashed N workers (default 3)"},
    {"poll", OPT_POLL, "SEC", "between polls of an empty queue (default 5)"},
    {NULL, 0, NULL, NULL},
};

static int worker_option(int key, const char *arg, void *ctx)
{
    CliRunArgs *a = ctx;
    int64_t v;
    int ret = cli_asr_option(&a->job.asr, key, arg); /* this worker's recogniser */
    if (ret == 0)
        ret = cli_label_endpoint_option(&a->job, key, arg); /* and labeller */
    if (ret != 0)
        return ret < 0 ? -1 : 0;
    switch (key) {
    case OPT_CATALOG:
        a->run.catalog = arg;
        return 0;
    case OPT_FOLLOW:
        a->run.follow = 1;
        return 0;
    case OPT_LEASE:
        return cli_parse_double("lease", arg, 0.5, &a->run.lease) < 0 ? -1 : 0;
    case OPT_ATTEMPTS:
        return cli_parse_int("max-attempts", arg, 1, 1000, &v) < 0
                   ? -1
                   : (a->run.max_attempts = (int)v, 0);
    case OPT_POLL:
        return cli_parse_double("poll", arg, 0.05, &a->run.poll) < 0 ? -1 : 0;
    }
    return cli_run_option(key, arg, a);
}

/* The worker's own, vidx run's, the recogniser's and the label endpoint's options. */
static const CliOption *worker_options(void)
{
    const CliOption *parts[] = {worker_own_options, cli_run_options(), cli_asr_options,
                                cli_label_endpoint_options()};
    return cli_options_joinv(parts, sizeof(parts) / sizeof(parts[0]));
}

static int worker_exit(int ret, const VidxRunSummary *sum, const char *out)
{
    if (ret == VIDX_EINTERRUPTED)
        return CLI_EXIT_INTERRUPTED;
    if (ret == VIDX_ENOTOURS || ret == VIDX_ELOCKED) /* refused before it began: said why */
        return cli_exit_code(ret, 0);
    if (ret < 0) {
        cli_error(out, "worker failed: %s", vidx_strerror(ret));
        return ret == VIDX_EUSAGE ? CLI_EXIT_USAGE : CLI_EXIT_FATAL;
    }
    if (sum->disk_stop)
        return CLI_EXIT_DISK;
    return sum->done > sum->counts[VIDX_VIDEO_OK] + sum->counts[VIDX_VIDEO_PARTIAL]
               ? CLI_EXIT_SOME_FAILED
               : CLI_EXIT_OK;
}

int cmd_worker(int argc, char **argv)
{
    static const char usage[] =
        "usage: vidx worker --catalog URL -o OUT [--jobs N] [--follow] [run options]\n\n"
        "Processes videos from the work queue of the PostgreSQL catalog URL (filled by\n"
        "vidx enqueue) into OUT, together with any number of workers on any machines that\n"
        "share OUT (a shared filesystem) and the catalog. Each video is claimed under a\n"
        "lease kept alive by heartbeat; a worker that dies loses its claims to the others,\n"
        "and a video that crashes --max-attempts workers is quarantined. Every video is\n"
        "recorded exactly once. Exits when nothing is queued or running (or, --follow,\n"
        "only on SIGINT/SIGTERM, which hands back what it holds). Sampling options come\n"
        "from the queue; the run options below are this worker's own, and so is the\n"
        "recogniser of videos enqueued with --transcribe (--asr-*: the built-in one by\n"
        "default; the endpoint's key from $VIDX_ASR_KEY or --asr-key-env NAME), and the\n"
        "endpoint of videos enqueued with --label (--label-url, required for them; its key\n"
        "from $VIDX_LABEL_KEY, $OPENAI_API_KEY or --label-key-env NAME).\n"
        "Exit codes: 0 all ok, 1 some videos failed, 2 usage, 10 fatal, 11 disk, 12 OUT is\n"
        "not a vidx output, 13 OUT in use by a vidx run or gc, 130 interrupted.";
    CliRunArgs a;
    VidxRunSummary sum = {0};
    int first;
    memset(&a, 0, sizeof(a));
    cli_job_init(&a.job);
    vidx_run_default_settings(&a.run);
    a.progress.mode = cli_progress_default();
    int ret = cli_parse(argc, argv, usage, worker_options(), worker_option, &a, &first);
    cli_job_free(&a.job);
    if (ret != 0)
        return ret > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (first < argc || !a.out || !a.run.catalog) {
        cli_error(NULL, "worker takes --catalog URL and -o OUT, and no INPUT (see --help)");
        return CLI_EXIT_USAGE;
    }
    a.run.job.asr = &a.job.asr; /* for options sets enqueued with --transcribe */
    if (a.job.label.url)        /* for those enqueued with --label */
        a.run.job.label_settings = &a.job.label;
    cli_install_signals();
    a.run.on_event = cli_progress_event;
    a.run.opaque = &a.progress;
    a.run.cancel = (volatile int *)&cli_interrupted;
    ret = vidx_work(a.out, &a.run, &sum);
    if (ret >= 0 || ret == VIDX_EINTERRUPTED)
        cli_print_summary(&sum, &a.progress, a.out);
    return worker_exit(ret, &sum, a.out);
}
