/*
 * asr_sphinx.c - the built-in offline speech backend (vidx__asr_sphinx): CMU
 * PocketSphinx as Debian 12 ships it (libpocketsphinx 0.8+5prealpha) with its
 * US English model (package pocketsphinx-en-us, under
 * /usr/share/pocketsphinx/model/en-us, or the directory named by
 * VIDX_SPHINX_MODEL laid out the same way). Each call decodes its samples as
 * one utterance (vidx__asr_run() has already cut long audio at pauses into
 * chunks), with PocketSphinx's own silence removal off so that frame numbers
 * stay on the audio's clock; the recognised words (fillers dropped, alternate
 * pronunciation marks "(2)" removed) are grouped into phrases at pauses and
 * appended as segments with the chunk's offset added. PocketSphinx's log,
 * which it writes to stderr by default, is switched off.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include "core/internal.h"
#include "speech/asr.h"

#define SPHINX_MODEL_ENV     "VIDX_SPHINX_MODEL"
#define SPHINX_MODEL_DEFAULT "/usr/share/pocketsphinx/model/en-us"
#define PHRASE_PAUSE         0.3 /* seconds of silence between words that end a phrase */
#define PHRASE_MAX           8.0 /* seconds: a longer phrase is cut at its next word */
#define WORD_MAX             128 /* bytes of one word, longer ones are cut */

struct AsrBackend {
    ps_decoder_t *ps;
    int frate; /* feature frames per second: ps_seg_frames() counts these */
};

/* A phrase being assembled from words. */
typedef struct Phrase {
    char *text;
    size_t len, cap;
    double start, end; /* seconds, chunk clock */
} Phrase;

/* ---- opening ---- */

static const char *model_dir(void)
{
    const char *dir = getenv(SPHINX_MODEL_ENV);
    return dir && *dir ? dir : SPHINX_MODEL_DEFAULT;
}

/* The model's three parts: acoustic model directory, language model, dictionary. */
typedef struct ModelPaths {
    char hmm[4096], lm[4096], dict[4096];
} ModelPaths;

static int model_paths(ModelPaths *p, const char *dir)
{
    char *paths[] = {p->hmm, p->lm, p->dict};
    static const char *const names[] = {"en-us", "en-us.lm.bin", "cmudict-en-us.dict"};
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(paths); i++) {
        int len = snprintf(paths[i], sizeof(p->hmm), "%s/%s", dir, names[i]);
        if (len < 0 || (size_t)len >= sizeof(p->hmm))
            return vidx__detail(VIDX_EUSAGE, "speech model path too long: %s", dir);
        if (access(paths[i], R_OK) != 0)
            return vidx__detail(VIDX_EUSAGE,
                                "built-in speech model: %s: %s (install pocketsphinx-en-us, or "
                                "set " SPHINX_MODEL_ENV " to a model directory)",
                                paths[i], strerror(errno));
    }
    return 0;
}

/* The model speaks US English: no language, or any English one, is accepted. */
static int check_language(const char *language)
{
    if (!language || !*language || strncasecmp(language, "en", 2) == 0)
        return 0;
    return vidx__detail(VIDX_EUSAGE,
                        "the built-in speech recogniser (PocketSphinx) knows only English, not "
                        "'%s': use an endpoint (--asr-url) for other languages",
                        language);
}

static int sphinx_open(AsrBackend **out, const AsrConfig *cfg)
{
    ModelPaths paths;
    *out = NULL;
    int ret = check_language(cfg->language);
    if (ret == 0)
        ret = model_paths(&paths, model_dir());
    if (ret < 0)
        return ret;
    err_set_logfp(NULL); /* PocketSphinx logs to stderr by default, at length */
    cmd_ln_t *config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", paths.hmm, "-lm", paths.lm,
                                   "-dict", paths.dict, "-remove_silence", "no", NULL);
    AsrBackend *b = config ? calloc(1, sizeof(*b)) : NULL;
    if (b)
        b->ps = ps_init(config);
    if (b && b->ps)
        b->frate = cmd_ln_int32_r(config, "-frate");
    if (config)
        cmd_ln_free_r(config); /* the decoder holds its own reference */
    if (!b || !b->ps || b->frate <= 0) {
        if (b && b->ps)
            ps_free(b->ps);
        free(b);
        return vidx__detail(VIDX_EUSAGE, "built-in speech model in %s could not be loaded",
                            model_dir());
    }
    *out = b;
    return 0;
}

static void sphinx_close(AsrBackend *b)
{
    if (!b)
        return;
    ps_free(b->ps);
    free(b);
}

/* ---- decoding ---- */

/*
 * Samples in [-1, 1] as 16-bit integers (clipped), with one step of dither
 * (-90 dB, the same sequence on every call): on digital silence, all zeros,
 * the model otherwise hears words (the log energy of nothing), or NULL.
 */
static int16 *to_int16(const float *pcm, size_t n)
{
    int16 *v = malloc(VIDX_MAX(n, (size_t)1) * sizeof(*v));
    uint32_t noise = 2463534242u; /* xorshift32 */
    for (size_t i = 0; v && i < n; i++) {
        float x = pcm[i] != pcm[i] ? 0.0f : pcm[i]; /* NaN is silence */
        x = x > 1.0f ? 1.0f : x < -1.0f ? -1.0f : x;
        noise ^= noise << 13;
        noise ^= noise >> 17;
        noise ^= noise << 5;
        long s = lrintf(x * 32766.0f) + (long)(noise % 3) - 1;
        v[i] = (int16)s;
    }
    return v;
}

/* The whole chunk as one utterance (batch cepstral mean normalisation, as the model expects). */
static int decode_utterance(AsrBackend *b, const float *pcm, size_t n)
{
    int16 *samples = to_int16(pcm, n);
    if (!samples)
        return -ENOMEM;
    int ret = ps_start_utt(b->ps);
    if (ret >= 0)
        ret = ps_process_raw(b->ps, samples, n, FALSE, TRUE);
    int end = ps_end_utt(b->ps);
    free(samples);
    if (ret < 0 || end < 0)
        return vidx__detail(VIDX_EDECODE,
                            "the built-in speech recogniser failed on %.1f s of audio",
                            (double)n / VIDX_ASR_RATE);
    return 0;
}

/* Fillers (<s>, </s>, <sil>, [NOISE], [SPEECH], ++...++) are not words. */
static int is_filler(const char *w)
{
    return !*w || *w == '<' || *w == '[' || *w == '+';
}

/* w without its alternate-pronunciation mark: "the(2)" -> "the". */
static void plain_word(char *dst, size_t size, const char *w)
{
    size_t len = strcspn(w, "(");
    len = VIDX_MIN(len, size - 1);
    memcpy(dst, w, len);
    dst[len] = 0;
}

static int phrase_append(Phrase *p, const char *word, double start, double end)
{
    size_t wl = strlen(word), need = p->len + wl + 2;
    if (vidx__grow(&p->text, &p->cap, need, 1, 64) < 0)
        return -ENOMEM;
    if (p->len)
        p->text[p->len++] = ' ';
    else
        p->start = start;
    memcpy(p->text + p->len, word, wl + 1);
    p->len += wl;
    p->end = end;
    return 0;
}

/* Appends the phrase (if any) as a segment on the recording's clock and empties it. */
static int phrase_flush(Phrase *p, double offset, AsrSegments *out)
{
    int ret = p->len ? vidx__asr_segments_add(out, offset + p->start, offset + p->end, p->text) : 0;
    p->len = 0;
    return ret;
}

/* One recognised word: ends the current phrase first at a pause or past the longest phrase. */
static int take_word(Phrase *p, const char *w, double start, double end, double offset,
                     AsrSegments *out)
{
    char word[WORD_MAX];
    int ret = 0;
    if (p->len && (start - p->end >= PHRASE_PAUSE || end - p->start > PHRASE_MAX))
        ret = phrase_flush(p, offset, out);
    plain_word(word, sizeof(word), w);
    return ret < 0 ? ret : phrase_append(p, word, start, end);
}

/* The utterance's words, in time order, as phrases; times clamped to the chunk's length. */
static int collect_phrases(AsrBackend *b, double length, double offset, AsrSegments *out)
{
    Phrase p = {0};
    int ret = 0;
    ps_seg_t *seg = ps_seg_iter(b->ps);
    for (; seg && ret == 0; seg = ps_seg_next(seg)) {
        const char *w = ps_seg_word(seg);
        int sf = 0, ef = 0;
        ps_seg_frames(seg, &sf, &ef);
        if (!w || is_filler(w))
            continue;
        double start = VIDX_MIN((double)sf / b->frate, length);
        double end = VIDX_MIN((double)(ef + 1) / b->frate, length);
        ret = take_word(&p, w, start, end, offset, out);
    }
    if (seg)
        ps_seg_free(seg);
    if (ret == 0)
        ret = phrase_flush(&p, offset, out);
    free(p.text);
    return ret;
}

static int sphinx_transcribe(AsrBackend *b, const float *pcm, size_t n, double offset,
                             AsrSegments *out)
{
    if (n == 0)
        return 0;
    int ret = decode_utterance(b, pcm, n);
    return ret < 0 ? ret : collect_phrases(b, (double)n / VIDX_ASR_RATE, offset, out);
}

const AsrOps vidx__asr_sphinx = {"pocketsphinx", sphinx_open, sphinx_transcribe, sphinx_close};
