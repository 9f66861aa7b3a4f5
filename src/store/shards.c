/*
 * shards.c - the "shards" layout: WebDataset-compatible tar shards.
 *
 * DESIGN
 * OUT/shards/NNNNNN.tar holds samples "<key>/<index>_<ms>ms.<ext>" plus
 * "<key>/<index>_<ms>ms.json" (the frame's metadata); WebDataset groups the
 * two by the name before the first dot, so keys carry no dots. Each run
 * writes shards of its own, never an older one.
 *
 * Who writes the bytes: each worker slot of the supervisor owns a shard, and
 * its worker appends every video's samples to it directly, at the offset the
 * supervisor gives with the task, ends it with tar's end blocks and fsyncs it
 * (vidx_job_run with tar_path; in parallel, like the files layout's syncfs).
 * Staging such a video only records where its samples are. With
 * --dedup-exact the worker cannot know which frames are duplicates, so it
 * packs them into its scratch directory instead (VIDX_TAR_PACK) and the store
 * copies what is new onto a shard of its own (copy_file_range, writeback
 * started at once; fsync'd at the group's sync).
 *
 * Crash safety: the catalog commits each shard's size with the videos in it;
 * bytes past it are an uncommitted tail (a video in flight, one that failed,
 * one a crash or a full disk left unrecorded), cut at recovery
 * (vidx__shard_recover) and at the end of the run, where every shard is
 * closed at its committed size with the end blocks. A shard takes no new
 * video once it passes --shard-size (or --shard-samples); a video never
 * spans two shards.
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

#include "store/fs.h"
#include "store/owned.h"
#include "store/tar.h"

typedef struct Shard {
    char name[64]; /* relative to OUT */
    int64_t size;  /* bytes of staged or committed samples */
    int64_t samples;
} Shard;

typedef struct Shards {
    int index;   /* number of the next new shard */
    Shard *list; /* every shard of this run */
    size_t n, cap;
    int own;    /* the store's own shard (copies), or -1 */
    int own_fd; /* open while own is */
    int copied; /* copies since the last sync */
} Shards;

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
    s->own = s->own_fd = -1;
    st->priv = s;
    snprintf(dir, sizeof(dir), "%s/shards", st->out);
    int ret = vidx__mkdirs(dir);
    s->index = VIDX_MAX(next_index(st->out), st->next_shard);
    return ret;
}

/* Claims the next free shard name and creates the file: never one a file already has. */
static int create_next(Store *st, char name[64])
{
    Shards *s = st->priv;
    char path[PATH_MAX], dir[PATH_MAX];
    for (int tries = 0; tries < 1000; tries++) {
        snprintf(name, 64, "shards/%s%06d.tar", st->shard_prefix ? st->shard_prefix : "",
                 s->index++);
        int ret = st->claim_shard(st->claim_ctx, name, 1);
        if (ret == -EEXIST)
            continue;
        if (ret < 0)
            return ret;
        snprintf(path, sizeof(path), "%s/%s", st->out, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            close(fd);
            snprintf(dir, sizeof(dir), "%s/shards", st->out);
            return vidx__fsync_dir(dir);
        }
        ret = -errno;
        st->claim_shard(st->claim_ctx, name, 0);
        if (ret != -EEXIST) /* a file of that name (not vidx's): the next name */
            return ret;
    }
    return -EEXIST;
}

int vidx__shards_new(Store *st, char name[64])
{
    Shards *s = st->priv;
    if (vidx__grow(&s->list, &s->cap, s->n + 1, sizeof(*s->list), 16) < 0)
        return -ENOMEM;
    int ret = create_next(st, name);
    if (ret < 0) {
        name[0] = 0; /* no shard */
        return ret;
    }
    Shard *sh = &s->list[s->n++];
    memset(sh, 0, sizeof(*sh));
    snprintf(sh->name, sizeof(sh->name), "%s", name);
    return 0;
}

int vidx__shards_full(const Store *st, int64_t size, int64_t samples)
{
    return size >= st->shard_bytes || (st->shard_samples > 0 && samples >= st->shard_samples);
}

static Shard *find(Shards *s, const char *name)
{
    for (size_t i = s->n; i-- > 0;) /* the newest are the busiest */
        if (!strcmp(s->list[i].name, name))
            return &s->list[i];
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Samples the worker wrote into its shard                                 */
/* ---------------------------------------------------------------------- */

/* A sample as the worker wrote it: whole blocks, image and .json members. */
static int valid_sample(const StoreItem *it)
{
    const TarSpan *s = &it->sample;
    return s->offset >= 0 && s->size >= 2 * VIDX_TAR_BLOCK + it->rec->bytes &&
           s->size % VIDX_TAR_BLOCK == 0;
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

/* Records where the worker put v's samples: [start, tar_end) of its shard. */
static int stage_in_place(Shard *sh, StoreVideo *v)
{
    for (size_t i = 0; i < v->n_items; i++) {
        StoreItem *it = &v->items[i];
        const TarSpan *r = &it->sample;
        if (!it->store || reuse_earlier(v, i))
            continue;
        if (!valid_sample(it) || r->offset < sh->size || r->offset + r->size > v->tar_end)
            return -EIO;                         /* not where this video's samples were to go */
        it->offset = r->offset + VIDX_TAR_BLOCK; /* the image's data */
        snprintf(it->location, sizeof(it->location), "%s", sh->name);
        sh->samples++;
    }
    sh->size = v->tar_end;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Samples the store copies from the worker's pack (--dedup-exact)         */
/* ---------------------------------------------------------------------- */

/* Closes shard name at size bytes (end blocks, nothing after them), durably; fd if open. */
static int close_at(const char *out, const char *name, int64_t size, int fd)
{
    char path[PATH_MAX];
    int own = fd >= 0;
    snprintf(path, sizeof(path), "%s/%s", out, name);
    if (!own && (fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
        return -errno;
    int ret = vidx__tar_end_at(fd, size);
    if (ret == 0 && fsync(fd) < 0)
        ret = -errno;
    if (!own)
        close(fd);
    return ret;
}

/* The store's own shard, with room for another video. */
static int own_shard(Store *st, Shard **out)
{
    Shards *s = st->priv;
    char name[64], path[PATH_MAX];
    Shard *sh = s->own >= 0 ? &s->list[s->own] : NULL;
    if (sh && !vidx__shards_full(st, sh->size, sh->samples)) {
        *out = sh;
        return 0;
    }
    int ret = sh ? close_at(st->out, sh->name, sh->size, s->own_fd) : 0;
    if (s->own_fd >= 0)
        close(s->own_fd);
    s->own = s->own_fd = -1;
    if (ret < 0 || (ret = vidx__shards_new(st, name)) < 0)
        return ret;
    snprintf(path, sizeof(path), "%s/%s", st->out, name);
    if ((s->own_fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) /* created by vidx__shards_new */
        return -errno;
    s->own = (int)s->n - 1;
    *out = &s->list[s->own];
    return 0;
}

/* Appends len bytes of the pack fd from off at the end of the shard. */
static int append_range(Shard *sh, int out, int fd, int64_t off, int64_t len)
{
    int ret = vidx__copy_range(fd, off, out, sh->size, len);
    if (ret == 0)
        sh->size += len;
    return ret;
}

/*
 * Appends the stored frames of v from the worker's pack: adjacent samples
 * (all of them, unless dedup left some out) are copied at once, by the
 * kernel, and their writeback starts at once, so the group's fsync finds
 * little left to wait for.
 */
static int stage_copy(Store *st, Shard *sh, StoreVideo *v)
{
    Shards *s = st->priv;
    char path[PATH_MAX];
    int64_t run_off = 0, run_len = 0; /* the samples gathered for one copy */
    int ret = 0;
    snprintf(path, sizeof(path), "%s/%s", v->scratch, VIDX_TAR_PACK);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    for (size_t i = 0; i < v->n_items && ret == 0; i++) {
        StoreItem *it = &v->items[i];
        const TarSpan *r = &it->sample;
        if (!it->store || reuse_earlier(v, i))
            continue;
        if (fd < 0 || !valid_sample(it)) {
            ret = fd < 0 ? -errno : -EIO;
            break;
        }
        if (r->offset != run_off + run_len) {
            ret = append_range(sh, s->own_fd, fd, run_off, run_len);
            run_off = r->offset, run_len = 0;
        }
        it->offset = sh->size + run_len + VIDX_TAR_BLOCK; /* the image's data */
        snprintf(it->location, sizeof(it->location), "%s", sh->name);
        sh->samples++;
        run_len += r->size;
    }
    if (ret == 0)
        ret = append_range(sh, s->own_fd, fd, run_off, run_len);
    if (fd >= 0)
        close(fd);
    if (ret == 0 && sh->size > v->start)
        sync_file_range(s->own_fd, v->start, sh->size - v->start, SYNC_FILE_RANGE_WRITE);
    s->copied |= ret == 0;
    return ret;
}

/* ---------------------------------------------------------------------- */
/* The layout                                                              */
/* ---------------------------------------------------------------------- */

/* Undoes v (the newest staged video of shard sh): its samples become the shard's tail. */
static void undo(Store *st, Shard *sh, const StoreVideo *v)
{
    char dst[PATH_MAX];
    if (sh) {
        sh->size = v->start;
        sh->samples = v->start_samples;
    }
    snprintf(dst, sizeof(dst), "%s/%s", st->out, v->video_dir);
    vidx__remove_video_dir(dst); /* a half-moved directory must not stay either */
}

static int shards_stage(Store *st, StoreVideo *v)
{
    Shards *s = st->priv;
    char dst[PATH_MAX], pack[PATH_MAX];
    Shard *sh = NULL;
    int ret = v->shard[0] ? ((sh = find(s, v->shard)) ? 0 : -EINVAL) : own_shard(st, &sh);
    v->bytes_added = 0;
    if (ret < 0)
        return ret;
    v->start = sh->size;
    v->start_samples = sh->samples;
    ret = v->shard[0] ? stage_in_place(sh, v) : stage_copy(st, sh, v);
    snprintf(pack, sizeof(pack), "%s/%s", v->scratch, VIDX_TAR_PACK);
    if (ret == 0) /* copied, or never written: it must not move with the manifest and audio */
        unlink(pack);
    snprintf(v->video_dir, sizeof(v->video_dir), "frames/%s", v->key);
    snprintf(dst, sizeof(dst), "%s/%s", st->out, v->video_dir);
    if (ret == 0) { /* the worker synced the manifest, the audio and the directory */
        vidx__remove_video_dir(dst);
        ret = vidx__move_dir(v->scratch, dst);
    }
    if (ret < 0) {
        undo(st, sh, v);
        return ret;
    }
    snprintf(v->shard_state.name, sizeof(v->shard_state.name), "%s", sh->name);
    v->shard_state.size = sh->size;
    v->shard_state.samples = sh->samples;
    v->bytes_added = sh->size - v->start;
    return 0;
}

static int shards_sync(Store *st)
{
    Shards *s = st->priv;
    char frames[PATH_MAX];
    int ret = s->copied && fsync(s->own_fd) < 0 ? -errno : 0;
    snprintf(frames, sizeof(frames), "%s/frames", st->out);
    if (ret == 0)
        ret = vidx__fsync_dir(frames);
    if (ret == 0)
        s->copied = 0;
    return ret;
}

static void shards_rollback(Store *st, StoreVideo *v)
{
    undo(st, find(st->priv, v->shard_state.name), v);
}

/* Closes every shard of the run at its committed size; removes those nothing went to. */
static int shards_finish(Store *st)
{
    Shards *s = st->priv;
    int ret = 0;
    for (size_t i = 0; i < s->n; i++) {
        const Shard *sh = &s->list[i];
        int r = sh->size > 0
                    ? close_at(st->out, sh->name, sh->size, (int)i == s->own ? s->own_fd : -1)
                    : vidx__shard_remove_empty(st, sh->name);
        if (r == -ENOENT && sh->size > 0) /* a bucket output's, uploaded and removed */
            r = 0;
        if (ret == 0)
            ret = r;
    }
    return ret;
}

static void shards_close(Store *st)
{
    Shards *s = st->priv;
    if (s && s->own_fd >= 0)
        close(s->own_fd);
    if (s)
        free(s->list);
    free(s);
    st->priv = NULL;
}

const StoreOps vidx__store_shards = {
    .name = "shards",
    .open = shards_open,
    .stage = shards_stage,
    .sync = shards_sync,
    .rollback = shards_rollback,
    .finish = shards_finish,
    .close = shards_close,
};

int vidx__shard_recover(const char *out, const char *name, int64_t committed)
{
    int ret = close_at(out, name, committed, -1);
    return ret == -ENOENT ? 0 : ret;
}

int vidx__shard_remove_empty(Store *st, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", st->out, name);
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    /* A row left behind (a full disk) is harmless: the next start finds it empty again. */
    st->claim_shard(st->claim_ctx, name, 0);
    return 0;
}
