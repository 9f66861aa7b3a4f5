/*
 * shards.c - the "shards" layout: WebDataset-compatible tar shards.
 *
 * DESIGN
 * OUT/shards/NNNNNN.tar holds samples "<key>/<index>_<ms>ms.<ext>" plus
 * "<key>/<index>_<ms>ms.json" (the frame's metadata); WebDataset groups the
 * two by the name before the first dot, so keys carry no dots. Each run
 * appends to shards of its own, never to an older one. A video is appended
 * whole (staged); a sync writes and fsyncs what a group of videos appended,
 * and the catalog then commits the new shard size with their rows: bytes past
 * the committed size are an uncommitted tail, cut at recovery
 * (vidx__shards_recover). A shard is closed with tar's two zero blocks once
 * it passes --shard-size (or --shard-samples) and at the end of the run; a
 * video never spans two shards, nor a group.
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch/worker.h"
#include "store/fs.h"

#define TAR_BLOCK 512

/* Members are gathered in memory and written in large pieces, at most this much at once. */
#define FLUSH_BYTES (4 << 20)

typedef struct Shards {
    int fd;
    int index;  /* number of the open shard */
    int staged; /* appends since the last sync */
    char *buf;  /* appended members not yet written: they end at shard.size */
    size_t len, cap;
} Shards;

static void shard_name(int index, char *out, size_t size)
{
    snprintf(out, size, "shards/%06d.tar", index);
}

/* Next unused shard number: one past the highest on disk. */
static int next_index(const char *out)
{
    char dir[PATH_MAX];
    struct dirent *e;
    int next = 0;
    snprintf(dir, sizeof(dir), "%s/shards", out);
    DIR *d = opendir(dir);
    while (d && (e = readdir(d))) {
        int n;
        char tail[8];
        if (sscanf(e->d_name, "%d.%7s", &n, tail) == 2 && !strcmp(tail, "tar") && n >= next)
            next = n + 1;
    }
    if (d)
        closedir(d);
    return next;
}

static int shards_open(Store *st)
{
    char dir[PATH_MAX];
    Shards *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->fd = -1;
    st->priv = s;
    snprintf(dir, sizeof(dir), "%s/shards", st->out);
    int ret = vidx__mkdirs(dir);
    s->index = next_index(st->out);
    return ret;
}

static void octal(char *field, size_t width, int64_t v)
{
    snprintf(field, width, "%0*llo", (int)width - 1, (long long)v);
}

/* One ustar header for a regular file. name must fit in 100 bytes. */
static void tar_header(char h[TAR_BLOCK], const char *name, int64_t size)
{
    memset(h, 0, TAR_BLOCK);
    snprintf(h, 100, "%s", name);
    octal(h + 100, 8, 0644);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, size);
    octal(h + 136, 12, 0);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < TAR_BLOCK; i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
}

static int pwrite_all(int fd, const void *buf, size_t n, int64_t off)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t k = pwrite(fd, p, n, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        p += k;
        n -= (size_t)k;
        off += k;
    }
    return 0;
}

/* Writes the gathered members where they belong: they end at the logical shard size. */
static int flush(Store *st)
{
    Shards *s = st->priv;
    int ret = 0;
    if (s->len)
        ret = pwrite_all(s->fd, s->buf, s->len, st->shard.size - (int64_t)s->len);
    s->len = 0;
    return ret;
}

/* Room for n more bytes in the buffer; nothing changes on failure. */
static int reserve(Shards *s, size_t n)
{
    if (s->len + n <= s->cap)
        return 0;
    size_t cap = VIDX_MAX(VIDX_MAX(2 * s->cap, s->len + n), (size_t)1 << 16);
    char *b = realloc(s->buf, cap);
    if (!b)
        return -ENOMEM;
    s->buf = b;
    s->cap = cap;
    return 0;
}

/*
 * Appends one member whose data comes from memory (data) or from the file
 * path, at st->shard.size; returns the data offset in *data_off.
 */
static int append_member(Store *st, const char *name, const void *data, const char *path,
                         size_t size, int64_t *data_off)
{
    Shards *s = st->priv;
    size_t padn = (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
    int ret = reserve(s, TAR_BLOCK + size + padn);
    if (ret < 0)
        return ret;
    char *h = s->buf + s->len, *body = h + TAR_BLOCK;
    tar_header(h, name, (int64_t)size);
    if (data)
        memcpy(body, data, size);
    else if ((ret = vidx__read_exact(path, body, size)) < 0)
        return ret;
    memset(body + size, 0, padn);
    s->len += TAR_BLOCK + size + padn;
    if (data_off)
        *data_off = st->shard.size + TAR_BLOCK;
    st->shard.size += TAR_BLOCK + (int64_t)(size + padn);
    return s->len >= FLUSH_BYTES ? flush(st) : 0;
}

/* Writes the end-of-archive blocks after the committed data (not counted in size). */
static int write_trailer(Store *st)
{
    Shards *s = st->priv;
    char zero[2 * TAR_BLOCK] = {0};
    int ret = flush(st);
    if (ret == 0)
        ret = pwrite_all(s->fd, zero, sizeof(zero), st->shard.size);
    if (ret == 0 && ftruncate(s->fd, st->shard.size + (int64_t)sizeof(zero)) < 0)
        ret = -errno;
    if (ret == 0 && fsync(s->fd) < 0)
        ret = -errno;
    return ret;
}

static int close_shard(Store *st)
{
    Shards *s = st->priv;
    char path[PATH_MAX];
    if (s->fd < 0)
        return 0;
    if (st->shard.size == 0) { /* nothing was ever committed to it */
        close(s->fd);
        s->fd = -1;
        snprintf(path, sizeof(path), "%s/%s", st->out, st->shard.name);
        unlink(path);
        st->shard.name[0] = 0;
        return 0;
    }
    int ret = write_trailer(st);
    close(s->fd);
    s->fd = -1;
    s->index++;
    return ret;
}

static int open_next(Store *st)
{
    Shards *s = st->priv;
    char path[PATH_MAX];
    shard_name(s->index, st->shard.name, sizeof(st->shard.name));
    snprintf(path, sizeof(path), "%s/%s", st->out, st->shard.name);
    s->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (s->fd < 0)
        return -errno;
    st->shard.size = st->shard.samples = 0;
    snprintf(path, sizeof(path), "%s/shards", st->out);
    return vidx__fsync_dir(path);
}

static int shard_full(const Store *st)
{
    return st->shard.size >= st->shard_bytes ||
           (st->shard_samples > 0 && st->shard.samples >= st->shard_samples);
}

static void sample_json(char *buf, size_t size, const StoreVideo *v, const VidxFrameRecord *r)
{
    char target[32] = "null";
    if (!isnan(r->target))
        snprintf(target, sizeof(target), "%.9g", r->target);
    snprintf(buf, size,
             "{\"video_key\":\"%s\",\"index\":%lld,\"target\":%s,\"time\":%.9g,\"pts\":%lld,"
             "\"keyframe\":%s,\"width\":%d,\"height\":%d,\"sha256\":\"%s\"}",
             v->key, (long long)r->index, target, r->time, (long long)r->pts,
             r->keyframe ? "true" : "false", r->width, r->height, r->sha256);
}

/* Member base name: "<key without dots>/<frame file name without extension>". */
static void member_base(const StoreVideo *v, const VidxFrameRecord *r, char *out, size_t size)
{
    char key[128];
    snprintf(key, sizeof(key), "%s", v->key);
    for (char *p = key; *p; p++)
        if (*p == '.')
            *p = '_';
    const char *dot = strrchr(r->path, '.');
    int stem = dot ? (int)(dot - r->path) : (int)strlen(r->path);
    snprintf(out, size, "%s/%.*s", key, stem, r->path);
}

static int append_item(Store *st, StoreVideo *v, StoreItem *it)
{
    char path[PATH_MAX], base[200], name[256], json[1024];
    snprintf(path, sizeof(path), "%s/%s", v->scratch, it->rec->path);
    member_base(v, it->rec, base, sizeof(base));
    snprintf(name, sizeof(name), "%s.%s", base, v->ext);
    int ret = append_member(st, name, NULL, path, (size_t)it->rec->bytes, &it->offset);
    if (ret < 0)
        return ret;
    snprintf(it->location, sizeof(it->location), "%s", st->shard.name);
    sample_json(json, sizeof(json), v, it->rec);
    snprintf(name, sizeof(name), "%s.json", base);
    ret = append_member(st, name, json, NULL, strlen(json), NULL);
    if (ret == 0) {
        st->shard.samples++;
        unlink(path);
    }
    return ret;
}

/* The same frame file delivered for two targets is stored once. */
static int reuse_earlier(StoreVideo *v, size_t i)
{
    StoreItem *it = &v->items[i];
    for (size_t k = 0; k < i; k++) {
        const StoreItem *e = &v->items[k];
        if (e->store && e->rec->path && !strcmp(e->rec->path, it->rec->path)) {
            snprintf(it->location, sizeof(it->location), "%s", e->location);
            it->offset = e->offset;
            return 1;
        }
    }
    return 0;
}

/* Cuts the shard back to where v's members start, samples included. */
static void undo_append(Store *st, const StoreVideo *v)
{
    Shards *s = st->priv;
    int64_t buffered = st->shard.size - (int64_t)s->len; /* where the unwritten members start */
    if (v->start >= buffered)
        s->len = (size_t)(v->start - buffered);
    else if (s->fd < 0 || ftruncate(s->fd, v->start) < 0)
        return; /* the members stay, counted: never a size short of what is there */
    else
        s->len = 0;
    st->shard.size = v->start;
    st->shard.samples = v->start_samples;
}

static int shards_boundary(const Store *st)
{
    const Shards *s = st->priv;
    return s->fd >= 0 && shard_full(st);
}

static int shards_stage(Store *st, StoreVideo *v)
{
    Shards *s = st->priv;
    char dst[PATH_MAX];
    int ret = 0;
    v->bytes_added = 0;
    if (s->fd >= 0 && shard_full(st) && (ret = close_shard(st)) < 0)
        return ret;
    if (s->fd < 0 && (ret = open_next(st)) < 0)
        return ret;
    v->start = st->shard.size;
    v->start_samples = st->shard.samples;
    s->staged = 1;
    for (size_t i = 0; i < v->n_items && ret == 0; i++)
        if (v->items[i].store && !reuse_earlier(v, i))
            ret = append_item(st, v, &v->items[i]);
    if (ret == 0) /* written now (free space is what it is); only the fsync waits for the group */
        ret = flush(st);
    snprintf(v->video_dir, sizeof(v->video_dir), "frames/%s", v->key);
    snprintf(dst, sizeof(dst), "%s/%s", st->out, v->video_dir);
    if (ret == 0) { /* the worker synced the manifest, the audio and the directory */
        vidx__remove_tree(dst);
        ret = vidx__move_dir(v->scratch, dst);
    }
    if (ret < 0) {
        undo_append(st, v);
        vidx__remove_tree(dst); /* a half-moved directory must not stay */
        return ret;
    }
    v->bytes_added = st->shard.size - v->start;
    return 0;
}

static int shards_sync(Store *st)
{
    Shards *s = st->priv;
    char frames[PATH_MAX];
    if (!s->staged)
        return 0;
    int ret = flush(st);
    if (ret == 0 && fsync(s->fd) < 0)
        ret = -errno;
    snprintf(frames, sizeof(frames), "%s/frames", st->out);
    if (ret == 0)
        ret = vidx__fsync_dir(frames);
    if (ret == 0)
        s->staged = 0;
    return ret;
}

static void shards_rollback(Store *st, StoreVideo *v)
{
    char dst[PATH_MAX];
    undo_append(st, v);
    snprintf(dst, sizeof(dst), "%s/%s", st->out, v->video_dir);
    vidx__remove_tree(dst);
}

static int shards_finish(Store *st)
{
    return close_shard(st);
}

static void shards_close(Store *st)
{
    Shards *s = st->priv;
    if (s && s->fd >= 0)
        close(s->fd);
    if (s)
        free(s->buf);
    free(s);
    st->priv = NULL;
}

const StoreOps vidx__store_shards = {
    .name = "shards",
    .open = shards_open,
    .boundary = shards_boundary,
    .stage = shards_stage,
    .sync = shards_sync,
    .rollback = shards_rollback,
    .finish = shards_finish,
    .close = shards_close,
};

int vidx__shard_recover(const char *out, const char *name, int64_t committed)
{
    char path[PATH_MAX], zero[2 * TAR_BLOCK] = {0};
    snprintf(path, sizeof(path), "%s/%s", out, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    int ret = ftruncate(fd, committed) < 0 ? -errno : 0;
    if (ret == 0)
        ret = pwrite_all(fd, zero, sizeof(zero), committed);
    if (ret == 0 && fsync(fd) < 0)
        ret = -errno;
    close(fd);
    return ret;
}

int vidx__shards_remove_unlisted(const char *out, int (*listed)(void *, const char *), void *opaque)
{
    char dir[PATH_MAX], rel[PATH_MAX], path[PATH_MAX];
    struct dirent *e;
    snprintf(dir, sizeof(dir), "%s/shards", out);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(rel, sizeof(rel), "shards/%s", e->d_name);
        if (!listed(opaque, rel) && snprintf(path, sizeof(path), "%s/%s", out, rel) > 0)
            unlink(path); /* created, but nothing in it was ever committed */
    }
    closedir(d);
    return 0;
}
