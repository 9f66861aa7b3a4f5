/*
 * vidx/source.h - an opened video: safe opening, stream information, probe.
 *
 * Part of the public API; include <vidx/vidx.h>, which includes every vidx header.
 */
#ifndef VIDX_SOURCE_H
#define VIDX_SOURCE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct VidxSource VidxSource;

typedef struct VidxSourceSettings {
    /** The size of the caller's struct, set by vidx_source_default_settings() ("ABI", vidx.h). */
    size_t struct_size;
    /** Video stream to use, or -1 to pick the best (default). */
    int stream;
    /** Network read/connect timeout in seconds for URL inputs (default 30). */
    double network_timeout;
    /** Largest accepted frame area in pixels (default 8192*8192). */
    int64_t max_pixels;
    /** Most streams a file may have (default 64; VIDX_ELIMIT past it). */
    int max_streams;
    /**
     * Called while packets are read or frames decoded, at most every 0.2 s
     * (may be NULL): a sign of progress for watchdogs (VidxRunSettings.stall).
     */
    void (*on_progress)(void *opaque);
    void *progress_opaque;
    /**
     * Also open files without a video stream (or whose only picture is cover
     * art) for their audio: audio-only formats (MP3, WAV, FLAC, ...) are then
     * allowed, and vidx_source_video_info().stream is -1. Only jobs with audio
     * use such a source (vidx_job_run writes the audio and no frames). Default 0.
     */
    int audio_only;
    /**
     * Audio stream to use: the N-th audio stream (0-based, counting audio
     * streams only), or -1 for the best one (default). A file with audio but
     * no N-th audio stream is refused with VIDX_ERANGE; a file without audio
     * has none (info.has_audio 0).
     */
    int audio_stream;
} VidxSourceSettings;

/**
 * Fills the first size bytes of s with the defaults, for a caller whose
 * VidxSourceSettings is size bytes. 0, or VIDX_EUSAGE for a size no version
 * of the struct has. Call vidx_source_default_settings() instead.
 */
VIDX_API int vidx_source_settings_init(VidxSourceSettings *s, size_t size);

/** Sets every field of s to its default. */
static inline void vidx_source_default_settings(VidxSourceSettings *s)
{
    (void)vidx_source_settings_init(s, sizeof(*s));
}

/**
 * Opens a local file or an http(s) URL. Local files may only use the "file"
 * protocol, URLs only http/https/tcp/tls, and only demuxers that never open
 * further inputs are allowed (no playlists, no concat).
 *
 * Returns 0 and sets *out, or a negative code with *out = NULL:
 * ENOENT/EACCES/EISDIR (and other errno), VIDX_EEMPTY, VIDX_EFORMAT,
 * VIDX_EREFUSED, VIDX_ENOVIDEO, VIDX_ELIMIT, VIDX_ENETWORK, AVERROR codes.
 */
VIDX_API int vidx_source_open(VidxSource **out, const char *url, const VidxSourceSettings *s);
VIDX_API void vidx_source_close(VidxSource **src);

/** What vidx knows about the selected video stream before decoding. */
typedef struct VidxVideoInfo {
    int stream;      /**< index of the stream used */
    int coded_width; /**< decoder picture size */
    int coded_height;
    int display_width; /**< after sample aspect ratio and rotation */
    int display_height;
    int rotation; /**< clockwise degrees to display: 0, 90, 180 or 270 */
    int sar_num, sar_den;
    double start;    /**< stream start time, seconds */
    double duration; /**< stream duration, seconds; < 0 when unknown */
    double avg_fps;  /**< average frame rate; 0 when unknown */
    int64_t frames;  /**< frame count from the header; -1 when unknown */
    int has_audio;   /**< an audio stream exists */
} VidxVideoInfo;

VIDX_API const VidxVideoInfo *vidx_source_video_info(const VidxSource *src);

/**
 * Describes the file as one JSON object (format, streams, the selected
 * video's information; the fields are listed in docs/CLI.md).
 * With count_frames != 0 the frame count is exact: every packet of the video
 * stream is read (no decoding). On success *json belongs to the caller
 * (free with vidx_free).
 */
VIDX_API int vidx_source_probe_json(VidxSource *src, int count_frames, char **json);

#ifdef __cplusplus
}
#endif
#endif /* VIDX_SOURCE_H */
