/*
 * asr_http.c - the transcription backend for any OpenAI-compatible endpoint
 * (whisper.cpp's server, faster-whisper-server, OpenAI): each chunk is POSTed
 * to URL/v1/audio/transcriptions as a multipart form (file = the chunk as a
 * 16-bit WAV, response_format = verbose_json, model and language when set)
 * and the answer's segments[{start, end, text}] are read with jansson.
 *
 * The API key comes from the environment variable named by key_env (default
 * VIDX_ASR_KEY, else OPENAI_API_KEY) and is sent only as an Authorization:
 * Bearer header: never logged, never in an error message (a server's error
 * text quoted in a message has it blanked out). Only http and https, no
 * redirects (the key would follow them). Messages name the URL without its
 * user information (user:password@). Each request has cfg->timeout
 * seconds; a connection failure, a timeout, 429 and 5xx are tried again up to
 * cfg->retries times, waiting 0.5 s doubling up to 30 s, or what Retry-After
 * asks (at most 120 s).
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "speech/asr.h"

#define MAX_BODY        (64 << 20)
#define ENDPOINT        "/v1/audio/transcriptions"
#define MAX_RETRY_AFTER 120.0

struct AsrBackend {
    AsrConfig cfg;
    char *url;
    char *shown; /* url without user information (user:password@), for messages */
    char *key;
    struct curl_slist *headers;
};

typedef struct Body {
    char *data;
    size_t len, cap;
} Body;

typedef struct Reply {
    CURLcode curl;
    long status;
    double retry_after; /* seconds, or -1 */
    Body body;
} Reply;

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

static int add_field(curl_mime *m, const char *name, const char *value)
{
    curl_mimepart *p = curl_mime_addpart(m);
    return p && curl_mime_name(p, name) == CURLE_OK &&
                   curl_mime_data(p, value, CURL_ZERO_TERMINATED) == CURLE_OK
               ? 0
               : -ENOMEM;
}

static curl_mime *form(CURL *c, const AsrConfig *cfg, const uint8_t *wav, size_t size)
{
    curl_mime *m = curl_mime_init(c);
    curl_mimepart *p = m ? curl_mime_addpart(m) : NULL;
    int bad = !p || curl_mime_name(p, "file") != CURLE_OK ||
              curl_mime_filename(p, "audio.wav") != CURLE_OK ||
              curl_mime_type(p, "audio/wav") != CURLE_OK ||
              curl_mime_data(p, (const char *)wav, size) != CURLE_OK;
    bad = bad || add_field(m, "response_format", "verbose_json") < 0;
    bad = bad || (cfg->model && add_field(m, "model", cfg->model) < 0);
    bad = bad || (cfg->language && add_field(m, "language", cfg->language) < 0);
    if (bad) {
        curl_mime_free(m);
        return NULL;
    }
    return m;
}

/* ---- reply ---- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *opaque)
{
    Body *b = opaque;
    size_t len = size * nmemb;
    if (vidx__append_bounded(&b->data, &b->len, &b->cap, ptr, len, MAX_BODY) < 0)
        return 0; /* curl fails the transfer (CURLE_WRITE_ERROR) */
    return len;
}

/* Retry-After in seconds (the HTTP-date form is taken as "soon": 1 s). */
static size_t on_header(char *buf, size_t size, size_t nitems, void *opaque)
{
    Reply *r = opaque;
    size_t len = size * nitems;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) && strncasecmp(buf, name, sizeof(name) - 1) == 0) {
        char tmp[64] = {0}, *end;
        memcpy(tmp, buf + sizeof(name) - 1, VIDX_MIN(len - (sizeof(name) - 1), sizeof(tmp) - 1));
        double v = strtod(tmp, &end);
        r->retry_after = end != tmp && isfinite(v) && v >= 0 ? VIDX_MIN(v, MAX_RETRY_AFTER) : 1;
    }
    return len;
}

/* ---- one attempt ---- */

static void perform(AsrBackend *b, CURL *c, curl_mime *m, Reply *r)
{
    r->retry_after = -1;
    double t = b->cfg.timeout > 0 ? VIDX_MIN(b->cfg.timeout, 1e6) : 300; /* ~11 days at most */
    long ms = VIDX_MAX((long)(t * 1000), 1L);
    curl_easy_setopt(c, CURLOPT_URL, b->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, b->headers);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, m);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    r->curl = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
}

static int retryable(const Reply *r)
{
    if (r->curl != CURLE_OK)
        return r->curl != CURLE_OUT_OF_MEMORY && r->curl != CURLE_WRITE_ERROR &&
               r->curl != CURLE_UNSUPPORTED_PROTOCOL && r->curl != CURLE_URL_MALFORMAT;
    return r->status == 429 || r->status >= 500;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* A printable excerpt of the server's error text, with the key blanked out. */
static void excerpt(const AsrBackend *b, const Body *body, char *out, size_t size)
{
    size_t k = 0;
    for (size_t i = 0; body->data && i < body->len && k + 1 < size; i++)
        out[k++] = body->data[i] >= 32 && body->data[i] < 127 ? body->data[i] : ' ';
    out[k] = 0;
    size_t kl = b->key ? strlen(b->key) : 0;
    for (char *p; kl && (p = strstr(out, b->key));)
        memset(p, '*', kl);
}

static int failure(const AsrBackend *b, const Reply *r)
{
    char text[160];
    if (r->curl == CURLE_OPERATION_TIMEDOUT)
        return vidx__detail(VIDX_ETIMEOUT, "%s: no answer within %g s", b->shown, b->cfg.timeout);
    if (r->curl == CURLE_WRITE_ERROR)
        return vidx__detail(VIDX_ENETWORK, "%s: answer larger than %d MiB", b->shown,
                            MAX_BODY >> 20);
    if (r->curl != CURLE_OK)
        return vidx__detail(VIDX_ENETWORK, "%s: %s", b->shown, curl_easy_strerror(r->curl));
    excerpt(b, &r->body, text, sizeof(text));
    return vidx__detail(VIDX_ENETWORK, "%s: HTTP %ld%s%s", b->shown, r->status, *text ? ": " : "",
                        text);
}

/* POSTs the form until an answer or the retries are spent; 0 with r holding a 2xx body. */
static int post(AsrBackend *b, CURL *c, curl_mime *m, Reply *r)
{
    for (int attempt = 0;; attempt++) {
        free(r->body.data);
        memset(r, 0, sizeof(*r));
        perform(b, c, m, r);
        if (r->curl == CURLE_OK && r->status >= 200 && r->status < 300)
            return 0;
        if (!retryable(r) || attempt >= b->cfg.retries)
            return failure(b, r);
        double wait = VIDX_MIN(0.5 * ldexp(1, attempt), 30.0);
        if (r->status == 429 && r->retry_after >= 0)
            wait = r->retry_after;
        vidx__log(VIDX_LOG_WARNING, "vidx: %s: %s; trying again in %g s\n", b->shown,
                  r->curl != CURLE_OK ? curl_easy_strerror(r->curl) : "server busy", wait);
        sleep_s(wait);
    }
}

/* ---- answer ---- */

static int malformed(const AsrBackend *b, const char *why)
{
    return vidx__detail(VIDX_EFORMAT, "%s: malformed answer: %s", b->shown, why);
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
static int parse(const AsrBackend *b, const Body *body, double offset, double dur, AsrSegments *out)
{
    json_error_t err;
    json_t *root = body->data ? json_loadb(body->data, body->len, 0, &err) : NULL;
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
    CURL *c = wav ? curl_easy_init() : NULL; /* the form's handle and every attempt's */
    curl_mime *m = c ? form(c, &b->cfg, wav, size) : NULL;
    Reply r = {0};
    int ret = m ? post(b, c, m, &r) : -ENOMEM;
    if (ret == 0)
        ret = parse(b, &r.body, offset, (double)n / VIDX_ASR_RATE, out);
    free(r.body.data);
    curl_mime_free(m);
    curl_easy_cleanup(c);
    free(wav);
    return ret;
}

/* ---- open / close ---- */

static char *endpoint(const char *base)
{
    size_t len = strlen(base);
    while (len && base[len - 1] == '/')
        len--;
    const char *tail = ENDPOINT;
    if (len >= strlen(ENDPOINT) &&
        memcmp(base + len - strlen(ENDPOINT), ENDPOINT, strlen(ENDPOINT)) == 0)
        tail = "";
    else if (len >= 3 && memcmp(base + len - 3, "/v1", 3) == 0)
        tail = ENDPOINT + 3;
    char *u = malloc(len + strlen(tail) + 1);
    if (u) {
        memcpy(u, base, len);
        strcpy(u + len, tail);
    }
    return u;
}

/* url without the user information between "://" and the host ("user:password@"). */
static char *without_userinfo(const char *url)
{
    char *u = strdup(url), *host = u ? strstr(u, "://") : NULL;
    if (!host)
        return u;
    host += 3;
    char *at = strchr(host, '@'), *slash = strchr(host, '/');
    if (at && (!slash || at < slash))
        memmove(host, at + 1, strlen(at + 1) + 1);
    return u;
}

static const char *api_key(const AsrConfig *cfg)
{
    if (cfg->key_env && *cfg->key_env)
        return getenv(cfg->key_env);
    const char *k = getenv("VIDX_ASR_KEY");
    return k && *k ? k : getenv("OPENAI_API_KEY");
}

static int bearer(AsrBackend *b)
{
    const char *key = api_key(&b->cfg);
    if (!key || !*key)
        return 0; /* local servers (whisper.cpp) need none */
    size_t len = strlen(key);
    char *h = malloc(len + sizeof("Authorization: Bearer "));
    if (!h || !(b->key = strdup(key))) {
        free(h);
        return -ENOMEM;
    }
    strcpy(h, "Authorization: Bearer ");
    strcat(h, key);
    struct curl_slist *l = curl_slist_append(NULL, h);
    memset(h, 0, len + sizeof("Authorization: Bearer ") - 1);
    free(h);
    if (!l)
        return -ENOMEM;
    b->headers = curl_slist_append(l, "Expect:"); /* no 100-continue round trip */
    return b->headers ? 0 : -ENOMEM;
}

static void http_close(AsrBackend *b)
{
    if (!b)
        return;
    curl_slist_free_all(b->headers);
    if (b->key)
        memset(b->key, 0, strlen(b->key));
    free(b->key);
    free(b->url);
    free(b->shown);
    free(b);
}

static int http_open(AsrBackend **out, const AsrConfig *cfg)
{
    *out = NULL;
    if (!cfg->url || !*cfg->url)
        return vidx__detail(VIDX_EUSAGE, "the HTTP transcription backend needs a URL");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -ENOMEM;
    AsrBackend *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->cfg = *cfg;
    b->url = endpoint(cfg->url);
    b->shown = b->url ? without_userinfo(b->url) : NULL;
    int ret = b->shown ? bearer(b) : -ENOMEM;
    if (ret == 0 && !b->headers)
        b->headers = curl_slist_append(NULL, "Expect:");
    if (ret == 0 && !b->headers)
        ret = -ENOMEM;
    if (ret < 0)
        http_close(b);
    else
        *out = b;
    return ret;
}

const AsrOps vidx__asr_http = {"http", http_open, http_transcribe, http_close};
