/*
 * worker.c - the body of a forked worker process.
 *
 * A worker reads tasks (batch/wire.h) from its pipe, runs one job per task
 * and answers with lines: a start once the input is open (so the supervisor
 * can scale the timeout), progress now and then while the input is read and
 * decoded (at most every 0.2 s: the supervisor's stall watchdog) and the
 * result.
 * It dies with its supervisor (PR_SET_PDEATHSIG) and runs under the memory
 * limit (RLIMIT_AS). VIDX_FAULT (tests only) injects a crash, a hang or a 2 s
 * delay for inputs whose path contains a given text: "crash=TEXT,hang=TEXT,slow=TEXT".
 */
#include "batch/worker.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "batch/transcode_stage.h"
#include "batch/wire.h"
#include "pipeline/job_internal.h"
#include "store/fs.h"

static int write_line(int fd, const char *s)
{
    return vidx__write_all(fd, s, strlen(s));
}

typedef struct WorkerCtx {
    int wfd;
    VidxJobSettings job; /* what every task shares */
    char cpu_why[96];    /* set: this worker is past --gpu-sessions, the reason to report */
} WorkerCtx;

static void on_start(void *opaque, const VidxVideoInfo *info)
{
    WorkerCtx *w = opaque;
    char line[64];
    vidx__wire_start_encode(line, sizeof(line), info->duration);
    write_line(w->wfd, line);
}

static void on_progress(void *opaque)
{
    WorkerCtx *w = opaque;
    write_line(w->wfd, VIDX_WIRE_PROGRESS);
}

/* Test-only fault injection, for inputs whose path contains the given text. */
static void inject_fault(const char *path)
{
    const char *spec = getenv("VIDX_FAULT");
    char buf[512], *save = NULL;
    if (!spec)
        return;
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || !eq[1] || !strstr(path, eq + 1))
            continue;
        *eq = 0;
        if (!strcmp(tok, "crash")) {
            signal(SIGSEGV, SIG_DFL); /* a real segfault death, even under a sanitizer's handler */
            raise(SIGSEGV);
        }
        if (!strcmp(tok, "hang"))
            for (;;)
                pause();
        if (!strcmp(tok, "slow")) /* a video that takes 2 s longer */
            sleep(2);
    }
}

/* The job settings every task of this worker shares. */
static void shared_settings(const WorkerConfig *cfg, WorkerCtx *ctx)
{
    VidxJobSettings *js = &ctx->job;
    *js = cfg->run->job;
    js->sampler.threads = cfg->threads;
    js->source.audio_only |= cfg->run->audio_files; /* audio-only inputs: their audio */
    js->max_bytes = cfg->max_bytes;
    js->on_start = on_start;
    js->opaque = ctx;
    js->source.on_progress = on_progress;
    js->source.progress_opaque = ctx;
    js->cancel = NULL;
    /* Beyond --gpu-sessions (hwaccel auto) this worker decodes on the CPU. */
    int sessions = cfg->run->gpu_sessions;
    if (js->sampler.hwaccel == VIDX_HWACCEL_AUTO && sessions > 0 && cfg->slot >= sessions) {
        js->sampler.hwaccel = VIDX_HWACCEL_NONE;
        snprintf(ctx->cpu_why, sizeof(ctx->cpu_why), "cpu (worker %d: --gpu-sessions %d)",
                 cfg->slot + 1, sessions);
    }
}

static int send_result(WorkerCtx *ctx, const VidxJobResult *res, const JobOutput *out)
{
    size_t len;
    char *line = vidx__wire_result_encode(res, out, &len);
    int ret = line ? vidx__write_all(ctx->wfd, line, len) : -ENOMEM;
    free(line);
    return ret;
}

/*
 * The transcode stage (--transcode), after the frames: a video whose frames
 * failed is not transcoded; a transcode that fails fails the video (its
 * frames are dropped with it, the error says which preset and why). An
 * audio-only input of an --audio-files run has nothing to transcode.
 */
static void transcode_task(const WorkerConfig *cfg, WorkerCtx *ctx, const WireTask *task,
                           VidxJobResult *res, JobOutput *out)
{
    if (!cfg->n_presets || res->status)
        return;
    if (cfg->run->no_frames) { /* the job did not run: its start (the timeout) is said here */
        VidxSource *src = NULL;
        VidxVideoInfo none = {.duration = -1};
        vidx__mkdirs(task->scratch);
        vidx_source_open(&src, task->path, &ctx->job.source); /* a failure: the transcode's */
        on_start(ctx, src ? vidx_source_video_info(src) : &none);
        vidx_source_close(&src);
    } else if (res->probe_json && !strstr(res->probe_json, "\"video\""))
        return;
    VidxSourceSettings src = ctx->job.source;
    src.audio_only = 0;
    double t0 = vidx__now();
    int ret = vidx__tc_stage_run(task->path, task->scratch, cfg->presets, cfg->n_presets,
                                 cfg->threads, &src, &out->renditions_json);
    res->seconds += vidx__now() - t0;
    if (ret < 0) {
        const char *d = vidx_error_detail(ret);
        res->status = ret;
        snprintf(res->message, sizeof(res->message), "%s", *d ? d : vidx_strerror(ret));
    }
}

static int run_task(const WorkerConfig *cfg, WorkerCtx *ctx, char *line)
{
    WireTask task;
    if (vidx__wire_task_decode(line, &task) < 0)
        return -EINVAL;
    vidx__remove_tree(task.scratch); /* whatever an interrupted attempt left */
    inject_fault(task.path);
    /* Shards: the worker writes its frames as ready-made samples (the scratch
     * directory is named after the video key) and syncs only what it wrote;
     * files: the frames, synced with the rest of the directory. */
    const char *slash = strrchr(task.scratch, '/');
    JobTarget target = {.sink = &vidx__sink_files, .durable = 1};
    if (cfg->run->layout == VIDX_LAYOUT_SHARDS)
        target = (JobTarget){.sink = &vidx__sink_tar,
                             .durable = 1,
                             .key = slash ? slash + 1 : task.scratch,
                             .shard = task.shard,
                             .start = task.offset};
    VidxJobResult res = {0};
    JobOutput out = {0};
    if (!cfg->run->no_frames)
        vidx__job_run_into(task.path, task.scratch, &ctx->job, &target, &res, &out);
    transcode_task(cfg, ctx, &task, &res, &out);
    if (ctx->cpu_why[0] && out.device[0]) /* say why, rather than "--hwaccel none" */
        snprintf(out.device, sizeof(out.device), "%s", ctx->cpu_why);
    int ret = send_result(ctx, &res, &out);
    vidx__job_output_clear(&out);
    vidx_job_result_clear(&res);
    return ret;
}

void vidx__worker_main(const WorkerConfig *cfg, int rfd, int wfd)
{
    WorkerCtx ctx = {.wfd = wfd};
    FILE *in = fdopen(rfd, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    shared_settings(cfg, &ctx);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != cfg->supervisor)
        _exit(0);
    signal(SIGINT, SIG_IGN); /* the supervisor decides what an interrupt means */
    signal(SIGPIPE, SIG_IGN);
    if (cfg->run->max_memory > 0) {
        struct rlimit rl = {(rlim_t)cfg->run->max_memory, (rlim_t)cfg->run->max_memory};
        setrlimit(RLIMIT_AS, &rl);
    }
    while (in && (len = getline(&line, &cap, in)) > 0) {
        if (line[len - 1] == '\n')
            line[len - 1] = 0;
        if (run_task(cfg, &ctx, line) < 0)
            break;
    }
    free(line);
    _exit(0);
}
