/*
 * vidx.h - the whole public API of libvidx.
 *
 * libvidx opens a video, plans which frames a request needs, decodes only those
 * (in one sequential read of the file), hands them back display-oriented, and
 * encodes them. Everything the vidx command-line tool does goes through this
 * header; anything not declared here is not API.
 *
 * Conventions
 *  - Objects are opaque and created by vidx_X_open(&obj, ...); vidx_X_close(&obj)
 *    frees, sets the pointer to NULL and accepts NULL.
 *  - Settings structs are initialised by vidx_X_default_settings() and then
 *    changed field by field, so new fields never break old callers.
 *  - Every function that can fail returns an int: 0 (or a positive count) on
 *    success, a negative code on failure. Codes are negative errno values,
 *    FFmpeg AVERROR values (which pass through unchanged) or one of VIDX_E*.
 *    vidx_strerror() describes any of them.
 */
#ifndef VIDX_VIDX_H
#define VIDX_VIDX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(VIDX_BUILDING_LIBRARY) && defined(__GNUC__)
#define VIDX_API __attribute__((visibility("default")))
#else
#define VIDX_API
#endif

#define VIDX_VERSION_MAJOR 0
#define VIDX_VERSION_MINOR 1
#define VIDX_VERSION_PATCH 0

/** Library version as "MAJOR.MINOR.PATCH". */
VIDX_API const char *vidx_version(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * vidx's own codes. They sit far below errno values and outside FFmpeg's
 * FFERRTAG space. Never renumbered: add new ones at the end.
 * X(name, value, short name, message)
 */
#define VIDX_ERRNO_MAP(X)                                                                          \
    X(VIDX_ENOVIDEO, -30001, "novideo", "no decodable video stream")                               \
    X(VIDX_EFORMAT, -30002, "format", "not a recognised media file")                               \
    X(VIDX_EREFUSED, -30003, "refused", "input refused by the security policy")                    \
    X(VIDX_EDECODE, -30004, "decode", "video could not be decoded")                                \
    X(VIDX_ERANGE, -30005, "range", "requested time or index is outside the video")                \
    X(VIDX_EENCODE, -30006, "encode", "image encoding failed")                                     \
    X(VIDX_EUSAGE, -30007, "usage", "invalid settings")                                            \
    X(VIDX_ETRUNCATED, -30008, "truncated", "file is truncated or unreadable part way")            \
    X(VIDX_ELIMIT, -30009, "limit", "media exceeds a safety limit")                                \
    X(VIDX_ECATALOG, -30010, "catalog", "catalog error")                                           \
    X(VIDX_EINTERRUPTED, -30011, "interrupted", "interrupted")                                     \
    X(VIDX_ETIMEOUT, -30012, "timeout", "timed out")                                               \
    X(VIDX_ECRASH, -30013, "crash", "worker crashed")                                              \
    X(VIDX_ENOMEMLIMIT, -30014, "memory", "memory limit exceeded")                                 \
    X(VIDX_ENETWORK, -30015, "network", "network input failed")                                    \
    X(VIDX_EEMPTY, -30016, "empty", "file is empty")                                               \
    X(VIDX_ENOTFILE, -30017, "notfile", "not a regular file")                                      \
    X(VIDX_ENOTOURS, -30018, "notours", "refused: not a vidx output directory")                    \
    X(VIDX_ELOCKED, -30019, "locked", "output directory in use by another vidx")

enum {
#define VIDX_ERRNO_ENUM(name, value, shortname, msg) name = value,
    VIDX_ERRNO_MAP(VIDX_ERRNO_ENUM)
#undef VIDX_ERRNO_ENUM
};

/** A human-readable message for any error code. Never NULL; thread-safe. */
VIDX_API const char *vidx_strerror(int err);

/**
 * A short stable class name for an error ("decode", "format", "io", "nomem"...),
 * used in catalogs and machine-readable output.
 */
VIDX_API const char *vidx_error_class(int err);

/**
 * The context of the last error err this thread got from libvidx, e.g. "frame
 * area 100000x100000 exceeds --max-pixels (67108864)", or "" when there is
 * none (the last failure had another code, or no context). Valid until the
 * thread's next libvidx call.
 */
VIDX_API const char *vidx_error_detail(int err);

/** Frees memory returned by libvidx (JSON strings, encoded images). NULL ok. */
VIDX_API void vidx_free(void *ptr);

/** Sets the log verbosity of FFmpeg and libvidx: 0 quiet, 1 errors, 2 warnings, 3 info. */
VIDX_API void vidx_set_log_level(int level);

/* ------------------------------------------------------------------------ */
/* Sources: an opened video                                                  */
/* ------------------------------------------------------------------------ */

typedef struct VidxSource VidxSource;

typedef struct VidxSourceSettings {
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
     * (may be NULL): a sign of progress for watchdogs (vidx run --stall).
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
} VidxSourceSettings;

VIDX_API void vidx_source_default_settings(VidxSourceSettings *s);

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
 * Describes the file as one JSON object (see docs/CLI.md, "vidx probe").
 * With count_frames != 0 the frame count is exact: every packet of the video
 * stream is read (no decoding). On success *json belongs to the caller
 * (free with vidx_free).
 */
VIDX_API int vidx_source_probe_json(VidxSource *src, int count_frames, char **json);

/* ------------------------------------------------------------------------ */
/* Sampling: which frames, and in what shape                                 */
/* ------------------------------------------------------------------------ */

typedef enum VidxMode {
    VIDX_MODE_COUNT = 0, /**< N frames at the centres of N equal segments */
    VIDX_MODE_FPS,       /**< the frames shown at start + k/R */
    VIDX_MODE_KEYFRAMES, /**< every keyframe, decoding keyframes only */
    VIDX_MODE_TIMES,     /**< the frames shown at given times (seconds from stream start) */
    VIDX_MODE_INDICES,   /**< frames by presentation index; negative counts from the end */
} VidxMode;

typedef enum VidxPixel {
    /** 8-bit 4:2:0 planar YCbCr, full range, BT.601 matrix: what JPEG/JFIF stores. */
    VIDX_PIXEL_YUV420_JPEG = 0,
    /** 8-bit packed RGB, 3 bytes per pixel. */
    VIDX_PIXEL_RGB24,
    /**
     * The decoder's own frame: no scaling, rotation or conversion, planes as
     * decoded (see VidxFrame.native_format). For verification.
     */
    VIDX_PIXEL_NATIVE,
} VidxPixel;

typedef enum VidxFit {
    VIDX_FIT_STRETCH = 0, /**< exactly WxH, aspect ratio not kept */
    VIDX_FIT_CROP,        /**< fill WxH, cut the overflow at the centre */
    VIDX_FIT_PAD,         /**< fit inside WxH, black bars */
} VidxFit;

typedef struct VidxSamplerSettings {
    VidxMode mode;
    int count;           /**< VIDX_MODE_COUNT: N (>= 1) */
    double fps;          /**< VIDX_MODE_FPS: R (> 0) */
    const double *times; /**< VIDX_MODE_TIMES: seconds from stream start */
    size_t n_times;
    const int64_t *indices; /**< VIDX_MODE_INDICES */
    size_t n_indices;
    /** Take the nearest keyframe instead of decoding forward (frames are labelled approx). */
    int approx;
    /** Decoder threads; 0 = all cores (default). */
    int threads;
    VidxPixel pixel;
    /** Longest side in pixels; 0 = display size (default). Ignored if width/height set. */
    int max_side;
    int width, height; /**< exact output box; 0 = not used */
    VidxFit fit;
    /** Stop with VIDX_ELIMIT past this many output frames (default 1,000,000). */
    int64_t max_frames;
} VidxSamplerSettings;

VIDX_API void vidx_sampler_default_settings(VidxSamplerSettings *s);

/**
 * Checks settings without a video (as vidx_sampler_open does first): 0, or
 * VIDX_EUSAGE / VIDX_ERANGE with the cause in vidx_error_detail(). --size S
 * allows a longest side up to 16255 and WxH up to (W+128) x (H+128) < 2^28
 * (FFmpeg's image limit).
 */
VIDX_API int vidx_sampler_check_settings(const VidxSamplerSettings *s);

typedef struct VidxFrame {
    int64_t index; /**< presentation-order index in the stream */
    double target; /**< requested time in seconds (NaN in keyframes mode) */
    double time;   /**< presentation time, seconds: pts * time_base */
    int64_t pts;   /**< in stream time base */
    int keyframe;
    int approx; /**< delivered by --approx (nearest keyframe) */
    int stream;
    int width, height; /**< of the planes below */
    VidxPixel pixel;
    int nplanes;
    const uint8_t *data[4];
    int linesize[4];
    const char *native_format; /**< FFmpeg pixel format name of the decoded picture */
    const void *internal;      /**< the decoded picture; for vidx_frame_md5() */
} VidxFrame;

/**
 * md5 of the frame's decoded planes (before any conversion), as hex, computed
 * exactly like FFmpeg's framemd5 muxer does for rawvideo: each plane's rows
 * packed without padding. Returns 0, VIDX_EUSAGE or -ENOMEM.
 */
VIDX_API int vidx_frame_md5(const VidxFrame *frame, char out[33]);

typedef struct VidxSamplerStats {
    int64_t packets_read;   /**< video packets demuxed */
    int64_t frames_decoded; /**< pictures the decoder produced */
    int64_t frames_skipped; /**< packets never given to the decoder, or discarded by it */
    int64_t frames_output;
    int64_t decode_errors;  /**< packets or pictures the decoder rejected */
    int partial;            /**< the file was truncated or partly undecodable */
    int64_t targets_missed; /**< targets no frame could be delivered for */
    /**
     * The file declared a longer duration than its video has (targets were
     * planned from it): targets past the real end, of which only the first is
     * answered (with the last frame) and the rest are missed; 0 for an honest
     * file. Then declared_duration and content_duration (seconds) say how long
     * the header and the video were; partial is set.
     */
    int64_t targets_past_end;
    double declared_duration, content_duration;
} VidxSamplerStats;

typedef struct VidxSampler VidxSampler;

/** Called with each audio packet's decoded, resampled samples (see VidxAudioSettings). */
typedef int (*VidxAudioCallback)(void *opaque, const int16_t *samples, int nb_samples);

typedef struct VidxAudioSettings {
    int enabled;                /**< decode the first audio stream from the same demux loop */
    int sample_rate;            /**< default 16000 */
    int channels;               /**< default 1 */
    VidxAudioCallback callback; /**< receives interleaved signed 16-bit samples */
    void *opaque;
} VidxAudioSettings;

/**
 * Plans the request against the source and prepares decoding. The source must
 * outlive the sampler and must not be used by anything else meanwhile.
 * Returns 0, VIDX_EUSAGE for bad settings, VIDX_ERANGE for targets outside the
 * video, or an AVERROR/errno code.
 */
VIDX_API int vidx_sampler_open(VidxSampler **out, VidxSource *src, const VidxSamplerSettings *s);

/**
 * Like vidx_sampler_open, with audio taken from the same read of the file.
 * audio may be NULL.
 */
VIDX_API int vidx_sampler_open2(VidxSampler **out, VidxSource *src, const VidxSamplerSettings *s,
                                const VidxAudioSettings *audio);

/**
 * Delivers the next frame in presentation order. Returns 1 and sets *frame
 * (valid until the next call or close, owned by the sampler), 0 when all
 * frames were delivered, or a negative code. A damaged file does not return an
 * error while any frame can still be delivered: see vidx_sampler_stats().partial.
 */
VIDX_API int vidx_sampler_next(VidxSampler *s, const VidxFrame **frame);

VIDX_API void vidx_sampler_stats(const VidxSampler *s, VidxSamplerStats *stats);
VIDX_API void vidx_sampler_close(VidxSampler **s);

/**
 * 64-bit perceptual hash (difference hash) of a converted frame (not
 * VIDX_PIXEL_NATIVE); 0 for frames smaller than 9x8.
 */
VIDX_API uint64_t vidx_frame_phash(const VidxFrame *frame);

/** Number of differing bits between two perceptual hashes (0-64). */
VIDX_API int vidx_phash_distance(uint64_t a, uint64_t b);

/* ------------------------------------------------------------------------ */
/* Image encoding                                                            */
/* ------------------------------------------------------------------------ */

typedef enum VidxImageFormat {
    VIDX_IMAGE_JPEG = 0,
    VIDX_IMAGE_WEBP,
    VIDX_IMAGE_PNG,
} VidxImageFormat;

/** The pixel layout the encoder for fmt takes directly (set it in VidxSamplerSettings). */
VIDX_API VidxPixel vidx_image_pixel(VidxImageFormat fmt);

/** File extension for fmt, without the dot ("jpg", "webp", "png"). */
VIDX_API const char *vidx_image_extension(VidxImageFormat fmt);

/** Parses "jpg", "jpeg", "webp" or "png". Returns 0 or VIDX_EUSAGE. */
VIDX_API int vidx_image_format_parse(const char *name, VidxImageFormat *fmt);

/**
 * Encodes one frame. quality: 1-100 (JPEG, WebP; ignored for PNG).
 * On success *out (of *size bytes) belongs to the caller (vidx_free);
 * on error nothing is allocated. Returns 0, VIDX_EUSAGE (frame pixel layout not
 * accepted by the format), VIDX_EENCODE or -ENOMEM.
 */
VIDX_API int vidx_image_encode(const VidxFrame *frame, VidxImageFormat fmt, int quality,
                               uint8_t **out, size_t *size);

/* ------------------------------------------------------------------------ */
/* Jobs: one video to an output directory                                    */
/* ------------------------------------------------------------------------ */

/** One written frame, as recorded in DIR/manifest.jsonl. */
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
    VidxSourceSettings source;
    VidxSamplerSettings sampler;
    VidxImageFormat format;
    int quality; /**< default: 90 */
    /** Also compute the md5 of each delivered frame's decoded planes (verification). */
    int md5;
    /** Write DIR/manifest.jsonl (default 1). */
    int manifest;
    /** Audio: 0 none, 1 WAV, 2 FLAC; written to DIR/audio.<ext>. */
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

VIDX_API void vidx_job_default_settings(VidxJobSettings *s);

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
    double seconds;      /**< wall time of the job */
    int output_failed;   /**< the failure was in writing outputs, not in the input */
    char message[256];   /**< the cause of a failure, with context */
} VidxJobResult;

/**
 * Samples frames from url into dir (created if missing). Files are written
 * under a temporary name and renamed into place, the manifest last. Returns
 * the same code as result->status. Free the result with vidx_job_result_clear().
 */
VIDX_API int vidx_job_run(const char *url, const char *dir, const VidxJobSettings *s,
                          VidxJobResult *result);
VIDX_API void vidx_job_result_clear(VidxJobResult *result);

/* ------------------------------------------------------------------------ */
/* Batch runs: a whole library into OUT with a catalog                       */
/* ------------------------------------------------------------------------ */

/** Per-video outcome, as stored in the catalog's videos.status. */
typedef enum VidxVideoStatus {
    VIDX_VIDEO_OK = 0,
    VIDX_VIDEO_PARTIAL,
    VIDX_VIDEO_FAILED,
    VIDX_VIDEO_CRASHED,
    VIDX_VIDEO_TIMEOUT,
    VIDX_VIDEO_SKIPPED, /**< already done by an earlier run (not stored) */
} VidxVideoStatus;

VIDX_API const char *vidx_video_status_name(VidxVideoStatus s);

typedef enum VidxRunEventType {
    VIDX_EVENT_START = 0, /**< inputs expanded: total known */
    VIDX_EVENT_VIDEO,     /**< one video finished (any status) */
    VIDX_EVENT_TICK,      /**< periodic, for progress displays */
    VIDX_EVENT_END,
} VidxRunEventType;

typedef struct VidxRunSummary {
    int64_t total;                      /**< videos in the inputs */
    int64_t done;                       /**< finished in this run, any status */
    int64_t skipped;                    /**< already done earlier */
    int64_t skipped_failed;             /**< of those, recorded as not ok (redo with retry) */
    int64_t counts[VIDX_VIDEO_SKIPPED]; /**< by VidxVideoStatus */
    int64_t frames;
    int64_t bytes;
    double seconds;
    int interrupted;
    int disk_stop; /**< 1: stopped before crossing --max-disk/--min-free; 2: the disk filled up */
    double commit_seconds; /**< supervisor time spent storing and cataloguing (overhead) */
    /* Left out before the run (not in total). Files a directory walk found that
     * are not video, by kind: */
    int64_t not_video_image; /**< photos and other still images */
    int64_t not_video_audio; /**< audio-only files */
    int64_t not_video_other; /**< documents and anything else that is not media */
    /** Input names for a file already in the run: the same canonical path, or
     * the same device and inode (hard links, bind mounts). */
    int64_t duplicates;
    int64_t symlinks; /**< symlinks a walk did not follow (see follow_symlinks) */
} VidxRunSummary;

typedef struct VidxRunEvent {
    VidxRunEventType type;
    const VidxRunSummary *summary;
    /* VIDX_EVENT_VIDEO: */
    const char *path;
    VidxVideoStatus status;
    const char *error_class;
    const char *message;
    int64_t frames;
    double seconds;
} VidxRunEvent;

typedef enum VidxLayout {
    VIDX_LAYOUT_FILES = 0, /**< OUT/frames/<key>/<index>_<ms>ms.<ext> */
    VIDX_LAYOUT_SHARDS,    /**< WebDataset tar shards OUT/shards/NNNNNN.tar */
} VidxLayout;

typedef struct VidxRunSettings {
    VidxJobSettings job; /**< sampling, output and audio settings per video */
    VidxLayout layout;
    int64_t shard_bytes;   /**< close a shard past this size (default 1 GiB) */
    int64_t shard_samples; /**< ... or past this many frames (default 0: no limit) */
    const char *scratch;   /**< scratch directory (default OUT/.scratch) */
    int64_t max_scratch;   /**< bytes of scratch in use at once; 0 = unlimited */
    int64_t max_disk;      /**< stop before OUT grows past this many bytes; 0 = no limit */
    int64_t min_free;      /**< stop before free space drops below this; 0 = no limit */
    int dedup_exact;       /**< store byte-identical frames once across the library */
    int jobs;              /**< core budget; 0 = all cores */
    double timeout;        /**< seconds per video; 0 = 120 + 10 x duration, capped (timeout_max) */
    int64_t max_memory;    /**< bytes of address space per worker; 0 = unlimited */
    int retry;             /**< also redo videos that failed earlier */
    /** Progress and per-video events (called in the supervisor; may be NULL). */
    void (*on_event)(void *opaque, const VidxRunEvent *ev);
    void *opaque;
    volatile int *cancel; /**< non-zero: stop cleanly, unfinished videos stay unrecorded */
    /**
     * With timeout 0: the duration-based timeout is at most this many seconds
     * (default 3600), whatever duration the file declares.
     */
    double timeout_max;
    /**
     * A video that shows no progress (no input byte read, no packet demuxed,
     * no frame decoded) for this many seconds ends as timeout (default 60);
     * 0: no such check.
     */
    double stall;
    /** Directory walks follow symlinks to files and directories (each directory is
     * still walked once: no loops); default 0, symlinks met in a walk are skipped. */
    int follow_symlinks;
    /** Directory walks also take audio-only files, and any audio-only input is
     * processed for its audio (job.source.audio_only); needs job.audio. Default 0. */
    int audio_files;
    int wait_lock; /**< another writer holds OUT: wait for it (default: fail, VIDX_ELOCKED) */
} VidxRunSettings;

VIDX_API void vidx_run_default_settings(VidxRunSettings *s);

/**
 * Processes every video named by inputs (files, directories, "@list" files,
 * "-" for paths on stdin, http(s) URLs) into out: frames under
 * out/frames/<key>/, the catalog in out/catalog.db. A local video is known by
 * its canonical path (absolute, symlinks resolved) and processed once however
 * many names it has; directory walks skip files that are not video (counted
 * in the summary). Resumable: videos already done with the same file and
 * options are skipped. out must be missing, empty or a vidx output
 * (VIDX_ENOTOURS otherwise, nothing touched), must not lie inside an input
 * nor hold one (VIDX_EUSAGE), and has one writer at a time (VIDX_ELOCKED,
 * unless wait_lock). Returns 0 when the run
 * completed (look at the summary for per-video failures), VIDX_EINTERRUPTED,
 * VIDX_ECATALOG, VIDX_EUSAGE or an errno code for a fatal error.
 */
VIDX_API int vidx_run(const char *const *inputs, size_t n_inputs, const char *out,
                      const VidxRunSettings *s, VidxRunSummary *summary);

/*
 * Catalog queries (vidx status / vidx export). Opening checks that outdir is a
 * vidx output (VIDX_ENOTOURS otherwise) and never creates a catalog: read-only
 * opens take no lock and run alongside a writer.
 */
typedef struct VidxCatalog VidxCatalog;
VIDX_API int vidx_catalog_open(VidxCatalog **out, const char *outdir, int readonly);
VIDX_API void vidx_catalog_close(VidxCatalog **c);
/** Counts by status and the failures with their reasons, as JSON. */
VIDX_API int vidx_catalog_status_json(VidxCatalog *c, char **json);
/** Writes table ("videos", "frames", "audio") as "jsonl" or "csv" to fd. */
VIDX_API int vidx_catalog_export(VidxCatalog *c, const char *table, const char *format, int fd);

/**
 * Checks every catalog entry of out against the disk (existence, size,
 * SHA-256). With repair, videos with a problem are removed from the catalog
 * (and their files), so the next run redoes them (repair is a writer: it takes
 * out's lock, VIDX_ELOCKED while a run holds it). *report: JSON (vidx_free).
 * Returns the number of problems found, or a negative code (VIDX_ENOTOURS when
 * out is not a vidx output: nothing is created there).
 */
VIDX_API int vidx_verify(const char *out, int repair, char **report);

/** Space used under out by kind (frames, shards, objects, audio, manifests, catalog, scratch). */
VIDX_API int vidx_du(const char *out, char **report);

/** vidx_gc flags: report what would be removed, remove nothing; wait for a writer to finish. */
enum { VIDX_GC_DRY_RUN = 1, VIDX_GC_WAIT = 2 };

/**
 * Removes the files vidx made under out that no catalog row points at (left
 * by interrupted or abandoned work), and scratch. Only names vidx makes, in
 * the folders it owns, are candidates; anything else (and every symbolic
 * link) is left alone and listed in the report's "left_alone". *report: JSON
 * (vidx_free). VIDX_ENOTOURS when out is not a vidx output, VIDX_ELOCKED
 * when a run is writing to it (unless VIDX_GC_WAIT).
 */
VIDX_API int vidx_gc(const char *out, int flags, char **report);

/**
 * Ownership of an output directory (what vidx run and vidx frames -o call):
 * creates dir when missing and marks it as vidx's (kind "run" or "frames");
 * an empty directory or one vidx made before is accepted, anything else is
 * refused with VIDX_ENOTOURS and left untouched.
 */
VIDX_API int vidx_output_claim(const char *dir, const char *kind);
/** 0 when vidx_output_claim(dir, kind) would accept dir; writes nothing. */
VIDX_API int vidx_output_check(const char *dir, const char *kind);

#ifdef __cplusplus
}
#endif
#endif /* VIDX_VIDX_H */
