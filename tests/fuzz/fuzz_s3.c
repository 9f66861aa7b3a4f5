/*
 * fuzz_s3.c - libFuzzer harness for what net/s3.c reads from outside: the AWS
 * credentials file (an INI profile), the server's XML listings (ListObjectsV2
 * pages and ListMultipartUploads pages, through libxml2 and vidx's walk of
 * the tree) and s3:// URLs. The first byte picks the reader, the rest is its
 * input; each input is copied to a buffer of its own length, so a reader that
 * runs past it trips the sanitizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/s3.h"

static int on_object(void *opaque, const char *key, int64_t size, const char *etag)
{
    (void)size;
    *(size_t *)opaque += strlen(key) + strlen(etag);
    return 0;
}

static int on_upload(void *opaque, const char *key, const char *id)
{
    *(size_t *)opaque += strlen(key) + strlen(id);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1, seen = 0;
    char *buf = malloc(n + 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, n);
    buf[n] = 0;
    char *a = NULL, *b = NULL, *c = NULL, *next = NULL;
    switch (data[0] % 4) {
    case 0:
        vidx__s3_credentials_parse(buf, n, "default", &a, &b, &c);
        break;
    case 1:
        vidx__s3_listing_parse(buf, n, on_object, NULL, &seen, &next);
        break;
    case 2:
        vidx__s3_listing_parse(buf, n, NULL, on_upload, &seen, &next);
        break;
    default:
        vidx__s3_parse(buf, &a, &b);
        break;
    }
    free(a);
    free(b);
    free(c);
    free(next);
    free(buf);
    return 0;
}
