/*
 * maintain_s3.c - vidx verify, du and gc on a bucket output
 * (s3://bucket/prefix, its catalog in the local directory --catalog DIR;
 * batch/upload.h). The catalog must be that bucket's (meta 'bucket') and the
 * prefix this output's (its marker object), else nothing is read or deleted.
 *
 *  - verify: every object the catalog names is in the bucket with the size
 *    and ETag recorded at its upload (shards), or the size recorded (a
 *    video's audio); every frame lies inside its shard; a shard not yet
 *    uploaded is a problem (vidx sync or the next run uploads it). The
 *    frames' SHA-256 are not read back (that is downloading everything).
 *  - du: the objects under the prefix by kind, as du counts a local output.
 *  - gc: deletes objects under the prefix only when their name is one vidx
 *    makes for a video's files (frames/<key>/...) and no row keeps them (a
 *    failed or forgotten video's, or files put up for a group whose catalog
 *    commit failed); shards, the catalog's copy, the marker and every other
 *    name are left alone and listed.
 */
#include "core/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "batch/maintain.h"
#include "batch/upload.h"
#include "store/outdir.h"
#include "store/owned.h"
#include "store/s3out.h"

typedef struct Object {
    char *rel; /* relative to the prefix */
    int64_t size;
    char etag[128];
} Object;

typedef struct Bucket {
    VidxCatalog *cat;
    S3Out *up;
    int lock;
    const char *bucket, *prefix;
    Object *objs; /* every object under the prefix, in key order */
    size_t n, cap;
} Bucket;

static int add_object(void *opaque, const char *key, int64_t size, const char *etag)
{
    Bucket *b = opaque;
    size_t p = strlen(b->prefix);
    if (vidx__grow(&b->objs, &b->cap, b->n + 1, sizeof(*b->objs), 64) < 0)
        return -ENOMEM;
    Object *o = &b->objs[b->n];
    if (!(o->rel = strdup(key + p + (p > 0))))
        return -ENOMEM;
    o->size = size;
    snprintf(o->etag, sizeof(o->etag), "%s", etag ? etag : "");
    b->n++;
    return 0;
}

static void bucket_close(Bucket *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->objs[i].rel);
    free(b->objs);
    vidx__s3out_close(&b->up);
    vidx_catalog_close(&b->cat);
    vidx__outdir_unlock(&b->lock);
}

/* The catalog in local, the bucket it belongs to, and the listing under its prefix. */
static int bucket_open(Bucket *b, const char *url, const char *local, int writer, int wait)
{
    char prefix[PATH_MAX];
    memset(b, 0, sizeof(*b));
    b->lock = -1;
    if (!local) {
        vidx__log(VIDX_LOG_ERROR,
                  "%s: a bucket output's catalog is a local directory: pass "
                  "--catalog DIR",
                  url);
        return VIDX_EUSAGE;
    }
    int ret = vidx__outdir_check(local, "run");
    if (ret == 0 && writer)
        ret = vidx__outdir_lock(local, wait, &b->lock);
    if (ret == 0)
        ret = vidx_catalog_open_at(&b->cat, local, NULL, !writer);
    if (ret == 0)
        ret = vidx__upload_attach(b->cat, local, url, 0, &b->up);
    if (ret < 0)
        return ret;
    S3 *s3 = vidx__s3out_client(b->up, &b->bucket, &b->prefix);
    snprintf(prefix, sizeof(prefix), "%s%s", b->prefix, b->prefix[0] ? "/" : "");
    return vidx__s3_list(s3, b->bucket, prefix, add_object, b);
}

static const Object *find(const Bucket *b, const char *rel)
{
    size_t lo = 0, hi = b->n; /* S3 lists in key (byte) order */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(b->objs[mid].rel, rel);
        if (c == 0)
            return &b->objs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* verify                                                                   */
/* ---------------------------------------------------------------------- */

typedef struct Check {
    Bucket *b;
    json_t *list;
} Check;

static void problem(Check *c, const char *video, const char *location, const char *what)
{
    json_array_append_new(c->list, json_pack("{s:s?, s:s?, s:s}", "video", video, "location",
                                             location, "problem", what));
}

static int check_upload(void *opaque, const char *name, int64_t bytes, const char *etag)
{
    Check *c = opaque;
    const Object *o = find(c->b, name);
    if (!o)
        problem(c, NULL, name, "missing");
    else if (o->size != bytes)
        problem(c, NULL, name, "size");
    else if (strcmp(o->etag, etag))
        problem(c, NULL, name, "etag");
    return 0;
}

static int check_shard(void *opaque, const char *name, int64_t size)
{
    Check *c = opaque;
    if (size > 0 && !find(c->b, name))
        problem(c, NULL, name, "not uploaded yet (vidx sync, or the next run, uploads it)");
    return 0;
}

static int check_location(void *opaque, const CatalogLocation *l)
{
    Check *c = opaque;
    const Object *o = find(c->b, l->location);
    if (!o)
        problem(c, l->video, l->location, "missing");
    else if (l->offset >= 0 ? l->offset > o->size || o->size - l->offset < l->bytes
                            : l->bytes > 0 && o->size != l->bytes)
        problem(c, l->video, l->location, "size");
    return 0;
}

int vidx__bucket_verify(const char *url, const char *catalog, int repair, char **report)
{
    Bucket b;
    *report = NULL;
    if (repair) {
        vidx__log(VIDX_LOG_ERROR, "%s: --repair is not available for bucket outputs yet", url);
        return VIDX_EUSAGE;
    }
    int ret = bucket_open(&b, url, catalog, 0, 0);
    Check c = {&b, json_array()};
    if (ret == 0)
        ret = vidx__catalog_uploads(b.cat, check_upload, &c);
    if (ret == 0)
        ret = vidx__catalog_shards(b.cat, check_shard, &c);
    if (ret == 0)
        ret = vidx__catalog_locations(b.cat, check_location, &c);
    bucket_close(&b);
    int count = (int)json_array_size(c.list);
    json_t *o = json_pack("{s:i, s:b, s:o}", "problems", count, "repaired", 0, "list", c.list);
    if (ret < 0) {
        json_decref(o);
        return ret;
    }
    ret = vidx__maint_dump(o, report);
    return ret < 0 ? ret : count;
}

/* ---------------------------------------------------------------------- */
/* du and gc                                                                */
/* ---------------------------------------------------------------------- */

int vidx__bucket_du(const char *url, const char *catalog, char **report)
{
    Bucket b;
    int64_t bytes[VIDX_MAINT_KINDS] = {0}, files[VIDX_MAINT_KINDS] = {0};
    *report = NULL;
    int ret = bucket_open(&b, url, catalog, 0, 0);
    for (size_t i = 0; i < b.n && ret == 0; i++) {
        int k = vidx__maint_kind(b.objs[i].rel);
        bytes[k] += b.objs[i].size;
        files[k]++;
    }
    bucket_close(&b);
    return ret < 0 ? ret : vidx__maint_dump(vidx__maint_usage(bytes, files), report);
}

/* gc's verdict on an object: 1 keep, 0 delete, VIDX_ENOTOURS not vidx's to delete, < 0 error. */
static int gc_verdict(Bucket *b, const char *rel)
{
    char key[256], name[256];
    int end = 0;
    if (sscanf(rel, "frames/%255[^/]/%255[^/]%n", key, name, &end) == 2 && !rel[end] &&
        vidx__is_key_name(key))
        return vidx__maint_keep_video_file(b->cat, rel, name);
    return VIDX_ENOTOURS;
}

int vidx__bucket_gc(const char *url, const char *catalog, int flags, char **report)
{
    Bucket b;
    char key[PATH_MAX];
    int64_t removed = 0, bytes = 0;
    json_t *list = json_array(), *left = json_array();
    *report = NULL;
    int ret = bucket_open(&b, url, catalog, 1, flags & VIDX_GC_WAIT);
    for (size_t i = 0; i < b.n && ret == 0; i++) {
        const Object *o = &b.objs[i];
        int keep = gc_verdict(&b, o->rel);
        int own = !strcmp(o->rel, VIDX_S3OUT_MARKER) || !strcmp(o->rel, "catalog.db");
        if (keep == VIDX_ENOTOURS && !own && json_array_size(left) < 1000)
            json_array_append_new(left, json_pack("{s:s, s:s}", "path", o->rel, "why",
                                                  !strncmp(o->rel, "shards/", 7)
                                                      ? "a shard (gc never deletes one)"
                                                      : "not a name vidx makes"));
        if (keep != 0) {
            ret = keep < 0 && keep != VIDX_ENOTOURS ? keep : 0;
            continue;
        }
        vidx__s3out_key(b.up, o->rel, key, sizeof(key));
        if (!(flags & VIDX_GC_DRY_RUN) &&
            (ret = vidx__s3_delete(vidx__s3out_client(b.up, &b.bucket, &b.prefix), b.bucket, key)) <
                0)
            break;
        removed++;
        bytes += o->size;
        if (json_array_size(list) < 1000)
            json_array_append_new(list, json_string(o->rel));
    }
    bucket_close(&b);
    json_t *o = json_pack("{s:I, s:I, s:b, s:o, s:o}", "removed", (json_int_t)removed, "bytes",
                          (json_int_t)bytes, "dry_run", (flags & VIDX_GC_DRY_RUN) != 0, "files",
                          list, "left_alone", left);
    return ret < 0 ? (json_decref(o), ret) : vidx__maint_dump(o, report);
}
