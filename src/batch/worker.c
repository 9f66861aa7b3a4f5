/*
 * worker.c - the body of a forked worker process and its wire format.
 *
 * A worker reads tasks (see run_task) from its pipe, runs one job per
 * task and answers with lines: "S <duration>\n" once the input is open (so
 * the supervisor can scale the timeout), "P\n" now and then while the input
 * is read and decoded (at most every 0.2 s: the supervisor's stall watchdog)
 * and "R <json>\n" with the result.
 * It dies with its supervisor (PR_SET_PDEATHSIG) and runs under the memory
 * limit (RLIMIT_AS). VIDX_FAULT (tests only) injects a crash or a hang for
 * inputs whose path contains a given text: "crash=TEXT,hang=TEXT".
 */
#include "batch/worker.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#include "store/fs.h"
#include "store/tar.h"

static int write_line(int fd, const char *s)
{
    return vidx__write_all(fd, s, strlen(s));
}

typedef struct WorkerCtx {
    int wfd;
} WorkerCtx;

const char *vidx__wire_payload(const char *line)
{
    return line[0] && line[1] ? line + 2 : ""; /* a bare "S" or "R" has none */
}

double vidx__start_duration(const char *line)
{
    return atof(vidx__wire_payload(line));
}

static void on_start(void *opaque, const VidxVideoInfo *info)
{
    WorkerCtx *w = opaque;
    char line[64];
    snprintf(line, sizeof(line), "S %.3f\n", info->duration);
    write_line(w->wfd, line);
}

static void on_progress(void *opaque)
{
    WorkerCtx *w = opaque;
    write_line(w->wfd, "P\n");
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
    }
}

static json_t *result_json(const VidxJobResult *r)
{
    json_t *frames = json_array();
    for (size_t i = 0; i < r->n_frames; i++) {
        const VidxFrameRecord *f = &r->frames[i];
        json_array_append_new(
            frames, json_pack("[I,f,f,I,b,i,i,I,s?,s,I,I,I,I]", (json_int_t)f->index,
                              isnan(f->target) ? -1.0 : f->target, f->time, (json_int_t)f->pts,
                              f->keyframe, f->width, f->height, (json_int_t)f->bytes, f->path,
                              f->sha256, (json_int_t)f->phash, (json_int_t)f->dup_of,
                              (json_int_t)f->tar_offset, (json_int_t)f->tar_size));
    }
    json_t *o =
        json_pack("{s:i, s:s, s:s, s:b, s:f, s:o, s:I, s:I, s:I, s:I}", "status", r->status,
                  "class", vidx_error_class(r->status), "message", r->message, "partial",
                  r->partial, "seconds", r->seconds, "frames", frames, "decoded",
                  (json_int_t)r->stats.frames_decoded, "errors", (json_int_t)r->stats.decode_errors,
                  "tar_end", (json_int_t)r->tar_end, "tar_samples", (json_int_t)r->tar_samples);
    if (r->probe_json)
        json_object_set_new(o, "probe", json_string(r->probe_json));
    if (r->audio_path)
        json_object_set_new(o, "audio",
                            json_pack("{s:s, s:i, s:i, s:f}", "path", r->audio_path, "rate",
                                      r->audio_rate, "channels", r->audio_channels, "duration",
                                      r->audio_duration));
    return o;
}

char *vidx__hex(char *out, const char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        *out++ = digits[(unsigned char)in[i] >> 4];
        *out++ = digits[(unsigned char)in[i] & 15];
    }
    return out;
}

/* Decodes hex in place, up to the first non-hex character. */
static void unhex(char *s)
{
    char *out = s;
    for (; s[0] && s[1] && isxdigit((unsigned char)s[0]) && isxdigit((unsigned char)s[1]); s += 2) {
        char pair[3] = {s[0], s[1], 0};
        *out++ = (char)strtol(pair, NULL, 16);
    }
    *out = 0;
}

/* A frame file, or the pack of them all (shards). */
static int is_frame(const VidxJobResult *r, const char *name)
{
    if (!strcmp(name, VIDX_TAR_PACK))
        return 1;
    for (size_t i = 0; i < r->n_frames; i++)
        if (r->frames[i].path && !strcmp(r->frames[i].path, name))
            return 1;
    return 0;
}

/* Makes what the store keeps apart from the frames (manifest, audio) and the
 * directory durable: the worker does it, in parallel, not the supervisor. */
static int sync_all_but_frames(const char *dir, const VidxJobResult *r)
{
    char p[PATH_MAX];
    struct dirent *e;
    int ret = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    while (ret == 0 && (e = readdir(d)))
        if (e->d_name[0] != '.' && !is_frame(r, e->d_name) &&
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) < (int)sizeof(p))
            ret = vidx__fsync_path(p);
    closedir(d);
    return ret == 0 ? vidx__fsync_dir(dir) : ret;
}

/* Shards: the samples this video appended to its shard, and a new shard's entry. */
static int sync_shard(const char *shard, int64_t start)
{
    char dir[PATH_MAX];
    int ret = vidx__fsync_path(shard);
    snprintf(dir, sizeof(dir), "%s", shard);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    return ret == 0 && start == 0 && slash ? vidx__fsync_dir(dir) : ret;
}

/* Makes the outputs of a job that did not sync them durable (shards layout). */
static void sync_outputs(const char *dir, const VidxJobSettings *js, VidxJobResult *res)
{
    int ret = sync_all_but_frames(dir, res);
    if (ret == 0 && js->tar_path)
        ret = sync_shard(js->tar_path, js->tar_start);
    if (ret < 0) {
        res->status = ret;
        res->output_failed = 1;
        snprintf(res->message, sizeof(res->message), "syncing outputs: %s", vidx_strerror(ret));
    }
}

int vidx__task_parse(char *line, TaskLine *t)
{
    char *field[4] = {line, NULL, NULL, NULL};
    for (int i = 1; i < 4 && field[i - 1] && (field[i] = strchr(field[i - 1], ' ')); i++)
        *field[i]++ = 0;
    if (!field[1])
        return -EINVAL;
    for (int i = 0; i < 3; i++)
        if (field[i])
            unhex(field[i]);
    t->path = field[0];
    t->dir = field[1];
    t->shard = field[2] && field[3] ? field[2] : NULL;
    t->offset = field[3] ? strtoll(field[3], NULL, 10) : 0;
    return 0;
}

static int run_task(const WorkerConfig *cfg, WorkerCtx *ctx, char *line)
{
    TaskLine task;
    if (vidx__task_parse(line, &task) < 0)
        return -EINVAL;
    const char *path = task.path, *dir = task.dir;
    vidx__remove_tree(dir); /* whatever an interrupted attempt left */
    inject_fault(path);

    VidxJobSettings js = cfg->run->job;
    js.sampler.threads = cfg->threads;
    js.source.audio_only |= cfg->run->audio_files; /* audio-only inputs: their audio */
    /* Shards: the worker writes its frames as ready-made samples (the scratch
     * directory is named after the video key) and syncs only what it wrote. */
    int shards = cfg->run->layout == VIDX_LAYOUT_SHARDS;
    const char *slash = strrchr(dir, '/');
    js.tar_key = shards ? (slash ? slash + 1 : dir) : NULL;
    js.tar_path = task.shard;
    js.tar_start = task.offset;
    js.durable = !shards;
    js.max_bytes = js.tar_path ? 0 : cfg->max_bytes; /* a shard is not scratch */
    js.on_start = on_start;
    js.opaque = ctx;
    js.source.on_progress = on_progress;
    js.source.progress_opaque = ctx;
    js.cancel = NULL;
    VidxJobResult res;
    if (vidx_job_run(path, dir, &js, &res) == 0 && !js.durable)
        sync_outputs(dir, &js, &res);
    json_t *o = result_json(&res);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int ret = -ENOMEM;
    if (text) {
        ret = write_line(ctx->wfd, "R ");
        if (ret == 0)
            ret = write_line(ctx->wfd, text);
        if (ret == 0)
            ret = write_line(ctx->wfd, "\n");
    }
    free(text);
    json_decref(o);
    vidx_job_result_clear(&res);
    return ret;
}

void vidx__worker_main(const WorkerConfig *cfg, int rfd, int wfd)
{
    WorkerCtx ctx = {wfd};
    FILE *in = fdopen(rfd, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

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
