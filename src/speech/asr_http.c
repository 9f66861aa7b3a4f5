/*
 * asr_http.c - the transcription backend for any OpenAI-compatible endpoint
 * (whisper.cpp's server, faster-whisper-server, OpenAI): each chunk is POSTed
 * to URL/v1/audio/transcriptions as a multipart form (file = the chunk as a
 * 16-bit WAV, response_format = verbose_json, model and language when set)
 * and the answer's segments[{start, end, text}] are read with jansson.
 *
 * The API key comes from the environment variable named by key_env (default
 * VIDX_ASR_KEY, else OPENAI_API_KEY) and is sent only as an Authorization:
 * Bearer header: never logged, never in an error message. The requests go
 * through net/http.c (timeouts, retries with backoff, 429's Retry-After, the
 * key blanked out of quoted server text, no redirects).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "net/http.h"
#include "speech/asr.h"

#define ENDPOINT "/v1/audio/transcriptions"

struct AsrBackend {
    AsrConfig cfg;
    HttpClient *http;
};

/* ---- request ---- */

/* The chunk as a 16 kHz mono 16-bit WAV file in memory (malloc'd). */
static uint8_t *wav_bytes(const float *pcm, size_t n, size_t *size)
{
    size_t data = n * 2;
    uint8_t *w = malloc(44 + data);
    if (!w)
        return NULL;
    const uint32_t rate = VIDX_ASR_RATE,
                   fields[] = {36 + (uint32_t)data, 16, 1 | 1u << 16, rate, rate * 2, 2 | 16u << 16,
                               (uint32_t)data};
    memcpy(w, "RIFF", 4);
    memcpy(w + 8, "WAVEfmt ", 8);
    memcpy(w + 36, "data", 4);
    const size_t at[] = {4, 16, 20, 24, 28, 32, 40};
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(at); i++)
        for (int b = 0; b < 4; b++)
            w[at[i] + b] = (uint8_t)(fields[i] >> (8 * b));
    for (size_t i = 0; i < n; i++) {
        float x = pcm[i] > 1 ? 1 : pcm[i] < -1 ? -1 : pcm[i];
        int16_t v = (int16_t)lrintf(x * 32767);
        w[44 + 2 * i] = (uint8_t)(v & 0xff);
        w[45 + 2 * i] = (uint8_t)((uint16_t)v >> 8);
    }
    *size = 44 + data;
    return w;
}

/* ---- answer ---- */

static int malformed(const AsrBackend *b, const char *why)
{
    return vidx__detail(VIDX_EFORMAT, "%s: malformed answer: %s", vidx__http_shown(b->http), why);
}

static int read_segment(const AsrBackend *b, json_t *seg, double offset, AsrSegments *out)
{
    json_t *s = json_object_get(seg, "start"), *e = json_object_get(seg, "end"),
           *t = json_object_get(seg, "text");
    if (!json_is_number(s) || !json_is_number(e) || !json_is_string(t))
        return malformed(b, "a segment without numeric start/end and string text");
    double start = json_number_value(s), end = json_number_value(e);
    if (!isfinite(start) || !isfinite(end) || start < 0)
        return malformed(b, "a segment with an impossible time");
    return vidx__asr_segments_add(out, offset + start, offset + end, json_string_value(t));
}

/* verbose_json's segments; a plain {"text"} (a server ignoring verbose_json) is one segment. */
static int parse(const AsrBackend *b, const HttpReply *body, double offset, double dur,
                 AsrSegments *out)
{
    json_error_t err;
    json_t *root = body->body ? json_loadb(body->body, body->len, 0, &err) : NULL;
    json_t *segs = json_object_get(root, "segments"), *text = json_object_get(root, "text");
    int ret = 0;
    if (!json_is_object(root))
        ret = malformed(b, root ? "not a JSON object" : "not JSON");
    else if (json_is_array(segs)) {
        size_t i;
        json_t *seg;
        json_array_foreach(segs, i, seg) if (ret == 0) ret = read_segment(b, seg, offset, out);
    } else if (!segs && json_is_string(text))
        ret = vidx__asr_segments_add(out, offset, offset + dur, json_string_value(text));
    else
        ret = malformed(b, "no \"segments\" array");
    json_decref(root);
    return ret;
}

static int http_transcribe(AsrBackend *b, const float *pcm, size_t n, double offset,
                           AsrSegments *out)
{
    size_t size;
    uint8_t *wav = wav_bytes(pcm, n, &size);
    if (!wav)
        return -ENOMEM;
    HttpPart parts[4] = {{"file", wav, size, "audio.wav", "audio/wav"},
                         {"response_format", "verbose_json", strlen("verbose_json"), NULL, NULL}};
    size_t np = 2;
    if (b->cfg.model)
        parts[np++] = (HttpPart){"model", b->cfg.model, strlen(b->cfg.model), NULL, NULL};
    if (b->cfg.language)
        parts[np++] = (HttpPart){"language", b->cfg.language, strlen(b->cfg.language), NULL, NULL};
    HttpReply r = {0};
    int ret = vidx__http_post_form(b->http, parts, np, &r);
    if (ret == 0)
        ret = parse(b, &r, offset, (double)n / VIDX_ASR_RATE, out);
    vidx__http_reply_free(&r);
    free(wav);
    return ret;
}

/* ---- open / close ---- */

static void http_close(AsrBackend *b)
{
    if (!b)
        return;
    vidx__http_close(b->http);
    free(b);
}

static int http_open(AsrBackend **out, const AsrConfig *cfg)
{
    static const char *const keys[] = {"VIDX_ASR_KEY", "OPENAI_API_KEY", NULL};
    *out = NULL;
    if (!cfg->url || !*cfg->url)
        return vidx__detail(VIDX_EUSAGE, "the HTTP transcription backend needs a URL");
    AsrBackend *b = calloc(1, sizeof(*b));
    char *url = b ? vidx__http_endpoint(cfg->url, ENDPOINT) : NULL;
    HttpConfig hc = {url, vidx__http_key(cfg->key_env, keys), cfg->timeout, cfg->retries};
    int ret = url ? vidx__http_open(&b->http, &hc) : -ENOMEM;
    free(url);
    if (ret < 0) {
        http_close(b);
        return ret;
    }
    b->cfg = *cfg;
    *out = b;
    return 0;
}

const AsrOps vidx__asr_http = {"http", http_open, http_transcribe, http_close};
