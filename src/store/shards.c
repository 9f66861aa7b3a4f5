/*
 * shards.c - the "shards" layout: WebDataset-compatible tar shards.
 *
 * DESIGN
 * OUT/shards/NNNNNN.tar holds samples "<key>/<index>_<ms>ms.<ext>" plus
 * "<key>/<index>_<ms>ms.json" (the frame's metadata); WebDataset groups the
 * two by the name before the first dot, so keys carry no dots. The worker
 * has already packed a video's samples into one scratch file (VIDX_TAR_PACK,
 * see tar.h), so staging a video copies byte ranges of one file, not a file
 * per frame. Each run appends to shards of its own, never to an older one.
 * A video is appended whole (staged); a sync fsyncs what a group of videos
 * appended, and the catalog then commits the new shard size with their
 * rows: bytes past the committed size are an uncommitted tail, cut at
 * recovery (vidx__shards_recover). A shard is closed with tar's two zero
 * blocks once it passes --shard-size (or --shard-samples) and at the end of
 * the run; a video never spans two shards, nor a group.
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch/worker.h"
#include "store/fs.h"
#include "store/tar.h"

typedef struct Shards {
    int fd;
    int index;  /* number of the open shard */
    int staged; /* appends since the last sync */
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

/* Writes the end-of-archive blocks after the committed data (not counted in size). */
static int write_trailer(Store *st)
{
    Shards *s = st->priv;
    char zero[2 * VIDX_TAR_BLOCK] = {0};
    int ret = vidx__pwrite_all(s->fd, zero, sizeof(zero), st->shard.size);
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

/* A sample as the worker packed it: whole blocks, image and .json members. */
static int valid_sample(const VidxFrameRecord *r)
{
    return r->tar_offset >= 0 && r->tar_size >= 2 * VIDX_TAR_BLOCK + r->bytes &&
           r->tar_size % VIDX_TAR_BLOCK == 0;
}

/* Appends len bytes of the pack fd from off at the end of the shard. */
static int append_range(Store *st, int fd, int64_t off, int64_t len)
{
    Shards *s = st->priv;
    int ret = vidx__copy_range(fd, off, s->fd, st->shard.size, len);
    if (ret == 0)
        st->shard.size += len;
    return ret;
}

/*
 * Appends the stored frames of v from the worker's pack: adjacent samples
 * (all of them, unless dedup left some out) are copied at once, by the
 * kernel, and their writeback starts at once, so the group's fsync finds
 * little left to wait for.
 */
static int append_packed(Store *st, StoreVideo *v)
{
    Shards *s = st->priv;
    char path[PATH_MAX];
    int64_t run_off = 0, run_len = 0; /* the samples gathered for one copy */
    int ret = 0;
    snprintf(path, sizeof(path), "%s/%s", v->scratch, VIDX_TAR_PACK);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    for (size_t i = 0; i < v->n_items && ret == 0; i++) {
        StoreItem *it = &v->items[i];
        const VidxFrameRecord *r = it->rec;
        if (!it->store || reuse_earlier(v, i))
            continue;
        if (fd < 0 || !valid_sample(r)) {
            ret = fd < 0 ? -errno : -EIO;
            break;
        }
        if (r->tar_offset != run_off + run_len) {
            ret = append_range(st, fd, run_off, run_len);
            run_off = r->tar_offset, run_len = 0;
        }
        it->offset = st->shard.size + run_len + VIDX_TAR_BLOCK; /* the image's data */
        snprintf(it->location, sizeof(it->location), "%s", st->shard.name);
        st->shard.samples++;
        run_len += r->tar_size;
    }
    if (ret == 0)
        ret = append_range(st, fd, run_off, run_len);
    if (fd >= 0)
        close(fd);
    if (ret == 0) /* copied: it must not move with the manifest and audio */
        unlink(path);
    if (ret == 0 && st->shard.size > v->start)
        sync_file_range(s->fd, v->start, st->shard.size - v->start, SYNC_FILE_RANGE_WRITE);
    return ret;
}

/* Cuts the shard back to where v's members start, samples included. */
static void undo_append(Store *st, const StoreVideo *v)
{
    Shards *s = st->priv;
    if (s->fd < 0 || ftruncate(s->fd, v->start) < 0)
        return; /* the members stay, counted: never a size short of what is there */
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
    ret = append_packed(st, v);
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
    int ret = fsync(s->fd) < 0 ? -errno : 0;
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
    char path[PATH_MAX], zero[2 * VIDX_TAR_BLOCK] = {0};
    snprintf(path, sizeof(path), "%s/%s", out, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    int ret = ftruncate(fd, committed) < 0 ? -errno : 0;
    if (ret == 0)
        ret = vidx__pwrite_all(fd, zero, sizeof(zero), committed);
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
