/*
 * queue.c - the catalog's work queue as the rest of vidx sees it
 * (catalog/queue.h): each call passes on to the implementation's queue ops,
 * and the queue's part of vidx status as JSON.
 */
#include "catalog/queue.h"

#include <errno.h>
#include <string.h>

#include <jansson.h>

/* The queue ops and backend of c; NULL (logged) when its implementation has no queue. */
static const CatalogQueueOps *queue_ops(VidxCatalog *c, CatalogBackend **b)
{
    const CatalogQueueOps *q = vidx__catalog_queue(c, b);
    if (!q)
        vidx__log(VIDX_LOG_ERROR,
                  "the work queue needs a PostgreSQL catalog (--catalog "
                  "postgresql://...); this catalog is %s",
                  vidx__catalog_kind(c));
    return q;
}

int vidx__queue_enqueue(VidxCatalog *c, const char *hash, const char *settings,
                        const char *const *paths, size_t n, int retry, int64_t *added,
                        int64_t *requeued)
{
    CatalogBackend *b;
    const CatalogQueueOps *q = queue_ops(c, &b);
    return q ? q->enqueue(b, hash, settings, paths, n, retry, added, requeued) : VIDX_EUSAGE;
}

int vidx__queue_pending(VidxCatalog *c, int64_t worker, double lease, int64_t *options,
                        char hash[32], char **settings, int64_t *waiting)
{
    CatalogBackend *b;
    const CatalogQueueOps *q = queue_ops(c, &b);
    return q ? q->pending(b, worker, lease, options, hash, settings, waiting) : VIDX_EUSAGE;
}

int vidx__queue_join(VidxCatalog *c, const char *host, int pid, int64_t *worker)
{
    CatalogBackend *b;
    const CatalogQueueOps *q = queue_ops(c, &b);
    return q ? q->join(b, host, pid, worker) : VIDX_EUSAGE;
}

int vidx__queue_heartbeat(VidxCatalog *c, int64_t worker, double lease)
{
    CatalogBackend *b;
    return vidx__catalog_queue(c, &b)->heartbeat(b, worker, lease);
}

int vidx__queue_claim(VidxCatalog *c, int64_t worker, int64_t options, double lease,
                      QueueItem *items, int max)
{
    CatalogBackend *b;
    return vidx__catalog_queue(c, &b)->claim(b, worker, options, lease, items, max);
}

int vidx__queue_expire(VidxCatalog *c, double lease, int max_attempts,
                       void (*fn)(void *, const QueueExpired *), void *opaque)
{
    CatalogBackend *b;
    return vidx__catalog_queue(c, &b)->expire(b, lease, max_attempts, fn, opaque);
}

int vidx__queue_finish(VidxCatalog *c, int64_t id, int64_t fence, QueueState state,
                       const char *cause)
{
    CatalogBackend *b;
    const CatalogQueueOps *q = queue_ops(c, &b);
    return q ? q->finish(b, id, fence, state, cause) : VIDX_EUSAGE;
}

int vidx__queue_leave(VidxCatalog *c, int64_t worker)
{
    CatalogBackend *b;
    return vidx__catalog_queue(c, &b)->leave(b, worker);
}

int vidx__queue_gate(VidxCatalog *c, int on)
{
    CatalogBackend *b;
    const CatalogQueueOps *q = queue_ops(c, &b);
    return q ? q->gate(b, on) : VIDX_EUSAGE;
}

int vidx__queue_status(VidxCatalog *c, const QueueStatusFns *fns)
{
    CatalogBackend *b;
    const CatalogQueueOps *q = vidx__catalog_queue(c, &b);
    return q ? q->status(b, fns) : VIDX_EUSAGE;
}

/* ---------------------------------------------------------------------- */
/* vidx status                                                             */
/* ---------------------------------------------------------------------- */

typedef struct QueueJson {
    json_t *counts, *hosts, *workers, *quarantined;
} QueueJson;

static void json_count(void *opaque, QueueState state, int64_t videos)
{
    QueueJson *j = opaque;
    json_object_set_new(j->counts, vidx__queue_state_name(state), json_integer(videos));
}

static void json_worker(void *opaque, const QueueWorkerRow *w)
{
    QueueJson *j = opaque;
    double per_min = w->seconds > 0 ? 60.0 * (double)(w->done + w->failed) / w->seconds : 0.0;
    json_array_append_new(j->workers,
                          json_pack("{s:I, s:s, s:i, s:s, s:I, s:I, s:I, s:f, s:f}", "id",
                                    (json_int_t)w->id, "host", w->host, "pid", w->pid, "state",
                                    w->state, "running", (json_int_t)w->running, "done",
                                    (json_int_t)w->done, "failed", (json_int_t)w->failed, "seconds",
                                    w->seconds, "videos_per_minute", per_min));
    if (w->running > 0) {
        json_t *h = json_object_get(j->hosts, w->host);
        json_int_t n = (h ? json_integer_value(h) : 0) + w->running;
        json_object_set_new(j->hosts, w->host, json_integer(n));
    }
}

static void json_quarantined(void *opaque, const char *path, int attempts, const char *cause)
{
    QueueJson *j = opaque;
    json_array_append_new(j->quarantined, json_pack("{s:s, s:i, s:s?}", "path", path, "attempts",
                                                    attempts, "cause", cause));
}

int vidx__queue_status_json(VidxCatalog *c, json_t *root)
{
    QueueJson j = {json_object(), json_object(), json_array(), json_array()};
    QueueStatusFns fns = {json_count, json_worker, json_quarantined, &j};
    for (int s = 0; s < QUEUE_STATE_COUNT; s++)
        json_object_set_new(j.counts, vidx__queue_state_name((QueueState)s), json_integer(0));
    int ret = vidx__queue_status(c, &fns);
    if (ret == 0)
        json_object_set_new(root, "queue",
                            json_pack("{s:o, s:o, s:o, s:o}", "counts", j.counts, "running_by_host",
                                      j.hosts, "workers", j.workers, "quarantined", j.quarantined));
    else {
        json_decref(j.counts), json_decref(j.hosts);
        json_decref(j.workers), json_decref(j.quarantined);
    }
    return ret == VIDX_EUSAGE ? 0 : ret; /* no queue in this database: nothing to say */
}
