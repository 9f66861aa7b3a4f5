/*
 * test_api.c - the public API as a C program uses it: error space, safe
 * opening of bad inputs, in-memory sampling of a clip generated with FFmpeg's
 * lavfi (timings known by construction), encoders, perceptual hash, and a
 * job that packs its frames as tar samples (tar_key) against one that
 * writes files.
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

#include "clip.h"
#include "vidx/vidx.h"

static char dir[256];
static char clip[300];

static int setup(void **state)
{
    (void)state;
    /* 2 s, 25 fps, GOP 10 with B-frames: frame k shown at k/25 s. */
    return clip_make(dir, sizeof(dir), "/tmp/vidx-api-XXXXXX", clip, sizeof(clip),
                     "-f lavfi -i testsrc=s=320x240:r=25:d=2 -c:v libx264 -g 10 -bf 2 "
                     "-pix_fmt yuv420p");
}

static int teardown(void **state)
{
    (void)state;
    return clip_remove(dir);
}

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

static void read_at(const char *path, int64_t off, void *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
    assert_int_equal(fread(buf, 1, n, f), n);
    fclose(f);
}

/* One ustar member header at off: its name and size as tar(1) reads them. */
static void assert_member(const char *tar, int64_t off, const char *name, int64_t size)
{
    char h[512];
    read_at(tar, off, h, sizeof(h));
    assert_string_equal(h, name);
    assert_int_equal(strtoll(h + 124, NULL, 8), size);
    assert_memory_equal(h + 257, "ustar", 6);
}

static void test_job_tar(void **state)
{
    VidxJobSettings s;
    VidxJobResult files, packed;
    char out_files[300], out_tar[300], tar[400], name[256], path[400];
    struct stat st;
    (void)state;
    vidx_job_default_settings(&s);
    s.sampler.count = 4;
    snprintf(out_files, sizeof(out_files), "%s/job-files", dir);
    snprintf(out_tar, sizeof(out_tar), "%s/job-tar", dir);
    assert_int_equal(vidx_job_run(clip, out_files, &s, &files), 0);
    s.tar_key = "my.clip";
    assert_int_equal(vidx_job_run(clip, out_tar, &s, &packed), 0);
    assert_int_equal(packed.n_frames, 4);
    assert_int_equal(files.n_frames, 4);
    snprintf(tar, sizeof(tar), "%s/frames.tar", out_tar);
    int64_t end = 0;
    for (size_t i = 0; i < 4; i++) {
        const VidxFrameRecord *a = &files.frames[i], *b = &packed.frames[i];
        assert_string_equal(a->path, b->path);
        assert_string_equal(a->sha256, b->sha256); /* the same image bytes */
        assert_int_equal(a->tar_offset, -1);
        assert_int_equal(b->tar_offset, end); /* samples back to back */
        snprintf(path, sizeof(path), "%s/%s", out_tar, b->path);
        assert_int_not_equal(stat(path, &st), 0); /* no file of its own */
        /* image member, then its .json, under "<key, dots as _>/<stem>" */
        int stem = (int)(strrchr(b->path, '.') - b->path);
        snprintf(name, sizeof(name), "my_clip/%.*s.jpg", stem, b->path);
        assert_member(tar, b->tar_offset, name, b->bytes);
        uint8_t *img = malloc((size_t)b->bytes), *ref = malloc((size_t)b->bytes);
        snprintf(path, sizeof(path), "%s/%s", out_files, a->path);
        read_at(path, 0, ref, (size_t)a->bytes);
        read_at(tar, b->tar_offset + 512, img, (size_t)b->bytes);
        assert_memory_equal(img, ref, (size_t)b->bytes);
        free(img);
        free(ref);
        int64_t json_at = b->tar_offset + 512 + (b->bytes + 511) / 512 * 512;
        char h[512], json[512] = "";
        read_at(tar, json_at, h, sizeof(h));
        snprintf(name, sizeof(name), "my_clip/%.*s.json", stem, b->path);
        assert_string_equal(h, name);
        int64_t jsize = strtoll(h + 124, NULL, 8);
        assert_true(jsize > 0 && jsize < (int64_t)sizeof(json));
        read_at(tar, json_at + 512, json, (size_t)jsize);
        assert_non_null(strstr(json, "\"video_key\":\"my.clip\""));
        assert_non_null(strstr(json, b->sha256));
        assert_int_equal(b->tar_size, json_at + 512 + (jsize + 511) / 512 * 512 - b->tar_offset);
        end += b->tar_size;
    }
    assert_int_equal(packed.tar_end, end);
    assert_int_equal(stat(tar, &st), 0);
    assert_int_equal(st.st_size, end + 1024); /* then tar's two zero end blocks */
    char zero[1024] = {0}, tail[1024];
    read_at(tar, end, tail, sizeof(tail));
    assert_memory_equal(tail, zero, sizeof(zero));

    /* Appending another video's samples to the same archive at its end. */
    VidxJobResult more;
    s.tar_path = tar;
    s.tar_start = end;
    s.tar_key = "other";
    s.sampler.count = 2;
    assert_int_equal(vidx_job_run(clip, out_files, &s, &more), 0);
    assert_int_equal(more.frames[0].tar_offset, end);
    assert_int_equal(more.tar_end, end + more.frames[0].tar_size + more.frames[1].tar_size);
    const VidxFrameRecord *first = &packed.frames[0], *last = &more.frames[1];
    int stem = (int)(strrchr(first->path, '.') - first->path);
    snprintf(name, sizeof(name), "my_clip/%.*s.jpg", stem, first->path);
    assert_member(tar, first->tar_offset, name, first->bytes); /* still there */
    stem = (int)(strrchr(last->path, '.') - last->path);
    snprintf(name, sizeof(name), "other/%.*s.jpg", stem, last->path);
    assert_member(tar, last->tar_offset, name, last->bytes);
    assert_int_equal(stat(tar, &st), 0);
    assert_int_equal(st.st_size, more.tar_end + 1024);
    vidx_job_result_clear(&more);
    s.tar_start = 100; /* not on a block boundary */
    assert_int_equal(vidx_job_run(clip, out_files, &s, &more), VIDX_EUSAGE);
    vidx_job_result_clear(&more);
    vidx_job_result_clear(&files);
    vidx_job_result_clear(&packed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),           cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_sample_in_memory), cmocka_unit_test(test_encode_and_hash),
        cmocka_unit_test(test_job_tar),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
