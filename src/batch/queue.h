/*
 * queue.h - vidx enqueue and vidx worker: a batch run fed by the work queue
 * of a PostgreSQL catalog (catalog/queue.h) instead of an input list.
 *
 * The worker is the supervisor of vidx run (run.c) with three differences,
 * all here: its tasks come from claims made while it runs (a few ahead of
 * its idle worker processes); each task carries its claim, which the catalog
 * finishes in the transaction that records the video; and it shares OUT with
 * the other workers, so everything it writes is named after its worker id or
 * its claim (scratch w<id>/, shards w<id>-NNNNNN.tar, frame folders keyed by
 * path and fencing token) and the dead workers it finds are cleaned up after
 * by name, never by guessing.
 */
#ifndef VIDX_BATCH_QUEUE_H
#define VIDX_BATCH_QUEUE_H

#include "batch/state.h"

typedef struct QueueRun QueueRun;

/* The supervisor's hooks (run.c, record.c); all no-ops without a queue. */

/* Heartbeat, lease expiry, and claims for idle workers. VIDX_ELEASE: this
 * worker was declared dead meanwhile (every claim it held is void). */
int vidx__queue_tick(Run *r);
/* 1 when the last claim found nothing for this run. */
int vidx__queue_drained(const Run *r);
/* Sets v's queue fields from t's claim and v's status (final, again, or quarantined). */
void vidx__queue_video(const Run *r, const Task *t, CatalogVideo *v);
/* t's claim was lost (VIDX_ELEASE) or its group undone: hands it back if still held. */
int vidx__queue_lost(Run *r, const Task *t);
/* This worker's scratch folder name and shard name prefix. */
const char *vidx__queue_scratch_name(const Run *r);
const char *vidx__queue_shard_prefix(const Run *r);

#endif
