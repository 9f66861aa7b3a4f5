/*
 * http.h - the HTTP client every remote model endpoint goes through (speech's
 * transcription backend, the frame labeller): POSTs with a timeout per
 * attempt, retries with backoff on connection failures, timeouts, 429 (its
 * Retry-After honoured, at most 120 s) and 5xx, an API key sent only as an
 * Authorization: Bearer header and blanked out of any server text quoted in
 * a message, http and https only, no redirects (the key would follow them),
 * messages naming the URL without its user information. libcurl underneath;
 * nothing of it crosses this header. A client is read-only after open: several
 * threads may post through one client at once.
 */
#ifndef VIDX_NET_HTTP_H
#define VIDX_NET_HTTP_H

#include <stddef.h>

typedef struct HttpClient HttpClient;

typedef struct HttpConfig {
    const char *url; /* the endpoint, complete (see vidx__http_endpoint) */
    const char *key; /* the API key (from the environment), or NULL: none sent */
    double timeout;  /* seconds per attempt (<= 0: 300) */
    int retries;     /* further attempts after a retryable failure */
} HttpConfig;

/* One part of a multipart form: data (size bytes), with a file name and type, or a plain field. */
typedef struct HttpPart {
    const char *name;
    const void *data;
    size_t size;
    const char *filename, *type; /* NULL for a plain field */
} HttpPart;

typedef struct HttpReply {
    long status;
    char *body; /* NUL-terminated (free with vidx__http_reply_free) */
    size_t len;
} HttpReply;

int vidx__http_open(HttpClient **out, const HttpConfig *cfg);
void vidx__http_close(HttpClient *c);

/*
 * POSTs until a 2xx answer or the retries are spent. 0 with reply holding the
 * 2xx body, or VIDX_ENETWORK / VIDX_ETIMEOUT with the cause (URL, status,
 * an excerpt of the server's text) in vidx_error_detail(). The JSON body is
 * sent as application/json; the form as multipart/form-data.
 */
int vidx__http_post_json(HttpClient *c, const char *json, size_t len, HttpReply *reply);
int vidx__http_post_form(HttpClient *c, const HttpPart *parts, size_t n, HttpReply *reply);
void vidx__http_reply_free(HttpReply *r);

/* The URL as messages show it (without user:password@). */
const char *vidx__http_shown(const HttpClient *c);

/*
 * base with path appended unless it already ends with it; a base ending in
 * "/v1" gets path without its own leading "/v1" (malloc'd; NULL: no memory).
 */
char *vidx__http_endpoint(const char *base, const char *path);

/*
 * The API key: the variable named key_env when given, else the first of the
 * fallback names (NULL-terminated) that is set and not empty; NULL: none.
 */
const char *vidx__http_key(const char *key_env, const char *const *fallback);

#endif /* VIDX_NET_HTTP_H */
