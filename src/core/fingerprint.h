/*
 * fingerprint.h - what a file is, cheaply: size, mtime and a hash of its
 * first and last 64 KiB (the run skips a video whose fingerprint and options
 * are unchanged; schema migration recognises a moved row's file by it).
 */
#ifndef VIDX_CORE_FINGERPRINT_H
#define VIDX_CORE_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

/* size, mtime and a hash of the first and last 64 KiB; URLs fingerprint as their text. */
int vidx__input_fingerprint(const char *path, char out[64], int64_t *size, int64_t *mtime);

/* 64-bit FNV-1a of n bytes, continuing from h (VIDX_FNV_INIT to start). */
uint64_t vidx__fnv1a(const void *data, size_t n, uint64_t h);
#define VIDX_FNV_INIT 1469598103934665603ULL

#endif
