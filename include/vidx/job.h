/*
 * vidx/job.h - one video to an output directory: settings, per-frame records, result.
 *
 * Part of the public API; include <vidx/vidx.h>, which includes every vidx header.
 */
#ifndef VIDX_JOB_H
#define VIDX_JOB_H

#include "image.h"
#include "sampler.h"
#include "source.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One written frame, as recorded in the manifest (manifest.jsonl in the job's directory). */
typedef struct VidxFrameRecord {
    int64_t index;
    double target; /* NaN: none */
    double time;
    int64_t pts;
    int keyframe;
    int approx;
    int width, height;
    int64_t bytes;
    char *path;      /* relative to the job's output directory; NULL when dropped by dedup */
    char md5[33];    /* of the native planes when VidxJobSettings.md5; else "" */
    char sha256[65]; /* of the encoded image bytes */
    uint64_t phash;  /* perceptual hash of the output frame */
    int64_t dup_of;  /* dropped as a near-duplicate of this record (its position); else -1 */
} VidxFrameRecord;

typedef struct VidxJobSettings {
    /** The size of the caller's struct, set by vidx_job_default_settings() ("ABI", vidx.h). */
    size_t struct_size;
    VidxSourceSettings source;
    VidxSamplerSettings sampler;
    VidxImageFormat format;
    int quality; /**< default: 90 */
    /** Also compute the md5 of each delivered frame's decoded planes (verification). */
    int md5;
    /** Write manifest.jsonl, one line per frame, in the job's directory (default 1). */
    int manifest;
    /** Audio: 0 none, 1 WAV, 2 FLAC; written to audio.<ext> in the job's directory. */
    int audio;
    int audio_rate;     /**< default 16000 */
    int audio_channels; /**< default 1 */
    /** Called after each written frame (may be NULL). Return < 0 to stop. */
    int (*on_frame)(void *opaque, const VidxFrameRecord *rec);
    void *opaque;
    /** Polled between frames; non-zero stops the job with VIDX_EINTERRUPTED. */
    volatile int *cancel;
    /** Called once the input is open, before decoding (may be NULL). */
    void (*on_start)(void *opaque, const VidxVideoInfo *info);
    /**
     * Drop a frame whose perceptual hash is within this Hamming distance of the
     * previous kept frame (recorded with dup_of, not written); < 0 disables (default).
     */
    int dedup;
    /** Fail the job with VIDX_ELIMIT once its written bytes pass this; 0 = no limit. */
    int64_t max_bytes;
} VidxJobSettings;

/**
 * Like vidx_source_settings_init(), for VidxJobSettings: the struct_size of
 * s->source and s->sampler must be set first (the caller's sizes of those).
 */
VIDX_API int vidx_job_settings_init(VidxJobSettings *s, size_t size);

/** Sets every field of s, and of the settings nested in it, to its default. */
static inline void vidx_job_default_settings(VidxJobSettings *s)
{
    s->source.struct_size = sizeof(s->source);
    s->sampler.struct_size = sizeof(s->sampler);
    (void)vidx_job_settings_init(s, sizeof(*s));
}

/**
 * Checks settings without a video (vidx_job_run does it first): 0, or
 * VIDX_EUSAGE / VIDX_ERANGE with the cause in vidx_error_detail(). Adds to
 * vidx_sampler_check_settings(): WebP images are at most 16383 px a side.
 */
VIDX_API int vidx_job_check_settings(const VidxJobSettings *s);

typedef struct VidxJobResult {
    int status;       /**< 0 ok, or the error code that ended the job */
    int partial;      /**< some frames or targets could not be decoded */
    char *probe_json; /**< probe of the input (owned by the result) */
    VidxFrameRecord *frames;
    size_t n_frames;
    char *audio_path; /**< relative to dir; NULL without audio */
    int audio_rate, audio_channels;
    double audio_duration;
    VidxSamplerStats stats;
    double seconds;    /**< wall time of the job */
    int output_failed; /**< the failure was in writing outputs, not in the input */
    char message[256]; /**< the cause of a failure, with context */
} VidxJobResult;

/**
 * Samples frames from url into dir (created if missing). Files are written
 * under a temporary name and renamed into place, the manifest last. Returns
 * the same code as result->status. Free the result with vidx_job_result_clear().
 */
VIDX_API int vidx_job_run(const char *url, const char *dir, const VidxJobSettings *s,
                          VidxJobResult *result);
VIDX_API void vidx_job_result_clear(VidxJobResult *result);

#ifdef __cplusplus
}
#endif
#endif /* VIDX_JOB_H */
