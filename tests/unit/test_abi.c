/*
 * test_abi.c - settings structs across library versions ("ABI" in vidx.h).
 * A caller compiled against an older header is simulated by a struct_size
 * smaller than today's (cut at a field boundary; what lies past it in memory is
 * not the caller's and holds values that would change the outcome if read), a
 * newer caller by a larger one. Checks that the library writes defaults only
 * into the caller's bytes, gives the older caller the defaults for the rest
 * (also for a nested struct that is older than the struct around it, which
 * moves the outer struct's own fields), takes a newer caller whose unknown
 * fields are zero, and refuses impossible sizes and set unknown fields with
 * VIDX_EUSAGE before touching anything.
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

#include "clip.h"
#include "vidx/vidx.h"

static char dir[256];
static char clip[300];

/* A sampler struct as a caller built before max_frames existed has it. */
#define OLD_SAMPLER offsetof(VidxSamplerSettings, max_frames)
/* Where the job's own fields start, and how many bytes they take. */
#define JOB_OWN     offsetof(VidxJobSettings, format)
#define JOB_OWN_LEN (sizeof(VidxJobSettings) - JOB_OWN)
/* A job struct around that older sampler struct: its own fields move up. */
#define OLD_JOB_SAMPLER (sizeof(size_t) + sizeof(VidxSourceSettings))
#define OLD_JOB_OWN     (OLD_JOB_SAMPLER + OLD_SAMPLER)
#define OLD_JOB         (OLD_JOB_OWN + JOB_OWN_LEN)

typedef union Buf { /* room for any caller struct, aligned like a settings struct */
    unsigned char b[2048];
    size_t align;
    double d;
} Buf;

static int setup(void **state)
{
    (void)state;
    /* 2 s at 25 fps. */
    return clip_make(dir, sizeof(dir), "/tmp/vidx-abi-XXXXXX", clip, sizeof(clip),
                     "-f lavfi -i testsrc=s=160x120:r=25:d=2 -c:v libx264 -pix_fmt yuv420p");
}

static int teardown(void **state)
{
    (void)state;
    return clip_remove(dir);
}

/* Frames a sampler with settings s delivers from the clip, or the error that ended it. */
static int count_frames(const VidxSamplerSettings *s)
{
    VidxSource *src;
    VidxSampler *smp;
    const VidxFrame *f;
    int n = 0, ret;
    assert_int_equal(vidx_source_open(&src, clip, NULL), 0);
    ret = vidx_sampler_open(&smp, src, s);
    while (ret == 0 && (ret = vidx_sampler_next(smp, &f)) > 0) {
        n++;
        ret = 0;
    }
    vidx_sampler_close(&smp);
    vidx_source_close(&src);
    return ret < 0 ? ret : n;
}

static void test_layout_is_at_the_front(void **state)
{
    (void)state;
    /* The rules the library relies on to find fields at a caller's size. */
    assert_int_equal(offsetof(VidxSourceSettings, struct_size), 0);
    assert_int_equal(offsetof(VidxSamplerSettings, struct_size), 0);
    assert_int_equal(offsetof(VidxJobSettings, source), sizeof(size_t));
    assert_int_equal(offsetof(VidxRunSettings, job), sizeof(size_t));
    assert_int_equal(OLD_SAMPLER % sizeof(size_t), 0);
}

static void test_defaults_fill_the_caller_size_only(void **state)
{
    Buf buf;
    VidxSamplerSettings *s = (VidxSamplerSettings *)buf.b;
    VidxSamplerSettings full;
    (void)state;
    vidx_sampler_default_settings(&full);
    assert_int_equal(full.struct_size, sizeof(full));
    memset(buf.b, 0xab, sizeof(buf.b));
    assert_int_equal(vidx_sampler_settings_init(s, OLD_SAMPLER), 0);
    assert_int_equal(s->struct_size, OLD_SAMPLER);
    assert_int_equal(s->count, full.count);
    assert_int_equal(s->mode, full.mode);
    for (size_t i = OLD_SAMPLER; i < sizeof(buf.b); i++)
        assert_int_equal(buf.b[i], 0xab); /* not the caller's memory: untouched */
}

static void test_older_caller_gets_defaults(void **state)
{
    Buf buf;
    VidxSamplerSettings *s = (VidxSamplerSettings *)buf.b;
    (void)state;
    memset(buf.b, 0, sizeof(buf.b));
    vidx_sampler_settings_init(s, sizeof(*s));
    s->count = 4;
    s->max_frames = 1; /* control: read at full size, it stops the sampler */
    assert_int_equal(count_frames(s), VIDX_ELIMIT);
    assert_int_equal(vidx_sampler_settings_init(s, OLD_SAMPLER), 0);
    s->count = 4;
    s->max_frames = 1; /* past the older caller's struct: the default applies */
    assert_int_equal(vidx_sampler_check_settings(s), 0);
    assert_int_equal(count_frames(s), 4);
}

/* A job struct whose sampler is older than the library's: the job's own fields sit lower. */
static VidxJobSettings *old_job(Buf *buf)
{
    VidxJobSettings *j = (VidxJobSettings *)buf->b;
    size_t source_size = sizeof(VidxSourceSettings), sampler_size = OLD_SAMPLER;
    memset(buf->b, 0xab, sizeof(buf->b));
    memcpy(buf->b + sizeof(size_t), &source_size, sizeof(size_t));
    memcpy(buf->b + OLD_JOB_SAMPLER, &sampler_size, sizeof(size_t));
    assert_int_equal(vidx_job_settings_init(j, OLD_JOB), 0);
    return j;
}

/* The job's own field at library offset off, where the older caller has it. */
static void *old_job_field(Buf *buf, size_t off)
{
    return buf->b + OLD_JOB_OWN + (off - JOB_OWN);
}

static void test_older_nested_struct(void **state)
{
    Buf buf;
    VidxJobSettings *j = old_job(&buf);
    VidxImageFormat webp = VIDX_IMAGE_WEBP, jpeg = VIDX_IMAGE_JPEG;
    int quality;
    (void)state;
    for (size_t i = OLD_JOB; i < sizeof(buf.b); i++)
        assert_int_equal(buf.b[i], 0xab);
    memcpy(&quality, old_job_field(&buf, offsetof(VidxJobSettings, quality)), sizeof(int));
    assert_int_equal(quality, 90); /* the default, where this caller has the field */
    assert_int_equal(j->sampler.count, 8);
    /* WebP refuses 16400-pixel sides: the format is read where the caller put it. */
    j->sampler.width = 16400;
    j->sampler.height = 100;
    memcpy(old_job_field(&buf, offsetof(VidxJobSettings, format)), &webp, sizeof(webp));
    assert_int_equal(vidx_job_check_settings(j), VIDX_EUSAGE);
    assert_non_null(strstr(vidx_error_detail(VIDX_EUSAGE), "WebP"));
    memcpy(old_job_field(&buf, offsetof(VidxJobSettings, format)), &jpeg, sizeof(jpeg));
    assert_int_equal(vidx_job_check_settings(j), 0);
}

static void test_older_job_runs(void **state)
{
    Buf buf;
    VidxJobSettings *j = old_job(&buf);
    VidxJobResult res;
    char out[300];
    (void)state;
    snprintf(out, sizeof(out), "%s/job", dir);
    j->sampler.count = 3;
    assert_int_equal(vidx_job_run(clip, out, j, &res), 0);
    assert_int_equal(res.n_frames, 3);
    assert_non_null(res.frames[0].path);
    assert_string_equal(res.frames[0].path + strlen(res.frames[0].path) - 4, ".jpg");
    vidx_job_result_clear(&res);
}

static void test_newer_caller(void **state)
{
    Buf buf;
    VidxSamplerSettings *s = (VidxSamplerSettings *)buf.b;
    size_t newer = sizeof(*s) + 16;
    (void)state;
    memset(buf.b, 0xab, sizeof(buf.b));
    assert_int_equal(vidx_sampler_settings_init(s, newer), 0);
    assert_int_equal(s->struct_size, newer);
    for (size_t i = sizeof(*s); i < newer; i++)
        assert_int_equal(buf.b[i], 0); /* fields this library does not know: zero */
    assert_int_equal(buf.b[newer], 0xab);
    s->count = 2;
    assert_int_equal(count_frames(s), 2);
    buf.b[sizeof(*s) + 3] = 1; /* a field this library does not know, set */
    assert_int_equal(vidx_sampler_check_settings(s), VIDX_EUSAGE);
    assert_int_equal(count_frames(s), VIDX_EUSAGE);
}

static void test_bad_sizes_refused(void **state)
{
    static const size_t bad[] = {0, 3, sizeof(size_t) + 1, 1u << 20};
    VidxSourceSettings src_set;
    VidxSamplerSettings smp_set;
    VidxJobSettings job;
    VidxRunSettings run;
    VidxRunSummary sum;
    VidxJobResult res;
    VidxSource *src = NULL;
    char out[300], out2[300];
    const char *inputs[] = {clip};
    struct stat st;
    (void)state;
    snprintf(out, sizeof(out), "%s/never-job", dir);
    snprintf(out2, sizeof(out2), "%s/never-run", dir);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vidx_source_default_settings(&src_set);
        vidx_sampler_default_settings(&smp_set);
        vidx_job_default_settings(&job);
        vidx_run_default_settings(&run);
        src_set.struct_size = smp_set.struct_size = job.struct_size = run.struct_size = bad[i];
        assert_int_equal(vidx_source_open(&src, clip, &src_set), VIDX_EUSAGE);
        assert_null(src);
        assert_int_equal(vidx_sampler_check_settings(&smp_set), VIDX_EUSAGE);
        assert_int_equal(count_frames(&smp_set), VIDX_EUSAGE);
        assert_int_equal(vidx_job_check_settings(&job), VIDX_EUSAGE);
        assert_int_equal(vidx_job_run(clip, out, &job, &res), VIDX_EUSAGE);
        vidx_job_result_clear(&res);
        assert_int_equal(vidx_run(inputs, 1, out2, &run, &sum), VIDX_EUSAGE);
        assert_int_equal(vidx_sampler_settings_init(&smp_set, bad[i] ? bad[i] : 1), VIDX_EUSAGE);
    }
    /* A bad nested size is refused as well. */
    vidx_run_default_settings(&run);
    run.job.sampler.struct_size = 0;
    assert_int_equal(vidx_run(inputs, 1, out2, &run, &sum), VIDX_EUSAGE);
    assert_non_null(strstr(vidx_error_detail(VIDX_EUSAGE), "VidxSamplerSettings"));
    assert_int_equal(stat(out, &st), -1); /* nothing was created */
    assert_int_equal(stat(out2, &st), -1);
}

/* VidxSlurmSettings: an older caller (cut before run_args) gets the default,
 * a newer one with zeros past today's fields is taken, bad sizes are refused. */
static void test_slurm_settings(void **state)
{
    Buf buf;
    VidxSlurmSettings *s = (VidxSlurmSettings *)buf.b;
    const char *in[] = {"/v/a.mp4"};
    char *text = NULL;
    const char *bogus[] = {"--bogus"};
    (void)state;
    memset(buf.b, 0, sizeof(buf.b));
    assert_int_equal(vidx_slurm_settings_init(s, offsetof(VidxSlurmSettings, run_args)), 0);
    assert_int_equal(s->array, 1);
    assert_int_equal(s->cpus_per_task, 1);
    s->array = 3;
    s->run_args = bogus; /* past the caller's size: not the caller's, never read */
    s->n_run_args = 1;
    assert_int_equal(vidx_slurm_script(in, 1, "/o", s, &text), 0);
    assert_non_null(strstr(text, "#SBATCH --array=0-2\n"));
    assert_null(strstr(text, "--bogus"));
    vidx_free(text);
    memset(buf.b, 0, sizeof(buf.b));
    assert_int_equal(vidx_slurm_settings_init(s, sizeof(*s) + 16), 0);
    assert_int_equal(vidx_slurm_merge_script("/o", s, &text), 0);
    vidx_free(text);
    buf.b[sizeof(*s) + 8] = 1;
    assert_int_equal(vidx_slurm_script(in, 1, "/o", s, &text), VIDX_EUSAGE);
    assert_null(text);
    for (size_t bad = 0; bad < 4; bad++) {
        vidx_slurm_default_settings(s);
        s->struct_size = bad == 3 ? 1u << 20 : bad * 3;
        assert_int_equal(vidx_slurm_script(in, 1, "/o", s, &text), VIDX_EUSAGE);
        assert_int_equal(vidx_slurm_merge_script("/o", s, &text), VIDX_EUSAGE);
    }
}

/* VidxTranscribeSettings: defaults only up to the caller's size; a newer caller's
 * unknown field set, or a size no version has, is refused before any work. */
static void test_transcribe_settings(void **state)
{
    Buf buf;
    VidxTranscribeSettings *s = (VidxTranscribeSettings *)buf.b;
    VidxSource *src = NULL;
    VidxTranscript *t = NULL;
    (void)state;
    memset(buf.b, 0xAA, sizeof(buf.b));
    assert_int_equal(
        vidx_transcribe_settings_init(s, offsetof(VidxTranscribeSettings, chunk_seconds)), 0);
    assert_true(s->timeout == 300 && s->retries == 3 && s->asr_url == NULL);
    for (size_t i = offsetof(VidxTranscribeSettings, chunk_seconds); i < sizeof(*s); i++)
        assert_int_equal(buf.b[i], 0xAA);
    assert_int_equal(vidx_source_open(&src, clip, NULL), 0);
    memset(buf.b, 0, sizeof(buf.b));
    assert_int_equal(vidx_transcribe_settings_init(s, sizeof(*s) + 16), 0);
    s->asr_url = "http://127.0.0.1:9";
    buf.b[sizeof(*s) + 8] = 1;
    assert_int_equal(vidx_transcribe(&t, src, s), VIDX_EUSAGE);
    assert_null(t);
    vidx_transcribe_default_settings(s);
    s->struct_size = 0;
    assert_int_equal(vidx_transcribe(&t, src, s), VIDX_EUSAGE);
    vidx_source_close(&src);
}

/* A run settings struct as a caller built before transcode existed has it. */
#define OLD_RUN offsetof(VidxRunSettings, transcode)

/* VidxRunSettings: an older caller (cut before transcode) gets no transcode stage; what lies
 * past its struct (a preset that does not exist, no_frames) would refuse the run if read. */
static void test_run_settings_transcode(void **state)
{
    Buf buf;
    VidxRunSettings *s = (VidxRunSettings *)buf.b;
    VidxRunSummary sum;
    char out[300];
    const char *in[] = {clip};
    (void)state;
    memset(buf.b, 0, sizeof(buf.b));
    vidx_run_default_settings(s);
    s->job.sampler.count = 1;
    s->transcode = "no-such-preset";
    s->no_frames = 1; /* control: read at full size, the run is refused before OUT is made */
    snprintf(out, sizeof(out), "%s/run-full", dir);
    assert_int_equal(vidx_run(in, 1, out, s, &sum), VIDX_EUSAGE);
    assert_int_equal(access(out, F_OK), -1);
    s->struct_size = OLD_RUN; /* the same values past an older caller's struct: not its own */
    snprintf(out, sizeof(out), "%s/run-old", dir);
    assert_int_equal(vidx_run(in, 1, out, s, &sum), 0);
    assert_int_equal(sum.frames, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_is_at_the_front),
        cmocka_unit_test(test_defaults_fill_the_caller_size_only),
        cmocka_unit_test(test_older_caller_gets_defaults),
        cmocka_unit_test(test_older_nested_struct),
        cmocka_unit_test(test_older_job_runs),
        cmocka_unit_test(test_newer_caller),
        cmocka_unit_test(test_bad_sizes_refused),
        cmocka_unit_test(test_slurm_settings),
        cmocka_unit_test(test_transcribe_settings),
        cmocka_unit_test(test_run_settings_transcode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
