/*
 * upload.c - see upload.h.
 *
 * DESIGN
 * A bucket output is a local output directory DIR (--catalog DIR: its
 * catalog.db, marker, lock, scratch and the shard store's files, exactly as
 * a local run has them) whose final bytes go to s3://bucket/prefix under the
 * same names (store/s3out.c). The order, per group of videos:
 *
 *   workers write and fsync -> store sync -> the group's video files
 *   (manifest, audio, labels; the frames too in the files layout) PUT ->
 *   catalog commit -> their local copies removed -> the shards' committed
 *   bytes sent as parts -> a shard that is full: closed, its upload
 *   completed, recorded in the catalog's uploads table, local copy removed
 *
 * So a video's own objects exist before the catalog names them, and a shard
 * is recorded as in the bucket only once CompleteMultipartUpload succeeded.
 * A video in a shard not yet uploaded is "pending": the start of every run
 * (and vidx sync) first finishes those uploads from the local copy (cut
 * back to its committed size, so the object is what the catalog says), or,
 * if the local copy is gone, forgets the shard's videos so that they are
 * redone. After that every video the catalog holds is in the bucket, which
 * is why the plan of the run (done or not) needs nothing new. A killed
 * run's multipart uploads are aborted at the next start (only keys vidx
 * names, under a prefix whose marker names this catalog). At the end the
 * catalog is copied (one consistent snapshot) to prefix/catalog.db, only
 * when nothing is pending.
 */
#include "batch/upload.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/outdir.h"
#include "store/owned.h"
#include "store/s3out.h"

#define CATALOG_OBJECT "catalog.db"
#define SNAPSHOT       ".vidx-catalog-upload.db"

int vidx__upload_wanted(const char *out, const VidxRunSettings *s, const char **local)
{
    const char *why = NULL;
    if (!vidx__s3_is_url(out))
        return 0;
    if (!s->catalog || !s->catalog[0])
        why = "a bucket output needs --catalog DIR, a local directory for its catalog and the "
              "shards being uploaded";
    else if (strstr(s->catalog, "://"))
        why = "--catalog of a bucket output is a local directory, not a URL";
    else if (s->layout != VIDX_LAYOUT_SHARDS && s->dedup_exact)
        why = "a bucket output takes --dedup-exact with --layout shards only";
    else if (s->transcode && s->transcode[0]) /* renditions would stay in DIR, never uploaded */
        why = "--transcode does not write to a bucket output yet; transcode to a local OUT";
    if (why) {
        vidx__log(VIDX_LOG_ERROR, "%s: %s (docs/CLOUD.md); nothing was changed", out, why);
        return VIDX_EUSAGE;
    }
    *local = s->catalog;
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Shards closed but not uploaded                                          */
/* ---------------------------------------------------------------------- */

typedef struct Pend {
    char name[64];
    int64_t size;
    int uploaded;
} Pend;

typedef struct Pends {
    Pend *list;
    size_t n, cap;
} Pends;

static int add_shard(void *opaque, const char *name, int64_t size)
{
    Pends *p = opaque;
    if (size <= 0)
        return 0;
    if (vidx__grow(&p->list, &p->cap, p->n + 1, sizeof(*p->list), 16) < 0)
        return -ENOMEM;
    Pend *e = &p->list[p->n++];
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->size = size;
    e->uploaded = 0;
    return 0;
}

static int mark_uploaded(void *opaque, const char *name, int64_t bytes, const char *etag)
{
    Pends *p = opaque;
    (void)bytes, (void)etag;
    for (size_t i = 0; i < p->n; i++)
        p->list[i].uploaded |= !strcmp(p->list[i].name, name);
    return 0;
}

/* The shards with committed videos and no completed upload. */
static int pending(VidxCatalog *cat, Pends *p)
{
    memset(p, 0, sizeof(*p));
    int ret = vidx__catalog_shards(cat, add_shard, p);
    if (ret == 0)
        ret = vidx__catalog_uploads(cat, mark_uploaded, p);
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++)
        if (!p->list[i].uploaded)
            p->list[k++] = p->list[i];
    p->n = k;
    return ret;
}

/* Closes shard name at its committed size, completes its upload, records it, removes it here. */
static int close_shard(VidxCatalog *cat, S3Out *up, const char *local, const char *name,
                       int64_t size)
{
    char path[PATH_MAX], etag[128];
    int64_t bytes = 0;
    int ret = vidx__shard_recover(local, name, size); /* what the catalog says, end blocks */
    if (ret == 0)
        ret = vidx__s3out_complete(up, name, &bytes, etag);
    if (ret == 0)
        ret = vidx__catalog_upload_put(cat, name, bytes, etag);
    snprintf(path, sizeof(path), "%s/%s", local, name);
    if (ret == 0 && unlink(path) < 0)
        vidx__log(VIDX_LOG_WARNING, "%s: uploaded, but not removed here: %s", path,
                  strerror(errno));
    return ret;
}

typedef struct Ids {
    const char *name;
    int64_t *ids;
    size_t n, cap;
} Ids;

static int shard_video(void *opaque, const CatalogLocation *l)
{
    Ids *s = opaque;
    if (strcmp(l->location, s->name) || (s->n && s->ids[s->n - 1] == l->video_id))
        return 0;
    if (vidx__grow(&s->ids, &s->cap, s->n + 1, sizeof(*s->ids), 16) < 0)
        return -ENOMEM;
    s->ids[s->n++] = l->video_id;
    return 0;
}

/* Shard name was never uploaded and its local copy is gone: its videos are forgotten (redone). */
static int forget_shard(VidxCatalog *cat, const char *name)
{
    Ids s = {.name = name};
    char key[256];
    int ret = vidx__catalog_locations(cat, shard_video, &s);
    if (ret == 0)
        ret = vidx__catalog_begin(cat);
    for (size_t i = 0; i < s.n && ret == 0; i++)
        ret = vidx__catalog_forget_video(cat, s.ids[i], key, sizeof(key));
    if (ret == 0 && (ret = vidx__catalog_forget_blob(cat, name)) == 0 &&
        (ret = vidx__catalog_shard_set(cat, name, 0, 0)) == 0)
        ret = vidx__catalog_commit(cat);
    if (ret < 0)
        vidx__catalog_rollback(cat);
    else
        ret = vidx__catalog_shard_claim(cat, name, 0);
    vidx__log(VIDX_LOG_WARNING,
              "%s: never uploaded and its local copy is gone: its %zu videos will be redone", name,
              s.n);
    free(s.ids);
    return ret;
}

static int settle_pending(VidxCatalog *cat, S3Out *up, const char *local)
{
    Pends p;
    char path[PATH_MAX];
    struct stat st;
    int ret = pending(cat, &p);
    for (size_t i = 0; i < p.n && ret == 0; i++) {
        snprintf(path, sizeof(path), "%s/%s", local, p.list[i].name);
        ret = stat(path, &st) == 0 ? close_shard(cat, up, local, p.list[i].name, p.list[i].size)
                                   : forget_shard(cat, p.list[i].name);
    }
    free(p.list);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* Opening                                                                  */
/* ---------------------------------------------------------------------- */

/* url without its trailing '/'s, the form kept in meta 'bucket'. */
static void bucket_name(const char *url, char *out, size_t size)
{
    snprintf(out, size, "%s", url);
    for (size_t n = strlen(out); n > 5 && out[n - 1] == '/';)
        out[--n] = 0;
}

/* The catalog belongs to bucket (bind: made so when it belongs to none). */
static int check_bucket(VidxCatalog *cat, const char *local, const char *bucket, int bind)
{
    char want[1024], have[1024];
    bucket_name(bucket, want, sizeof(want));
    int ret = bind ? vidx__catalog_meta_add(cat, "bucket", want) : 0;
    if (ret >= 0)
        ret = vidx__catalog_meta_get(cat, "bucket", have, sizeof(have));
    if (ret < 0)
        return ret;
    if (ret == 1 && !strcmp(have, want))
        return 0;
    if (ret == 1)
        vidx__log(VIDX_LOG_ERROR,
                  "%s: refused: this is the catalog of the bucket output %s, not %s; nothing "
                  "was changed",
                  local, have, want);
    else
        vidx__log(VIDX_LOG_ERROR, "%s: refused: not the catalog of a bucket output", local);
    return ret == 1 ? VIDX_ENOTOURS : VIDX_EUSAGE;
}

int vidx__upload_attach(VidxCatalog *cat, const char *local, const char *bucket, int bind,
                        S3Out **up)
{
    OutdirBinding ob;
    int ret = check_bucket(cat, local, bucket, bind);
    if (ret == 0)
        ret = vidx__outdir_binding(local, &ob);
    if (ret == 0 && !ob.id[0])
        ret = vidx__detail(VIDX_ENOTOURS, "%s: no output id in its marker", local);
    if (ret == 0)
        ret = vidx__s3out_open(up, bucket, local);
    return ret == 0 ? vidx__s3out_claim(*up, ob.id, !bind) : ret;
}

/* The bucket output's client, the prefix claimed, old uploads aborted, pending ones done. */
static int open_bucket(VidxCatalog *cat, const char *local, const char *bucket, int bind,
                       S3Out **up)
{
    int n = 0;
    int ret = vidx__upload_attach(cat, local, bucket, bind, up);
    if (ret == 0)
        ret = vidx__s3out_abort_orphans(*up, &n);
    if (n > 0)
        vidx__log(VIDX_LOG_WARNING, "%s: aborted %d interrupted upload(s) of an earlier run",
                  bucket, n);
    if (ret == 0)
        ret = settle_pending(cat, *up, local);
    return ret;
}

int vidx__upload_open(Run *r)
{
    char have[1024];
    if (r->bucket)
        return open_bucket(r->cat, r->out, r->bucket, 1, &r->up);
    int ret = vidx__catalog_meta_get(r->cat, "bucket", have, sizeof(have));
    if (ret <= 0)
        return ret;
    vidx__log(VIDX_LOG_ERROR,
              "%s: refused: this is the catalog of the bucket output %s; write to it with -o %s "
              "--catalog %s",
              r->out, have, have, r->out);
    return VIDX_EUSAGE;
}

/* ---------------------------------------------------------------------- */
/* During the run                                                           */
/* ---------------------------------------------------------------------- */

/* A staged video's own files (frames/<key>/: manifest, audio, labels), before the catalog names
 * them. */
static int upload_dir(void *ctx, const char *video_dir)
{
    Run *r = ctx;
    char dir[PATH_MAX], path[PATH_MAX + 256], name[PATH_MAX], etag[128];
    struct dirent *e;
    struct stat st;
    int64_t bytes;
    int ret = 0;
    snprintf(dir, sizeof(dir), "%s/%s", r->out, video_dir);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while (ret == 0 && (e = readdir(d))) {
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        snprintf(name, sizeof(name), "%s/%s", video_dir, e->d_name);
        ret = vidx__s3out_put_file(r->up, path, name, &bytes, etag);
    }
    closedir(d);
    return ret;
}

/* A shard's state after a commit: its committed bytes go up; full, it is closed. */
static int upload_shard(void *ctx, const char *name, int64_t size, int64_t samples)
{
    Run *r = ctx;
    int ret = vidx__s3out_grow(r->up, name, size);
    if (ret == 0 && vidx__shards_full(&r->commit.store, size, samples))
        ret = close_shard(r->cat, r->up, r->out, name, size);
    return ret;
}

/* A video's files are in the bucket and recorded: the local copies go. */
static void uploaded_dir(void *ctx, const char *video_dir)
{
    Run *r = ctx;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/%s", r->out, video_dir);
    vidx__remove_video_dir(dir); /* only the names vidx makes */
}

void vidx__upload_hook(Run *r)
{
    if (!r->up)
        return;
    r->commit.upload_dir = upload_dir;
    r->commit.uploaded_dir = uploaded_dir;
    r->commit.upload_shard = upload_shard;
    r->commit.upload_ctx = r;
}

/* A consistent copy of the catalog as prefix/catalog.db: only when nothing is pending. */
static int put_catalog(VidxCatalog *cat, S3Out *up, const char *local)
{
    char path[PATH_MAX], etag[128];
    int64_t bytes;
    snprintf(path, sizeof(path), "%s/%s", local, SNAPSHOT);
    unlink(path); /* a crash's leftover: vidx's name in vidx's directory */
    int ret = vidx__catalog_snapshot(cat, path);
    if (ret == 0)
        ret = vidx__s3out_put_file(up, path, CATALOG_OBJECT, &bytes, etag);
    unlink(path);
    return ret;
}

int vidx__upload_finish(Run *r)
{
    if (!r->up)
        return 0;
    int ret = settle_pending(r->cat, r->up, r->out);
    return ret < 0 ? ret : put_catalog(r->cat, r->up, r->out);
}

void vidx__upload_close(Run *r)
{
    vidx__s3out_close(&r->up);
}

/* ---------------------------------------------------------------------- */
/* vidx sync                                                                */
/* ---------------------------------------------------------------------- */

int vidx_sync(const char *out, const char *catalog)
{
    VidxRunSettings s;
    const char *local = NULL;
    VidxCatalog *cat = NULL;
    S3Out *up = NULL;
    int fd = -1;
    if (!out)
        return VIDX_EUSAGE;
    vidx_run_default_settings(&s);
    s.catalog = catalog;
    s.layout = VIDX_LAYOUT_SHARDS;
    int ret = vidx__upload_wanted(out, &s, &local);
    if (ret == 0) {
        vidx__log(VIDX_LOG_ERROR, "%s: sync takes a bucket output (s3://bucket/prefix)", out);
        ret = VIDX_EUSAGE;
    }
    if (ret > 0)
        ret = vidx__outdir_check(local, "run");
    if (ret == 0)
        ret = vidx__outdir_lock(local, 0, &fd);
    if (ret == 0)
        ret = vidx_catalog_open_at(&cat, local, NULL, 0);
    if (ret == 0)
        ret = open_bucket(cat, local, out, 0, &up);
    if (ret == 0)
        ret = put_catalog(cat, up, local);
    vidx__s3out_close(&up);
    vidx_catalog_close(&cat);
    vidx__outdir_unlock(&fd);
    return ret;
}
