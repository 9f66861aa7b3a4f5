/*
 * test_sink_tar.c - the tar sink (src/pipeline/sink_tar.c) through the job as
 * vidx run's workers use it (vidx__job_run_into): a job that packs its frames
 * as WebDataset samples against one that writes files (the same images, back
 * to back, under "<key, dots as _>/<stem>", each with its .json, then tar's
 * end blocks), a second video appended at the first one's end, and a start
 * off a block boundary refused. Moved here from test_api.c when the shard
 * fields left the public API.
 */
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

#include "pipeline/job_internal.h"

#include "clip_fixture.h"

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

static void job_tar(void **state)
{
    VidxJobSettings s;
    VidxJobResult files, packed;
    JobOutput po, mo;
    JobTarget target = {.sink = &vidx__sink_tar, .key = "my.clip"};
    char out_files[300], out_tar[300], tar[400], name[256], path[400];
    struct stat st;
    (void)state;
    vidx_job_default_settings(&s);
    s.sampler.count = 4;
    snprintf(out_files, sizeof(out_files), "%s/job-files", dir);
    snprintf(out_tar, sizeof(out_tar), "%s/job-tar", dir);
    assert_int_equal(vidx_job_run(clip, out_files, &s, &files), 0);
    assert_int_equal(vidx__job_run_into(clip, out_tar, &s, &target, &packed, &po), 0);
    assert_int_equal(packed.n_frames, 4);
    assert_int_equal(files.n_frames, 4);
    snprintf(tar, sizeof(tar), "%s/frames.tar", out_tar);
    int64_t end = 0;
    for (size_t i = 0; i < 4; i++) {
        const VidxFrameRecord *a = &files.frames[i], *b = &packed.frames[i];
        assert_string_equal(a->path, b->path);
        assert_string_equal(a->sha256, b->sha256); /* the same image bytes */
        const TarSpan *sp = &po.spans[i];
        assert_int_equal(sp->offset, end); /* samples back to back */
        snprintf(path, sizeof(path), "%s/%s", out_tar, b->path);
        assert_int_not_equal(stat(path, &st), 0); /* no file of its own */
        /* image member, then its .json, under "<key, dots as _>/<stem>" */
        int stem = (int)(strrchr(b->path, '.') - b->path);
        snprintf(name, sizeof(name), "my_clip/%.*s.jpg", stem, b->path);
        assert_member(tar, sp->offset, name, b->bytes);
        uint8_t *img = malloc((size_t)b->bytes), *ref = malloc((size_t)b->bytes);
        snprintf(path, sizeof(path), "%s/%s", out_files, a->path);
        read_at(path, 0, ref, (size_t)a->bytes);
        read_at(tar, sp->offset + 512, img, (size_t)b->bytes);
        assert_memory_equal(img, ref, (size_t)b->bytes);
        free(img);
        free(ref);
        int64_t json_at = sp->offset + 512 + (b->bytes + 511) / 512 * 512;
        char h[512], json[512] = "";
        read_at(tar, json_at, h, sizeof(h));
        snprintf(name, sizeof(name), "my_clip/%.*s.json", stem, b->path);
        assert_string_equal(h, name);
        int64_t jsize = strtoll(h + 124, NULL, 8);
        assert_true(jsize > 0 && jsize < (int64_t)sizeof(json));
        read_at(tar, json_at + 512, json, (size_t)jsize);
        assert_non_null(strstr(json, "\"video_key\":\"my.clip\""));
        assert_non_null(strstr(json, b->sha256));
        assert_int_equal(sp->size, json_at + 512 + (jsize + 511) / 512 * 512 - sp->offset);
        end += sp->size;
    }
    assert_int_equal(po.tar_end, end);
    assert_int_equal(po.tar_samples, 4);
    assert_int_equal(stat(tar, &st), 0);
    assert_int_equal(st.st_size, end + 1024); /* then tar's two zero end blocks */
    char zero[1024] = {0}, tail[1024];
    read_at(tar, end, tail, sizeof(tail));
    assert_memory_equal(tail, zero, sizeof(zero));

    /* Appending another video's samples to the same archive at its end. */
    VidxJobResult more;
    target = (JobTarget){.sink = &vidx__sink_tar, .key = "other", .shard = tar, .start = end};
    s.sampler.count = 2;
    assert_int_equal(vidx__job_run_into(clip, out_files, &s, &target, &more, &mo), 0);
    assert_int_equal(mo.spans[0].offset, end);
    assert_int_equal(mo.tar_end, end + mo.spans[0].size + mo.spans[1].size);
    const VidxFrameRecord *first = &packed.frames[0], *last = &more.frames[1];
    int stem = (int)(strrchr(first->path, '.') - first->path);
    snprintf(name, sizeof(name), "my_clip/%.*s.jpg", stem, first->path);
    assert_member(tar, po.spans[0].offset, name, first->bytes); /* still there */
    stem = (int)(strrchr(last->path, '.') - last->path);
    snprintf(name, sizeof(name), "other/%.*s.jpg", stem, last->path);
    assert_member(tar, mo.spans[1].offset, name, last->bytes);
    assert_int_equal(stat(tar, &st), 0);
    assert_int_equal(st.st_size, mo.tar_end + 1024);
    vidx_job_result_clear(&more);
    vidx__job_output_clear(&mo);
    target.start = 100; /* not on a block boundary */
    assert_int_equal(vidx__job_run_into(clip, out_files, &s, &target, &more, &mo), VIDX_EUSAGE);
    vidx_job_result_clear(&more);
    vidx__job_output_clear(&mo);
    vidx__job_output_clear(&po);
    vidx_job_result_clear(&files);
    vidx_job_result_clear(&packed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(job_tar),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
