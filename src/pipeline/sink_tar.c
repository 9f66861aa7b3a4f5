/*
 * sink_tar.c - the tar sink: each frame a WebDataset sample (the image and
 * its .json metadata, members "<key>/<name>.<ext|json>") appended into the
 * target's shard from its start offset, or into DIR/frames.tar created
 * afresh; after the last one tar's end-of-archive blocks, anything after them
 * cut. vidx run's shards layout: each worker appends to its own shard and
 * makes what it wrote durable itself (in parallel, not the supervisor): the
 * shard by fsync (and its directory when the shard is new), every other file
 * of the video's directory (manifest, audio) and that directory.
 */
#include "pipeline/job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/error.h>

#include "store/fs.h"
#include "store/tar.h"

/* The archive: opened once, at the first frame (or at the end, for none). */
static int open_pack(Job *j)
{
    const JobTarget *t = j->target;
    char path[PATH_MAX];
    if (j->pack >= 0)
        return 0;
    if (t->start < 0 || t->start % VIDX_TAR_BLOCK)
        return VIDX_EUSAGE;
    snprintf(path, sizeof(path), "%s/%s", j->dir, VIDX_TAR_PACK);
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (t->shard ? 0 : O_TRUNC);
    if ((j->pack = open(t->shard ? t->shard : path, flags, 0644)) < 0)
        return -errno;
    j->pack_size = t->shard ? t->start : 0;
    return 0;
}

/*
 * Appends the newest record's frame as a sample. The same frame delivered
 * again for the next target (a rate above the video's) is the same sample:
 * one member name, written once.
 */
static int tar_frame(Job *j, const uint8_t *data, size_t size)
{
    size_t n = j->res->n_frames - 1, len = size;
    const VidxFrameRecord *r = &j->res->frames[n];
    TarSpan *span = &j->out->spans[n];
    if (j->kept >= 0 && j->out->spans[j->kept].offset >= 0 &&
        !strcmp(j->res->frames[j->kept].path, r->path)) {
        *span = j->out->spans[j->kept];
        return 0;
    }
    char *sample =
        vidx__tar_sample(j->target->key, r, vidx_image_extension(j->set->format), data, &len);
    if (!sample)
        return AVERROR(ENOMEM);
    int ret = open_pack(j);
    if (ret == 0)
        ret = vidx__pwrite_all(j->pack, sample, len, j->pack_size);
    free(sample);
    if (ret < 0)
        return ret;
    span->offset = j->pack_size;
    span->size = (int64_t)len;
    j->pack_size += (int64_t)len;
    j->out->tar_samples++;
    j->written += (int64_t)len;
    return 0;
}

static int tar_end(Job *j)
{
    int ret = open_pack(j);
    if (ret == 0)
        ret = vidx__tar_end_at(j->pack, j->pack_size);
    j->out->tar_end = j->pack_size;
    return ret < 0 ? vidx__job_fail(j, ret, "writing a frame") : 0;
}

/* A frame file, or the pack of them all. */
static int is_frame(const VidxJobResult *r, const char *name)
{
    if (!strcmp(name, VIDX_TAR_PACK))
        return 1;
    for (size_t i = 0; i < r->n_frames; i++)
        if (r->frames[i].path && !strcmp(r->frames[i].path, name))
            return 1;
    return 0;
}

/* What the video's directory holds apart from the frames (manifest, audio), and the directory. */
static int sync_all_but_frames(const char *dir, const VidxJobResult *r)
{
    char p[PATH_MAX];
    struct dirent *e;
    int ret = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    while (ret == 0 && (e = readdir(d)))
        if (e->d_name[0] != '.' && !is_frame(r, e->d_name) &&
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) < (int)sizeof(p))
            ret = vidx__fsync_path(p);
    closedir(d);
    return ret == 0 ? vidx__fsync_dir(dir) : ret;
}

/* The samples this video appended to its shard, and a new shard's entry. */
static int sync_shard(const char *shard, int64_t start)
{
    char dir[PATH_MAX];
    int ret = vidx__fsync_path(shard);
    snprintf(dir, sizeof(dir), "%s", shard);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    return ret == 0 && start == 0 && slash ? vidx__fsync_dir(dir) : ret;
}

static int tar_sync(Job *j)
{
    const JobTarget *t = j->target;
    if (!t->durable)
        return 0;
    int ret = sync_all_but_frames(j->dir, j->res);
    if (ret == 0 && t->shard)
        ret = sync_shard(t->shard, t->start);
    if (ret < 0)
        snprintf(j->res->message, sizeof(j->res->message), "syncing outputs: %s",
                 vidx_strerror(ret));
    j->res->output_failed |= ret < 0;
    return ret;
}

static int tar_close(Job *j)
{
    int ret = j->pack >= 0 && close(j->pack) < 0 ? -errno : 0;
    j->pack = -1;
    return ret;
}

const SinkOps vidx__sink_tar = {
    .name = "tar",
    .frame = tar_frame,
    .end = tar_end,
    .sync = tar_sync,
    .close = tar_close,
};
