/*
 * s3_reader.c - one object read as a stream (s3.h's S3Reader), for the demuxer's
 * AVIOContext (media/source.c).
 *
 * The object is read in chunks by ranged GETs. Once a chunk is at hand, a
 * thread fetches the one after it on its own connection, so the network and
 * the decoder overlap; a sequential read of the object thus costs one request
 * per chunk and reads every byte once. A read outside the two chunks (a
 * demuxer's seek to the index at the end, and back) costs one new range
 * request; the read-ahead, if any, is waited for and dropped. Each GET is
 * retried by s3.c on 5xx answers and cut connections.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "net/s3.h"

struct S3Reader {
    S3 *s3, *s3_ahead; /* the reader's connection and the read-ahead thread's */
    char *bucket, *key;
    int64_t size;
    size_t chunk;
    char *cur; /* [cur_off, cur_off + cur_len) of the object */
    int64_t cur_off;
    size_t cur_len;
    char *next; /* the read-ahead's chunk: valid once joined with next_ret 0 */
    int64_t next_off;
    size_t next_len, next_got;
    int next_ret, ahead; /* ahead: a thread was started and not joined */
    pthread_t thread;
    int64_t pos;
    int64_t requests, bytes; /* what was fetched (logged at close) */
};

static void *fetch_ahead(void *opaque)
{
    S3Reader *r = opaque;
    r->next_ret = r->s3_ahead ? 0 : vidx__s3_open(&r->s3_ahead);
    if (r->next_ret == 0)
        r->next_ret = vidx__s3_get_range(r->s3_ahead, r->bucket, r->key, r->next_off, r->next_len,
                                         r->next, &r->next_got);
    return NULL;
}

static int join_ahead(S3Reader *r)
{
    if (!r->ahead)
        return 0;
    pthread_join(r->thread, NULL);
    r->ahead = 0;
    r->requests++;
    if (r->next_ret == 0)
        r->bytes += (int64_t)r->next_got;
    return r->next_ret;
}

static void start_ahead(S3Reader *r)
{
    int64_t off = r->cur_off + (int64_t)r->cur_len;
    if (r->ahead || off >= r->size)
        return;
    r->next_off = off;
    r->next_len = (size_t)VIDX_MIN((int64_t)r->chunk, r->size - off);
    r->next_got = 0;
    r->ahead = pthread_create(&r->thread, NULL, fetch_ahead, r) == 0;
}

/* Makes the chunk holding r->pos current: the read-ahead's, or one new range request. */
static int fill(S3Reader *r)
{
    int ret = 0;
    join_ahead(r); /* a failed read-ahead is fetched again below */
    if (r->next_ret == 0 && r->next_got && r->pos >= r->next_off &&
        r->pos < r->next_off + (int64_t)r->next_got) {
        char *t = r->cur;
        r->cur = r->next;
        r->next = t;
        r->cur_off = r->next_off;
        r->cur_len = r->next_got;
    } else {
        size_t len = (size_t)VIDX_MIN((int64_t)r->chunk, r->size - r->pos);
        r->cur_len = 0;
        r->cur_off = r->pos;
        ret = vidx__s3_get_range(r->s3, r->bucket, r->key, r->pos, len, r->cur, &r->cur_len);
        r->requests++;
        if (ret < 0)
            return ret;
        r->bytes += (int64_t)r->cur_len;
        if (r->cur_len == 0)
            return vidx__detail(VIDX_ETRUNCATED, "s3://%s/%s: shorter than its %lld bytes",
                                r->bucket, r->key, (long long)r->size);
    }
    r->next_got = 0;
    start_ahead(r);
    return 0;
}

int vidx__s3_reader_read(S3Reader *r, uint8_t *buf, int n)
{
    if (r->pos >= r->size || n <= 0)
        return 0;
    if (r->pos < r->cur_off || r->pos >= r->cur_off + (int64_t)r->cur_len) {
        int ret = fill(r);
        if (ret < 0)
            return ret;
    }
    size_t at = (size_t)(r->pos - r->cur_off);
    size_t k = VIDX_MIN((size_t)n, r->cur_len - at);
    memcpy(buf, r->cur + at, k);
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
    r->chunk = chunk ? (size_t)strtoull(chunk, NULL, 10) : (size_t)8 << 20;
    r->chunk = VIDX_MAX(r->chunk, (size_t)65536);
    int ret = vidx__s3_parse(url, &r->bucket, &r->key);
    if (ret == 0 && (!r->key[0] || r->key[strlen(r->key) - 1] == '/'))
        ret = vidx__detail(VIDX_EUSAGE, "%s: names a prefix, not an object", url);
    if (ret == 0)
        ret = vidx__s3_open(&r->s3);
    if (ret == 0)
        ret = vidx__s3_head(r->s3, r->bucket, r->key, &r->size, etag);
    if (ret == 0) {
        r->requests = 1;
        r->cur = malloc(r->chunk);
        r->next = malloc(r->chunk);
        if (!r->cur || !r->next)
            ret = -ENOMEM;
    }
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
    free(r->cur);
    free(r->next);
    free(r->bucket);
    free(r->key);
    free(r);
    *pr = NULL;
}
