/*
 * s3.h - S3-compatible object storage (AWS, Ceph's radosgw, MinIO, R2, GCS's XML
 * API): requests signed with SigV4, retried with backoff, the listings, ranged
 * reads for the demuxer and multipart uploads for the shards. See s3.c for the
 * signing rules and docs/CLOUD.md for the settings.
 *
 * Settings come from the environment, so that a run's forked workers see what
 * the CLI set: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, or
 * a profile (AWS_PROFILE, default "default") of AWS_SHARED_CREDENTIALS_FILE
 * (default ~/.aws/credentials); AWS_REGION or AWS_DEFAULT_REGION (default
 * us-east-1); AWS_ENDPOINT_URL (the CLI's --s3-endpoint; default AWS's regional
 * endpoint); VIDX_S3_STYLE=path|virtual (default: path with an endpoint,
 * virtual-host on AWS). Secrets are never logged nor put in an error message.
 */
#ifndef VIDX_NET_S3_H
#define VIDX_NET_S3_H

#include <stddef.h>
#include <stdint.h>

/* 1 when s names an object or prefix: "s3://bucket[/key]". */
int vidx__s3_is_url(const char *s);
/* Splits "s3://bucket/key" (key may be "" or end in '/'); VIDX_EUSAGE when malformed. */
int vidx__s3_parse(const char *url, char **bucket, char **key);

typedef struct S3 S3; /* a client: settings, credentials and one connection cache */

/* A client for this thread; VIDX_EUSAGE (with a detail) without credentials. */
int vidx__s3_open(S3 **out);
void vidx__s3_close(S3 **s3);

/* What HEAD tells: size, ETag (quotes kept out), and 0; -ENOENT when there is none. */
int vidx__s3_head(S3 *s3, const char *bucket, const char *key, int64_t *size, char etag[128]);

/* Bytes [off, off + len) of an object into buf; *got: how many came (the object may end). */
int vidx__s3_get_range(S3 *s3, const char *bucket, const char *key, int64_t off, size_t len,
                       char *buf, size_t *got);

/* Whole small objects (the catalog, a manifest): buffered. */
int vidx__s3_put(S3 *s3, const char *bucket, const char *key, const void *data, size_t len);
int vidx__s3_delete(S3 *s3, const char *bucket, const char *key);

/* Every object under prefix, in key order (ListObjectsV2, all pages). */
typedef int (*S3ListFn)(void *opaque, const char *key, int64_t size, const char *etag);
int vidx__s3_list(S3 *s3, const char *bucket, const char *prefix, S3ListFn fn, void *opaque);

/* Multipart uploads: parts of at least 5 MiB (but the last), numbered from 1. */
int vidx__s3_mpu_start(S3 *s3, const char *bucket, const char *key, char **upload_id);
int vidx__s3_mpu_part(S3 *s3, const char *bucket, const char *key, const char *upload_id,
                      int number, const void *data, size_t len, char etag[128]);
int vidx__s3_mpu_complete(S3 *s3, const char *bucket, const char *key, const char *upload_id,
                          char *const *etags, int n);
int vidx__s3_mpu_abort(S3 *s3, const char *bucket, const char *key, const char *upload_id);
/* The multipart uploads in progress under prefix (all pages). */
typedef int (*S3UploadFn)(void *opaque, const char *key, const char *upload_id);
int vidx__s3_mpu_list(S3 *s3, const char *bucket, const char *prefix, S3UploadFn fn, void *opaque);

/*
 * A sequential reader of one object for the demuxer: ranged GETs of a chunk
 * (VIDX_S3_CHUNK bytes, default 8 MiB) with the next chunk fetched ahead by a
 * thread while the current one is consumed. A seek outside the chunks at hand
 * costs one new range request. Memory: three chunks.
 */
typedef struct S3Reader S3Reader;
int vidx__s3_reader_open(S3Reader **out, const char *url);
/* Up to n bytes at the current position; 0 at the end; < 0 on error (with a detail). */
int vidx__s3_reader_read(S3Reader *r, uint8_t *buf, int n);
int64_t vidx__s3_reader_seek(S3Reader *r, int64_t pos); /* absolute; returns pos */
int64_t vidx__s3_reader_size(const S3Reader *r);
void vidx__s3_reader_close(S3Reader **r);

/*
 * The [profile] section of an AWS credentials file's text (INI: "[name]" and
 * "key = value" lines, '#'/';' comments): aws_access_key_id, aws_secret_access_key and
 * aws_session_token replace *access, *secret, *token (malloc'd). Exposed for the fuzzer.
 */
int vidx__s3_credentials_parse(const char *text, size_t n, const char *profile, char **access,
                               char **secret, char **token);

/*
 * One page of a listing's XML: fn for each object (ListObjectsV2), or ufn for each
 * upload (ListMultipartUploads) when fn is NULL; *next: the continuation or NULL.
 * What vidx__s3_list and vidx__s3_mpu_list do with the server's answers; for the fuzzer.
 */
int vidx__s3_listing_parse(const char *xml, size_t n, S3ListFn fn, S3UploadFn ufn, void *opaque,
                           char **next);

/* "s3:<size>:<etag>" for the run's fingerprint (size returned too); -ENOENT etc. */
int vidx__s3_fingerprint(const char *url, char out[64], int64_t *size);

#endif
