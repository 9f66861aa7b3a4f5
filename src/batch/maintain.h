/*
 * maintain.h - verify, du and gc (maintain.c, a local output; maintain_s3.c,
 * a bucket output): what the two share.
 */
#ifndef VIDX_BATCH_MAINTAIN_H
#define VIDX_BATCH_MAINTAIN_H

#include <jansson.h>

#include "catalog/catalog.h"

/* The report's text (av_malloc'd, vidx_free) from o, which is released. */
int vidx__maint_dump(json_t *o, char **report);
/* du's kind (frames, shards, ...) of a name relative to OUT: an index into the usage arrays. */
int vidx__maint_kind(const char *rel);
#define VIDX_MAINT_KINDS 9
/* du's report: bytes and files per kind, and the total. */
json_t *vidx__maint_usage(const int64_t *bytes, const int64_t *files);
/*
 * gc's rule for a file frames/<key>/name (rel): 1 kept (a row points at it or at
 * its video), 0 to remove, VIDX_ENOTOURS not a name vidx makes, < 0 the catalog failed.
 */
int vidx__maint_keep_video_file(VidxCatalog *cat, const char *rel, const char *name);

/* The same commands on a bucket output, url "s3://bucket/prefix", catalog its local DIR. */
int vidx__bucket_verify(const char *url, const char *catalog, int repair, char **report);
int vidx__bucket_du(const char *url, const char *catalog, char **report);
int vidx__bucket_gc(const char *url, const char *catalog, int flags, char **report);

#endif
