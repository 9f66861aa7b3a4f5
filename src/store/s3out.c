/*
 * s3out.c - a bucket output's objects: the uploads of a local output
 * directory's files to s3://bucket/prefix under the same relative names.
 *
 * DESIGN
 * A run with a bucket output writes a local output directory exactly as
 * today (the crash-safe shard store, the catalog), and this module copies
 * what is final into the bucket (docs/ARCHITECTURE.md, "Bucket outputs"):
 *
 *  - a shard, while it grows: the bytes below its committed size never
 *    change again (a later video only ever overwrites what lies past it), so
 *    they go up as parts of the shard's multipart upload, whole parts only
 *    (VIDX_S3_PART bytes, default 8 MiB; S3 wants 5 MiB but for the last);
 *    when the shard is closed (full, or the run's end) the rest of the file,
 *    its tar end blocks included, is the last part and the upload is
 *    completed: only then does the object exist, whole;
 *  - a small file (a video's manifest, audio, labels; the catalog's copy):
 *    one PUT.
 *
 * The upload ids and part ETags live only in memory: an upload a killed run
 * left is aborted at the next start (vidx__s3out_abort_orphans) and that
 * shard is uploaded again from its local copy. The prefix is claimed by a
 * marker object (VIDX_S3OUT_MARKER) holding the catalog's output id, so two
 * catalogs never write, abort or collect under one prefix. Secrets stay in
 * net/s3.c: nothing here sees them.
 */
#include "store/s3out.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "store/owned.h"

#define PART_MIN     ((int64_t)5 << 20)
#define PART_DEFAULT ((int64_t)8 << 20)

typedef struct Upload {
    char name[64]; /* the shard, relative to OUT */
    char *id;      /* the multipart upload; NULL until the first part */
    int64_t sent;  /* bytes sent as parts */
    char **etags;
    size_t n, cap;
} Upload;

struct S3Out {
    S3 *s3;
    char *bucket, *prefix; /* prefix without a trailing '/'; "" for the bucket's root */
    char local[PATH_MAX];
    int64_t part;
    Upload *ups;
    size_t n, cap;
    char *buf; /* one part */
};

int vidx__s3out_open(S3Out **out, const char *url, const char *local)
{
    S3Out *o = calloc(1, sizeof(*o));
    *out = NULL;
    if (!o)
        return -ENOMEM;
    int ret = vidx__s3_parse(url, &o->bucket, &o->prefix);
    size_t n = o->prefix ? strlen(o->prefix) : 0;
    while (n > 0 && o->prefix[n - 1] == '/')
        o->prefix[--n] = 0;
    snprintf(o->local, sizeof(o->local), "%s", local);
    const char *env = getenv("VIDX_S3_PART");
    o->part = env && atoll(env) >= PART_MIN ? atoll(env) : PART_DEFAULT;
    if (ret == 0)
        ret = vidx__s3_open(&o->s3);
    if (ret == 0 && !(o->buf = malloc((size_t)o->part)))
        ret = -ENOMEM;
    if (ret < 0) {
        vidx__s3out_close(&o);
        return ret;
    }
    *out = o;
    return 0;
}

static void upload_free(Upload *u)
{
    free(u->id);
    for (size_t i = 0; i < u->n; i++)
        free(u->etags[i]);
    free(u->etags);
    memset(u, 0, sizeof(*u));
}

void vidx__s3out_close(S3Out **po)
{
    S3Out *o = *po;
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++) {
        vidx__s3out_drop(o, o->ups[i].name); /* a run that stopped: nothing half done stays */
        upload_free(&o->ups[i]);
    }
    free(o->ups);
    vidx__s3_close(&o->s3);
    free(o->bucket);
    free(o->prefix);
    free(o->buf);
    free(o);
    *po = NULL;
}

S3 *vidx__s3out_client(S3Out *o, const char **bucket, const char **prefix)
{
    *bucket = o->bucket;
    *prefix = o->prefix;
    return o->s3;
}

void vidx__s3out_key(const S3Out *o, const char *name, char *key, size_t size)
{
    snprintf(key, size, "%s%s%s", o->prefix, o->prefix[0] ? "/" : "", name);
}

int vidx__s3out_claim(S3Out *o, const char *id, int readonly)
{
    char key[PATH_MAX], have[64] = "";
    size_t got = 0;
    vidx__s3out_key(o, VIDX_S3OUT_MARKER, key, sizeof(key));
    int ret = vidx__s3_get_range(o->s3, o->bucket, key, 0, sizeof(have) - 1, have, &got);
    if (ret == -ENOENT)
        return readonly ? 0 : vidx__s3_put(o->s3, o->bucket, key, id, strlen(id));
    if (ret < 0)
        return ret;
    have[got] = 0;
    if (!strcmp(have, id))
        return 0;
    vidx__log(VIDX_LOG_ERROR,
              "s3://%s/%s: refused: this prefix belongs to another vidx output (its %s names "
              "output %s, this catalog is %s); nothing was changed. Use that output's --catalog, "
              "or another prefix",
              o->bucket, o->prefix, VIDX_S3OUT_MARKER, have, id);
    return VIDX_ENOTOURS;
}

/* ---------------------------------------------------------------------- */
/* Interrupted uploads                                                      */
/* ---------------------------------------------------------------------- */

typedef struct Orphans {
    const S3Out *o;
    char **keys, **ids;
    size_t n, cap, cap2;
} Orphans;

/* "<prefix>/shards/<name>" with a shard name vidx makes (store/owned.h). */
static int shard_key(const S3Out *o, const char *key)
{
    size_t p = strlen(o->prefix);
    if (p && (strncmp(key, o->prefix, p) || key[p] != '/'))
        return 0;
    const char *rel = key + p + (p > 0);
    return !strncmp(rel, "shards/", 7) && vidx__is_shard_name(rel + 7);
}

static int orphan(void *opaque, const char *key, const char *upload_id)
{
    Orphans *a = opaque;
    if (!shard_key(a->o, key))
        return 0; /* not a name vidx makes: left alone */
    if (vidx__grow(&a->keys, &a->cap, a->n + 1, sizeof(char *), 8) < 0 ||
        vidx__grow(&a->ids, &a->cap2, a->n + 1, sizeof(char *), 8) < 0)
        return -ENOMEM;
    a->keys[a->n] = strdup(key);
    a->ids[a->n] = strdup(upload_id);
    a->n++;
    return a->keys[a->n - 1] && a->ids[a->n - 1] ? 0 : -ENOMEM;
}

int vidx__s3out_abort_orphans(S3Out *o, int *n)
{
    Orphans a = {.o = o};
    char prefix[PATH_MAX];
    vidx__s3out_key(o, "shards/", prefix, sizeof(prefix));
    int ret = vidx__s3_mpu_list(o->s3, o->bucket, prefix, orphan, &a);
    *n = 0;
    for (size_t i = 0; i < a.n; i++) { /* listed first: aborting changes the listing */
        if (ret == 0 && (ret = vidx__s3_mpu_abort(o->s3, o->bucket, a.keys[i], a.ids[i])) == 0)
            (*n)++;
        free(a.keys[i]);
        free(a.ids[i]);
    }
    free(a.keys);
    free(a.ids);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* Shards                                                                   */
/* ---------------------------------------------------------------------- */

static Upload *find(S3Out *o, const char *name, int add)
{
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->ups[i].name, name))
            return &o->ups[i];
    if (!add || vidx__grow(&o->ups, &o->cap, o->n + 1, sizeof(*o->ups), 8) < 0)
        return NULL;
    Upload *u = &o->ups[o->n++];
    memset(u, 0, sizeof(*u));
    snprintf(u->name, sizeof(u->name), "%s", name);
    return u;
}

static void forget(S3Out *o, Upload *u)
{
    upload_free(u);
    *u = o->ups[--o->n];
}

/* Sends bytes [u->sent, u->sent + len) of the open file fd as u's next part. */
static int send_part(S3Out *o, Upload *u, int fd, int64_t len)
{
    char key[PATH_MAX], etag[128];
    vidx__s3out_key(o, u->name, key, sizeof(key));
    ssize_t got = pread(fd, o->buf, (size_t)len, u->sent);
    if (got != (ssize_t)len)
        return got < 0 ? -errno : -EIO;
    int ret = u->id ? 0 : vidx__s3_mpu_start(o->s3, o->bucket, key, &u->id);
    if (ret == 0 && vidx__grow(&u->etags, &u->cap, u->n + 1, sizeof(char *), 16) < 0)
        ret = -ENOMEM;
    if (ret == 0)
        ret = vidx__s3_mpu_part(o->s3, o->bucket, key, u->id, (int)u->n + 1, o->buf, (size_t)len,
                                etag);
    if (ret == 0 && !(u->etags[u->n] = strdup(etag)))
        ret = -ENOMEM;
    if (ret == 0) {
        u->n++;
        u->sent += len;
    }
    return ret;
}

static int open_local(const S3Out *o, const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s", o->local, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int vidx__s3out_grow(S3Out *o, const char *name, int64_t committed)
{
    Upload *u = find(o, name, 1);
    if (!u)
        return -ENOMEM;
    if (committed - u->sent < o->part)
        return 0;
    int fd = open_local(o, name), ret = fd < 0 ? fd : 0;
    while (ret == 0 && committed - u->sent >= o->part)
        ret = send_part(o, u, fd, o->part);
    if (fd >= 0)
        close(fd);
    return ret;
}

int vidx__s3out_complete(S3Out *o, const char *name, int64_t *bytes, char etag[128])
{
    char key[PATH_MAX];
    struct stat st;
    Upload *u = find(o, name, 1);
    if (!u)
        return -ENOMEM;
    int fd = open_local(o, name), ret = fd < 0 ? fd : 0;
    if (ret == 0 && fstat(fd, &st) < 0)
        ret = -errno;
    while (ret == 0 && st.st_size - u->sent > 0) /* the rest: whole parts, then the last */
        ret = send_part(o, u, fd, VIDX_MIN(o->part, st.st_size - u->sent));
    if (fd >= 0)
        close(fd);
    vidx__s3out_key(o, name, key, sizeof(key));
    if (ret == 0 && !u->id)
        ret = -EIO; /* an empty shard is never uploaded */
    if (ret == 0)
        ret = vidx__s3_mpu_complete(o->s3, o->bucket, key, u->id, u->etags, (int)u->n);
    if (ret == 0)
        ret = vidx__s3_head(o->s3, o->bucket, key, bytes, etag);
    if (ret == 0 && *bytes != st.st_size)
        ret = vidx__detail(-EIO, "s3://%s/%s: %lld bytes after the upload, %lld sent", o->bucket,
                           key, (long long)*bytes, (long long)st.st_size);
    if (ret == 0)
        forget(o, u);
    return ret;
}

void vidx__s3out_drop(S3Out *o, const char *name)
{
    char key[PATH_MAX];
    Upload *u = find(o, name, 0);
    if (!u)
        return;
    vidx__s3out_key(o, name, key, sizeof(key));
    if (u->id && vidx__s3_mpu_abort(o->s3, o->bucket, key, u->id) < 0)
        vidx__log(VIDX_LOG_WARNING, "s3://%s/%s: upload not aborted (the next run aborts it)",
                  o->bucket, key);
    forget(o, u);
}

/* ---------------------------------------------------------------------- */
/* Small files                                                              */
/* ---------------------------------------------------------------------- */

int vidx__s3out_put_file(S3Out *o, const char *path, const char *name, int64_t *bytes,
                         char etag[128])
{
    char key[PATH_MAX];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int ret = fstat(fd, &st) < 0 ? -errno : 0;
    char *data = ret == 0 ? malloc((size_t)st.st_size + 1) : NULL;
    if (ret == 0 && !data)
        ret = -ENOMEM;
    if (ret == 0 && read(fd, data, (size_t)st.st_size) != (ssize_t)st.st_size)
        ret = -EIO;
    close(fd);
    vidx__s3out_key(o, name, key, sizeof(key));
    if (ret == 0)
        ret = vidx__s3_put(o->s3, o->bucket, key, data, (size_t)st.st_size);
    free(data);
    if (ret == 0)
        ret = vidx__s3_head(o->s3, o->bucket, key, bytes, etag);
    return ret;
}
