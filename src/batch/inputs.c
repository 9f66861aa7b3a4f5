/*
 * inputs.c - what a run processes. Directories are walked recursively; their
 * files count as videos when the extension says so or when FFmpeg's format
 * probe recognises the first bytes (so "clip" without an extension is found
 * and "notes.txt" is not). Files named explicitly are always taken: if they
 * are not videos, the run records why.
 */
#include "batch/inputs.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>

uint64_t vidx__fnv1a(const void *data, size_t n, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static int is_url(const char *s)
{
    return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

static int add(InputList *l, const char *path)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        char **p = realloc(l->paths, ncap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        l->paths = p;
        l->cap = ncap;
    }
    if (!(l->paths[l->n] = strdup(path)))
        return -ENOMEM;
    l->n++;
    return 0;
}

static int video_extension(const char *name)
{
    static const char *const exts[] = {"mp4",  "m4v", "mov", "mkv", "webm", "avi",  "flv",  "ts",
                                       "m2ts", "mts", "3gp", "3g2", "mpg",  "mpeg", "wmv",  "asf",
                                       "ogv",  "mxf", "vob", "y4m", "ivf",  "h264", "hevc", "265"};
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
        if (!strcasecmp(dot + 1, exts[i]))
            return 1;
    return 0;
}

/* Sniffs the first bytes: does any demuxer recognise this as media? */
static int looks_like_media(const char *path)
{
    unsigned char buf[4096 + AVPROBE_PADDING_SIZE] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, 4096, f);
    fclose(f);
    if (n < 16)
        return 0;
    AVProbeData pd = {.filename = "", .buf = buf, .buf_size = (int)n};
    int score = 0;
    const AVInputFormat *fmt = av_probe_input_format2(&pd, 1, &score);
    return fmt && score >= AVPROBE_SCORE_MAX / 2;
}

static int walk(InputList *l, const char *dir, const char *skip, int depth)
{
    struct dirent **ents;
    char path[PATH_MAX];
    int ret = 0;
    if (depth > 64)
        return 0;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        struct stat st;
        if (ret == 0 && name[0] != '.' &&
            snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path) &&
            stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                if (!skip || strcmp(path, skip))
                    ret = walk(l, path, skip, depth + 1);
            } else if (S_ISREG(st.st_mode) && (video_extension(name) || looks_like_media(path))) {
                ret = add(l, path);
            }
        }
        free(ents[i]);
    }
    free(ents);
    return ret;
}

static int add_lines(InputList *l, FILE *f, const char *skip)
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
        const char *one = line;
        ret = vidx__inputs_expand(l, &one, 1, skip);
    }
    free(line);
    return ret;
}

static int expand_one(InputList *l, const char *in, const char *skip)
{
    struct stat st;
    if (!strcmp(in, "-"))
        return add_lines(l, stdin, skip);
    if (in[0] == '@') {
        FILE *f = fopen(in + 1, "r");
        if (!f)
            return -errno;
        int ret = add_lines(l, f, skip);
        fclose(f);
        return ret;
    }
    if (!is_url(in) && stat(in, &st) == 0 && S_ISDIR(st.st_mode) &&
        !(strlen(in) > 4 && video_extension(in)))
        return walk(l, in, skip, 0);
    return add(l, in); /* files, URLs, and missing paths (recorded as failures) */
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int vidx__inputs_expand(InputList *l, const char *const *inputs, size_t n, const char *skip)
{
    for (size_t i = 0; i < n; i++) {
        int ret = expand_one(l, inputs[i], skip);
        if (ret < 0) {
            fprintf(stderr, "vidx: %s: %s\n", inputs[i], strerror(-ret));
            return ret;
        }
    }
    return 0;
}

void vidx__inputs_sort_unique(InputList *l)
{
    size_t k = 0;
    if (l->n > 1) /* qsort(NULL, 0, ...) is undefined: an @list of comments is empty */
        qsort(l->paths, l->n, sizeof(*l->paths), cmp_str);
    for (size_t i = 0; i < l->n; i++) {
        if (k > 0 && !strcmp(l->paths[k - 1], l->paths[i]))
            free(l->paths[i]);
        else
            l->paths[k++] = l->paths[i];
    }
    l->n = k;
}

void vidx__inputs_free(InputList *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    memset(l, 0, sizeof(*l));
}

void vidx__input_key(const char *path, char out[96])
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
    snprintf(out, 96, "%s-%016llx", k ? safe : "_", (unsigned long long)h);
}

int vidx__input_fingerprint(const char *path, char out[64], int64_t *size, int64_t *mtime)
{
    struct stat st;
    unsigned char buf[65536];
    *size = *mtime = 0;
    if (is_url(path)) {
        snprintf(out, 64, "url:%016llx",
                 (unsigned long long)vidx__fnv1a(path, strlen(path), VIDX_FNV_INIT));
        return 0;
    }
    if (stat(path, &st) < 0) {
        snprintf(out, 64, "missing");
        return -errno;
    }
    *size = st.st_size;
    *mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    uint64_t h = VIDX_FNV_INIT;
    FILE *f = S_ISREG(st.st_mode) ? fopen(path, "rb") : NULL;
    if (f) {
        size_t n = fread(buf, 1, sizeof(buf), f);
        h = vidx__fnv1a(buf, n, h);
        if (st.st_size > (off_t)sizeof(buf) && fseeko(f, -(off_t)sizeof(buf), SEEK_END) == 0)
            h = vidx__fnv1a(buf, fread(buf, 1, sizeof(buf), f), h);
        fclose(f);
    }
    snprintf(out, 64, "%lld:%lld:%016llx", (long long)*size, (long long)*mtime,
             (unsigned long long)h);
    return 0;
}
