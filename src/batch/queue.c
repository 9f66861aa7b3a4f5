/*
 * queue.c - vidx enqueue and vidx worker (see queue.h).
 *
 * A worker's life: join the queue (a worker id), then for each options set
 * with queued videos run a session: the supervisor of vidx run with the
 * settings stored with those videos (the worker's own for everything else),
 * whose tasks are claimed as its worker processes go idle. Between and
 * during sessions the worker heartbeats (renewing every lease it holds),
 * runs out the leases of workers that stopped, and cleans up after the dead
 * ones. It leaves when nothing is queued or running anywhere (or, with
 * follow, only when cancelled), handing back whatever it still holds.
 */
#include "batch/queue.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch/inputs.h"
#include "batch/options.h"
#include "batch/run_settings.h"
#include "catalog/queue.h"
#include "core/fingerprint.h"
#include "store/fs.h"
#include "store/outdir.h"
#include "store/owned.h"

#define CLAIM_MAX 32

struct QueueRun {
    const VidxRunSettings *set; /* the worker's own settings */
    const char *out;
    VidxCatalog *cat;
    int lock_fd;
    int64_t worker, options;
    double next_beat, next_expire, next_claim;
    int drained;
    char host[256];
    char scratch_name[32], prefix[32];
    VidxRunSummary sum; /* every session's, added up */
};

const char *vidx__queue_scratch_name(const Run *r)
{
    return r->q->scratch_name;
}

const char *vidx__queue_shard_prefix(const Run *r)
{
    return r->q->prefix;
}

int vidx__queue_drained(const Run *r)
{
    return r->q->drained;
}

/* ---------------------------------------------------------------------- */
/* Cleaning up after workers that stopped                                  */
/* ---------------------------------------------------------------------- */

/* The output key of one claim: the video's key, salted with the claim's fence. */
static void claim_key(const char *path, int64_t fence, char key[96])
{
    char salt[32];
    snprintf(salt, sizeof(salt), "#%lld", (long long)fence);
    vidx__input_key_salted(path, salt, key);
}

/* The names worker id owns in a shared OUT: its scratch folder and its shards' prefix. */
static void worker_names(int64_t id, char scratch[32], char prefix[32])
{
    snprintf(scratch, 32, "w%lld", (long long)id);
    snprintf(prefix, 32, "w%lld-", (long long)id);
}

/* A dead worker's scratch folder and the unfinished tails of its shards. */
static void reap_worker(QueueRun *q, const QueueExpired *e)
{
    char dir[PATH_MAX], scratch[32], prefix[32];
    Committer c = {0};
    vidx__log(VIDX_LOG_ERROR,
              "worker %lld on %s stopped heartbeating: declared dead; its scratch and "
              "unfinished shards are reclaimed",
              (long long)e->worker, e->host ? e->host : "?");
    worker_names(e->worker, scratch, prefix);
    snprintf(dir, sizeof(dir), "%s/.scratch/%s", q->out, scratch);
    vidx__remove_tree(dir);
    if (q->set->layout == VIDX_LAYOUT_SHARDS && /* opening cuts that prefix's shards back */
        vidx__committer_open(&c, q->out, q->set, q->cat, prefix, NULL, NULL) == 0)
        vidx__committer_finish(&c);
    vidx__committer_close(&c); /* nothing when it was not opened */
}

/* A claim whose lease ran out: what it may have moved into frames/ goes. */
static void reap_claim(QueueRun *q, const QueueExpired *e)
{
    char key[96], dir[PATH_MAX + 128];
    vidx__log(VIDX_LOG_ERROR, "%s: the lease of worker %lld (%s) ran out; %s", e->path,
              (long long)e->worker, e->host ? e->host : "?",
              e->state == QUEUE_QUARANTINED ? "quarantined: it has used up its attempts"
                                            : "back in the queue");
    claim_key(e->path, e->fence, key);
    if (vidx__catalog_referenced(q->cat, CATALOG_REF_VIDEO, key) != 0)
        return; /* recorded after all, or the catalog cannot say: left alone */
    snprintf(dir, sizeof(dir), "%s/frames/%s", q->out, key);
    if (vidx__remove_video_dir(dir) > 0)
        vidx__log(VIDX_LOG_ERROR, "%s: holds files vidx did not make; left alone", dir);
}

static void reap(void *opaque, const QueueExpired *e)
{
    if (e->path)
        reap_claim(opaque, e);
    else
        reap_worker(opaque, e);
}

/* Heartbeat and expiry when due. VIDX_ELEASE: this worker was declared dead. */
static int keep_alive(QueueRun *q)
{
    double now = vidx__now(), lease = q->set->lease;
    if (now >= q->next_beat) {
        int alive = vidx__queue_heartbeat(q->cat, q->worker, lease);
        q->next_beat = now + lease / 3;
        if (alive == 0) {
            vidx__log(VIDX_LOG_ERROR,
                      "worker %lld: declared dead by the others (no heartbeat for %.0f s: "
                      "stopped or cut off); its claims went back to the queue",
                      (long long)q->worker, lease);
            return VIDX_ELEASE;
        } /* < 0: the catalog said why; fencing keeps the results exactly once meanwhile */
    }
    if (now >= q->next_expire) {
        vidx__queue_expire(q->cat, lease, q->set->max_attempts, reap, q);
        q->next_expire = now + lease / 2;
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Claims                                                                  */
/* ---------------------------------------------------------------------- */

static void finish_now(Run *r, const Task *t, QueueState state, const char *cause)
{
    if (vidx__catalog_begin(r->cat) == 0 &&
        vidx__queue_finish(r->cat, t->queue_id, t->fence, state, cause) >= 0 &&
        vidx__catalog_commit(r->cat) == 0)
        return;
    vidx__catalog_rollback(r->cat); /* the lease runs out and someone else sees to it */
}

/* A claimed video as a task; already done (same file and options): finished at once. */
static int add_claim(Run *r, QueueItem *it)
{
    CatalogPrior prior;
    int failed;
    Task *t = vidx__task_add(r);
    if (!t) {
        free(it->path);
        return -ENOMEM;
    }
    t->path = t->own_path = it->path;
    t->queue_id = it->id;
    t->fence = it->fence;
    t->attempts = it->attempts;
    vidx__input_identify(t->path, t->fingerprint, &t->size, &t->mtime);
    claim_key(t->path, t->fence, t->key);
    if (vidx__catalog_prior(r->cat, t->path, &prior) < 0)
        return VIDX_ECATALOG;
    if (!vidx__task_is_done(r, t, &prior, &failed))
        return 0;
    finish_now(r, t, failed ? QUEUE_FAILED : QUEUE_DONE, "recorded before it was queued");
    r->sum.skipped++;
    r->sum.skipped_failed += failed;
    free(t->own_path);
    free(r->tasks[--r->n_tasks]);
    return 0;
}

static int idle_workers(const Run *r)
{
    int n = r->n_workers;
    for (int i = 0; i < r->n_workers; i++)
        n -= r->workers[i].task != NULL;
    return n;
}

/* Claims enough for the idle workers and one or two more (started as others finish). */
static int refill(Run *r)
{
    QueueRun *q = r->q;
    QueueItem items[CLAIM_MAX];
    int spare = VIDX_MAX(1, r->n_workers / 4);
    int want = idle_workers(r) + spare - (int)(r->n_tasks - r->next_task);
    if (want <= 0 || r->sum.disk_stop || (r->set->cancel && *r->set->cancel) ||
        (q->drained && vidx__now() < q->next_claim))
        return 0;
    int n = vidx__queue_claim(r->cat, q->worker, q->options, r->set->lease, items,
                              VIDX_MIN(want, CLAIM_MAX));
    if (n < 0)
        return n;
    q->drained = n == 0;
    q->next_claim = vidx__now() + 1.0;
    int ret = 0;
    for (int i = 0; i < n; i++) {
        if (ret == 0)
            ret = add_claim(r, &items[i]);
        else
            free(items[i].path);
    }
    r->sum.total = r->sum.done + r->sum.skipped + (int64_t)(r->n_tasks - r->next_task);
    return ret;
}

int vidx__queue_tick(Run *r)
{
    int ret = keep_alive(r->q);
    return ret < 0 ? ret : refill(r);
}

/* ---------------------------------------------------------------------- */
/* Recording                                                               */
/* ---------------------------------------------------------------------- */

void vidx__queue_video(const Run *r, const Task *t, CatalogVideo *v)
{
    static char cause[512];
    if (!r->q || !t->queue_id)
        return;
    v->queue_id = t->queue_id;
    v->queue_fence = t->fence;
    v->queue_cause = v->error;
    if (v->status <= VIDX_VIDEO_PARTIAL)
        v->queue_state = QUEUE_DONE;
    else if (v->status != VIDX_VIDEO_CRASHED)
        v->queue_state = QUEUE_FAILED;
    else if (t->attempts < r->set->max_attempts)
        v->queue_state = QUEUE_QUEUED; /* another worker tries again */
    else {
        snprintf(cause, sizeof(cause), "quarantined after %d attempts: %s", t->attempts,
                 v->error ? v->error : "crashed");
        v->queue_state = QUEUE_QUARANTINED;
        v->error = v->queue_cause = cause;
    }
    if (v->queue_state == QUEUE_QUEUED)
        vidx__log(VIDX_LOG_ERROR, "%s: %s (attempt %d of %d); back in the queue", t->path,
                  v->error ? v->error : "crashed", t->attempts, r->set->max_attempts);
}

int vidx__queue_lost(Run *r, const Task *t)
{
    vidx__log(VIDX_LOG_ERROR, "%s: not recorded here: %s", t->path, vidx_strerror(VIDX_ELEASE));
    finish_now(r, t, QUEUE_QUEUED, NULL); /* refused unless still ours: then it goes back */
    return 0;
}

/* ---------------------------------------------------------------------- */
/* vidx worker                                                             */
/* ---------------------------------------------------------------------- */

static int join(QueueRun *q)
{
    int ret = vidx__queue_join(q->cat, q->host, (int)getpid(), &q->worker);
    worker_names(q->worker, q->scratch_name, q->prefix);
    q->next_beat = vidx__now() + q->set->lease / 3;
    q->next_expire = 0;
    if (ret == 0)
        vidx__log(VIDX_LOG_INFO, "%s: joined the queue as worker %lld", q->host,
                  (long long)q->worker);
    return ret;
}

static void add_summary(VidxRunSummary *to, const VidxRunSummary *s)
{
    to->done += s->done;
    to->skipped += s->skipped;
    to->skipped_failed += s->skipped_failed;
    for (int i = 0; i < VIDX_VIDEO_SKIPPED; i++)
        to->counts[i] += s->counts[i];
    to->frames += s->frames;
    to->bytes += s->bytes;
    to->commit_seconds += s->commit_seconds;
    to->interrupted |= s->interrupted;
    to->disk_stop = VIDX_MAX(to->disk_stop, s->disk_stop);
    to->total = to->done + to->skipped;
}

/* The settings of options set json, on top of the worker's own; checked against hash. */
static int session_settings(QueueRun *q, const char *hash, const char *json, VidxRunSettings *set,
                            OptionArrays *arrays)
{
    char check[32];
    *set = *q->set;
    int ret = vidx__options_from_json(json, set, arrays);
    if (ret == 0)
        vidx__options_hash(set, check);
    if (ret == 0 && set->dedup_exact) {
        vidx__log(VIDX_LOG_ERROR,
                  "options set %s asks for --dedup-exact, which queue workers "
                  "do not do (see vidx enqueue)",
                  hash);
        return VIDX_EUSAGE;
    }
    if (ret == 0 && set->job.label && (!set->job.label_settings || !set->job.label_settings->url)) {
        vidx__log(VIDX_LOG_ERROR,
                  "options set %s asks for frame labels: give this worker the endpoint "
                  "(vidx worker --label-url URL)",
                  hash);
        return VIDX_EUSAGE;
    }
    if (ret < 0 || strcmp(check, hash)) {
        vidx__log(VIDX_LOG_ERROR,
                  "the queue holds videos enqueued with options this vidx (%s) does not read "
                  "the same way (options set %s); run workers of the version that enqueued them",
                  vidx_version(), hash);
        return VIDX_EUSAGE;
    }
    return 0;
}

/* Every queued video of one options set, with the supervisor of vidx run. */
static int session(QueueRun *q, int64_t options, const char *hash, const char *json)
{
    VidxRunSettings set;
    OptionArrays arrays = {0};
    int ret = session_settings(q, hash, json, &set, &arrays);
    Run r = {.set = &set,
             .out = q->out,
             .t0 = vidx__now(),
             .lock_fd = q->lock_fd,
             .cat = q->cat,
             .q = q};
    snprintf(r.options, sizeof(r.options), "%s", hash);
    q->options = options;
    q->drained = 0;
    if (ret == 0)
        ret = vidx__supervise(&r);
    vidx__supervise_close(&r);
    vidx__option_arrays_free(&arrays);
    add_summary(&q->sum, &r.sum);
    return ret;
}

/* Declared dead: whatever this worker id still owns goes; it joins again, afresh. */
static int rejoin(QueueRun *q)
{
    QueueExpired self = {.worker = q->worker, .host = q->host};
    reap_worker(q, &self);
    return join(q);
}

/*
 * Waits before looking at the queue again: 0.25 s after work, doubling while
 * there is none, up to --poll (and a third of the lease, for the heartbeat).
 * The end of a run (others finishing their last videos) is seen within a
 * fraction of a second; a long wait costs the database little.
 */
static void nap(double *pause, const QueueRun *q)
{
    double s = VIDX_MIN(*pause, VIDX_MIN(q->set->poll, q->set->lease / 3));
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
    *pause = 2 * s;
}

static int cancelled(const QueueRun *q)
{
    return q->set->cancel && *q->set->cancel;
}

static int work_loop(QueueRun *q)
{
    int ret = 0;
    double pause = 0.25;
    while (!cancelled(q)) {
        int64_t options, waiting = 0;
        char hash[32], *json = NULL;
        int found =
            vidx__queue_pending(q->cat, q->worker, q->set->lease, &options, hash, &json, &waiting);
        if (found < 0)
            return found;
        if (found) {
            ret = session(q, options, hash, json);
            free(json);
            pause = 0.25;
            if (ret == VIDX_ELEASE)
                ret = rejoin(q);
            if (ret < 0 || q->sum.disk_stop)
                return ret;
            continue;
        }
        if (!waiting && !q->set->follow) { /* the last clean-ups, whoever left them */
            vidx__queue_expire(q->cat, q->set->lease, q->set->max_attempts, reap, q);
            return 0;
        }
        /* Others still at work (their videos may come back) or maybe dead: wait and see. */
        if ((ret = keep_alive(q)) == VIDX_ELEASE)
            ret = rejoin(q);
        if (ret < 0)
            return ret;
        nap(&pause, q);
    }
    return VIDX_EINTERRUPTED;
}

static int claim_out(QueueRun *q)
{
    char frames[PATH_MAX];
    int ret = vidx__catalog_check_at(q->out, q->set->catalog); /* before anything is written */
    if (ret == 0)
        ret = vidx__outdir_claim(q->out, "run");
    if (ret == 0)
        ret = vidx__outdir_lock_shared(q->out, &q->lock_fd);
    snprintf(frames, sizeof(frames), "%s/frames", q->out);
    if (ret == 0)
        ret = vidx__mkdirs(frames);
    if (ret == 0)
        ret = vidx_catalog_open_at(&q->cat, q->out, q->set->catalog, 0);
    return ret;
}

/*
 * OUT is claimed as a vidx output (the first worker makes it and binds it to
 * the catalog) and shared-locked. Workers that start together, on any
 * machines, pass the start gate (a lock in the database) one at a time.
 */
static int open_out(QueueRun *q)
{
    VidxCatalog *gate = NULL;
    int ret = vidx__catalog_open_url(&gate, q->set->catalog);
    if (ret == 0 && (ret = vidx__queue_gate(gate, 1)) == 0) {
        ret = claim_out(q);
        vidx__queue_gate(gate, 0);
    }
    vidx_catalog_close(&gate);
    return ret;
}

int vidx_work(const char *out, const VidxRunSettings *caller, VidxRunSummary *summary)
{
    VidxRunSettings set;
    QueueRun q = {.set = &set, .out = out, .lock_fd = -1};
    int ret;
    if (!out || !caller)
        return VIDX_EUSAGE;
    if ((ret = vidx__abi_import(&vidx__run_layout, &set, caller)) < 0)
        return ret;
    if (!set.catalog || set.lease <= 0 || set.max_attempts < 1) {
        vidx__log(VIDX_LOG_ERROR, "vidx worker needs a PostgreSQL catalog (--catalog URL), a "
                                  "lease > 0 and at least one attempt");
        return VIDX_EUSAGE;
    }
    if ((set.transcode && *set.transcode) || set.no_frames) { /* the queue says what to make */
        vidx__log(VIDX_LOG_ERROR, "--transcode is not supported with the work queue yet; use "
                                  "vidx run");
        return VIDX_EUSAGE;
    }
    set.retry = 1; /* a queued video is to be done, whatever an earlier run recorded */
    signal(SIGPIPE, SIG_IGN);
    if (gethostname(q.host, sizeof(q.host) - 1) < 0)
        snprintf(q.host, sizeof(q.host), "unknown");
    if ((ret = open_out(&q)) == 0 && (ret = join(&q)) == 0) {
        double t0 = vidx__now();
        ret = work_loop(&q);
        q.sum.seconds = vidx__now() - t0;
        q.sum.interrupted |= ret == VIDX_EINTERRUPTED;
        vidx__queue_leave(q.cat, q.worker); /* what it still holds goes back */
    }
    if (summary)
        *summary = q.sum;
    vidx_catalog_close(&q.cat);
    vidx__outdir_unlock(&q.lock_fd);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* vidx enqueue                                                            */
/* ---------------------------------------------------------------------- */

static int enqueue_list(const VidxRunSettings *s, const InputList *in, VidxEnqueueSummary *sum)
{
    VidxCatalog *cat = NULL;
    char hash[32], *json = NULL;
    const char **paths = malloc((in->n ? in->n : 1) * sizeof(*paths));
    int ret = paths ? vidx__options_to_json(s, &json) : -ENOMEM;
    for (size_t i = 0; paths && i < in->n; i++)
        paths[i] = in->items[i].path;
    vidx__options_hash(s, hash);
    if (ret == 0)
        ret = vidx__catalog_open_url(&cat, s->catalog);
    if (ret == 0)
        ret = vidx__queue_enqueue(cat, hash, json, paths, in->n, s->retry, &sum->added,
                                  &sum->requeued);
    vidx_catalog_close(&cat);
    free(json);
    free(paths);
    return ret;
}

int vidx_enqueue(const char *const *inputs, size_t n, const VidxRunSettings *caller,
                 VidxEnqueueSummary *summary)
{
    VidxRunSettings s;
    VidxEnqueueSummary sum = {0};
    InputList in = {0};
    int ret;
    if (!inputs || !caller)
        return VIDX_EUSAGE;
    if ((ret = vidx__abi_import(&vidx__run_layout, &s, caller)) < 0)
        return ret;
    if (!s.catalog) {
        vidx__log(VIDX_LOG_ERROR, "vidx enqueue needs the queue's catalog: --catalog URL");
        return VIDX_EUSAGE;
    }
    if ((s.transcode && *s.transcode) || s.no_frames) { /* preset files are not in the queue */
        vidx__log(VIDX_LOG_ERROR, "--transcode is not supported with the work queue yet; use "
                                  "vidx run (or vidx slurm without --queue)");
        return VIDX_EUSAGE;
    }
    if (s.dedup_exact) { /* workers would share content-addressed names: one's undo is another's
                            loss */
        vidx__log(VIDX_LOG_ERROR, "--dedup-exact is not supported with the work queue (workers "
                                  "would share content-addressed files); use vidx run");
        return VIDX_EUSAGE;
    }
    in.follow_symlinks = s.follow_symlinks;
    in.audio_files = s.audio_files;
    if ((ret = vidx__inputs_expand(&in, inputs, n, NULL)) == 0) {
        vidx__inputs_sort_unique(&in);
        sum.videos = (int64_t)in.n;
        sum.not_video = in.n_image + in.n_audio + in.n_other;
        sum.duplicates = in.n_duplicates;
        sum.symlinks = in.n_symlinks;
        ret = enqueue_list(&s, &in, &sum);
    }
    vidx__inputs_free(&in);
    if (summary)
        *summary = sum;
    return ret;
}
