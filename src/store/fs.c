/*
 * fs.c - the crash-safe write path (scratch name, fsync, rename) and the
 * cleanup of scratch files an interrupted writer leaves behind.
 */
#include "store/fs.h"

#include "core/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vidx__mkdirs(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0777) < 0 && errno != EEXIST)
        return -errno;
    struct stat st;
    if (stat(buf, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int vidx__fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int ret = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return ret;
}

int vidx__sync_dir_fs(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
#ifdef __linux__
    int ret = syncfs(fd) < 0 ? -errno : 0;
#else
    sync();
    int ret = fsync(fd) < 0 ? -errno : 0;
#endif
    close(fd);
    return ret;
}

int vidx__fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int ret = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return ret;
}

int vidx__is_safe_relpath(const char *rel)
{
    if (!rel || !*rel || *rel == '/')
        return 0;
    for (const char *c = rel; *c; c += strcspn(c, "/"), c += *c == '/')
        if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || !c[2]))
            return 0;
    return 1;
}

int vidx__read_exact(const char *path, void *buf, size_t size)
{
    struct stat sb;
    char *p = buf;
    int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &sb) < 0)
        ret = -errno;
    else if ((uint64_t)sb.st_size != (uint64_t)size)
        ret = -EIO; /* not the file the worker reported */
    while (ret == 0 && size > 0) {
        ssize_t n = read(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            ret = n < 0 ? -errno : -EIO;
        else
            p += n, size -= (size_t)n;
    }
    close(fd);
    return ret;
}

/* Writes all of data: at off with pwrite(), or where the file is (pipes too) when off < 0. */
static int write_loop(int fd, const void *data, size_t size, int64_t off)
{
    const char *p = data;
    while (size > 0) {
        ssize_t n = off < 0 ? write(fd, p, size) : pwrite(fd, p, size, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        size -= (size_t)n;
        off = off < 0 ? off : off + n;
    }
    return 0;
}

int vidx__write_all(int fd, const void *data, size_t size)
{
    return write_loop(fd, data, size, -1);
}

int vidx__pwrite_all(int fd, const void *data, size_t size, int64_t off)
{
    return write_loop(fd, data, size, off);
}

/* vidx__copy_range through memory, where the kernel cannot copy between the two files. */
static int copy_through_memory(int in, int64_t in_off, int out, int64_t out_off, int64_t len)
{
    size_t cap = (size_t)VIDX_MIN(len, (int64_t)1 << 20);
    char *buf = malloc(cap ? cap : 1);
    int ret = buf ? 0 : -ENOMEM;
    while (ret == 0 && len > 0) {
        size_t n = (size_t)VIDX_MIN(len, (int64_t)cap);
        ret = vidx__pread_exact(in, buf, n, in_off);
        if (ret == 0)
            ret = vidx__pwrite_all(out, buf, n, out_off);
        in_off += (int64_t)n, out_off += (int64_t)n, len -= (int64_t)n;
    }
    free(buf);
    return ret;
}

int vidx__copy_range(int in, int64_t in_off, int out, int64_t out_off, int64_t len)
{
    while (len > 0) {
        loff_t a = in_off, b = out_off;
        ssize_t n = copy_file_range(in, &a, out, &b, (size_t)len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL))
            return copy_through_memory(in, in_off, out, out_off, len);
        if (n <= 0)
            return n < 0 ? -errno : -EIO; /* the source ended first */
        in_off += n, out_off += n, len -= n;
    }
    return 0;
}

int vidx__pread_exact(int fd, void *buf, size_t size, int64_t off)
{
    char *p = buf;
    while (size > 0) {
        ssize_t n = pread(fd, p, size, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        size -= (size_t)n;
        off += n;
    }
    return 0;
}

int vidx__write_atomic(const char *dir, const char *name, const void *data, size_t size,
                       int durable)
{
    char tmp[PATH_MAX], dst[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp) ||
        snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= (int)sizeof(dst))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return -errno;
    int ret = vidx__write_all(fd, data, size);
    if (ret == 0 && durable && fsync(fd) < 0)
        ret = -errno;
    if (close(fd) < 0 && ret == 0)
        ret = -errno;
    if (ret == 0 && rename(tmp, dst) < 0)
        ret = -errno;
    if (ret < 0)
        unlink(tmp);
    else if (durable)
        ret = vidx__fsync_dir(dir);
    return ret;
}

int vidx__is_scratch_name(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && name[0] == '.' && !strcmp(name + n - 4, ".tmp");
}

int vidx__remove_scratch(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX];
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while ((e = readdir(d))) {
        if (!vidx__is_scratch_name(e->d_name))
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
            unlink(path);
    }
    closedir(d);
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static _Thread_local int64_t tree_sum;

static int add_size(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path, (void)ftw;
    if (type == FTW_F && S_ISREG(st->st_mode))
        tree_sum += st->st_size;
    return 0;
}

int64_t vidx__tree_size(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)))
        return -1;
    if (S_ISREG(st.st_mode))
        return st.st_size;
    tree_sum = 0;
    return nftw(path, add_size, 16, FTW_PHYS) == 0 ? tree_sum : -1;
}

int vidx__remove_tree(const char *path)
{
    int ret = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return ret < 0 && errno != ENOENT ? -errno : 0;
}
