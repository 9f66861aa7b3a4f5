/*
 * commit.c - see commit.h. The order is what makes a crash harmless: store
 * (durable) -> catalog transaction -> scratch removed. A crash before the
 * catalog commit leaves either scratch (removed at the next start) or an
 * uncommitted shard tail (cut at the next start); after it, the video is
 * complete.
 */
#include "batch/commit.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct Recover {
    const char *out;
    char **names; /* shards the catalog lists */
    size_t n;
} Recover;

static int recover_shard(void *opaque, const char *name, int64_t size)
{
    Recover *r = opaque;
    char **names = realloc(r->names, (r->n + 1) * sizeof(*names));
    if (!names)
        return -ENOMEM;
    r->names = names;
    if (!(r->names[r->n] = strdup(name)))
        return -ENOMEM;
    r->n++;
    return vidx__shard_recover(r->out, name, size);
}

static int is_listed(void *opaque, const char *name)
{
    const Recover *r = opaque;
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->names[i], name))
            return 1;
    return 0;
}

/* Shards: cut uncommitted tails, drop shards nothing was committed to. */
static int recover_shards(const char *out, VidxCatalog *cat)
{
    Recover rec = {out, NULL, 0};
    int ret = vidx__catalog_shards(cat, recover_shard, &rec);
    if (ret == 0)
        ret = vidx__shards_remove_unlisted(out, is_listed, &rec);
    for (size_t i = 0; i < rec.n; i++)
        free(rec.names[i]);
    free(rec.names);
    return ret;
}

int vidx__committer_open(Committer *c, const char *out, const VidxRunSettings *s, VidxCatalog *cat)
{
    memset(c, 0, sizeof(*c));
    c->cat = cat;
    c->dedup_exact = s->dedup_exact;
    c->ext = vidx_image_extension(s->job.format);
    c->store.ops = s->layout == VIDX_LAYOUT_SHARDS ? &vidx__store_shards : &vidx__store_files;
    c->store.out = out;
    c->store.shard_bytes = s->shard_bytes > 0 ? s->shard_bytes : (int64_t)1 << 30;
    c->store.shard_samples = s->shard_samples;
    int ret = vidx__catalog_layout(cat, c->store.ops->name);
    if (ret == 0)
        ret = recover_shards(out, cat);
    if (ret == 0)
        ret = c->store.ops->open(&c->store);
    return ret;
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
                                       &it->offset);
        int same_file = 0;
        for (size_t k = 0; k < i && !found; k++) /* same content earlier in this video */
            if (items[k].store && !strcmp(recs[k].sha256, recs[i].sha256)) {
                found = 1;
                same_file = !strcmp(recs[k].path, recs[i].path); /* one frame, two targets */
                it->offset = -2 - (int64_t)k; /* resolved after the store commit */
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

int64_t vidx__commit_video(Committer *c, CatalogVideo *v, const VidxFrameRecord *recs, size_t n,
                           const char *scratch, const char *audio_name)
{
    StoreItem *items = calloc(n ? n : 1, sizeof(*items));
    CatalogFrame *cf = calloc(n ? n : 1, sizeof(*cf));
    char audio[512];
    int64_t ret = -ENOMEM;
    if (!items || !cf)
        goto done;
    plan_items(c, items, cf, recs, n, scratch);
    StoreVideo sv = {.key = v->key,
                     .scratch = scratch,
                     .items = items,
                     .n_items = n,
                     .blobs = c->dedup_exact,
                     .ext = c->ext};
    if ((ret = c->store.ops->commit(&c->store, &sv)) < 0) {
        c->store.ops->rollback(&c->store, &sv); /* e.g. blobs moved before a later failure */
        goto done;
    }
    resolve_locations(items, cf, n);
    v->frames = cf;
    v->n_frames = n;
    if (audio_name) {
        snprintf(audio, sizeof(audio), "%s/%s", sv.video_dir, audio_name);
        v->audio_path = audio;
        v->audio_bytes = file_size(c->store.out, audio);
    }
    v->shard_name = c->store.shard.name;
    v->shard_size = c->store.shard.size;
    v->shard_samples = c->store.shard.samples;
    vidx__fault("store");
    ret = vidx__fault_nospace("catalog");
    if (ret == 0)
        ret = vidx__catalog_record(c->cat, v);
    if (ret == 0)
        vidx__fault("record");
    if (ret < 0)
        c->store.ops->rollback(&c->store, &sv);
    else
        ret = sv.bytes_added;
done:
    free(items);
    free(cf);
    return ret;
}

int vidx__committer_finish(Committer *c)
{
    return c->store.ops ? c->store.ops->finish(&c->store) : 0;
}

void vidx__committer_close(Committer *c)
{
    if (c->store.ops)
        c->store.ops->close(&c->store);
    c->store.ops = NULL;
}
