/*
 * commit.h - turning a worker's finished video into stored, catalogued output:
 * exact dedup lookups, the store's commit (files or shards), then the catalog
 * transaction, undoing the store's part if the catalog refuses.
 */
#ifndef VIDX_BATCH_COMMIT_H
#define VIDX_BATCH_COMMIT_H

#include "catalog/catalog.h"
#include "store/store.h"

typedef struct Committer {
    Store store;
    VidxCatalog *cat;
    int dedup_exact;
    const char *ext;
} Committer;

/* Opens the store for the run's layout and repairs what a crash left in shards. */
int vidx__committer_open(Committer *c, const char *out, const VidxRunSettings *s, VidxCatalog *cat);

/*
 * Stores the frames of v (records recs, files in scratch) and records v.
 * v's base fields are filled by the caller; audio_name is the audio file in
 * scratch or NULL. Returns the bytes added under OUT, -ENOSPC when the disk
 * is full (nothing recorded), or another negative code.
 */
int64_t vidx__commit_video(Committer *c, CatalogVideo *v, const VidxFrameRecord *recs, size_t n,
                           const char *scratch, const char *audio_name);

int vidx__committer_finish(Committer *c);
void vidx__committer_close(Committer *c);

#endif
