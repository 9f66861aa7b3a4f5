/*
 * s3out.h - a bucket output's objects (vidx run -o s3://bucket/prefix): the
 * uploads of a local output directory's files into the bucket under the
 * prefix, with the same relative names ("shards/000003.tar",
 * "frames/<key>/manifest.jsonl", "catalog.db"). See s3out.c for the design.
 */
#ifndef VIDX_STORE_S3OUT_H
#define VIDX_STORE_S3OUT_H

#include <stdint.h>

#include "net/s3.h"

typedef struct S3Out S3Out;

/* The name of the bucket prefix's marker object, holding the output id of its catalog. */
#define VIDX_S3OUT_MARKER ".vidx-output"

/* Opens the bucket output url ("s3://bucket[/prefix]") for the local directory local. */
int vidx__s3out_open(S3Out **out, const char *url, const char *local);
void vidx__s3out_close(S3Out **o);
/* The client and where things go, for listings and deletions (verify, du, gc). */
S3 *vidx__s3out_client(S3Out *o, const char **bucket, const char **prefix);
/* The object key of name (relative to OUT): "<prefix>/<name>", or name in a bucket's root. */
void vidx__s3out_key(const S3Out *o, const char *name, char *key, size_t size);

/*
 * The prefix is this output's: its marker holds id (the catalog's output id),
 * or it has no marker and is made this output's (readonly: not made). Another
 * id: VIDX_ENOTOURS (logged), nothing touched.
 */
int vidx__s3out_claim(S3Out *o, const char *id, int readonly);

/* Aborts the multipart uploads of shards under the prefix (a killed run's); *n: how many. */
int vidx__s3out_abort_orphans(S3Out *o, int *n);

/*
 * Shard name's first committed bytes are final: uploads them as parts of
 * its multipart upload (started at the first), whole parts only.
 */
int vidx__s3out_grow(S3Out *o, const char *name, int64_t committed);
/*
 * Shard name is closed: uploads the rest of the local file as the last part
 * and completes the upload. *bytes and etag: the object, as the bucket has it.
 */
int vidx__s3out_complete(S3Out *o, const char *name, int64_t *bytes, char etag[128]);
/* Forgets (aborts) the upload of shard name, if one is in progress. */
void vidx__s3out_drop(S3Out *o, const char *name);

/* PUTs the local file path as the object name; *bytes and etag as above. */
int vidx__s3out_put_file(S3Out *o, const char *path, const char *name, int64_t *bytes,
                         char etag[128]);

#endif
