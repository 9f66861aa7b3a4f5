/*
 * test_array.c - the growable-array helper (core/array.h): capacity doubles
 * from the first size, contents survive, a request it cannot size is
 * -ENOMEM with the array and its capacity unchanged.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/array.h"

static void test_grows_by_doubling(void **state)
{
    int64_t *a = NULL;
    size_t cap = 0;
    (void)state;
    for (size_t n = 0; n < 1000; n++) {
        assert_int_equal(vidx__grow(&a, &cap, n + 1, sizeof(*a), 16), 0);
        assert_true(cap >= n + 1);
        a[n] = (int64_t)n * 3;
    }
    assert_int_equal(cap, 1024); /* 16, 32, ... 1024 */
    for (size_t n = 0; n < 1000; n++)
        assert_int_equal(a[n], (int64_t)n * 3);
    assert_int_equal(vidx__grow(&a, &cap, 10, sizeof(*a), 16), 0); /* room already */
    assert_int_equal(cap, 1024);
    assert_int_equal(vidx__grow(&a, &cap, 5000, sizeof(*a), 16), 0); /* several doublings */
    assert_int_equal(cap, 8192);
    free(a);
}

static void test_first_capacity(void **state)
{
    char *a = NULL;
    size_t cap = 0;
    (void)state;
    assert_int_equal(vidx__grow(&a, &cap, 1, 1, 131072), 0);
    assert_int_equal(cap, 131072);
    free(a);
}

static void test_overflow_leaves_array(void **state)
{
    int64_t *a = NULL, *before;
    size_t cap = 0;
    (void)state;
    assert_int_equal(vidx__grow(&a, &cap, 4, sizeof(*a), 4), 0);
    before = a;
    a[3] = 42;
    assert_int_equal(vidx__grow(&a, &cap, SIZE_MAX / 4, sizeof(*a), 4), -ENOMEM);
    assert_int_equal(vidx__grow(&a, &cap, SIZE_MAX, 1, 4), -ENOMEM);
    assert_ptr_equal(a, before);
    assert_int_equal(cap, 4);
    assert_int_equal(a[3], 42);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grows_by_doubling),
        cmocka_unit_test(test_first_capacity),
        cmocka_unit_test(test_overflow_leaves_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
