/*
 * inputs.h - turns the command line's inputs (files, directories, @lists,
 * "-" for stdin, URLs) into the sorted, de-duplicated list of videos of a run,
 * and gives each a stable key and a content fingerprint.
 */
#ifndef VIDX_BATCH_INPUTS_H
#define VIDX_BATCH_INPUTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct InputList {
    char **paths;
    size_t n, cap;
} InputList;

/* Expands inputs; skip_dir (may be NULL) is never descended into (the output). */
int vidx__inputs_expand(InputList *list, const char *const *inputs, size_t n, const char *skip_dir);
void vidx__inputs_free(InputList *list);
/* Sorts and removes duplicates. */
void vidx__inputs_sort_unique(InputList *list);

/* "<safe basename>-<16 hex of a hash of the path>": stable, path-safe, collision-free. */
void vidx__input_key(const char *path, char out[96]);

/* size, mtime and a hash of the first and last 64 KiB; URLs fingerprint as their text. */
int vidx__input_fingerprint(const char *path, char out[64], int64_t *size, int64_t *mtime);

uint64_t vidx__fnv1a(const void *data, size_t n, uint64_t h);
#define VIDX_FNV_INIT 1469598103934665603ULL

#endif
