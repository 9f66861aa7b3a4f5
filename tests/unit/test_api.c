/*
 * test_api.c - the public API as a C program uses it: error space, safe
 * opening of bad inputs, in-memory sampling of a clip generated with FFmpeg's
 * lavfi (timings known by construction), encoders and perceptual hash, a
 * file's audio (vidx_audio_decode). (The
 * tar samples of vidx run's shards are tested with their sink:
 * test_sink_tar.c.)
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <libavutil/error.h>

#include "vidx/vidx.h"

#include "clip_fixture.h"

static void write_file(const char *name, const char *text, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_errors(void **state)
{
    (void)state;
    int codes[] = {VIDX_ENOVIDEO, VIDX_EFORMAT, VIDX_EREFUSED, VIDX_EDECODE, VIDX_EEMPTY};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        assert_true(strlen(vidx_strerror(codes[i])) > 3);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(vidx_strerror(codes[i]), vidx_strerror(codes[k]));
    }
    assert_string_equal(vidx_error_class(AVERROR(ENOENT)), "notfound");
    assert_string_equal(vidx_error_class(VIDX_EREFUSED), "refused");
    assert_string_equal(vidx_strerror(0), "success");
}

static void test_bad_inputs(void **state)
{
    VidxSource *src = (VidxSource *)1;
    char path[512];
    (void)state;
    assert_int_equal(vidx_source_open(&src, "/nonexistent/x.mp4", NULL), AVERROR(ENOENT));
    assert_null(src);
    assert_int_equal(vidx_source_open(&src, dir, NULL), AVERROR(EISDIR));
    write_file("empty.mp4", "", path, sizeof(path));
    assert_int_equal(vidx_source_open(&src, path, NULL), VIDX_EEMPTY);
    write_file("text.mp4", "this is not a video, just some text\n", path, sizeof(path));
    assert_int_equal(vidx_source_open(&src, path, NULL), VIDX_EFORMAT);
    char m3u[1024];
    snprintf(m3u, sizeof(m3u), "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n%s\n#EXT-X-ENDLIST\n",
             clip);
    write_file("playlist.mp4", m3u, path, sizeof(path));
    assert_int_equal(vidx_source_open(&src, path, NULL), VIDX_EREFUSED);
    vidx_source_close(&src); /* NULL is fine */
}

/* Static shards through the public API: bad arguments are refused before anything is made. */
static void test_shards_and_merge_args(void **state)
{
    const char *parts[] = {dir};
    char *report = (char *)1, dest[600];
    int i = -1, n = -1;
    VidxRunSettings s;
    VidxRunSummary sum;
    (void)state;
    assert_int_equal(vidx_shard_parse("3/7", &i, &n), 0);
    assert_int_equal(i * 10 + n, 37);
    assert_int_equal(vidx_shard_parse("7/7", &i, &n), VIDX_EUSAGE);
    vidx_run_default_settings(&s);
    assert_int_equal(s.shard_count, 0); /* default: every video */
    s.shard_index = 2, s.shard_count = 2;
    snprintf(dest, sizeof(dest), "%s/never-made", dir);
    assert_int_equal(vidx_run(parts, 1, dest, &s, &sum), VIDX_EUSAGE);
    assert_int_equal(access(dest, F_OK), -1);
    assert_int_equal(vidx_merge(dest, parts, 0, &report), VIDX_EUSAGE);
    assert_null(report);
    assert_int_equal(vidx_merge(NULL, parts, 1, &report), VIDX_EUSAGE);
    assert_int_equal(vidx_merge(dest, parts, 1, NULL), VIDX_EUSAGE);
    assert_int_equal(access(dest, F_OK), -1);
}

static void test_sample_in_memory(void **state)
{
    VidxSource *src;
    VidxSampler *smp;
    VidxSamplerSettings s;
    const VidxFrame *f;
    double want[4] = {0.24, 0.72, 1.24, 1.72}; /* frames shown at 0.25, 0.75, 1.25, 1.75 */
    int n = 0;
    (void)state;
    assert_int_equal(vidx_source_open(&src, clip, NULL), 0);
    const VidxVideoInfo *vi = vidx_source_video_info(src);
    assert_int_equal(vi->display_width, 320);
    assert_true(fabs(vi->duration - 2.0) < 1e-6);
    vidx_sampler_default_settings(&s);
    s.count = 0;
    assert_int_equal(vidx_sampler_open(&smp, src, &s), VIDX_EUSAGE);
    s.count = 4;
    s.pixel = VIDX_PIXEL_RGB24;
    assert_int_equal(vidx_sampler_open(&smp, src, &s), 0);
    while (vidx_sampler_next(smp, &f) > 0) {
        assert_true(n < 4);
        assert_int_equal(f->width, 320);
        assert_int_equal(f->height, 240);
        assert_true(fabs(f->time - want[n]) < 1e-9);
        assert_int_equal(f->index, (int64_t)lrint(want[n] * 25));
        n++;
    }
    assert_int_equal(n, 4);
    VidxSamplerStats st;
    vidx_sampler_stats(smp, &st);
    assert_true(st.frames_decoded < 50); /* not a full decode */
    assert_int_equal(st.partial, 0);
    vidx_sampler_close(&smp);
    assert_null(smp);
    vidx_source_close(&src);
}

static void test_encode_and_hash(void **state)
{
    static const uint8_t magic[3][4] = {
        {0xff, 0xd8, 0xff, 0}, {'R', 'I', 'F', 'F'}, {0x89, 'P', 'N', 'G'}};
    VidxImageFormat fmts[3] = {VIDX_IMAGE_JPEG, VIDX_IMAGE_WEBP, VIDX_IMAGE_PNG};
    (void)state;
    for (int i = 0; i < 3; i++) {
        VidxSource *src;
        VidxSampler *smp;
        VidxSamplerSettings s;
        const VidxFrame *f;
        uint8_t *out;
        size_t size;
        assert_int_equal(vidx_source_open(&src, clip, NULL), 0);
        vidx_sampler_default_settings(&s);
        s.mode = VIDX_MODE_INDICES;
        int64_t idx[1] = {-1};
        s.indices = idx;
        s.n_indices = 1;
        s.pixel = vidx_image_pixel(fmts[i]);
        assert_int_equal(vidx_sampler_open(&smp, src, &s), 0);
        assert_int_equal(vidx_sampler_next(smp, &f), 1);
        assert_int_equal(f->index, 49);
        assert_int_equal(vidx_image_encode(f, fmts[i], 90, &out, &size), 0);
        assert_true(size > 100);
        assert_memory_equal(out, magic[i], i == 0 ? 3 : 4);
        assert_int_equal(vidx_phash_distance(vidx_frame_phash(f), vidx_frame_phash(f)), 0);
        vidx_free(out);
        assert_int_equal(vidx_sampler_next(smp, &f), 0);
        vidx_sampler_close(&smp);
        vidx_source_close(&src);
    }
}

/* per_scene through the public API: the clip is one shot of 50 frames. */
static void test_per_scene(void **state)
{
    VidxJobSettings s;
    VidxJobResult r;
    char out[512];
    static const struct {
        int k, pick;
        int64_t want[3];
    } cases[] = {{2, VIDX_PICK_FIRST, {0, 1}},
                 {3, VIDX_PICK_MIDDLE, {24, 25, 26}},
                 {2, VIDX_PICK_SPREAD, {12, 37}}};
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        vidx_job_default_settings(&s);
        s.per_scene = cases[c].k;
        s.per_scene_pick = cases[c].pick;
        snprintf(out, sizeof(out), "%s/per_scene%zu", dir, c);
        assert_int_equal(vidx_job_run(clip, out, &s, &r), 0);
        assert_int_equal(r.n_frames, (size_t)cases[c].k);
        for (int i = 0; i < cases[c].k; i++)
            assert_int_equal(r.frames[i].index, cases[c].want[i]);
        vidx_job_result_clear(&r);
    }
    vidx_job_default_settings(&s);
    s.per_scene = 1;
    s.per_scene_pick = 3;
    assert_int_equal(vidx_job_check_settings(&s), VIDX_EUSAGE);
    s.per_scene_pick = VIDX_PICK_FIRST;
    s.sampler.approx = 1;
    assert_int_equal(vidx_job_check_settings(&s), VIDX_EUSAGE);
    s.sampler.approx = 0;
    s.per_scene = -1;
    assert_int_equal(vidx_job_check_settings(&s), VIDX_EUSAGE);
}

static int count_samples(void *opaque, const int16_t *samples, int nb_samples)
{
    (void)samples;
    *(int64_t *)opaque += nb_samples;
    return 0;
}

/* vidx_audio_decode: all of a file's audio through the callback, twice from one source. */
static void test_audio_decode(void **state)
{
    char wav[300], cmd[700];
    VidxSource *src;
    VidxSourceSettings ss;
    int64_t n = 0, errors = -1;
    (void)state;
    snprintf(wav, sizeof(wav), "%s/tone.wav", dir);
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -v error -y -f lavfi -i sine=f=440:r=44100:d=1.5 %s", wav);
    assert_int_equal(system(cmd), 0);
    VidxAudioSettings as = {0, 8000, 1, count_samples, &n};
    /* the video-only clip has no audio */
    vidx_source_default_settings(&ss);
    assert_int_equal(vidx_source_open(&src, clip, &ss), 0);
    assert_int_equal(vidx_audio_decode(src, &as, &errors), VIDX_EFORMAT);
    assert_string_equal(vidx_error_detail(VIDX_EFORMAT), "the file has no audio stream");
    vidx_source_close(&src);
    ss.audio_only = 1;
    assert_int_equal(vidx_source_open(&src, wav, &ss), 0);
    assert_int_equal(vidx_audio_decode(src, NULL, NULL), VIDX_EUSAGE);
    assert_int_equal(vidx_audio_decode(src, &as, &errors), 0);
    assert_int_equal(errors, 0);
    assert_true(llabs(n - 12000) <= 2); /* 1.5 s at 8 kHz, within resampling rounding */
    int64_t first = n;
    n = 0;
    assert_int_equal(vidx_audio_decode(src, &as, NULL), 0); /* read again from the start */
    assert_int_equal(n, first);
    vidx_source_close(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_shards_and_merge_args),
        cmocka_unit_test(test_sample_in_memory),
        cmocka_unit_test(test_encode_and_hash),
        cmocka_unit_test(test_per_scene),
        cmocka_unit_test(test_audio_decode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
