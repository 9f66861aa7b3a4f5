/*
 * vidx/run.h - batch runs: a whole library into an output directory with a
 * catalog; ownership of output directories.
 *
 * Part of the public API; include <vidx/vidx.h>, which includes every vidx header.
 */
#ifndef VIDX_RUN_H
#define VIDX_RUN_H

#include "job.h"

#ifdef __cplusplus
extern "C" {
#endif

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
    /** a video already done by an earlier run, left as it is (status: its recorded one;
     *  sent while planning, before VIDX_EVENT_START) */
    VIDX_EVENT_SKIPPED,
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
    int disk_stop; /**< 1: stopped before crossing max_disk or min_free; 2: the disk filled up */
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
    /* Appended (see "ABI", vidx.h): */
    const char *key;      /**< VIDX_EVENT_VIDEO, _SKIPPED: the video's output key */
    int64_t other_shards; /**< videos of the inputs left to other shards (shard_count > 0) */
    /**
     * VIDX_EVENT_VIDEO with job.audio: "none" when the video has no audio
     * stream (not an error: it is ok, and recorded so in the catalog), else
     * the format written ("wav", "flac", "opus"); NULL without job.audio or
     * when the video failed.
     */
    const char *audio;
    /**
     * VIDX_EVENT_VIDEO: where it was decoded, "cuda" or "cpu (REASON)"
     * (vidx_sampler_device); NULL when no picture was decoded.
     */
    const char *device;
} VidxRunEvent;

typedef enum VidxLayout {
    VIDX_LAYOUT_FILES = 0, /**< a file per frame: out/frames/<key>/<index>_<ms>ms.<ext> */
    VIDX_LAYOUT_SHARDS,    /**< WebDataset tar shards out/shards/NNNNNN.tar */
} VidxLayout;

typedef struct VidxRunSettings {
    /** The size of the caller's struct, set by vidx_run_default_settings() ("ABI", vidx.h). */
    size_t struct_size;
    VidxJobSettings job; /**< sampling, output and audio settings per video */
    VidxLayout layout;
    int64_t shard_bytes;   /**< close a shard past this size (default 1 GiB) */
    int64_t shard_samples; /**< ... or past this many frames (default 0: no limit) */
    const char *scratch;   /**< scratch directory (default out/.scratch) */
    int64_t max_scratch;   /**< bytes of scratch in use at once; 0 = unlimited */
    int64_t max_disk;      /**< stop before out grows past this many bytes; 0 = no limit */
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
    int wait_lock; /**< another writer holds out: wait for it (default: fail, VIDX_ELOCKED) */
    /**
     * Static sharding (docs/CLUSTER.md): with shard_count N > 0, this run takes
     * only the videos (after expansion, canonical paths, de-duplication) whose
     * stable hash of their path or URL, modulo N, is shard_index; the others
     * are left to the other shards (VidxRunEvent.other_shards), not counted in
     * the summary's total. Default 0: every video. 0 <= shard_index < N <=
     * VIDX_SHARD_MAX, else VIDX_EUSAGE.
     */
    int shard_index, shard_count;
    /**
     * The catalog: NULL (default) for out/catalog.db (SQLite), or a PostgreSQL
     * URL ("postgresql://...", "postgres://...", or "postgresql:" alone for
     * libpq's PG* environment variables). See docs/CATALOG.md. With a bucket
     * output (out "s3://bucket/prefix"): a local directory, required, that
     * holds its catalog and the shards being uploaded (docs/CLOUD.md).
     */
    const char *catalog;
    /* The work queue (vidx_enqueue, vidx_work; needs a PostgreSQL catalog): */
    double lease;     /**< seconds a claim holds without a heartbeat (default 60) */
    int max_attempts; /**< claims that crash or lose their worker before quarantine (default 3) */
    int follow;       /**< vidx_work: keep polling for new videos instead of exiting */
    double poll;      /**< seconds between polls of an empty queue (default 5) */
    /**
     * With job.sampler.hwaccel auto: how many worker processes may decode on
     * the GPU at once (each holds one NVDEC session and its own CUDA context,
     * reused across its videos); the others decode on the CPU. 0 (default):
     * every worker. With hwaccel cuda every worker uses the GPU.
     */
    int gpu_sessions;
    /**
     * Transcoding as a stage of the run (docs/CLOUD.md, "Transcoding in vidx
     * run"): "NAME[,NAME...]", presets as vidx_transcode() takes them (built-in
     * names or JSON files, at most 8, distinct names). Each video's renditions
     * go to out/transcode/<key>/<preset>/ and the catalog's renditions table.
     * Their contents are part of the options hash. NULL (default): none.
     */
    const char *transcode;
    /** With transcode: no frames are sampled, the renditions are the video's outputs. */
    int no_frames;
} VidxRunSettings;

/** The most shards a run can be split into. */
#define VIDX_SHARD_MAX 1000000

/**
 * Reads a shard from spec: "I/N" (0 <= I < N <= VIDX_SHARD_MAX), or "auto":
 * a Slurm array task (I = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN,
 * N = SLURM_ARRAY_TASK_COUNT) or else a Kubernetes Indexed Job pod
 * (I = JOB_COMPLETION_INDEX, N = VIDX_SHARD_COUNT). 0, or VIDX_EUSAGE
 * (logged: what is missing or wrong).
 */
VIDX_API int vidx_shard_parse(const char *spec, int *index, int *count);

/**
 * Like vidx_job_settings_init(), for VidxRunSettings: the struct_size of
 * s->job, s->job.source and s->job.sampler must be set first.
 */
VIDX_API int vidx_run_settings_init(VidxRunSettings *s, size_t size);

/** Sets every field of s, and of the settings nested in it, to its default. */
static inline void vidx_run_default_settings(VidxRunSettings *s)
{
    s->job.struct_size = sizeof(s->job);
    s->job.source.struct_size = sizeof(s->job.source);
    s->job.sampler.struct_size = sizeof(s->job.sampler);
    (void)vidx_run_settings_init(s, sizeof(*s));
}

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
 * unless wait_lock). out may be a bucket, "s3://bucket/prefix", with
 * s->catalog a local directory: the run writes there as into a local out and
 * uploads each shard (multipart, while it grows) and each video's files (the
 * frames too in the files layout; dedup_exact needs shards); the catalog records a shard as in the
 * bucket only once its upload completed, and is copied to prefix/catalog.db at the end (see
 * vidx_sync). Returns 0 when the run
 * completed (look at the summary for per-video failures), VIDX_EINTERRUPTED,
 * VIDX_ECATALOG, VIDX_EUSAGE or an errno code for a fatal error.
 */
VIDX_API int vidx_run(const char *const *inputs, size_t n_inputs, const char *out,
                      const VidxRunSettings *s, VidxRunSummary *summary);

/**
 * A bucket output (out "s3://bucket/prefix", written by vidx_run with
 * s->catalog the local directory catalog): finishes what an earlier run left
 * (its interrupted uploads aborted, shards not uploaded uploaded from
 * catalog, or their videos forgotten when the local copy is gone) and
 * uploads a consistent copy of the catalog as prefix/catalog.db. Returns 0,
 * VIDX_EUSAGE (not a bucket output, or catalog not its catalog),
 * VIDX_ENOTOURS (the prefix is another output's), VIDX_ELOCKED (a run is
 * writing), or the network's error.
 */
VIDX_API int vidx_sync(const char *out, const char *catalog);

/** What vidx_enqueue did. */
typedef struct VidxEnqueueSummary {
    int64_t videos;   /**< videos named by the inputs (after expansion, canonical, unique) */
    int64_t added;    /**< new in the queue */
    int64_t requeued; /**< failed or quarantined ones put back (s->retry) */
    int64_t not_video, duplicates, symlinks; /**< left out, as in VidxRunSummary */
} VidxEnqueueSummary;

/**
 * Registers the videos named by inputs (as vidx_run expands them) in the work
 * queue of the PostgreSQL catalog s->catalog, with the settings that shape
 * their output (s->job and dedup_exact: what any worker will apply).
 * Idempotent: a video already queued with the same settings is not added
 * again; with s->retry, ones that failed or were quarantined go back.
 */
VIDX_API int vidx_enqueue(const char *const *inputs, size_t n_inputs, const VidxRunSettings *s,
                          VidxEnqueueSummary *summary);

/**
 * A queue worker: claims videos from the work queue of s->catalog a few at a
 * time, processes them into out (shared with any number of other workers,
 * on any machines) with the same supervised worker processes as vidx_run,
 * and records each video's results and its completion in one transaction.
 * Each claim is a lease renewed by heartbeat; a claim whose lease ran out is
 * refused at commit, so every video is recorded exactly once. Returns when
 * the queue holds nothing more (nothing queued, nothing running anywhere),
 * or never with s->follow until s->cancel; on cancel what it holds goes back
 * to the queue. The summary counts this worker's videos. Errors as vidx_run.
 */
VIDX_API int vidx_work(const char *out, const VidxRunSettings *s, VidxRunSummary *summary);

/**
 * Combines the outputs of several vidx runs (the parts of a sharded run) into
 * dest, which is claimed and locked like a run's OUT; each part is locked
 * while it is read and left as it was. Every part must be a vidx run output
 * (VIDX_ENOTOURS otherwise, nothing touched), all with one layout (and dest's,
 * if it has one; VIDX_EUSAGE otherwise), none inside dest nor holding it
 * (VIDX_EUSAGE). A video's files are hard-linked into dest (copied when the
 * part is on another filesystem) and made durable before its rows are
 * committed; shards are renamed when their names are taken in dest, frame
 * rows rewritten to match; content-addressed objects keep their names.
 * Idempotent: a video dest already has with the same fingerprint and options
 * and a status at least as good is skipped; of two versions of a video the
 * better status (ok > partial > failed > crashed > timeout) is kept, the
 * first one met on a tie, and each such case is listed as a conflict.
 * *report (vidx_free): JSON with merged, skipped, conflicts, bytes_linked,
 * bytes_copied, files_linked, files_copied, shards_renamed and per-part
 * counts. Returns 0, or a negative code (the videos committed before it
 * stay: merging again finishes the job).
 */
VIDX_API int vidx_merge(const char *dest, const char *const *parts, size_t n_parts, char **report);

/**
 * Ownership of an output directory (vidx_run claims its own; call this before
 * writing jobs into a directory of your choosing):
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
#endif /* VIDX_RUN_H */
