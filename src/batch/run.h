/*
 * run.h - the state of one batch run, shared by the supervisor's process
 * management (run.c) and its recording of results (record.c).
 */
#ifndef VIDX_BATCH_RUN_H
#define VIDX_BATCH_RUN_H

#include <sys/types.h>

#include <jansson.h>

#include "batch/commit.h"
#include "core/internal.h"

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
    int64_t used;      /* bytes under OUT (frames, shards, audio, catalog) */
    int64_t committed; /* videos committed in this run, for the per-video estimate */
    int64_t added;     /* bytes they added */
    char options[32];
    Task *tasks;
    size_t n_tasks, next_task;
    Worker *workers;
    int n_workers, threads;
    int shard_slots; /* workers append to shards of their own (shards, no --dedup-exact) */
    VidxRunSummary sum;
    int fatal; /* a catalog failure while settling a group ends the run */
    double t0;
    int lock_fd; /* OUT's one-writer lock (store/outdir.h) */
} Run;

void vidx__run_emit(Run *r, VidxRunEventType type, const VidxRunEvent *video);

/*
 * Worker w reported "R <json>" (o, parsed; NULL if it was not JSON, taken
 * over): stage its video or record its failure. w is the worker as it was
 * when the video was sent (its task, its shard and offset).
 */
int vidx__record_result(Run *r, Worker *w, json_t *o);
/* The parts of a worker's result (wire format, see worker.c): the frames
 * array (strings borrowed from arr; free the array), the status with its
 * class and message, and the audio fields. */
VidxFrameRecord *vidx__record_parse_frames(json_t *arr, size_t *n);
void vidx__record_classify(const Run *r, json_t *o, CatalogVideo *v, int code);
void vidx__record_audio(json_t *o, CatalogVideo *v, const char **name);
/* 1 when the video that result o reports will be staged (so its shard moves on). */
int vidx__record_will_stage(const Run *r, json_t *o);
/* Commits the staged group when it is due, or at once with now. Returns 0 or a fatal error. */
int vidx__record_flush(Run *r, int now);
/* Milliseconds until the staged group is due; -1 when nothing is staged. */
int vidx__record_due_ms(const Run *r);
/* How a staged video's group ended (the committer's CommitSettled). */
void vidx__record_settled(void *run, void *owner, int ret);
/* Worker w's video ended without a result (crash, timeout, unschedulable). */
int vidx__record_abnormal(Run *r, Worker *w, VidxVideoStatus st, const char *cls, const char *msg);
/* Scratch directory of a task. */
void vidx__task_scratch(const Run *r, const Task *t, char *out, size_t size);
/* Disk budget: 1 when starting another video could cross --max-disk or --min-free. */
int vidx__disk_budget_reached(Run *r, int in_flight);
/* Bytes under dir (recursive). */
int64_t vidx__tree_bytes(const char *dir);

#endif
