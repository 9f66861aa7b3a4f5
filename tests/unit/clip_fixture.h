/*
 * clip_fixture.h - the cmocka group setup and teardown shared by the unit
 * tests that need a real video: a temporary directory (dir) holding a clip
 * generated with FFmpeg's lavfi (clip), timings known by construction.
 * Included by one test file each (the definitions are static).
 */
#ifndef VIDX_TEST_CLIP_FIXTURE_H
#define VIDX_TEST_CLIP_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

static char dir[256];
static char clip[300];

static int setup(void **state)
{
    char cmd[1024];
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vidx-test-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(clip, sizeof(clip), "%s/clip.mp4", dir);
    /* 2 s, 25 fps, GOP 10 with B-frames: frame k shown at k/25 s. */
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -v error -y -f lavfi -i testsrc=s=320x240:r=25:d=2 -c:v libx264 "
             "-g 10 -bf 2 -pix_fmt yuv420p %s",
             clip);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[512];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
