/*
 * fs.h - crash-safe file writing: write to a scratch name in the same
 * directory, optionally fsync, rename into place. Readers never see a partial
 * file under its final name.
 */
#ifndef VIDX_STORE_FS_H
#define VIDX_STORE_FS_H

#include <stddef.h>
#include <stdint.h>

/* mkdir -p; returns 0 or a negative errno. */
int vidx__mkdirs(const char *path);

/*
 * Writes data to dir/name atomically. With durable, the data and the
 * directory entry are fsync'd. Returns 0 or a negative errno (the scratch file
 * is removed on failure).
 */
int vidx__write_atomic(const char *dir, const char *name, const void *data, size_t size,
                       int durable);

/* Scratch-name convention shared by writers and cleanup: ".NAME.tmp". */
int vidx__is_scratch_name(const char *name);

/* Removes scratch files (".*.tmp") left in dir by an interrupted writer. */
int vidx__remove_scratch(const char *dir);

/*
 * Makes everything written under dir durable with one filesystem sync
 * (syncfs): far cheaper than an fsync per file when a video wrote dozens.
 */
int vidx__sync_dir_fs(const char *dir);

/* fsync of one file by path. */
int vidx__fsync_path(const char *path);

/* fsync of a directory, for rename durability. */
int vidx__fsync_dir(const char *dir);

/* write() (files and pipes) or pwrite() all of data, retrying short writes; 0 or -errno. */
int vidx__write_all(int fd, const void *data, size_t size);
int vidx__pwrite_all(int fd, const void *data, size_t size, int64_t off);

/* pread() exactly size bytes at off; -EIO when the file ends first. */
int vidx__pread_exact(int fd, void *buf, size_t size, int64_t off);

/*
 * Copies len bytes of file in (from in_off) into file out (at out_off),
 * inside the kernel where it can (copy_file_range), else through memory;
 * -EIO when in ends first.
 */
int vidx__copy_range(int in, int64_t in_off, int out, int64_t out_off, int64_t len);

/*
 * 1 when rel (read from a catalog, which may be damaged or hostile) names
 * something inside the directory it is relative to: not empty, not absolute,
 * no ".." component. Symlinks are the caller's concern.
 */
int vidx__is_safe_relpath(const char *rel);
/* Reads the whole file path into buf; -EIO unless it holds exactly size bytes. */
int vidx__read_exact(const char *path, void *buf, size_t size);

/* rm -rf; a missing path is fine. */
int vidx__remove_tree(const char *path);

/* Bytes of path: a regular file's size, or the sum over the regular files
 * beneath a directory (links not followed); -1 when path is neither. */
int64_t vidx__tree_size(const char *path);

#endif
