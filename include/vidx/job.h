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

/** The audio file's format (VidxJobSettings.audio). */
typedef enum VidxAudioFormat {
    VIDX_AUDIO_NONE = 0,
    VIDX_AUDIO_WAV = 1,  /**< PCM s16le, .wav */
    VIDX_AUDIO_FLAC = 2, /**< .flac */
    VIDX_AUDIO_OPUS = 3, /**< libopus in Ogg, .opus */
} VidxAudioFormat;

/** The file extension of an audio format ("wav", "flac", "opus"), or NULL for none. */
VIDX_API const char *vidx_audio_format_ext(int format);
/** Parses "wav", "flac" or "opus" into *format: 0, or VIDX_EUSAGE. */
VIDX_API int vidx_audio_format_parse(const char *name, int *format);

/** Which frames of each shot VidxJobSettings.per_scene takes. */
typedef enum VidxScenePick {
    VIDX_PICK_SPREAD = 0, /**< the centres of K equal slices of the shot (K = 1: its middle) */
    VIDX_PICK_FIRST = 1,  /**< its first K frames */
    VIDX_PICK_MIDDLE = 2, /**< K consecutive frames around its middle */
} VidxScenePick;

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
    /**
     * Audio (a VidxAudioFormat): none (default), WAV, FLAC or Opus; written to
     * audio.<ext> in the job's directory. Opus takes 8, 12, 16, 24 or 48 kHz.
     */
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
    /**
     * Also find the shots (vidx/scenes.h, default settings) in the same decode
     * (every picture is then decoded) and write scenes.json, the JSON of
     * vidx_scenes_json(), in the job's directory. Default 0.
     */
    int scenes;
    /**
     * Also transcribe the audio (vidx/speech.h) from the same decode and write
     * transcript.json, .srt and .vtt in the job's directory (none for a video
     * without audio). With audio also written, that must be 16000 Hz mono. Default 0.
     */
    int transcribe;
    /** The recogniser's settings (must outlive the job); NULL: the defaults (built-in). */
    const struct VidxTranscribeSettings *asr;
    /**
     * Sampling by shot: K > 0 replaces the sampler's mode (sampler.mode and its
     * lists are ignored; approx is refused) with K exact frames of each shot
     * (a shot shorter than K gives each of its frames once), chosen as
     * per_scene_pick says. The shots are those of vidx_scenes_json() with
     * default settings, and scenes.json is written as with scenes. The file
     * is read twice: once decoding every picture to find the shots, then once
     * more decoding only the GOPs that hold the chosen frames (audio and the
     * transcript come from that second read). Default 0 (off).
     */
    int per_scene;
    /** A VidxScenePick (default VIDX_PICK_SPREAD). */
    int per_scene_pick;
    /**
     * Also label each kept frame (not near-duplicates) through a model endpoint
     * (vidx/label.h; label_settings must be set, with its URL) and write
     * labels.json in the job's directory: per frame its caption, tags, model
     * and latency, or why it has none (a refusal, a malformed answer). An
     * endpoint that cannot be reached, times out or keeps failing after its
     * retries fails the job (VIDX_ENETWORK, VIDX_ETIMEOUT). Default 0.
     */
    int label;
    /** The labeller's settings (must outlive the job); required with label. */
    const struct VidxLabelSettings *label_settings;
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

/**
 * vidx_job_run(), also saying where the video was decoded: device receives
 * vidx_sampler_device()'s "cuda" or "cpu (REASON)", or "" when no picture was
 * to be decoded (it failed before, or an audio-only file). device may be NULL.
 */
VIDX_API int vidx_job_run_on(const char *url, const char *dir, const VidxJobSettings *s,
                             VidxJobResult *result, char *device, size_t device_size);

/** vidx_audio_extract(): replace an existing output file that vidx did not write. */
#define VIDX_AUDIO_FORCE 1u

/**
 * Writes the audio of url (a video or an audio file) to out_path, in the
 * format s->audio (WAV when none) at s->audio_rate and s->audio_channels,
 * from the stream s->source.audio_stream picks. Sample 0 of the output is
 * time 0 of the file (its start time when that is positive), see
 * docs/CLI.md; gaps are filled with silence, overlaps dropped. The file is
 * written under a scratch name in its directory and renamed into place; an
 * existing out_path is replaced only if vidx wrote it (or with
 * VIDX_AUDIO_FORCE), else VIDX_ENOTOURS and nothing is touched. A file
 * without audio is VIDX_EFORMAT. Fills result->audio_* (audio_path:
 * out_path), status, message, output_failed, partial (damaged packets
 * skipped); free it with vidx_job_result_clear().
 */
VIDX_API int vidx_audio_extract(const char *url, const char *out_path, const VidxJobSettings *s,
                                unsigned flags, VidxJobResult *result);

#ifdef __cplusplus
}
#endif
#endif /* VIDX_JOB_H */
