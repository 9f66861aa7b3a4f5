/*
 * files.c - the "files" layout: OUT/frames/<key>/<index>_<ms>ms.<ext>.
 *
 * A video's scratch directory already holds durable files under their final
 * names, so staging it is one rename of the directory (atomic on the same
 * filesystem; a copy when --scratch is elsewhere). With --dedup-exact, frames
 * move to the content-addressed objects/ tree instead. A sync makes the
 * renames of a whole group durable: one fsync of frames/ (and of the objects/
 * directories the group touched), not one per video.
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/fs.h"
#include "store/owned.h"

void vidx__blob_path(const char *sha256, const char *ext, char *out, size_t size)
{
    snprintf(out, size, "objects/%.2s/%s.%s", sha256, sha256, ext);
}

static int copy_file(const char *from, const char *to)
{
    char buf[1 << 16];
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    size_t n;
    int ret = 0;
    if (!in || !out)
        ret = -errno;
    while (ret == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            ret = -errno;
    if (out && (fflush(out) != 0 || fsync(fileno(out)) < 0) && ret == 0)
        ret = -errno;
    if (out && fclose(out) != 0 && ret == 0)
        ret = -errno;
    if (in)
        fclose(in);
    if (ret == 0)
        unlink(from);
    else
        unlink(to);
    return ret;
}

int vidx__move_file(const char *from, const char *to)
{
    if (rename(from, to) == 0)
        return 0;
    return errno == EXDEV ? copy_file(from, to) : -errno;
}

/* Moves every file of directory from into to (created); for cross-device scratch. */
int vidx__move_dir(const char *from, const char *to)
{
    if (rename(from, to) == 0)
        return 0;
    if (errno != EXDEV)
        return -errno;
    int ret = vidx__mkdirs(to);
    DIR *d = ret == 0 ? opendir(from) : NULL;
    struct dirent *e;
    char a[PATH_MAX], b[PATH_MAX];
    if (!d)
        return ret ? ret : -errno;
    while (ret == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(a, sizeof(a), "%s/%s", from, e->d_name);
        snprintf(b, sizeof(b), "%s/%s", to, e->d_name);
        ret = vidx__move_file(a, b);
    }
    closedir(d);
    return ret;
}

/* The space dir and its files take on disk (blocks, as --max-disk and vidx du count it). */
static int64_t dir_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct stat st;
    char p[PATH_MAX];
    int64_t n = stat(dir, &st) == 0 ? (int64_t)st.st_blocks * 512 : 0;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) > 0 &&
            stat(p, &st) == 0)
            n += (int64_t)st.st_blocks * 512;
    if (d)
        closedir(d);
    return n;
}

typedef struct Files {
    int staged;           /* renames since the last sync */
    uint8_t objects[256]; /* objects/<xx> directories they touched */
} Files;

static int first_byte(const char *sha256)
{
    unsigned v = 0;
    sscanf(sha256, "%2x", &v);
    return (int)(v & 255);
}

/* Moves the stored frames of v to objects/ (content-addressed). */
static int stage_blobs(Store *st, StoreVideo *v)
{
    Files *f = st->priv;
    char from[PATH_MAX], to[PATH_MAX], dir[PATH_MAX];
    for (size_t i = 0; i < v->n_items; i++) {
        StoreItem *it = &v->items[i];
        if (!it->store)
            continue;
        vidx__blob_path(it->rec->sha256, v->ext, it->location, sizeof(it->location));
        snprintf(from, sizeof(from), "%s/%s", v->scratch, it->rec->path);
        snprintf(to, sizeof(to), "%s/%s", st->out, it->location);
        snprintf(dir, sizeof(dir), "%s/objects/%.2s", st->out, it->rec->sha256);
        int ret = vidx__mkdirs(dir);
        if (ret == 0)
            ret = vidx__move_file(from, to);
        if (ret < 0)
            return ret;
        f->objects[first_byte(it->rec->sha256)] = 1;
        v->bytes_added += it->rec->bytes;
    }
    return 0;
}

static void files_rollback(Store *st, StoreVideo *v);

static int files_stage(Store *st, StoreVideo *v)
{
    Files *f = st->priv;
    char dst[PATH_MAX];
    int ret;
    v->bytes_added = 0;
    f->staged = 1;
    snprintf(v->video_dir, sizeof(v->video_dir), "frames/%s", v->key);
    if (v->blobs && (ret = stage_blobs(st, v)) < 0) {
        files_rollback(st, v); /* the blobs moved before the failure */
        return ret;
    }
    for (size_t i = 0; i < v->n_items && !v->blobs; i++) {
        StoreItem *it = &v->items[i];
        if (it->store)
            snprintf(it->location, sizeof(it->location), "%s/%s", v->video_dir, it->rec->path);
    }
    snprintf(dst, sizeof(dst), "%s/%s", st->out, v->video_dir);
    vidx__remove_video_dir(dst);
    if ((ret = vidx__move_dir(v->scratch, dst)) < 0) {
        files_rollback(st, v); /* neither a half-copied directory nor the blobs stay */
        return ret;
    }
    v->bytes_added += dir_bytes(dst);
    return 0;
}

static int files_sync(Store *st)
{
    Files *f = st->priv;
    char dir[PATH_MAX];
    int ret = 0, blobs = 0;
    if (!f->staged)
        return 0;
    snprintf(dir, sizeof(dir), "%s/frames", st->out);
    ret = vidx__fsync_dir(dir);
    for (int i = 0; i < 256 && ret == 0; i++) {
        if (!f->objects[i])
            continue;
        snprintf(dir, sizeof(dir), "%s/objects/%02x", st->out, i);
        ret = vidx__fsync_dir(dir);
        blobs = 1;
    }
    snprintf(dir, sizeof(dir), "%s/objects", st->out);
    if (ret == 0 && blobs) /* a new objects/<xx> is an entry there */
        ret = vidx__fsync_dir(dir);
    if (ret == 0)
        memset(f, 0, sizeof(*f));
    return ret;
}

static void files_rollback(Store *st, StoreVideo *v)
{
    char dst[PATH_MAX];
    snprintf(dst, sizeof(dst), "%s/%s", st->out, v->video_dir);
    vidx__remove_video_dir(dst);
    for (size_t i = 0; v->blobs && i < v->n_items; i++) {
        if (!v->items[i].store)
            continue;
        snprintf(dst, sizeof(dst), "%s/%s", st->out, v->items[i].location);
        unlink(dst);
    }
}

static int files_open(Store *st)
{
    st->priv = calloc(1, sizeof(Files));
    return st->priv ? 0 : -ENOMEM;
}

static int files_finish(Store *st)
{
    return files_sync(st);
}

static void files_close(Store *st)
{
    free(st->priv);
    st->priv = NULL;
}

const StoreOps vidx__store_files = {
    .name = "files",
    .open = files_open,
    .stage = files_stage,
    .sync = files_sync,
    .rollback = files_rollback,
    .finish = files_finish,
    .close = files_close,
};
