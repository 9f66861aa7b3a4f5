/*
 * clip_fixture.h - the cmocka group setup and teardown shared by the unit
 * tests that sample the standard clip (clip.h): 2 s, 25 fps, GOP 10 with
 * B-frames, so frame k is shown at k/25 s. Included by one test file each
 * (the definitions are static).
 */
#ifndef VIDX_TEST_CLIP_FIXTURE_H
#define VIDX_TEST_CLIP_FIXTURE_H

#include "clip.h"

static char dir[256];
static char clip[300];

static int setup(void **state)
{
    (void)state;
    return clip_make(dir, sizeof(dir), "/tmp/vidx-test-XXXXXX", clip, sizeof(clip),
                     "-f lavfi -i testsrc=s=320x240:r=25:d=2 -c:v libx264 -g 10 -bf 2 "
                     "-pix_fmt yuv420p");
}

static int teardown(void **state)
{
    (void)state;
    return clip_remove(dir);
}

#endif
