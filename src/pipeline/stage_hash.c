/*
 * stage_hash.c - the first per-frame stage: the perceptual hash of every
 * delivered frame (recorded, and what --dedup compares) and, when the
 * settings ask for it, the md5 of its decoded planes (verification). The
 * stages after it read both from the job.
 */
#include "pipeline/job.h"

static int hash_frame(Job *j, const VidxFrame *f)
{
    int ret;
    j->phash = vidx_frame_phash(f);
    j->md5[0] = 0;
    if (j->set->md5 && (ret = vidx_frame_md5(f, j->md5)) < 0)
        return vidx__job_fail(j, ret, "hashing a frame");
    return 0;
}

const VidxStage vidx__stage_hash = {.name = "hash", .frame = hash_frame};
