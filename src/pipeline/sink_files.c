/*
 * sink_files.c - the files sink: each frame a file of its own in the video's
 * directory (scratch name, renamed into place), made durable with everything
 * else the video wrote there by one syncfs (far cheaper than an fsync per
 * file when a video wrote dozens).
 */
#include "pipeline/job.h"

#include "store/fs.h"

static int files_frame(Job *j, const uint8_t *data, size_t size)
{
    const VidxFrameRecord *r = &j->res->frames[j->res->n_frames - 1];
    int ret = vidx__write_atomic(j->dir, r->path, data, size, 0);
    if (ret == 0)
        j->written += (int64_t)size;
    return ret;
}

static int files_end(Job *j)
{
    (void)j;
    return 0;
}

static int files_sync(Job *j)
{
    int ret = j->target->durable ? vidx__sync_dir_fs(j->dir) : 0;
    return ret < 0 ? vidx__job_fail(j, ret, "writing (sync)") : 0;
}

static int files_close(Job *j)
{
    (void)j;
    return 0;
}

const SinkOps vidx__sink_files = {
    .name = "files",
    .frame = files_frame,
    .end = files_end,
    .sync = files_sync,
    .close = files_close,
};
