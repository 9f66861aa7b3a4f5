/*
 * test_watch.c - the media layer's watch hook (media/watch.h) on the standard
 * clip (2 s, 25 fps, B-frames): every picture is seen once, in presentation
 * order, indexed 0..49 at k/25 s, as a same-size full-range grey thumbnail;
 * the frames the sampler delivers are the same with and without a watch; a
 * negative return from the hook stops the sampler with that code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "clip_fixture.h"
#include "media/watch.h"

typedef struct Seen {
    int64_t n, next_index;
    int w, h, bad_time, stop_at;
} Seen;

static int on_picture(void *opaque, const VidxWatchPicture *p)
{
    Seen *s = opaque;
    if (s->stop_at >= 0 && p->index == s->stop_at)
        return VIDX_EUSAGE;
    assert_int_equal(p->index, s->next_index);
    s->next_index++;
    if (!s->n++) {
        s->w = p->width;
        s->h = p->height;
    }
    assert_int_equal(p->width, s->w);
    assert_int_equal(p->height, s->h);
    assert_true(p->stride >= p->width);
    if (p->time < p->index / 25.0 - 1e-6 || p->time > p->index / 25.0 + 1e-6)
        s->bad_time++;
    return 0;
}

/* Samples COUNT=5 frames; md5s and indices into out; with a watch when s is given. */
static int sample(Seen *s, char md5[5][33], int64_t idx[5])
{
    VidxSource *src = NULL;
    VidxSampler *smp = NULL;
    VidxSamplerSettings set;
    const VidxFrame *f;
    VidxWatch w = {on_picture, s, 0};
    int n = 0, ret;
    assert_int_equal(vidx_source_open(&src, clip, NULL), 0);
    vidx_sampler_default_settings(&set);
    set.count = 5;
    set.pixel = VIDX_PIXEL_NATIVE;
    set.threads = 1;
    assert_int_equal(vidx__sampler_open_watched(&smp, src, &set, NULL, s ? &w : NULL), 0);
    while ((ret = vidx_sampler_next(smp, &f)) > 0 && n < 5) {
        assert_int_equal(vidx_frame_md5(f, md5[n]), 0);
        idx[n++] = f->index;
    }
    vidx_sampler_close(&smp);
    vidx_source_close(&src);
    return ret < 0 ? ret : n;
}

static void sees_every_picture(void **state)
{
    (void)state;
    Seen s = {.stop_at = -1};
    char md5[5][33];
    int64_t idx[5];
    assert_int_equal(sample(&s, md5, idx), 5);
    assert_int_equal(s.n, 50);
    assert_int_equal(s.w, 64);
    assert_int_equal(s.h, 48);
    assert_int_equal(s.bad_time, 0);
}

static void same_frames_with_and_without(void **state)
{
    (void)state;
    Seen s = {.stop_at = -1};
    char a[5][33], b[5][33];
    int64_t ia[5], ib[5];
    assert_int_equal(sample(NULL, a, ia), 5);
    assert_int_equal(sample(&s, b, ib), 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ia[i], ib[i]);
        assert_string_equal(a[i], b[i]);
    }
}

static void hook_error_stops(void **state)
{
    (void)state;
    Seen s = {.stop_at = 30};
    char md5[5][33];
    int64_t idx[5];
    assert_int_equal(sample(&s, md5, idx), VIDX_EUSAGE);
    assert_int_equal(s.n, 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sees_every_picture),
        cmocka_unit_test(same_frames_with_and_without),
        cmocka_unit_test(hook_error_stops),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
