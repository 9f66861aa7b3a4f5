/*
 * tar.h - the pieces of a WebDataset sample in a ustar archive: member
 * headers, padding, names and the per-frame JSON. Shared by the worker, which
 * packs a video's frames into one scratch file (VIDX_TAR_PACK), and the
 * shards store, which appends packs to shards and closes and repairs them.
 */
#ifndef VIDX_STORE_TAR_H
#define VIDX_STORE_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "vidx/vidx.h"

#define VIDX_TAR_BLOCK 512

/* The file a packing job writes its frames to, in its output directory. */
#define VIDX_TAR_PACK "frames.tar"

/* Where a frame's sample (image and .json members) lies in an archive; offset -1: none. */
typedef struct TarSpan {
    int64_t offset, size;
} TarSpan;

/* Zero bytes that follow size bytes of data up to the next block. */
size_t vidx__tar_padding(size_t size);

/* One ustar header for a regular file of size bytes; name must fit in 100 bytes. */
void vidx__tar_header(char h[VIDX_TAR_BLOCK], const char *name, int64_t size);

/*
 * A frame's sample name: "<key without dots>/<frame file name without its
 * extension>". WebDataset groups members by the name before the first dot,
 * so the key's dots become underscores.
 */
void vidx__tar_sample_name(const char *key, const char *frame_file, char *out, size_t size);

/* The sample's .json member: the frame's metadata. */
void vidx__tar_sample_json(const char *key, const VidxFrameRecord *r, char *out, size_t size);

/* Ends the archive fd at size: tar's two zero blocks there, nothing after them (not synced). */
int vidx__tar_end_at(int fd, int64_t size);

/*
 * A frame as a whole sample, ready to write: image member then .json member,
 * each padded to the block size. Returns a malloc'd buffer (its length in
 * *len) or NULL.
 */
char *vidx__tar_sample(const char *key, const VidxFrameRecord *r, const char *ext,
                       const void *image, size_t *len);

#endif
