/*
 * owned.c - see owned.h. The patterns follow the writers: vidx__input_key
 * (keys), the job's frame, manifest, audio, scenes.json, transcript and labels.json names
 * (job.c, stage_label.c), the store's
 * shard and blob names (shards.c, files.c), the scratch convention (fs.c),
 * the transcoder's names (transcode/transcode.c).
 */
#include "store/owned.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/fs.h"

static int all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return 0;
    return 1;
}

static size_t digits(const char *s)
{
    size_t n = 0;
    while (isdigit((unsigned char)s[n]))
        n++;
    return n;
}

int vidx__is_key_name(const char *name)
{
    size_t n = strlen(name);
    if (n < 18 || n > 47 + 17 || name[0] == '.' || name[n - 17] != '-' ||
        !all_hex(name + n - 16, 16))
        return 0;
    for (size_t i = 0; i < n - 17; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
            return 0;
    return 1;
}

/* "NNNNNN_<ms>ms.<ext>" as job.c names a frame. */
static int is_frame_name(const char *name)
{
    static const char *const exts[] = {"jpg", "png", "webp"};
    size_t n = digits(name);
    if (n < 6 || name[n] != '_')
        return 0;
    name += n + 1;
    name += *name == '-';
    if (!(n = digits(name)) || strncmp(name + n, "ms.", 3))
        return 0;
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
        if (!strcmp(name + n + 3, exts[i]))
            return 1;
    return 0;
}

/* NAME of a scratch name ".NAME.tmp" (written into base), else name itself. */
static const char *unscratch(const char *name, char base[NAME_MAX + 1])
{
    size_t n = strlen(name);
    if (!vidx__is_scratch_name(name) || n - 5 >= NAME_MAX + 1)
        return name;
    snprintf(base, NAME_MAX + 1, "%.*s", (int)(n - 5), name + 1);
    return base;
}

int vidx__is_video_file_name(const char *name)
{
    char base[NAME_MAX + 1];
    name = unscratch(name, base);
    return is_frame_name(name) || !strcmp(name, "manifest.jsonl") || !strcmp(name, "audio.wav") ||
           !strcmp(name, "audio.flac") || !strcmp(name, "frames.tar") ||
           !strcmp(name, "scenes.json") || !strncmp(name, "transcript.", 11) ||
           !strcmp(name, "labels.json");
}

int vidx__is_shard_name(const char *name)
{
    size_t w = name[0] == 'w' ? digits(name + 1) : 0; /* a queue worker's: "w<id>-" first */
    if (w > 0 && name[1 + w] == '-')
        name += 2 + w;
    size_t n = digits(name);
    return n >= 6 && !strcmp(name + n, ".tar");
}

int vidx__is_blob_name(const char *dir, const char *name)
{
    return strlen(dir) == 2 && all_hex(dir, 2) && strlen(name) > 65 && all_hex(name, 64) &&
           name[64] == '.' && !strncmp(name, dir, 2);
}

/*
 * Removes the regular files under path whose names name_ok accepts, and the
 * folders (depth levels below path, never one whose name starts with '.')
 * that this empties, then path itself when empty. Returns the entries left.
 */
static int remove_named(const char *path, int depth, int (*name_ok)(const char *))
{
    char p[PATH_MAX];
    struct dirent *e;
    struct stat st;
    int left = 0;
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (snprintf(p, sizeof(p), "%s/%s", path, e->d_name) >= (int)sizeof(p) || lstat(p, &st) < 0)
            left++;
        else if (S_ISDIR(st.st_mode))
            left += depth <= 0 || e->d_name[0] == '.' || remove_named(p, depth - 1, name_ok) != 0;
        else if (!S_ISREG(st.st_mode) || !name_ok(e->d_name) || unlink(p) < 0)
            left++;
    }
    closedir(d);
    if (left == 0 && rmdir(path) < 0 && errno != ENOENT)
        left++;
    return left;
}

int vidx__remove_video_dir(const char *path)
{
    return remove_named(path, 0, vidx__is_video_file_name);
}

int vidx__is_segment_name(const char *name)
{
    return !strncmp(name, "seg_", 4) && strlen(name) == 13 && digits(name + 4) == 5 &&
           !strcmp(name + 9, ".m4s");
}

int vidx__is_sprite_name(const char *name)
{
    return !strncmp(name, "sprite_", 7) && strlen(name) == 14 && digits(name + 7) == 3 &&
           !strcmp(name + 10, ".jpg");
}

int vidx__is_rendition_file_name(const char *name)
{
    char base[NAME_MAX + 1];
    name = unscratch(name, base);
    size_t n = strlen(name);
    return !strcmp(name, "master.m3u8") || !strcmp(name, "index.m3u8") ||
           !strcmp(name, "init.mp4") || !strcmp(name, "sprites.vtt") ||
           !strcmp(name, "transcode.json") || vidx__is_segment_name(name) ||
           vidx__is_sprite_name(name) || (n > 4 && name[0] != '.' && !strcmp(name + n - 4, ".mp4"));
}

int vidx__remove_rendition_tree(const char *path)
{
    return remove_named(path, 3, vidx__is_rendition_file_name);
}
