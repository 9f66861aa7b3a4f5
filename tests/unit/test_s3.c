/*
 * test_s3.c - unit tests of net/s3 (the S3 client). The parsers run anywhere;
 * the requests run against the real S3 server scripts/services.sh s3-start
 * starts (Ceph's radosgw; VIDX_TEST_S3_ENDPOINT and the AWS_* keys it prints;
 * scripts/test.sh starts it). Unset: the server group fails, unless
 * VIDX_TEST_NO_SERVICES=1 skips it. radosgw checks every signature, so each
 * request here is also a test of the signing: keys with spaces, unicode, '+',
 * '=', '%', '?', '#', '&'; query parameters without a value (?uploads=),
 * several parameters in an order that must be sorted (partNumber, uploadId;
 * list-type, prefix, max-keys, continuation-token), which curl 7.88 signs
 * wrongly unless the URL is given in canonical form.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/internal.h"
#include "net/s3.h"
#include "store/s3out.h"

static char bucket[64];

static void test_parse(void **state)
{
    (void)state;
    char *b, *k;
    assert_int_equal(vidx__s3_parse("s3://my-bucket/a b/c+d=e.mp4", &b, &k), 0);
    assert_string_equal(b, "my-bucket");
    assert_string_equal(k, "a b/c+d=e.mp4");
    free(b);
    free(k);
    assert_int_equal(vidx__s3_parse("s3://my.bucket", &b, &k), 0);
    assert_string_equal(k, "");
    free(b);
    free(k);
    const char *bad[] = {"s3://",        "s3://ab/k",  "s3://Upper/k",
                         "s3://a_b_c/k", "http://x/y", "s3:///k"};
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(bad); i++) {
        assert_int_equal(vidx__s3_parse(bad[i], &b, &k), VIDX_EUSAGE);
        assert_null(b);
        assert_null(k);
    }
}

static void test_credentials(void **state)
{
    (void)state;
    const char text[] = "# comment\n[default]\naws_access_key_id=AKIA1\n"
                        "aws_secret_access_key = s/e+c=r \n\n"
                        "[ other ]\r\naws_access_key_id = AKIA2\r\n"
                        "aws_secret_access_key = two\r\naws_session_token = tok\r\n"
                        "; x\n[third\naws_access_key_id = AKIA3\n";
    char *a = NULL, *s = NULL, *t = NULL;
    assert_int_equal(vidx__s3_credentials_parse(text, strlen(text), "default", &a, &s, &t), 0);
    assert_string_equal(a, "AKIA1");
    assert_string_equal(s, "s/e+c=r");
    assert_null(t);
    free(a);
    free(s);
    a = s = NULL;
    assert_int_equal(vidx__s3_credentials_parse(text, strlen(text), "other", &a, &s, &t), 0);
    assert_string_equal(a, "AKIA2");
    assert_string_equal(s, "two");
    assert_string_equal(t, "tok");
    free(a);
    free(s);
    free(t);
    a = s = t = NULL;
    assert_int_equal(vidx__s3_credentials_parse(text, strlen(text), "none", &a, &s, &t), 0);
    assert_null(a);
}

/* ---------------------------------------------------------------------- */
/* Against the server                                                      */
/* ---------------------------------------------------------------------- */

static S3 *client(void)
{
    S3 *s3 = NULL;
    assert_int_equal(vidx__s3_open(&s3), 0);
    return s3;
}

static int setup_server(void **state)
{
    (void)state;
    setenv("AWS_ENDPOINT_URL", getenv("VIDX_TEST_S3_ENDPOINT"), 1);
    unsetenv("AWS_PROFILE");
    snprintf(bucket, sizeof(bucket), "vidx-unit-%ld-%d", (long)getpid(), rand() % 100000);
    S3 *s3 = NULL;
    if (vidx__s3_open(&s3) < 0)
        return -1;
    int ret = vidx__s3_put(s3, bucket, NULL, "", 0); /* PUT /bucket: creates it */
    vidx__s3_close(&s3);
    if (ret < 0)
        fprintf(stderr, "creating %s: %s\n", bucket, vidx_error_detail(ret));
    return ret;
}

typedef struct Seen {
    char keys[16][128];
    char etags[16][128];
    int64_t sizes[16];
    int n;
} Seen;

static int on_key(void *opaque, const char *key, int64_t size, const char *etag)
{
    Seen *s = opaque;
    if (s->n >= 16)
        return -E2BIG;
    snprintf(s->keys[s->n], 128, "%s", key);
    snprintf(s->etags[s->n], 128, "%s", etag);
    s->sizes[s->n++] = size;
    return 0;
}

static const char *odd_keys[] = {"odd/a b/c+d=e ü 日本.bin", "odd/100% sure?#&.bin",
                                 "odd/~tilde/(x)!*'.bin", "odd/semi;colon,comma=.bin"};

static void test_objects(void **state)
{
    (void)state;
    S3 *s3 = client();
    char etag[128], buf[64];
    int64_t size;
    size_t got;
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(odd_keys); i++) {
        char data[32];
        int n = snprintf(data, sizeof(data), "object number %zu", i);
        assert_int_equal(vidx__s3_put(s3, bucket, odd_keys[i], data, (size_t)n), 0);
        assert_int_equal(vidx__s3_head(s3, bucket, odd_keys[i], &size, etag), 0);
        assert_int_equal(size, n);
        assert_true(strlen(etag) >= 32 && !strchr(etag, '"'));
        assert_int_equal(vidx__s3_get_range(s3, bucket, odd_keys[i], 7, 6, buf, &got), 0);
        assert_int_equal(got, 6);
        assert_memory_equal(buf, "number", 6);
    }
    /* the listing gives the keys back exactly, in key order, over pages of 2 */
    Seen seen = {0};
    setenv("VIDX_S3_MAX_KEYS", "2", 1);
    assert_int_equal(vidx__s3_list(s3, bucket, "odd/", on_key, &seen), 0);
    unsetenv("VIDX_S3_MAX_KEYS");
    assert_int_equal(seen.n, (int)VIDX_ARRAY_SIZE(odd_keys));
    for (int i = 0; i < seen.n; i++) {
        int found = 0;
        for (size_t j = 0; j < VIDX_ARRAY_SIZE(odd_keys); j++)
            found += !strcmp(seen.keys[i], odd_keys[j]);
        assert_int_equal(found, 1);
        if (i)
            assert_true(strcmp(seen.keys[i - 1], seen.keys[i]) < 0);
    }
    /* a prefix with special characters lists just its own */
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(vidx__s3_list(s3, bucket, "odd/100% sure?", on_key, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.keys[0], odd_keys[1]);
    /* missing and deleted objects */
    assert_int_equal(vidx__s3_head(s3, bucket, "odd/none", &size, etag), -ENOENT);
    assert_int_equal(vidx__s3_delete(s3, bucket, odd_keys[0]), 0);
    assert_int_equal(vidx__s3_head(s3, bucket, odd_keys[0], &size, etag), -ENOENT);
    vidx__s3_close(&s3);
}

typedef struct Uploads {
    char keys[8][128], ids[8][256];
    int n;
} Uploads;

static int on_upload(void *opaque, const char *key, const char *id)
{
    Uploads *u = opaque;
    if (u->n >= 8)
        return -E2BIG;
    snprintf(u->keys[u->n], 128, "%s", key);
    snprintf(u->ids[u->n++], 256, "%s", id);
    return 0;
}

static void test_multipart(void **state)
{
    (void)state;
    S3 *s3 = client();
    const char *key = "mpu/shard 000001+=.tar";
    size_t big = 5u << 20;
    char *data = malloc(big + 100), *back = malloc(200);
    assert_non_null(data);
    for (size_t i = 0; i < big + 100; i++)
        data[i] = (char)(i * 7 + i / 4096);
    char *id = NULL, *other = NULL, e1[128], e2[128];
    assert_int_equal(vidx__s3_mpu_start(s3, bucket, key, &id), 0);
    assert_int_equal(vidx__s3_mpu_start(s3, bucket, "mpu/interrupted", &other), 0);
    assert_int_equal(vidx__s3_mpu_part(s3, bucket, key, id, 1, data, big, e1), 0);
    assert_int_equal(vidx__s3_mpu_part(s3, bucket, key, id, 2, data + big, 100, e2), 0);
    /* both uploads are listed while in progress */
    Uploads u = {0};
    assert_int_equal(vidx__s3_mpu_list(s3, bucket, "mpu/", on_upload, &u), 0);
    assert_int_equal(u.n, 2);
    /* not an object until completed */
    int64_t size;
    char etag[128];
    assert_int_equal(vidx__s3_head(s3, bucket, key, &size, etag), -ENOENT);
    char *etags[2] = {e1, e2};
    assert_int_equal(vidx__s3_mpu_complete(s3, bucket, key, id, etags, 2), 0);
    assert_int_equal(vidx__s3_head(s3, bucket, key, &size, etag), 0);
    assert_int_equal(size, (int64_t)big + 100);
    assert_non_null(strchr(etag, '-')); /* a multipart ETag: "<md5 of md5s>-2" */
    size_t got;
    assert_int_equal(vidx__s3_get_range(s3, bucket, key, (int64_t)big - 100, 200, back, &got), 0);
    assert_int_equal(got, 200);
    assert_memory_equal(back, data + big - 100, 200);
    /* the interrupted one is aborted: nothing left */
    assert_int_equal(vidx__s3_mpu_abort(s3, bucket, "mpu/interrupted", other), 0);
    memset(&u, 0, sizeof(u));
    assert_int_equal(vidx__s3_mpu_list(s3, bucket, "mpu/", on_upload, &u), 0);
    assert_int_equal(u.n, 0);
    /* a completion that names a wrong part is refused, not taken */
    char *id3 = NULL;
    assert_int_equal(vidx__s3_mpu_start(s3, bucket, "mpu/bad", &id3), 0);
    char *wrong[1] = {e1};
    assert_true(vidx__s3_mpu_complete(s3, bucket, "mpu/bad", id3, wrong, 1) < 0);
    assert_int_equal(vidx__s3_mpu_abort(s3, bucket, "mpu/bad", id3), 0);
    free(id);
    free(other);
    free(id3);
    free(data);
    free(back);
    vidx__s3_close(&s3);
}

/* store/s3out.c over this server: the prefix's marker, which interrupted uploads are
 * aborted (vidx's shard names only), a shard sent in whole parts while it grows and
 * completed whole. */
static void test_s3out(void **state)
{
    (void)state;
    char dir[] = "/tmp/vidx-s3out-XXXXXX", path[128], url[128], etag[128], *id[3];
    const char *keys[3] = {"out/shards/000002.tar", "out/shards/users.tar", "out/frames/x"};
    size_t n = (11 << 20) + 1234, got = 0;
    int64_t bytes = 0;
    int aborted = -1;
    S3 *s3 = client();
    S3Out *o = NULL, *other = NULL;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/shards", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    char *data = malloc(n), *back = malloc(200);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(i * 7 + i / 4096);
    snprintf(path, sizeof(path), "%s/shards/000001.tar", dir);
    FILE *f = fopen(path, "wb");
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
    setenv("VIDX_S3_PART", "5242880", 1);
    snprintf(url, sizeof(url), "s3://%s/out/", bucket);
    assert_int_equal(vidx__s3out_open(&o, url, dir), 0);
    assert_int_equal(vidx__s3out_claim(o, "id-a", 0), 0); /* unclaimed: made ours */
    assert_int_equal(vidx__s3out_claim(o, "id-a", 0), 0);
    assert_int_equal(vidx__s3out_open(&other, url, dir), 0);
    assert_int_equal(vidx__s3out_claim(other, "id-b", 1), VIDX_ENOTOURS);
    vidx__s3out_close(&other);
    for (int i = 0; i < 3; i++) /* a killed run's, a user's under shards/, a user's elsewhere */
        assert_int_equal(vidx__s3_mpu_start(s3, bucket, keys[i], &id[i]), 0);
    assert_int_equal(vidx__s3out_abort_orphans(o, &aborted), 0);
    assert_int_equal(aborted, 1);
    Uploads u = {0};
    assert_int_equal(vidx__s3_mpu_list(s3, bucket, "out/", on_upload, &u), 0);
    assert_int_equal(u.n, 2);
    assert_string_equal(u.keys[0], keys[2]);
    assert_string_equal(u.keys[1], keys[1]);
    assert_int_equal(vidx__s3out_grow(o, "shards/000001.tar", (5 << 20) - 1), 0); /* no part */
    memset(&u, 0, sizeof(u));
    assert_int_equal(vidx__s3_mpu_list(s3, bucket, "out/shards/0", on_upload, &u), 0);
    assert_int_equal(u.n, 0);
    assert_int_equal(vidx__s3out_grow(o, "shards/000001.tar", (10 << 20) + 5), 0); /* 2 parts */
    assert_int_equal(vidx__s3_mpu_list(s3, bucket, "out/shards/0", on_upload, &u), 0);
    assert_int_equal(u.n, 1);
    assert_int_equal(vidx__s3out_complete(o, "shards/000001.tar", &bytes, etag), 0);
    assert_int_equal(bytes, (int64_t)n);
    assert_non_null(strstr(etag, "-3")); /* 5 MiB, 5 MiB, the rest */
    assert_int_equal(
        vidx__s3_get_range(s3, bucket, "out/shards/000001.tar", (5 << 20) - 100, 200, back, &got),
        0);
    assert_int_equal(got, 200);
    assert_memory_equal(back, data + (5 << 20) - 100, 200);
    vidx__s3out_close(&o);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(vidx__s3_mpu_abort(s3, bucket, keys[i], id[i]), 0);
        free(id[i]);
    }
    free(id[0]);
    unlink(path);
    snprintf(path, sizeof(path), "%s/shards", dir);
    rmdir(path);
    rmdir(dir);
    unsetenv("VIDX_S3_PART");
    free(data);
    free(back);
    vidx__s3_close(&s3);
}

static void test_reader(void **state)
{
    (void)state;
    S3 *s3 = client();
    size_t n = 300000;
    uint8_t *data = malloc(n), *back = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 13 + (i >> 9));
    assert_int_equal(vidx__s3_put(s3, bucket, "reader/obj", data, n), 0);
    setenv("VIDX_S3_CHUNK", "65536", 1); /* five chunks, the last one short */
    S3Reader *r = NULL;
    char url[128];
    snprintf(url, sizeof(url), "s3://%s/reader/obj", bucket);
    assert_int_equal(vidx__s3_reader_open(&r, url), 0);
    unsetenv("VIDX_S3_CHUNK");
    assert_int_equal(vidx__s3_reader_size(r), (int64_t)n);
    size_t at = 0;
    int k;
    while ((k = vidx__s3_reader_read(r, back + at, 7777)) > 0)
        at += (size_t)k;
    assert_int_equal(k, 0);
    assert_int_equal(at, n);
    assert_memory_equal(back, data, n);
    /* seeks: back into the data, to the end, past it */
    assert_int_equal(vidx__s3_reader_seek(r, 12345), 12345);
    assert_int_equal(vidx__s3_reader_read(r, back, 100), 100);
    assert_memory_equal(back, data + 12345, 100);
    assert_int_equal(vidx__s3_reader_seek(r, (int64_t)n - 10), (int64_t)n - 10);
    assert_int_equal(vidx__s3_reader_read(r, back, 100), 10);
    assert_int_equal(vidx__s3_reader_read(r, back, 100), 0);
    vidx__s3_reader_seek(r, (int64_t)n + 5);
    assert_int_equal(vidx__s3_reader_read(r, back, 100), 0);
    vidx__s3_reader_close(&r);
    /* a prefix is not an object; a missing object is ENOENT */
    snprintf(url, sizeof(url), "s3://%s/reader/", bucket);
    assert_int_equal(vidx__s3_reader_open(&r, url), VIDX_EUSAGE);
    snprintf(url, sizeof(url), "s3://%s/reader/none", bucket);
    assert_int_equal(vidx__s3_reader_open(&r, url), -ENOENT);
    free(data);
    free(back);
    vidx__s3_close(&s3);
}

static void test_wrong_secret(void **state)
{
    (void)state;
    char *right = strdup(getenv("AWS_SECRET_ACCESS_KEY"));
    const char *wrong = "Wrong/Secret+Key=0123456789";
    setenv("AWS_SECRET_ACCESS_KEY", wrong, 1);
    S3 *s3 = client();
    int64_t size;
    char etag[128];
    assert_int_equal(vidx__s3_put(s3, bucket, "secret/x", "x", 1), -EACCES);
    const char *detail = vidx_error_detail(-EACCES);
    assert_non_null(strstr(detail, "403"));
    assert_null(strstr(detail, wrong));
    assert_int_equal(vidx__s3_head(s3, bucket, "secret/x", &size, etag), -EACCES);
    vidx__s3_close(&s3);
    setenv("AWS_SECRET_ACCESS_KEY", right, 1);
    free(right);
    s3 = client();
    assert_int_equal(vidx__s3_head(s3, bucket, "secret/x", &size, etag), -ENOENT);
    vidx__s3_close(&s3);
    /* no credentials at all: a usage error that says what to set */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    assert_int_equal(vidx__s3_open(&s3), VIDX_EUSAGE);
    assert_non_null(strstr(vidx_error_detail(VIDX_EUSAGE), "AWS_ACCESS_KEY_ID"));
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}

int main(void)
{
    const struct CMUnitTest local[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_credentials),
    };
    const struct CMUnitTest server[] = {
        cmocka_unit_test(test_objects),      cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_reader),       cmocka_unit_test(test_s3out),
        cmocka_unit_test(test_wrong_secret), /* last: it changes the environment */
    };
    int failed = cmocka_run_group_tests_name("s3 parsers", local, NULL, NULL);
    const char *no_services = getenv("VIDX_TEST_NO_SERVICES");
    if (!getenv("VIDX_TEST_S3_ENDPOINT") || !getenv("AWS_SECRET_ACCESS_KEY")) {
        if (no_services && !strcmp(no_services, "1")) {
            printf("s3 server: skipped (VIDX_TEST_NO_SERVICES=1)\n");
            return failed;
        }
        fprintf(stderr, "s3 server: VIDX_TEST_S3_ENDPOINT is not set (scripts/test.sh starts "
                        "one; by hand: eval \"$(scripts/services.sh s3-start)\")\n");
        return failed + 1;
    }
    srand((unsigned)getpid());
    return failed + cmocka_run_group_tests_name("s3 server", server, setup_server, NULL);
}
