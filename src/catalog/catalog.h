/*
 * catalog.h - the batch catalog: what was processed, how it ended, and where
 * every frame is. Only the supervisor (and gc, verify --repair) writes it.
 * Schema: docs/CATALOG.md.
 *
 * Callers use the vidx__catalog_* functions; each passes on to the
 * implementation's VidxCatalogOps (below), which owns every statement on the
 * stored data, in domain terms (no SQL, no database handle crosses this
 * header): SQLite (catalog/sqlite.c, OUT/catalog.db, WAL) and PostgreSQL
 * (catalog/postgres.c, --catalog URL); both pass tests/unit/test_catalog.c.
 */
#ifndef VIDX_CATALOG_CATALOG_H
#define VIDX_CATALOG_CATALOG_H

#include "core/internal.h"

/* What the catalog knows of one input from earlier runs. */
typedef struct CatalogPrior {
    int found;
    VidxVideoStatus status;
    char fingerprint[64];
    char options[32];
    int attempts;
    char key[96]; /* its output key: kept when it is redone */
} CatalogPrior;

/* One frame row: the worker's record and where the store put it. */
typedef struct CatalogFrame {
    const VidxFrameRecord *rec;
    const char *location; /* relative to OUT; NULL when dropped by dedup */
    int64_t offset;       /* in a shard; -1 for a whole file */
    int new_blob;         /* first copy of this content (--dedup-exact) */
} CatalogFrame;

/* One shot of a video (schema 4, --scenes): the shots table's row. */
typedef struct CatalogShot {
    double start, end;               /* seconds */
    int64_t first_frame, last_frame; /* 0-based presentation indices */
    const char *cause;               /* "start", "cut", "fade" or "dissolve" */
    double score;
} CatalogShot;

/* One transcript segment of a video (schema 4, --transcribe): the segments table's row. */
typedef struct CatalogSegment {
    double start, end; /* seconds on the file's clock */
    const char *text;
} CatalogSegment;

/* One frame's label (schema 6, --label-url): the labels table's row. */
typedef struct CatalogLabel {
    int64_t seq;         /* the frame's seq (its position among the video's frames) */
    const char *caption; /* NULL when error */
    const char *tags;    /* a JSON array of strings, NULL when error */
    const char *model;
    double latency;    /* seconds */
    const char *error; /* why the frame has no label (refused, malformed), else NULL */
} CatalogLabel;

/* One output of the transcode stage (schema 8, vidx run --transcode): the renditions table's row.
 */
typedef struct CatalogRendition {
    const char *preset;
    const char *kind;  /* "proxy" (an MP4), "hls" (a rung), "master" (its playlist), "sprite" */
    const char *path;  /* relative to OUT: the file (the rung's index.m3u8, sprites.vtt) */
    int64_t bytes;     /* proxy, master: the file; hls, sprite: every file of path's folder */
    double duration;   /* seconds */
    const char *codec; /* RFC 6381 ("avc1.64001f,mp4a.40.2"), "mjpeg" (sprites), "" */
    int width, height;
    int64_t bitrate; /* bits/s over the duration */
} CatalogRendition;

/* One finished video, as the worker reported it. */
typedef struct CatalogVideo {
    const char *path, *key, *fingerprint, *options;
    int64_t size, mtime;
    VidxVideoStatus status;
    const char *error_class, *error;
    double started, seconds;
    const char *probe_json;
    /* videos.audio (schema 3): "none" (asked for, the file has none), the format
     * written ("wav", "flac", "opus"), or NULL (not asked for) */
    const char *audio;
    /* videos.device (schema 5): where it decoded, "cuda" or "cpu (REASON)"; NULL: no decode */
    const char *device;
    const CatalogFrame *frames;
    size_t n_frames;
    const char *audio_path; /* relative to OUT, or NULL */
    int audio_rate, audio_channels;
    double audio_duration;
    int64_t audio_bytes;
    const CatalogShot *shots; /* --scenes: its shots (seq = position), else NULL */
    size_t n_shots;
    const CatalogSegment *segments; /* --transcribe: its transcript (seq = position), else NULL */
    size_t n_segments;
    const CatalogLabel *labels; /* --label-url: its frames' labels, else NULL */
    size_t n_labels;
    const CatalogRendition *renditions; /* --transcode: its renditions, else NULL */
    size_t n_renditions;
    const char *shard_name; /* shard state to commit with the video, or NULL */
    int64_t shard_size, shard_samples;
    /* vidx worker: the video's claim (catalog/queue.h), finished in the same
     * transaction as its rows; queue_state QUEUE_QUEUED puts it back in the
     * queue and records no rows. queue_id 0: not from a queue. */
    int64_t queue_id, queue_fence;
    int queue_state;
    const char *queue_cause;
} CatalogVideo;

int vidx__catalog_prior(VidxCatalog *c, const char *path, CatalogPrior *out);
/*
 * Replaces the video's rows (video, frames, audio, shard size, new blobs) in
 * one transaction. Returns 0, -ENOSPC (disk full: nothing changed) or
 * VIDX_ECATALOG; for a queued video also VIDX_ELEASE: its claim is no longer
 * held (another worker has it), nothing was recorded.
 */
int vidx__catalog_record(VidxCatalog *c, const CatalogVideo *v);

/*
 * The same for a group of videos in one transaction (group commit): begin,
 * put each video's rows (VIDX_ELEASE as above: the group must be rolled
 * back, as for any failure), commit. Any failure (0, -ENOSPC or VIDX_ECATALOG as
 * above) leaves the transaction to be rolled back; rollback does nothing when
 * none is open.
 */
int vidx__catalog_begin(VidxCatalog *c);
int vidx__catalog_put(VidxCatalog *c, const CatalogVideo *v);
int vidx__catalog_commit(VidxCatalog *c);
void vidx__catalog_rollback(VidxCatalog *c);

/* Where content sha256 is already stored (--dedup-exact); returns 1 if found. */
int vidx__catalog_blob(VidxCatalog *c, const char *sha256, char *location, size_t size,
                       int64_t *offset);

/* A value of the catalog's meta table: 1 found (copied), 0 not, or < 0. */
int vidx__catalog_meta_get(VidxCatalog *c, const char *key, char *value, size_t size);
int vidx__catalog_meta_put(VidxCatalog *c, const char *key, const char *value);
/* Sets key unless it has a value, atomically: 1 set, 0 it had one, < 0 error. */
int vidx__catalog_meta_add(VidxCatalog *c, const char *key, const char *value);

/* Records the output's layout on first use; VIDX_EUSAGE if it already has another. */
int vidx__catalog_layout(VidxCatalog *c, const char *layout);

/* Videos with renditions (--transcode), renditions but master playlists, their bytes. */
int vidx__catalog_rendition_counts(VidxCatalog *c, int64_t *videos, int64_t *files, int64_t *bytes);

/* Calls fn for every shard with its committed size. */
int vidx__catalog_shards(VidxCatalog *c, int (*fn)(void *, const char *, int64_t), void *opaque);

/*
 * Bucket outputs (schema 7, store/s3out.h): name (relative to OUT) is in the
 * bucket, complete, with bytes and etag; recorded only after its upload
 * completed. uploads calls fn for each, by name (none in an older catalog).
 */
typedef int (*CatalogUploadFn)(void *opaque, const char *name, int64_t bytes, const char *etag);
int vidx__catalog_upload_put(VidxCatalog *c, const char *name, int64_t bytes, const char *etag);
int vidx__catalog_uploads(VidxCatalog *c, CatalogUploadFn fn, void *opaque);
/* A consistent copy of the whole catalog written to a new file path (SQLite only). */
int vidx__catalog_snapshot(VidxCatalog *c, const char *path);

/* 1 when the catalog has no tables yet (a first run stopped while creating it). */
int vidx__catalog_is_empty(VidxCatalog *c);

/*
 * Records shard name as this output's (size 0) before anything is written to
 * it, so only shards vidx made are ever cut or removed (claim); -EEXIST when
 * it is recorded already. !claim forgets it again if nothing was committed.
 */
int vidx__catalog_shard_claim(VidxCatalog *c, const char *name, int claim);

/* ---------------------------------------------------------------------- */
/* Maintenance (vidx verify, vidx gc)                                      */
/* ---------------------------------------------------------------------- */

/* One stored file a row points at: a frame (in a file or a shard) or an audio file. */
typedef struct CatalogLocation {
    int64_t video_id;
    const char *video;    /* the video's path */
    const char *location; /* relative to OUT, as the catalog has it (untrusted) */
    int64_t offset;       /* in a shard; -1 for a whole file */
    int64_t bytes;
    const char *checksum; /* sha256 hex, or NULL (audio, or none recorded) */
} CatalogLocation;

/*
 * The renditions' part of the locations (SQL shared by the implementations):
 * offset -2 says bytes are those of every file of the location's folder (an
 * HLS rung, the sprites), NULL (-1) the file's own.
 */
#define CATALOG_RENDITION_LOCATIONS                                                                \
    "UNION ALL SELECT v.id, v.path, r.path, CASE WHEN r.kind IN ('hls', 'sprite') THEN -2 END, "   \
    "r.bytes, NULL FROM renditions r JOIN videos v ON v.id = r.video_id "

/* Calls fn for every stored location, by video; fn returning non-zero stops (returned). */
int vidx__catalog_locations(VidxCatalog *c, int (*fn)(void *, const CatalogLocation *),
                            void *opaque);

/* What gc asks: does a catalog row point at this name? */
typedef enum CatalogRef {
    CATALOG_REF_FRAME,     /* a frame's location */
    CATALOG_REF_AUDIO,     /* an audio file's path */
    CATALOG_REF_VIDEO,     /* the key of a video whose frames are kept (ok, partial) */
    CATALOG_REF_SHARD,     /* a shard's name (shards/...) */
    CATALOG_REF_BLOB,      /* a stored blob's location (objects/...) */
    CATALOG_REF_RENDITION, /* a folder holding renditions (transcode/<key>/<preset>) */
    CATALOG_REF_COUNT
} CatalogRef;

/* 1 when a row points at name, 0 when none does, VIDX_ECATALOG when the catalog cannot say. */
int vidx__catalog_referenced(VidxCatalog *c, CatalogRef what, const char *name);

/*
 * Inside a transaction (vidx__catalog_begin): forgets video id (its frames and
 * audio go with it) and copies its output key into key (empty when unknown).
 * Returns 0 or VIDX_ECATALOG / -ENOSPC; nothing is gone until the commit.
 */
int vidx__catalog_forget_video(VidxCatalog *c, int64_t id, char *key, size_t size);
/* Inside a transaction: forgets the blob stored at location (damaged content). */
int vidx__catalog_forget_blob(VidxCatalog *c, const char *location);

/* ---------------------------------------------------------------------- */
/* The implementation's table                                              */
/* ---------------------------------------------------------------------- */

/* One value of an exported row: its type and its text (what CSV writes). */
typedef enum CatalogType { CATALOG_NULL, CATALOG_INT, CATALOG_REAL, CATALOG_TEXT } CatalogType;
typedef struct CatalogValue {
    CatalogType type;
    int64_t i;
    double d;
    const char *text; /* the value as text (NULL for NULL) */
} CatalogValue;

/* An exported row: called once with values NULL (the header), then once per row. */
typedef int (*CatalogRowFn)(void *opaque, int n, const char *const *names,
                            const CatalogValue *values);
/* vidx status: videos and frames by status, then each video not ok. */
typedef void (*CatalogCountFn)(void *opaque, const char *status, int64_t videos, int64_t frames);
typedef void (*CatalogFailureFn)(void *opaque, const char *path, const char *status,
                                 const char *error_class, const char *error, int attempts);

/*
 * The dashboard's reads (src/serve/, vidx serve and vidx report): what its
 * pages and API show, a bounded page at a time. Each view calls fn with its
 * header (values NULL) and then once per row, columns as listed.
 */
typedef enum CatalogViewKind {
    /* status, videos, frames: one row per status */
    CATALOG_VIEW_COUNTS,
    /* status, error_class, videos: the videos not ok, by status and class */
    CATALOG_VIEW_CLASSES,
    /* t (a bucket's start, Unix seconds), videos, frames: videos whose processing
     * ended (started_at + seconds) at or after since and before until, per bucket of
     * bucket seconds (the buckets are multiples of bucket; empty ones left out) */
    CATALOG_VIEW_TIMELINE,
    /* id, path, key, status, error_class, error, attempts, started_at, seconds,
     * frames: videos matching status, error_class and search with id > after,
     * by id, at most limit */
    CATALOG_VIEW_VIDEOS,
    /* videos: how many match status, error_class and search (as VIDEOS) */
    CATALOG_VIEW_MATCHING,
    /* video id's row: id, path, key, size, mtime, fingerprint, options_hash, status,
     * error_class, error, attempts, started_at, seconds, frames, probe, updated_at,
     * audio (no row: no such video) */
    CATALOG_VIEW_VIDEO,
    /* seq, index, target, time, pts, keyframe, width, height, bytes, location,
     * offset, checksum, phash, dup_of: video id's frames with seq >= after, by
     * seq, at most limit */
    CATALOG_VIEW_FRAMES,
    /* seq, start, end, first_frame, last_frame, cause, score: video id's shots */
    CATALOG_VIEW_SHOTS,
    /* seq, start, end, text: video id's transcript segments */
    CATALOG_VIEW_SEGMENTS,
    /* path, rate, channels, duration, bytes: video id's audio file (0 or 1 row) */
    CATALOG_VIEW_AUDIO,
    /* seq, caption, tags (JSON text), model, latency, error: video id's frame labels with
     * seq >= after, by seq, at most limit (none in a catalog of schema 5 or older) */
    CATALOG_VIEW_LABELS,
    CATALOG_VIEW_COUNT
} CatalogViewKind;

typedef struct CatalogView {
    CatalogViewKind kind;
    int64_t id;              /* VIDEO, FRAMES, SHOTS, SEGMENTS, AUDIO: the video's id */
    const char *status;      /* VIDEOS, MATCHING: a status, "failing" (any but ok), NULL: any */
    const char *error_class; /* VIDEOS, MATCHING: NULL: any */
    const char *search;      /* VIDEOS, MATCHING: a substring of path or error, NULL: any */
    int64_t after;           /* VIDEOS: ids above it; FRAMES: the first seq */
    int64_t limit;           /* VIDEOS, FRAMES, SHOTS, SEGMENTS: at most this many rows */
    double bucket, since;    /* TIMELINE: seconds per bucket (> 0); from (Unix seconds) */
    double until;            /* TIMELINE: to (the caller bounds (until - since) / bucket) */
} CatalogView;

/* Runs view v (VidxCatalogOps.view): 0, VIDX_EUSAGE (no such view), or the error. */
int vidx__catalog_view(VidxCatalog *c, const CatalogView *v, CatalogRowFn fn, void *opaque);

/* A video row as schema migration sees it. */
typedef struct CatalogVideoId {
    int64_t id, size, mtime;
    const char *path, *fingerprint;
} CatalogVideoId;

typedef struct CatalogBackend CatalogBackend; /* the implementation's state */

/*
 * A catalog implementation: every statement on the stored data, in domain
 * terms. Return values are 0 or a negative vidx/errno code unless said.
 * Writes happen between begin and commit (rollback does nothing when no
 * transaction is open); a full disk is -ENOSPC, other failures
 * VIDX_ECATALOG, both logged.
 */
typedef struct VidxCatalogOps {
    const char *name;
    /* Opens (readonly) or opens/creates with the current tables the catalog at path. */
    int (*open)(CatalogBackend **out, const char *path, int readonly);
    void (*close)(CatalogBackend *b);
    int (*is_empty)(CatalogBackend *b); /* 1: no tables yet */

    int (*begin)(CatalogBackend *b);
    int (*commit)(CatalogBackend *b);
    void (*rollback)(CatalogBackend *b);

    /* The run: prior of a path, a video's rows, content already stored, shard rows. */
    int (*prior)(CatalogBackend *b, const char *path, CatalogPrior *out);
    int (*put)(CatalogBackend *b, const CatalogVideo *v);
    int (*blob_get)(CatalogBackend *b, const char *sha256, char *location, size_t size,
                    int64_t *offset);
    int (*meta_get)(CatalogBackend *b, const char *key, char *value, size_t size); /* 1 found */
    int (*meta_put)(CatalogBackend *b, const char *key, const char *value);
    /* Inserts key unless it has a value (atomic across writers): 1 inserted, 0 had one, < 0. */
    int (*meta_add)(CatalogBackend *b, const char *key, const char *value);
    int (*shards)(CatalogBackend *b, int (*fn)(void *, const char *, int64_t), void *opaque);
    int (*shard_claim)(CatalogBackend *b, const char *name, int claim);
    /* Bucket outputs (schema 7): an object uploaded; the uploads; a copy of the catalog. */
    int (*upload_put)(CatalogBackend *b, const char *name, int64_t bytes, const char *etag);
    int (*uploads)(CatalogBackend *b, CatalogUploadFn fn, void *opaque);
    int (*snapshot)(CatalogBackend *b, const char *path);

    /* Readers: vidx status, vidx export (table: videos, frames, audio; else VIDX_EUSAGE). */
    int (*status)(CatalogBackend *b, CatalogCountFn count, CatalogFailureFn failure, void *opaque);
    /* vidx status: frames with a label row, and how many of those have an error instead. */
    int (*label_counts)(CatalogBackend *b, int64_t *labelled, int64_t *failed);
    /* vidx status: videos with renditions, renditions (not master playlists) and their bytes. */
    int (*rendition_counts)(CatalogBackend *b, int64_t *videos, int64_t *files, int64_t *bytes);
    int (*export_rows)(CatalogBackend *b, const char *table, CatalogRowFn fn, void *opaque);

    /* Maintenance: verify, gc, verify --repair. */
    int (*locations)(CatalogBackend *b, int (*fn)(void *, const CatalogLocation *), void *opaque);
    int (*referenced)(CatalogBackend *b, CatalogRef what, const char *name);
    int (*forget_video)(CatalogBackend *b, int64_t id, char *key, size_t size);
    int (*forget_blob)(CatalogBackend *b, const char *location);

    /*
     * Schema migration (catalog/migrate.c; the version is meta 'schema'): the
     * video rows (all, or only the relative paths schema 2 never writes; fn
     * returning non-zero stops, and is returned), and renaming one: 1
     * renamed, 0 left (another row has that path), < 0 error.
     */
    int (*videos)(CatalogBackend *b, int relative_only, int (*fn)(void *, const CatalogVideoId *),
                  void *opaque);
    int (*rename_video)(CatalogBackend *b, int64_t id, const char *path);

    /* The work queue in the same database (catalog/queue.h), or NULL: none. */
    const struct CatalogQueueOps *queue;
    /*
     * Merging outputs (vidx merge, batch/merge.c): calls fn once per video, in
     * path order, with the video as put() takes it, every field read back
     * from its rows: path, key, size, mtime, fingerprint, options, status,
     * error_class, error, started, seconds, probe_json (NULL where the row
     * has NULL); frames in seq order, each rec with index, target (NaN for
     * NULL), time, pts, keyframe, width, height, bytes, sha256 ("" for NULL),
     * phash, dup_of (-1 for NULL), and path NULL, md5 "", approx 0; location
     * (NULL for NULL) and offset (-1 for NULL); new_blob 1 exactly when a
     * blobs row has the frame's checksum at the same location and offset;
     * audio_path NULL when the video has no audio row, else the audio fields;
     * its shots and segments rows in seq order (shots / segments NULL when
     * it has none); shard_name NULL. What v points at lives only during the call. fn
     * returning non-zero stops the walk, and is returned. Works read-only.
     */
    int (*video_rows)(CatalogBackend *b, int (*fn)(void *, const CatalogVideo *v), void *opaque);
    /*
     * Inside a transaction: sets the committed size and samples of shard name
     * (recorded by shard_claim) to size and samples, as put() does for
     * v->shard_name; for vidx merge, whose videos may point into several.
     */
    int (*shard_set)(CatalogBackend *b, const char *name, int64_t size, int64_t samples);
    /* The dashboard's reads (CatalogView above); works read-only. */
    int (*view)(CatalogBackend *b, const CatalogView *v, CatalogRowFn fn, void *opaque);
} VidxCatalogOps;

extern const VidxCatalogOps vidx__catalog_sqlite;
extern const VidxCatalogOps vidx__catalog_postgres; /* catalog/postgres.c */

/*
 * vidx_catalog_open with a given implementation (vidx_catalog_open: SQLite).
 * tests/unit/test_catalog.c runs the same tests on every implementation.
 */
int vidx__catalog_open_ops(VidxCatalog **out, const VidxCatalogOps *ops, const char *outdir,
                           int readonly);
/*
 * The same with the catalog's location: NULL (OUT/catalog.db, SQLite) or a
 * PostgreSQL URL (catalog/pg.h). OUT and the catalog must belong together
 * (the marker's output id and catalog kind, store/outdir.h): otherwise
 * VIDX_EUSAGE, logged, nothing touched.
 */
int vidx__catalog_open_at(VidxCatalog **out, const char *outdir, const char *catalog, int readonly);
/*
 * What a writer checks before it locks or writes anything in OUT: the same
 * refusals as vidx__catalog_open_at (VIDX_EUSAGE, logged), changing nothing
 * (a PostgreSQL catalog is read only). 0 when OUT may be opened with catalog.
 */
int vidx__catalog_check_at(const char *outdir, const char *catalog);
/* vidx__catalog_open_ops with the location (NULL: OUT/catalog.db) given to ops->open. */
int vidx__catalog_open_with(VidxCatalog **out, const VidxCatalogOps *ops, const char *outdir,
                            const char *location, int readonly);

/*
 * Opens the catalog at url (a PostgreSQL URL) for writing, apart from any
 * output directory: for vidx enqueue, which fills the work queue only.
 */
int vidx__catalog_open_url(VidxCatalog **out, const char *url);

/* The implementation's queue (NULL: none) and its backend, for catalog/queue.c. */
const struct CatalogQueueOps *vidx__catalog_queue(VidxCatalog *c, CatalogBackend **b);
/* The implementation's name ("sqlite", "postgresql"). */
const char *vidx__catalog_kind(const VidxCatalog *c);

/* Schema migration through the ops (see VidxCatalogOps.videos, .rename_video). */
int vidx__catalog_videos(VidxCatalog *c, int relative_only,
                         int (*fn)(void *, const CatalogVideoId *), void *opaque);
int vidx__catalog_rename_video(VidxCatalog *c, int64_t id, const char *path);

/* Every video with its frames, audio, shots and segments, as put() takes it
 * (VidxCatalogOps.video_rows). */
int vidx__catalog_video_rows(VidxCatalog *c, int (*fn)(void *, const CatalogVideo *), void *opaque);

/* Inside a transaction: shard name's committed size and samples (VidxCatalogOps.shard_set). */
int vidx__catalog_shard_set(VidxCatalog *c, const char *name, int64_t size, int64_t samples);

/* A catalog location for messages and pages: a URL's password masked (pg.h). */
void vidx__catalog_mask_url(const char *url, char *out, size_t size);

/* Status names as the catalog stores them (and back; unknown: failed). */
VidxVideoStatus vidx__video_status_parse(const char *name);

#endif
