/*
 * test_asr_sphinx.c - the built-in PocketSphinx backend on real speech:
 * espeak-ng speaks known sentences (its Klatt voice, which the en-us model
 * hears best), ffmpeg resamples them to 16 kHz mono float, and the backend
 * must give the words back (a word error rate bound, not an exact match), in
 * time order, inside the speech and not in the silence around it, with the
 * offset added, split into phrases at a long pause. Also: silence and empty
 * input give no segments, a missing model or a language other than English is
 * a usage error naming the cause. espeak-ng and ffmpeg are installed by
 * scripts/deps.sh; without them the tests fail.
 */
#include <ctype.h>
#include <math.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/internal.h"
#include "speech/asr.h"

#define RATE  VIDX_ASR_RATE
#define VOICE "en-us+klatt2"

static const char *const SENTENCE_A = "The weather is very nice and the sun is shining.";
static const char *const SENTENCE_B = "We will meet our friends at the station.";

typedef struct Audio {
    float *v;
    size_t n, cap;
} Audio;

static void audio_silence(Audio *a, double seconds)
{
    size_t k = (size_t)(seconds * RATE);
    assert_int_equal(vidx__grow(&a->v, &a->cap, a->n + k, sizeof(*a->v), RATE), 0);
    memset(a->v + a->n, 0, k * sizeof(*a->v));
    a->n += k;
}

/* Appends text spoken by espeak-ng, resampled by ffmpeg to 16 kHz mono float. */
static void audio_speak(Audio *a, const char *text)
{
    char cmd[1024];
    assert_null(strchr(text, '\''));
    snprintf(cmd, sizeof(cmd),
             "espeak-ng -v " VOICE " -s 140 --stdout '%s' | ffmpeg -nostdin -hide_banner "
             "-loglevel error -f wav -i - -ar %d -ac 1 -f f32le -",
             text, RATE);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = 0;
    do {
        assert_int_equal(vidx__grow(&a->v, &a->cap, a->n + 4096, sizeof(*a->v), RATE), 0);
        got = fread(a->v + a->n, sizeof(*a->v), 4096, p);
        a->n += got;
    } while (got > 0);
    assert_int_equal(pclose(p), 0);
}

static AsrBackend *open_backend(void)
{
    AsrConfig cfg = {0};
    AsrBackend *b = NULL;
    assert_int_equal(vidx__asr_sphinx.open(&b, &cfg), 0);
    assert_non_null(b);
    return b;
}

/* The segments' words, lower case, punctuation dropped, in order (at most max). */
static size_t split_words(const char *text, char words[][32], size_t max)
{
    size_t n = 0, len = 0;
    for (const char *c = text;; c++) {
        if (*c && (isalnum((unsigned char)*c) || *c == '\'')) {
            if (len < 31 && n < max)
                words[n][len++] = (char)tolower((unsigned char)*c);
            continue;
        }
        if (len && n < max)
            words[n++][len] = 0;
        len = 0;
        if (!*c)
            return n;
    }
}

/* Word error rate of hyp against ref: word-level Levenshtein distance / words in ref. */
static double wer(const char *ref, const char *hyp)
{
    static char r[64][32], h[64][32];
    size_t nr = split_words(ref, r, 64), nh = split_words(hyp, h, 64);
    size_t d[65][65];
    for (size_t i = 0; i <= nr; i++)
        for (size_t j = 0; j <= nh; j++) {
            if (i == 0 || j == 0) {
                d[i][j] = i + j;
                continue;
            }
            size_t sub = d[i - 1][j - 1] + (strcmp(r[i - 1], h[j - 1]) != 0);
            d[i][j] = VIDX_MIN(sub, VIDX_MIN(d[i - 1][j], d[i][j - 1]) + 1);
        }
    return nr ? (double)d[nr][nh] / (double)nr : 0;
}

static char *joined(const AsrSegments *s)
{
    size_t len = 1;
    for (size_t i = 0; i < s->n; i++)
        len += strlen(s->v[i].text) + 1;
    char *t = calloc(1, len);
    for (size_t i = 0; i < s->n; i++) {
        strcat(t, i ? " " : "");
        strcat(t, s->v[i].text);
    }
    return t;
}

/* Segments in order, not overlapping, each inside [lo, hi] with start < end. */
static void assert_ordered_within(const AsrSegments *s, double lo, double hi)
{
    for (size_t i = 0; i < s->n; i++) {
        assert_true(s->v[i].start >= lo - 1e-9);
        assert_true(s->v[i].end <= hi + 1e-9);
        assert_true(s->v[i].start < s->v[i].end);
        if (i)
            assert_true(s->v[i].start >= s->v[i - 1].end);
    }
}

static void test_words_come_back_in_the_speech(void **state)
{
    (void)state;
    Audio a = {0};
    audio_silence(&a, 1.0);
    size_t speech_from = a.n;
    audio_speak(&a, SENTENCE_A);
    size_t speech_to = a.n;
    audio_silence(&a, 1.0);
    AsrSegments s = {0};
    AsrBackend *b = open_backend();
    assert_int_equal(vidx__asr_sphinx.transcribe(b, a.v, a.n, 0, &s), 0);
    vidx__asr_sphinx.close(b);
    char *hyp = joined(&s);
    double e = wer(SENTENCE_A, hyp);
    print_message("hyp: %s (WER %.2f)\n", hyp, e);
    assert_true(s.n >= 1);
    assert_true(e <= 0.25);
    assert_ordered_within(&s, 0, (double)a.n / RATE);
    /* the words lie in the speech (espeak's own lead-in silence is short), not the padding */
    assert_true(s.v[0].start >= (double)speech_from / RATE - 0.1);
    assert_true(s.v[s.n - 1].end <= (double)speech_to / RATE + 0.1);
    assert_true(s.v[s.n - 1].end - s.v[0].start >= 0.5 * (double)(speech_to - speech_from) / RATE);
    free(hyp);
    vidx__asr_segments_free(&s);
    free(a.v);
}

static void test_offset_added_and_pause_splits(void **state)
{
    (void)state;
    Audio a = {0};
    audio_speak(&a, SENTENCE_A);
    size_t pause_from = a.n;
    audio_silence(&a, 1.5);
    size_t pause_to = a.n;
    audio_speak(&a, SENTENCE_B);
    AsrSegments s0 = {0}, s = {0};
    AsrBackend *b = open_backend();
    assert_int_equal(vidx__asr_sphinx.transcribe(b, a.v, a.n, 0, &s0), 0);
    assert_int_equal(vidx__asr_sphinx.transcribe(b, a.v, a.n, 100.0, &s), 0);
    vidx__asr_sphinx.close(b);
    /* the same words at the same times, 100 s later */
    assert_int_equal(s.n, s0.n);
    for (size_t i = 0; i < s.n; i++) {
        assert_string_equal(s.v[i].text, s0.v[i].text);
        assert_true(fabs(s.v[i].start - s0.v[i].start - 100.0) < 1e-6);
        assert_true(fabs(s.v[i].end - s0.v[i].end - 100.0) < 1e-6);
    }
    assert_ordered_within(&s, 100.0, 100.0 + (double)a.n / RATE);
    /* one segment ends before the pause and the next starts after it */
    int split = 0;
    for (size_t i = 1; i < s.n; i++)
        split |= s.v[i - 1].end <= 100.0 + (double)pause_from / RATE + 0.1 &&
                 s.v[i].start >= 100.0 + (double)pause_to / RATE - 0.1;
    assert_true(split);
    char *hyp = joined(&s);
    char ref[256];
    snprintf(ref, sizeof(ref), "%s %s", SENTENCE_A, SENTENCE_B);
    print_message("hyp: %s (WER %.2f)\n", hyp, wer(ref, hyp));
    assert_true(wer(ref, hyp) <= 0.35);
    free(hyp);
    vidx__asr_segments_free(&s0);
    vidx__asr_segments_free(&s);
    free(a.v);
}

static void test_silence_and_empty_give_nothing(void **state)
{
    (void)state;
    Audio a = {0};
    audio_silence(&a, 3.0);
    AsrSegments s = {0};
    AsrBackend *b = open_backend();
    assert_int_equal(vidx__asr_sphinx.transcribe(b, a.v, a.n, 5.0, &s), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(vidx__asr_sphinx.transcribe(b, a.v, 0, 0, &s), 0);
    assert_int_equal(s.n, 0);
    vidx__asr_sphinx.close(b);
    free(a.v);
}

static void test_missing_model_is_usage_error(void **state)
{
    (void)state;
    AsrConfig cfg = {0};
    AsrBackend *b = NULL;
    setenv("VIDX_SPHINX_MODEL", "/nonexistent/vidx-model", 1);
    assert_int_equal(vidx__asr_sphinx.open(&b, &cfg), VIDX_EUSAGE);
    assert_null(b);
    assert_non_null(strstr(vidx_error_detail(VIDX_EUSAGE), "/nonexistent/vidx-model/en-us"));
    assert_non_null(strstr(vidx_error_detail(VIDX_EUSAGE), "VIDX_SPHINX_MODEL"));
    unsetenv("VIDX_SPHINX_MODEL");
}

static void test_other_language_is_usage_error(void **state)
{
    (void)state;
    AsrConfig cfg = {.language = "de"};
    AsrBackend *b = NULL;
    assert_int_equal(vidx__asr_sphinx.open(&b, &cfg), VIDX_EUSAGE);
    assert_null(b);
    assert_non_null(strstr(vidx_error_detail(VIDX_EUSAGE), "'de'"));
    cfg.language = "en-US";
    assert_int_equal(vidx__asr_sphinx.open(&b, &cfg), 0);
    vidx__asr_sphinx.close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_come_back_in_the_speech),
        cmocka_unit_test(test_offset_added_and_pause_splits),
        cmocka_unit_test(test_silence_and_empty_give_nothing),
        cmocka_unit_test(test_missing_model_is_usage_error),
        cmocka_unit_test(test_other_language_is_usage_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
