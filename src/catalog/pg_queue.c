/*
 * pg_queue.c - the work queue's statements on PostgreSQL (catalog/queue.h).
 *
 * Tables (created on first use, under an advisory lock so that workers
 * starting together do not race):
 *   queue_options(id, hash UNIQUE, settings)   one row per set of job options
 *   queue(id, path, options, state, attempts, fence, worker, lease_until,
 *         last_error, enqueued, started, finished)  UNIQUE(path, options)
 *   queue_workers(id, host, pid, state, joined, seen, done, failed)
 *   sequence queue_fence                          one fencing token per claim
 * Claims take the oldest queued rows of one options set through a partial
 * index on (options, id) WHERE state = 'queued', so a claim costs the same
 * with ten thousand or a million rows waiting; expiry walks a partial index
 * on running leases. Every statement is parameterised.
 */
#include "catalog/queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "catalog/pg.h"

static const char *const state_names[] = {"queued", "running", "done", "failed", "quarantined"};

const char *vidx__queue_state_name(QueueState s)
{
    return (unsigned)s < QUEUE_STATE_COUNT ? state_names[s] : "unknown";
}

static QueueState state_parse(const char *name)
{
    for (int i = 0; i < QUEUE_STATE_COUNT; i++)
        if (!strcmp(name, state_names[i]))
            return (QueueState)i;
    return QUEUE_FAILED;
}

static const char schema_sql[] =
    "SELECT pg_advisory_xact_lock(7746001);"
    "CREATE TABLE IF NOT EXISTS queue_options(id BIGSERIAL PRIMARY KEY, hash TEXT NOT NULL UNIQUE,"
    " settings TEXT NOT NULL, created TIMESTAMPTZ NOT NULL DEFAULT now());"
    "CREATE SEQUENCE IF NOT EXISTS queue_fence;"
    "CREATE TABLE IF NOT EXISTS queue_workers(id BIGSERIAL PRIMARY KEY, host TEXT NOT NULL,"
    " pid INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'alive',"
    " joined TIMESTAMPTZ NOT NULL DEFAULT now(), seen TIMESTAMPTZ NOT NULL DEFAULT now(),"
    " done BIGINT NOT NULL DEFAULT 0, failed BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS queue(id BIGSERIAL PRIMARY KEY, path TEXT NOT NULL,"
    " options BIGINT NOT NULL REFERENCES queue_options(id), state TEXT NOT NULL DEFAULT 'queued',"
    " attempts INTEGER NOT NULL DEFAULT 0, fence BIGINT NOT NULL DEFAULT 0, worker BIGINT,"
    " lease_until TIMESTAMPTZ, last_error TEXT, enqueued TIMESTAMPTZ NOT NULL DEFAULT now(),"
    " started TIMESTAMPTZ, finished TIMESTAMPTZ, UNIQUE(path, options));"
    "CREATE INDEX IF NOT EXISTS queue_ready ON queue(options, id) WHERE state = 'queued';"
    "CREATE INDEX IF NOT EXISTS queue_leases ON queue(lease_until) WHERE state = 'running';"
    "CREATE INDEX IF NOT EXISTS queue_held ON queue(worker) WHERE state = 'running';"
    "CREATE INDEX IF NOT EXISTS queue_state ON queue(state);";

/* Creates the queue's tables when missing (one transaction). */
static int ensure_schema(CatalogBackend *b)
{
    int ret = vidx__pg_begin(b);
    if (ret == 0 && (ret = vidx__pg_exec_script(b, schema_sql)) == 0)
        return vidx__pg_commit(b);
    vidx__pg_rollback(b);
    return ret;
}

/* A PostgreSQL text[] literal of paths (every element quoted). */
static char *array_literal(const char *const *paths, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += 2 * strlen(paths[i]) + 3;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = '"';
        for (const char *c = paths[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                *p++ = '\\';
            *p++ = *c;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = 0;
    return s;
}

static int options_id(CatalogBackend *b, const char *hash, const char *settings, char id[24])
{
    const char *p[] = {hash, settings};
    PGresult *res = NULL;
    int ret = vidx__pg_query(b,
                             "INSERT INTO queue_options(hash, settings) VALUES($1, $2) "
                             "ON CONFLICT (hash) DO UPDATE SET hash = EXCLUDED.hash RETURNING id",
                             2, p, &res);
    if (ret == 0)
        snprintf(id, 24, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return ret;
}

#define ENQUEUE_CHUNK 5000

/* One chunk of paths: added rows, and with retry the finished ones put back. */
static int enqueue_chunk(CatalogBackend *b, const char *id, const char *const *paths, size_t n,
                         int retry, int64_t *added, int64_t *requeued)
{
    char *arr = array_literal(paths, n);
    const char *p[] = {arr, id};
    int64_t rows;
    if (!arr)
        return -ENOMEM;
    int ret = vidx__pg_command(b,
                               "INSERT INTO queue(path, options) SELECT unnest($1::text[]), $2 "
                               "ON CONFLICT (path, options) DO NOTHING",
                               2, p, &rows);
    *added += rows;
    if (ret == 0 && retry) {
        ret = vidx__pg_command(b,
                               "UPDATE queue SET state = 'queued', attempts = 0, last_error = NULL,"
                               " worker = NULL, finished = NULL WHERE options = $2"
                               " AND path = ANY($1::text[]) AND state IN ('failed', 'quarantined')",
                               2, p, &rows);
        *requeued += rows;
    }
    free(arr);
    return ret;
}

static int pg_enqueue(CatalogBackend *b, const char *hash, const char *settings,
                      const char *const *paths, size_t n, int retry, int64_t *added,
                      int64_t *requeued)
{
    char id[24];
    *added = *requeued = 0;
    int ret = ensure_schema(b);
    if (ret == 0)
        ret = vidx__pg_begin(b);
    if (ret == 0)
        ret = options_id(b, hash, settings, id);
    for (size_t i = 0; i < n && ret == 0; i += ENQUEUE_CHUNK)
        ret = enqueue_chunk(b, id, paths + i, VIDX_MIN(n - i, (size_t)ENQUEUE_CHUNK), retry, added,
                            requeued);
    if (ret == 0)
        return vidx__pg_commit(b);
    vidx__pg_rollback(b);
    return ret;
}

static int waiting_count(CatalogBackend *b, int64_t worker, double lease, int64_t *waiting)
{
    char w[24], l[32];
    const char *p[] = {w, l};
    PGresult *res = NULL;
    snprintf(w, sizeof(w), "%lld", (long long)worker);
    snprintf(l, sizeof(l), "%.3f", lease / 2);
    int ret = vidx__pg_query(b,
                             "SELECT (SELECT count(*) FROM queue WHERE state = 'running') +"
                             " (SELECT count(*) FROM queue_workers WHERE state = 'alive'"
                             "  AND id <> $1 AND seen < now() - $2 * interval '1 second')",
                             2, p, &res);
    if (ret == 0)
        *waiting = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return ret;
}

static int pg_pending(CatalogBackend *b, int64_t worker, double lease, int64_t *options,
                      char hash[32], char **settings, int64_t *waiting)
{
    PGresult *res = NULL;
    *settings = NULL;
    *waiting = 0;
    int ret = waiting_count(b, worker, lease, waiting);
    if (ret == 0)
        ret = vidx__pg_query(b,
                             "SELECT o.id, o.hash, o.settings FROM queue q JOIN queue_options o"
                             " ON o.id = q.options WHERE q.state = 'queued'"
                             " ORDER BY q.options, q.id LIMIT 1",
                             0, NULL, &res);
    if (ret == 0 && PQntuples(res) == 1) {
        *options = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(hash, 32, "%s", PQgetvalue(res, 0, 1));
        *settings = strdup(PQgetvalue(res, 0, 2));
        ret = *settings ? 1 : -ENOMEM;
    }
    PQclear(res);
    return ret;
}

static int pg_join(CatalogBackend *b, const char *host, int pid, int64_t *worker)
{
    char spid[16];
    const char *p[] = {host, spid};
    PGresult *res = NULL;
    snprintf(spid, sizeof(spid), "%d", pid);
    int ret = ensure_schema(b);
    if (ret == 0)
        ret = vidx__pg_query(b, "INSERT INTO queue_workers(host, pid) VALUES($1, $2) RETURNING id",
                             2, p, &res);
    if (ret == 0) {
        *worker = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
    }
    return ret;
}

static int pg_heartbeat(CatalogBackend *b, int64_t worker, double lease)
{
    char w[24], l[32];
    const char *p[] = {w, l};
    PGresult *res = NULL;
    snprintf(w, sizeof(w), "%lld", (long long)worker);
    snprintf(l, sizeof(l), "%.3f", lease);
    int ret = vidx__pg_query(b,
                             "WITH w AS (UPDATE queue_workers SET seen = now()"
                             "  WHERE id = $1 AND state = 'alive' RETURNING id),"
                             " l AS (UPDATE queue SET lease_until = now() + $2 * interval '1 second'"
                             "  WHERE worker = $1 AND state = 'running' AND EXISTS (SELECT 1 FROM w))"
                             " SELECT count(*) FROM w",
                             2, p, &res);
    if (ret == 0) {
        ret = atoi(PQgetvalue(res, 0, 0)) > 0;
        PQclear(res);
    }
    return ret;
}

static int pg_claim(CatalogBackend *b, int64_t worker, int64_t options, double lease,
                    QueueItem *items, int max)
{
    char w[24], o[24], l[32], m[16];
    const char *p[] = {w, o, m, l};
    PGresult *res = NULL;
    snprintf(w, sizeof(w), "%lld", (long long)worker);
    snprintf(o, sizeof(o), "%lld", (long long)options);
    snprintf(m, sizeof(m), "%d", max);
    snprintf(l, sizeof(l), "%.3f", lease);
    int ret = vidx__pg_query(
        b,
        "WITH c AS (SELECT id FROM queue WHERE state = 'queued' AND options = $2"
        "  ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)"
        " UPDATE queue q SET state = 'running', worker = $1, fence = nextval('queue_fence'),"
        "  attempts = q.attempts + 1, lease_until = now() + $4 * interval '1 second',"
        "  started = now() FROM c WHERE q.id = c.id RETURNING q.id, q.fence, q.attempts, q.path",
        4, p, &res);
    if (ret < 0)
        return ret;
    int n = PQntuples(res);
    for (int i = 0; i < n && i < max; i++) {
        items[i].id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        items[i].fence = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        items[i].attempts = atoi(PQgetvalue(res, i, 2));
        items[i].path = strdup(PQgetvalue(res, i, 3));
    }
    PQclear(res);
    return n;
}

static int expire_workers(CatalogBackend *b, const char *lease,
                          void (*fn)(void *, const QueueExpired *), void *opaque)
{
    const char *p[] = {lease};
    PGresult *res = NULL;
    int ret = vidx__pg_query(b,
                             "UPDATE queue_workers SET state = 'dead' WHERE state = 'alive'"
                             " AND seen < now() - $1 * interval '1 second' RETURNING id, host",
                             1, p, &res);
    if (ret < 0)
        return ret;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        QueueExpired e = {.worker = strtoll(PQgetvalue(res, i, 0), NULL, 10),
                          .host = PQgetvalue(res, i, 1)};
        fn(opaque, &e);
    }
    PQclear(res);
    return n;
}

static int expire_leases(CatalogBackend *b, const char *max,
                         void (*fn)(void *, const QueueExpired *), void *opaque)
{
    const char *p[] = {max};
    PGresult *res = NULL;
    int ret = vidx__pg_query(
        b,
        "WITH x AS (SELECT id, worker, fence FROM queue WHERE state = 'running'"
        "  AND lease_until < now() ORDER BY lease_until LIMIT 1000 FOR UPDATE SKIP LOCKED)"
        " UPDATE queue q SET state = CASE WHEN q.attempts >= $1 THEN 'quarantined'"
        "  ELSE 'queued' END, lease_until = NULL, finished = CASE WHEN q.attempts >= $1"
        "  THEN now() END, last_error = 'its worker stopped holding it (killed, machine lost or"
        " cut off) on attempt ' || q.attempts || coalesce('; before: ' || q.last_error, '')"
        " FROM x WHERE q.id = x.id"
        " RETURNING x.worker, q.path, x.fence, q.state, (SELECT host FROM queue_workers"
        "  WHERE id = x.worker)",
        1, p, &res);
    if (ret < 0)
        return ret;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        QueueExpired e = {.worker = strtoll(PQgetvalue(res, i, 0), NULL, 10),
                          .path = PQgetvalue(res, i, 1),
                          .fence = strtoll(PQgetvalue(res, i, 2), NULL, 10),
                          .state = state_parse(PQgetvalue(res, i, 3)),
                          .host = PQgetvalue(res, i, 4)};
        fn(opaque, &e);
    }
    PQclear(res);
    return n;
}

static int pg_expire(CatalogBackend *b, double lease, int max_attempts,
                     void (*fn)(void *, const QueueExpired *), void *opaque)
{
    char l[32], m[16];
    snprintf(l, sizeof(l), "%.3f", lease);
    snprintf(m, sizeof(m), "%d", max_attempts);
    int ret = vidx__pg_begin(b), a = 0, w = 0;
    if (ret == 0 && (a = expire_leases(b, m, fn, opaque)) >= 0 &&
        (w = expire_workers(b, l, fn, opaque)) >= 0 && (ret = vidx__pg_commit(b)) == 0)
        return a + w;
    vidx__pg_rollback(b);
    return ret < 0 ? ret : a < 0 ? a : w;
}

static int pg_finish(CatalogBackend *b, int64_t id, int64_t fence, QueueState state,
                     const char *cause)
{
    char i[24], f[24];
    const char *p[] = {i, f, vidx__queue_state_name(state), cause};
    PGresult *res = NULL;
    snprintf(i, sizeof(i), "%lld", (long long)id);
    snprintf(f, sizeof(f), "%lld", (long long)fence);
    int ret = vidx__pg_query(
        b,
        "WITH f AS (UPDATE queue SET state = $3, last_error = $4, lease_until = NULL,"
        "  finished = CASE WHEN $3 = 'queued' THEN NULL ELSE now() END"
        "  WHERE id = $1 AND fence = $2 AND state = 'running' RETURNING worker),"
        " w AS (UPDATE queue_workers SET done = done + ($3 = 'done')::int,"
        "  failed = failed + ($3 IN ('failed', 'quarantined'))::int FROM f"
        "  WHERE queue_workers.id = f.worker)"
        " SELECT count(*) FROM f",
        4, p, &res);
    if (ret == 0) {
        ret = atoi(PQgetvalue(res, 0, 0)) > 0;
        PQclear(res);
    }
    return ret;
}

static int pg_leave(CatalogBackend *b, int64_t worker)
{
    char w[24];
    const char *p[] = {w};
    int64_t rows;
    snprintf(w, sizeof(w), "%lld", (long long)worker);
    return vidx__pg_command(b,
                            "WITH r AS (UPDATE queue SET state = 'queued', lease_until = NULL,"
                            "  attempts = greatest(attempts - 1, 0)"
                            "  WHERE worker = $1 AND state = 'running')"
                            " UPDATE queue_workers SET state = 'gone', seen = now()"
                            " WHERE id = $1 AND state = 'alive'",
                            1, p, &rows);
}

static int status_counts(CatalogBackend *b, const QueueStatusFns *fns)
{
    PGresult *res = NULL;
    int ret = vidx__pg_query(b, "SELECT state, count(*) FROM queue GROUP BY state", 0, NULL, &res);
    for (int i = 0; ret == 0 && i < PQntuples(res); i++)
        fns->count(fns->opaque, state_parse(PQgetvalue(res, i, 0)),
                   strtoll(PQgetvalue(res, i, 1), NULL, 10));
    PQclear(res);
    return ret;
}

static int status_workers(CatalogBackend *b, const QueueStatusFns *fns)
{
    PGresult *res = NULL;
    int ret = vidx__pg_query(
        b,
        "SELECT w.id, w.host, w.pid, w.state, w.done, w.failed,"
        " extract(epoch FROM w.seen - w.joined),"
        " (SELECT count(*) FROM queue q WHERE q.worker = w.id AND q.state = 'running')"
        " FROM queue_workers w ORDER BY w.id",
        0, NULL, &res);
    for (int i = 0; ret == 0 && i < PQntuples(res); i++) {
        QueueWorkerRow w = {.id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
                            .host = PQgetvalue(res, i, 1),
                            .pid = atoi(PQgetvalue(res, i, 2)),
                            .state = PQgetvalue(res, i, 3),
                            .done = strtoll(PQgetvalue(res, i, 4), NULL, 10),
                            .failed = strtoll(PQgetvalue(res, i, 5), NULL, 10),
                            .seconds = strtod(PQgetvalue(res, i, 6), NULL),
                            .running = strtoll(PQgetvalue(res, i, 7), NULL, 10)};
        fns->worker(fns->opaque, &w);
    }
    PQclear(res);
    return ret;
}

static int status_quarantined(CatalogBackend *b, const QueueStatusFns *fns)
{
    PGresult *res = NULL;
    int ret = vidx__pg_query(b,
                             "SELECT path, attempts, last_error FROM queue"
                             " WHERE state = 'quarantined' ORDER BY id LIMIT 1000",
                             0, NULL, &res);
    for (int i = 0; ret == 0 && i < PQntuples(res); i++)
        fns->quarantined(fns->opaque, PQgetvalue(res, i, 0), atoi(PQgetvalue(res, i, 1)),
                         PQgetvalue(res, i, 2));
    PQclear(res);
    return ret;
}

static int pg_status(CatalogBackend *b, const QueueStatusFns *fns)
{
    PGresult *res = NULL;
    int ret = vidx__pg_query(b, "SELECT to_regclass('queue') IS NOT NULL", 0, NULL, &res);
    int have = ret == 0 && !strcmp(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    if (ret < 0 || !have)
        return ret < 0 ? ret : VIDX_EUSAGE;
    if ((ret = status_counts(b, fns)) == 0 && (ret = status_workers(b, fns)) == 0)
        ret = status_quarantined(b, fns);
    return ret;
}

const CatalogQueueOps vidx__pg_queue = {
    .enqueue = pg_enqueue,
    .pending = pg_pending,
    .join = pg_join,
    .heartbeat = pg_heartbeat,
    .claim = pg_claim,
    .expire = pg_expire,
    .finish = pg_finish,
    .leave = pg_leave,
    .status = pg_status,
};
