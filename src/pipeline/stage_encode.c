/*
 * stage_encode.c - the per-frame stage that records each delivered frame and,
 * unless it is a near-duplicate of the last kept one (--dedup: recorded with
 * dup_of, not written), encodes it, names it, hashes its bytes, holds it to
 * the video's byte limit and hands it to the job's sink.
 */
#include "pipeline/job.h"

#include <math.h>
#include <stdio.h>

#include <libavutil/error.h>
#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "pipeline/sink.h"

static int sha256_hex(const uint8_t *data, size_t size, char out[65])
{
    struct AVSHA *sha = av_sha_alloc();
    uint8_t digest[32];
    if (!sha)
        return AVERROR(ENOMEM);
    av_sha_init(sha, 256);
    av_sha_update(sha, data, size);
    av_sha_final(sha, digest);
    av_free(sha);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    return 0;
}

/* A near-duplicate of the last kept frame (--dedup): recorded, not written. */
static int is_duplicate(const Job *j)
{
    if (j->set->dedup < 0 || j->kept < 0)
        return 0;
    return vidx_phash_distance(j->phash, j->res->frames[j->kept].phash) <= j->set->dedup;
}

static int notify(Job *j)
{
    const VidxJobSettings *s = j->set;
    if (s->on_frame)
        return s->on_frame(s->opaque, &j->res->frames[j->res->n_frames - 1]);
    return 0;
}

/* Encodes f, records it and writes it through the sink. */
static int put_frame(Job *j, const VidxFrame *f)
{
    const VidxJobSettings *s = j->set;
    uint8_t *data = NULL;
    size_t size = 0;
    char name[96], sha[65] = "";
    int ret;
    if ((ret = vidx_image_encode(f, s->format, s->quality, &data, &size)) < 0)
        return vidx__job_fail(j, ret, "encoding a frame");
    snprintf(name, sizeof(name), "%06lld_%lldms.%s", (long long)f->index,
             (long long)llround(f->time * 1000.0), vidx_image_extension(s->format));
    ret = sha256_hex(data, size, sha);
    if (ret >= 0 && j->max_bytes > 0 && j->written + (int64_t)size > j->max_bytes)
        ret = vidx__detail(VIDX_ELIMIT,
                           "the frames pass this video's share of --max-scratch (%lld bytes)",
                           (long long)j->max_bytes);
    if (ret >= 0)
        ret = vidx__job_add_record(j, f, (int64_t)size, name, sha, -1);
    if (ret >= 0)
        ret = j->target->sink->frame(j, data, size);
    vidx_free(data);
    return ret < 0 ? vidx__job_fail(j, ret, "writing a frame") : 0;
}

static int encode_frame(Job *j, const VidxFrame *f)
{
    int ret;
    if (is_duplicate(j)) {
        ret = vidx__job_add_record(j, f, 0, NULL, NULL, j->kept);
        return ret < 0 ? vidx__job_fail(j, ret, "recording a frame") : notify(j);
    }
    if ((ret = put_frame(j, f)) < 0)
        return ret;
    vidx__fault("frame");
    j->kept = (int64_t)j->res->n_frames - 1;
    return notify(j);
}

const VidxStage vidx__stage_encode = {.name = "encode", .frame = encode_frame};
