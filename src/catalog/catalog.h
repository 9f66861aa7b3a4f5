/*
 * catalog.h - the batch catalog (SQLite, OUT/catalog.db, WAL): what was
 * processed, how it ended, and where every frame is. Only the supervisor
 * writes it. Schema: docs/CATALOG.md.
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

/* One finished video, as the worker reported it. */
typedef struct CatalogVideo {
    const char *path, *key, *fingerprint, *options;
    int64_t size, mtime;
    VidxVideoStatus status;
    const char *error_class, *error;
    double started, seconds;
    const char *probe_json;
    const CatalogFrame *frames;
    size_t n_frames;
    const char *audio_path; /* relative to OUT, or NULL */
    int audio_rate, audio_channels;
    double audio_duration;
    int64_t audio_bytes;
    const char *shard_name; /* shard state to commit with the video, or NULL */
    int64_t shard_size, shard_samples;
} CatalogVideo;

int vidx__catalog_prior(VidxCatalog *c, const char *path, CatalogPrior *out);
/*
 * Replaces the video's rows (video, frames, audio, shard size, new blobs) in
 * one transaction. Returns 0, -ENOSPC (disk full: nothing changed) or
 * VIDX_ECATALOG.
 */
int vidx__catalog_record(VidxCatalog *c, const CatalogVideo *v);

/*
 * The same for a group of videos in one transaction (group commit): begin,
 * put each video's rows, commit. Any failure (0, -ENOSPC or VIDX_ECATALOG as
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

/* Records the output's layout on first use; VIDX_EUSAGE if it already has another. */
int vidx__catalog_layout(VidxCatalog *c, const char *layout);

/* Calls fn for every shard with its committed size. */
int vidx__catalog_shards(VidxCatalog *c, int (*fn)(void *, const char *, int64_t), void *opaque);

/* 1 when the catalog has no tables yet (a first run stopped while creating it). */
int vidx__catalog_is_empty(VidxCatalog *c);

/*
 * Records shard name as this output's (size 0) before anything is written to
 * it, so only shards vidx made are ever cut or removed (claim); -EEXIST when
 * it is recorded already. !claim forgets it again if nothing was committed.
 */
int vidx__catalog_shard_claim(VidxCatalog *c, const char *name, int claim);

/* The database handle, for maintenance queries (verify, gc). */
struct sqlite3;
struct sqlite3 *vidx__catalog_db(VidxCatalog *c);

#endif
