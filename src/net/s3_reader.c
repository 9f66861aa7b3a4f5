/*
 * s3_reader.c - one object read as a stream (s3.h's S3Reader), for the demuxer's
 * AVIOContext (media/source.c).
 *
 * The object is read in chunks by ranged GETs. Once a chunk is at hand, a
 * thread fetches the one after it on its own connection, so the network and
 * the decoder overlap; a sequential read of the object thus costs one request
 * per chunk and reads every byte once. Three chunks are kept (the current one,
 * the one read ahead, the last one used before), so a demuxer's look at the
 * end of the file and its return (mov walks its top-level atoms so) costs one
 * range request and nothing is fetched twice but that tail. Each GET is
 * retried by s3.c on 5xx answers and cut connections.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "net/s3.h"

#define SLOTS 3 /* the chunk being read, the one read ahead, one kept for a seek back */

typedef struct Slot {
    char *buf;
    int64_t off; /* [off, off + len) of the object; len 0: empty */
    size_t len;
    uint64_t used; /* when it was last made current (for the eviction) */
} Slot;

struct S3Reader {
    S3 *s3, *s3_ahead; /* the reader's connection and the read-ahead thread's */
    char *bucket, *key;
    int64_t size;
    size_t chunk;
    Slot slot[SLOTS];
    int cur;   /* the slot holding pos, or -1 */
    int ahead; /* the slot being filled by the thread, or -1 */
    int ahead_ret;
    int64_t ahead_off;
    size_t ahead_len, ahead_got;
    pthread_t thread;
    uint64_t tick;
    int64_t pos;
    int64_t requests, bytes; /* what was fetched (logged at close) */
};

static void *fetch_ahead(void *opaque)
{
    S3Reader *r = opaque;
    r->ahead_ret = r->s3_ahead ? 0 : vidx__s3_open(&r->s3_ahead);
    if (r->ahead_ret == 0)
        r->ahead_ret = vidx__s3_get_range(r->s3_ahead, r->bucket, r->key, r->ahead_off,
                                          r->ahead_len, r->slot[r->ahead].buf, &r->ahead_got);
    return NULL;
}

/* Waits for the read-ahead; its chunk is kept when it came whole (else fetched again later). */
static void join_ahead(S3Reader *r)
{
    if (r->ahead < 0)
        return;
    pthread_join(r->thread, NULL);
    Slot *s = &r->slot[r->ahead];
    r->requests++;
    if (r->ahead_ret == 0) {
        r->bytes += (int64_t)r->ahead_got;
        s->off = r->ahead_off;
        s->len = r->ahead_got;
        s->used = ++r->tick;
    }
    r->ahead = -1;
}

static int find(const S3Reader *r, int64_t pos)
{
    for (int i = 0; i < SLOTS; i++)
        if (r->slot[i].len && pos >= r->slot[i].off &&
            pos < r->slot[i].off + (int64_t)r->slot[i].len)
            return i;
    return -1;
}

/* An empty slot, else the least recently used one that is neither current nor being filled. */
static int victim(const S3Reader *r)
{
    int v = -1;
    for (int i = 0; i < SLOTS; i++)
        if (i != r->cur && i != r->ahead &&
            (v < 0 || !r->slot[i].len || (r->slot[v].len && r->slot[i].used < r->slot[v].used)))
            v = i;
    return v;
}

static void start_ahead(S3Reader *r)
{
    const Slot *c = &r->slot[r->cur];
    int64_t off = c->off + (int64_t)c->len;
    if (r->ahead >= 0 || off >= r->size || find(r, off) >= 0)
        return;
    int v = victim(r);
    r->slot[v].len = 0;
    r->ahead_off = off;
    r->ahead_len = (size_t)VIDX_MIN((int64_t)r->chunk, r->size - off);
    r->ahead_got = 0;
    r->ahead = v;
    if (pthread_create(&r->thread, NULL, fetch_ahead, r) != 0)
        r->ahead = -1;
}

/* Makes the chunk holding r->pos current: one at hand, or one new range request. */
static int fill(S3Reader *r)
{
    join_ahead(r); /* a failed read-ahead is fetched again below */
    int i = find(r, r->pos);
    if (i < 0) {
        i = victim(r);
        Slot *s = &r->slot[i];
        size_t len = (size_t)VIDX_MIN((int64_t)r->chunk, r->size - r->pos);
        s->len = 0;
        s->off = r->pos;
        int ret = vidx__s3_get_range(r->s3, r->bucket, r->key, r->pos, len, s->buf, &s->len);
        r->requests++;
        if (ret < 0)
            return ret;
        r->bytes += (int64_t)s->len;
        if (s->len == 0)
            return vidx__detail(VIDX_ETRUNCATED, "s3://%s/%s: shorter than its %lld bytes",
                                r->bucket, r->key, (long long)r->size);
    }
    r->cur = i;
    r->slot[i].used = ++r->tick;
    start_ahead(r);
    return 0;
}

int vidx__s3_reader_read(S3Reader *r, uint8_t *buf, int n)
{
    if (r->pos >= r->size || n <= 0)
        return 0;
    const Slot *c = r->cur >= 0 ? &r->slot[r->cur] : NULL;
    if (!c || r->pos < c->off || r->pos >= c->off + (int64_t)c->len) {
        int ret = fill(r);
        if (ret < 0)
            return ret;
        c = &r->slot[r->cur];
    }
    size_t at = (size_t)(r->pos - c->off);
    size_t k = VIDX_MIN((size_t)n, c->len - at);
    memcpy(buf, c->buf + at, k);
    r->pos += (int64_t)k;
    return (int)k;
}

int64_t vidx__s3_reader_seek(S3Reader *r, int64_t pos)
{
    if (pos < 0)
        return -EINVAL;
    r->pos = pos;
    return pos;
}

int64_t vidx__s3_reader_size(const S3Reader *r)
{
    return r->size;
}

int vidx__s3_reader_open(S3Reader **out, const char *url)
{
    char etag[128];
    const char *chunk = getenv("VIDX_S3_CHUNK");
    *out = NULL;
    S3Reader *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->cur = r->ahead = -1;
    r->chunk = chunk ? (size_t)strtoull(chunk, NULL, 10) : (size_t)8 << 20;
    r->chunk = VIDX_MAX(r->chunk, (size_t)65536);
    int ret = vidx__s3_parse(url, &r->bucket, &r->key);
    if (ret == 0 && (!r->key[0] || r->key[strlen(r->key) - 1] == '/'))
        ret = vidx__detail(VIDX_EUSAGE, "%s: names a prefix, not an object", url);
    if (ret == 0)
        ret = vidx__s3_open(&r->s3);
    if (ret == 0)
        ret = vidx__s3_head(r->s3, r->bucket, r->key, &r->size, etag);
    for (int i = 0; i < SLOTS && ret == 0; i++)
        if (!(r->slot[i].buf = malloc(r->chunk)))
            ret = -ENOMEM;
    r->requests = 1;
    if (ret < 0) {
        vidx__s3_reader_close(&r);
        return ret;
    }
    *out = r;
    return 0;
}

void vidx__s3_reader_close(S3Reader **pr)
{
    S3Reader *r = pr ? *pr : NULL;
    if (!r)
        return;
    join_ahead(r);
    if (r->bucket && r->key)
        vidx__log(VIDX_LOG_INFO, "s3://%s/%s: %lld requests, %lld bytes read of %lld", r->bucket,
                  r->key, (long long)r->requests, (long long)r->bytes, (long long)r->size);
    vidx__s3_close(&r->s3);
    vidx__s3_close(&r->s3_ahead);
    for (int i = 0; i < SLOTS; i++)
        free(r->slot[i].buf);
    free(r->bucket);
    free(r->key);
    free(r);
    *pr = NULL;
}
