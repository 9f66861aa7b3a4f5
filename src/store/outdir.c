/*
 * outdir.c - see outdir.h. An output directory is vidx's when it carries
 * the marker (a small JSON file: format, kind, the vidx that made it) or,
 * for outputs of vidx versions before the marker, when its catalog.db has
 * vidx's tables (run) or it holds only names vidx writes (frames). Nothing
 * else is ever written into: vidx refuses rather than guesses.
 */
#include "core/internal.h"

#include "store/outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "core/path.h"
#include "net/s3.h"
#include "store/fs.h"
#include "store/owned.h"

static int refuse(const char *dir, const char *why)
{
    vidx__log(VIDX_LOG_ERROR,
              "%s: refused: not a vidx output (%s); nothing was changed. Use a new or empty "
              "directory",
              dir, why);
    return VIDX_ENOTOURS;
}

/*
 * 1 when dir has no entries (but the marker's scratch name, left by a claim
 * that died while writing it), 0 when it has some, or a negative errno.
 */
static int is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = 1;
    if (!d)
        return -errno;
    while (empty && (e = readdir(d)))
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
                !strcmp(e->d_name, "." VIDX_OUTDIR_MARKER ".tmp");
    closedir(d);
    return empty;
}

/* The marker's format and kind: 1 read, 0 absent, < 0 unreadable or not a regular file. */
static int read_marker(const char *dir, int *format, char *kind, size_t size)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, VIDX_OUTDIR_MARKER);
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISREG(st.st_mode) || st.st_size > 4096)
        return -EINVAL;
    json_t *o = json_load_file(path, 0, NULL);
    json_t *f = json_object_get(o, "format"), *k = json_object_get(o, "kind");
    int ok = json_is_integer(f) && json_is_string(k);
    if (ok) {
        *format = (int)json_integer_value(f);
        snprintf(kind, size, "%s", json_string_value(k));
    }
    json_decref(o);
    return ok ? 1 : -EINVAL;
}

/* A catalog.db made by vidx before the marker: it has vidx's videos and meta tables. */
static int legacy_catalog(const char *dir)
{
    char path[PATH_MAX];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct stat sb;
    int n = 0;
    snprintf(path, sizeof(path), "%s/catalog.db", dir);
    if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
        return 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM sqlite_master WHERE type='table' AND "
                           "name IN ('videos','meta')",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n == 2;
}

/* A directory an earlier `vidx frames` wrote: only names it writes. */
static int legacy_frames(const char *dir)
{
    struct dirent *e;
    int ok = 1;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    while (ok && (e = readdir(d)))
        ok = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
             vidx__is_video_file_name(e->d_name);
    closedir(d);
    return ok;
}

/* 0: vidx's, of this kind (*marked: it has the marker); else refused and logged. */
static int check(const char *dir, const char *kind, int *marked)
{
    char got[32], why[96];
    int format = 0, ret = read_marker(dir, &format, got, sizeof(got));
    *marked = ret > 0;
    if (ret < 0)
        return refuse(dir, "its " VIDX_OUTDIR_MARKER " is unreadable or not a file");
    if (ret > 0 && format > VIDX_OUTDIR_FORMAT) {
        snprintf(why, sizeof(why), "made by a newer vidx: output format %d, this one knows %d",
                 format, VIDX_OUTDIR_FORMAT);
        return refuse(dir, why);
    }
    if (ret > 0 && strcmp(got, kind)) {
        snprintf(why, sizeof(why), "made by `vidx %.20s`, not `vidx %s`", got, kind);
        return refuse(dir, why);
    }
    if (ret > 0 || (!strcmp(kind, "run") ? legacy_catalog(dir) : legacy_frames(dir)))
        return 0;
    return refuse(dir, "it holds files and no " VIDX_OUTDIR_MARKER " marker");
}

/* An output directory is local: an s3:// OUT is refused, never made a local "s3:" folder
 * (vidx run writes to a bucket through a local directory of its own, batch/upload.h). */
static int not_a_bucket(const char *dir)
{
    if (!vidx__s3_is_url(dir))
        return 0;
    vidx__log(VIDX_LOG_ERROR,
              "%s: writing this output to a bucket is not supported yet (only vidx run writes to "
              "buckets: -o s3://... --catalog DIR); write to a local directory (docs/CLOUD.md)",
              dir);
    return VIDX_EUSAGE;
}

int vidx__outdir_check(const char *dir, const char *kind)
{
    struct stat st;
    int marked;
    if (vidx__s3_is_url(dir))
        return not_a_bucket(dir);
    if (stat(dir, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    return check(dir, kind, &marked);
}

/* A new output id: 128 random bits in hex. */
static int new_id(char *id, size_t size)
{
    unsigned char r[16];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return -EIO;
    for (size_t i = 0; i < sizeof(r) && 2 * i + 2 < size; i++)
        snprintf(id + 2 * i, 3, "%02x", r[i]);
    return 0;
}

/* The marker with its binding (catalog "": none recorded). */
static int write_marker_bound(const char *dir, const char *kind, const OutdirBinding *b)
{
    char text[320], cat[48] = "";
    if (b->catalog[0])
        snprintf(cat, sizeof(cat), ",\"catalog\":\"%s\"", b->catalog);
    int n = snprintf(text, sizeof(text),
                     "{\"format\":%d,\"kind\":\"%s\",\"created_by\":\"vidx %s\",\"id\":\"%s\"%s}\n",
                     VIDX_OUTDIR_FORMAT, kind, vidx_version(), b->id, cat);
    return vidx__write_atomic(dir, VIDX_OUTDIR_MARKER, text, (size_t)n, 1);
}

static int write_marker(const char *dir, const char *kind)
{
    OutdirBinding b = {"", ""};
    int ret = new_id(b.id, sizeof(b.id));
    return ret < 0 ? ret : write_marker_bound(dir, kind, &b);
}

/* Copies the marker's string field name into out ("" when absent). */
static void marker_field(json_t *o, const char *name, char *out, size_t size)
{
    json_t *v = json_object_get(o, name);
    snprintf(out, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* 1 read (b filled), 0 no marker, < 0 unreadable. */
static int read_binding(const char *dir, OutdirBinding *b, char *kind, size_t size)
{
    char path[PATH_MAX];
    int format;
    memset(b, 0, sizeof(*b));
    int ret = read_marker(dir, &format, kind, size);
    if (ret <= 0)
        return ret < 0 ? refuse(dir, "its " VIDX_OUTDIR_MARKER " is unreadable or not a file") : 0;
    snprintf(path, sizeof(path), "%s/%s", dir, VIDX_OUTDIR_MARKER);
    json_t *o = json_load_file(path, 0, NULL);
    marker_field(o, "id", b->id, sizeof(b->id));
    marker_field(o, "catalog", b->catalog, sizeof(b->catalog));
    json_decref(o);
    return 1;
}

int vidx__outdir_binding(const char *dir, OutdirBinding *b)
{
    char kind[32];
    int ret = read_binding(dir, b, kind, sizeof(kind));
    return ret < 0 ? ret : 0;
}

int vidx__outdir_bind(const char *dir, const char *catalog, OutdirBinding *b)
{
    char kind[32];
    int ret = read_binding(dir, b, kind, sizeof(kind));
    if (ret <= 0 || (b->id[0] && (b->catalog[0] || !catalog)))
        return ret;
    if (!b->id[0] && (ret = new_id(b->id, sizeof(b->id))) < 0)
        return ret;
    if (!b->catalog[0] && catalog)
        snprintf(b->catalog, sizeof(b->catalog), "%s", catalog);
    if ((ret = write_marker_bound(dir, kind, b)) < 0)
        return ret;
    return read_binding(dir, b, kind, sizeof(kind)) < 0 ? VIDX_ENOTOURS : 0; /* as on disk */
}

/* 0 when a writer may claim dir (*exists, *marked say what it found); else refused. */
static int claimable(const char *dir, const char *kind, int *exists, int *marked)
{
    struct stat st;
    int ret;
    *exists = *marked = 0;
    if (vidx__s3_is_url(dir))
        return not_a_bucket(dir);
    if (stat(dir, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    *exists = 1;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if ((ret = is_empty(dir)) != 0)
        return ret < 0 ? ret : 0;
    return check(dir, kind, marked);
}

int vidx__outdir_claim(const char *dir, const char *kind)
{
    int exists, marked, ret = claimable(dir, kind, &exists, &marked);
    if (ret == 0 && !exists)
        ret = vidx__mkdirs(dir);
    return ret < 0 || marked ? ret : write_marker(dir, kind);
}

/* The pid a holder wrote into the lock file, or 0. */
static long holder_pid(int fd)
{
    char buf[32] = "";
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    return strtol(buf, NULL, 10);
}

static int wait_for_lock(const char *dir, int fd, long pid)
{
    struct timespec pause = {0, 100 * 1000 * 1000};
    vidx__log(VIDX_LOG_ERROR, "%s: in use by another vidx (pid %ld); waiting for it", dir, pid);
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -errno;
        nanosleep(&pause, NULL);
    }
    return 0;
}

int vidx__outdir_lock(const char *dir, int wait, int *fd)
{
    char path[PATH_MAX], line[32];
    int ret = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, VIDX_OUTDIR_LOCK);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (*fd < 0)
        return -errno;
    if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
        long pid = holder_pid(*fd);
        if (errno != EWOULDBLOCK)
            ret = -errno;
        else if (wait)
            ret = wait_for_lock(dir, *fd, pid);
        else {
            vidx__log(VIDX_LOG_ERROR,
                      "%s: in use by another vidx writing to it (pid %ld); nothing was changed. "
                      "Wait for it to finish (or pass --wait)",
                      dir, pid);
            ret = VIDX_ELOCKED;
        }
    }
    int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    if (ret == 0 && (ftruncate(*fd, 0) < 0 || vidx__pwrite_all(*fd, line, (size_t)n, 0) < 0))
        ret = -errno;
    if (ret < 0) { /* not ours: the holder's pid stays */
        close(*fd);
        *fd = -1;
    }
    return ret;
}

int vidx__outdir_lock_shared(const char *dir, int *fd)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, VIDX_OUTDIR_LOCK);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (*fd < 0)
        return -errno;
    if (flock(*fd, LOCK_SH | LOCK_NB) == 0)
        return 0;
    int ret = errno == EWOULDBLOCK ? VIDX_ELOCKED : -errno;
    if (ret == VIDX_ELOCKED)
        vidx__log(VIDX_LOG_ERROR,
                  "%s: in use by a vidx that writes to it alone (pid %ld: run, gc or verify "
                  "--repair); nothing was changed. Start workers once it has finished",
                  dir, holder_pid(*fd));
    close(*fd);
    *fd = -1;
    return ret;
}

void vidx__outdir_unlock(int *fd)
{
    if (*fd >= 0 && ftruncate(*fd, 0) < 0) /* no pid once nobody holds it */
        vidx__log(VIDX_LOG_WARNING, "cannot clear the lock file: %s", vidx_strerror(-errno));
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int known_kind(const char *dir, const char *kind)
{
    return dir && kind && (!strcmp(kind, "run") || !strcmp(kind, "frames"));
}

int vidx_output_claim(const char *dir, const char *kind)
{
    return known_kind(dir, kind) ? vidx__outdir_claim(dir, kind) : VIDX_EUSAGE;
}

int vidx_output_check(const char *dir, const char *kind)
{
    int exists, marked;
    return known_kind(dir, kind) ? claimable(dir, kind, &exists, &marked) : VIDX_EUSAGE;
}

static int is_path(const char *s)
{
    return strcmp(s, "-") && s[0] != '@' && !strstr(s, "://");
}

int vidx__outdir_overlaps(const char *dir, const char *const *paths, size_t n)
{
    char *out = vidx__path_canonical(dir, NULL);
    int ret = out ? 0 : -ENOMEM;
    for (size_t i = 0; ret == 0 && i < n; i++) {
        char *in = is_path(paths[i]) ? vidx__path_canonical(paths[i], NULL) : NULL;
        const char *why = !in                          ? NULL
                          : vidx__path_within(out, in) ? "lies inside the input"
                          : vidx__path_within(in, out) ? "holds the input"
                                                       : NULL;
        if (why) {
            vidx__log(VIDX_LOG_ERROR,
                      "%s: refused: the output directory %s %s; nothing was changed. Write "
                      "to a directory apart from the inputs",
                      dir, why, paths[i]);
            ret = VIDX_EUSAGE;
        }
        free(in);
    }
    free(out);
    return ret;
}
