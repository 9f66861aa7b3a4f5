/*
 * server.c - vidx serve: the dashboard over libmicrohttpd (vidx/serve.h).
 *
 * DESIGN
 * Read-only: a pool of catalog handles, each opened read-only (SQLite: a
 * WAL reader, which sees every commit of a running vidx run at its next
 * statement; PostgreSQL: read-only transactions), one per server thread.
 * Every answer is built from the catalog's views (serve/api.c) or, for an
 * image, opened where the catalog's row says, beneath OUT, by
 * serve/frame.c: no path from a request ever reaches the filesystem; a
 * request names a video id and a frame number, both integers.
 *
 * Access: a random token (128 bits from getrandom) is made at start. On a
 * loopback address it is not needed, but the Host header must name a
 * loopback host (a web page elsewhere cannot reach the dashboard through
 * DNS rebinding). On any other address every request must carry it:
 * "Authorization: Bearer TOKEN", "?token=TOKEN" (which also sets a cookie for
 * the pages' own requests) or that cookie; compared in constant time.
 *
 * Bounds: GET and HEAD only (405 otherwise); the request's headers within
 * 16 KiB (libmicrohttpd answers 431 past that); at most 256 connections, 30 s
 * idle; query values parsed strictly (400); lists bounded (serve/api.h);
 * an image at most SERVE_FRAME_MAX_BYTES, with single byte ranges (206, or
 * 416 for a range outside it).
 */
#include "serve/api.h"
#include "serve/assets.h"
#include "serve/request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "vidx/serve.h"

#define SERVE_THREADS    4
#define SERVE_DEFAULT    "127.0.0.1:8470"
#define SERVE_COOKIE     "vidx_token"
#define SERVE_MAX_CONN   256
#define SERVE_HEADER_MEM (16 * 1024)
#define SERVE_IDLE_S     30

struct VidxServer {
    struct MHD_Daemon *d;
    char *outdir, *catalog_shown;
    int out_fd;
    int loopback;
    char token[33];
    char url[128];
    uint16_t port;
    /* the catalog pool: one handle per request being answered */
    VidxCatalog *cats[SERVE_THREADS];
    int busy[SERVE_THREADS];
    pthread_mutex_t lock;
    pthread_cond_t freed;
};

/* ---------------------------------------------------------------------- */
/* Catalog pool                                                            */
/* ---------------------------------------------------------------------- */

static int pool_take(VidxServer *s)
{
    pthread_mutex_lock(&s->lock);
    for (;;) {
        for (int i = 0; i < SERVE_THREADS; i++)
            if (!s->busy[i]) {
                s->busy[i] = 1;
                pthread_mutex_unlock(&s->lock);
                return i;
            }
        pthread_cond_wait(&s->freed, &s->lock);
    }
}

static void pool_give(VidxServer *s, int i)
{
    pthread_mutex_lock(&s->lock);
    s->busy[i] = 0;
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->lock);
}

/* ---------------------------------------------------------------------- */
/* Responses                                                               */
/* ---------------------------------------------------------------------- */

static void common_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
}

static enum MHD_Result send_buffer(struct MHD_Connection *c, unsigned code, const char *type,
                                   const void *data, size_t size, int copy, const char *cookie)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        size, (void *)data, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    common_headers(r);
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (cookie)
        MHD_add_response_header(r, "Set-Cookie", cookie);
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, "Allow", "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned code, json_t *j,
                                 const char *cookie)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(j);
    if (!text)
        return send_buffer(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
                           "{\"error\":\"out of memory\"}", 25, 0, NULL);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    common_headers(r);
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (cookie)
        MHD_add_response_header(r, "Set-Cookie", cookie);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned code, const char *message)
{
    json_t *j = json_pack("{s:s, s:i}", "error", message, "status", (int)code);
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED) {
        static const char body[] = "{\"error\":\"only GET and HEAD\",\"status\":405}";
        json_decref(j);
        return send_buffer(c, code, "application/json", body, sizeof(body) - 1, 0, NULL);
    }
    return send_json(c, code, j, NULL);
}

static enum MHD_Result send_asset(struct MHD_Connection *c, const char *name, const char *cookie)
{
    for (const ServeAsset *a = vidx__serve_assets; a->name; a++)
        if (!strcmp(a->name, name))
            return send_buffer(c, MHD_HTTP_OK, a->type, a->data, a->size, 0, cookie);
    return send_error(c, MHD_HTTP_NOT_FOUND, "no such page");
}

/* ---------------------------------------------------------------------- */
/* Requests                                                                */
/* ---------------------------------------------------------------------- */

/* A query value as an integer in [min, max]; absent: dflt. -1 when malformed. */
static int arg_int(struct MHD_Connection *c, const char *name, int64_t min, int64_t max,
                   int64_t dflt, int64_t *out)
{
    const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    char *end;
    *out = dflt;
    if (!s || !*s)
        return 0;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A query value as text of at most SERVE_QUERY_TEXT_MAX bytes; absent or empty: NULL. */
static int arg_text(struct MHD_Connection *c, const char *name, const char **out)
{
    const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    *out = s && *s ? s : NULL;
    return s && strlen(s) > SERVE_QUERY_TEXT_MAX ? -1 : 0;
}

/* Equal in time independent of where they differ. */
static int same_token(const char *a, const char *b)
{
    size_t n = strlen(b);
    unsigned char diff = 0;
    if (!a || strlen(a) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static int loopback_host(const char *host)
{
    static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
    if (!host)
        return 1; /* HTTP/1.0 without Host: nothing to rebind */
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(names); i++) {
        size_t n = strlen(names[i]);
        if (!strncmp(host, names[i], n) && (host[n] == 0 || host[n] == ':'))
            return 1;
    }
    return 0;
}

/* 1 allowed (set *cookie when the token came in the query), 0 refused. */
static int allowed(VidxServer *s, struct MHD_Connection *c, const char **cookie)
{
    static __thread char set[96];
    *cookie = NULL;
    if (s->loopback)
        return loopback_host(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host"));
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (auth && !strncmp(auth, "Bearer ", 7) && same_token(auth + 7, s->token))
        return 1;
    if (same_token(MHD_lookup_connection_value(c, MHD_COOKIE_KIND, SERVE_COOKIE), s->token))
        return 1;
    if (same_token(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token"), s->token)) {
        snprintf(set, sizeof(set), SERVE_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict", s->token);
        *cookie = set;
        return 1;
    }
    return 0;
}

static enum MHD_Result send_frame(VidxServer *s, struct MHD_Connection *c, VidxCatalog *cat,
                                  int64_t id, int64_t seq)
{
    ServeFrame f;
    int ret = vidx__serve_frame(cat, s->out_fd, id, seq, &f);
    if (ret == -ENOENT)
        return send_error(c, MHD_HTTP_NOT_FOUND, "no such frame (or not stored: a duplicate)");
    if (ret < 0)
        return send_error(c, ret == -EACCES ? MHD_HTTP_FORBIDDEN : MHD_HTTP_CONFLICT,
                          "the catalog's location for this frame cannot be served");
    int64_t from = 0, to = f.bytes - 1;
    int range = vidx__serve_parse_range(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range"),
                                        f.bytes, &from, &to);
    char text[96];
    if (range < 0) {
        close(f.fd);
        struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        common_headers(r);
        snprintf(text, sizeof(text), "bytes */%lld", (long long)f.bytes);
        MHD_add_response_header(r, "Content-Range", text);
        enum MHD_Result q = MHD_queue_response(c, MHD_HTTP_RANGE_NOT_SATISFIABLE, r);
        MHD_destroy_response(r);
        return q;
    }
    struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(
        (uint64_t)(to - from + 1), f.fd, (uint64_t)(f.offset + from));
    if (!r) {
        close(f.fd);
        return MHD_NO;
    }
    common_headers(r);
    MHD_add_response_header(r, "Content-Type", f.mime);
    MHD_add_response_header(r, "Accept-Ranges", "bytes");
    MHD_add_response_header(r, "Cache-Control", "private, max-age=60");
    if (range) {
        snprintf(text, sizeof(text), "bytes %lld-%lld/%lld", (long long)from, (long long)to,
                 (long long)f.bytes);
        MHD_add_response_header(r, "Content-Range", text);
    }
    enum MHD_Result q = MHD_queue_response(c, range ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return q;
}

static enum MHD_Result api(VidxServer *s, struct MHD_Connection *c, const char *url,
                           VidxCatalog *cat, const char *cookie)
{
    ServeOut o = {s->outdir, s->catalog_shown};
    json_t *j = NULL;
    int ret;
    int64_t a, b, id, seq;
    if (!strcmp(url, "/api/overview")) {
        if (arg_int(c, "bucket", 0, 86400 * 366, 0, &a) < 0 ||
            arg_int(c, "since", 0, INT64_C(1) << 40, 0, &b) < 0)
            return send_error(c, MHD_HTTP_BAD_REQUEST, "bucket and since: whole seconds");
        ret = vidx__serve_overview(cat, &o, (double)a, (double)b, &j);
    } else if (!strcmp(url, "/api/failures")) {
        ret = vidx__serve_failures(cat, &o, &j);
    } else if (!strcmp(url, "/api/videos")) {
        CatalogView v = {.kind = CATALOG_VIEW_VIDEOS};
        if (arg_text(c, "status", &v.status) < 0 || arg_text(c, "class", &v.error_class) < 0 ||
            arg_text(c, "q", &v.search) < 0 || arg_int(c, "after", 0, INT64_MAX, 0, &v.after) < 0 ||
            arg_int(c, "limit", 1, SERVE_PAGE_MAX, SERVE_PAGE_DEFAULT, &v.limit) < 0)
            return send_error(c, MHD_HTTP_BAD_REQUEST,
                              "status, class, q: text (256 bytes at most); after: an id; limit: "
                              "1 to 500");
        ret = vidx__serve_videos(cat, &v, &j);
    } else if (!strncmp(url, "/api/videos/", 12) && vidx__serve_parse_video_path(url, &id, &seq)) {
        if (seq >= 0)
            return send_frame(s, c, cat, id, seq);
        if (arg_int(c, "first", 0, INT64_MAX, 0, &a) < 0 ||
            arg_int(c, "max", 1, SERVE_FRAMES_MAX, 500, &b) < 0)
            return send_error(c, MHD_HTTP_BAD_REQUEST, "first: a frame number; max: 1 to 2000");
        ret = vidx__serve_video(cat, &o, id, a, b, &j);
        if (ret == -ENOENT)
            return send_error(c, MHD_HTTP_NOT_FOUND, "no such video");
    } else
        return send_error(c, MHD_HTTP_NOT_FOUND, "no such API");
    if (ret < 0)
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "the catalog could not be read");
    return send_json(c, MHD_HTTP_OK, j, cookie);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    VidxServer *s = cls;
    const char *cookie;
    (void)version, (void)upload, (void)upload_size, (void)state;
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
    if (!allowed(s, c, &cookie))
        return send_error(c, s->loopback ? MHD_HTTP_FORBIDDEN : MHD_HTTP_UNAUTHORIZED,
                          s->loopback ? "the Host header must name this machine"
                                      : "a valid token is required (?token=...)");
    if (!strcmp(url, "/") || !strcmp(url, "/index.html"))
        return send_asset(c, "overview.html", cookie);
    if (!strcmp(url, "/failures"))
        return send_asset(c, "failures.html", cookie);
    if (!strcmp(url, "/video"))
        return send_asset(c, "video.html", cookie);
    if (!strcmp(url, "/static/app.js"))
        return send_asset(c, "app.js", cookie);
    if (!strcmp(url, "/static/app.css"))
        return send_asset(c, "app.css", cookie);
    if (strncmp(url, "/api/", 5))
        return send_error(c, MHD_HTTP_NOT_FOUND, "no such page");
    int i = pool_take(s);
    enum MHD_Result ret = api(s, c, url, s->cats[i], cookie);
    pool_give(s, i);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* Start and stop                                                          */
/* ---------------------------------------------------------------------- */

static int make_token(char out[33])
{
    unsigned char raw[16];
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0 && errno != EINTR)
            return -errno;
        got += n > 0 ? (size_t)n : 0;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

void vidx_serve_stop(VidxServer **ps)
{
    VidxServer *s = ps ? *ps : NULL;
    if (!s)
        return;
    if (s->d)
        MHD_stop_daemon(s->d);
    for (int i = 0; i < SERVE_THREADS; i++)
        vidx_catalog_close(&s->cats[i]);
    if (s->out_fd >= 0)
        close(s->out_fd);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->freed);
    free(s->outdir);
    free(s->catalog_shown);
    free(s);
    *ps = NULL;
}

int vidx_serve_start(VidxServer **out, const char *outdir, const char *catalog, const char *listen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char shown[512];
    int ret;
    *out = NULL;
    if (!outdir)
        return VIDX_EUSAGE;
    VidxServer *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->out_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->freed, NULL);
    if ((ret = vidx__serve_parse_listen(listen ? listen : SERVE_DEFAULT, &ss, &len, &s->loopback)) <
        0)
        goto fail;
    for (int i = 0; i < SERVE_THREADS; i++) /* read-only: no lock, no write, ever */
        if ((ret = vidx_catalog_open_at(&s->cats[i], outdir, catalog, 1)) < 0)
            goto fail;
    if (catalog)
        vidx__catalog_mask_url(catalog, shown, sizeof(shown));
    s->outdir = realpath(outdir, NULL); /* the retry command works from any folder */
    s->catalog_shown = catalog ? strdup(shown) : NULL;
    s->out_fd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!s->outdir || (catalog && !s->catalog_shown) || s->out_fd < 0) {
        ret = s->out_fd < 0 ? -errno : -ENOMEM;
        goto fail;
    }
    if ((ret = make_token(s->token)) < 0)
        goto fail;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)SERVE_THREADS, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)SERVE_MAX_CONN, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVE_IDLE_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVE_HEADER_MEM, MHD_OPTION_END);
    if (!s->d) {
        ret = errno ? -errno : -EADDRINUSE;
        vidx__log(VIDX_LOG_ERROR, "cannot listen on %s: %s", listen ? listen : SERVE_DEFAULT,
                  strerror(-ret));
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    char addr[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr));
        snprintf(s->url, sizeof(s->url), "http://[%s]:%u/", addr, (unsigned)s->port);
    } else {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr));
        snprintf(s->url, sizeof(s->url), "http://%s:%u/", addr, (unsigned)s->port);
    }
    *out = s;
    return 0;
fail:
    vidx_serve_stop(&s);
    return ret;
}

const char *vidx_serve_url(const VidxServer *s)
{
    return s ? s->url : NULL;
}

const char *vidx_serve_token(const VidxServer *s)
{
    return s ? s->token : NULL;
}

int vidx_serve_token_required(const VidxServer *s)
{
    return s && !s->loopback;
}
