/*
 * maintain.c - looking after an output directory: vidx verify (the catalog
 * against the disk), vidx du (space by kind) and vidx gc (what no catalog row
 * points at). All three read the catalog; only --repair and gc change it, and
 * they are writers: OUT must be a vidx output, and they hold its lock. gc
 * removes only names vidx makes in the folders it owns (store/owned.h),
 * never follows a symbolic link, and lists what it left alone. --repair
 * forgets the damaged videos in one catalog transaction and removes their
 * files only once that committed.
 *
 * This sits in batch/, above both the store (the files) and the catalog
 * (the rows): it is the one place that compares the two for a whole output.
 */
#include "core/internal.h"

#include <ctype.h>
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

#include "batch/maintain.h"
#include "catalog/bind.h"
#include "catalog/catalog.h"
#include "net/s3.h"
#include "store/fs.h"
#include "store/outdir.h"
#include "store/owned.h"

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
    size_t n_loc, cap_loc;
    int64_t *videos; /* ids with a problem */
    size_t n, cap;
} Problems;

static void add_problem(Problems *p, int64_t id, const char *video, const char *location,
                        const char *what)
{
    json_array_append_new(p->list, json_pack("{s:s?, s:s?, s:s}", "video", video, "location",
                                             location, "problem", what));
    if (location &&
        vidx__grow(&p->locations, &p->cap_loc, p->n_loc + 1, sizeof(*p->locations), 16) == 0 &&
        (p->locations[p->n_loc] = strdup(location)))
        p->n_loc++;
    if (p->n && p->videos[p->n - 1] == id)
        return;
    if (vidx__grow(&p->videos, &p->cap, p->n + 1, sizeof(*p->videos), 16) < 0)
        return;
    p->videos[p->n++] = id;
}

/* A rendition whose bytes are those of its folder (an HLS rung, the sprites). */
static const char *check_folder(const char *path, int64_t bytes)
{
    struct stat st;
    char dir[PATH_MAX];
    if (lstat(path, &st) < 0)
        return "missing";
    if (!S_ISREG(st.st_mode))
        return "not a regular file";
    snprintf(dir, sizeof(dir), "%s", path);
    *strrchr(dir, '/') = 0;
    return vidx__tree_size(dir) == bytes ? NULL : "size";
}

static const char *check_one(const char *out, const char *loc, int64_t offset, int64_t bytes,
                             const char *want)
{
    char path[PATH_MAX], got[65];
    if (!vidx__is_safe_relpath(loc))
        return "location outside the output";
    snprintf(path, sizeof(path), "%s/%s", out, loc);
    if (offset == -2)
        return check_folder(path, bytes);
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

typedef struct Verify {
    const char *out;
    Problems *p;
} Verify;

static int verify_one(void *opaque, const CatalogLocation *l)
{
    Verify *v = opaque;
    const char *bad = check_one(v->out, l->location, l->offset, l->bytes, l->checksum);
    if (bad)
        add_problem(v->p, l->video_id, l->video, l->location, bad);
    return 0;
}

/* Forgets the videos with problems (rows cascade) and the damaged blobs; keys[i]: video i's. */
static int forget(VidxCatalog *cat, const Problems *p, char (*keys)[96])
{
    int ret = vidx__catalog_begin(cat);
    for (size_t i = 0; ret == 0 && i < p->n; i++)
        ret = vidx__catalog_forget_video(cat, p->videos[i], keys[i], sizeof(keys[i]));
    for (size_t i = 0; ret == 0 && i < p->n_loc; i++) /* shared content is damaged for all */
        ret = vidx__catalog_forget_blob(cat, p->locations[i]);
    if (ret == 0)
        return vidx__catalog_commit(cat);
    vidx__catalog_rollback(cat);
    return ret;
}

/*
 * Forgets the videos with problems, then (only once that is committed)
 * removes their directories and the damaged blobs: the next run redoes them.
 * A catalog that refuses leaves every file where it was.
 */
static int repair(VidxCatalog *cat, const char *out, const Problems *p)
{
    char path[PATH_MAX], (*keys)[96] = calloc(p->n ? p->n : 1, sizeof(*keys));
    if (!keys)
        return -ENOMEM;
    int ret = forget(cat, p, keys);
    for (size_t i = 0; ret == 0 && i < p->n; i++) {
        const char *k = keys[i];
        if (k[0] && vidx__is_safe_relpath(k) && !strchr(k, '/')) { /* one folder under frames/ */
            snprintf(path, sizeof(path), "%s/frames/%s", out, k);
            vidx__remove_video_dir(path);
            snprintf(path, sizeof(path), "%s/transcode/%s", out, k);
            vidx__remove_rendition_tree(path);
        }
    }
    for (size_t i = 0; ret == 0 && i < p->n_loc; i++) {
        if (!strncmp(p->locations[i], "objects/", 8) && vidx__is_safe_relpath(p->locations[i])) {
            snprintf(path, sizeof(path), "%s/%s", out, p->locations[i]);
            unlink(path);
        }
    }
    free(keys);
    return ret;
}

int vidx__maint_dump(json_t *o, char **report)
{
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    *report = text ? av_strdup(text) : NULL;
    free(text);
    json_decref(o);
    return *report ? 0 : -ENOMEM;
}

/* A writer (gc, verify --repair) on out: a vidx output, and no other writer at once. */
static int writer(const char *out, const char *catalog, int wait, int *lock)
{
    int ret = vidx__outdir_check(out, "run");
    if (ret == 0) /* OUT and the catalog belong together: else nothing is touched */
        ret = vidx__catalog_check_at(out, catalog);
    return ret < 0 ? ret : vidx__outdir_lock(out, wait, lock);
}

int vidx_verify(const char *out, int do_repair, char **report)
{
    return vidx_verify_at(out, NULL, do_repair, report);
}

int vidx_verify_at(const char *out, const char *catalog, int do_repair, char **report)
{
    VidxCatalog *cat = NULL;
    Problems p = {.list = json_array()};
    int lock = -1;
    *report = NULL;
    if (vidx__s3_is_url(out)) {
        json_decref(p.list);
        return vidx__bucket_verify(out, catalog, do_repair, report);
    }
    int ret =
        do_repair ? writer(out, catalog, 0, &lock) : 0; /* without --repair: read-only, no lock */
    if (ret == 0)
        ret = vidx_catalog_open_at(&cat, out, catalog, !do_repair);
    if (ret == -ENOENT && !do_repair &&
        !catalog) /* vidx's, but a first run stopped before its catalog */
        ret = vidx__outdir_check(out, "run") == 0 ? 0 : ret;
    if (ret < 0) {
        vidx__outdir_unlock(&lock);
        json_decref(p.list);
        return ret;
    }
    Verify v = {out, &p};
    if (cat && !vidx__catalog_is_empty(cat)) /* one stopped at birth may have no tables */
        ret = vidx__catalog_locations(cat, verify_one, &v);
    if (ret == 0 && do_repair && p.n)
        ret = repair(cat, out, &p);
    vidx_catalog_close(&cat);
    vidx__outdir_unlock(&lock);
    int count = (int)json_array_size(p.list);
    json_t *o = json_pack("{s:i, s:i, s:b, s:o}", "problems", count, "videos", (int)p.n, "repaired",
                          do_repair && ret == 0 && p.n, "list", p.list);
    free(p.videos);
    for (size_t i = 0; i < p.n_loc; i++)
        free(p.locations[i]);
    free(p.locations);
    if (ret == 0)
        ret = vidx__maint_dump(o, report);
    else
        json_decref(o);
    return ret < 0 ? ret : count;
}

/* ---------------------------------------------------------------------- */
/* du and gc                                                               */
/* ---------------------------------------------------------------------- */

enum {
    K_FRAMES,
    K_SHARDS,
    K_OBJECTS,
    K_AUDIO,
    K_MANIFESTS,
    K_CATALOG,
    K_SCRATCH,
    K_RENDITIONS,
    K_OTHER,
    K_N
};
_Static_assert(K_N == VIDX_MAINT_KINDS, "maintain.h's count of kinds");
static const char *const kind_names[K_N] = {"frames",  "shards",     "objects",
                                            "audio",   "manifests",  "catalog",
                                            "scratch", "renditions", "other"};

/* A video's metadata vidx wrote beside its frames: manifest, shots, transcript, labels. */
static int is_metadata_name(const char *base)
{
    return !strcmp(base, "manifest.jsonl") || !strcmp(base, "scenes.json") ||
           !strncmp(base, "transcript.", 11) || !strcmp(base, "labels.json");
}

int vidx__maint_kind(const char *rel)
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
    if (!strncmp(rel, "transcode/", 10))
        return K_RENDITIONS;
    if (is_metadata_name(base))
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
    int k = vidx__maint_kind(rel);
    u->bytes[k] += (int64_t)st->st_blocks * 512;
    u->files[k]++;
    return 0;
}

int vidx_du(const char *out, char **report)
{
    return vidx_du_at(out, NULL, report);
}

/* du reads no catalog, but OUT's must be the one named (as for every command taking OUT). */
static int du_catalog(const char *out, const char *catalog)
{
    OutdirBinding ob;
    VidxCatalog *c = NULL;
    if (!catalog)
        return vidx__catalog_bind_check(out, NULL, &ob);
    int ret = vidx_catalog_open_at(&c, out, catalog, 1);
    vidx_catalog_close(&c);
    return ret;
}

int vidx_du_at(const char *out, const char *catalog, char **report)
{
    Usage u = {0};
    *report = NULL;
    if (vidx__s3_is_url(out))
        return vidx__bucket_du(out, catalog, report);
    int ret = vidx__outdir_check(out, "run");
    if (ret == 0)
        ret = du_catalog(out, catalog);
    if (ret == 0)
        ret = walk(out, "", count_file, &u);
    if (ret < 0)
        return ret;
    return vidx__maint_dump(vidx__maint_usage(u.bytes, u.files), report);
}

json_t *vidx__maint_usage(const int64_t *bytes, const int64_t *count)
{
    json_t *o = json_object();
    int64_t total = 0, files = 0;
    for (int k = 0; k < K_N; k++) {
        json_object_set_new(
            o, kind_names[k],
            json_pack("{s:I, s:I}", "bytes", (json_int_t)bytes[k], "files", (json_int_t)count[k]));
        total += bytes[k];
        files += count[k];
    }
    json_object_set_new(
        o, "total",
        json_pack("{s:I, s:I}", "bytes", (json_int_t)total, "files", (json_int_t)files));
    return o;
}

typedef struct Gc {
    const char *out;
    int dry_run;
    VidxCatalog *cat;
    int64_t removed, bytes;
    json_t *list, *left;
} Gc;

typedef int (*EntryFn)(Gc *g, const char *rel, const char *name, const struct stat *st);

/* Calls fn for every entry of OUT/rel (lstat: links are not followed). */
static int each_entry(Gc *g, const char *rel, EntryFn fn)
{
    char path[PATH_MAX], sub[PATH_MAX];
    struct dirent *e;
    struct stat st;
    int ret = 0;
    snprintf(path, sizeof(path), "%s%s%s", g->out, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while (ret == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (snprintf(path, sizeof(path), "%s/%s", g->out, sub) < (int)sizeof(path) &&
            lstat(path, &st) == 0)
            ret = fn(g, sub, e->d_name, &st);
    }
    closedir(d);
    return ret;
}

static int left_alone(Gc *g, const char *rel, const struct stat *st, const char *why)
{
    if (S_ISLNK(st->st_mode))
        why = "a symbolic link (never followed)";
    if (json_array_size(g->left) < 1000)
        json_array_append_new(g->left, json_pack("{s:s, s:s}", "path", rel, "why", why));
    return 0;
}

static int gc_remove(Gc *g, const char *rel, const struct stat *st)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", g->out, rel);
    if (!g->dry_run && unlink(path) < 0)
        return 0;
    g->removed++;
    g->bytes += st->st_size;
    if (json_array_size(g->list) < 1000)
        json_array_append_new(g->list, json_string(rel));
    return 0;
}

/* 1 when a catalog row points at name, 0 when none does, < 0 when the catalog cannot say. */
static int referenced(Gc *g, CatalogRef what, const char *name)
{
    return vidx__catalog_referenced(g->cat, what, name);
}

/* Removes rel unless keep (a catalog row points at it); stops on a catalog error. */
static int gc_unless(Gc *g, int keep, const char *rel, const struct stat *st)
{
    return keep < 0 ? keep : keep ? 0 : gc_remove(g, rel, st);
}

int vidx__maint_keep_video_file(VidxCatalog *cat, const char *rel, const char *name)
{
    char key[256];
    if (!vidx__is_video_file_name(name))
        return VIDX_ENOTOURS;
    if (vidx__is_scratch_name(name))
        return 0;
    if (is_metadata_name(name)) /* kept with its video */
        return sscanf(rel, "frames/%255[^/]/", key) == 1
                   ? vidx__catalog_referenced(cat, CATALOG_REF_VIDEO, key)
                   : 0;
    if (!strncmp(name, "audio.", 6))
        return vidx__catalog_referenced(cat, CATALOG_REF_AUDIO, rel);
    return vidx__catalog_referenced(cat, CATALOG_REF_FRAME, rel);
}

/* A file of frames/<key>/: a frame, metadata, the audio or a scratch name. */
static int gc_video_file(Gc *g, const char *rel, const char *name, const struct stat *st)
{
    int keep =
        S_ISREG(st->st_mode) ? vidx__maint_keep_video_file(g->cat, rel, name) : VIDX_ENOTOURS;
    if (keep == VIDX_ENOTOURS)
        return left_alone(g, rel, st, "not a name vidx makes");
    return gc_unless(g, keep, rel, st);
}

static int gc_frames_entry(Gc *g, const char *rel, const char *name, const struct stat *st)
{
    char path[PATH_MAX];
    if (!S_ISDIR(st->st_mode) || !vidx__is_key_name(name))
        return left_alone(g, rel, st, "not a name vidx makes");
    int ret = each_entry(g, rel, gc_video_file);
    snprintf(path, sizeof(path), "%s/%s", g->out, rel);
    if (!g->dry_run)
        rmdir(path); /* when that emptied it */
    return ret;
}

static int gc_blob(Gc *g, const char *rel, const char *name, const struct stat *st)
{
    char dir[3];
    snprintf(dir, sizeof(dir), "%.2s", rel + strlen("objects/"));
    if (!S_ISREG(st->st_mode) || !vidx__is_blob_name(dir, name))
        return left_alone(g, rel, st, "not a name vidx makes");
    return gc_unless(g, referenced(g, CATALOG_REF_BLOB, rel), rel, st);
}

static int gc_objects_entry(Gc *g, const char *rel, const char *name, const struct stat *st)
{
    if (!S_ISDIR(st->st_mode) || strlen(name) != 2 || !isxdigit((unsigned char)name[0]) ||
        !isxdigit((unsigned char)name[1]))
        return left_alone(g, rel, st, "not a name vidx makes");
    return each_entry(g, rel, gc_blob);
}

/* Shards are vidx's only when the catalog records them; gc never removes one. */
static int gc_shard(Gc *g, const char *rel, const char *name, const struct stat *st)
{
    int known = S_ISREG(st->st_mode) && vidx__is_shard_name(name)
                    ? referenced(g, CATALOG_REF_SHARD, rel)
                    : 0;
    if (known)
        return known < 0 ? known : 0;
    return left_alone(g, rel, st, "not a shard the catalog records");
}

/* OUT/.scratch is vidx's (and no run is using it): all of it goes, but links stay. */
static int gc_scratch(Gc *g, const char *rel, const char *name, const struct stat *st)
{
    char path[PATH_MAX];
    (void)name;
    if (S_ISLNK(st->st_mode))
        return left_alone(g, rel, st, "");
    if (!S_ISDIR(st->st_mode))
        return gc_remove(g, rel, st);
    int ret = each_entry(g, rel, gc_scratch);
    snprintf(path, sizeof(path), "%s/%s", g->out, rel);
    if (!g->dry_run)
        rmdir(path); /* when that emptied it */
    return ret;
}

/* A file under transcode/<key>/<preset>/ (a folder of it: walked); the preset's folder is kept
 * whole while a renditions row points into it. */
static int gc_rendition_file(Gc *g, const char *rel, const char *name, const struct stat *st)
{
    char preset[PATH_MAX];
    const char *third = strchr(strchr(rel + 10, '/') + 1, '/'); /* the '/' after <preset> */
    if (S_ISDIR(st->st_mode) && !strchr(third + 1, '/') && name[0] != '.') { /* a rung, sprites */
        int ret = each_entry(g, rel, gc_rendition_file);
        snprintf(preset, sizeof(preset), "%s/%s", g->out, rel);
        if (!g->dry_run)
            rmdir(preset); /* when that emptied it */
        return ret;
    }
    if (!S_ISREG(st->st_mode) || !vidx__is_rendition_file_name(name))
        return left_alone(g, rel, st, "not a name vidx makes");
    snprintf(preset, sizeof(preset), "%.*s", (int)(third - rel), rel);
    return gc_unless(g, referenced(g, CATALOG_REF_RENDITION, preset), rel, st);
}

/* transcode/<key>/ and transcode/<key>/<preset>/: folders vidx made, emptied ones removed. */
static int gc_transcode_entry(Gc *g, const char *rel, const char *name, const struct stat *st)
{
    char path[PATH_MAX];
    int depth = strchr(rel + 10, '/') ? 2 : 1;
    if (!S_ISDIR(st->st_mode) || (depth == 1 && !vidx__is_key_name(name)) || name[0] == '.')
        return left_alone(g, rel, st, "not a name vidx makes");
    int ret = each_entry(g, rel, depth == 1 ? gc_transcode_entry : gc_rendition_file);
    snprintf(path, sizeof(path), "%s/%s", g->out, rel);
    if (!g->dry_run)
        rmdir(path); /* when that emptied it */
    return ret;
}

static int gc_top(Gc *g, const char *rel, const char *name, const struct stat *st)
{
    static const char *const keep[] = {"catalog.db",         "catalog.db-wal",   "catalog.db-shm",
                                       "catalog.db-journal", VIDX_OUTDIR_MARKER, VIDX_OUTDIR_LOCK};
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(keep); i++)
        if (!strcmp(name, keep[i]) && S_ISREG(st->st_mode))
            return 0;
    if (S_ISDIR(st->st_mode) && !strcmp(name, ".scratch"))
        return gc_scratch(g, rel, name, st);
    if (S_ISDIR(st->st_mode) && !strcmp(name, "frames"))
        return each_entry(g, rel, gc_frames_entry);
    if (S_ISDIR(st->st_mode) && !strcmp(name, "objects"))
        return each_entry(g, rel, gc_objects_entry);
    if (S_ISDIR(st->st_mode) && !strcmp(name, "shards"))
        return each_entry(g, rel, gc_shard);
    if (S_ISDIR(st->st_mode) && !strcmp(name, "transcode"))
        return each_entry(g, rel, gc_transcode_entry);
    return left_alone(g, rel, st, "not a name vidx makes");
}

int vidx_gc(const char *out, int flags, char **report)
{
    return vidx_gc_at(out, NULL, flags, report);
}

int vidx_gc_at(const char *out, const char *catalog, int flags, char **report)
{
    VidxCatalog *cat = NULL;
    Gc g = {
        .out = out, .dry_run = flags & VIDX_GC_DRY_RUN, .list = json_array(), .left = json_array()};
    int lock = -1;
    *report = NULL;
    if (vidx__s3_is_url(out)) {
        json_decref(g.list);
        json_decref(g.left);
        return vidx__bucket_gc(out, catalog, flags, report);
    }
    int ret = writer(out, catalog, flags & VIDX_GC_WAIT, &lock);
    if (ret == 0)
        ret = vidx_catalog_open_at(&cat, out, catalog, 0);
    g.cat = cat;
    if (ret == 0)
        ret = each_entry(&g, "", gc_top);
    vidx_catalog_close(&cat);
    vidx__outdir_unlock(&lock);
    json_t *o =
        json_pack("{s:I, s:I, s:b, s:o, s:o}", "removed", (json_int_t)g.removed, "bytes",
                  (json_int_t)g.bytes, "dry_run", g.dry_run, "files", g.list, "left_alone", g.left);
    return ret < 0 ? (json_decref(o), ret) : vidx__maint_dump(o, report);
}
