/*
 * record.h - the supervisor's recording of finished videos (see record.c):
 * staging, group commit, failures, and the disk budget.
 */
#ifndef VIDX_BATCH_RECORD_H
#define VIDX_BATCH_RECORD_H

#include "batch/state.h"
#include "batch/wire.h"

/*
 * Worker w reported its result res (NULL if it was unreadable): stage its
 * video or record its failure; takes over res. w is the worker as it was
 * when the video was sent (its task, its shard and offset).
 */
int vidx__record_result(Run *r, Worker *w, WireResult *res);
/* The status, class and message of a video whose worker reported res. */
void vidx__record_classify(const Run *r, const WireResult *res, CatalogVideo *v);
/* 1 when the video that res reports will be staged (so its shard moves on). */
int vidx__record_will_stage(const Run *r, const WireResult *res);
/* Commits the staged group when it is due, or at once with now. Returns 0 or a fatal error. */
int vidx__record_flush(Run *r, int now);
/* Milliseconds until the staged group is due; -1 when nothing is staged. */
int vidx__record_due_ms(const Run *r);
/* How a staged video's group ended (the committer's CommitSettled). */
void vidx__record_settled(void *run, void *owner, int ret);
/* Worker w's video ended without a result (crash, timeout, unschedulable). */
int vidx__record_abnormal(Run *r, Worker *w, VidxVideoStatus st, const char *cls, const char *msg);
/* Disk budget: 1 when starting another video could cross --max-disk or --min-free. */
int vidx__disk_budget_reached(Run *r, int in_flight);
/* Bytes under dir (recursive). */
int64_t vidx__tree_bytes(const char *dir);
/* Bytes on disk of the SQLite catalog in out (catalog.db and its -wal, -shm); 0 without one. */
int64_t vidx__catalog_file_bytes(const char *out);

#endif
