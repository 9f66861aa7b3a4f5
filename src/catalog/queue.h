/*
 * queue.h - the work queue of a cluster run: videos waiting for any number
 * of `vidx worker` processes, in the catalog's own database (PostgreSQL), so
 * a video's results and its completion commit in one transaction.
 *
 * A worker joins (a row in queue_workers), claims small batches of queued
 * videos with FOR UPDATE SKIP LOCKED, and holds each under a lease that its
 * heartbeat renews. Every claim draws a new fencing token: finishing a video
 * presents it, and is refused when the lease went to someone else meanwhile,
 * so a worker that was stopped or cut off can never record a video twice.
 * Leases that run out put their video back in the queue (or in quarantine
 * after max_attempts claims); workers that stop heartbeating are declared
 * dead, so others can reclaim what they left on disk. Schema and states:
 * docs/CLUSTER.md.
 */
#ifndef VIDX_CATALOG_QUEUE_H
#define VIDX_CATALOG_QUEUE_H

#include "catalog/catalog.h"

/* A queue row's state. */
typedef enum QueueState {
    QUEUE_QUEUED = 0,
    QUEUE_RUNNING,
    QUEUE_DONE,        /* recorded ok or partial (or found done in the catalog) */
    QUEUE_FAILED,      /* recorded as failed or timeout: not retried without --retry */
    QUEUE_QUARANTINED, /* crashed or lost its worker max_attempts times */
    QUEUE_STATE_COUNT
} QueueState;

const char *vidx__queue_state_name(QueueState s);

/* One claimed video. path is the caller's to free. */
typedef struct QueueItem {
    int64_t id, fence;
    int attempts; /* claims so far, this one included */
    char *path;
} QueueItem;

/* What vidx__queue_expire found: a dead worker, or a lease that ran out. */
typedef struct QueueExpired {
    int64_t worker; /* the worker that held it / that died */
    const char *host;
    /* A lease (path non-NULL): the attempt that lost it, and where the video went. */
    const char *path;
    int64_t fence;
    QueueState state; /* QUEUE_QUEUED or QUEUE_QUARANTINED */
} QueueExpired;

/* vidx status: counts by state; per worker. */
typedef struct QueueWorkerRow {
    int64_t id;
    const char *host, *state; /* alive, dead, gone */
    int pid;
    int64_t running, done, failed;
    double seconds; /* from joining to its last heartbeat */
} QueueWorkerRow;
typedef struct QueueStatusFns {
    void (*count)(void *opaque, QueueState state, int64_t videos);
    void (*worker)(void *opaque, const QueueWorkerRow *w);
    void (*quarantined)(void *opaque, const char *path, int attempts, const char *cause);
    void *opaque;
} QueueStatusFns;

/*
 * The implementation's queue statements (NULL in implementations without a
 * queue). Return values as in VidxCatalogOps unless said.
 */
typedef struct CatalogQueueOps {
    /* Adds paths with their options set (hash, settings JSON) in one transaction;
     * *added: rows new; retry: failed/quarantined rows go back to the queue (*requeued). */
    int (*enqueue)(CatalogBackend *b, const char *hash, const char *settings,
                   const char *const *paths, size_t n, int retry, int64_t *added,
                   int64_t *requeued);
    /* An options set with queued videos: 1 (id, hash, *settings malloc'd), 0 none;
     * *waiting: videos claimed and not finished, by anyone, plus the workers other
     * than worker whose heartbeat is older than lease / 2 (they may be dead: their
     * leftovers are cleaned up only once they are declared so). */
    int (*pending)(CatalogBackend *b, int64_t worker, double lease, int64_t *options, char hash[32],
                   char **settings, int64_t *waiting);
    int (*join)(CatalogBackend *b, const char *host, int pid, int64_t *worker);
    /* Renews the worker's leases: 1, or 0 when it was declared dead meanwhile. */
    int (*heartbeat)(CatalogBackend *b, int64_t worker, double lease);
    /* Claims up to max queued videos of options; returns how many (items filled). */
    int (*claim)(CatalogBackend *b, int64_t worker, int64_t options, double lease, QueueItem *items,
                 int max);
    /* Runs out expired leases and declares dead workers, recording what each leaves to
     * clean up; then calls fn for pending clean-ups (anyone's), forgetting each only
     * in the commit after fn returned. Returns how many fn saw. */
    int (*expire)(CatalogBackend *b, double lease, int max_attempts,
                  void (*fn)(void *, const QueueExpired *), void *opaque);
    /* Inside a transaction: sets a claimed video's state (QUEUED puts it back).
     * 1 done, 0 refused: the lease with this fence is no longer held. */
    int (*finish)(CatalogBackend *b, int64_t id, int64_t fence, QueueState state,
                  const char *cause);
    /* The worker leaves: what it holds and did not finish goes back, unpenalised. */
    int (*leave)(CatalogBackend *b, int64_t worker);
    int (*status)(CatalogBackend *b, const QueueStatusFns *fns); /* 0, or VIDX_EUSAGE: no queue */
    /* Takes (on) or releases the workers' start gate: one worker at a time claims and
     * binds the shared output folder, whatever machine it runs on. */
    int (*gate)(CatalogBackend *b, int on);
} CatalogQueueOps;

extern const CatalogQueueOps vidx__pg_queue;

/* The catalog's queue (VIDX_EUSAGE, logged, when its implementation has none). */
int vidx__queue_enqueue(VidxCatalog *c, const char *hash, const char *settings,
                        const char *const *paths, size_t n, int retry, int64_t *added,
                        int64_t *requeued);
int vidx__queue_pending(VidxCatalog *c, int64_t worker, double lease, int64_t *options,
                        char hash[32], char **settings, int64_t *waiting);
int vidx__queue_join(VidxCatalog *c, const char *host, int pid, int64_t *worker);
int vidx__queue_heartbeat(VidxCatalog *c, int64_t worker, double lease);
int vidx__queue_claim(VidxCatalog *c, int64_t worker, int64_t options, double lease,
                      QueueItem *items, int max);
int vidx__queue_expire(VidxCatalog *c, double lease, int max_attempts,
                       void (*fn)(void *, const QueueExpired *), void *opaque);
int vidx__queue_finish(VidxCatalog *c, int64_t id, int64_t fence, QueueState state,
                       const char *cause);
int vidx__queue_leave(VidxCatalog *c, int64_t worker);
int vidx__queue_status(VidxCatalog *c, const QueueStatusFns *fns);
int vidx__queue_gate(VidxCatalog *c, int on);

/* Adds "queue" to vidx status's JSON: counts by state, running by host, the
 * workers with their throughput, the quarantined videos with their cause. */
typedef struct json_t json_t;
int vidx__queue_status_json(VidxCatalog *c, json_t *root);

#endif
