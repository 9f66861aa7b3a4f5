/*
 * test_planner.c - the planner on synthetic timestamp patterns whose answers
 * are known by construction: plain GOPs, B-frame reordering, open GOPs with
 * leading pictures, index targets, nearest keyframes, keyframes mode.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "media/planner.h"

/* Feeds n packets: pts[i], dts = i - delay, key every gop packets. */
static void feed(Planner *p, const int64_t *pts, int n, int gop, int delay)
{
    for (int i = 0; i < n; i++)
        assert_true(vidx__planner_add(p, pts[i], i - delay, i % gop == 0, 1) == i);
    vidx__planner_eof(p);
}

static int count_needed(Planner *p)
{
    PlanGop g;
    int needed = 0;
    while (vidx__planner_next_gop(p, &g))
        needed += g.needed;
    return needed;
}

static void test_times_no_reorder(void **state)
{
    (void)state;
    int64_t pts[100];
    for (int i = 0; i < 100; i++)
        pts[i] = i * 10;
    PlanTarget t[3] = {{.ticks = 5}, {.ticks = 250}, {.ticks = 999}};
    Planner *p;
    assert_int_equal(vidx__planner_new(&p, PLAN_TIMES, t, 3), 0);
    feed(p, pts, 100, 10, 0);
    int64_t n;
    const PlanTarget *r = vidx__planner_targets(p, &n);
    assert_int_equal(n, 3);
    assert_int_equal(r[0].pts, 0);
    assert_int_equal(r[1].pts, 250);
    assert_int_equal(r[2].pts, 990);
    assert_int_equal(count_needed(p), 3); /* GOPs 0, 2 and 9 */
    vidx__planner_free(&p);
}

/* Feeds n packets like feed() but leaves the stream open (no eof). */
static void feed_open(Planner *p, const int64_t *pts, int n, int gop)
{
    for (int i = 0; i < n; i++)
        assert_true(vidx__planner_add(p, pts[i], i, i % gop == 0, 1) == i);
}

/*
 * Targets planned from a declared duration far past the stream's end: the
 * first past the end gets the last frame, the others none; with a target
 * inside the stream that already gets the last frame, none past the end do.
 */
static void test_overrun(void **state)
{
    (void)state;
    int64_t pts[100];
    for (int i = 0; i < 100; i++)
        pts[i] = i * 10;
    PlanTarget t[4] = {{.ticks = 5}, {.ticks = 5000}, {.ticks = 9000}, {.ticks = 20000}};
    Planner *p;
    int64_t n;
    assert_int_equal(vidx__planner_new(&p, PLAN_TIMES, t, 4), 0);
    feed_open(p, pts, 100, 10);
    assert_int_equal(vidx__planner_overrun(p, 1000), 3);
    vidx__planner_eof(p);
    const PlanTarget *r = vidx__planner_targets(p, &n);
    assert_int_equal(r[0].pts, 0);
    assert_int_equal(r[1].missed, 0);
    assert_int_equal(r[1].pts, 990);
    assert_true(r[2].missed && r[3].missed);
    vidx__planner_free(&p);

    PlanTarget u[3] = {{.ticks = 995}, {.ticks = 5000}, {.ticks = 9000}};
    assert_int_equal(vidx__planner_new(&p, PLAN_TIMES, u, 3), 0);
    feed_open(p, pts, 100, 10);
    assert_int_equal(vidx__planner_overrun(p, 1000), 2);
    vidx__planner_eof(p);
    r = vidx__planner_targets(p, &n);
    assert_int_equal(r[0].pts, 990);
    assert_true(r[1].missed && r[2].missed);
    vidx__planner_free(&p);

    /* An honest request: nothing past the end, nothing changes. */
    PlanTarget v[2] = {{.ticks = 5}, {.ticks = 995}};
    assert_int_equal(vidx__planner_new(&p, PLAN_TIMES, v, 2), 0);
    feed_open(p, pts, 100, 10);
    assert_int_equal(vidx__planner_overrun(p, 1000), 0);
    vidx__planner_free(&p);
}

/* Decode order I0 P3 B1 B2 P6 B4 B5 ...: display pts = 0,3,1,2,6,4,5,... */
static void reorder_pattern(int64_t *pts, int n)
{
    pts[0] = 0;
    for (int i = 1; i < n; i++) {
        int k = (i - 1) % 3, base = ((i - 1) / 3) * 3;
        pts[i] = k == 0 ? base + 3 : base + k;
    }
}

static void test_times_reordered(void **state)
{
    (void)state;
    int64_t pts[31];
    reorder_pattern(pts, 31); /* pts 0..30 shown in order */
    PlanTarget t[4] = {{.ticks = 1}, {.ticks = 2}, {.ticks = 14}, {.ticks = 29}};
    Planner *p;
    assert_int_equal(vidx__planner_new(&p, PLAN_TIMES, t, 4), 0);
    feed(p, pts, 31, 12, 1);
    int64_t n;
    const PlanTarget *r = vidx__planner_targets(p, &n);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r[i].pts, t[i].ticks);
    assert_int_equal(vidx__planner_index_of(p, 14), 14);
    vidx__planner_free(&p);
}

static void test_indices(void **state)
{
    (void)state;
    int64_t pts[31];
    reorder_pattern(pts, 31);
    PlanTarget t[3] = {{.index = 0}, {.index = 17}, {.index = 40}};
    Planner *p;
    assert_int_equal(vidx__planner_new(&p, PLAN_INDICES, t, 3), 0);
    feed(p, pts, 31, 12, 1);
    int64_t n;
    const PlanTarget *r = vidx__planner_targets(p, &n);
    assert_int_equal(r[0].pts, 0);
    assert_int_equal(r[1].pts, 17);
    assert_true(r[2].missed); /* past the end */
    vidx__planner_free(&p);
}

static void test_nearest_and_keyframes(void **state)
{
    (void)state;
    int64_t pts[50];
    for (int i = 0; i < 50; i++)
        pts[i] = i;
    PlanTarget t[2] = {{.ticks = 14}, {.ticks = 16}};
    Planner *p;
    assert_int_equal(vidx__planner_new(&p, PLAN_NEAREST, t, 2), 0);
    feed(p, pts, 50, 10, 0);
    int64_t n;
    const PlanTarget *r = vidx__planner_targets(p, &n);
    assert_int_equal(r[0].pts, 10);
    assert_int_equal(r[1].pts, 20);
    vidx__planner_free(&p);

    assert_int_equal(vidx__planner_new(&p, PLAN_KEYFRAMES, NULL, 0), 0);
    feed(p, pts, 50, 10, 0);
    r = vidx__planner_targets(p, &n);
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(r[i].pts, i * 10);
    vidx__planner_free(&p);
}

/* A wanted leading picture (pts below its GOP's key) makes the GOP before it needed, fed through.
 */
static void test_open_gop_leading(void **state)
{
    (void)state;
    /* GOP0: I0 P1 P2 P3; GOP1 (open): I6 B4 B5 P7 */
    int64_t pts[8] = {0, 1, 2, 3, 6, 4, 5, 7};
    PlanTarget t[1] = {{.ticks = 4}};
    Planner *p;
    assert_int_equal(vidx__planner_new(&p, PLAN_TIMES, t, 1), 0);
    for (int i = 0; i < 8; i++)
        vidx__planner_add(p, pts[i], i - 1, i == 0 || i == 4, 1);
    vidx__planner_eof(p);
    PlanGop g0, g1;
    assert_true(vidx__planner_next_gop(p, &g0));
    assert_true(vidx__planner_next_gop(p, &g1));
    assert_true(g0.needed);
    assert_int_equal(g0.feed_last, 3); /* whole GOP, no drain */
    assert_false(g0.drain_after);
    assert_true(g1.needed);
    assert_false(g1.flush_before);
    assert_int_equal(g1.feed_last, 5);
    vidx__planner_free(&p);
}

/* A reference-only picture (VP9 alt-ref) is never delivered nor counted in indices. */
static void test_hidden_picture(void **state)
{
    (void)state;
    /* decode order: I0, hidden ARF (pts 3), 1, 2, 3 (shown, same pts as the ARF), 4 */
    int64_t pts[6] = {0, 3, 1, 2, 3, 4};
    int shown[6] = {1, 0, 1, 1, 1, 1};
    PlanTarget t[2] = {{.ticks = 2}, {.index = 0}};
    Planner *p;
    assert_int_equal(vidx__planner_new(&p, PLAN_TIMES, t, 1), 0);
    for (int i = 0; i < 6; i++)
        vidx__planner_add(p, pts[i], i - 1, i == 0, shown[i]);
    vidx__planner_eof(p);
    int64_t n;
    const PlanTarget *r = vidx__planner_targets(p, &n);
    assert_int_equal(r[0].pts, 2);
    assert_int_equal(r[0].pkt, 3);
    assert_int_equal(vidx__planner_index_of(p, 4), 4); /* 0,1,2,3 before it; the ARF not */
    assert_false(vidx__planner_wanted(p, 1));
    vidx__planner_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times_no_reorder),
        cmocka_unit_test(test_times_reordered),
        cmocka_unit_test(test_overrun),
        cmocka_unit_test(test_indices),
        cmocka_unit_test(test_nearest_and_keyframes),
        cmocka_unit_test(test_open_gop_leading),
        cmocka_unit_test(test_hidden_picture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
