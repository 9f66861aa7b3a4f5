/*
 * asr.h - speech recognition behind one interface: a backend (AsrOps) turns
 * 16 kHz mono float PCM into timed text segments. Two backends: an
 * OpenAI-compatible HTTP endpoint (asr_http.c, libcurl) and the built-in
 * offline PocketSphinx (asr_sphinx.c). vidx__asr_run() cuts long audio into
 * chunks at silences, hands each chunk to the backend and stitches the
 * segments back with their offsets. The speech/ layer uses core/ only.
 */
#ifndef VIDX_SPEECH_ASR_H
#define VIDX_SPEECH_ASR_H

#include <stddef.h>

typedef struct AsrSegment {
    double start, end;
    char *text;
} AsrSegment;
typedef struct AsrSegments {
    AsrSegment *v;
    size_t n, cap;
} AsrSegments;
void vidx__asr_segments_free(AsrSegments *s);
int vidx__asr_segments_add(AsrSegments *s, double start, double end, const char *text);

typedef struct AsrConfig {
    const char
        *url; /* HTTP backend: base URL (…/v1/audio/transcriptions is appended when missing) */
    const char *model;    /* model name sent to the endpoint, or NULL */
    const char *language; /* e.g. "en", or NULL */
    const char *key_env;  /* name of the environment variable holding the API key (never the key) */
    double timeout;       /* seconds per request */
    int retries;          /* on 429/5xx/connection errors, with backoff */
    double chunk_seconds; /* longest audio sent in one request; cut at silences */
} AsrConfig;

typedef struct AsrBackend AsrBackend;
typedef struct AsrOps {
    const char *name;
    int (*open)(AsrBackend **out, const AsrConfig *cfg);
    /* pcm: 16 kHz mono float samples; offset: seconds added to every segment */
    int (*transcribe)(AsrBackend *b, const float *pcm, size_t n, double offset, AsrSegments *out);
    void (*close)(AsrBackend *b);
} AsrOps;

extern const AsrOps vidx__asr_http;   /* speech/asr_http.c */
extern const AsrOps vidx__asr_sphinx; /* speech/asr_sphinx.c */

/* Whole audio: cut into chunks at silences (<= chunk_seconds each), transcribed, stitched with
 * offsets. */
int vidx__asr_run(const AsrOps *ops, const AsrConfig *cfg, const float *pcm, size_t n,
                  AsrSegments *out);

/* The sample rate of the PCM every backend takes. */
#define VIDX_ASR_RATE 16000

/*
 * Length in samples of the first chunk of pcm[0..n): all of it when n <= limit,
 * else a cut at the quietest short window in the last half of the limit (the
 * latest of equally quiet ones), never past limit. limit >= 1.
 */
size_t vidx__asr_cut(const float *pcm, size_t n, size_t limit);

#endif /* VIDX_SPEECH_ASR_H */
