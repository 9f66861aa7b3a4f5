/*
 * path.h - what makes two names one file: the canonical path (local files:
 * absolute, symlinks, ".", ".." and repeated slashes resolved; URLs as given)
 * and, for files that exist, their device and inode; plus a set of
 * (device, inode) pairs for walks and duplicate checks.
 */
#ifndef VIDX_CORE_PATH_H
#define VIDX_CORE_PATH_H

#include <stddef.h>
#include <sys/types.h>

int vidx__is_url(const char *s);

/*
 * The canonical name of path, relative names taken against base_dir (NULL:
 * the current directory). An existing file resolves with realpath(); for a
 * missing one, its longest existing prefix does, and the rest is resolved by
 * its text. URLs are returned unchanged. malloc'd; NULL only when out of memory.
 */
char *vidx__path_canonical(const char *path, const char *base_dir);

/* Is a (canonical) equal to or below b (canonical)? */
int vidx__path_within(const char *a, const char *b);

typedef struct FileId {
    dev_t dev;
    ino_t ino;
} FileId;

typedef struct FileIdSet {
    struct FileIdSlot *slots;
    size_t n, cap;
} FileIdSet;

/* 1 when id was added, 0 when it was there already, -ENOMEM. */
int vidx__fileid_add(FileIdSet *s, FileId id);
void vidx__fileid_free(FileIdSet *s);

#endif
