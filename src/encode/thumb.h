/*
 * thumb.h - a small copy of a stored image, for pages that inline their
 * images (vidx report): JPEG scaled down by TurboJPEG's DCT scaling.
 */
#ifndef VIDX_ENCODE_THUMB_H
#define VIDX_ENCODE_THUMB_H

#include <stddef.h>
#include <stdint.h>

/*
 * A JPEG of at most max_width pixels across from the JPEG in (its bytes,
 * untrusted): *out is malloc'd (free it), *out_size its bytes. An image
 * already that narrow is copied as it is. VIDX_EFORMAT when in is not a
 * JPEG TurboJPEG can read, VIDX_ELIMIT past 16384 pixels a side.
 */
int vidx__jpeg_thumbnail(const uint8_t *in, size_t size, int max_width, uint8_t **out,
                         size_t *out_size);

#endif
