/*
 * array.h - the one growable-array helper: every array that grows by
 * doubling as elements are appended goes through vidx__grow().
 */
#ifndef VIDX_CORE_ARRAY_H
#define VIDX_CORE_ARRAY_H

#include <stddef.h>

/*
 * Makes room for need elements of elem bytes in the array whose pointer is at
 * parr (a T **) and whose capacity is *cap: when *cap < need, the capacity
 * doubles (from first, for an empty array) until it holds need, and the array
 * is reallocated with realloc() (free it with free()). 0, or -ENOMEM with the
 * array and *cap unchanged.
 */
int vidx__grow(void *parr, size_t *cap, size_t need, size_t elem, size_t first);

/*
 * Appends n bytes to the NUL-terminated text buffer *buf (length *len, capacity
 * *cap), unless it would then hold max bytes or more: HTTP bodies read by curl
 * callbacks. 0, or -1 (too big, or no memory) with the buffer unchanged.
 */
int vidx__append_bounded(char **buf, size_t *len, size_t *cap, const void *p, size_t n, size_t max);

#endif /* VIDX_CORE_ARRAY_H */
