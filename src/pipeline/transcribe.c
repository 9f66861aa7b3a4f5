/*
 * transcribe.c - vidx_transcribe(), the public face of speech/: the source's
 * audio is decoded once at 16 kHz mono (media/audio.c, the same decoder and
 * resampler as --audio), held as float samples, and handed to the chosen
 * backend through vidx__asr_run(), which chunks and stitches; a batch job
 * gathers the samples from its own decode and calls vidx__transcribe_pcm
 * (pipeline/transcribe.h). Also the
 * transcript object, its accessors and its text formats (speech/subtitles.c),
 * and VidxTranscribeSettings' defaults and ABI layout (core/abi.h).
 */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "core/abi.h"
#include "core/internal.h"
#include "media/audio.h"
#include "media/source.h"
#include "speech/asr.h"
#include "pipeline/transcribe.h"
#include "speech/subtitles.h"

struct VidxTranscript {
    AsrSegments segs;
};

_Static_assert(sizeof(VidxTranscribeSettings) <= VIDX_ABI_MAX_SIZE, "see core/abi.h");

static void transcribe_defaults(void *p)
{
    VidxTranscribeSettings *s = p;
    memset(s, 0, sizeof(*s));
    s->struct_size = sizeof(*s);
    s->timeout = 300;
    s->retries = 3;
    s->chunk_seconds = 30;
}

static const VidxAbiLayout transcribe_layout = {"VidxTranscribeSettings",
                                                sizeof(VidxTranscribeSettings),
                                                alignof(VidxTranscribeSettings),
                                                transcribe_defaults,
                                                0,
                                                {NULL}};

int vidx_transcribe_settings_init(VidxTranscribeSettings *s, size_t size)
{
    return vidx__abi_init(&transcribe_layout, s, size);
}

/* ---- the audio, as float samples ---- */

int vidx__pcm_push(void *opaque, const int16_t *samples, int nb)
{
    VidxPcm *p = opaque;
    if (vidx__grow(&p->v, &p->cap, p->n + (size_t)nb, sizeof(*p->v), 1 << 16) < 0)
        return AVERROR(ENOMEM);
    for (int i = 0; i < nb; i++)
        p->v[p->n + (size_t)i] = samples[i] / 32768.0f;
    p->n += (size_t)nb;
    return 0;
}

static int decode_pcm(VidxSource *src, VidxPcm *pcm)
{
    VidxAudioSettings as = {1, VIDX_ASR_RATE, 1, vidx__pcm_push, pcm};
    int64_t errors = 0;
    int ret = src->used ? vidx__source_rewind(src) : 0;
    if (ret >= 0 && src->audio_index >= 0)
        ret = vidx__audio_decode_all(src, &as, &errors);
    if (errors)
        vidx__log(VIDX_LOG_WARNING, "vidx: %s: %lld damaged audio packets skipped\n", src->url,
                  (long long)errors);
    return ret < 0 ? ret : 0;
}

/* ---- backend choice ---- */

static int pick_backend(const VidxTranscribeSettings *s, const AsrOps **ops)
{
    if (s->asr_url) {
        *ops = &vidx__asr_http;
        return 0;
    }
#ifdef VIDX_HAVE_SPHINX
    *ops = &vidx__asr_sphinx;
    return 0;
#else
    return vidx__detail(VIDX_EUSAGE, "this build has no built-in speech recognition: "
                                     "give an OpenAI-compatible endpoint (--asr-url)");
#endif
}

/* s (at this library's size): a backend to run, and values in range. */
static int check(const VidxTranscribeSettings *s, const AsrOps **ops)
{
    int ret = pick_backend(s, ops);
    if (ret == 0 && (!(s->timeout > 0) || s->retries < 0 || !(s->chunk_seconds >= 1)))
        ret = vidx__detail(VIDX_EUSAGE, "timeout must be > 0, retries >= 0, chunk >= 1 s");
    return ret;
}

static int recognise(VidxTranscript *t, const VidxPcm *pcm, const VidxTranscribeSettings *s)
{
    const AsrOps *ops = NULL;
    AsrConfig cfg = {s->asr_url, s->model,   s->language,     s->key_env,
                     s->timeout, s->retries, s->chunk_seconds};
    int ret = check(s, &ops);
    if (ret == 0 && pcm->n)
        ret = vidx__asr_run(ops, &cfg, pcm->v, pcm->n, &t->segs);
    return ret;
}

/* The caller's settings at this library's size (NULL: the defaults). */
static int import(VidxTranscribeSettings *s, const VidxTranscribeSettings *caller)
{
    if (caller)
        return vidx__abi_import(&transcribe_layout, s, caller);
    transcribe_defaults(s);
    return 0;
}

int vidx__transcribe_check(const VidxTranscribeSettings *caller)
{
    VidxTranscribeSettings s;
    const AsrOps *ops;
    int ret = import(&s, caller);
    return ret < 0 ? ret : check(&s, &ops);
}

/* A transcript of pcm (decode: of src's audio first) into *out. */
static int transcribe(VidxTranscript **out, VidxSource *src, const VidxPcm *given,
                      const VidxTranscribeSettings *caller)
{
    VidxTranscribeSettings s;
    VidxPcm pcm = {0};
    *out = NULL;
    int ret = import(&s, caller);
    VidxTranscript *t = ret == 0 ? calloc(1, sizeof(*t)) : NULL;
    if (ret == 0 && !t)
        ret = -ENOMEM;
    if (ret == 0 && src && (ret = check(&s, &(const AsrOps *){NULL})) == 0)
        ret = decode_pcm(src, &pcm);
    if (ret == 0)
        ret = recognise(t, src ? &pcm : given, &s);
    free(pcm.v);
    if (ret < 0)
        vidx_transcript_close(&t);
    *out = t;
    return ret;
}

int vidx__transcribe_pcm(VidxTranscript **out, const VidxPcm *pcm, const VidxTranscribeSettings *s)
{
    return transcribe(out, NULL, pcm, s);
}

int vidx_transcribe(VidxTranscript **out, VidxSource *src, const VidxTranscribeSettings *caller)
{
    vidx__detail_clear();
    *out = NULL;
    return caller ? transcribe(out, src, NULL, caller) : VIDX_EUSAGE;
}

/* ---- the transcript ---- */

size_t vidx_transcript_count(const VidxTranscript *t)
{
    return t ? t->segs.n : 0;
}

int vidx_transcript_segment(const VidxTranscript *t, size_t i, double *start, double *end,
                            const char **text)
{
    if (!t || i >= t->segs.n)
        return VIDX_ERANGE;
    *start = t->segs.v[i].start;
    *end = t->segs.v[i].end;
    *text = t->segs.v[i].text;
    return 0;
}

int vidx_transcript_format(const VidxTranscript *t, VidxTranscriptFormat format, char **text)
{
    size_t size = 0;
    *text = NULL;
    FILE *f = open_memstream(text, &size);
    if (!f)
        return -ENOMEM;
    int ret = vidx__subtitles_write(f, &t->segs, (int)format);
    if (fclose(f) != 0 && ret == 0)
        ret = -ENOMEM;
    if (ret < 0) {
        free(*text);
        *text = NULL;
    }
    return ret;
}

void vidx_transcript_close(VidxTranscript **t)
{
    if (!t || !*t)
        return;
    vidx__asr_segments_free(&(*t)->segs);
    free(*t);
    *t = NULL;
}
