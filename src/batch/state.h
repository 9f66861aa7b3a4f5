/*
 * state.h - the state of one batch run, shared by the supervisor's process
 * management (run.c), its recording of results (record.c) and its events
 * (emit.c). Only data and one-line accessors: no module's API lives here.
 */
#ifndef VIDX_BATCH_STATE_H
#define VIDX_BATCH_STATE_H

#include <stdio.h>
#include <sys/types.h>

#include "batch/commit.h"
#include "core/internal.h"
#include "transcode/preset.h"

typedef struct Task {
    const char *path;
    char key[96];
    char fingerprint[64];
    int64_t size, mtime;
    /* vidx worker: the queue row, the claim's fencing token, claims so far (queue.c). */
    int64_t queue_id, fence;
    int attempts;
    char *own_path; /* path, when the task owns it (a claim's) */
} Task;

typedef struct Worker {
    pid_t pid;
    int to, from; /* pipes: tasks out, results in */
    Task *task;   /* current task or NULL when idle */
    double started, deadline;
    double progress; /* when the worker last reported progress on its video */
    /* Shards written by workers: this slot's shard (kept across a worker's
     * replacement) and where its next video's samples go. */
    char shard[64];
    int64_t shard_end, shard_samples;
    char *buf; /* partial line from the worker */
    size_t len, cap;
} Worker;

typedef struct Run {
    const VidxRunSettings *set;
    const char *out;
    char scratch[3800]; /* scratch root (room left for /<key>) */
    VidxCatalog *cat;
    Committer commit;
    int64_t used;          /* bytes under OUT (frames, shards, audio, catalog) */
    int64_t catalog_bytes; /* of them, the SQLite catalog's files when last measured */
    int64_t largest;       /* the most one video of this run added, for the next estimate */
    char options[32];
    Task **tasks; /* to start, from next_task on (each allocated on its own) */
    size_t n_tasks, next_task, cap_tasks;
    struct QueueRun *q; /* vidx worker: the queue this run claims from (queue.c); else NULL */
    Worker *workers;
    int n_workers, threads;
    int shard_slots; /* workers append to shards of their own (shards, no --dedup-exact) */
    VidxRunSummary sum;
    int fatal; /* a catalog failure while settling a group ends the run */
    double t0;
    int lock_fd;          /* OUT's one-writer lock (store/outdir.h) */
    int64_t other_shards; /* inputs left to other shards (--shard) */
    const char *bucket;   /* a bucket output (batch/upload.h): its URL; out is the local DIR */
    struct S3Out *up;     /* and its uploads */
    TcPreset *presets;    /* the transcode stage's (batch/transcode_stage.h), or NULL */
    int n_presets;
} Run;

/* Scratch directory of a task. */
static inline void vidx__task_scratch(const Run *r, const Task *t, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", r->scratch, t->key);
}

/*
 * The supervisor, for a run whose OUT is claimed and locked, catalog open and
 * tasks planned (run.c): prepares scratch and the store, runs the worker pool
 * until no task is left (with a queue: until the queue has none for it), and
 * settles everything. vidx_run and vidx_work (queue.c) both end here.
 */
int vidx__supervise(Run *r);
/* Releases what vidx__supervise and the planning left (tasks, scratch, store). */
void vidx__supervise_close(Run *r);
/* Appends a task (allocated, zeroed) to r's tasks; NULL on -ENOMEM. */
Task *vidx__task_add(Run *r);
/* Whether r already holds task t's result (same file and options), as vidx_run decides. */
int vidx__task_is_done(const Run *r, const Task *t, const CatalogPrior *prior, int *failed);

#endif
