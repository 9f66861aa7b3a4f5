/*
 * commit.h - turning workers' finished videos into stored, catalogued output,
 * a group at a time (group commit).
 *
 * Staging a video does the per-video work at once: exact dedup lookups, then
 * the store moves its frames into place, records where its worker appended
 * them to a shard, or copies them there (not yet durable). Committing the
 * group makes everything staged durable with one sync, then records every
 * staged video in one catalog transaction. If the catalog refuses, the store's
 * part is undone for the whole group. One directory fsync and one transaction
 * per group instead of per video is what keeps the supervisor's share of a
 * run small when the videos are short (docs/ARCHITECTURE.md).
 */
#ifndef VIDX_BATCH_COMMIT_H
#define VIDX_BATCH_COMMIT_H

#include "catalog/catalog.h"
#include "store/store.h"

/*
 * How a staged video ended, for the committer's owner of it: 0 recorded;
 * -ENOSPC the disk filled up (nothing of it stays); VIDX_ECATALOG the catalog
 * failed; another negative code: the store could not make it durable (nothing
 * of it stays). Anything but 0 and -ENOSPC ends the run.
 */
typedef void (*CommitSettled)(void *ctx, void *owner, int ret);

typedef struct Staged Staged;

typedef struct Committer {
    Store store;
    VidxCatalog *cat;
    int dedup_exact;
    const char *ext;
    Staged **staged; /* the group not yet committed, oldest first */
    size_t n_staged, cap_staged;
    double first_staged; /* vidx__now() when the oldest was staged */
    CommitSettled settled;
    void *settled_ctx;
    /* Bucket outputs (batch/upload.c), else NULL: a staged video's directory (OUT-relative)
     * before the group's catalog commit (a failure undoes the group), and each shard's
     * committed size and samples after it (a failure ends the run). */
    int (*upload_dir)(void *ctx, const char *video_dir);
    int (*upload_shard)(void *ctx, const char *name, int64_t size, int64_t samples);
    void (*uploaded_dir)(void *ctx, const char *video_dir); /* after the commit */
    void *upload_ctx;
    int renditions_staged; /* OUT/transcode gained an entry since the last sync */
} Committer;

/*
 * Opens the store for the run's layout and repairs what a crash left in the
 * shards this writer owns: all of them, or with shard_prefix (one of several
 * writers sharing OUT, vidx worker) only those named so, as its new ones are.
 */
int vidx__committer_open(Committer *c, const char *out, const VidxRunSettings *s, VidxCatalog *cat,
                         const char *shard_prefix, CommitSettled settled, void *ctx);
/* The same repair for the shards named with prefix (a dead queue worker's). */
int vidx__committer_recover(Committer *c, const char *prefix);

/* What a worker left of one finished video, to stage. */
typedef struct CommitInput {
    const VidxFrameRecord *recs; /* its frame records */
    const TarSpan *spans;        /* shards: per record, its sample (NULL: none) */
    size_t n;
    const char *scratch;    /* its scratch directory */
    const char *audio_name; /* the audio file there, or NULL */
    const char *shard;      /* shards: where the worker appended the samples (NULL: in scratch) */
    int64_t tar_end;        /* and where they end */
    /* the transcode stage's outputs, in SCRATCH/transcode/ (paths relative to it), or none */
    const CatalogRendition *renditions;
    size_t n_renditions;
} CommitInput;

/*
 * Stages a video: its renditions first (SCRATCH/transcode renamed to
 * OUT/transcode/<key>, replacing what an earlier run made there), then its
 * frames through the store. v's fields are copied; v's strings and in's records must
 * stay valid until the video settles, which is reported with owner. Returns
 * the bytes added under OUT, or a negative code: then nothing of v stays and
 * it will not be reported.
 */
int64_t vidx__commit_stage(Committer *c, const CatalogVideo *v, const CommitInput *in, void *owner);

/*
 * Syncs the store and records every staged video in one transaction; each is
 * then settled. Returns 0, or VIDX_ECATALOG when the catalog failed (every
 * video of the group was undone and settled with that code).
 */
int vidx__commit_group(Committer *c);

/* Undoes every staged video (settled with ret): the run ends without them. */
void vidx__commit_abandon(Committer *c, int ret);

int vidx__committer_finish(Committer *c);
void vidx__committer_close(Committer *c);

#endif
