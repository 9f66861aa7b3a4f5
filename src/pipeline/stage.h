/*
 * stage.h - the per-frame stages of a job: each consumes the same decoded
 * frame, in order, once per delivered frame. Today: hashes (perceptual hash,
 * optional md5 of the planes: stage_hash.c), then encode and sink
 * (stage_encode.c), which records the frame and writes it unless it is a
 * near-duplicate; then labels (stage_label.c) with the job's label setting. A shot detector or a
 * GPU conversion is one more table.
 */
#ifndef VIDX_PIPELINE_STAGE_H
#define VIDX_PIPELINE_STAGE_H

#include "core/internal.h"

typedef struct Job Job;

typedef struct VidxStage {
    const char *name;
    /* Before the first frame (may be NULL); a failure is set on the result. */
    int (*open)(Job *j);
    /* Each delivered frame; < 0 (set on the result) stops the job. */
    int (*frame)(Job *j, const VidxFrame *f);
    /* At the end, opened or not (may be NULL). */
    void (*close)(Job *j);
} VidxStage;

extern const VidxStage vidx__stage_hash;
extern const VidxStage vidx__stage_encode;
extern const VidxStage vidx__stage_label; /* after encode: the frame's record exists */

#endif
