/*
 * upload.h - a run whose output is a bucket (vidx run -o s3://bucket/prefix
 * --catalog DIR): DIR is an ordinary local output (catalog.db, the shard
 * store's staging) and what is final in it goes up to the bucket through
 * store/s3out.h. See upload.c for the order of things that keeps the catalog
 * honest.
 */
#ifndef VIDX_BATCH_UPLOAD_H
#define VIDX_BATCH_UPLOAD_H

#include "batch/state.h"

/*
 * Whether out is a bucket, and if so the settings a bucket output takes: 0
 * (not a bucket), 1 (a bucket: *local is the local directory, the settings'
 * catalog), or VIDX_EUSAGE (logged: no --catalog, a PostgreSQL one, the files
 * layout).
 */
int vidx__upload_wanted(const char *out, const VidxRunSettings *s, const char **local);

/*
 * After the catalog is open, before the tasks are planned: binds the catalog
 * to the bucket (meta 'bucket') or refuses a local run on a bucket output's
 * catalog; claims the prefix, aborts the uploads a killed run left, uploads
 * the shards closed but not uploaded, or forgets their videos (redone) when
 * their local copy is gone.
 */
int vidx__upload_open(Run *r);
/*
 * The bucket output whose catalog (open) is in the local directory local:
 * the catalog must be bucket's (bind: made so if it is no bucket's), the
 * prefix this output's (bind: claimed if unclaimed). *up: its client.
 */
struct S3Out;
int vidx__upload_attach(VidxCatalog *cat, const char *local, const char *bucket, int bind,
                        struct S3Out **up);
/* Hooks the committer (after vidx__committer_open): video files and shards go up. */
void vidx__upload_hook(Run *r);
/* After the store is finished: every shard left goes up, then the catalog's copy. */
int vidx__upload_finish(Run *r);
void vidx__upload_close(Run *r);

#endif
