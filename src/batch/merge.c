/*
 * merge.c - vidx merge: the outputs of several runs (the parts of a sharded
 * run, docs/CLUSTER.md) combined into one output directory, DEST.
 *
 * DESIGN
 * Every part is checked (a vidx run output, one layout, apart from DEST)
 * and locked before DEST is claimed, so a refusal touches nothing. The parts
 * are then read through the catalog ops (video_rows: each video as put()
 * takes it, with its frames, audio, shots, segments and labels) and each video is decided against
 * DEST's catalog: new, the same (skipped), or another version of it (the better status wins; a
 * conflict is reported). A video taken is placed in two steps: its files are hard-linked into DEST
 * under a scratch name and renamed into place (copied when the part is on another filesystem:
 * store/fs.h's copy, fsync'd), DEST's filesystem is synced, and only then are its rows committed
 * (crash-safe as a run: rows never point at files that are not durable; files a crash left without
 * rows are what gc removes, and a new merge replaces). Frames, audio, manifests, scenes.json,
 * transcripts and labels.json keep their names (the key is the video's); content-addressed objects
 * (--dedup-exact) too. A part's shard gets a name of its own in DEST, claimed
 * in DEST's catalog before the file is linked (the rule of store/shards.c);
 * the pairing (part, shard) -> DEST shard is kept in DEST's meta table with
 * the first video that uses it, so merging again reuses it. A shard is linked
 * only when it was closed at its committed size, so DEST's start-up recovery
 * (which rewrites the end blocks at that size) never changes the part's
 * bytes; otherwise its committed bytes are copied.
 */
#include "core/internal.h"

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

#include "catalog/catalog.h"
#include "catalog/migrate.h"
#include "core/path.h"
#include "store/fs.h"
#include "store/outdir.h"
#include "store/tar.h"

/* A shard of the part being merged: its committed size, and its name in DEST once linked. */
typedef struct PartShard {
    char name[64], dest[64];
    int64_t size, samples; /* samples: frames DEST's rows point at in it */
    int linked;            /* linked (or copied) into DEST by this merge: its row is ours to set */
    int fresh;             /* ... and its pairing not committed yet */
    int touched;           /* the video being committed has frames in it */
} PartShard;

typedef struct Merge {
    const char *dest;
    VidxCatalog *cat;
    const char *part; /* the part being read, and its canonical path */
    char *canon;
    PartShard *shards;
    size_t n_shards, cap_shards;
    int next_index; /* where to look for a free shard name in DEST */
    int64_t merged, skipped, replaced, part_merged, part_skipped;
    int64_t files_linked, files_copied, bytes_linked, bytes_copied, shards_renamed;
    json_t *conflicts;
} Merge;

static int rank(VidxVideoStatus s)
{
    return (unsigned)s <= VIDX_VIDEO_TIMEOUT ? (int)s : VIDX_VIDEO_TIMEOUT + 1;
}

/* ---------------------------------------------------------------------- */
/* Files                                                                   */
/* ---------------------------------------------------------------------- */

/* Copies len bytes of src (the whole file: len < 0) to the new file tmp, durably. */
static int copy_file(const char *src, const char *tmp, int64_t len, int end_tar)
{
    struct stat st;
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), ret = 0;
    if (in < 0)
        return -errno;
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0 || fstat(in, &st) < 0)
        ret = -errno;
    if (ret == 0)
        ret = vidx__copy_range(in, 0, out, 0, len >= 0 ? len : (int64_t)st.st_size);
    if (ret == 0 && end_tar)
        ret = vidx__tar_end_at(out, len);
    if (ret == 0 && fsync(out) < 0)
        ret = -errno;
    close(in);
    if (out >= 0)
        close(out);
    if (ret < 0)
        unlink(tmp);
    return ret;
}

/*
 * Puts part/src at DEST/dst: a hard link, or a copy (of its first len bytes,
 * ended as a tar, when len >= 0) where linking is not possible or, for a
 * shard, not safe. keep: an existing dst is left (content-addressed).
 */
static int place(Merge *m, const char *src_rel, const char *dst_rel, int64_t len, int keep)
{
    char src[PATH_MAX], dst[PATH_MAX], tmp[2 * PATH_MAX], dir[PATH_MAX];
    struct stat s, d;
    snprintf(src, sizeof(src), "%s/%s", m->part, src_rel);
    snprintf(dst, sizeof(dst), "%s/%s", m->dest, dst_rel);
    if (lstat(src, &s) < 0 || !S_ISREG(s.st_mode)) {
        vidx__log(VIDX_LOG_ERROR,
                  "%s: listed in its catalog but not a file (check the part with "
                  "vidx verify); not merged",
                  src);
        return VIDX_EUSAGE;
    }
    if (lstat(dst, &d) == 0 && (keep || (d.st_dev == s.st_dev && d.st_ino == s.st_ino)))
        return 0; /* there already */
    const char *slash = strrchr(dst_rel, '/');
    snprintf(dir, sizeof(dir), "%s/%.*s", m->dest, slash ? (int)(slash - dst_rel) : 0, dst_rel);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, slash ? slash + 1 : dst_rel);
    int ret = vidx__mkdirs(dir);
    unlink(tmp); /* a scratch name: a crashed merge's */
    int linked =
        ret == 0 && (len < 0 || s.st_size == len + 2 * VIDX_TAR_BLOCK) && link(src, tmp) == 0;
    if (ret == 0 && !linked)
        ret = copy_file(src, tmp, len, len >= 0);
    if (ret == 0 && rename(tmp, dst) < 0) {
        ret = -errno;
        unlink(tmp);
    }
    if (ret < 0) {
        vidx__log(VIDX_LOG_ERROR, "%s: cannot place it in %s: %s", src, m->dest,
                  vidx_strerror(ret));
        return ret;
    }
    int64_t bytes = len >= 0 ? len : (int64_t)s.st_size;
    *(linked ? &m->files_linked : &m->files_copied) += 1;
    *(linked ? &m->bytes_linked : &m->bytes_copied) += bytes;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Shards                                                                  */
/* ---------------------------------------------------------------------- */

static int add_part_shard(void *opaque, const char *name, int64_t size)
{
    Merge *m = opaque;
    if (vidx__grow(&m->shards, &m->cap_shards, m->n_shards + 1, sizeof(*m->shards), 16) < 0)
        return -ENOMEM;
    PartShard *ps = &m->shards[m->n_shards++];
    memset(ps, 0, sizeof(*ps));
    snprintf(ps->name, sizeof(ps->name), "%s", name);
    ps->size = size;
    return 0;
}

static PartShard *find_shard(Merge *m, const char *name)
{
    for (size_t i = 0; i < m->n_shards; i++)
        if (!strcmp(m->shards[i].name, name))
            return &m->shards[i];
    return NULL;
}

/* The meta key that pairs a part's shard with its name in DEST. */
static void pairing_key(const Merge *m, const PartShard *ps, char *key, size_t size)
{
    snprintf(key, size, "merge:%s:%s", m->canon, ps->name);
}

/* A name for ps in DEST, claimed in DEST's catalog, and the file linked or copied there. */
static int new_dest_shard(Merge *m, PartShard *ps)
{
    for (int tries = 0; tries < 100000; tries++) {
        char name[64];
        if (tries == 0)
            snprintf(name, sizeof(name), "%s", ps->name); /* its own name, when free */
        else
            snprintf(name, sizeof(name), "shards/%06d.tar", m->next_index++);
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", m->dest, name);
        if (lstat(path, &st) == 0) /* a file of that name (vidx's or not): another name */
            continue;
        int ret = vidx__catalog_shard_claim(m->cat, name, 1);
        if (ret == -EEXIST)
            continue;
        if (ret == 0 && (ret = place(m, ps->name, name, ps->size, 0)) < 0)
            vidx__catalog_shard_claim(m->cat, name, 0);
        if (ret < 0)
            return ret;
        snprintf(ps->dest, sizeof(ps->dest), "%s", name);
        m->shards_renamed += strcmp(name, ps->name) != 0;
        ps->linked = ps->fresh = 1;
        return 0;
    }
    return -EEXIST;
}

/* ps's name in DEST: paired by an earlier merge, or linked now. */
static int dest_shard(Merge *m, PartShard *ps)
{
    char key[PATH_MAX + 128];
    if (ps->dest[0])
        return 0;
    pairing_key(m, ps, key, sizeof(key));
    int found = vidx__catalog_meta_get(m->cat, key, ps->dest, sizeof(ps->dest));
    if (found < 0)
        return found;
    if (found && vidx__catalog_referenced(m->cat, CATALOG_REF_SHARD, ps->dest) == 1)
        return 0;
    ps->dest[0] = 0;
    return new_dest_shard(m, ps);
}

/* ---------------------------------------------------------------------- */
/* One video                                                               */
/* ---------------------------------------------------------------------- */

/*
 * A location a part's catalog (untrusted) may name: inside OUT, and in one of
 * the folders where vidx puts outputs (never catalog.db, the marker, ...).
 */
static int in_vidx_folder(const char *rel)
{
    return vidx__is_safe_relpath(rel) &&
           (!strncmp(rel, "frames/", 7) || !strncmp(rel, "objects/", 8) ||
            !strncmp(rel, "shards/", 7));
}

/* The location of frame f in DEST (a part's shard renamed), or NULL (refused: logged). */
static const char *dest_location(Merge *m, const CatalogFrame *f, PartShard **shard)
{
    *shard = NULL;
    if (!in_vidx_folder(f->location)) {
        vidx__log(VIDX_LOG_ERROR, "%s: a catalog row names '%s', not a vidx file; not merged",
                  m->part, f->location);
        return NULL;
    }
    if (strncmp(f->location, "shards/", 7))
        return f->location;
    if (!(*shard = find_shard(m, f->location))) {
        vidx__log(VIDX_LOG_ERROR, "%s: frame rows point into %s, which its catalog does not list",
                  m->part, f->location);
        return NULL;
    }
    return dest_shard(m, *shard) == 0 ? (*shard)->dest : NULL;
}

/* The metadata files vidx writes beside a video's frames, those the part has, into DEST. */
static int place_metadata(Merge *m, const char *key)
{
    static const char *const names[] = {"manifest.jsonl", "scenes.json",    "transcript.json",
                                        "transcript.srt", "transcript.vtt", "labels.json"};
    char path[2 * PATH_MAX], rel[PATH_MAX];
    struct stat st;
    int ret = 0;
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(names) && ret >= 0; i++) {
        snprintf(rel, sizeof(rel), "frames/%s/%s", key, names[i]);
        snprintf(path, sizeof(path), "%s/%s", m->part, rel);
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
            ret = place(m, rel, rel, -1, 0);
    }
    return ret;
}

/* Links (or copies) v's files into DEST and fills frames with their DEST locations. */
static int place_video(Merge *m, const CatalogVideo *v, CatalogFrame *frames)
{
    if (!v->key[0] || strchr(v->key, '/') || !strcmp(v->key, "..") || !strcmp(v->key, ".")) {
        vidx__log(VIDX_LOG_ERROR,
                  "%s: %s: the catalog gives it the key '%s', not a name; not merged", m->part,
                  v->path, v->key);
        return VIDX_EUSAGE;
    }
    if (v->audio_path && !in_vidx_folder(v->audio_path)) {
        vidx__log(VIDX_LOG_ERROR, "%s: a catalog row names '%s', not a vidx file; not merged",
                  m->part, v->audio_path);
        return VIDX_EUSAGE;
    }
    for (size_t i = 0; i < v->n_frames; i++) {
        PartShard *ps;
        frames[i] = v->frames[i];
        if (!v->frames[i].location)
            continue;
        if (!(frames[i].location = dest_location(m, &v->frames[i], &ps)))
            return VIDX_EUSAGE;
        int ret = ps ? 0
                     : place(m, v->frames[i].location, v->frames[i].location, -1,
                             !strncmp(v->frames[i].location, "objects/", 8));
        if (ret < 0)
            return ret;
    }
    int ret = v->audio_path ? place(m, v->audio_path, v->audio_path, -1, 0) : 0;
    if (ret < 0)
        return ret;
    return place_metadata(m, v->key);
}

/* Commits v (frames at their DEST locations) with the shards it made or grew. */
static int commit_video(Merge *m, const CatalogVideo *v, const CatalogFrame *frames)
{
    CatalogVideo d = *v;
    char key[PATH_MAX + 128];
    d.frames = frames;
    int ret = vidx__catalog_begin(m->cat);
    for (size_t i = 0; i < v->n_frames && ret == 0; i++) {
        PartShard *ps = frames[i].location ? find_shard(m, v->frames[i].location) : NULL;
        if (ps && ps->linked)
            ps->samples++, ps->touched = 1;
    }
    for (size_t i = 0; i < m->n_shards && ret == 0; i++) {
        PartShard *ps = &m->shards[i];
        if (!ps->touched) /* a shard an earlier merge brought: its row is committed already */
            continue;
        pairing_key(m, ps, key, sizeof(key));
        if (ps->fresh && (ret = vidx__catalog_meta_put(m->cat, key, ps->dest)) < 0)
            break;
        ret = vidx__catalog_shard_set(m->cat, ps->dest, ps->size, ps->samples);
    }
    if (ret == 0)
        ret = vidx__catalog_put(m->cat, &d);
    if (ret == 0)
        ret = vidx__catalog_commit(m->cat);
    for (size_t i = 0; i < m->n_shards; i++) { /* a failure ends the merge: no undoing */
        m->shards[i].fresh &= ret < 0;
        m->shards[i].touched = 0;
    }
    if (ret < 0)
        vidx__catalog_rollback(m->cat);
    return ret;
}

static void conflict(Merge *m, const CatalogVideo *v, const CatalogPrior *p, int taken)
{
    const char *why = strcmp(p->fingerprint, v->fingerprint ? v->fingerprint : "")
                          ? "different file"
                      : strcmp(p->options, v->options ? v->options : "") ? "different options"
                                                                         : "different status";
    json_t *c = json_object();
    json_object_set_new(c, "path", json_string(v->path));
    json_object_set_new(c, "part", json_string(m->part));
    json_object_set_new(c, "why", json_string(why));
    json_object_set_new(c, "kept", json_string(taken ? "part" : "dest"));
    json_object_set_new(c, "status_dest", json_string(vidx_video_status_name(p->status)));
    json_object_set_new(c, "status_part", json_string(vidx_video_status_name(v->status)));
    json_array_append_new(m->conflicts, c);
    vidx__log(VIDX_LOG_WARNING, "%s: in %s (%s) and in %s (%s), %s: kept %s's", v->path, m->dest,
              vidx_video_status_name(p->status), m->part, vidx_video_status_name(v->status), why,
              taken ? m->part : m->dest);
}

/* Whether v goes into DEST: new there, or a better version of what DEST has. */
static int wanted(Merge *m, const CatalogVideo *v, int *ret)
{
    CatalogPrior p;
    if ((*ret = vidx__catalog_prior(m->cat, v->path, &p)) < 0 || !p.found)
        return *ret == 0;
    int same = !strcmp(p.fingerprint, v->fingerprint ? v->fingerprint : "") &&
               !strcmp(p.options, v->options ? v->options : "");
    int better = rank(v->status) < rank(p.status);
    if (!same || rank(v->status) != rank(p.status))
        conflict(m, v, &p, better);
    return better;
}

static int merge_video(void *opaque, const CatalogVideo *v)
{
    Merge *m = opaque;
    int ret = 0;
    if (!v->path || !v->key || !wanted(m, v, &ret)) {
        m->skipped += ret == 0, m->part_skipped += ret == 0;
        return ret;
    }
    CatalogFrame *frames = calloc(v->n_frames ? v->n_frames : 1, sizeof(*frames));
    if (!frames)
        return -ENOMEM;
    if ((ret = place_video(m, v, frames)) == 0 && (ret = vidx__sync_dir_fs(m->dest)) == 0) {
        vidx__fault("merge");
        ret = commit_video(m, v, frames);
    }
    free(frames);
    if (ret == 0)
        m->merged++, m->part_merged++;
    return ret;
}

/* ---------------------------------------------------------------------- */
/* Parts and DEST                                                          */
/* ---------------------------------------------------------------------- */

/* part's layout ("" when it has recorded none yet); VIDX_ENOTOURS etc. when not a run output. */
static int part_layout(const char *part, char *layout, size_t size)
{
    VidxCatalog *c = NULL;
    char schema[16] = "";
    int ret = vidx__outdir_check(part, "run");
    if (ret == -ENOENT)
        vidx__log(VIDX_LOG_ERROR, "%s: no such directory", part);
    if (ret == 0 && (ret = vidx_catalog_open(&c, part, 1)) == 0) {
        layout[0] = 0;
        int found = vidx__catalog_meta_get(c, "layout", layout, size);
        int has_schema = vidx__catalog_meta_get(c, "schema", schema, sizeof(schema));
        ret = found < 0 ? found : has_schema < 0 ? has_schema : 0;
        if (ret == 0 && found && atoi(schema) != VIDX_CATALOG_SCHEMA) {
            vidx__log(VIDX_LOG_ERROR,
                      "%s: catalog schema %s, not %d: upgrade it first (vidx "
                      "verify --repair %s)",
                      part, has_schema ? schema : "1", VIDX_CATALOG_SCHEMA, part);
            ret = VIDX_EUSAGE;
        }
    }
    vidx_catalog_close(&c);
    return ret;
}

/* Every part a vidx run output with one layout, apart from DEST; *layout: theirs. */
/* VIDX_EUSAGE (logged) when one directory is given twice among the parts (any spelling). */
static int check_distinct(const char *const *parts, size_t n)
{
    char **canon = calloc(n, sizeof(*canon));
    int ret = canon ? 0 : -ENOMEM;
    for (size_t i = 0; i < n && ret == 0; i++)
        if (!(canon[i] = vidx__path_canonical(parts[i], NULL)))
            ret = -ENOMEM;
    for (size_t i = 0; i < n && ret == 0; i++)
        for (size_t j = i + 1; j < n && ret == 0; j++)
            if (!strcmp(canon[i], canon[j])) {
                vidx__log(VIDX_LOG_ERROR, "%s and %s: one directory given twice", parts[i],
                          parts[j]);
                ret = VIDX_EUSAGE;
            }
    for (size_t i = 0; canon && i < n; i++)
        free(canon[i]);
    free(canon);
    return ret;
}

/* A part with renditions (vidx run --transcode) is refused: merge does not carry them yet, and a
 * merged video without them would be skipped by a rerun of the same command. */
static int no_renditions(const char *part)
{
    VidxCatalog *c = NULL;
    int64_t videos = 0, files = 0, bytes = 0;
    int ret = vidx_catalog_open(&c, part, 1);
    if (ret == 0 && !vidx__catalog_is_empty(c))
        ret = vidx__catalog_rendition_counts(c, &videos, &files, &bytes);
    vidx_catalog_close(&c);
    if (ret == 0 && files) {
        vidx__log(VIDX_LOG_ERROR,
                  "%s: %lld videos have renditions (vidx run --transcode), which vidx merge does "
                  "not carry yet; nothing was merged",
                  part, (long long)videos);
        ret = VIDX_EUSAGE;
    }
    return ret == -ENOENT ? 0 : ret;
}

static int check_parts(const char *dest, const char *const *parts, size_t n, char *layout)
{
    int ret = vidx__outdir_overlaps(dest, parts, n);
    const char *first = NULL;
    if (ret == 0)
        ret = check_distinct(parts, n);
    for (size_t i = 0; i < n && ret == 0; i++) {
        char l[16];
        if ((ret = part_layout(parts[i], l, sizeof(l))) < 0 ||
            (ret = no_renditions(parts[i])) < 0 || !l[0])
            continue;
        if (first && strcmp(l, layout)) {
            vidx__log(VIDX_LOG_ERROR, "%s: layout %s, but %s has %s: parts must share one",
                      parts[i], l, first, layout);
            ret = VIDX_EUSAGE;
        }
        memcpy(layout, l, sizeof(l)), first = parts[i];
    }
    return ret;
}

static int merge_part(Merge *m, const char *part, json_t *report)
{
    VidxCatalog *c = NULL;
    m->part = part;
    m->n_shards = 0;
    m->part_merged = m->part_skipped = 0;
    if (!(m->canon = vidx__path_canonical(part, NULL)))
        return -ENOMEM;
    int ret = vidx_catalog_open(&c, part, 1);
    if (ret == 0 && (ret = vidx__catalog_shards(c, add_part_shard, m)) == 0)
        ret = vidx__catalog_video_rows(c, merge_video, m);
    vidx_catalog_close(&c);
    free(m->canon);
    m->canon = NULL;
    json_array_append_new(report, json_pack("{s:s, s:I, s:I}", "part", part, "merged",
                                            (json_int_t)m->part_merged, "skipped",
                                            (json_int_t)m->part_skipped));
    return ret;
}

static int dump(Merge *m, json_t *parts, char **report)
{
    json_t *o = json_pack(
        "{s:s, s:I, s:I, s:I, s:O, s:I, s:I, s:I, s:I, s:I, s:o}", "dest", m->dest, "merged",
        (json_int_t)m->merged, "skipped", (json_int_t)m->skipped, "conflict_count",
        (json_int_t)json_array_size(m->conflicts), "conflicts", m->conflicts, "files_linked",
        (json_int_t)m->files_linked, "files_copied", (json_int_t)m->files_copied, "bytes_linked",
        (json_int_t)m->bytes_linked, "bytes_copied", (json_int_t)m->bytes_copied, "shards_renamed",
        (json_int_t)m->shards_renamed, "parts", json_incref(parts));
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    *report = text ? av_strdup(text) : NULL;
    free(text);
    json_decref(o);
    return *report ? 0 : -ENOMEM;
}

static void unlock_parts(int *locks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        vidx__outdir_unlock(&locks[i]);
    free(locks);
}

int vidx_merge(const char *dest, const char *const *parts, size_t n, char **report)
{
    Merge m = {.dest = dest};
    char layout[32] = "";
    int dest_lock = -1, ret;
    if (report)
        *report = NULL;
    if (!dest || !parts || !n || !report)
        return VIDX_EUSAGE;
    int *locks = malloc(n * sizeof(*locks));
    if (!locks)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        locks[i] = -1;
    ret = check_parts(dest, parts, n, layout);
    for (size_t i = 0; i < n && ret == 0; i++) /* no run writes to a part while it is read */
        ret = vidx__outdir_lock(parts[i], 0, &locks[i]);
    if (ret == 0 && (ret = vidx__outdir_claim(dest, "run")) == 0)
        ret = vidx__outdir_lock(dest, 0, &dest_lock);
    if (ret == 0)
        ret = vidx_catalog_open(&m.cat, dest, 0);
    if (ret == 0 && layout[0])
        ret = vidx__catalog_layout(m.cat, layout);
    json_t *per_part = json_array();
    m.conflicts = json_array();
    for (size_t i = 0; i < n && ret == 0; i++)
        ret = merge_part(&m, parts[i], per_part);
    if (m.cat && dump(&m, per_part, report) < 0 && ret == 0)
        ret = -ENOMEM;
    json_decref(per_part);
    json_decref(m.conflicts);
    free(m.shards);
    vidx_catalog_close(&m.cat);
    vidx__outdir_unlock(&dest_lock);
    unlock_parts(locks, n);
    return ret;
}
