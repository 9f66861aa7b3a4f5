/*
 * test_path.c - the identity of a file (src/core/path.c): canonical
 * paths of files that exist (symlinks resolved) and that do not (resolved by
 * their text below their existing parent), URLs untouched, relative names
 * against a given directory; and the (device, inode) set.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/path.h"

static void expect_canonical(const char *path, const char *base, const char *want)
{
    char *got = vidx__path_canonical(path, base);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_missing_paths_by_text(void **state)
{
    (void)state;
    expect_canonical("/nonexistent-vidx/a//b/./c/../d.mp4", NULL, "/nonexistent-vidx/a/b/d.mp4");
    expect_canonical("/nonexistent-vidx/../../x", NULL, "/x");
    expect_canonical("/nonexistent-vidx/dir/", NULL, "/nonexistent-vidx/dir");
    expect_canonical("/", NULL, "/");
    expect_canonical("../y.mp4", "/nonexistent-vidx/lists", "/nonexistent-vidx/y.mp4");
}

static void test_urls_untouched(void **state)
{
    (void)state;
    expect_canonical("http://Example.com/a/../b.mp4", NULL, "http://Example.com/a/../b.mp4");
    expect_canonical("https://h/x", "/base", "https://h/x");
}

/* A real directory with a file and a symlink to it: every spelling is the same name. */
static void test_existing_and_symlinks(void **state)
{
    (void)state;
    char dir[] = "/tmp/vidx-canon-XXXXXX", file[PATH_MAX], link[PATH_MAX], want[PATH_MAX];
    assert_non_null(mkdtemp(dir));
    char *real = realpath(dir, NULL);
    assert_non_null(real);
    snprintf(file, sizeof(file), "%s/v.mp4", dir);
    snprintf(link, sizeof(link), "%s/l.mp4", dir);
    snprintf(want, sizeof(want), "%s/v.mp4", real);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(symlink("v.mp4", link), 0);
    expect_canonical(file, NULL, want);
    expect_canonical(link, NULL, want);
    expect_canonical("./v.mp4", dir, want);
    expect_canonical("sub/../v.mp4", dir, want); /* sub does not exist: by text */
    expect_canonical(".//v.mp4", real, want);
    /* A missing path below a symlinked directory: the link is resolved however deep
     * the missing part goes (an OUT not made yet is compared with the inputs so). */
    char dirlink[PATH_MAX], deep[PATH_MAX], want_deep[PATH_MAX + 32];
    snprintf(dirlink, sizeof(dirlink), "%s/d", dir);
    snprintf(deep, sizeof(deep), "%s/d/new/deeper/out", dir);
    snprintf(want_deep, sizeof(want_deep), "%s/new/deeper/out", real);
    assert_int_equal(symlink(".", dirlink), 0);
    expect_canonical(deep, NULL, want_deep);
    unlink(dirlink);
    unlink(link);
    unlink(file);
    rmdir(dir);
    free(real);
}

static void test_fileid_set(void **state)
{
    (void)state;
    FileIdSet s = {0};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(vidx__fileid_add(&s, (FileId){(dev_t)(i % 3), (ino_t)i}), 1);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(vidx__fileid_add(&s, (FileId){(dev_t)(i % 3), (ino_t)i}), 0);
    assert_int_equal(vidx__fileid_add(&s, (FileId){7, 5}), 1);
    assert_int_equal(s.n, 1001);
    vidx__fileid_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_paths_by_text),
        cmocka_unit_test(test_urls_untouched),
        cmocka_unit_test(test_existing_and_symlinks),
        cmocka_unit_test(test_fileid_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
