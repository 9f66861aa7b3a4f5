/*
 * path.c - the names and identities of files (see path.h and docs/CATALOG.md,
 * "Identity of a video"). The catalog keys videos by the canonical path, so
 * "x", "./x", "in//x", "/abs/x" and a symlink to x are one video wherever the
 * run starts from, and an output directory is compared with its inputs by the
 * same rule; the (device, inode) set lets walks detect directory cycles and
 * the run spot one file under two names (hard links, bind mounts).
 */
#include "core/path.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int vidx__is_url(const char *s)
{
    return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) || !strncmp(s, "s3://", 5);
}

static char *join(const char *dir, const char *name)
{
    size_t ld = strlen(dir), ln = strlen(name);
    char *p = malloc(ld + ln + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, ld);
    p[ld] = '/';
    memcpy(p + ld + 1, name, ln + 1);
    return p;
}

static char *absolute(const char *path, const char *base)
{
    char cwd[PATH_MAX];
    if (path[0] == '/')
        return strdup(path);
    if (!base) {
        if (!getcwd(cwd, sizeof(cwd)))
            return strdup(path); /* no current directory: nothing better to say */
        base = cwd;
    }
    return join(base, path);
}

/* Resolves "//", "." and ".." of an absolute path by its text, in place. */
static void lexical(char *p)
{
    char *w = p; /* the output never gets ahead of the input */
    const char *r = p;
    while (*r) {
        while (*r == '/')
            r++;
        if (!*r)
            break;
        const char *end = strchr(r, '/');
        size_t len = end ? (size_t)(end - r) : strlen(r);
        if (len == 2 && r[0] == '.' && r[1] == '.') {
            while (w > p && *--w != '/') /* drop the last component */
                ;
        } else if (!(len == 1 && r[0] == '.')) {
            *w++ = '/';
            memmove(w, r, len);
            w += len;
        }
        r += len;
    }
    if (w == p)
        *w++ = '/';
    *w = 0;
}

char *vidx__path_canonical(const char *path, const char *base)
{
    if (vidx__is_url(path))
        return strdup(path);
    char *abs = absolute(path, base);
    if (!abs || abs[0] != '/')
        return abs;
    char *real = realpath(abs, NULL);
    if (real) {
        free(abs);
        return real;
    }
    /* The longest prefix that exists, resolved; the rest (missing) by its text. */
    for (char *cut = strrchr(abs, '/'); cut;
         cut = cut > abs ? memrchr(abs, '/', (size_t)(cut - abs)) : NULL) {
        *cut = 0;
        real = realpath(cut == abs ? "/" : abs, NULL);
        *cut = '/';
        if (!real)
            continue;
        char *joined = join(real, cut + 1);
        free(real);
        if (!joined)
            break;
        free(abs);
        lexical(joined);
        return joined;
    }
    lexical(abs);
    return abs;
}

int vidx__path_within(const char *a, const char *b)
{
    size_t n = strlen(b);
    if (!strcmp(b, "/"))
        return a[0] == '/';
    return !strncmp(a, b, n) && (a[n] == 0 || a[n] == '/');
}

struct FileIdSlot {
    FileId id;
    int used;
};

static size_t slot_of(const FileIdSet *s, FileId id)
{
    uint64_t h =
        ((uint64_t)id.dev * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)id.ino * 0xC2B2AE3D27D4EB4FULL);
    size_t i = (size_t)(h ^ (h >> 29)) & (s->cap - 1);
    while (s->slots[i].used && (s->slots[i].id.dev != id.dev || s->slots[i].id.ino != id.ino))
        i = (i + 1) & (s->cap - 1);
    return i;
}

static int grow(FileIdSet *s)
{
    FileIdSet bigger = {calloc(s->cap ? s->cap * 2 : 64, sizeof(struct FileIdSlot)), s->n,
                        s->cap ? s->cap * 2 : 64};
    if (!bigger.slots)
        return -ENOMEM;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].used)
            bigger.slots[slot_of(&bigger, s->slots[i].id)] = s->slots[i];
    free(s->slots);
    *s = bigger;
    return 0;
}

int vidx__fileid_add(FileIdSet *s, FileId id)
{
    if (2 * (s->n + 1) > s->cap && grow(s) < 0)
        return -ENOMEM;
    size_t i = slot_of(s, id);
    if (s->slots[i].used)
        return 0;
    s->slots[i] = (struct FileIdSlot){id, 1};
    s->n++;
    return 1;
}

void vidx__fileid_free(FileIdSet *s)
{
    free(s->slots);
    memset(s, 0, sizeof(*s));
}
