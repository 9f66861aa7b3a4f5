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
#include "batch/run.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <jansson.h>
#include <libavutil/error.h>

#include "batch/worker.h"
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
    json_t *result; /* owns the strings v and recs borrow */
    VidxFrameRecord *recs;
    int64_t added;
} Pending;

void vidx__task_scratch(const Run *r, const Task *t, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", r->scratch, t->key);
}

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
                       .seconds = v->seconds};
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
    int ret = vidx__catalog_record(r->cat, &v);
    if (ret == -ENOSPC)
        ret = disk_full(r, w->task);
    else if (ret == 0)
        count_video(r, &v, NULL);
    w->task = NULL;
    return ret;
}

VidxFrameRecord *vidx__record_parse_frames(json_t *arr, size_t *n)
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
        snprintf(f->sha256, sizeof(f->sha256), "%s", json_string_value(json_array_get(a, 9)) ?: "");
        f->phash = (uint64_t)json_integer_value(json_array_get(a, 10));
        f->dup_of = json_integer_value(json_array_get(a, 11));
        f->tar_offset = json_integer_value(json_array_get(a, 12));
        f->tar_size = json_integer_value(json_array_get(a, 13));
    }
    return recs;
}

void vidx__record_classify(const Run *r, json_t *o, CatalogVideo *v, int code)
{
    int partial = json_is_true(json_object_get(o, "partial"));
    v->status = code ? VIDX_VIDEO_FAILED : partial ? VIDX_VIDEO_PARTIAL : VIDX_VIDEO_OK;
    if (code == AVERROR(ENOMEM) && r->set->max_memory > 0)
        v->error_class = "memory";
    else if (code)
        v->error_class = json_string_value(json_object_get(o, "class"));
    else
        v->error_class = partial ? "decode" : NULL;
    v->error = v->status != VIDX_VIDEO_OK ? json_string_value(json_object_get(o, "message")) : NULL;
}

void vidx__record_audio(json_t *o, CatalogVideo *v, const char **name)
{
    json_t *audio = json_object_get(o, "audio");
    *name = NULL;
    if (!audio)
        return;
    *name = json_string_value(json_object_get(audio, "path"));
    v->audio_rate = (int)json_integer_value(json_object_get(audio, "rate"));
    v->audio_channels = (int)json_integer_value(json_object_get(audio, "channels"));
    v->audio_duration = json_real_value(json_object_get(audio, "duration"));
}

/* The store failed (an I/O error of OUT's filesystem): the run stops, nothing is lost. */
static int store_failed(const Task *t, int err)
{
    vidx__log(VIDX_LOG_ERROR, "%s: storing the frames failed: %s; stopping", t->path,
              vidx_strerror(err));
    return err;
}

void vidx__record_settled(void *run, void *owner, int ret)
{
    Run *r = run;
    Pending *p = owner;
    if (ret == 0)
        count_video(r, &p->v, p->recs);
    if (ret < 0) { /* nothing of it stays */
        r->used -= p->added;
        r->added -= p->added;
        r->committed--;
    }
    if (ret == -ENOSPC)
        ret = disk_full(r, p->task);
    else if (ret < 0 && ret != VIDX_ECATALOG && ret != VIDX_EINTERRUPTED)
        ret = store_failed(p->task, ret);
    if (ret < 0 && !r->fatal)
        r->fatal = ret;
    json_decref(p->result);
    free(p->recs);
    free(p);
}

/* Stages a video whose worker produced frames (ok or partial); takes o. */
static int stage(Run *r, const Worker *w, CatalogVideo *v, json_t *o, const char *scratch)
{
    Pending *p = calloc(1, sizeof(*p));
    if (!p || !(p->recs = vidx__record_parse_frames(json_object_get(o, "frames"), &v->n_frames))) {
        free(p);
        json_decref(o);
        return -ENOMEM;
    }
    CommitInput in = {.recs = p->recs,
                      .n = v->n_frames,
                      .scratch = scratch,
                      .shard = r->shard_slots ? w->shard : NULL,
                      .tar_end = json_integer_value(json_object_get(o, "tar_end"))};
    vidx__record_audio(o, v, &in.audio_name);
    v->probe_json = json_string_value(json_object_get(o, "probe"));
    p->task = w->task;
    p->v = *v;
    p->result = o;
    double t0 = vidx__now();
    int64_t added = vidx__commit_stage(&r->commit, v, &in, p);
    r->sum.commit_seconds += vidx__now() - t0;
    if (added >= 0) {
        p->added = added;
        r->used += added;
        r->committed++;
        r->added += added;
        return 0;
    }
    int ret = added == -ENOSPC ? disk_full(r, w->task) : store_failed(w->task, (int)added);
    json_decref(o);
    free(p->recs);
    free(p);
    return ret;
}

static int result_code(json_t *o)
{
    return (int)json_integer_value(json_object_get(o, "status"));
}

int vidx__record_will_stage(const Run *r, json_t *o)
{
    return o && result_code(o) == 0 && r->sum.disk_stop != 2;
}

int vidx__record_result(Run *r, Worker *w, json_t *o)
{
    CatalogVideo v;
    char scratch[PATH_MAX];
    int ret;
    if (!o)
        return vidx__record_abnormal(r, w, VIDX_VIDEO_CRASHED, "crash", "unreadable worker result");
    int code = result_code(o);
    if (code == AVERROR(ENOSPC) || code == AVERROR(EDQUOT)) {
        json_decref(o);
        ret = disk_full(r, w->task);
        w->task = NULL;
        return ret;
    }
    base_video(r, w, &v);
    vidx__record_classify(r, o, &v, code);
    vidx__task_scratch(r, w->task, scratch, sizeof(scratch));
    if (v.status <= VIDX_VIDEO_PARTIAL && !vidx__record_will_stage(r, o)) {
        json_decref(o); /* the disk is full: the video is left for the next run */
        ret = disk_full(r, w->task);
    } else if (v.status <= VIDX_VIDEO_PARTIAL) {
        ret = stage(r, w, &v, o, scratch);
    } else {
        ret = vidx__catalog_record(r->cat, &v);
        if (ret == -ENOSPC)
            ret = disk_full(r, w->task);
        else if (ret == 0)
            count_video(r, &v, NULL);
        json_decref(o);
    }
    vidx__remove_tree(scratch);
    w->task = NULL;
    return ret;
}

int vidx__record_flush(Run *r, int now)
{
    Committer *c = &r->commit;
    int due = c->n_staged >= GROUP_MAX || vidx__now() - c->first_staged >= GROUP_SECONDS;
    if (c->n_staged > 0 && (now || due)) {
        double t0 = vidx__now();
        int ret = vidx__commit_group(c);
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
    /* What the next video will probably add: the mean so far (nothing known before the first). */
    int64_t est = r->committed > 0 ? r->added / r->committed : 0;
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
