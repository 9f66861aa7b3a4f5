/*
 * inputs.c - what a run processes. Every input is named by its canonical
 * path (core/path.h), so one file is one video however it was typed.
 *
 * Directories are walked recursively, hidden entries skipped. A walk visits
 * each directory once (by device and inode: no cycle, bind mount or OUT is
 * entered twice) and does not follow symlinks unless asked to. Its files are
 * videos when kind.c says so; photos, audio-only files (unless asked for)
 * and everything else are counted by kind and left out. Files named explicitly (on the command
 * line or in a list) are always taken: if they are not videos, the run
 * records why.
 *
 * An @list holds one input per line ('#' starts a comment line); relative
 * names in it are taken against the list's own directory ("-", stdin, and
 * other pipes: against the current one). Lists may include lists up to VIDX_LIST_DEPTH
 * deep; a list that includes itself, directly or through others, is refused.
 *
 * An s3://bucket/prefix/ (or s3://bucket) is listed like a directory walk:
 * every object under the prefix, at any depth, keys with a hidden component
 * ('.' first) and "folder" markers (keys ending in '/') skipped, kinds told by
 * the extension alone (an object is not read to be sorted). An s3:// URL that
 * does not end in '/' names one object, taken as a file named explicitly.
 */
#include "batch/inputs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch/kind.h"
#include "core/internal.h"
#include "net/s3.h"

/* A list being read, for cycle and depth checks. */
typedef struct ListFrame {
    FileId id;
    int has_id;
    const char *name;
} ListFrame;

typedef struct Expand {
    InputList *l;
    FileIdSet dirs; /* directories walked (and OUT) */
    ListFrame lists[VIDX_LIST_DEPTH];
    int depth;
} Expand;

/* Adds path (taken over, freed on failure); st: its stat when it is a regular file. */
static int add(InputList *l, char *path, const struct stat *st)
{
    if (vidx__grow(&l->items, &l->cap, l->n + 1, sizeof(*l->items), 64) < 0) {
        free(path);
        return -ENOMEM;
    }
    InputEntry *e = &l->items[l->n++];
    e->path = path;
    e->has_id = st && S_ISREG(st->st_mode);
    e->id = e->has_id ? (FileId){st->st_dev, st->st_ino} : (FileId){0, 0};
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Directory walks                                                          */
/* ---------------------------------------------------------------------- */

static int walk(Expand *e, const char *dir, int depth);

static void count_kind(InputList *l, InputKind k)
{
    if (k == INPUT_IMAGE)
        l->n_image++;
    else if (k == INPUT_AUDIO)
        l->n_audio++;
    else
        l->n_other++;
}

/* A directory entry that is a symlink: its target's canonical path, or NULL (skipped). */
static char *follow(Expand *e, const char *path, struct stat *st)
{
    char *real = e->l->follow_symlinks ? realpath(path, NULL) : NULL;
    if (real && stat(real, st) == 0)
        return real;
    free(real);
    e->l->n_symlinks++;
    return NULL;
}

/* Walks into dir (canonical) unless it was walked already or is OUT. */
static int enter(Expand *e, const char *dir, const struct stat *st, int depth)
{
    int fresh = vidx__fileid_add(&e->dirs, (FileId){st->st_dev, st->st_ino});
    if (fresh <= 0)
        return fresh; /* seen: a cycle, a second name, or OUT */
    if (depth > VIDX_WALK_DEPTH) {
        vidx__log(VIDX_LOG_ERROR, "%s: more than %d directory levels deep: not walked", dir,
                  VIDX_WALK_DEPTH);
        return 0;
    }
    return walk(e, dir, depth);
}

static int walk_entry(Expand *e, const char *dir, const char *name, int depth)
{
    struct stat st;
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    if (!path)
        return -ENOMEM;
    sprintf(path, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);
    if (lstat(path, &st) < 0) {
        free(path); /* vanished since the listing */
        return 0;
    }
    if (S_ISLNK(st.st_mode)) { /* from here on it is its target */
        char *real = follow(e, path, &st);
        free(path);
        if (!(path = real))
            return 0;
        name = strrchr(path, '/') + 1;
    }
    int ret = 0;
    if (S_ISDIR(st.st_mode))
        ret = enter(e, path, &st, depth + 1);
    else if (!S_ISREG(st.st_mode))
        e->l->n_other++; /* FIFOs, sockets, devices */
    else {
        InputKind k = vidx__input_kind(path, name);
        if (k == INPUT_VIDEO || (k == INPUT_AUDIO && e->l->audio_files))
            return add(e->l, path, &st);
        count_kind(e->l, k);
    }
    free(path);
    return ret;
}

static int walk(Expand *e, const char *dir, int depth)
{
    struct dirent **ents;
    int ret = 0;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0) {
        ret = -errno;
        vidx__log(VIDX_LOG_ERROR, "%s: cannot list the directory: %s", dir, strerror(errno));
        return ret;
    }
    for (int i = 0; i < n; i++) {
        if (ret == 0 && ents[i]->d_name[0] != '.')
            ret = walk_entry(e, dir, ents[i]->d_name, depth);
        free(ents[i]);
    }
    free(ents);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* Buckets                                                                  */
/* ---------------------------------------------------------------------- */

typedef struct BucketWalk {
    InputList *l;
    const char *bucket;
} BucketWalk;

static int bucket_entry(void *opaque, const char *key, int64_t size, const char *etag)
{
    BucketWalk *w = opaque;
    const char *name = strrchr(key, '/');
    (void)size;
    (void)etag;
    name = name ? name + 1 : key;
    if (!*name || key[0] == '.' || strstr(key, "/."))
        return 0; /* a folder marker, or hidden */
    InputKind k = vidx__input_kind_by_name(name);
    if (k == INPUT_VIDEO || (k == INPUT_AUDIO && w->l->audio_files)) {
        char *path;
        if (asprintf(&path, "s3://%s/%s", w->bucket, key) < 0)
            return -ENOMEM;
        return add(w->l, path, NULL);
    }
    count_kind(w->l, k);
    return 0;
}

/* s3://bucket/prefix/: every object under it, as a walk (see the top). */
static int walk_bucket(Expand *e, const char *url)
{
    char *bucket, *prefix;
    S3 *s3 = NULL;
    int ret = vidx__s3_parse(url, &bucket, &prefix);
    if (ret == 0)
        ret = vidx__s3_open(&s3);
    if (ret == 0) {
        BucketWalk w = {e->l, bucket};
        ret = vidx__s3_list(s3, bucket, prefix, bucket_entry, &w);
    }
    if (ret < 0 && ret != -ENOMEM)
        vidx__log(VIDX_LOG_ERROR, "%s: cannot list the bucket: %s", url, vidx_error_detail(ret));
    vidx__s3_close(&s3);
    free(bucket);
    free(prefix);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* Lists                                                                   */
/* ---------------------------------------------------------------------- */

static int expand_one(Expand *e, const char *in, const char *base, int top);

static int add_lines(Expand *e, FILE *f, const char *base)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int ret = 0;
    while (ret == 0 && (len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0 || line[0] == '#')
            continue;
        ret = expand_one(e, line, base, 0);
    }
    free(line);
    return ret;
}

/* Refuses a list that is already being read (a cycle) or one level too deep. */
static int check_list(const Expand *e, const ListFrame *fr)
{
    const char *parent = e->depth ? e->lists[e->depth - 1].name : NULL;
    for (int i = 0; i < e->depth && fr->has_id; i++) {
        const ListFrame *o = &e->lists[i];
        if (o->has_id && o->id.dev == fr->id.dev && o->id.ino == fr->id.ino) {
            vidx__log(VIDX_LOG_ERROR,
                      "@%s: included by the list %s while it is already being read (as %s): a "
                      "list may not include itself, directly or through other lists",
                      fr->name, parent, o->name);
            return VIDX_EUSAGE;
        }
    }
    if (e->depth == VIDX_LIST_DEPTH) {
        vidx__log(VIDX_LOG_ERROR, "@%s: lists nested more than %d deep (included by %s)", fr->name,
                  VIDX_LIST_DEPTH, parent);
        return VIDX_EUSAGE;
    }
    return 0;
}

/*
 * Reads list f named name. Its relative lines are taken against base when it
 * is a regular file; a pipe (stdin, @<(ls ...)) has no directory of its own,
 * its lines are taken against the current one.
 */
static int read_list(Expand *e, FILE *f, const char *name, const char *base)
{
    struct stat st;
    ListFrame fr = {.name = name};
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        fr.id = (FileId){st.st_dev, st.st_ino};
        fr.has_id = 1;
    }
    int ret = check_list(e, &fr);
    if (ret < 0)
        return ret;
    e->lists[e->depth++] = fr;
    ret = add_lines(e, f, fr.has_id ? base : NULL);
    e->depth--;
    return ret;
}

static int open_list(Expand *e, const char *name, const char *base)
{
    char *path = vidx__path_canonical(name, base);
    if (!path)
        return -ENOMEM;
    FILE *f = fopen(path, "r");
    int ret = -errno;
    if (!f) {
        vidx__log(VIDX_LOG_ERROR, "@%s: cannot read the list: %s", path, strerror(errno));
        free(path);
        return ret;
    }
    char *dir = strdup(path);
    if (dir) {
        char *slash = strrchr(dir, '/');
        slash[slash == dir] = 0; /* "/l.txt" -> "/" */
        ret = read_list(e, f, path, dir);
    }
    fclose(f);
    free(dir);
    free(path);
    return dir ? ret : -ENOMEM;
}

/* ---------------------------------------------------------------------- */
/* Inputs                                                                  */
/* ---------------------------------------------------------------------- */

/* One input, relative to base (NULL: the current directory); top: from the command line. */
static int expand_one(Expand *e, const char *in, const char *base, int top)
{
    struct stat st;
    if (top && !strcmp(in, "-"))
        return read_list(e, stdin, "-", NULL);
    if (in[0] == '@')
        return open_list(e, in + 1, base);
    if (vidx__s3_is_url(in) &&
        (strlen(in) == strcspn(in + 5, "/") + 5 || in[strlen(in) - 1] == '/'))
        return walk_bucket(e, in);
    char *path = vidx__path_canonical(in, base);
    if (!path)
        return -ENOMEM;
    int found = !vidx__is_url(path) && stat(path, &st) == 0;
    if (found && S_ISDIR(st.st_mode) && !(strlen(in) > 4 && vidx__video_extension(in))) {
        int ret = enter(e, path, &st, 0);
        free(path);
        return ret;
    }
    /* files, URLs, and missing paths (recorded as failures) */
    return add(e->l, path, found ? &st : NULL);
}

int vidx__inputs_expand(InputList *l, const char *const *inputs, size_t n, const char *skip)
{
    Expand e = {.l = l};
    struct stat st;
    int ret = 0;
    if (skip && stat(skip, &st) == 0) /* OUT: never walked */
        ret = vidx__fileid_add(&e.dirs, (FileId){st.st_dev, st.st_ino});
    for (size_t i = 0; i < n && ret >= 0; i++)
        ret = expand_one(&e, inputs[i], NULL, 1);
    if (ret == -ENOMEM)
        vidx__log(VIDX_LOG_ERROR, "expanding the inputs: %s", strerror(ENOMEM));
    vidx__fileid_free(&e.dirs);
    return ret < 0 ? ret : 0;
}

/* ---------------------------------------------------------------------- */
/* One entry per file                                                      */
/* ---------------------------------------------------------------------- */

static int cmp_path(const void *a, const void *b)
{
    return strcmp(((const InputEntry *)a)->path, ((const InputEntry *)b)->path);
}

/* Indices into items: by device and inode (files without one last), then by path order. */
static int cmp_id(const void *a, const void *b, void *items)
{
    const InputEntry *base = items;
    const InputEntry *x = &base[*(const size_t *)a], *y = &base[*(const size_t *)b];
    if (x->has_id != y->has_id)
        return y->has_id - x->has_id;
    if (x->id.dev != y->id.dev)
        return x->id.dev < y->id.dev ? -1 : 1;
    if (x->id.ino != y->id.ino)
        return x->id.ino < y->id.ino ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* Drops all but the first (by path) of the names of one file: hard links, bind mounts. */
static void unique_ids(InputList *l)
{
    size_t *order = malloc((l->n ? l->n : 1) * sizeof(*order)), k = 0;
    if (!order)
        return; /* only the duplicate check is lost */
    for (size_t i = 0; i < l->n; i++)
        order[i] = i;
    qsort_r(order, l->n, sizeof(*order), cmp_id, l->items);
    for (size_t i = 1; i < l->n; i++) {
        InputEntry *first = &l->items[order[i - 1]], *e = &l->items[order[i]];
        if (!e->has_id || !first->has_id || first->id.dev != e->id.dev ||
            first->id.ino != e->id.ino)
            continue;
        vidx__log(VIDX_LOG_ERROR,
                  "%s: the same file as %s (a hard link or another mount): "
                  "processed once, as %s",
                  e->path, first->path, first->path);
        e->has_id = -1; /* dropped below; first stays the kept name for any further one */
        order[i] = order[i - 1];
        l->n_duplicates++;
    }
    free(order);
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].has_id < 0)
            free(l->items[i].path);
        else
            l->items[k++] = l->items[i];
    }
    l->n = k;
}

void vidx__inputs_sort_unique(InputList *l)
{
    size_t k = 0;
    if (l->n > 1) /* an empty list has no array (qsort(NULL, 0) is undefined) */
        qsort(l->items, l->n, sizeof(*l->items), cmp_path);
    for (size_t i = 0; i < l->n; i++) {
        if (k > 0 && !strcmp(l->items[k - 1].path, l->items[i].path)) {
            free(l->items[i].path);
            l->n_duplicates++;
        } else
            l->items[k++] = l->items[i];
    }
    l->n = k;
    unique_ids(l);
}

void vidx__inputs_free(InputList *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].path);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

int vidx__input_identify(const char *path, char out[64], int64_t *size, int64_t *mtime)
{
    if (!vidx__s3_is_url(path))
        return vidx__input_fingerprint(path, out, size, mtime);
    *mtime = 0;
    return vidx__s3_fingerprint(path, out, size);
}

void vidx__input_key(const char *path, char out[96])
{
    vidx__input_key_salted(path, NULL, out);
}

void vidx__input_key_salted(const char *path, const char *salt, char out[96])
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char safe[48];
    size_t k = 0;
    for (const char *p = base; *p && k < sizeof(safe) - 1; p++)
        safe[k++] = (isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.') ? *p : '_';
    safe[k] = 0;
    if (k == 0 || safe[0] == '.')
        safe[0] = '_';
    uint64_t h = vidx__fnv1a(path, strlen(path), VIDX_FNV_INIT);
    if (salt)
        h = vidx__fnv1a(salt, strlen(salt), h);
    snprintf(out, 96, "%s-%016llx", k ? safe : "_", (unsigned long long)h);
}
