/*
 * store.h - where a finished video's frames go: the store interface and its
 * two layouts (files.c: one file per frame; shards.c: WebDataset tar shards).
 *
 * A worker writes a video into its scratch directory (shards: its samples
 * straight into a shard); the supervisor then stages it (the store moves the
 * files into place, or records or copies the shard samples, and says where
 * each one is) and, once per group of videos, syncs: everything staged
 * becomes durable at once (group commit). Only then does the catalog record
 * the group, so the catalog never points at a missing or partial file.
 */
#ifndef VIDX_STORE_STORE_H
#define VIDX_STORE_STORE_H

#include "core/internal.h"
#include "store/tar.h"

typedef struct StoreItem {
    const VidxFrameRecord *rec; /* path is relative to the scratch directory */
    TarSpan sample;             /* shards: where the worker wrote its sample (offset -1: none) */
    int store;                  /* 0: not stored (dropped, or an existing blob) */
    char location[512];         /* out: relative to OUT */
    int64_t offset;             /* out: byte offset of the data in location; -1 for whole files */
} StoreItem;

/* Shard bookkeeping the catalog commits together with the video. */
typedef struct StoreShardState {
    char name[64]; /* "" when the layout has no shards */
    int64_t size;  /* bytes of samples, this video's included */
    int64_t samples;
} StoreShardState;

typedef struct StoreVideo {
    const char *key;     /* the video key */
    const char *scratch; /* its scratch directory (absolute or relative to cwd) */
    StoreItem *items;
    size_t n_items;
    int blobs;           /* content-addressed: stored frames go to objects/ */
    const char *ext;     /* image file extension */
    char video_dir[256]; /* out: OUT-relative directory holding manifest/audio */
    int64_t bytes_added; /* out: bytes staging v added under OUT */
    /* shards: the shard v's worker appended its samples to, up to tar_end ("" when
     * they are in a pack in scratch, to be copied) */
    char shard[64];
    int64_t tar_end;
    int64_t start, start_samples; /* out (shards): shard size and samples before v */
    StoreShardState shard_state;  /* out (shards): its shard after v */
} StoreVideo;

typedef struct Store Store;

typedef struct StoreOps {
    const char *name;
    int (*open)(Store *st);
    /* Moves/appends v into place, not yet durable. On failure nothing of v is visible. */
    int (*stage)(Store *st, StoreVideo *v);
    /* Makes everything staged since the last sync durable. */
    int (*sync)(Store *st);
    /* Undoes the staging of v: the newest staged video not yet undone. */
    void (*rollback)(Store *st, StoreVideo *v);
    /* Ends the run (closes the open shard). */
    int (*finish)(Store *st);
    void (*close)(Store *st);
} StoreOps;

struct Store {
    const StoreOps *ops;
    const char *out;
    int64_t shard_bytes, shard_samples;
    /* shards: records a new shard as vidx's before it is created (claim) or forgets an
     * empty one (!claim); -EEXIST when the name is taken (vidx__catalog_shard_claim) */
    int (*claim_shard)(void *ctx, const char *name, int claim);
    void *claim_ctx;
    /* shards: names of this writer's new shards start with it ("w12-": one of
     * several writers sharing OUT, see vidx worker); "" or NULL: none. */
    const char *shard_prefix;
    /* shards: new shard numbers start at least here (past those the catalog names, whose
     * files may be gone: a bucket output's uploaded shards) */
    int next_shard;
    void *priv;
};

extern const StoreOps vidx__store_files;
extern const StoreOps vidx__store_shards;

/* Content-addressed path of a blob: objects/<2 hex>/<sha256>.<ext>. */
void vidx__blob_path(const char *sha256, const char *ext, char *out, size_t size);

/* Moves a file, copying across filesystems (a --scratch elsewhere). */
int vidx__move_file(const char *from, const char *to);
/* Moves a directory's files; a rename when on the same filesystem. */
int vidx__move_dir(const char *from, const char *to);

/*
 * Shards: registers a new shard for this run, names it ("shards/NNNNNN.tar")
 * and creates it empty: recorded first, created only under a name no file has.
 */
int vidx__shards_new(Store *st, char name[64]);
/* Shards: 1 when a shard of size bytes and samples takes no new video. */
int vidx__shards_full(const Store *st, int64_t size, int64_t samples);

/*
 * Cuts shard name (relative to out) back to its committed size and closes it
 * with tar's end blocks: what a crash left past the last commit disappears.
 */
int vidx__shard_recover(const char *out, const char *name, int64_t committed);

/* Removes shard name, recorded but never committed to (an interrupted run's). */
int vidx__shard_remove_empty(Store *st, const char *name);

#endif
