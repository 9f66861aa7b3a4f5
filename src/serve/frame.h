/*
 * frame.h - a stored frame's bytes for the dashboard and the report, opened
 * only where the catalog says and only beneath OUT. A location is the
 * catalog's text (untrusted: a damaged or hostile catalog may hold anything)
 * and never reaches the filesystem before it is checked here.
 */
#ifndef VIDX_SERVE_FRAME_H
#define VIDX_SERVE_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* The largest frame served or inlined: a row claiming more is refused. */
#define SERVE_FRAME_MAX_BYTES (64 << 20)

typedef struct ServeFrame {
    int fd;           /* read-only; the caller closes it */
    int64_t offset;   /* where the image starts in fd (0 for a file of its own) */
    int64_t bytes;    /* the image's size */
    const char *mime; /* "image/jpeg", "image/webp", "image/png" (by its first bytes) */
} ServeFrame;

/*
 * 1 when location is a name vidx makes for stored frames: relative, under
 * frames/, shards/ or objects/, components of [A-Za-z0-9._-] only, none "."
 * or "..", at most 512 bytes. 0 otherwise.
 */
int vidx__serve_location_ok(const char *location);

/*
 * Opens the image the catalog places at location (offset: in a shard, or
 * < 0 for a file of its own; bytes: its size) beneath the directory out_fd,
 * following no symbolic link at any step: a regular file, holding at least
 * offset + bytes bytes, of a known image type. 0 and *f; -EACCES for a
 * location vidx__serve_location_ok refuses; -ENOENT, -ELOOP, -EINVAL (not a
 * regular file, outside the file, bad sizes), VIDX_EFORMAT (not an image).
 */
int vidx__serve_frame_open(int out_fd, const char *location, int64_t offset, int64_t bytes,
                           ServeFrame *f);

/* Reads the whole image (bytes <= SERVE_FRAME_MAX_BYTES) into *data (malloc'd). */
int vidx__serve_frame_read(const ServeFrame *f, uint8_t **data);

#endif
