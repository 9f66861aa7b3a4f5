/*
 * job.h - the state of one video's job, shared by the job (job.c), its
 * stages (stage_*.c), its sinks (sink_*.c) and its manifest (manifest.c)
 * inside the pipeline layer.
 */
#ifndef VIDX_PIPELINE_JOB_H
#define VIDX_PIPELINE_JOB_H

#include "pipeline/job_internal.h"
#include "pipeline/stage.h"
#include "media/sampler_cut.h"
#include "pipeline/transcribe.h"

typedef struct VidxAudioFile VidxAudioFile;
typedef struct SceneDetector SceneDetector;
typedef struct Labeller Labeller;

struct Job {
    const char *dir;
    const VidxJobSettings *set;
    const JobTarget *target;
    VidxJobResult *res;
    JobOutput *out;
    VidxAudioFile *audio;
    int audio_error;
    int speech;            /* settings' transcribe and the input has audio: pcm gathers it */
    VidxPcm pcm;           /* 16 kHz mono, for the transcript */
    SceneDetector *scenes; /* settings' scenes or per_scene: the shot detector */
    int64_t *picked;       /* per_scene: the chosen presentation indices (malloc'd) */
    Labeller *labeller;    /* settings' label: the frames' labeller (stage_label.c) */
    size_t cap_frames;
    int64_t kept;      /* record position of the last kept frame, or -1 */
    int64_t written;   /* bytes of frames written so far */
    int64_t max_bytes; /* their limit (0: none): settings' max_bytes, but a shard is not scratch */
    /* The frame the stages are on: what the hash stage computed for it. */
    uint64_t phash;
    char md5[33];
    VidxSamplerCut cut; /* where the input was cut off, if it was (partial_message) */
    /* tar sink: the archive once opened (else -1) and where its next sample goes. */
    int pack;
    int64_t pack_size;
};

/* Sets the result's message (and output_failed for writing/creating/syncing); returns err. */
int vidx__job_fail(Job *j, int err, const char *what);

/* Appends a frame record (and its empty sample span); returns 0 or AVERROR(ENOMEM). */
int vidx__job_add_record(Job *j, const VidxFrame *f, int64_t bytes, const char *name,
                         const char *sha, int64_t dup_of);

/* After the last frame: waits for the labels, writes DIR/labels.json (stage_label.c). */
int vidx__job_finish_labels(Job *j);
/* 0 when the label settings are usable (VIDX_EUSAGE with the cause otherwise). */
int vidx__label_check(const VidxLabelSettings *s);

/* Writes DIR/manifest.jsonl (manifest.c). */
int vidx__job_write_manifest(Job *j, int stream);

#endif
