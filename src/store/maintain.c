/*
 * maintain.c - looking after an output directory: vidx verify (the catalog
 * against the disk), vidx du (space by kind) and vidx gc (what no catalog row
 * points at). All three read the catalog; only --repair and gc change it.
 */
#include "core/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libavutil/mem.h>
#include <libavutil/sha.h>
#include <sqlite3.h>

#include "batch/worker.h"
#include "catalog/catalog.h"
#include "store/fs.h"

/*
 * SHA-256 of size bytes at offset of path (offset < 0: the whole file, which
 * must be size). The catalog may be damaged or hostile: only a regular file is
 * read (a FIFO would block, a symlink may lead out of OUT), and sizes and
 * offsets are checked without overflowing.
 */
static int checksum_at(const char *path, int64_t offset, int64_t size, char out[65])
{
    struct AVSHA *sha = av_sha_alloc();
    uint8_t buf[1 << 16], digest[32];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), ret = 0;
    if (!sha || fd < 0) {
        ret = fd < 0 ? (errno == ELOOP ? -EINVAL : -errno) : -ENOMEM;
        goto done;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        ret = -EINVAL; /* not a file vidx wrote */
        goto done;
    }
    if (size < 0 || (offset < 0 && st.st_size != size) ||
        (offset >= 0 && (offset > st.st_size || st.st_size - offset < size))) {
        ret = -ERANGE; /* wrong size */
        goto done;
    }
    av_sha_init(sha, 256);
    for (int64_t pos = offset < 0 ? 0 : offset, left = size; left > 0;) {
        ssize_t n = pread(fd, buf, (size_t)VIDX_MIN(left, (int64_t)sizeof(buf)), pos);
        if (n <= 0) {
            ret = -EIO;
            goto done;
        }
        av_sha_update(sha, buf, (unsigned)n);
        pos += n;
        left -= n;
    }
    av_sha_final(sha, digest);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
done:
    if (fd >= 0)
        close(fd);
    av_free(sha);
    return ret;
}

typedef struct Problems {
    json_t *list;
    char **locations; /* damaged whole files (objects/, frames/) to forget and remove */
    size_t n_loc;
    int64_t *videos; /* ids with a problem */
    size_t n, cap;
} Problems;

static void add_problem(Problems *p, int64_t id, const char *video, const char *location,
                        const char *what)
{
    json_array_append_new(p->list, json_pack("{s:s?, s:s?, s:s}", "video", video, "location",
                                             location, "problem", what));
    char **loc = realloc(p->locations, (p->n_loc + 1) * sizeof(*loc));
    if (loc && location) {
        p->locations = loc;
        if ((loc[p->n_loc] = strdup(location)))
            p->n_loc++;
    } else if (loc) {
        p->locations = loc;
    }
    if (p->n && p->videos[p->n - 1] == id)
        return;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 16;
        int64_t *v = realloc(p->videos, ncap * sizeof(*v));
        if (!v)
            return;
        p->videos = v;
        p->cap = ncap;
    }
    p->videos[p->n++] = id;
}

static const char *check_one(const char *out, const char *loc, int64_t offset, int64_t bytes,
                             const char *want)
{
    char path[PATH_MAX], got[65];
    if (!vidx__is_safe_relpath(loc))
        return "location outside the output";
    snprintf(path, sizeof(path), "%s/%s", out, loc);
    int ret = checksum_at(path, offset, bytes, got);
    if (ret == -ENOENT)
        return "missing";
    if (ret == -ERANGE)
        return "size";
    if (ret == -EINVAL)
        return "not a regular file";
    if (ret < 0)
        return "unreadable";
    if (want && strcmp(want, got))
        return "checksum";
    return NULL;
}

static int verify_rows(sqlite3 *db, const char *out, Problems *p)
{
    static const char sql[] =
        "SELECT v.id, v.path, f.location, f.offset, f.bytes, f.checksum FROM frames f "
        "JOIN videos v ON v.id = f.video_id WHERE f.location IS NOT NULL "
        "UNION ALL SELECT v.id, v.path, a.path, NULL, a.bytes, NULL FROM audio a "
        "JOIN videos v ON v.id = a.video_id ORDER BY 1";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return VIDX_ECATALOG;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *loc = (const char *)sqlite3_column_text(st, 2);
        int64_t off = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
        const char *want = (const char *)sqlite3_column_text(st, 5);
        const char *bad = check_one(out, loc, off, sqlite3_column_int64(st, 4), want);
        if (bad)
            add_problem(p, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                        loc, bad);
    }
    sqlite3_finalize(st);
    return 0;
}

/* Removes videos with problems (rows cascade) and their directories: the next run redoes them. */
static int repair(sqlite3 *db, const char *out, const Problems *p)
{
    sqlite3_stmt *key, *del;
    char path[PATH_MAX];
    if (sqlite3_prepare_v2(db, "SELECT key FROM videos WHERE id=?1", -1, &key, NULL) ||
        sqlite3_prepare_v2(db, "DELETE FROM videos WHERE id=?1", -1, &del, NULL))
        return VIDX_ECATALOG;
    sqlite3_exec(db, "PRAGMA foreign_keys=ON; BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (size_t i = 0; i < p->n; i++) {
        sqlite3_bind_int64(key, 1, p->videos[i]);
        const char *k =
            sqlite3_step(key) == SQLITE_ROW ? (const char *)sqlite3_column_text(key, 0) : NULL;
        if (k && vidx__is_safe_relpath(k) && !strchr(k, '/')) { /* one folder under frames/ */
            snprintf(path, sizeof(path), "%s/frames/%s", out, k);
            vidx__remove_tree(path);
        }
        sqlite3_reset(key);
        sqlite3_bind_int64(del, 1, p->videos[i]);
        sqlite3_step(del);
        sqlite3_reset(del);
    }
    sqlite3_stmt *blob = NULL;
    sqlite3_prepare_v2(db, "DELETE FROM blobs WHERE location=?1", -1, &blob, NULL);
    for (size_t i = 0; blob && i < p->n_loc; i++) { /* shared content is damaged for all */
        sqlite3_bind_text(blob, 1, p->locations[i], -1, SQLITE_STATIC);
        sqlite3_step(blob);
        sqlite3_reset(blob);
        if (!strncmp(p->locations[i], "objects/", 8) && vidx__is_safe_relpath(p->locations[i])) {
            snprintf(path, sizeof(path), "%s/%s", out, p->locations[i]);
            unlink(path);
        }
    }
    sqlite3_finalize(blob);
    int ok = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_finalize(key);
    sqlite3_finalize(del);
    return ok ? 0 : VIDX_ECATALOG;
}

static int dump(json_t *o, char **report)
{
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    *report = text ? av_strdup(text) : NULL;
    free(text);
    json_decref(o);
    return *report ? 0 : -ENOMEM;
}

int vidx_verify(const char *out, int do_repair, char **report)
{
    VidxCatalog *cat;
    Problems p = {json_array(), NULL, 0, NULL, 0, 0};
    *report = NULL;
    int ret = vidx_catalog_open(&cat, out, 0);
    if (ret < 0) {
        json_decref(p.list);
        return ret;
    }
    ret = verify_rows(vidx__catalog_db(cat), out, &p);
    if (ret == 0 && do_repair && p.n)
        ret = repair(vidx__catalog_db(cat), out, &p);
    vidx_catalog_close(&cat);
    int count = (int)json_array_size(p.list);
    json_t *o = json_pack("{s:i, s:i, s:b, s:o}", "problems", count, "videos", (int)p.n, "repaired",
                          do_repair && ret == 0 && p.n, "list", p.list);
    free(p.videos);
    for (size_t i = 0; i < p.n_loc; i++)
        free(p.locations[i]);
    free(p.locations);
    if (ret == 0)
        ret = dump(o, report);
    else
        json_decref(o);
    return ret < 0 ? ret : count;
}

/* ---------------------------------------------------------------------- */
/* du and gc                                                               */
/* ---------------------------------------------------------------------- */

enum { K_FRAMES, K_SHARDS, K_OBJECTS, K_AUDIO, K_MANIFESTS, K_CATALOG, K_SCRATCH, K_OTHER, K_N };
static const char *const kind_names[K_N] = {"frames",    "shards",  "objects", "audio",
                                            "manifests", "catalog", "scratch", "other"};

static int kind_of(const char *rel)
{
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    if (!strncmp(rel, ".scratch", 8) || strstr(rel, "/.") || base[0] == '.')
        return K_SCRATCH;
    if (!strncmp(rel, "catalog.db", 10))
        return K_CATALOG;
    if (!strncmp(rel, "shards/", 7))
        return K_SHARDS;
    if (!strncmp(rel, "objects/", 8))
        return K_OBJECTS;
    if (!strcmp(base, "manifest.jsonl"))
        return K_MANIFESTS;
    if (!strncmp(base, "audio.", 6))
        return K_AUDIO;
    return !strncmp(rel, "frames/", 7) ? K_FRAMES : K_OTHER;
}

typedef int (*FileFn)(void *opaque, const char *rel, const struct stat *st);

/* Calls fn for every file under out/rel (depth first). */
static int walk(const char *out, const char *rel, FileFn fn, void *opaque)
{
    char path[PATH_MAX], sub[PATH_MAX];
    snprintf(path, sizeof(path), "%s%s%s", out, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    struct dirent *e;
    int ret = 0;
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while (ret == 0 && (e = readdir(d))) {
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (snprintf(path, sizeof(path), "%s/%s", out, sub) >= (int)sizeof(path) ||
            lstat(path, &st) < 0)
            continue;
        ret = S_ISDIR(st.st_mode) ? walk(out, sub, fn, opaque) : fn(opaque, sub, &st);
    }
    closedir(d);
    return ret;
}

typedef struct Usage {
    int64_t bytes[K_N], files[K_N];
} Usage;

static int count_file(void *opaque, const char *rel, const struct stat *st)
{
    Usage *u = opaque;
    int k = kind_of(rel);
    u->bytes[k] += (int64_t)st->st_blocks * 512;
    u->files[k]++;
    return 0;
}

int vidx_du(const char *out, char **report)
{
    Usage u = {0};
    struct stat st;
    *report = NULL;
    if (stat(out, &st) < 0)
        return -errno;
    int ret = walk(out, "", count_file, &u);
    if (ret < 0)
        return ret;
    json_t *o = json_object();
    int64_t total = 0, files = 0;
    for (int k = 0; k < K_N; k++) {
        json_object_set_new(o, kind_names[k],
                            json_pack("{s:I, s:I}", "bytes", (json_int_t)u.bytes[k], "files",
                                      (json_int_t)u.files[k]));
        total += u.bytes[k];
        files += u.files[k];
    }
    json_object_set_new(
        o, "total",
        json_pack("{s:I, s:I}", "bytes", (json_int_t)total, "files", (json_int_t)files));
    return dump(o, report);
}

typedef struct Gc {
    const char *out;
    sqlite3_stmt *frame, *audio, *video, *shard, *blob;
    int64_t removed, bytes;
    json_t *list;
} Gc;

static int referenced(sqlite3_stmt *st, const char *text)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
    return sqlite3_step(st) == SQLITE_ROW;
}

/* Is rel (a file under OUT) something the catalog points at? */
static int is_referenced(Gc *g, const char *rel)
{
    char key[256];
    switch (kind_of(rel)) {
    case K_CATALOG:
        return 1;
    case K_SCRATCH:
    case K_OTHER:
        return 0;
    case K_SHARDS:
        return referenced(g->shard, rel);
    case K_OBJECTS:
        return referenced(g->blob, rel);
    case K_AUDIO:
        return referenced(g->audio, rel);
    case K_MANIFESTS:
        if (sscanf(rel, "frames/%255[^/]/", key) != 1)
            return 0;
        return referenced(g->video, key);
    default:
        return referenced(g->frame, rel);
    }
}

static int gc_file(void *opaque, const char *rel, const struct stat *st)
{
    Gc *g = opaque;
    char path[PATH_MAX];
    if (is_referenced(g, rel))
        return 0;
    snprintf(path, sizeof(path), "%s/%s", g->out, rel);
    if (unlink(path) == 0) {
        g->removed++;
        g->bytes += st->st_size;
        if (json_array_size(g->list) < 1000)
            json_array_append_new(g->list, json_string(rel));
    }
    return 0;
}

static int prepare_gc(Gc *g, sqlite3 *db)
{
    static const char *const sql[] = {
        "SELECT 1 FROM frames WHERE location=?1 LIMIT 1",
        "SELECT 1 FROM audio WHERE path=?1",
        "SELECT 1 FROM videos WHERE key=?1 AND status IN ('ok','partial')",
        "SELECT 1 FROM shards WHERE name=?1",
        "SELECT 1 FROM blobs WHERE location=?1",
    };
    sqlite3_stmt **st[] = {&g->frame, &g->audio, &g->video, &g->shard, &g->blob};
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(sql); i++)
        if (sqlite3_prepare_v2(db, sql[i], -1, st[i], NULL) != SQLITE_OK)
            return VIDX_ECATALOG;
    return 0;
}

int vidx_gc(const char *out, char **report)
{
    VidxCatalog *cat;
    Gc g = {.out = out, .list = json_array()};
    char scratch[PATH_MAX];
    *report = NULL;
    int ret = vidx_catalog_open(&cat, out, 0);
    if (ret < 0) {
        json_decref(g.list);
        return ret;
    }
    ret = prepare_gc(&g, vidx__catalog_db(cat));
    if (ret == 0)
        ret = walk(out, "", gc_file, &g);
    snprintf(scratch, sizeof(scratch), "%s/.scratch", out);
    vidx__remove_tree(scratch);
    sqlite3_stmt *st[] = {g.frame, g.audio, g.video, g.shard, g.blob};
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(st); i++)
        sqlite3_finalize(st[i]);
    vidx_catalog_close(&cat);
    json_t *o = json_pack("{s:I, s:I, s:o}", "removed", (json_int_t)g.removed, "bytes",
                          (json_int_t)g.bytes, "files", g.list);
    return ret < 0 ? (json_decref(o), ret) : dump(o, report);
}
