/*
 * job_internal.h - one video's job as the batch layer runs it: the public
 * vidx_job_run (pipeline/job.c) with an output target of its own choosing (a
 * sink and where it writes) and what that sink reports beyond the public
 * result (where each frame's sample lies in the shard).
 */
#ifndef VIDX_PIPELINE_JOB_INTERNAL_H
#define VIDX_PIPELINE_JOB_INTERNAL_H

#include "core/internal.h"
#include "pipeline/sink.h"
#include "store/tar.h"

/* Where one video's outputs go: the same job settings serve every task. */
typedef struct JobTarget {
    const SinkOps *sink; /* &vidx__sink_files or &vidx__sink_tar */
    int durable;         /* the sink makes the outputs durable before the job ends */
    /* tar: sample names are "<key>/<frame>"; samples are appended to shard from
     * byte start (a multiple of 512; earlier samples are kept, anything after
     * the new end blocks is cut), or written to DIR/frames.tar afresh (NULL). */
    const char *key;
    const char *shard;
    int64_t start;
} JobTarget;

/* What the sink reports beyond the public result (free with vidx__job_output_clear). */
typedef struct JobOutput {
    TarSpan *spans;        /* per frame record: its sample (offset -1: none) */
    int64_t tar_end;       /* tar: where the samples end (the end blocks start) */
    int64_t tar_samples;   /* tar: samples written (a repeated frame is one) */
    int truncated;         /* partial because the input was cut off (class truncated) */
    char *scenes_json;     /* settings' scenes: what scenes.json holds (av_free'd), else NULL */
    char *transcript_json; /* settings' transcribe: transcript.json's text (free'd), else NULL */
    char *labels_json;     /* settings' label: labels.json's text (free'd), else NULL */
    /* batch/transcode_stage.h: the renditions the worker made after the job
     * (a JSON array, free'd), else NULL; the job itself never sets it */
    char *renditions_json;
    char device[256]; /* where the video decoded (vidx_sampler_device); "" if it did not */
} JobOutput;

/* vidx_job_run into target; out receives the sink's report. */
int vidx__job_run_into(const char *url, const char *dir, const VidxJobSettings *s,
                       const JobTarget *target, VidxJobResult *res, JobOutput *out);
void vidx__job_output_clear(JobOutput *out);

#endif
