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
 * unrecorded videos is removed (only names vidx makes); they are simply redone.
 * Before anything is written, OUT must be apart from the inputs, vidx's (or
 * new or empty: store/outdir.h) and unlocked; the supervisor holds its lock
 * to the end, its workers never do.
 *
 * One concern at about 600 lines: the supervisor's loop and the lives of its
 * worker processes (spawn, task, deadline, reap). What it records and commits
 * is record.c/commit.c, what it sends and reads is wire.c, its events emit.c.
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

#include "batch/emit.h"
#include "batch/inputs.h"
#include "batch/options.h"
#include "batch/queue.h"
#include "batch/record.h"
#include "batch/state.h"
#include "gpu/gpu.h"
#include "batch/wire.h"
#include "batch/run_settings.h"
#include "batch/shard.h"
#include "batch/upload.h"
#include "batch/worker.h"
#include "store/fs.h"
#include "store/outdir.h"
#include "store/owned.h"
#include "batch/transcode_stage.h"

#define TICK_MS 250

/*
 * The default timeout for a video of d seconds (< 0: unknown), never past
 * --timeout-max. Each transcode preset adds 40 s per second of video: an
 * encode of every picture at several sizes, on a loaded machine.
 */
static double default_timeout(const VidxRunSettings *s, double d)
{
    double per = 10.0 + 40.0 * vidx__tc_stage_count(s->transcode);
    double t = 120.0 + per * (d > 0 && isfinite(d) ? VIDX_MIN(d, 1e9) : 60.0);
    return s->timeout_max > 0 ? VIDX_MIN(t, s->timeout_max) : t;
}

/* ---------------------------------------------------------------------- */
/* Planning the run                                                        */
/* ---------------------------------------------------------------------- */

Task *vidx__task_add(Run *r)
{
    if (vidx__grow(&r->tasks, &r->cap_tasks, r->n_tasks + 1, sizeof(*r->tasks), 64) < 0)
        return NULL;
    Task *t = calloc(1, sizeof(*t));
    if (t)
        r->tasks[r->n_tasks++] = t;
    return t;
}

int vidx__task_is_done(const Run *r, const Task *t, const CatalogPrior *p, int *failed)
{
    *failed = 0;
    if (!p->found || strcmp(p->fingerprint, t->fingerprint) || strcmp(p->options, r->options))
        return 0;
    *failed = p->status >= VIDX_VIDEO_FAILED;
    return !*failed || !r->set->retry; /* failed earlier: only --retry redoes it */
}

static int plan_tasks(Run *r, const InputList *in)
{
    r->sum.total = (int64_t)in->n;
    r->sum.not_video_image = in->n_image;
    r->sum.not_video_audio = in->n_audio;
    r->sum.not_video_other = in->n_other;
    r->sum.duplicates = in->n_duplicates;
    r->sum.symlinks = in->n_symlinks;
    for (size_t i = 0; i < in->n; i++) {
        Task *t = vidx__task_add(r);
        CatalogPrior prior;
        int failed;
        if (!t)
            return -ENOMEM;
        t->path = in->items[i].path;
        vidx__input_identify(t->path, t->fingerprint, &t->size, &t->mtime);
        if (vidx__catalog_prior(r->cat, t->path, &prior) < 0)
            return VIDX_ECATALOG;
        if (prior.found && prior.key[0]) /* a video keeps its key (a migrated one too) */
            snprintf(t->key, sizeof(t->key), "%s", prior.key);
        else
            vidx__input_key(t->path, t->key);
        if (vidx__task_is_done(r, t, &prior, &failed)) {
            VidxRunEvent ev = {.path = t->path, .status = prior.status, .key = t->key};
            vidx__run_emit(r, VIDX_EVENT_SKIPPED, &ev);
            r->sum.skipped++;
            r->sum.skipped_failed += failed;
            free(r->tasks[--r->n_tasks]);
        }
    }
    return 0;
}

/* Removes frame directories no finished video owns (an interrupted run's): vidx's files only. */
static void clean_unrecorded(Run *r)
{
    for (size_t i = 0; i < r->n_tasks; i++) {
        char path[PATH_MAX + 128];
        snprintf(path, sizeof(path), "%s/frames/%s", r->out, r->tasks[i]->key);
        if (vidx__remove_video_dir(path) > 0)
            vidx__log(VIDX_LOG_WARNING, "%s: holds files vidx did not make; left alone", path);
        snprintf(path, sizeof(path), "%s/transcode/%s", r->out, r->tasks[i]->key);
        if (vidx__remove_rendition_tree(path) > 0)
            vidx__log(VIDX_LOG_WARNING, "%s: holds files vidx did not make; left alone", path);
    }
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
        /* Each worker may hold two videos in scratch: the one it works on and
         * the finished one the supervisor is committing (see prefetch). */
        WorkerConfig cfg = {
            r->set,     r->out,
            r->threads, r->set->max_scratch > 0 ? r->set->max_scratch / (2 * r->n_workers) : 0,
            getppid(),  (int)(w - r->workers),
            r->presets, r->n_presets};
        close(down[1]);
        close(up[0]);
        close(r->lock_fd); /* the lock is the supervisor's alone: it must end with it */
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
    char scratch[PATH_MAX], shard[PATH_MAX];
    WireTask wt = {.path = t->path, .scratch = scratch, .offset = w->shard_end};
    vidx__task_scratch(r, t, scratch, sizeof(scratch));
    if (r->shard_slots) /* where the worker appends its samples */
        snprintf(shard, sizeof(shard), "%s/%s", r->out, w->shard), wt.shard = shard;
    size_t len;
    char *line = vidx__wire_task_encode(&wt, &len);
    if (!line)
        return -ENOMEM;
    ssize_t wr = write(w->to, line, len);
    free(line);
    if (wr != (ssize_t)len)
        return -EPIPE;
    w->task = t;
    w->started = vidx__now();
    w->progress = w->started;
    w->deadline =
        w->started + (r->set->timeout > 0 ? r->set->timeout : default_timeout(r->set, -1));
    return 0;
}

static int count_busy(const Run *r)
{
    int n = 0;
    for (int i = 0; i < r->n_workers; i++)
        n += r->workers[i].task != NULL;
    return n;
}

/* Shards written by workers: a new shard for w's slot when it has none or its is full.
 * Returns 1 (and stops the run cleanly) when the disk is too full for one. */
static int slot_shard(Run *r, Worker *w)
{
    Store *st = &r->commit.store;
    if (!r->shard_slots || (w->shard[0] && !vidx__shards_full(st, w->shard_end, w->shard_samples)))
        return 0;
    w->shard_end = w->shard_samples = 0;
    int ret = vidx__shards_new(st, w->shard);
    if (ret == -ENOSPC || ret == -EDQUOT) { /* no room to record or create a shard */
        vidx__log(VIDX_LOG_ERROR, "%s: disk full; stopping (run again with more space to finish)",
                  r->out);
        r->sum.disk_stop = 2;
        return 1;
    }
    return ret;
}

/* Sends w (idle, maybe dead) the next task. */
static int start_task(Run *r, Worker *w)
{
    int ret = w->pid <= 0 ? spawn(r, w) : 0;
    if (ret == 0)
        ret = slot_shard(r, w);
    if (ret != 0)
        return ret < 0 ? ret : 0; /* > 0: stopped, the disk is full */
    Task *t = r->tasks[r->next_task++];
    if (send_task(r, w, t) < 0) {
        w->task = t;
        return vidx__record_abnormal(r, w, VIDX_VIDEO_FAILED, "usage", "path cannot be scheduled");
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
        if (r->next_task < r->n_tasks && !r->sum.disk_stop &&
            vidx__disk_budget_reached(r, count_busy(r))) {
            vidx__log(VIDX_LOG_ERROR,
                      "%s: disk budget reached (--max-disk/--min-free); stopping "
                      "cleanly, run again with more space to finish",
                      r->out);
            r->sum.disk_stop = 1;
        }
        if (r->next_task >= r->n_tasks || r->sum.disk_stop) {
            if (w->pid > 0)
                retire(w);
            continue;
        }
        int ret = start_task(r, w);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/*
 * Worker w has just delivered a result: its next video starts before the last
 * one is stored and catalogued, so the worker decodes while the supervisor
 * commits (the commit includes a directory fsync) instead of waiting for it.
 * The finished video still counts against the disk budget; when the budget
 * or the tasks run out, the regular dispatch decides.
 */
static int prefetch(Run *r, Worker *w)
{
    if (r->next_task >= r->n_tasks || r->sum.disk_stop ||
        vidx__disk_budget_reached(r, count_busy(r) + 1))
        return 0;
    return start_task(r, w);
}

/*
 * Shards written by workers: the slot's next video goes after the samples of
 * the one just reported, if that one will be staged; otherwise its samples are
 * a tail that the next video overwrites (and that is cut at the end).
 */
static void advance_shard(Run *r, Worker *w, const WireResult *res)
{
    if (!r->shard_slots || !vidx__record_will_stage(r, res))
        return;
    w->shard_samples += res->tar_samples;
    w->shard_end = res->tar_end;
}

/* Worker w reported its video's result (line): record it once w has moved on. */
static int on_result(Run *r, Worker *w, const char *line)
{
    WireResult res;
    int ok = vidx__wire_result_decode(line, &res) == 0; /* else: unreadable */
    Worker done = *w; /* the finished video, recorded after w moves on */
    w->task = NULL;
    advance_shard(r, w, ok ? &res : NULL);
    int ret = prefetch(r, w);
    if (ret >= 0)
        return vidx__record_result(r, &done, ok ? &res : NULL);
    if (ok)
        vidx__wire_result_free(&res);
    return ret;
}

/* Handles complete lines from a worker. Returns < 0 on a catalog failure. */
static int handle_lines(Run *r, Worker *w)
{
    char *nl;
    int ret = 0;
    while (ret >= 0 && (nl = memchr(w->buf, '\n', w->len))) {
        *nl = 0;
        WireKind kind = vidx__wire_kind(w->buf);
        if (w->task && (kind == WIRE_START || kind == WIRE_PROGRESS))
            w->progress = vidx__now();
        if (kind == WIRE_START && w->task && r->set->timeout <= 0)
            w->deadline = w->started + default_timeout(r->set, vidx__wire_start_duration(w->buf));
        else if (kind == WIRE_RESULT && w->task)
            ret = on_result(r, w, w->buf);
        size_t used = (size_t)(nl - w->buf) + 1;
        memmove(w->buf, nl + 1, w->len - used);
        w->len -= used;
    }
    return ret;
}

static int read_worker(Run *r, Worker *w, int *eof)
{
    if (vidx__grow(&w->buf, &w->cap, w->len + 65536, 1, 131072) < 0) /* room for a read */
        return -ENOMEM;
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
    return vidx__record_abnormal(r, w, VIDX_VIDEO_CRASHED,
                                 sig == SIGKILL && r->set->max_memory ? "memory" : "crash", msg);
}

/* Why worker w's video must end now (timeout or stall), or NULL. */
static const char *overdue(const Run *r, const Worker *w, double t, char *msg, size_t size)
{
    const VidxRunSettings *s = r->set;
    if (s->stall > 0 && t - w->progress >= s->stall) {
        snprintf(msg, size, "no progress for %.0f s (--stall)", t - w->progress);
        return msg;
    }
    if (t < w->deadline)
        return NULL;
    if (s->timeout > 0)
        snprintf(msg, size, "no result after %.0f s (--timeout)", t - w->started);
    else
        snprintf(msg, size,
                 "no result after %.0f s (default timeout: 120 s + 10 x duration, at most "
                 "--timeout-max %.0f s)",
                 t - w->started, s->timeout_max);
    return msg;
}

static int check_deadlines(Run *r)
{
    double t = vidx__now();
    for (int i = 0; i < r->n_workers; i++) {
        Worker *w = &r->workers[i];
        char msg[160];
        if (!w->task || !overdue(r, w, t, msg, sizeof(msg)))
            continue;
        kill(w->pid, SIGKILL);
        Task *task = w->task;
        int sig;
        reap(w, &sig);
        w->task = task;
        int ret = vidx__record_abnormal(r, w, VIDX_VIDEO_TIMEOUT, "timeout", msg);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int busy(const Run *r)
{
    return count_busy(r) > 0;
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
    int due = vidx__record_due_ms(r);
    int k = poll(fds, (nfds_t)n, due >= 0 && due < TICK_MS ? due : TICK_MS);
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

/* After a clean end every worker is idle: closing its pipe lets it exit on its
 * own (and lets tools such as valgrind see it finish). After an error or an
 * interrupt, workers may be mid-video: they are killed, their scratch is
 * reclaimed with the rest. */
static void stop_all(Run *r, int clean)
{
    for (int i = 0; i < r->n_workers; i++) {
        Worker *w = &r->workers[i];
        if (w->pid > 0 && clean && !w->task)
            retire(w);
        else if (w->pid > 0) {
            int sig;
            kill(w->pid, SIGKILL);
            reap(w, &sig);
        }
        free(w->buf);
    }
}

/* Work is left: a task to start, a video running, or (vidx worker) more in the queue. */
static int work_left(Run *r, int *ret)
{
    if (r->q && (*ret = vidx__queue_tick(r)) < 0) /* heartbeat, expiry, claims */
        return 0;
    return (r->next_task < r->n_tasks && !r->sum.disk_stop) || busy(r) ||
           (r->q && !r->sum.disk_stop && !vidx__queue_drained(r));
}

static int loop(Run *r)
{
    int ret = 0;
    while (ret >= 0 && work_left(r, &ret)) {
        if (r->set->cancel && *r->set->cancel) {
            r->sum.interrupted = 1;
            ret = vidx__record_flush(r, 1); /* finished videos are kept */
            return ret < 0 ? ret : VIDX_EINTERRUPTED;
        }
        if ((ret = dispatch(r)) < 0)
            break;
        if ((ret = poll_workers(r)) < 0)
            break;
        if ((ret = vidx__record_flush(r, !busy(r))) < 0)
            break;
        vidx__run_emit(r, VIDX_EVENT_TICK, NULL);
    }
    return ret < 0 ? ret : vidx__record_flush(r, 1);
}

/*
 * Scratch root: reclaimed at start (whatever a crashed run left), removed at
 * the end. It is vidx's and this OUT's alone, so OUT's lock covers it: under
 * OUT, or with --scratch DIR, DIR/vidx-scratch-<hash of OUT> with a marker
 * naming OUT; a folder of that name without the marker is not vidx's. A
 * queue worker shares OUT with others: its scratch is its own folder w<id>
 * in that root, and only that folder is reclaimed.
 */
static int scratch_root(Run *r)
{
    char marker[PATH_MAX + 32];
    struct stat st;
    if (!r->set->scratch) {
        snprintf(r->scratch, sizeof(r->scratch), "%s/.scratch", r->out);
        if (!r->q)
            vidx__remove_tree(r->scratch);
        return vidx__mkdirs(r->scratch);
    }
    char *out = vidx__path_canonical(r->out, NULL);
    if (!out)
        return -ENOMEM;
    snprintf(r->scratch, sizeof(r->scratch), "%s/vidx-scratch-%016llx", r->set->scratch,
             (unsigned long long)vidx__fnv1a(out, strlen(out), VIDX_FNV_INIT));
    snprintf(marker, sizeof(marker), "%s/.vidx-scratch", r->scratch);
    int ret = 0;
    if (lstat(r->scratch, &st) == 0 && lstat(marker, &st) < 0) {
        vidx__log(VIDX_LOG_ERROR, "%s: refused: exists and is not vidx's scratch; nothing changed",
                  r->scratch);
        r->scratch[0] = 0; /* not ours to remove at the end either */
        ret = VIDX_ENOTOURS;
    } else {
        if (!r->q)
            vidx__remove_tree(r->scratch);
        if ((ret = vidx__mkdirs(r->scratch)) == 0)
            ret = vidx__write_atomic(r->scratch, ".vidx-scratch", out, strlen(out), 0);
    }
    free(out);
    return ret;
}

static int prepare_scratch(Run *r)
{
    int ret = scratch_root(r);
    if (ret < 0 || !r->q)
        return ret;
    size_t n = strlen(r->scratch);
    snprintf(r->scratch + n, sizeof(r->scratch) - n, "/%s", vidx__queue_scratch_name(r));
    vidx__remove_tree(r->scratch);
    return vidx__mkdirs(r->scratch);
}

/* OUT apart from the inputs, then claimed and locked: before anything is written. */
static int claim_out(Run *r, const char *const *inputs, size_t n, const InputList *in)
{
    /* The expanded inputs in one call: OUT is made canonical once, not once per input. */
    const char **paths = in->n ? malloc(in->n * sizeof(*paths)) : NULL;
    if (in->n && !paths)
        return -ENOMEM;
    for (size_t i = 0; i < in->n; i++)
        paths[i] = in->items[i].path;
    int ret = vidx__outdir_overlaps(r->out, inputs, n);
    if (ret == 0)
        ret = vidx__outdir_overlaps(r->out, paths, in->n);
    free(paths);
    if (ret == 0) /* OUT and the catalog belong together: else nothing is touched */
        ret = vidx__catalog_check_at(r->out, r->set->catalog);
    if (ret == 0)
        ret = vidx__outdir_claim(r->out, "run");
    if (ret == 0)
        ret = vidx__outdir_lock(r->out, r->set->wait_lock, &r->lock_fd);
    return ret;
}

static int prepare(Run *r, const char *const *inputs, size_t n, InputList *in)
{
    in->follow_symlinks = r->set->follow_symlinks;
    in->audio_files = r->set->audio_files;
    int ret = vidx__inputs_expand(in, inputs, n, r->out);
    if (ret < 0 || (ret = claim_out(r, inputs, n, in)) < 0)
        return ret;
    if ((ret = vidx_catalog_open_at(&r->cat, r->out, r->set->catalog, 0)) < 0)
        return ret;
    if ((ret = vidx__upload_open(r)) < 0) /* a bucket's pending uploads: before the plan */
        return ret;
    vidx__inputs_sort_unique(in);
    r->other_shards = vidx__shard_filter(in, r->set->shard_index, r->set->shard_count);
    vidx__options_hash(r->set, r->options);
    if ((ret = plan_tasks(r, in)) < 0)
        return ret;
    clean_unrecorded(r);
    return 0;
}

/* Frames folder, scratch and store: what the workers and the committer write into. */
static int open_store(Run *r)
{
    char frames[PATH_MAX];
    int ret;
    snprintf(frames, sizeof(frames), "%s/frames", r->out);
    if ((ret = vidx__mkdirs(frames)) < 0 || (ret = prepare_scratch(r)) < 0)
        return ret;
    r->shard_slots = r->set->layout == VIDX_LAYOUT_SHARDS && !r->set->dedup_exact;
    ret = vidx__committer_open(&r->commit, r->out, r->set, r->cat,
                               r->q ? vidx__queue_shard_prefix(r) : NULL, vidx__record_settled, r);
    vidx__upload_hook(r);
    r->used = vidx__tree_bytes(r->out);
    r->catalog_bytes = vidx__catalog_file_bytes(r->out);
    return ret;
}

/* Workers x threads <= the core budget; with a queue the number of videos is not known. */
static void size_pool(Run *r)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int budget = r->set->jobs > 0 ? r->set->jobs : (int)(cores > 0 ? cores : 1);
    size_t videos = r->q ? (size_t)budget : VIDX_MAX(r->n_tasks, (size_t)1);
    r->n_workers = (int)VIDX_MIN((size_t)budget, videos);
    r->n_workers = VIDX_MIN(r->n_workers, 256);
    r->threads = VIDX_MAX(1, budget / r->n_workers);
}

int vidx__supervise(Run *r)
{
    int ret = open_store(r);
    if (ret < 0)
        return ret;
    size_pool(r);
    vidx__run_emit(r, VIDX_EVENT_START, NULL);
    if (!(r->workers = calloc((size_t)r->n_workers, sizeof(*r->workers))))
        return -ENOMEM;
    ret = loop(r);
    if (ret < 0)
        vidx__commit_abandon(&r->commit, ret);
    stop_all(r, ret >= 0);
    int fret = vidx__committer_finish(&r->commit);
    if (fret == 0 && (ret >= 0 || ret == VIDX_EINTERRUPTED))
        fret = vidx__upload_finish(r); /* the shards left, then the catalog's copy */
    if (ret >= 0 && fret < 0)
        ret = fret;
    vidx__run_emit(r, VIDX_EVENT_END, NULL);
    return ret;
}

void vidx__supervise_close(Run *r)
{
    vidx__committer_close(&r->commit);
    if (r->scratch[0])
        vidx__remove_tree(r->scratch);
    r->scratch[0] = 0;
    free(r->workers);
    r->workers = NULL;
    for (size_t i = 0; i < r->n_tasks; i++) {
        free(r->tasks[i]->own_path);
        free(r->tasks[i]);
    }
    free(r->tasks);
    r->tasks = NULL;
    r->n_tasks = r->next_task = r->cap_tasks = 0;
    free(r->presets);
    r->presets = NULL;
    r->n_presets = 0;
}

/*
 * The catalog's meta 'run' (docs/CATALOG.md): this run's state, when it
 * started, how many videos it has to do, and its process, for readers of the
 * catalog (vidx serve's progress and ETA). Not recording it only costs them
 * that view: logged, never a failure of the run.
 */
static void note_run(Run *r, const char *state, double started)
{
    char host[256] = "";
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    gethostname(host, sizeof(host) - 1);
    char *text = NULL;
    json_t *o = json_pack("{s:s, s:f, s:I, s:I, s:i, s:s}", "state", state, "started", started,
                          "todo", (json_int_t)r->n_tasks, "total", (json_int_t)r->sum.total, "pid",
                          (int)getpid(), "host", host);
    if (o && strcmp(state, "running"))
        json_object_set_new(o, "ended", json_real((double)now.tv_sec + now.tv_nsec / 1e9));
    if (o)
        text = json_dumps(o, JSON_COMPACT);
    if (!text || vidx__catalog_meta_put(r->cat, "run", text) < 0)
        vidx__log(VIDX_LOG_WARNING, "%s: could not note the run's progress in the catalog", r->out);
    free(text);
    json_decref(o);
}

int vidx_run(const char *const *inputs, size_t n_inputs, const char *out,
             const VidxRunSettings *caller, VidxRunSummary *summary)
{
    VidxRunSettings set;
    const VidxRunSettings *s = &set; /* the caller's, at this library's size */
    Run r = {.set = s, .out = out, .t0 = vidx__now(), .lock_fd = -1};
    InputList in = {0};
    int ret;
    if (!inputs || !out || !caller)
        return VIDX_EUSAGE;
    if ((ret = vidx__abi_import(&vidx__run_layout, &set, caller)) < 0)
        return ret;
    signal(SIGPIPE, SIG_IGN);
    if ((ret = vidx__upload_wanted(out, s, &r.out)) < 0)
        goto done;
    if (ret > 0) { /* a bucket: DIR (the catalog setting) is the local output */
        r.bucket = out;
        set.catalog = NULL;
    }
    if (s->shard_count < 0 || s->shard_count > VIDX_SHARD_MAX || s->shard_index < 0 ||
        s->shard_index >= VIDX_MAX(s->shard_count, 1)) {
        vidx__log(VIDX_LOG_ERROR, "shard %d of %d: expected 0 <= index < count <= %d",
                  s->shard_index, s->shard_count, VIDX_SHARD_MAX);
        ret = VIDX_EUSAGE;
        goto done;
    }
    if (s->audio_files && !s->job.audio) {
        vidx__log(VIDX_LOG_ERROR,
                  "audio-only files are taken for their audio: ask for it (--audio)");
        ret = VIDX_EUSAGE;
        goto done;
    }
    if (s->no_frames && (!vidx__tc_stage_count(s->transcode) || s->layout == VIDX_LAYOUT_SHARDS)) {
        vidx__log(VIDX_LOG_ERROR, "no frames: it goes with transcode presets (--transcode), in the "
                                  "files layout");
        ret = VIDX_EUSAGE;
        goto done;
    }
    if ((ret = vidx__tc_stage_load(s->transcode, &r.presets, &r.n_presets)) < 0)
        goto done;
    if (s->gpu_sessions < 0) {
        vidx__log(VIDX_LOG_ERROR, "gpu sessions %d: expected 0 (every worker) or more",
                  s->gpu_sessions);
        ret = VIDX_EUSAGE;
        goto done;
    }
    if (s->job.sampler.hwaccel == VIDX_HWACCEL_CUDA) {
        /* Refused before anything is touched when no GPU can be had at all. Only
         * dlopen here: CUDA initialised before fork is unusable in the workers. */
        char why[192];
        if (!vidx__gpu_loadable(why, sizeof(why))) {
            vidx__log(VIDX_LOG_ERROR, "--hwaccel cuda: %s", why);
            ret = VIDX_ENOGPU;
            goto done;
        }
    }
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    double started = (double)wall.tv_sec + wall.tv_nsec / 1e9;
    if ((ret = prepare(&r, inputs, n_inputs, &in)) == 0) {
        note_run(&r, "running", started);
        ret = vidx__supervise(&r);
        note_run(&r, ret < 0 ? "stopped" : "finished", started);
    }
done:
    vidx__supervise_close(&r);
    vidx__upload_close(&r);
    r.sum.seconds = vidx__now() - r.t0;
    if (summary)
        *summary = r.sum;
    vidx__inputs_free(&in);
    vidx_catalog_close(&r.cat);
    vidx__outdir_unlock(&r.lock_fd); /* last: everything this run wrote is settled */
    return ret;
}
