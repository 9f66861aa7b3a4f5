/*
 * commit.c - see commit.h. The order is what makes a crash harmless: stage
 * (moved or appended, not yet durable) -> sync (durable) -> one catalog
 * transaction for the group -> scratch removed. A crash before the catalog
 * commit leaves either scratch (removed at the next start), frame
 * directories no video owns (removed at the next start) or an uncommitted
 * shard tail (cut at the next start); after it, the group is complete.
 */
#include "batch/commit.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/fs.h"
#include "store/owned.h"

struct Staged {
    CatalogVideo v;
    StoreVideo sv;
    StoreItem *items;
    CatalogFrame *cf;
    char audio[512];
    void *owner;
    CatalogRendition *rend; /* the renditions, paths relative to OUT (in paths) */
    char *paths;
    char rend_dir[PATH_MAX + 128]; /* OUT/transcode/<key> once moved there, else "" */
};

typedef struct Recover {
    char **names; /* shards the catalog lists with nothing committed */
    size_t n, cap;
    const char *out;
    const char *prefix; /* only shards whose file name starts so ("" all) */
    int next;           /* one past the highest number among them */
} Recover;

static int recover_shard(void *opaque, const char *name, int64_t size)
{
    Recover *r = opaque;
    int number;
    if (strncmp(name, "shards/", 7) || strncmp(name + 7, r->prefix, strlen(r->prefix)))
        return 0;
    if (sscanf(name + 7 + strlen(r->prefix), "%d", &number) == 1 && number >= r->next)
        r->next = number + 1;
    if (size > 0)
        return vidx__shard_recover(r->out, name, size);
    if (vidx__grow(&r->names, &r->cap, r->n + 1, sizeof(*r->names), 8) < 0)
        return -ENOMEM;
    if (!(r->names[r->n] = strdup(name)))
        return -ENOMEM;
    r->n++;
    return 0;
}

static int claim_shard(void *cat, const char *name, int claim)
{
    return vidx__catalog_shard_claim(cat, name, claim);
}

/*
 * Shards: cut uncommitted tails, drop shards nothing was committed to. Only
 * shards the catalog records are vidx's: a file in shards/ it does not list is
 * never touched.
 */
static int recover_shards(Store *st, VidxCatalog *cat, const char *prefix)
{
    Recover rec = {.out = st->out, .prefix = prefix};
    int ret = vidx__catalog_shards(cat, recover_shard, &rec);
    st->next_shard = VIDX_MAX(st->next_shard, rec.next);
    for (size_t i = 0; i < rec.n; i++) {
        if (ret == 0)
            ret = vidx__shard_remove_empty(st, rec.names[i]);
        free(rec.names[i]);
    }
    free(rec.names);
    return ret;
}

int vidx__committer_recover(Committer *c, const char *prefix)
{
    return c->store.ops == &vidx__store_shards ? recover_shards(&c->store, c->cat, prefix) : 0;
}

int vidx__committer_open(Committer *c, const char *out, const VidxRunSettings *s, VidxCatalog *cat,
                         const char *shard_prefix, CommitSettled settled, void *ctx)
{
    memset(c, 0, sizeof(*c));
    c->cat = cat;
    c->settled = settled;
    c->settled_ctx = ctx;
    c->dedup_exact = s->dedup_exact;
    c->ext = vidx_image_extension(s->job.format);
    c->store.ops = s->layout == VIDX_LAYOUT_SHARDS ? &vidx__store_shards : &vidx__store_files;
    c->store.out = out;
    c->store.shard_bytes = s->shard_bytes > 0 ? s->shard_bytes : (int64_t)1 << 30;
    c->store.shard_samples = s->shard_samples;
    c->store.claim_shard = claim_shard;
    c->store.claim_ctx = cat;
    c->store.shard_prefix = shard_prefix ? shard_prefix : "";
    int ret = vidx__catalog_layout(cat, c->store.ops->name);
    if (ret == 0 && s->layout == VIDX_LAYOUT_SHARDS) /* the files layout leaves shards/ alone */
        ret = recover_shards(&c->store, cat, c->store.shard_prefix);
    if (ret == 0)
        ret = c->store.ops->open(&c->store);
    return ret;
}

/* Where content sha256 went in a video staged earlier in this group (--dedup-exact). */
static int staged_blob(const Committer *c, const char *sha256, char *location, size_t size,
                       int64_t *offset)
{
    for (size_t k = 0; k < c->n_staged; k++) {
        const Staged *g = c->staged[k];
        for (size_t i = 0; i < g->sv.n_items; i++) {
            const StoreItem *it = &g->items[i];
            if (it->store && !strcmp(it->rec->sha256, sha256)) {
                snprintf(location, size, "%s", it->location);
                *offset = it->offset;
                return 1;
            }
        }
    }
    return 0;
}

/* Decides for each frame whether the store gets it, or it points at existing content. */
static void plan_items(Committer *c, StoreItem *items, CatalogFrame *cf,
                       const VidxFrameRecord *recs, size_t n, const char *scratch)
{
    char path[PATH_MAX];
    for (size_t i = 0; i < n; i++) {
        StoreItem *it = &items[i];
        it->rec = &recs[i];
        it->offset = -1;
        it->store = recs[i].path != NULL;
        cf[i] = (CatalogFrame){.rec = &recs[i], .offset = -1};
        if (!it->store || !c->dedup_exact)
            continue;
        int found = vidx__catalog_blob(c->cat, recs[i].sha256, it->location, sizeof(it->location),
                                       &it->offset) ||
                    staged_blob(c, recs[i].sha256, it->location, sizeof(it->location), &it->offset);
        int same_file = 0;
        for (size_t k = 0; k < i && !found; k++) /* same content earlier in this video */
            if (items[k].store && !strcmp(recs[k].sha256, recs[i].sha256)) {
                found = 1;
                same_file = !strcmp(recs[k].path, recs[i].path); /* one frame, two targets */
                it->offset = -2 - (int64_t)k;                    /* resolved after staging */
            }
        if (found) {
            it->store = 0;
            snprintf(path, sizeof(path), "%s/%s", scratch, recs[i].path);
            if (!same_file)
                unlink(path);
        }
        cf[i].new_blob = !found;
    }
}

static void resolve_locations(StoreItem *items, CatalogFrame *cf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        StoreItem *it = &items[i];
        if (it->offset <= -2) { /* points at an earlier item of the same video */
            const StoreItem *src = &items[-2 - it->offset];
            snprintf(it->location, sizeof(it->location), "%s", src->location);
            it->offset = src->offset;
        }
        cf[i].location = it->rec->path ? it->location : NULL;
        cf[i].offset = it->offset;
    }
}

static int64_t file_size(const char *out, const char *rel)
{
    char p[PATH_MAX];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", out, rel);
    return stat(p, &st) == 0 ? st.st_size : 0;
}

static void free_staged(Staged *g)
{
    if (!g)
        return;
    free(g->rend);
    free(g->paths);
    free(g->items);
    free(g->cf);
    free(g);
}

static Staged *new_staged(Committer *c, const CatalogVideo *v, size_t n, void *owner)
{
    if (vidx__grow(&c->staged, &c->cap_staged, c->n_staged + 1, sizeof(*c->staged), 16) < 0)
        return NULL;
    Staged *g = calloc(1, sizeof(*g));
    if (g) {
        g->items = calloc(n ? n : 1, sizeof(*g->items));
        g->cf = calloc(n ? n : 1, sizeof(*g->cf));
        g->v = *v;
        g->owner = owner;
    }
    if (!g || !g->items || !g->cf) {
        free_staged(g);
        return NULL;
    }
    return g;
}

/* What the catalog records of a staged video besides the worker's fields. */
static void catalog_fields(Committer *c, Staged *g, size_t n, const char *audio_name)
{
    CatalogVideo *v = &g->v;
    resolve_locations(g->items, g->cf, n);
    v->frames = g->cf;
    v->n_frames = n;
    if (audio_name) {
        snprintf(g->audio, sizeof(g->audio), "%s/%s", g->sv.video_dir, audio_name);
        v->audio_path = g->audio;
        v->audio_bytes = file_size(c->store.out, g->audio);
    }
    v->shard_name = g->sv.shard_state.name;
    v->shard_size = g->sv.shard_state.size;
    v->shard_samples = g->sv.shard_state.samples;
}

/* The renditions' rows with their paths under OUT/transcode/<key>/. */
static int rendition_rows(Staged *g, const CommitInput *in)
{
    size_t len = 0, klen = strlen(g->v.key) + strlen("transcode//");
    for (size_t i = 0; i < in->n_renditions; i++)
        len += klen + strlen(in->renditions[i].path) + 1;
    g->rend = calloc(in->n_renditions, sizeof(*g->rend));
    char *q = g->paths = malloc(len + 1);
    if (!g->rend || !q)
        return -ENOMEM;
    for (size_t i = 0; i < in->n_renditions; i++) {
        g->rend[i] = in->renditions[i];
        g->rend[i].path = q;
        q += sprintf(q, "transcode/%s/%s", g->v.key, in->renditions[i].path) + 1;
    }
    g->v.renditions = g->rend;
    g->v.n_renditions = in->n_renditions;
    return 0;
}

/* Moves SCRATCH/transcode to OUT/transcode/<key> (an earlier run's renditions there go first). */
static int stage_renditions(Committer *c, Staged *g, const CommitInput *in)
{
    char from[PATH_MAX], dir[PATH_MAX], to[PATH_MAX + 128];
    if (!in->n_renditions)
        return 0;
    int ret = rendition_rows(g, in);
    snprintf(from, sizeof(from), "%s/transcode", in->scratch);
    snprintf(dir, sizeof(dir), "%s/transcode", c->store.out);
    snprintf(to, sizeof(to), "%s/%s", dir, g->v.key);
    if (ret == 0 && (ret = vidx__mkdirs(dir)) == 0 && vidx__remove_rendition_tree(to) != 0)
        ret = vidx__detail(VIDX_ENOTOURS, "%s holds files vidx did not make", to);
    if (ret == 0 && rename(from, to) < 0)
        ret = vidx__detail(-errno, "moving the renditions to %s%s", to,
                           errno == EXDEV ? " (--scratch must be on OUT's filesystem)" : "");
    if (ret == 0) {
        snprintf(g->rend_dir, sizeof(g->rend_dir), "%s", to);
        c->renditions_staged = 1;
    }
    return ret;
}

static void unstage_renditions(Staged *g)
{
    if (g->rend_dir[0])
        vidx__remove_rendition_tree(g->rend_dir);
}

int64_t vidx__commit_stage(Committer *c, const CatalogVideo *v, const CommitInput *in, void *owner)
{
    const VidxFrameRecord *recs = in->recs;
    size_t n = in->n;
    const char *scratch = in->scratch;
    Staged *g = new_staged(c, v, n, owner);
    if (!g)
        return -ENOMEM;
    plan_items(c, g->items, g->cf, recs, n, scratch);
    for (size_t i = 0; i < n; i++) /* shards: where the worker wrote each sample */
        g->items[i].sample = in->spans ? in->spans[i] : (TarSpan){-1, 0};
    g->sv = (StoreVideo){.key = v->key,
                         .scratch = scratch,
                         .items = g->items,
                         .n_items = n,
                         .blobs = c->dedup_exact,
                         .ext = c->ext,
                         .tar_end = in->tar_end};
    snprintf(g->sv.shard, sizeof(g->sv.shard), "%s", in->shard ? in->shard : "");
    int ret = stage_renditions(c, g, in);
    if (ret == 0 && (ret = c->store.ops->stage(&c->store, &g->sv)) < 0)
        unstage_renditions(g);
    g->sv.scratch = NULL; /* the caller's, and gone now */
    if (ret < 0) {
        free_staged(g);
        return ret;
    }
    catalog_fields(c, g, n, in->audio_name);
    for (size_t i = 0; i < g->v.n_renditions; i++)
        g->sv.bytes_added += g->v.renditions[i].bytes;
    if (c->n_staged == 0)
        c->first_staged = vidx__now();
    c->staged[c->n_staged++] = g;
    vidx__fault("store");
    return g->sv.bytes_added;
}

/* Reports how the group ended to each video's owner (ret; 0: recorded) and empties it. */
static void settle_all(Committer *c, int ret)
{
    for (size_t i = 0; i < c->n_staged; i++) {
        if (ret == 0)
            vidx__fault("record");
        c->settled(c->settled_ctx, c->staged[i]->owner, ret);
        free_staged(c->staged[i]);
    }
    c->n_staged = 0;
}

/* Times a group's transaction is redone when the catalog's connection was lost in it. */
#define COMMIT_RETRIES 5

/* The group's rows in one transaction. */
static int record_group(Committer *c)
{
    int ret = vidx__catalog_begin(c->cat);
    for (size_t i = 0; i < c->n_staged && ret == 0; i++) {
        ret = vidx__fault_nospace("catalog");
        if (ret == 0)
            ret = vidx__catalog_put(c->cat, &c->staged[i]->v);
    }
    if (ret == 0)
        return vidx__catalog_commit(c->cat);
    vidx__catalog_rollback(c->cat);
    return ret;
}

/* Bucket outputs: the group's own files go up before the catalog names them. */
static int upload_dirs(Committer *c)
{
    int ret = 0;
    for (size_t i = 0; i < c->n_staged && ret == 0 && c->upload_dir; i++)
        if (c->staged[i]->sv.video_dir[0])
            ret = c->upload_dir(c->upload_ctx, c->staged[i]->sv.video_dir);
    return ret;
}

/* Bucket outputs: the group's files are recorded (local copies go); the shards' committed
 * bytes go up; a full shard is closed and completed. */
static int upload_shards(Committer *c)
{
    int ret = 0;
    for (size_t i = 0; i < c->n_staged && c->uploaded_dir; i++)
        if (c->staged[i]->sv.video_dir[0])
            c->uploaded_dir(c->upload_ctx, c->staged[i]->sv.video_dir);
    for (size_t i = 0; i < c->n_staged && ret == 0 && c->upload_shard; i++) {
        const CatalogVideo *v = &c->staged[i]->v;
        if (v->shard_name && v->shard_name[0])
            ret = c->upload_shard(c->upload_ctx, v->shard_name, v->shard_size, v->shard_samples);
    }
    return ret;
}

int vidx__commit_group(Committer *c)
{
    char dir[PATH_MAX];
    if (c->n_staged == 0)
        return 0;
    int ret = c->store.ops->sync(&c->store);
    snprintf(dir, sizeof(dir), "%s/transcode", c->store.out);
    if (ret == 0 && c->renditions_staged && (ret = vidx__fsync_dir(dir)) == 0)
        c->renditions_staged = 0;
    for (size_t i = 0; i < c->n_staged && ret == 0; i++)
        vidx__fault("sync");
    if (ret == 0)
        ret = upload_dirs(c);
    if (ret == 0)
        ret = record_group(c);
    for (int tries = 0; ret == -EAGAIN && tries < COMMIT_RETRIES; tries++)
        ret = record_group(c); /* the catalog's connection was lost in it: nothing committed */
    if (ret == -EAGAIN)
        ret = VIDX_ECATALOG;
    if (ret < 0) {
        vidx__commit_abandon(c, ret);
        return ret == VIDX_ECATALOG ? ret : 0;
    }
    ret = upload_shards(c);
    settle_all(c, 0);
    return ret;
}

void vidx__commit_abandon(Committer *c, int ret)
{
    for (size_t i = c->n_staged; i-- > 0;) { /* newest first */
        c->store.ops->rollback(&c->store, &c->staged[i]->sv);
        unstage_renditions(c->staged[i]);
    }
    settle_all(c, ret);
}

int vidx__committer_finish(Committer *c)
{
    return c->store.ops ? c->store.ops->finish(&c->store) : 0;
}

void vidx__committer_close(Committer *c)
{
    if (c->store.ops) {
        vidx__commit_abandon(c, VIDX_EINTERRUPTED);
        c->store.ops->close(&c->store);
    }
    c->store.ops = NULL;
    free(c->staged);
    c->staged = NULL;
}
