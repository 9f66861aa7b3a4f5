/*
 * s3.c - the S3 client behind s3.h.
 *
 * Signing. libcurl signs (CURLOPT_AWS_SIGV4), but Debian 12's 7.88 builds the
 * canonical request from the URL as given: it neither sorts the query nor
 * adds the '=' of a parameter without a value ("?uploads" is refused by every
 * server as SignatureDoesNotMatch), and it does not encode the path. So every
 * URL this file makes is already in SigV4's canonical form: the key encoded
 * byte by byte (all but A-Z a-z 0-9 - . _ ~ and the '/' separators, as %XX in
 * upper case), the query's parameters sorted by name, each with its '=',
 * names and values encoded the same way ('/' too). Then what curl signs is
 * what the server recomputes, for keys with spaces, unicode, '+' and '='
 * (tests/cli/test_s3.py). The payload is sent as UNSIGNED-PAYLOAD (the
 * x-amz-content-sha256 header curl 7.88 takes as the payload's hash). Another
 * 7.88 bug: a header removed by the caller ("Expect:") is still listed in
 * SignedHeaders, so every such request is refused; vidx removes none.
 *
 * Retries. A request is repeated (up to VIDX_S3_ATTEMPTS times, default 6,
 * after 0.1, 0.2, 0.4 ... s, at most 5 s, with jitter) after a 5xx answer
 * (503 SlowDown included), 429, or a connection that failed, was reset or cut
 * before the whole body came. Bodies are in memory, so a retry resends them.
 *
 * Secrets: the secret key goes to curl alone (CURLOPT_PASSWORD); messages name
 * the object (s3://bucket/key), the HTTP status and the server's error code.
 */
#include "net/s3.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/fingerprint.h"
#include "core/internal.h"

#define S3_MAX_XML (64u << 20) /* a listing page is ~ 1,000 keys: well under this */

struct S3 {
    CURL *curl;
    char *endpoint; /* scheme://host[:port], no trailing '/' */
    char *region;
    char *access, *secret, *token;
    int path_style;
    int attempts;
};

/* ---------------------------------------------------------------------- */
/* Names                                                                    */
/* ---------------------------------------------------------------------- */

int vidx__s3_is_url(const char *s)
{
    return s && !strncmp(s, "s3://", 5);
}

int vidx__s3_parse(const char *url, char **bucket, char **key)
{
    *bucket = *key = NULL;
    if (!vidx__s3_is_url(url))
        return vidx__detail(VIDX_EUSAGE, "%s: not an s3://bucket/key URL", url);
    const char *b = url + 5, *slash = strchr(b, '/');
    size_t lb = slash ? (size_t)(slash - b) : strlen(b);
    if (lb < 3 || lb > 63)
        return vidx__detail(VIDX_EUSAGE, "%s: a bucket name has 3 to 63 characters", url);
    for (size_t i = 0; i < lb; i++)
        if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '-' ||
              b[i] == '.'))
            return vidx__detail(
                VIDX_EUSAGE, "%s: a bucket name has lower-case letters, digits, '-' and '.'", url);
    *bucket = strndup(b, lb);
    *key = strdup(slash ? slash + 1 : "");
    if (!*bucket || !*key) {
        free(*bucket);
        free(*key);
        *bucket = *key = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* SigV4's URI encoding of s (all but the unreserved characters; '/' kept when keep_slash). */
static int encode(char **out, size_t *len, size_t *cap, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (vidx__grow(out, cap, *len + 4, 1, 256) < 0)
            return -ENOMEM;
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
            (keep_slash && *p == '/'))
            (*out)[(*len)++] = (char)*p;
        else {
            (*out)[(*len)++] = '%';
            (*out)[(*len)++] = hex[*p >> 4];
            (*out)[(*len)++] = hex[*p & 15];
        }
        (*out)[*len] = 0;
    }
    return 0;
}

static int append(char **out, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (vidx__grow(out, cap, *len + n + 1, 1, 256) < 0)
        return -ENOMEM;
    memcpy(*out + *len, s, n + 1);
    *len += n;
    return 0;
}

typedef struct Param {
    const char *name, *value;
} Param;

static int cmp_param(const void *a, const void *b)
{
    const Param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/*
 * The request's URL in canonical form: endpoint, bucket (path or host), the
 * encoded key, and the sorted query (names here are plain ASCII: their order
 * is that of their encodings).
 */
static char *request_url(const S3 *s3, const char *bucket, const char *key, Param *q, size_t nq)
{
    char *u = NULL;
    size_t len = 0, cap = 0;
    const char *host = strstr(s3->endpoint, "://");
    host = host ? host + 3 : s3->endpoint;
    int ret = 0;
    if (s3->path_style || !bucket) {
        ret = append(&u, &len, &cap, s3->endpoint);
        if (bucket && ret == 0)
            ret = append(&u, &len, &cap, "/") || append(&u, &len, &cap, bucket);
    } else {
        ret = vidx__grow(&u, &cap, strlen(s3->endpoint) + strlen(bucket) + 2, 1, 256);
        if (ret == 0)
            len = (size_t)sprintf(u, "%.*s%s.%s", (int)(host - s3->endpoint), s3->endpoint, bucket,
                                  host);
    }
    if (ret == 0 && (key || !bucket || !s3->path_style)) /* "/bucket" for a bucket itself */
        ret = append(&u, &len, &cap, "/");
    if (ret == 0 && key)
        ret = encode(&u, &len, &cap, key, 1);
    if (nq > 1)
        qsort(q, nq, sizeof(*q), cmp_param);
    for (size_t i = 0; i < nq && ret == 0; i++) {
        ret = append(&u, &len, &cap, i ? "&" : "?");
        if (ret == 0)
            ret = encode(&u, &len, &cap, q[i].name, 0);
        if (ret == 0)
            ret = append(&u, &len, &cap, "=");
        if (ret == 0)
            ret = encode(&u, &len, &cap, q[i].value, 0);
    }
    if (ret < 0) {
        free(u);
        return NULL;
    }
    return u;
}

/* ---------------------------------------------------------------------- */
/* Settings and credentials                                                 */
/* ---------------------------------------------------------------------- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

int vidx__s3_credentials_parse(const char *text, size_t n, const char *profile, char **access,
                               char **secret, char **token)
{
    char *copy = strndup(text, n), *save = NULL, *line;
    int in = 0;
    if (!copy)
        return -ENOMEM;
    for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *l = trim(line), *eq;
        if (!*l || *l == '#' || *l == ';')
            continue;
        if (*l == '[') {
            char *end = strchr(l, ']');
            if (end)
                *end = 0;
            in = !strcmp(trim(l + 1), profile);
            continue;
        }
        if (!in || !(eq = strchr(l, '=')))
            continue;
        *eq = 0;
        char *k = trim(l), *v = trim(eq + 1), **dst = NULL;
        if (!strcmp(k, "aws_access_key_id"))
            dst = access;
        else if (!strcmp(k, "aws_secret_access_key"))
            dst = secret;
        else if (!strcmp(k, "aws_session_token"))
            dst = token;
        if (dst) {
            free(*dst);
            if (!(*dst = strdup(v))) {
                free(copy);
                return -ENOMEM;
            }
        }
    }
    free(copy);
    return 0;
}

static int credentials_file(S3 *s3)
{
    const char *profile = env("AWS_PROFILE") ? env("AWS_PROFILE") : "default";
    char path[4096];
    if (env("AWS_SHARED_CREDENTIALS_FILE"))
        snprintf(path, sizeof(path), "%s", env("AWS_SHARED_CREDENTIALS_FILE"));
    else if (env("HOME"))
        snprintf(path, sizeof(path), "%s/.aws/credentials", env("HOME"));
    else
        return 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return vidx__s3_credentials_parse(buf, n, profile, &s3->access, &s3->secret, &s3->token);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;
static void curl_init(void)
{
    curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    xmlInitParser();
}

int vidx__s3_open(S3 **out)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init);
    if (!curl_ok)
        return -ENOMEM;
    S3 *s3 = calloc(1, sizeof(*s3));
    if (!s3)
        return -ENOMEM;
    int ret = -ENOMEM;
    const char *region = env("AWS_REGION") ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
    const char *ep = env("AWS_ENDPOINT_URL"), *style = env("VIDX_S3_STYLE");
    const char *attempts = env("VIDX_S3_ATTEMPTS");
    s3->region = strdup(region ? region : "us-east-1");
    if (ep)
        s3->endpoint = strdup(ep);
    else if (s3->region && asprintf(&s3->endpoint, "https://s3.%s.amazonaws.com", s3->region) < 0)
        s3->endpoint = NULL;
    if (!s3->region || !s3->endpoint)
        goto fail;
    size_t n = strlen(s3->endpoint);
    while (n && s3->endpoint[n - 1] == '/')
        s3->endpoint[--n] = 0;
    if (strncmp(s3->endpoint, "http://", 7) && strncmp(s3->endpoint, "https://", 8)) {
        ret = vidx__detail(VIDX_EUSAGE, "the S3 endpoint %s is not an http:// or https:// URL",
                           s3->endpoint);
        goto fail;
    }
    s3->path_style = style ? !strcmp(style, "path") : ep != NULL;
    s3->attempts = attempts ? atoi(attempts) : 6;
    if (s3->attempts < 1)
        s3->attempts = 1;
    if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
        s3->access = strdup(env("AWS_ACCESS_KEY_ID"));
        s3->secret = strdup(env("AWS_SECRET_ACCESS_KEY"));
        if (env("AWS_SESSION_TOKEN") && !(s3->token = strdup(env("AWS_SESSION_TOKEN"))))
            goto fail;
        if (!s3->access || !s3->secret)
            goto fail;
    } else if ((ret = credentials_file(s3)) < 0)
        goto fail;
    if (!s3->access || !s3->secret) {
        ret = vidx__detail(VIDX_EUSAGE,
                           "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                           "or a profile in ~/.aws/credentials (AWS_PROFILE)");
        goto fail;
    }
    if (!(s3->curl = curl_easy_init())) {
        ret = -ENOMEM;
        goto fail;
    }
    *out = s3;
    return 0;
fail:
    vidx__s3_close(&s3);
    return ret;
}

void vidx__s3_close(S3 **ps3)
{
    S3 *s3 = ps3 ? *ps3 : NULL;
    if (!s3)
        return;
    if (s3->curl)
        curl_easy_cleanup(s3->curl);
    free(s3->endpoint);
    free(s3->region);
    free(s3->access);
    if (s3->secret) /* not left in freed memory */
        memset(s3->secret, 0, strlen(s3->secret));
    free(s3->secret);
    free(s3->token);
    free(s3);
    *ps3 = NULL;
}

/* ---------------------------------------------------------------------- */
/* One request                                                              */
/* ---------------------------------------------------------------------- */

typedef struct Req {
    const char *method; /* GET HEAD PUT POST DELETE */
    const char *bucket, *key;
    Param *query;
    size_t nq;
    const void *body;
    size_t body_len;
    int64_t range_off; /* with range_len > 0 */
    size_t range_len;
    char *into; /* GET: the body goes here (range_len bytes at most) */
} Req;

typedef struct Resp {
    long status;
    char *body; /* XML answers and errors (NUL-terminated) */
    size_t len, cap;
    size_t got; /* bytes written to Req.into */
    char etag[128];
    int64_t length, total; /* Content-Length; Content-Range's total (-1: none) */
    const Req *rq;
} Resp;

static size_t on_body(char *p, size_t size, size_t nmemb, void *opaque)
{
    Resp *rs = opaque;
    size_t n = size * nmemb;
    if (rs->rq->into && rs->status / 100 == 2) {
        if (n > rs->rq->range_len - rs->got)
            return 0; /* more than asked for: abort */
        memcpy(rs->rq->into + rs->got, p, n);
        rs->got += n;
        return n;
    }
    return vidx__append_bounded(&rs->body, &rs->len, &rs->cap, p, n, S3_MAX_XML) < 0 ? 0 : n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *opaque)
{
    Resp *rs = opaque;
    size_t n = size * nmemb;
    char line[512];
    if (n >= sizeof(line))
        return n;
    memcpy(line, p, n);
    line[n] = 0;
    if (!strncmp(line, "HTTP/", 5)) { /* a new response (after a 100 Continue, a redirect) */
        rs->status = strtol(strchr(line, ' ') ? strchr(line, ' ') : line, NULL, 10);
        rs->etag[0] = 0;
        rs->length = rs->total = -1;
        return n;
    }
    char *colon = strchr(line, ':');
    if (!colon)
        return n;
    *colon = 0;
    char *v = trim(colon + 1);
    if (!strcasecmp(line, "etag")) {
        size_t lv = strlen(v);
        if (lv >= 2 && v[0] == '"' && v[lv - 1] == '"') {
            v[lv - 1] = 0;
            v++;
        }
        snprintf(rs->etag, sizeof(rs->etag), "%s", v);
    } else if (!strcasecmp(line, "content-length"))
        rs->length = strtoll(v, NULL, 10);
    else if (!strcasecmp(line, "content-range")) {
        const char *slash = strrchr(v, '/');
        if (slash && slash[1] != '*')
            rs->total = strtoll(slash + 1, NULL, 10);
    }
    return n;
}

/* The text of the first <name> element of an XML answer, or "" (into out). */
static void xml_field(const char *body, const char *name, char *out, size_t cap)
{
    out[0] = 0;
    const char *b = body ? strstr(body, name) : NULL;
    /* the server's own error codes and messages: plain words, no markup inside */
    while (b && b > body && b[-1] != '<')
        b = strstr(b + 1, name);
    if (!b || b[strlen(name)] != '>')
        return;
    b += strlen(name) + 1;
    const char *e = strchr(b, '<');
    size_t n = e ? (size_t)(e - b) : 0;
    snprintf(out, cap, "%.*s", (int)VIDX_MIN(n, cap - 1), b);
}

static int retryable(CURLcode c, long status)
{
    if (c != CURLE_OK)
        return c == CURLE_COULDNT_CONNECT || c == CURLE_SEND_ERROR || c == CURLE_RECV_ERROR ||
               c == CURLE_PARTIAL_FILE || c == CURLE_GOT_NOTHING || c == CURLE_OPERATION_TIMEDOUT ||
               c == CURLE_HTTP2 || c == CURLE_HTTP2_STREAM;
    return status >= 500 || status == 429;
}

static void backoff(int attempt)
{
    double s = 0.1 * (double)(1u << VIDX_MIN(attempt, 6));
    s = VIDX_MIN(s, 5.0) * (0.75 + 0.5 * (double)rand() / RAND_MAX);
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

typedef struct Upload {
    const char *p;
    size_t left;
} Upload;

static size_t on_upload(char *buf, size_t size, size_t nmemb, void *opaque)
{
    Upload *u = opaque;
    size_t n = VIDX_MIN(size * nmemb, u->left);
    memcpy(buf, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

static int setup(S3 *s3, const Req *rq, Resp *rs, const char *url, struct curl_slist **hdrs,
                 Upload *up)
{
    CURL *c = s3->curl;
    char sig[128], h[4200];
    curl_easy_reset(c);
    snprintf(sig, sizeof(sig), "aws:amz:%s:s3", s3->region);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sig);
    curl_easy_setopt(c, CURLOPT_USERNAME, s3->access);
    curl_easy_setopt(c, CURLOPT_PASSWORD, s3->secret);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
    *hdrs = curl_slist_append(NULL, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (*hdrs && s3->token && strlen(s3->token) < sizeof(h) - 32) {
        snprintf(h, sizeof(h), "x-amz-security-token: %s", s3->token);
        *hdrs = curl_slist_append(*hdrs, h);
    }
    if (*hdrs && rq->range_len) {
        snprintf(h, sizeof(h), "Range: bytes=%lld-%lld", (long long)rq->range_off,
                 (long long)(rq->range_off + (int64_t)rq->range_len - 1));
        *hdrs = curl_slist_append(*hdrs, h);
    }
    if (!*hdrs)
        return -ENOMEM;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    if (!strcmp(rq->method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (!strcmp(rq->method, "PUT")) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(c, CURLOPT_READDATA, up);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
    } else if (!strcmp(rq->method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    } else if (strcmp(rq->method, "GET"))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    return 0;
}

/* What a failed request was, without secrets: "s3://b/k: HTTP 403 (AccessDenied: ...)". */
static int failure(const Req *rq, const Resp *rs, CURLcode c)
{
    char code[64], msg[160];
    const char *b = rq->bucket ? rq->bucket : "", *k = rq->key ? rq->key : "";
    if (c != CURLE_OK)
        return vidx__detail(VIDX_ENETWORK, "s3://%s/%s: %s %s", b, k, rq->method,
                            curl_easy_strerror(c));
    xml_field(rs->body, "Code", code, sizeof(code));
    xml_field(rs->body, "Message", msg, sizeof(msg));
    int err = rs->status == 404 ? -ENOENT : rs->status == 403 ? -EACCES : VIDX_ENETWORK;
    return vidx__detail(err, "s3://%s/%s: %s answered HTTP %ld%s%s%s%s%s", b, k, rq->method,
                        rs->status, code[0] ? " (" : "", code, msg[0] ? ": " : "", msg,
                        code[0] ? ")" : "");
}

/* Runs rq with retries; 0 with rs filled on a 2xx answer. rs->body is freed by the caller. */
static int perform(S3 *s3, const Req *rq, Resp *rs)
{
    char *url = request_url(s3, rq->bucket, rq->key, rq->query, rq->nq);
    if (!url)
        return -ENOMEM;
    int ret = 0;
    for (int attempt = 0;; attempt++) {
        struct curl_slist *hdrs = NULL;
        Upload up = {rq->body, rq->body_len};
        free(rs->body);
        memset(rs, 0, sizeof(*rs));
        rs->rq = rq;
        rs->length = rs->total = -1;
        if ((ret = setup(s3, rq, rs, url, &hdrs, &up)) < 0) {
            curl_slist_free_all(hdrs);
            break;
        }
        CURLcode c = curl_easy_perform(s3->curl);
        curl_slist_free_all(hdrs);
        if (c == CURLE_OK && rs->status / 100 == 2 && rq->into && rs->length >= 0 &&
            rs->got != (size_t)rs->length)
            c = CURLE_PARTIAL_FILE;
        if (c == CURLE_OK && rs->status / 100 == 2) {
            ret = 0;
            break;
        }
        if (attempt + 1 >= s3->attempts || !retryable(c, rs->status)) {
            ret = failure(rq, rs, c);
            break;
        }
        vidx__log(VIDX_LOG_INFO, "s3://%s/%s: %s: %s, retrying", rq->bucket ? rq->bucket : "",
                  rq->key ? rq->key : "", rq->method,
                  c != CURLE_OK ? curl_easy_strerror(c) : "server error");
        backoff(attempt);
    }
    free(url);
    return ret;
}

static void resp_free(Resp *rs)
{
    free(rs->body);
    rs->body = NULL;
}

/* ---------------------------------------------------------------------- */
/* Objects                                                                  */
/* ---------------------------------------------------------------------- */

int vidx__s3_head(S3 *s3, const char *bucket, const char *key, int64_t *size, char etag[128])
{
    Req rq = {.method = "HEAD", .bucket = bucket, .key = key};
    Resp rs = {0};
    int ret = perform(s3, &rq, &rs);
    if (ret == 0) {
        *size = rs.length;
        snprintf(etag, 128, "%s", rs.etag);
    }
    resp_free(&rs);
    return ret;
}

int vidx__s3_get_range(S3 *s3, const char *bucket, const char *key, int64_t off, size_t len,
                       char *buf, size_t *got)
{
    Req rq = {.method = "GET",
              .bucket = bucket,
              .key = key,
              .range_off = off,
              .range_len = len,
              .into = buf};
    Resp rs = {0};
    *got = 0;
    int ret = perform(s3, &rq, &rs);
    if (ret == 0)
        *got = rs.got;
    resp_free(&rs);
    return ret;
}

int vidx__s3_put(S3 *s3, const char *bucket, const char *key, const void *data, size_t len)
{
    Req rq = {.method = "PUT", .bucket = bucket, .key = key, .body = data, .body_len = len};
    Resp rs = {0};
    int ret = perform(s3, &rq, &rs);
    resp_free(&rs);
    return ret;
}

int vidx__s3_delete(S3 *s3, const char *bucket, const char *key)
{
    Req rq = {.method = "DELETE", .bucket = bucket, .key = key};
    Resp rs = {0};
    int ret = perform(s3, &rq, &rs);
    resp_free(&rs);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* XML answers (libxml2; no network, no entities)                           */
/* ---------------------------------------------------------------------- */

static xmlDocPtr xml_read(const Resp *rs)
{
    if (!rs->body || rs->len == 0 || rs->len > INT32_MAX)
        return NULL;
    return xmlReadMemory(rs->body, (int)rs->len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static const char *node_name(const xmlNode *n)
{
    return n->type == XML_ELEMENT_NODE ? (const char *)n->name : "";
}

/* The text of child `name` of n ("" when absent), into a malloc'd string. */
static char *child_text(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if (!strcmp(node_name(c), name)) {
            xmlChar *t = xmlNodeGetContent(c);
            char *s = strdup(t ? (const char *)t : "");
            xmlFree(t);
            return s;
        }
    return strdup("");
}

/* One page of a listing: calls item for each `entry` child; *next: the continuation. */
typedef int (*ItemFn)(const xmlNode *n, void *opaque);
static int xml_page(const Resp *rs, const char *entry, const char *next_name, ItemFn item,
                    void *opaque, char **next, const Req *rq)
{
    *next = NULL;
    xmlDocPtr doc = xml_read(rs);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        xmlFreeDoc(doc);
        return vidx__detail(VIDX_ENETWORK, "s3://%s/: the server's listing is not XML", rq->bucket);
    }
    int ret = 0, truncated = 0;
    for (const xmlNode *c = root->children; c && ret == 0; c = c->next) {
        if (!strcmp(node_name(c), entry))
            ret = item(c, opaque);
        else if (!strcmp(node_name(c), "IsTruncated")) {
            xmlChar *t = xmlNodeGetContent(c);
            truncated = t && !strcmp((const char *)t, "true");
            xmlFree(t);
        }
    }
    if (ret == 0 && truncated) {
        char *n = child_text(root, next_name);
        if (!n || !*n) {
            free(n);
            ret = vidx__detail(VIDX_ENETWORK, "s3://%s/: a truncated listing without %s",
                               rq->bucket, next_name);
        } else
            *next = n;
    }
    xmlFreeDoc(doc);
    return ret;
}

typedef struct ListCtx {
    S3ListFn fn;
    S3UploadFn ufn;
    void *opaque;
} ListCtx;

static int list_item(const xmlNode *n, void *opaque)
{
    ListCtx *lc = opaque;
    char *key = child_text(n, "Key"), *size = child_text(n, "Size"), *etag = child_text(n, "ETag");
    int ret = -ENOMEM;
    if (key && size && etag) {
        size_t le = strlen(etag);
        if (le >= 2 && etag[0] == '"' && etag[le - 1] == '"') {
            etag[le - 1] = 0;
            memmove(etag, etag + 1, le - 1);
        }
        ret = lc->fn(lc->opaque, key, strtoll(size, NULL, 10), etag);
    }
    free(key);
    free(size);
    free(etag);
    return ret;
}

static int upload_item(const xmlNode *n, void *opaque)
{
    ListCtx *lc = opaque;
    char *key = child_text(n, "Key"), *id = child_text(n, "UploadId");
    int ret = key && id ? lc->ufn(lc->opaque, key, id) : -ENOMEM;
    free(key);
    free(id);
    return ret;
}

int vidx__s3_listing_parse(const char *xml, size_t n, S3ListFn fn, S3UploadFn ufn, void *opaque,
                           char **next)
{
    ListCtx lc = {.fn = fn, .ufn = ufn, .opaque = opaque};
    Resp rs = {.body = (char *)xml, .len = n};
    Req rq = {.method = "GET", .bucket = "(parsed)"};
    return fn ? xml_page(&rs, "Contents", "NextContinuationToken", list_item, &lc, next, &rq)
              : xml_page(&rs, "Upload", "NextKeyMarker", upload_item, &lc, next, &rq);
}

int vidx__s3_list(S3 *s3, const char *bucket, const char *prefix, S3ListFn fn, void *opaque)
{
    ListCtx lc = {.fn = fn, .opaque = opaque};
    char *token = NULL;
    int ret = 0;
    do {
        /* VIDX_S3_MAX_KEYS: smaller pages (the tests' pagination; default the server's 1,000) */
        const char *max = env("VIDX_S3_MAX_KEYS");
        Param q[4] = {{"list-type", "2"},
                      {"prefix", prefix},
                      {"max-keys", max ? max : ""},
                      {"continuation-token", token ? token : ""}};
        size_t nq = 2;
        if (max)
            nq++;
        if (token)
            q[nq++] = q[3];
        Req rq = {.method = "GET", .bucket = bucket, .query = q, .nq = nq};
        Resp rs = {0};
        ret = perform(s3, &rq, &rs);
        free(token);
        token = NULL;
        if (ret == 0)
            ret = xml_page(&rs, "Contents", "NextContinuationToken", list_item, &lc, &token, &rq);
        resp_free(&rs);
    } while (ret == 0 && token);
    free(token);
    return ret;
}

int vidx__s3_mpu_list(S3 *s3, const char *bucket, const char *prefix, S3UploadFn fn, void *opaque)
{
    ListCtx lc = {.ufn = fn, .opaque = opaque};
    char *marker = NULL, *id_marker = NULL;
    int ret = 0;
    do {
        Param q[4] = {{"uploads", ""},
                      {"prefix", prefix},
                      {"key-marker", marker},
                      {"upload-id-marker", id_marker ? id_marker : ""}};
        Req rq = {.method = "GET", .bucket = bucket, .query = q, .nq = marker ? 4 : 2};
        Resp rs = {0};
        ret = perform(s3, &rq, &rs);
        free(marker);
        free(id_marker);
        marker = id_marker = NULL;
        if (ret == 0)
            ret = xml_page(&rs, "Upload", "NextKeyMarker", upload_item, &lc, &marker, &rq);
        if (ret == 0 && marker) {
            xmlDocPtr doc = xml_read(&rs);
            xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
            id_marker = root ? child_text(root, "NextUploadIdMarker") : strdup("");
            xmlFreeDoc(doc);
            if (!id_marker)
                ret = -ENOMEM;
        }
        resp_free(&rs);
    } while (ret == 0 && marker);
    free(marker);
    free(id_marker);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* Multipart uploads                                                        */
/* ---------------------------------------------------------------------- */

int vidx__s3_mpu_start(S3 *s3, const char *bucket, const char *key, char **upload_id)
{
    Param q[1] = {{"uploads", ""}};
    Req rq = {.method = "POST", .bucket = bucket, .key = key, .query = q, .nq = 1};
    Resp rs = {0};
    *upload_id = NULL;
    int ret = perform(s3, &rq, &rs);
    if (ret == 0) {
        xmlDocPtr doc = xml_read(&rs);
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
        *upload_id = root ? child_text(root, "UploadId") : NULL;
        xmlFreeDoc(doc);
        if (!*upload_id || !**upload_id) {
            free(*upload_id);
            *upload_id = NULL;
            ret = vidx__detail(VIDX_ENETWORK, "s3://%s/%s: no UploadId in the server's answer",
                               bucket, key);
        }
    }
    resp_free(&rs);
    return ret;
}

int vidx__s3_mpu_part(S3 *s3, const char *bucket, const char *key, const char *upload_id,
                      int number, const void *data, size_t len, char etag[128])
{
    char num[16];
    snprintf(num, sizeof(num), "%d", number);
    Param q[2] = {{"partNumber", num}, {"uploadId", upload_id}};
    Req rq = {.method = "PUT",
              .bucket = bucket,
              .key = key,
              .query = q,
              .nq = 2,
              .body = data,
              .body_len = len};
    Resp rs = {0};
    int ret = perform(s3, &rq, &rs);
    if (ret == 0)
        snprintf(etag, 128, "%s", rs.etag);
    resp_free(&rs);
    return ret;
}

int vidx__s3_mpu_complete(S3 *s3, const char *bucket, const char *key, const char *upload_id,
                          char *const *etags, int n)
{
    char *x = NULL;
    size_t len = 0, cap = 0;
    int ret = append(&x, &len, &cap, "<CompleteMultipartUpload>");
    for (int i = 0; i < n && ret == 0; i++) {
        char part[300];
        snprintf(part, sizeof(part), "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>",
                 i + 1, etags[i]);
        ret = append(&x, &len, &cap, part);
    }
    if (ret == 0)
        ret = append(&x, &len, &cap, "</CompleteMultipartUpload>");
    if (ret < 0) {
        free(x);
        return ret;
    }
    Param q[1] = {{"uploadId", upload_id}};
    Req rq = {.method = "POST",
              .bucket = bucket,
              .key = key,
              .query = q,
              .nq = 1,
              .body = x,
              .body_len = len};
    Resp rs = {0};
    ret = perform(s3, &rq, &rs);
    /* a 200 may still carry an <Error> (the server failed while assembling) */
    if (ret == 0 && rs.body && strstr(rs.body, "<Error>"))
        ret = failure(&rq, &rs, CURLE_OK);
    resp_free(&rs);
    free(x);
    return ret;
}

int vidx__s3_mpu_abort(S3 *s3, const char *bucket, const char *key, const char *upload_id)
{
    Param q[1] = {{"uploadId", upload_id}};
    Req rq = {.method = "DELETE", .bucket = bucket, .key = key, .query = q, .nq = 1};
    Resp rs = {0};
    int ret = perform(s3, &rq, &rs);
    resp_free(&rs);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* Fingerprint                                                              */
/* ---------------------------------------------------------------------- */

int vidx__s3_fingerprint(const char *url, char out[64], int64_t *size)
{
    char *bucket, *key, etag[128];
    S3 *s3 = NULL;
    *size = 0;
    snprintf(out, 64, "missing");
    int ret = vidx__s3_parse(url, &bucket, &key);
    if (ret == 0)
        ret = vidx__s3_open(&s3);
    if (ret == 0)
        ret = vidx__s3_head(s3, bucket, key, size, etag);
    if (ret == 0) {
        if (strlen(etag) > 40) /* a long or odd ETag: hashed, so it fits */
            snprintf(etag, sizeof(etag), "h%016llx",
                     (unsigned long long)vidx__fnv1a(etag, strlen(etag), VIDX_FNV_INIT));
        snprintf(out, 64, "s3:%lld:%s", (long long)*size, etag);
    }
    vidx__s3_close(&s3);
    free(bucket);
    free(key);
    return ret;
}
