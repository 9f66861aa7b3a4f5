/*
 * run.c - the supervisor of a batch run (vidx run).
 *
 * DESIGN
 * The supervisor owns the catalog, the schedule and the events. Videos run in
 * a pool of forked workers, each reused for many videos; the core budget is
 * split as workers x decoder threads <= jobs (many videos: one thread each;
 * fewer videos than cores: threads inside each video). A worker that dies
 * (signal) or passes its deadline costs only its current video, which is
 * recorded as crashed/timeout; a new worker takes its place. The supervisor
 * records a video (one catalog transaction) only after the worker reported it
 * done, and the worker fsyncs its files first, so a crash of anything at any
 * point leaves either a complete record or none. At start, output left by
 * unrecorded videos is removed; they are simply redone.
 */
#include "core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libavutil/error.h>

#include "batch/inputs.h"
#include "batch/worker.h"
#include "catalog/catalog.h"
#include "store/fs.h"

#define TICK_MS 250

typedef struct Task {
    const char *path;
    char key[96];
    char fingerprint[64];
    int64_t size, mtime;
} Task;

typedef struct Worker {
    pid_t pid;
    int to, from; /* pipes: tasks out, results in */
    Task *task;   /* current task or NULL when idle */
    double started, deadline;
    char *buf; /* partial line from the worker */
    size_t len, cap;
} Worker;

typedef struct Run {
    const VidxRunSettings *set;
    const char *out;
    VidxCatalog *cat;
    char options[32];
    Task *tasks;
    size_t n_tasks, next_task;
    Worker *workers;
    int n_workers, threads;
    VidxRunSummary sum;
    double t0;
} Run;

void vidx_run_default_settings(VidxRunSettings *s)
{
    memset(s, 0, sizeof(*s));
    vidx_job_default_settings(&s->job);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Hash of every setting that changes the output (not threads or jobs). */
static void options_hash(const VidxJobSettings *j, char out[32])
{
    const VidxSamplerSettings *s = &j->sampler;
    char buf[256];
    uint64_t h = VIDX_FNV_INIT;
    snprintf(buf, sizeof(buf), "v1|%d|%d|%.9g|%d|%d|%d|%d|%d|%d|%d|%d|%d|%d|%d|%d", s->mode,
             s->count, s->fps, s->approx, s->max_side, s->width, s->height, s->fit, j->format,
             j->quality, j->md5, j->audio, j->audio_rate, j->audio_channels, j->source.stream);
    h = vidx__fnv1a(buf, strlen(buf), h);
    if (s->times)
        h = vidx__fnv1a(s->times, s->n_times * sizeof(*s->times), h);
    if (s->indices)
        h = vidx__fnv1a(s->indices, s->n_indices * sizeof(*s->indices), h);
    snprintf(out, 32, "%016llx", (unsigned long long)h);
}

static void emit(Run *r, VidxRunEventType type, const VidxRunEvent *video)
{
    VidxRunEvent ev = {0};
    if (!r->set->on_event)
        return;
    if (video)
        ev = *video;
    ev.type = type;
    r->sum.seconds = now() - r->t0;
    ev.summary = &r->sum;
    r->set->on_event(r->set->opaque, &ev);
}

/* ---------------------------------------------------------------------- */
/* Planning the run                                                        */
/* ---------------------------------------------------------------------- */

static int is_done(const Run *r, const Task *t, const CatalogPrior *p)
{
    if (!p->found || strcmp(p->fingerprint, t->fingerprint) || strcmp(p->options, r->options))
        return 0;
    if (p->status == VIDX_VIDEO_OK || p->status == VIDX_VIDEO_PARTIAL)
        return 1;
    return !r->set->retry; /* failed earlier: only --retry redoes it */
}

static int plan_tasks(Run *r, const InputList *in)
{
    r->tasks = calloc(in->n ? in->n : 1, sizeof(*r->tasks));
    if (!r->tasks)
        return -ENOMEM;
    r->sum.total = (int64_t)in->n;
    for (size_t i = 0; i < in->n; i++) {
        Task *t = &r->tasks[r->n_tasks];
        CatalogPrior prior;
        t->path = in->paths[i];
        vidx__input_key(t->path, t->key);
        vidx__input_fingerprint(t->path, t->fingerprint, &t->size, &t->mtime);
        if (vidx__catalog_prior(r->cat, t->path, &prior) < 0)
            return VIDX_ECATALOG;
        if (is_done(r, t, &prior)) {
            r->sum.skipped++;
            r->sum.skipped_failed += prior.status >= VIDX_VIDEO_FAILED;
        } else
            r->n_tasks++;
    }
    return 0;
}

/* Removes frame directories that no finished video owns (an interrupted run's). */
static void clean_unrecorded(Run *r)
{
    for (size_t i = 0; i < r->n_tasks; i++) {
        char path[PATH_MAX + 128];
        snprintf(path, sizeof(path), "%s/frames/%s", r->out, r->tasks[i].key);
        vidx__remove_tree(path);
    }
    vidx__remove_scratch(r->out);
}

/* ---------------------------------------------------------------------- */
/* Workers                                                                 */
/* ---------------------------------------------------------------------- */

static int spawn(Run *r, Worker *w)
{
    int down[2], up[2];
    if (pipe2(down, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(up, O_CLOEXEC) < 0) {
        close(down[0]), close(down[1]);
        return -errno;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(down[0]), close(down[1]), close(up[0]), close(up[1]);
        return -errno;
    }
    if (pid == 0) {
        WorkerConfig cfg = {r->set, r->out, r->threads, getppid()};
        close(down[1]);
        close(up[0]);
        for (int i = 0; i < r->n_workers; i++) { /* siblings' pipes are not ours */
            if (r->workers[i].pid > 0 && &r->workers[i] != w) {
                close(r->workers[i].to);
                close(r->workers[i].from);
            }
        }
        vidx__worker_main(&cfg, down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    w->pid = pid;
    w->to = down[1];
    w->from = up[0];
    w->task = NULL;
    w->len = 0;
    return 0;
}

static void reap(Worker *w, int *sig)
{
    int status = 0;
    *sig = 0;
    if (w->pid > 0 && waitpid(w->pid, &status, 0) > 0 && WIFSIGNALED(status))
        *sig = WTERMSIG(status);
    if (w->to >= 0)
        close(w->to);
    close(w->from);
    w->to = w->from = -1;
    w->pid = 0;
}

/* No more work for w: closing its task pipe makes it exit. */
static void retire(Worker *w)
{
    int sig;
    close(w->to);
    w->to = -1;
    reap(w, &sig);
}

static int send_task(Run *r, Worker *w, Task *t)
{
    char line[PATH_MAX * 2];
    int n = snprintf(line, sizeof(line), "%s\tframes/%s\n", t->path, t->key);
    if (n >= (int)sizeof(line) || strchr(t->path, '\n') || strchr(t->path, '\t'))
        return -EINVAL;
    if (write(w->to, line, (size_t)n) != n)
        return -EPIPE;
    w->task = t;
    w->started = now();
    w->deadline = w->started + (r->set->timeout > 0 ? r->set->timeout : 120.0);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Recording results                                                       */
/* ---------------------------------------------------------------------- */

static void base_video(Run *r, const Worker *w, CatalogVideo *v, char *frames_dir, size_t fdsz)
{
    const Task *t = w->task;
    memset(v, 0, sizeof(*v));
    snprintf(frames_dir, fdsz, "frames/%s", t->key);
    v->path = t->path;
    v->key = t->key;
    v->fingerprint = t->fingerprint;
    v->options = r->options;
    v->size = t->size;
    v->mtime = t->mtime;
    v->started = wall_clock() - (now() - w->started);
    v->seconds = now() - w->started;
    v->frames_dir = frames_dir;
}

static int finish_video(Run *r, const CatalogVideo *v)
{
    int ret = vidx__catalog_record(r->cat, v);
    if (ret < 0)
        return ret;
    if (v->status >= VIDX_VIDEO_FAILED) { /* nothing of a failed video stays on disk */
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", r->out, v->frames_dir);
        vidx__remove_tree(path);
    }
    r->sum.done++;
    r->sum.counts[v->status]++;
    if (v->status <= VIDX_VIDEO_PARTIAL) {
        r->sum.frames += (int64_t)v->n_frames;
        for (size_t i = 0; i < v->n_frames; i++)
            r->sum.bytes += v->frames[i].bytes;
    }
    VidxRunEvent ev = {.path = v->path,
                       .status = v->status,
                       .error_class = v->error_class,
                       .message = v->error,
                       .frames = (int64_t)v->n_frames,
                       .seconds = v->seconds};
    emit(r, VIDX_EVENT_VIDEO, &ev);
    return 0;
}

static int record_abnormal(Run *r, Worker *w, VidxVideoStatus st, const char *cls, const char *msg)
{
    CatalogVideo v;
    char fdir[128];
    base_video(r, w, &v, fdir, sizeof(fdir));
    v.status = st;
    v.error_class = cls;
    v.error = msg;
    int ret = finish_video(r, &v);
    w->task = NULL;
    return ret;
}

/* Parses the frames array of a worker result into records (paths borrowed from json). */
static VidxFrameRecord *parse_frames(json_t *arr, size_t *n)
{
    *n = json_array_size(arr);
    VidxFrameRecord *recs = calloc(*n ? *n : 1, sizeof(*recs));
    if (!recs)
        return NULL;
    for (size_t i = 0; i < *n; i++) {
        json_t *a = json_array_get(arr, i);
        VidxFrameRecord *f = &recs[i];
        double target = json_real_value(json_array_get(a, 1));
        f->index = json_integer_value(json_array_get(a, 0));
        f->target = target < 0 ? NAN : target;
        f->time = json_real_value(json_array_get(a, 2));
        f->pts = json_integer_value(json_array_get(a, 3));
        f->keyframe = json_is_true(json_array_get(a, 4));
        f->width = (int)json_integer_value(json_array_get(a, 5));
        f->height = (int)json_integer_value(json_array_get(a, 6));
        f->bytes = json_integer_value(json_array_get(a, 7));
        f->path = (char *)json_string_value(json_array_get(a, 8));
    }
    return recs;
}

static VidxVideoStatus status_of(int code, int partial)
{
    if (code == 0)
        return partial ? VIDX_VIDEO_PARTIAL : VIDX_VIDEO_OK;
    return VIDX_VIDEO_FAILED;
}

static int record_result(Run *r, Worker *w, const char *text)
{
    json_t *o = json_loads(text, 0, NULL), *audio;
    CatalogVideo v;
    char fdir[128], apath[256];
    if (!o)
        return record_abnormal(r, w, VIDX_VIDEO_CRASHED, "crash", "unreadable worker result");
    base_video(r, w, &v, fdir, sizeof(fdir));
    int code = (int)json_integer_value(json_object_get(o, "status"));
    v.status = status_of(code, json_is_true(json_object_get(o, "partial")));
    if (code == AVERROR(ENOMEM) && r->set->max_memory > 0)
        v.error_class = "memory";
    else if (code)
        v.error_class = json_string_value(json_object_get(o, "class"));
    else
        v.error_class = v.status == VIDX_VIDEO_PARTIAL ? "decode" : NULL;
    v.error = v.status != VIDX_VIDEO_OK ? json_string_value(json_object_get(o, "message")) : NULL;
    v.probe_json = json_string_value(json_object_get(o, "probe"));
    VidxFrameRecord *recs = parse_frames(json_object_get(o, "frames"), &v.n_frames);
    v.frames = recs;
    if ((audio = json_object_get(o, "audio"))) {
        snprintf(apath, sizeof(apath), "%s/%s", fdir,
                 json_string_value(json_object_get(audio, "path")));
        v.audio_path = apath;
        v.audio_rate = (int)json_integer_value(json_object_get(audio, "rate"));
        v.audio_channels = (int)json_integer_value(json_object_get(audio, "channels"));
        v.audio_duration = json_real_value(json_object_get(audio, "duration"));
    }
    int ret = recs ? finish_video(r, &v) : -ENOMEM;
    free(recs);
    json_decref(o);
    w->task = NULL;
    return ret;
}

/* Handles complete lines from a worker. Returns < 0 on a catalog failure. */
static int handle_lines(Run *r, Worker *w)
{
    char *nl;
    int ret = 0;
    while (ret >= 0 && (nl = memchr(w->buf, '\n', w->len))) {
        *nl = 0;
        if (w->buf[0] == 'S' && w->task && r->set->timeout <= 0) {
            double d = atof(w->buf + 2);
            w->deadline = w->started + 120.0 + 10.0 * (d > 0 ? d : 60.0);
        } else if (w->buf[0] == 'R' && w->task) {
            ret = record_result(r, w, w->buf + 2);
        }
        size_t used = (size_t)(nl - w->buf) + 1;
        memmove(w->buf, nl + 1, w->len - used);
        w->len -= used;
    }
    return ret;
}

static int read_worker(Run *r, Worker *w, int *eof)
{
    if (w->cap - w->len < 65536) {
        size_t ncap = w->cap ? w->cap * 2 : 131072;
        char *b = realloc(w->buf, ncap);
        if (!b)
            return -ENOMEM;
        w->buf = b;
        w->cap = ncap;
    }
    ssize_t n = read(w->from, w->buf + w->len, w->cap - w->len);
    *eof = n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN);
    if (n > 0) {
        w->len += (size_t)n;
        return handle_lines(r, w);
    }
    return 0;
}

/* A worker died: its video (if any) is recorded as crashed. */
static int worker_died(Run *r, Worker *w)
{
    int sig;
    Task *t = w->task;
    reap(w, &sig);
    if (!t)
        return 0;
    char msg[96];
    const char *name = sig ? sigabbrev_np(sig) : NULL;
    snprintf(msg, sizeof(msg), "worker killed by SIG%s", name ? name : "?");
    if (!sig)
        snprintf(msg, sizeof(msg), "worker exited unexpectedly");
    w->task = t;
    return record_abnormal(r, w, VIDX_VIDEO_CRASHED,
                           sig == SIGKILL && r->set->max_memory ? "memory" : "crash", msg);
}

static int check_deadlines(Run *r)
{
    double t = now();
    for (int i = 0; i < r->n_workers; i++) {
        Worker *w = &r->workers[i];
        if (!w->task || t < w->deadline)
            continue;
        kill(w->pid, SIGKILL);
        Task *task = w->task;
        int sig;
        reap(w, &sig);
        w->task = task;
        char msg[96];
        snprintf(msg, sizeof(msg), "no result after %.0f s", t - w->started);
        int ret = record_abnormal(r, w, VIDX_VIDEO_TIMEOUT, "timeout", msg);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* Gives idle (or dead) workers the next tasks; stops idle workers when none remain. */
static int dispatch(Run *r)
{
    for (int i = 0; i < r->n_workers; i++) {
        Worker *w = &r->workers[i];
        if (w->task)
            continue;
        if (r->next_task >= r->n_tasks) {
            if (w->pid > 0)
                retire(w);
            continue;
        }
        if (w->pid <= 0) {
            int ret = spawn(r, w);
            if (ret < 0)
                return ret;
        }
        Task *t = &r->tasks[r->next_task++];
        if (send_task(r, w, t) < 0) {
            w->task = t;
            int ret = record_abnormal(r, w, VIDX_VIDEO_FAILED, "usage", "path cannot be scheduled");
            if (ret < 0)
                return ret;
        }
    }
    return 0;
}

static int busy(const Run *r)
{
    for (int i = 0; i < r->n_workers; i++)
        if (r->workers[i].task)
            return 1;
    return 0;
}

static int poll_workers(Run *r)
{
    struct pollfd fds[256];
    int map[256], n = 0;
    for (int i = 0; i < r->n_workers && n < 256; i++) {
        if (r->workers[i].pid > 0 && r->workers[i].task) {
            fds[n] = (struct pollfd){r->workers[i].from, POLLIN, 0};
            map[n++] = i;
        }
    }
    int k = poll(fds, (nfds_t)n, TICK_MS);
    if (k < 0 && errno != EINTR)
        return -errno;
    for (int j = 0; j < n && k > 0; j++) {
        if (!(fds[j].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        Worker *w = &r->workers[map[j]];
        int eof = 0, ret = read_worker(r, w, &eof);
        if (ret >= 0 && eof)
            ret = worker_died(r, w);
        if (ret < 0)
            return ret;
    }
    return check_deadlines(r);
}

static void stop_all(Run *r)
{
    for (int i = 0; i < r->n_workers; i++) {
        Worker *w = &r->workers[i];
        int sig;
        if (w->pid > 0) {
            kill(w->pid, SIGKILL);
            reap(w, &sig);
        }
        free(w->buf);
    }
}

static int loop(Run *r)
{
    int ret = 0;
    while (ret >= 0 && (r->next_task < r->n_tasks || busy(r))) {
        if (r->set->cancel && *r->set->cancel) {
            r->sum.interrupted = 1;
            return VIDX_EINTERRUPTED;
        }
        if ((ret = dispatch(r)) < 0)
            break;
        if ((ret = poll_workers(r)) < 0)
            break;
        emit(r, VIDX_EVENT_TICK, NULL);
    }
    return ret;
}

static int prepare(Run *r, const char *const *inputs, size_t n, InputList *in)
{
    char frames[PATH_MAX];
    int ret = vidx__mkdirs(r->out);
    if (ret < 0)
        return ret;
    snprintf(frames, sizeof(frames), "%s/frames", r->out);
    if ((ret = vidx__mkdirs(frames)) < 0)
        return ret;
    if ((ret = vidx_catalog_open(&r->cat, r->out, 0)) < 0)
        return ret;
    if ((ret = vidx__inputs_expand(in, inputs, n, r->out)) < 0)
        return ret;
    vidx__inputs_sort_unique(in);
    options_hash(&r->set->job, r->options);
    if ((ret = plan_tasks(r, in)) < 0)
        return ret;
    clean_unrecorded(r);
    return 0;
}

static void size_pool(Run *r)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int budget = r->set->jobs > 0 ? r->set->jobs : (int)(cores > 0 ? cores : 1);
    r->n_workers = (int)VIDX_MIN((size_t)budget, VIDX_MAX(r->n_tasks, (size_t)1));
    r->n_workers = VIDX_MIN(r->n_workers, 256);
    r->threads = VIDX_MAX(1, budget / r->n_workers);
}

int vidx_run(const char *const *inputs, size_t n_inputs, const char *out, const VidxRunSettings *s,
             VidxRunSummary *summary)
{
    Run r = {.set = s, .out = out, .t0 = now()};
    InputList in = {0};
    int ret;
    if (!inputs || !out || !s)
        return VIDX_EUSAGE;
    signal(SIGPIPE, SIG_IGN);
    if ((ret = prepare(&r, inputs, n_inputs, &in)) < 0)
        goto done;
    size_pool(&r);
    emit(&r, VIDX_EVENT_START, NULL);
    if (!(r.workers = calloc((size_t)r.n_workers, sizeof(*r.workers)))) {
        ret = -ENOMEM;
        goto done;
    }
    ret = loop(&r);
    stop_all(&r);
    emit(&r, VIDX_EVENT_END, NULL);
done:
    r.sum.seconds = now() - r.t0;
    if (summary)
        *summary = r.sum;
    free(r.workers);
    free(r.tasks);
    vidx__inputs_free(&in);
    vidx_catalog_close(&r.cat);
    return ret;
}
