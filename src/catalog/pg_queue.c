/*
 * pg_queue.c - the work queue's statements on PostgreSQL (catalog/queue.h),
 * on the catalog's own connection (catalog/pg.h).
 *
 * Tables (created on first use, under an advisory lock so that workers
 * starting together do not race):
 *   queue_options(id, hash UNIQUE, settings)   one row per set of job options
 *   queue(id, path, options, state, attempts, fence, claim, worker,
 *         lease_until, last_error, enqueued, started, finished)
 *         UNIQUE(path, options)
 *   queue_workers(id, host, pid, state, joined, seen, done, failed)
 *   sequence queue_fence                          one fencing token per claim
 * Claims take the oldest queued rows of one options set through a partial
 * index on (options, id) WHERE state = 'queued', so a claim costs the same
 * with ten thousand or a million rows waiting; expiry walks a partial index
 * on running leases. Every statement is parameterised.
 *
 * A lost connection (pg.h) may hide whether a statement took effect, so the
 * statements are idempotent: a claim carries a token and, run again, returns
 * what the first run took instead of taking more; finishing a video that is
 * already finished with the same fence and state says yes again; the queue's
 * own transactions (enqueue, expiry) are redone from the start on -EAGAIN,
 * and expiry reports what it ran out only after its commit.
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

static const char *const schema[] = {
    "SELECT pg_advisory_xact_lock(7746001)",
    "CREATE TABLE IF NOT EXISTS queue_options(id BIGSERIAL PRIMARY KEY, hash TEXT NOT NULL UNIQUE,"
    " settings TEXT NOT NULL, created TIMESTAMPTZ NOT NULL DEFAULT now())",
    "CREATE SEQUENCE IF NOT EXISTS queue_fence",
    "CREATE TABLE IF NOT EXISTS queue_workers(id BIGSERIAL PRIMARY KEY, host TEXT NOT NULL,"
    " pid INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'alive',"
    " joined TIMESTAMPTZ NOT NULL DEFAULT now(), seen TIMESTAMPTZ NOT NULL DEFAULT now(),"
    " done BIGINT NOT NULL DEFAULT 0, failed BIGINT NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS queue(id BIGSERIAL PRIMARY KEY, path TEXT NOT NULL,"
    " options BIGINT NOT NULL REFERENCES queue_options(id), state TEXT NOT NULL DEFAULT 'queued',"
    " attempts INTEGER NOT NULL DEFAULT 0, fence BIGINT NOT NULL DEFAULT 0, claim TEXT,"
    " worker BIGINT, lease_until TIMESTAMPTZ, last_error TEXT,"
    " enqueued TIMESTAMPTZ NOT NULL DEFAULT now(), started TIMESTAMPTZ, finished TIMESTAMPTZ,"
    " UNIQUE(path, options))",
    "CREATE INDEX IF NOT EXISTS queue_ready ON queue(options, id) WHERE state = 'queued'",
    "CREATE INDEX IF NOT EXISTS queue_leases ON queue(lease_until) WHERE state = 'running'",
    "CREATE INDEX IF NOT EXISTS queue_held ON queue(worker) WHERE state = 'running'",
    "CREATE INDEX IF NOT EXISTS queue_claims ON queue(claim) WHERE state = 'running'",
    "CREATE INDEX IF NOT EXISTS queue_state ON queue(state)",
    "CREATE TABLE IF NOT EXISTS queue_cleanup(id BIGSERIAL PRIMARY KEY, worker BIGINT,"
    " host TEXT, path TEXT, fence BIGINT, state TEXT)",
};

/* One transaction of the queue's own: fn between BEGIN and COMMIT, redone when the
 * connection was lost meanwhile (-EAGAIN), a few times. */
static int transaction(CatalogBackend *b, int (*fn)(CatalogBackend *, void *), void *ctx)
{
    const VidxCatalogOps *ops = &vidx__catalog_postgres;
    int ret = -EAGAIN;
    for (int tries = 0; tries < 5 && ret == -EAGAIN; tries++) {
        ret = ops->begin(b);
        if (ret == 0)
            ret = fn(b, ctx);
        if (ret == 0)
            ret = ops->commit(b);
        else
            ops->rollback(b);
    }
    return ret;
}

static int create_tables(CatalogBackend *b, void *ctx)
{
    (void)ctx;
    int ret = 0;
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(schema) && ret == 0; i++)
        ret = vidx__pg_exec(b, "creating the queue", schema[i], 0, NULL, NULL);
    return ret;
}

/* Creates the queue's tables when missing. */
static int ensure_schema(CatalogBackend *b)
{
    PGresult *res = NULL;
    int ret = vidx__pg_exec(b, "looking for the queue",
                            "SELECT to_regclass('queue_cleanup') IS NOT NULL", 0, NULL, &res);
    int have = ret == 0 && !strcmp(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    if (ret < 0 || have)
        return ret;
    return transaction(b, create_tables, NULL);
}

/* A statement answering with one count: 1 when it is above zero, 0 when not, or < 0. */
static int count_above_zero(CatalogBackend *b, const char *what, const char *sql, const PgParams *p)
{
    PGresult *res = NULL;
    int ret = vidx__pg_exec(b, what, sql, p->n, p->v, &res);
    if (ret == 0)
        ret = vidx__pg_get_i64(res, 0, 0) > 0;
    PQclear(res);
    return ret;
}

/* A statement whose rows are not needed: how many it touched. */
static int command(CatalogBackend *b, const char *what, const char *sql, const PgParams *p,
                   int64_t *rows)
{
    PGresult *res = NULL;
    int ret = vidx__pg_exec(b, what, sql, p->n, p->v, &res);
    *rows = ret == 0 ? strtoll(PQcmdTuples(res), NULL, 10) : 0;
    PQclear(res);
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
    PgParams p = {0};
    PGresult *res = NULL;
    vidx__pg_text(&p, hash);
    vidx__pg_text(&p, settings);
    int ret = vidx__pg_exec(b, "enqueue",
                            "INSERT INTO queue_options(hash, settings) VALUES($1, $2) "
                            "ON CONFLICT (hash) DO UPDATE SET hash = EXCLUDED.hash RETURNING id",
                            p.n, p.v, &res);
    if (ret == 0)
        snprintf(id, 24, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return ret;
}

#define ENQUEUE_CHUNK 5000

typedef struct Enqueue {
    const char *hash, *settings;
    const char *const *paths;
    size_t n;
    int retry;
    int64_t added, requeued;
} Enqueue;

/* One chunk of paths: added rows, and with retry the finished ones put back. */
static int enqueue_chunk(CatalogBackend *b, Enqueue *e, const char *id, size_t from, size_t n)
{
    char *arr = array_literal(e->paths + from, n);
    PgParams p = {0};
    int64_t rows;
    if (!arr)
        return -ENOMEM;
    vidx__pg_text(&p, arr);
    vidx__pg_text(&p, id);
    int ret = command(b, "enqueue",
                      "INSERT INTO queue(path, options) SELECT unnest($1::text[]), $2 "
                      "ON CONFLICT (path, options) DO NOTHING",
                      &p, &rows);
    e->added += rows;
    if (ret == 0 && e->retry) {
        ret = command(b, "enqueue --retry",
                      "UPDATE queue SET state = 'queued', attempts = 0, last_error = NULL,"
                      " worker = NULL, finished = NULL WHERE options = $2"
                      " AND path = ANY($1::text[]) AND state IN ('failed', 'quarantined')",
                      &p, &rows);
        e->requeued += rows;
    }
    free(arr);
    return ret;
}

static int enqueue_all(CatalogBackend *b, void *ctx)
{
    Enqueue *e = ctx;
    char id[24];
    e->added = e->requeued = 0;
    int ret = options_id(b, e->hash, e->settings, id);
    for (size_t i = 0; i < e->n && ret == 0; i += ENQUEUE_CHUNK)
        ret = enqueue_chunk(b, e, id, i, VIDX_MIN(e->n - i, (size_t)ENQUEUE_CHUNK));
    return ret;
}

static int pg_enqueue(CatalogBackend *b, const char *hash, const char *settings,
                      const char *const *paths, size_t n, int retry, int64_t *added,
                      int64_t *requeued)
{
    Enqueue e = {hash, settings, paths, n, retry, 0, 0};
    int ret = ensure_schema(b);
    if (ret == 0)
        ret = transaction(b, enqueue_all, &e);
    *added = e.added;
    *requeued = e.requeued;
    return ret;
}

static int waiting_count(CatalogBackend *b, int64_t worker, double lease, int64_t *waiting)
{
    PgParams p = {0};
    PGresult *res = NULL;
    vidx__pg_i64(&p, worker);
    vidx__pg_f64(&p, lease / 2);
    int ret = vidx__pg_exec(b, "reading the queue",
                            "SELECT (SELECT count(*) FROM queue WHERE state = 'running') +"
                            " (SELECT count(*) FROM queue_workers WHERE state = 'alive'"
                            "  AND id <> $1 AND seen < now() - $2 * interval '1 second')",
                            p.n, p.v, &res);
    if (ret == 0)
        *waiting = vidx__pg_get_i64(res, 0, 0);
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
        ret = vidx__pg_exec(b, "reading the queue",
                            "SELECT o.id, o.hash, o.settings FROM queue q JOIN queue_options o"
                            " ON o.id = q.options WHERE q.state = 'queued'"
                            " ORDER BY q.options, q.id LIMIT 1",
                            0, NULL, &res);
    if (ret == 0 && PQntuples(res) == 1) {
        *options = vidx__pg_get_i64(res, 0, 0);
        snprintf(hash, 32, "%s", PQgetvalue(res, 0, 1));
        *settings = strdup(PQgetvalue(res, 0, 2));
        ret = *settings ? 1 : -ENOMEM;
    }
    PQclear(res);
    return ret;
}

static int pg_join(CatalogBackend *b, const char *host, int pid, int64_t *worker)
{
    PgParams p = {0};
    PGresult *res = NULL;
    vidx__pg_text(&p, host);
    vidx__pg_i64(&p, pid);
    int ret = ensure_schema(b);
    if (ret == 0)
        ret = vidx__pg_exec(b, "joining the queue",
                            "INSERT INTO queue_workers(host, pid) VALUES($1, $2) RETURNING id", p.n,
                            p.v, &res);
    if (ret == 0)
        *worker = vidx__pg_get_i64(res, 0, 0);
    PQclear(res);
    return ret;
}

static int pg_heartbeat(CatalogBackend *b, int64_t worker, double lease)
{
    PgParams p = {0};
    vidx__pg_i64(&p, worker);
    vidx__pg_f64(&p, lease);
    return count_above_zero(
        b, "heartbeat",
        "WITH w AS (UPDATE queue_workers SET seen = now()"
        "  WHERE id = $1 AND state = 'alive' RETURNING id),"
        " l AS (UPDATE queue SET lease_until = now() + $2 * interval '1 second'"
        "  WHERE worker = $1 AND state = 'running' AND EXISTS (SELECT 1 FROM w))"
        " SELECT count(*) FROM w",
        &p);
}

/*
 * The claim token makes a claim idempotent: run again after a lost connection
 * (pg.h), the statement claims nothing new when rows with its token exist and
 * returns those (the second SELECT sees the snapshot before the UPDATE).
 */
static int pg_claim(CatalogBackend *b, int64_t worker, int64_t options, double lease,
                    QueueItem *items, int max)
{
    static int64_t serial;
    char token[64];
    PgParams p = {0};
    PGresult *res = NULL;
    snprintf(token, sizeof(token), "%lld:%lld", (long long)worker, (long long)++serial);
    vidx__pg_i64(&p, worker);
    vidx__pg_i64(&p, options);
    vidx__pg_i64(&p, max);
    vidx__pg_f64(&p, lease);
    vidx__pg_text(&p, token);
    int ret = vidx__pg_exec(
        b, "claiming videos",
        "WITH c AS (SELECT id FROM queue WHERE state = 'queued' AND options = $2"
        "  AND NOT EXISTS (SELECT 1 FROM queue WHERE claim = $5 AND state = 'running')"
        "  ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED),"
        " u AS (UPDATE queue q SET state = 'running', worker = $1, claim = $5,"
        "  fence = nextval('queue_fence'), attempts = q.attempts + 1,"
        "  lease_until = now() + $4 * interval '1 second', started = now()"
        "  FROM c WHERE q.id = c.id RETURNING q.id, q.fence, q.attempts, q.path)"
        " SELECT id, fence, attempts, path FROM u UNION ALL"
        " SELECT id, fence, attempts, path FROM queue WHERE claim = $5 AND state = 'running'",
        p.n, p.v, &res);
    if (ret < 0)
        return ret;
    int n = VIDX_MIN(PQntuples(res), max);
    for (int i = 0; i < n; i++) {
        items[i].id = vidx__pg_get_i64(res, i, 0);
        items[i].fence = vidx__pg_get_i64(res, i, 1);
        items[i].attempts = (int)vidx__pg_get_i64(res, i, 2);
        items[i].path = strdup(PQgetvalue(res, i, 3));
        if (!items[i].path)
            ret = -ENOMEM;
    }
    PQclear(res);
    if (ret < 0)
        for (int i = 0; i < n; i++)
            free(items[i].path);
    return ret < 0 ? ret : n;
}

/*
 * Expiry in two transactions. The first runs out leases and declares workers
 * dead, and records what each leaves to clean up (queue_cleanup) in the same
 * commit. The second takes pending clean-ups (anyone's, SKIP LOCKED), calls fn
 * for each while holding them, and deletes them in its commit: a worker that
 * dies while cleaning up leaves them to the next one, so nothing a dead
 * worker left is ever forgotten.
 */
static int expire_all(CatalogBackend *b, void *ctx)
{
    const char *const *p = ctx; /* max attempts, lease */
    int ret = vidx__pg_exec(
        b, "expiring leases",
        "WITH x AS (SELECT id, worker, fence FROM queue WHERE state = 'running'"
        "  AND lease_until < now() ORDER BY lease_until LIMIT 1000 FOR UPDATE SKIP LOCKED),"
        " u AS (UPDATE queue q SET state = CASE WHEN q.attempts >= $1::int THEN 'quarantined'"
        "  ELSE 'queued' END, lease_until = NULL, finished = CASE WHEN q.attempts >= $1::int"
        "  THEN now() END, last_error = 'its worker stopped holding it (killed, machine lost or"
        " cut off) on attempt ' || q.attempts || coalesce('; before: ' || q.last_error, '')"
        "  FROM x WHERE q.id = x.id RETURNING x.worker, q.path, x.fence, q.state)"
        " INSERT INTO queue_cleanup(worker, host, path, fence, state) SELECT u.worker,"
        "  (SELECT host FROM queue_workers w WHERE w.id = u.worker), u.path, u.fence, u.state"
        "  FROM u",
        1, p, NULL);
    if (ret == 0)
        ret = vidx__pg_exec(b, "expiring workers",
                            "WITH d AS (UPDATE queue_workers SET state = 'dead' WHERE state ="
                            "  'alive' AND seen < now() - $1 * interval '1 second'"
                            "  RETURNING id, host)"
                            " INSERT INTO queue_cleanup(worker, host) SELECT id, host FROM d",
                            1, p + 1, NULL);
    return ret;
}

typedef struct Cleanup {
    void (*fn)(void *, const QueueExpired *);
    void *opaque;
    int n;
} Cleanup;

static int cleanup_all(CatalogBackend *b, void *ctx)
{
    Cleanup *c = ctx;
    PGresult *res = NULL;
    c->n = 0;
    int ret = vidx__pg_exec(b, "cleaning up after workers",
                            "DELETE FROM queue_cleanup WHERE id IN (SELECT id FROM queue_cleanup"
                            "  ORDER BY id LIMIT 200 FOR UPDATE SKIP LOCKED)"
                            " RETURNING worker, host, path, fence, state",
                            0, NULL, &res);
    for (int i = 0; ret == 0 && i < PQntuples(res); i++, c->n++) {
        const char *state = vidx__pg_get(res, i, 4);
        QueueExpired e = {.worker = vidx__pg_get_i64(res, i, 0),
                          .host = vidx__pg_get(res, i, 1),
                          .path = vidx__pg_get(res, i, 2),
                          .fence = vidx__pg_get_i64(res, i, 3),
                          .state = state ? state_parse(state) : QUEUE_QUEUED};
        c->fn(c->opaque, &e); /* before the commit that forgets it */
    }
    PQclear(res);
    return ret;
}

static int pg_expire(CatalogBackend *b, double lease, int max_attempts,
                     void (*fn)(void *, const QueueExpired *), void *opaque)
{
    char l[32], m[16];
    const char *p[] = {m, l};
    Cleanup c = {fn, opaque, 0};
    snprintf(l, sizeof(l), "%.3f", lease);
    snprintf(m, sizeof(m), "%d", max_attempts);
    int ret = transaction(b, expire_all, (void *)p);
    if (ret == 0)
        ret = transaction(b, cleanup_all, &c);
    return ret < 0 ? ret : c.n;
}

/* Already finished the same way (a lost connection hid the first commit) counts as yes. */
static int pg_finish(CatalogBackend *b, int64_t id, int64_t fence, QueueState state,
                     const char *cause)
{
    PgParams p = {0};
    vidx__pg_i64(&p, id);
    vidx__pg_i64(&p, fence);
    vidx__pg_text(&p, vidx__queue_state_name(state));
    vidx__pg_text(&p, cause);
    return count_above_zero(
        b, "finishing a video",
        "WITH f AS (UPDATE queue SET state = $3, last_error = $4, lease_until = NULL,"
        "  finished = CASE WHEN $3 = 'queued' THEN NULL ELSE now() END,"
        "  claim = CASE WHEN $3 = 'queued' THEN NULL ELSE claim END"
        "  WHERE id = $1 AND fence = $2 AND state = 'running' RETURNING worker),"
        " w AS (UPDATE queue_workers SET done = done + ($3 = 'done')::int,"
        "  failed = failed + ($3 IN ('failed', 'quarantined'))::int FROM f"
        "  WHERE queue_workers.id = f.worker)"
        " SELECT (SELECT count(*) FROM f) + (SELECT count(*) FROM queue WHERE id = $1"
        "  AND fence = $2 AND state = $3 AND $3 <> 'queued')",
        &p);
}

static int pg_leave(CatalogBackend *b, int64_t worker)
{
    PgParams p = {0};
    int64_t rows;
    vidx__pg_i64(&p, worker);
    return command(b, "leaving the queue",
                   "WITH r AS (UPDATE queue SET state = 'queued', lease_until = NULL, claim = NULL,"
                   "  attempts = greatest(attempts - 1, 0)"
                   "  WHERE worker = $1 AND state = 'running')"
                   " UPDATE queue_workers SET state = 'gone', seen = now()"
                   " WHERE id = $1 AND state = 'alive'",
                   &p, &rows);
}

static int status_counts(CatalogBackend *b, const QueueStatusFns *fns)
{
    PGresult *res = NULL;
    int ret = vidx__pg_exec(b, "status", "SELECT state, count(*) FROM queue GROUP BY state", 0,
                            NULL, &res);
    for (int i = 0; ret == 0 && i < PQntuples(res); i++)
        fns->count(fns->opaque, state_parse(PQgetvalue(res, i, 0)), vidx__pg_get_i64(res, i, 1));
    PQclear(res);
    return ret;
}

static int status_workers(CatalogBackend *b, const QueueStatusFns *fns)
{
    PGresult *res = NULL;
    int ret = vidx__pg_exec(
        b, "status",
        "SELECT w.id, w.host, w.pid, w.state, w.done, w.failed,"
        " extract(epoch FROM w.seen - w.joined),"
        " (SELECT count(*) FROM queue q WHERE q.worker = w.id AND q.state = 'running')"
        " FROM queue_workers w ORDER BY w.id",
        0, NULL, &res);
    for (int i = 0; ret == 0 && i < PQntuples(res); i++) {
        QueueWorkerRow w = {.id = vidx__pg_get_i64(res, i, 0),
                            .host = PQgetvalue(res, i, 1),
                            .pid = (int)vidx__pg_get_i64(res, i, 2),
                            .state = PQgetvalue(res, i, 3),
                            .done = vidx__pg_get_i64(res, i, 4),
                            .failed = vidx__pg_get_i64(res, i, 5),
                            .seconds = strtod(PQgetvalue(res, i, 6), NULL),
                            .running = vidx__pg_get_i64(res, i, 7)};
        fns->worker(fns->opaque, &w);
    }
    PQclear(res);
    return ret;
}

static int status_quarantined(CatalogBackend *b, const QueueStatusFns *fns)
{
    PGresult *res = NULL;
    int ret = vidx__pg_exec(b, "status",
                            "SELECT path, attempts, last_error FROM queue"
                            " WHERE state = 'quarantined' ORDER BY id LIMIT 1000",
                            0, NULL, &res);
    for (int i = 0; ret == 0 && i < PQntuples(res); i++)
        fns->quarantined(fns->opaque, PQgetvalue(res, i, 0), (int)vidx__pg_get_i64(res, i, 1),
                         vidx__pg_get(res, i, 2));
    PQclear(res);
    return ret;
}

static int pg_status(CatalogBackend *b, const QueueStatusFns *fns)
{
    PGresult *res = NULL;
    int ret = vidx__pg_exec(b, "status", "SELECT to_regclass('queue') IS NOT NULL", 0, NULL, &res);
    int have = ret == 0 && !strcmp(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    if (ret < 0 || !have)
        return ret < 0 ? ret : VIDX_EUSAGE;
    if ((ret = status_counts(b, fns)) == 0 && (ret = status_workers(b, fns)) == 0)
        ret = status_quarantined(b, fns);
    return ret;
}

static int pg_gate(CatalogBackend *b, int on)
{
    return vidx__pg_exec(b, "the workers' start gate",
                         on ? "SELECT pg_advisory_lock(7746002)"
                            : "SELECT pg_advisory_unlock(7746002)",
                         0, NULL, NULL);
}

const CatalogQueueOps vidx__pg_queue = {
    .gate = pg_gate,
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
