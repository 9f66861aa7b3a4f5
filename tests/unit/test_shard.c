/*
 * test_shard.c - static sharding (src/batch/shard.c): the partition is the
 * documented function (pinned values: it must never change, or the shards of
 * a run split across vidx versions would overlap), balanced, and a pure
 * function of the path; the filter keeps exactly one shard's videos; I/N and
 * "auto" (Slurm array, Kubernetes Indexed Job) are read, bad ones refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "batch/shard.h"
#include "core/internal.h"

static void test_pinned_values(void **state)
{
    (void)state; /* docs/CLUSTER.md gives the same function in Python */
    assert_int_equal(vidx__shard_of("/tmp/sm/v0.mp4", 3), 2);
    assert_int_equal(vidx__shard_of("/tmp/sm/v2.mp4", 3), 1);
    assert_int_equal(vidx__shard_of("/data/videos/a.mp4", 1000), 309);
    assert_int_equal(vidx__shard_of("https://example.com/v.mp4", 1000), 44);
    assert_int_equal(vidx__shard_of("", 1000), 679);
    assert_int_equal(vidx__shard_of("/anything", 1), 0);
}

static void test_balanced(void **state)
{
    int64_t counts[7] = {0};
    char path[64];
    (void)state;
    for (int i = 0; i < 70000; i++) {
        snprintf(path, sizeof(path), "/lib/clip%06d.mp4", i);
        counts[vidx__shard_of(path, 7)]++;
    }
    for (int s = 0; s < 7; s++) /* 10000 expected each; a fair split is well within 5% */
        assert_true(counts[s] > 9500 && counts[s] < 10500);
}

static void fill(InputList *l, int n)
{
    memset(l, 0, sizeof(*l));
    l->items = calloc((size_t)n, sizeof(*l->items));
    for (int i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/lib/v%03d.mp4", i);
        l->items[l->n++].path = strdup(path);
    }
}

static void test_filter_partitions(void **state)
{
    int seen[100] = {0};
    (void)state;
    for (int s = 0; s < 3; s++) {
        InputList l;
        fill(&l, 100);
        int64_t left = vidx__shard_filter(&l, s, 3);
        assert_int_equal((int64_t)l.n + left, 100);
        for (size_t i = 0; i < l.n; i++) {
            assert_int_equal(vidx__shard_of(l.items[i].path, 3), s);
            seen[atoi(l.items[i].path + 6)]++;
        }
        vidx__inputs_free(&l);
    }
    for (int i = 0; i < 100; i++) /* union: everything; pairwise disjoint: once */
        assert_int_equal(seen[i], 1);
    InputList all;
    fill(&all, 10);
    assert_int_equal(vidx__shard_filter(&all, 0, 0), 0); /* no sharding */
    assert_int_equal(all.n, 10);
    vidx__inputs_free(&all);
}

static void clear_env(void)
{
    unsetenv("SLURM_ARRAY_TASK_ID");
    unsetenv("SLURM_ARRAY_TASK_MIN");
    unsetenv("SLURM_ARRAY_TASK_COUNT");
    unsetenv("JOB_COMPLETION_INDEX");
    unsetenv("VIDX_SHARD_COUNT");
}

static void test_parse(void **state)
{
    int i = -1, n = -1;
    (void)state;
    clear_env();
    assert_int_equal(vidx_shard_parse("2/5", &i, &n), 0);
    assert_int_equal(i, 2);
    assert_int_equal(n, 5);
    static const char *const bad[] = {"5/5",  "-1/3",          "1/0", "1/", "/3",
                                      "a/3",  "1/3x",          "13",  "",   "1 /3",
                                      "1/+3", "99999999999/3", "auto"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
        assert_int_equal(vidx_shard_parse(bad[k], &i, &n), VIDX_EUSAGE);
    assert_int_equal(vidx_shard_parse(NULL, &i, &n), VIDX_EUSAGE);
}

static void test_auto(void **state)
{
    int i = -1, n = -1;
    (void)state;
    clear_env();
    setenv("SLURM_ARRAY_TASK_ID", "12", 1); /* --array=10-13 */
    setenv("SLURM_ARRAY_TASK_MIN", "10", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
    assert_int_equal(vidx_shard_parse("auto", &i, &n), 0);
    assert_int_equal(i, 2);
    assert_int_equal(n, 4);
    setenv("SLURM_ARRAY_TASK_ID", "14", 1); /* not contiguous: --array=10,12,14 */
    assert_int_equal(vidx_shard_parse("auto", &i, &n), VIDX_EUSAGE);
    unsetenv("SLURM_ARRAY_TASK_COUNT");
    setenv("SLURM_ARRAY_TASK_ID", "11", 1);
    assert_int_equal(vidx_shard_parse("auto", &i, &n), VIDX_EUSAGE);
    clear_env();
    setenv("JOB_COMPLETION_INDEX", "3", 1);
    assert_int_equal(vidx_shard_parse("auto", &i, &n), VIDX_EUSAGE); /* no VIDX_SHARD_COUNT */
    setenv("VIDX_SHARD_COUNT", "4", 1);
    assert_int_equal(vidx_shard_parse("auto", &i, &n), 0);
    assert_int_equal(i, 3);
    assert_int_equal(n, 4);
    setenv("VIDX_SHARD_COUNT", "3", 1);
    assert_int_equal(vidx_shard_parse("auto", &i, &n), VIDX_EUSAGE);
    clear_env();
}

int main(void)
{
    vidx_set_log_level(-1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_values),
        cmocka_unit_test(test_balanced),
        cmocka_unit_test(test_filter_partitions),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_auto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
