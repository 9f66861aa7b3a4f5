/*
 * http.c - see http.h. Each post has its own curl handle (and form), so
 * threads never share one; the client's header lists are only read.
 * Backoff: 0.5 s doubling up to 30 s, or what a 429's Retry-After asks (at
 * most 120 s; the HTTP-date form is taken as 1 s).
 */
#include "net/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/internal.h"

#define MAX_BODY        (64 << 20)
#define MAX_RETRY_AFTER 120.0

struct HttpClient {
    HttpConfig cfg;
    char *url;
    char *shown; /* url without user information (user:password@), for messages */
    char *key;
    struct curl_slist *headers, *json_headers;
};

typedef struct Attempt {
    CURLcode curl;
    double retry_after; /* seconds, or -1 */
    HttpReply *reply;
    size_t cap;
} Attempt;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *opaque)
{
    Attempt *a = opaque;
    HttpReply *r = a->reply;
    size_t len = size * nmemb;
    if (vidx__append_bounded(&r->body, &r->len, &a->cap, ptr, len, MAX_BODY) < 0)
        return 0; /* curl fails the transfer (CURLE_WRITE_ERROR) */
    return len;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *opaque)
{
    Attempt *a = opaque;
    size_t len = size * nitems;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) && strncasecmp(buf, name, sizeof(name) - 1) == 0) {
        char tmp[64] = {0}, *end;
        memcpy(tmp, buf + sizeof(name) - 1, VIDX_MIN(len - (sizeof(name) - 1), sizeof(tmp) - 1));
        double v = strtod(tmp, &end);
        a->retry_after = end != tmp && isfinite(v) && v >= 0 ? VIDX_MIN(v, MAX_RETRY_AFTER) : 1;
    }
    return len;
}

static void perform(HttpClient *h, CURL *c, Attempt *a)
{
    double t = h->cfg.timeout > 0 ? VIDX_MIN(h->cfg.timeout, 1e6) : 300; /* ~11 days at most */
    long ms = VIDX_MAX((long)(t * 1000), 1L);
    a->retry_after = -1;
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    a->curl = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->reply->status);
}

static int retryable(const Attempt *a)
{
    if (a->curl != CURLE_OK)
        return a->curl != CURLE_OUT_OF_MEMORY && a->curl != CURLE_WRITE_ERROR &&
               a->curl != CURLE_UNSUPPORTED_PROTOCOL && a->curl != CURLE_URL_MALFORMAT;
    return a->reply->status == 429 || a->reply->status >= 500;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* A printable excerpt of the server's text, with the key blanked out. */
static void excerpt(const HttpClient *h, const HttpReply *r, char *out, size_t size)
{
    size_t k = 0;
    for (size_t i = 0; r->body && i < r->len && k + 1 < size; i++)
        out[k++] = r->body[i] >= 32 && r->body[i] < 127 ? r->body[i] : ' ';
    out[k] = 0;
    size_t kl = h->key ? strlen(h->key) : 0;
    for (char *p; kl && (p = strstr(out, h->key));)
        memset(p, '*', kl);
}

static int failure(const HttpClient *h, const Attempt *a)
{
    char text[160];
    if (a->curl == CURLE_OPERATION_TIMEDOUT)
        return vidx__detail(VIDX_ETIMEOUT, "%s: no answer within %g s", h->shown, h->cfg.timeout);
    if (a->curl == CURLE_WRITE_ERROR)
        return vidx__detail(VIDX_ENETWORK, "%s: answer larger than %d MiB", h->shown,
                            MAX_BODY >> 20);
    if (a->curl != CURLE_OK)
        return vidx__detail(VIDX_ENETWORK, "%s: %s", h->shown, curl_easy_strerror(a->curl));
    excerpt(h, a->reply, text, sizeof(text));
    return vidx__detail(VIDX_ENETWORK, "%s: HTTP %ld%s%s", h->shown, a->reply->status,
                        *text ? ": " : "", text);
}

/* The request is set on c already; attempts until a 2xx answer or the retries are spent. */
static int post(HttpClient *h, CURL *c, HttpReply *r)
{
    for (int attempt = 0;; attempt++) {
        vidx__http_reply_free(r);
        Attempt a = {.reply = r};
        perform(h, c, &a);
        if (a.curl == CURLE_OK && r->status >= 200 && r->status < 300)
            return 0;
        if (!retryable(&a) || attempt >= h->cfg.retries) {
            int ret = failure(h, &a);
            vidx__http_reply_free(r);
            return ret;
        }
        double wait = VIDX_MIN(0.5 * ldexp(1, attempt), 30.0);
        if (r->status == 429 && a.retry_after >= 0)
            wait = a.retry_after;
        vidx__log(VIDX_LOG_WARNING, "%s: %s; trying again in %g s", h->shown,
                  a.curl != CURLE_OK ? curl_easy_strerror(a.curl) : "server busy", wait);
        sleep_s(wait);
    }
}

int vidx__http_post_json(HttpClient *h, const char *json, size_t len, HttpReply *reply)
{
    memset(reply, 0, sizeof(*reply));
    CURL *c = curl_easy_init();
    if (!c)
        return -ENOMEM;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->json_headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    int ret = post(h, c, reply);
    curl_easy_cleanup(c);
    return ret;
}

int vidx__http_post_form(HttpClient *h, const HttpPart *parts, size_t n, HttpReply *reply)
{
    memset(reply, 0, sizeof(*reply));
    CURL *c = curl_easy_init(); /* the form's handle and every attempt's */
    curl_mime *m = c ? curl_mime_init(c) : NULL;
    int bad = !m;
    for (size_t i = 0; i < n && !bad; i++) {
        curl_mimepart *p = curl_mime_addpart(m);
        bad = !p || curl_mime_name(p, parts[i].name) != CURLE_OK ||
              curl_mime_data(p, parts[i].data, parts[i].size) != CURLE_OK ||
              (parts[i].filename && curl_mime_filename(p, parts[i].filename) != CURLE_OK) ||
              (parts[i].type && curl_mime_type(p, parts[i].type) != CURLE_OK);
    }
    int ret = -ENOMEM;
    if (!bad) {
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
        curl_easy_setopt(c, CURLOPT_MIMEPOST, m);
        ret = post(h, c, reply);
    }
    curl_mime_free(m);
    curl_easy_cleanup(c);
    return ret;
}

void vidx__http_reply_free(HttpReply *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

const char *vidx__http_shown(const HttpClient *h)
{
    return h->shown;
}

char *vidx__http_endpoint(const char *base, const char *path)
{
    size_t len = strlen(base), pl = strlen(path);
    while (len && base[len - 1] == '/')
        len--;
    const char *tail = path;
    if (len >= pl && memcmp(base + len - pl, path, pl) == 0)
        tail = "";
    else if (len >= 3 && memcmp(base + len - 3, "/v1", 3) == 0 && !strncmp(path, "/v1/", 4))
        tail = path + 3;
    char *u = malloc(len + strlen(tail) + 1);
    if (u) {
        memcpy(u, base, len);
        strcpy(u + len, tail);
    }
    return u;
}

const char *vidx__http_key(const char *key_env, const char *const *fallback)
{
    if (key_env && *key_env)
        return getenv(key_env);
    for (; fallback && *fallback; fallback++) {
        const char *k = getenv(*fallback);
        if (k && *k)
            return k;
    }
    return NULL;
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

/* Authorization (when there is a key) and no 100-continue round trip, then extra. */
static struct curl_slist *header_list(const char *key, const char *extra)
{
    struct curl_slist *l = NULL;
    if (key && *key) {
        size_t len = strlen(key) + sizeof("Authorization: Bearer ");
        char *h = malloc(len);
        if (!h)
            return NULL;
        snprintf(h, len, "Authorization: Bearer %s", key);
        l = curl_slist_append(NULL, h);
        memset(h, 0, len);
        free(h);
        if (!l)
            return NULL;
    }
    struct curl_slist *t = curl_slist_append(l, "Expect:");
    if (t && extra)
        t = curl_slist_append(t, extra);
    if (!t)
        curl_slist_free_all(l);
    return t;
}

void vidx__http_close(HttpClient *h)
{
    if (!h)
        return;
    curl_slist_free_all(h->headers);
    curl_slist_free_all(h->json_headers);
    if (h->key)
        memset(h->key, 0, strlen(h->key));
    free(h->key);
    free(h->url);
    free(h->shown);
    free(h);
}

int vidx__http_open(HttpClient **out, const HttpConfig *cfg)
{
    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -ENOMEM;
    HttpClient *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->cfg = *cfg;
    h->url = strdup(cfg->url);
    h->shown = h->url ? without_userinfo(h->url) : NULL;
    h->key = cfg->key && *cfg->key ? strdup(cfg->key) : NULL;
    h->cfg.url = h->url;
    h->cfg.key = NULL; /* the caller's copy is not kept */
    h->headers = header_list(cfg->key, NULL);
    h->json_headers = header_list(cfg->key, "Content-Type: application/json");
    if (!h->shown || (cfg->key && *cfg->key && !h->key) || !h->headers || !h->json_headers) {
        vidx__http_close(h);
        return -ENOMEM;
    }
    *out = h;
    return 0;
}
