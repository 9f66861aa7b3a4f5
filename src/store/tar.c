/*
 * tar.c - see tar.h. Members are plain ustar regular files (mode 0644, owner
 * 0, mtime 0), so the same frames always make the same bytes.
 */
#include "store/tar.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/fs.h"

size_t vidx__tar_padding(size_t size)
{
    return (VIDX_TAR_BLOCK - size % VIDX_TAR_BLOCK) % VIDX_TAR_BLOCK;
}

static void octal(char *field, size_t width, int64_t v)
{
    snprintf(field, width, "%0*llo", (int)width - 1, (long long)v);
}

void vidx__tar_header(char h[VIDX_TAR_BLOCK], const char *name, int64_t size)
{
    memset(h, 0, VIDX_TAR_BLOCK);
    snprintf(h, 100, "%s", name);
    octal(h + 100, 8, 0644);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, size);
    octal(h + 136, 12, 0);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < VIDX_TAR_BLOCK; i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
}

void vidx__tar_sample_name(const char *key, const char *frame_file, char *out, size_t size)
{
    char k[128];
    snprintf(k, sizeof(k), "%s", key);
    for (char *p = k; *p; p++)
        if (*p == '.')
            *p = '_';
    const char *dot = strrchr(frame_file, '.');
    int stem = dot ? (int)(dot - frame_file) : (int)strlen(frame_file);
    snprintf(out, size, "%s/%.*s", k, stem, frame_file);
}

void vidx__tar_sample_json(const char *key, const VidxFrameRecord *r, char *out, size_t size)
{
    char target[32] = "null";
    if (!isnan(r->target))
        snprintf(target, sizeof(target), "%.9g", r->target);
    snprintf(out, size,
             "{\"video_key\":\"%s\",\"index\":%lld,\"target\":%s,\"time\":%.9g,\"pts\":%lld,"
             "\"keyframe\":%s,\"width\":%d,\"height\":%d,\"sha256\":\"%s\"}",
             key, (long long)r->index, target, r->time, (long long)r->pts,
             r->keyframe ? "true" : "false", r->width, r->height, r->sha256);
}

int vidx__tar_end_at(int fd, int64_t size)
{
    char zero[2 * VIDX_TAR_BLOCK] = {0};
    int ret = vidx__pwrite_all(fd, zero, sizeof(zero), size);
    if (ret == 0 && ftruncate(fd, size + (int64_t)sizeof(zero)) < 0)
        ret = -errno;
    return ret;
}

/* Appends one member (header, data, padding) at *pos. */
static void put_member(char *buf, size_t *pos, const char *name, const void *data, size_t size)
{
    vidx__tar_header(buf + *pos, name, (int64_t)size);
    memcpy(buf + *pos + VIDX_TAR_BLOCK, data, size);
    memset(buf + *pos + VIDX_TAR_BLOCK + size, 0, vidx__tar_padding(size));
    *pos += VIDX_TAR_BLOCK + size + vidx__tar_padding(size);
}

char *vidx__tar_sample(const char *key, const VidxFrameRecord *r, const char *ext,
                       const void *image, size_t *len)
{
    char base[200], name[256], json[1024];
    size_t isize = (size_t)r->bytes;
    vidx__tar_sample_name(key, r->path, base, sizeof(base));
    vidx__tar_sample_json(key, r, json, sizeof(json));
    size_t jsize = strlen(json);
    *len = 2 * VIDX_TAR_BLOCK + isize + vidx__tar_padding(isize) + jsize + vidx__tar_padding(jsize);
    char *buf = malloc(*len);
    size_t pos = 0;
    if (!buf)
        return NULL;
    snprintf(name, sizeof(name), "%s.%s", base, ext);
    put_member(buf, &pos, name, image, isize);
    snprintf(name, sizeof(name), "%s.json", base);
    put_member(buf, &pos, name, json, jsize);
    return buf;
}
