/*
 * test_scenes.c - the shot boundary detector (analyze/scenes.c) on synthetic
 * picture sequences whose shots are known by construction: hard cuts, a pan
 * and a zoom-like drift (no cut), camera flashes (no cut), fades through
 * black, a cut into a fade-in, the minimum shot length and the shot times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analyze/scenes.h"

#define W   64
#define H   36
#define FPS 25.0

/* A scene: blocky texture of 8x8 cells seeded by id, shifted by dx pixels, scaled by gain. */
static void paint(uint8_t *p, int id, int dx, double gain)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            unsigned cx = (unsigned)(x + dx) / 8, cy = (unsigned)y / 8;
            unsigned v = (cx * 73856093u) ^ (cy * 19349663u) ^ ((unsigned)id * 83492791u);
            v = (v ^ (v >> 13)) * 0x5bd1e995u;
            int lvl = 40 + (int)((v >> 8) % 180);
            p[y * W + x] = (uint8_t)(lvl * gain + 0.5);
        }
}

/* Light noise so that static frames are not identical. */
static void noise(uint8_t *p, int seed)
{
    for (int i = 0; i < W * H; i++) {
        int v = p[i] + (int)((i * 7 + seed * 13) % 5) - 2;
        p[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

static SceneDetector *detector(int min_shot)
{
    SceneParams p;
    SceneDetector *d;
    vidx__scene_default_params(&p);
    p.min_shot = min_shot;
    assert_int_equal(vidx__scene_new(&d, &p), 0);
    return d;
}

static void push(SceneDetector *d, const uint8_t *p, int64_t i)
{
    assert_int_equal(vidx__scene_push(d, p, W, H, W, (double)i / FPS, 1 / FPS), 0);
}

/* Finishes d and checks the shots begin exactly at the frames in starts (first is 0). */
static const SceneShot *expect_starts(SceneDetector *d, const int64_t *starts, int64_t n)
{
    int64_t got;
    assert_int_equal(vidx__scene_finish(d), 0);
    const SceneShot *s = vidx__scene_shots(d, &got);
    for (int64_t i = 0; i < got; i++)
        print_message("shot %lld: %lld-%lld cause %d score %.1f ratio %.1f\n", (long long)i,
                      (long long)s[i].first, (long long)s[i].last, (int)s[i].cause, s[i].score,
                      s[i].ratio);
    assert_int_equal(got, n);
    for (int64_t i = 0; i < n; i++) {
        assert_int_equal(s[i].first, starts[i]);
        assert_int_equal(s[i].last, i + 1 < n ? starts[i + 1] - 1 : vidx__scene_frames(d) - 1);
    }
    return s;
}

static void hard_cuts(void **state)
{
    (void)state;
    SceneDetector *d = detector(10);
    uint8_t p[W * H];
    for (int i = 0; i < 120; i++) {
        paint(p, i < 30 ? 1 : i < 80 ? 2 : 3, 0, 1);
        noise(p, i);
        push(d, p, i);
    }
    const int64_t starts[] = {0, 30, 80};
    const SceneShot *s = expect_starts(d, starts, 3);
    assert_int_equal(s[1].cause, SCENE_CUT);
    assert_true(s[1].score > 10 && s[1].ratio > 3);
    assert_false(s[1].fade_in || s[0].fade_out);
    vidx__scene_free(&d);
    assert_null(d);
}

/* A steady pan (1 px a frame, an eighth of a cell) and then a faster one: the whole frame changes,
 * no cut. */
static void pan_is_not_a_cut(void **state)
{
    (void)state;
    SceneDetector *d = detector(10);
    uint8_t p[W * H];
    for (int i = 0; i < 150; i++) {
        int dx = i < 60 ? i : 60 + 2 * (i - 60);
        paint(p, i < 100 ? 1 : 2, i < 100 ? dx : dx / 2, 1);
        noise(p, i);
        push(d, p, i);
    }
    const int64_t starts[] = {0, 100};
    expect_starts(d, starts, 2);
    vidx__scene_free(&d);
}

/* Brightness drift (exposure, a slow zoom's average): no cut. */
static void drift_is_not_a_cut(void **state)
{
    (void)state;
    SceneDetector *d = detector(10);
    uint8_t p[W * H];
    for (int i = 0; i < 100; i++) {
        paint(p, 5, i / 3, 0.6 + 0.004 * i);
        push(d, p, i);
    }
    const int64_t starts[] = {0};
    expect_starts(d, starts, 1);
    vidx__scene_free(&d);
}

/* A large object jumping across a still picture changes a part of it only: no cut. */
static void fast_object_is_not_a_cut(void **state)
{
    (void)state;
    SceneDetector *d = detector(10);
    uint8_t p[W * H];
    for (int i = 0; i < 80; i++) {
        memset(p, 60, sizeof(p));
        int x0 = i < 40 ? 4 : 40; /* a 16x16 white block, moved 36 px at frame 40 */
        for (int y = 10; y < 26; y++)
            memset(p + y * W + x0, 230, 16);
        noise(p, i);
        push(d, p, i);
    }
    const int64_t starts[] = {0};
    expect_starts(d, starts, 1);
    vidx__scene_free(&d);
}

/* Camera flashes of one and of two frames that return to the same shot: no cut. */
static void flash_is_not_a_cut(void **state)
{
    (void)state;
    SceneDetector *d = detector(10);
    uint8_t p[W * H];
    for (int i = 0; i < 100; i++) {
        paint(p, 7, 0, 1);
        if (i == 40 || i == 70 || i == 71)
            memset(p, 250, sizeof(p));
        noise(p, i);
        push(d, p, i);
    }
    const int64_t starts[] = {0};
    expect_starts(d, starts, 1);
    vidx__scene_free(&d);
}

/* A fade out to black, black, a fade in: the new shot starts with the fade-in (psd's 394). */
static void fade_through_black(void **state)
{
    (void)state;
    SceneDetector *d = detector(10);
    uint8_t p[W * H];
    for (int i = 0; i < 100; i++) {
        if (i < 40)
            paint(p, 1, 0, 1);
        else if (i < 50)
            paint(p, 1, 0, (50 - i) / 10.0); /* 1.0 .. 0.1 */
        else if (i < 56)
            memset(p, 0, sizeof(p));
        else
            paint(p, 2, 0, VIDX_MIN(1.0, (i - 55) / 10.0));
        push(d, p, i);
    }
    const int64_t starts[] = {0, 56};
    const SceneShot *s = expect_starts(d, starts, 2);
    assert_int_equal(s[1].cause, SCENE_FADE);
    assert_true(s[0].fade_out);
    assert_true(s[1].fade_in);
    vidx__scene_free(&d);
}

/* A hard cut into a fade-in (psd_testvideo's frame 394): the cut is the fade's first frame. */
static void cut_into_fade_in(void **state)
{
    (void)state;
    SceneDetector *d = detector(10);
    uint8_t p[W * H];
    for (int i = 0; i < 90; i++) {
        if (i < 50)
            paint(p, 3, 0, 1);
        else
            paint(p, 4, 0, VIDX_MIN(1.0, (i - 50) / 20.0)); /* black at 50, then brighter */
        noise(p, i);
        push(d, p, i);
    }
    const int64_t starts[] = {0, 50};
    const SceneShot *s = expect_starts(d, starts, 2);
    assert_true(s[1].fade_in);
    vidx__scene_free(&d);
}

/*
 * A hard cut to black, black, a fade-in (psd_testvideo's 180), after a video
 * that opens black and cuts to content (its 30): the cuts only; the black and
 * the fade-in belong to the shot they open.
 */
static void cut_to_black_then_fade_in(void **state)
{
    (void)state;
    SceneDetector *d = detector(10);
    uint8_t p[W * H];
    for (int i = 0; i < 150; i++) {
        if (i < 30 || (i >= 80 && i < 100))
            memset(p, 0, sizeof(p));
        else if (i < 80)
            paint(p, 1, 0, 1);
        else
            paint(p, 2, 0, VIDX_MIN(1.0, (i - 99) / 20.0));
        noise(p, i);
        push(d, p, i);
    }
    const int64_t starts[] = {0, 30, 80};
    const SceneShot *s = expect_starts(d, starts, 3);
    assert_int_equal(s[1].cause, SCENE_CUT);
    assert_int_equal(s[2].cause, SCENE_CUT);
    assert_true(s[2].fade_in);
    assert_false(s[1].fade_out);
    vidx__scene_free(&d);
}

/* A video that fades in from black and out to black is one shot. */
static void fade_in_and_out_one_shot(void **state)
{
    (void)state;
    SceneDetector *d = detector(10);
    uint8_t p[W * H];
    for (int i = 0; i < 100; i++) {
        double g = i < 10   ? 0
                   : i < 30 ? (i - 10) / 20.0
                   : i < 70 ? 1
                   : i < 90 ? (90 - i) / 20.0
                            : 0;
        paint(p, 6, 0, g);
        push(d, p, i);
    }
    const int64_t starts[] = {0};
    const SceneShot *s = expect_starts(d, starts, 1);
    assert_true(s[0].fade_in && s[0].fade_out);
    vidx__scene_free(&d);
}

/* A cut closer than min_shot to the previous boundary is dropped. */
static void min_shot_length(void **state)
{
    (void)state;
    SceneDetector *d = detector(10);
    uint8_t p[W * H];
    for (int i = 0; i < 80; i++) {
        paint(p, i < 30 ? 1 : i < 34 ? 2 : 3, 0, 1);
        noise(p, i);
        push(d, p, i);
    }
    const int64_t starts[] = {0, 30};
    expect_starts(d, starts, 2);
    vidx__scene_free(&d);
}

/* Shot times: start = first frame's time, end = next shot's start or past the last frame. */
static void shot_times(void **state)
{
    (void)state;
    SceneDetector *d = detector(1);
    uint8_t p[W * H];
    for (int i = 0; i < 20; i++) {
        paint(p, i < 10 ? 1 : 2, 0, 1);
        push(d, p, i);
    }
    const int64_t starts[] = {0, 10};
    const SceneShot *s = expect_starts(d, starts, 2);
    assert_float_equal(s[0].start, 0, 1e-9);
    assert_float_equal(s[0].end, 10 / FPS, 1e-9);
    assert_float_equal(s[1].start, 10 / FPS, 1e-9);
    assert_float_equal(s[1].end, 20 / FPS, 1e-9);
    vidx__scene_free(&d);
}

/* No frames: no shots; a size change is refused. */
static void empty_and_size_change(void **state)
{
    (void)state;
    SceneDetector *d = detector(10);
    uint8_t p[W * H] = {0};
    int64_t n = 1;
    assert_int_equal(vidx__scene_finish(d), 0);
    vidx__scene_shots(d, &n);
    assert_int_equal(n, 0);
    vidx__scene_free(&d);
    d = detector(10);
    push(d, p, 0);
    assert_true(vidx__scene_push(d, p, W - 1, H, W, 0.04, 0.04) < 0);
    vidx__scene_free(&d);
}

/* Scene a blended into scene b, b's share t (0-1). */
static void blend(uint8_t *p, int a, int b, double t)
{
    uint8_t x[W * H], y[W * H];
    paint(x, a, 0, 1);
    paint(y, b, 0, 1);
    for (int i = 0; i < W * H; i++)
        p[i] = (uint8_t)((1 - t) * x[i] + t * y[i] + 0.5);
}

/* Dissolves of 12 and 24 frames (frames 40-51, 100-123): each is one boundary, at its middle. */
static void dissolve_is_one_boundary(void **state)
{
    (void)state;
    SceneDetector *d = detector(10);
    uint8_t p[W * H];
    for (int i = 0; i < 170; i++) {
        if (i < 100)
            blend(p, 1, 2, i < 40 ? 0 : i < 52 ? (i - 39) / 13.0 : 1);
        else
            blend(p, 2, 3, i < 124 ? (i - 99) / 25.0 : 1);
        noise(p, i);
        push(d, p, i);
    }
    /* B's share passes one half at 46 and at 112; the ends are found to within a frame */
    int64_t n;
    assert_int_equal(vidx__scene_finish(d), 0);
    const SceneShot *s = vidx__scene_shots(d, &n);
    assert_int_equal(n, 3);
    assert_true(llabs(s[1].first - 46) <= 1 && llabs(s[2].first - 112) <= 1);
    assert_int_equal(s[1].cause, SCENE_DISSOLVE);
    assert_int_equal(s[2].cause, SCENE_DISSOLVE);
    vidx__scene_free(&d);
}

/* A fade to black and back in, and a slow pan into new content: blends too, no dissolve. */
static void fades_and_pans_are_not_dissolves(void **state)
{
    (void)state;
    SceneDetector *d = detector(10);
    uint8_t p[W * H];
    for (int i = 0; i < 150; i++) {
        if (i < 80) /* 40-51 darken to black, 52-59 black, 60-71 brighten again */
            paint(p, 1, 0,
                  i < 40   ? 1
                  : i < 52 ? (51 - i) / 12.0
                  : i < 60 ? 0
                  : i < 72 ? (i - 59) / 12.0
                           : 1);
        else /* from 100 on: a pan at 2 px a frame, a cell every 4 frames */
            paint(p, 1, i < 100 ? 0 : 2 * (i - 100), 1);
        noise(p, i);
        push(d, p, i);
    }
    int64_t n;
    assert_int_equal(vidx__scene_finish(d), 0);
    const SceneShot *s = vidx__scene_shots(d, &n);
    for (int64_t i = 0; i < n; i++)
        assert_int_not_equal(s[i].cause, SCENE_DISSOLVE);
    vidx__scene_free(&d);
}

/* K frames per shot: worked by hand for shots of 10, 3 and 1 frames. */
static void pick_frames(void **state)
{
    (void)state;
    const SceneShot shots[] = {
        {.first = 0, .last = 9}, {.first = 10, .last = 12}, {.first = 13, .last = 13}};
    static const int64_t first2[] = {0, 1, 10, 11, 13}, middle2[] = {4, 5, 11, 12, 13},
                         spread2[] = {2, 7, 10, 12, 13}, middle1[] = {5, 11, 13},
                         all5[] = {1, 3, 5, 7, 9, 10, 11, 12, 13};
    const struct {
        int k;
        ScenePick pick;
        const int64_t *want;
        int64_t n;
    } cases[] = {{2, SCENE_PICK_FIRST, first2, 5},   {2, SCENE_PICK_MIDDLE, middle2, 5},
                 {2, SCENE_PICK_SPREAD, spread2, 5}, {1, SCENE_PICK_MIDDLE, middle1, 3},
                 {1, SCENE_PICK_SPREAD, middle1, 3}, {5, SCENE_PICK_SPREAD, all5, 9}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        int64_t *idx, n;
        assert_int_equal(vidx__scene_pick(shots, 3, cases[c].k, cases[c].pick, 100, &idx, &n), 0);
        assert_int_equal(n, cases[c].n);
        assert_memory_equal(idx, cases[c].want, (size_t)n * sizeof(*idx));
        for (int64_t i = 0; i < n; i++)
            assert_int_equal(vidx__scene_shot_of(shots, 3, idx[i]), idx[i] < 10   ? 0
                                                                    : idx[i] < 13 ? 1
                                                                                  : 2);
        free(idx);
    }
    int64_t *idx = (int64_t *)&shots, n = 7;
    assert_int_equal(vidx__scene_pick(shots, 3, 4, SCENE_PICK_FIRST, 7, &idx, &n), -ERANGE);
    assert_null(idx);
    assert_int_equal(n, 0);
    assert_int_equal(vidx__scene_shot_of(shots, 3, 14), -1);
    assert_int_equal(vidx__scene_shot_of(shots, 0, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hard_cuts),
        cmocka_unit_test(pan_is_not_a_cut),
        cmocka_unit_test(drift_is_not_a_cut),
        cmocka_unit_test(fast_object_is_not_a_cut),
        cmocka_unit_test(flash_is_not_a_cut),
        cmocka_unit_test(fade_through_black),
        cmocka_unit_test(cut_into_fade_in),
        cmocka_unit_test(cut_to_black_then_fade_in),
        cmocka_unit_test(fade_in_and_out_one_shot),
        cmocka_unit_test(min_shot_length),
        cmocka_unit_test(shot_times),
        cmocka_unit_test(empty_and_size_change),
        cmocka_unit_test(pick_frames),
        cmocka_unit_test(dissolve_is_one_boundary),
        cmocka_unit_test(fades_and_pans_are_not_dissolves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
