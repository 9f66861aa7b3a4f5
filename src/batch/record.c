/*
 * record.c - what the supervisor does with a finished video: parse the
 * worker's result, stage the frames in the store, drop the scratch, and when
 * the group is due commit it (store sync, one catalog transaction) and count
 * its videos; and the disk budget that decides whether another video may
 * start.
 *
 * A full disk anywhere (worker, store, catalog) is not a video failure: the
 * video stays unrecorded (so a later run redoes it) and the run stops cleanly.
 */
#include "batch/record.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <libavutil/error.h>

#include "batch/emit.h"
#include "batch/queue.h"
#include "catalog/queue.h"
#include "store/fs.h"

/*
 * Group commit: staged videos are committed together once the oldest has
 * waited this long, or this many are staged, or nothing else is running.
 * Long enough to gather several short videos a group, short enough that
 * progress and resume points lag by no more than a blink.
 */
#define GROUP_SECONDS 0.5
#define GROUP_MAX     256

/* A staged video, until its group settles. */
typedef struct Pending {
    const Task *task;
    CatalogVideo v;
    WireResult res; /* owns the strings v borrows, and the frames */
    int64_t added;
} Pending;

static int disk_full(Run *r, const Task *t);
static void count_video(Run *r, const CatalogVideo *v, const VidxFrameRecord *recs);

static void base_video(Run *r, const Worker *w, CatalogVideo *v)
{
    const Task *t = w->task;
    memset(v, 0, sizeof(*v));
    v->path = t->path;
    v->key = t->key;
    v->fingerprint = t->fingerprint;
    v->options = r->options;
    v->size = t->size;
    v->mtime = t->mtime;
    v->started = vidx__wall_clock() - (vidx__now() - w->started);
    v->seconds = vidx__now() - w->started;
}

/*
 * A video recorded (ret 0) or not: counted once it is final. A queued video
 * put back for another attempt, or whose claim went to another worker
 * (VIDX_ELEASE: nothing recorded), is not this run's to count.
 */
static int recorded(Run *r, const CatalogVideo *v, const Task *t, int ret)
{
    if (ret == VIDX_ELEASE)
        return vidx__queue_lost(r, t);
    if (ret == -ENOSPC)
        return disk_full(r, t);
    if (ret == 0 && !(v->queue_id && v->queue_state == QUEUE_QUEUED))
        count_video(r, v, NULL);
    return ret;
}

static void count_video(Run *r, const CatalogVideo *v, const VidxFrameRecord *recs)
{
    r->sum.done++;
    r->sum.counts[v->status]++;
    if (v->status <= VIDX_VIDEO_PARTIAL) {
        r->sum.frames += (int64_t)v->n_frames;
        for (size_t i = 0; i < v->n_frames; i++)
            r->sum.bytes += recs[i].bytes;
    }
    VidxRunEvent ev = {.path = v->path,
                       .status = v->status,
                       .error_class = v->error_class,
                       .message = v->error,
                       .frames = (int64_t)v->n_frames,
                       .seconds = v->seconds,
                       .key = v->key,
                       .audio = v->audio,
                       .device = v->device};
    vidx__run_emit(r, VIDX_EVENT_VIDEO, &ev);
}

/* The disk filled up: leave the video unrecorded and stop starting new ones. */
static int disk_full(Run *r, const Task *t)
{
    char scratch[PATH_MAX];
    vidx__task_scratch(r, t, scratch, sizeof(scratch));
    vidx__remove_tree(scratch);
    vidx__log(VIDX_LOG_ERROR, "%s: disk full; stopping (the video will be redone next run)",
              t->path);
    r->sum.disk_stop = 2;
    return 0;
}

int vidx__record_abnormal(Run *r, Worker *w, VidxVideoStatus st, const char *cls, const char *msg)
{
    CatalogVideo v;
    char scratch[PATH_MAX];
    base_video(r, w, &v);
    v.status = st;
    v.error_class = cls;
    v.error = msg;
    vidx__task_scratch(r, w->task, scratch, sizeof(scratch));
    vidx__remove_tree(scratch);
    vidx__queue_video(r, w->task, &v);
    int ret = recorded(r, &v, w->task, vidx__catalog_record(r->cat, &v));
    w->task = NULL;
    return ret;
}

/* A partial video's class: "truncated" when its worker says the input was cut off. */
static const char *partial_class(const WireResult *res)
{
    return res->error_class && !strcmp(res->error_class, "truncated") ? "truncated" : "decode";
}

void vidx__record_classify(const Run *r, const WireResult *res, CatalogVideo *v)
{
    int code = res->status;
    v->status = code ? VIDX_VIDEO_FAILED : res->partial ? VIDX_VIDEO_PARTIAL : VIDX_VIDEO_OK;
    if (code == AVERROR(ENOMEM) && r->set->max_memory > 0)
        v->error_class = "memory";
    else if (code)
        v->error_class = res->error_class;
    else
        v->error_class = res->partial ? partial_class(res) : NULL;
    v->error = v->status != VIDX_VIDEO_OK ? res->message : NULL;
    v->device = res->device;
}

/* The store failed (an I/O error of OUT's filesystem): the run stops, nothing is lost.
 * A queue worker whose scratch is gone was declared dead meanwhile: VIDX_ELEASE. */
static int store_failed(const Run *r, const Task *t, int err)
{
    struct stat st;
    if (r->q && stat(r->scratch, &st) < 0) {
        vidx__log(VIDX_LOG_ERROR, "%s: not recorded: %s (this worker's scratch was reclaimed)",
                  t->path, vidx_strerror(VIDX_ELEASE));
        return VIDX_ELEASE;
    }
    const char *why = vidx_error_detail(err);
    vidx__log(VIDX_LOG_ERROR, "%s: storing its outputs failed: %s; stopping", t->path,
              *why ? why : vidx_strerror(err));
    return err;
}

void vidx__record_settled(void *run, void *owner, int ret)
{
    Run *r = run;
    Pending *p = owner;
    if (ret == 0)
        count_video(r, &p->v, p->res.frames);
    if (ret < 0) { /* nothing of it stays */
        r->used -= p->added;
    }
    if (ret == -ENOSPC)
        ret = disk_full(r, p->task);
    else if (ret == VIDX_ELEASE) /* a claim of the group was lost: every video goes back */
        ret = vidx__queue_lost(r, p->task);
    else if (ret < 0 && ret != VIDX_ECATALOG && ret != VIDX_EINTERRUPTED)
        ret = store_failed(r, p->task, ret);
    if (ret < 0 && !r->fatal)
        r->fatal = ret;
    vidx__wire_result_free(&p->res);
    free(p);
}

/* Stages a video whose worker produced frames (ok or partial); takes res. */
static int stage(Run *r, const Worker *w, CatalogVideo *v, WireResult *res, const char *scratch)
{
    Pending *p = calloc(1, sizeof(*p));
    if (!p) {
        vidx__wire_result_free(res);
        return -ENOMEM;
    }
    p->res = *res; /* the strings stay where they are: v may borrow them */
    v->n_frames = res->n_frames;
    v->probe_json = res->probe;
    v->audio_rate = res->audio_rate;
    v->audio_channels = res->audio_channels;
    v->audio_duration = res->audio_duration;
    v->shots = res->shots;
    v->n_shots = res->n_shots;
    v->segments = res->segments;
    v->n_segments = res->n_segments;
    v->labels = res->labels;
    v->n_labels = res->n_labels;
    if (r->set->job.audio) /* asked for: the format written, or none in the file */
        v->audio = res->audio_path ? vidx_audio_format_ext(r->set->job.audio) : "none";
    CommitInput in = {.recs = res->frames,
                      .spans = res->spans,
                      .n = res->n_frames,
                      .scratch = scratch,
                      .shard = r->shard_slots ? w->shard : NULL,
                      .tar_end = res->tar_end,
                      .audio_name = res->audio_path,
                      .renditions = res->renditions,
                      .n_renditions = res->n_renditions};
    p->task = w->task;
    vidx__queue_video(r, w->task, v);
    p->v = *v;
    double t0 = vidx__now();
    int64_t added = vidx__commit_stage(&r->commit, v, &in, p);
    r->sum.commit_seconds += vidx__now() - t0;
    if (added >= 0) {
        p->added = added;
        r->largest = VIDX_MAX(r->largest, added);
        r->used += added;
        return 0;
    }
    int ret = added == -ENOSPC ? disk_full(r, w->task) : store_failed(r, w->task, (int)added);
    vidx__wire_result_free(&p->res);
    free(p);
    return ret;
}

int vidx__record_will_stage(const Run *r, const WireResult *res)
{
    return res && res->status == 0 && r->sum.disk_stop != 2;
}

int vidx__record_result(Run *r, Worker *w, WireResult *res)
{
    CatalogVideo v;
    char scratch[PATH_MAX];
    int ret;
    if (!res)
        return vidx__record_abnormal(r, w, VIDX_VIDEO_CRASHED, "crash", "unreadable worker result");
    if (res->status == AVERROR(ENOSPC) || res->status == AVERROR(EDQUOT)) {
        vidx__wire_result_free(res);
        ret = disk_full(r, w->task);
        w->task = NULL;
        return ret;
    }
    base_video(r, w, &v);
    vidx__record_classify(r, res, &v);
    vidx__task_scratch(r, w->task, scratch, sizeof(scratch));
    if (v.status <= VIDX_VIDEO_PARTIAL && !vidx__record_will_stage(r, res)) {
        vidx__wire_result_free(res); /* the disk is full: the video is left for the next run */
        ret = disk_full(r, w->task);
    } else if (v.status <= VIDX_VIDEO_PARTIAL) {
        ret = stage(r, w, &v, res, scratch);
    } else {
        vidx__queue_video(r, w->task, &v);
        ret = recorded(r, &v, w->task, vidx__catalog_record(r->cat, &v));
        vidx__wire_result_free(res);
    }
    vidx__remove_tree(scratch);
    w->task = NULL;
    return ret;
}

int64_t vidx__catalog_file_bytes(const char *out)
{
    static const char *const names[] = {"catalog.db", "catalog.db-wal", "catalog.db-shm"};
    char p[PATH_MAX];
    struct stat st;
    int64_t n = 0;
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(names); i++) {
        snprintf(p, sizeof(p), "%s/%s", out, names[i]);
        if (stat(p, &st) == 0)
            n += (int64_t)st.st_blocks * 512;
    }
    return n;
}

int vidx__record_flush(Run *r, int now)
{
    Committer *c = &r->commit;
    int due = c->n_staged >= GROUP_MAX || vidx__now() - c->first_staged >= GROUP_SECONDS;
    if (c->n_staged > 0 && (now || due)) {
        double t0 = vidx__now();
        int ret = vidx__commit_group(c);
        int64_t cat = vidx__catalog_file_bytes(r->out); /* the rows' pages count too */
        r->used += cat - r->catalog_bytes;
        r->catalog_bytes = cat;
        r->sum.commit_seconds += vidx__now() - t0;
        if (ret < 0 && !r->fatal)
            r->fatal = ret;
    }
    return r->fatal;
}

int vidx__record_due_ms(const Run *r)
{
    const Committer *c = &r->commit;
    if (c->n_staged == 0)
        return -1;
    double left = c->first_staged + GROUP_SECONDS - vidx__now();
    return left > 0 ? (int)(left * 1000.0) + 1 : 0;
}

int64_t vidx__tree_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct stat st;
    char p[PATH_MAX];
    int64_t n = 0;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (lstat(p, &st) < 0)
            continue;
        n += S_ISDIR(st.st_mode) ? vidx__tree_bytes(p) : (int64_t)st.st_blocks * 512;
    }
    if (d)
        closedir(d);
    return n;
}

int vidx__disk_budget_reached(Run *r, int in_flight)
{
    const VidxRunSettings *s = r->set;
    /* What the next video may add: the largest of this run so far and an eighth more (its
     * catalog rows, a larger video; nothing known before the first): the budget is a
     * ceiling, better stopped a video early than one late. */
    int64_t est = r->largest + r->largest / 8;
    int64_t need = est * (in_flight + 1);
    if (s->max_disk > 0 && r->used + need > s->max_disk)
        return 1;
    if (s->min_free > 0) {
        struct statvfs vfs;
        if (statvfs(r->out, &vfs) == 0 &&
            (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize - need < s->min_free)
            return 1;
    }
    return 0;
}
