/*
 * test_asr.c - speech/ without a recogniser: where long audio is cut (in the
 * quietest window of the last half of the limit, never past it), that
 * vidx__asr_run() hands a backend contiguous chunks with the right offsets and
 * keeps its segments in order on the recording's clock, the segment list, and
 * the JSON/SubRip/WebVTT writers (timestamps, escaping, empty transcripts).
 */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "speech/asr.h"
#include "speech/subtitles.h"

#define RATE VIDX_ASR_RATE

/* A 440 Hz tone of n samples with silence over [sil_at, sil_at + sil_len) (seconds) pairs. */
static float *speech_like(size_t n, const double *sil, size_t n_sil)
{
    float *p = malloc(n * sizeof(*p));
    for (size_t i = 0; i < n; i++)
        p[i] = 0.5f * (float)sin(2 * M_PI * 440 * (double)i / RATE);
    for (size_t k = 0; k < n_sil; k++)
        for (size_t i = (size_t)(sil[2 * k] * RATE);
             i < (size_t)((sil[2 * k] + sil[2 * k + 1]) * RATE) && i < n; i++)
            p[i] = 0;
    return p;
}

static void test_cut_short_audio_whole(void **state)
{
    (void)state;
    float *p = speech_like(RATE, NULL, 0);
    assert_int_equal(vidx__asr_cut(p, RATE, 10 * RATE), RATE);
    assert_int_equal(vidx__asr_cut(p, RATE, RATE), RATE);
    free(p);
}

static void test_cut_at_silence(void **state)
{
    (void)state;
    const double sil[] = {7.0, 0.3}; /* a pause at 7.0-7.3 s, limit 10 s */
    size_t n = 25 * RATE, limit = 10 * RATE;
    float *p = speech_like(n, sil, 1);
    size_t cut = vidx__asr_cut(p, n, limit);
    assert_true(cut >= (size_t)(7.0 * RATE) && cut <= (size_t)(7.3 * RATE));
    free(p);
}

static void test_cut_latest_silence_in_last_half(void **state)
{
    (void)state;
    /* 2 s: before the last half (ignored); 6 s and 8.5 s: the latest wins */
    const double sil[] = {2.0, 0.5, 6.0, 0.2, 8.5, 0.2};
    size_t n = 30 * RATE, limit = 10 * RATE;
    float *p = speech_like(n, sil, 3);
    size_t cut = vidx__asr_cut(p, n, limit);
    assert_true(cut >= (size_t)(8.5 * RATE) && cut <= (size_t)(8.7 * RATE));
    free(p);
}

static void test_cut_without_silence_within_limit(void **state)
{
    (void)state;
    size_t n = 30 * RATE, limit = 10 * RATE;
    float *p = speech_like(n, NULL, 0);
    size_t cut = vidx__asr_cut(p, n, limit);
    assert_true(cut <= limit && cut >= limit / 2);
    assert_int_equal(vidx__asr_cut(p, n, 1), 1); /* a tiny limit still advances */
    free(p);
}

/* ---- a fake backend: one segment per chunk, spanning it; records the calls ---- */

typedef struct Call {
    double offset;
    size_t n;
} Call;
static Call calls[256];
static size_t n_calls;
static int opened, closed;

static int fake_open(AsrBackend **out, const AsrConfig *cfg)
{
    (void)cfg;
    *out = (AsrBackend *)&calls;
    opened++;
    return 0;
}

static int fake_transcribe(AsrBackend *b, const float *pcm, size_t n, double offset,
                           AsrSegments *out)
{
    char text[32];
    (void)b;
    (void)pcm;
    calls[n_calls] = (Call){offset, n};
    snprintf(text, sizeof(text), " chunk %zu ", n_calls++);
    return vidx__asr_segments_add(out, offset + 0.25, offset + (double)n / RATE, text);
}

static void fake_close(AsrBackend *b)
{
    (void)b;
    closed++;
}

static const AsrOps fake = {"fake", fake_open, fake_transcribe, fake_close};

static void test_run_stitches_offsets(void **state)
{
    (void)state;
    const double sil[] = {3.5, 0.2, 8.0, 0.3, 12.2, 0.2, 17.0, 0.4};
    size_t n = 21 * RATE + 123;
    float *p = speech_like(n, sil, 4);
    AsrConfig cfg = {.chunk_seconds = 5};
    AsrSegments segs = {0};
    n_calls = 0;
    opened = closed = 0;
    assert_int_equal(vidx__asr_run(&fake, &cfg, p, n, &segs), 0);
    assert_int_equal(opened, 1);
    assert_int_equal(closed, 1);
    assert_true(n_calls >= 5);
    assert_int_equal(segs.n, n_calls);
    size_t at = 0;
    for (size_t i = 0; i < n_calls; i++) {
        char want[32];
        assert_true(calls[i].n >= 1 && calls[i].n <= 5 * RATE);
        assert_true(fabs(calls[i].offset - (double)at / RATE) < 1e-9);
        assert_true(fabs(segs.v[i].start - ((double)at / RATE + 0.25)) < 1e-9);
        snprintf(want, sizeof(want), "chunk %zu", i);
        assert_string_equal(segs.v[i].text, want); /* trimmed */
        at += calls[i].n;
    }
    assert_int_equal(at, n);
    /* the cuts are the pauses: 3.5-3.7, 8.0-8.3, 12.2-12.4 and 17.0-17.4 s */
    assert_true(calls[1].offset >= 3.5 && calls[1].offset <= 3.7);
    assert_true(calls[2].offset >= 8.0 && calls[2].offset <= 8.3);
    assert_true(calls[3].offset >= 12.2 && calls[3].offset <= 12.4);
    assert_true(calls[4].offset >= 17.0 && calls[4].offset <= 17.4);
    vidx__asr_segments_free(&segs);
    free(p);
}

static void test_segments_add(void **state)
{
    (void)state;
    AsrSegments s = {0};
    assert_int_equal(vidx__asr_segments_add(&s, 1, 2, "  hello\n"), 0);
    assert_int_equal(vidx__asr_segments_add(&s, 2, 3, " \t\n"), 0); /* empty: dropped */
    assert_int_equal(vidx__asr_segments_add(&s, 5, 4, "x"), 0);     /* end before start */
    assert_int_equal(s.n, 2);
    assert_string_equal(s.v[0].text, "hello");
    assert_true(s.v[1].end == 5);
    vidx__asr_segments_free(&s);
    assert_int_equal(s.n, 0);
    assert_null(s.v);
}

/* ---- writers ---- */

static char *written(const AsrSegments *s, int format)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    assert_int_equal(vidx__subtitles_write(f, s, format), 0);
    fclose(f);
    return buf;
}

static void test_time_format(void **state)
{
    char b[32];
    (void)state;
    vidx__subtitles_time(b, 3661.2346, ',');
    assert_string_equal(b, "01:01:01,235");
    vidx__subtitles_time(b, 59.9996, '.');
    assert_string_equal(b, "00:01:00.000");
    vidx__subtitles_time(b, -3, ',');
    assert_string_equal(b, "00:00:00,000");
    vidx__subtitles_time(b, NAN, ',');
    assert_string_equal(b, "00:00:00,000");
}

static void test_srt_and_vtt(void **state)
{
    (void)state;
    AsrSegments s = {0};
    vidx__asr_segments_add(&s, 0.5, 2.25, "Tom & Jerry <b>-->\n\nnext");
    vidx__asr_segments_add(&s, 62, 63.001, "second");
    char *srt = written(&s, VIDX_SUBS_SRT), *vtt = written(&s, VIDX_SUBS_VTT);
    assert_string_equal(srt, "1\n00:00:00,500 --> 00:00:02,250\nTom & Jerry <b>--> next\n\n"
                             "2\n00:01:02,000 --> 00:01:03,001\nsecond\n");
    assert_string_equal(vtt, "WEBVTT\n\n00:00:00.500 --> 00:00:02.250\n"
                             "Tom &amp; Jerry &lt;b&gt;--&gt; next\n\n"
                             "00:01:02.000 --> 00:01:03.001\nsecond\n");
    free(srt);
    free(vtt);
    vidx__asr_segments_free(&s);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    AsrSegments s = {0};
    vidx__asr_segments_add(&s, 1.5, 3600.125, "say \"hi\"\\ caf\xc3\xa9");
    char *js = written(&s, VIDX_SUBS_JSON);
    json_error_t err;
    json_t *root = json_loads(js, 0, &err), *segs = json_object_get(root, "segments");
    assert_non_null(root);
    assert_int_equal(json_array_size(segs), 1);
    json_t *seg = json_array_get(segs, 0);
    assert_true(json_real_value(json_object_get(seg, "start")) == 1.5);
    assert_true(json_real_value(json_object_get(seg, "end")) == 3600.125);
    assert_string_equal(json_string_value(json_object_get(seg, "text")),
                        "say \"hi\"\\ caf\xc3\xa9");
    json_decref(root);
    free(js);
    vidx__asr_segments_free(&s);
}

static void test_empty(void **state)
{
    (void)state;
    AsrSegments s = {0};
    char *js = written(&s, VIDX_SUBS_JSON), *srt = written(&s, VIDX_SUBS_SRT),
         *vtt = written(&s, VIDX_SUBS_VTT);
    json_t *root = json_loads(js, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(root, "segments")), 0);
    assert_true(json_is_array(json_object_get(root, "segments")));
    assert_string_equal(srt, "");
    assert_string_equal(vtt, "WEBVTT\n");
    json_decref(root);
    free(js);
    free(srt);
    free(vtt);
    FILE *f = fopen("/dev/null", "w");
    assert_true(vidx__subtitles_write(f, &s, 7) < 0);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_short_audio_whole),
        cmocka_unit_test(test_cut_at_silence),
        cmocka_unit_test(test_cut_latest_silence_in_last_half),
        cmocka_unit_test(test_cut_without_silence_within_limit),
        cmocka_unit_test(test_run_stitches_offsets),
        cmocka_unit_test(test_segments_add),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_srt_and_vtt),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
