/*
 * inputs.h - turns the command line's inputs (files, directories, @lists,
 * "-" for stdin, URLs) into the sorted list of videos of a run, one entry per
 * file (canonical paths, one name per device and inode), and gives each a
 * stable key and a content fingerprint.
 */
#ifndef VIDX_BATCH_INPUTS_H
#define VIDX_BATCH_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/fingerprint.h"
#include "core/path.h"

/* @lists may include further lists this deep (the command line's list is 1). */
#define VIDX_LIST_DEPTH 8
/* Directory walks go this many levels below the directory named. */
#define VIDX_WALK_DEPTH 64

typedef struct InputEntry {
    char *path; /* canonical (see core/path.h) */
    FileId id;  /* device and inode of a local regular file; has_id 0 otherwise */
    int has_id;
} InputEntry;

typedef struct InputList {
    InputEntry *items;
    size_t n, cap;
    /* Set before expanding: walks follow symlinks (still cycle-safe), take audio-only files. */
    int follow_symlinks, audio_files;
    /* Counted while expanding: files a walk skipped as not video, by kind; */
    int64_t n_image, n_audio, n_other;
    /* symlinks a walk did not follow (or could not: dangling, looping); */
    int64_t n_symlinks;
    /* input names for a file already in the list (counted by sort_unique). */
    int64_t n_duplicates;
} InputList;

/*
 * Expands inputs; skip_dir (may be NULL) is never descended into (the output).
 * Errors (an unreadable list or directory, a list that includes itself or
 * nests deeper than VIDX_LIST_DEPTH: VIDX_EUSAGE) are logged, naming the file.
 */
int vidx__inputs_expand(InputList *list, const char *const *inputs, size_t n, const char *skip_dir);
void vidx__inputs_free(InputList *list);
/* Sorts by path and keeps one entry per path and per device + inode (logging the others). */
void vidx__inputs_sort_unique(InputList *list);

/*
 * The fingerprint of an input (core/fingerprint.h); an s3:// object's is its size and
 * ETag (one HEAD request), so a changed object is processed again and a same one skipped.
 */
int vidx__input_identify(const char *path, char out[64], int64_t *size, int64_t *mtime);

/* "<safe basename>-<16 hex of a hash of the path>": stable, path-safe, collision-free. */
void vidx__input_key(const char *path, char out[96]);
/* The same, with salt hashed after the path (a queue claim's key: salt "#<fence>"). */
void vidx__input_key_salted(const char *path, const char *salt, char out[96]);

#endif
