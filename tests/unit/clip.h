/*
 * clip.h - for the unit tests that sample a real video: a scratch directory
 * holding one clip that FFmpeg's lavfi generates (timings known by
 * construction), made in a group setup and removed in its teardown.
 */
#ifndef VIDX_TESTS_CLIP_H
#define VIDX_TESTS_CLIP_H

#include <stdio.h>
#include <stdlib.h>

/* Makes a directory from pattern (mkdtemp) and in it clip.mp4 from ffmpeg_args. */
static inline int clip_make(char *dir, size_t dir_size, const char *pattern, char *clip,
                            size_t clip_size, const char *ffmpeg_args)
{
    char cmd[1024];
    snprintf(dir, dir_size, "%s", pattern);
    if (!mkdtemp(dir))
        return -1;
    snprintf(clip, clip_size, "%s/clip.mp4", dir);
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -y %s %s", ffmpeg_args, clip);
    return system(cmd) == 0 ? 0 : -1;
}

static inline int clip_remove(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif /* VIDX_TESTS_CLIP_H */
