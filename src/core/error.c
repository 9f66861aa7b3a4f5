/*
 * error.c - one error space for libvidx.
 *
 * Codes are negative errno values, FFmpeg AVERROR values (negative errno or
 * negative FFERRTAG tags) or vidx's own VIDX_E* codes. All three describe
 * themselves through vidx_strerror(); vidx_error_class() folds them into the
 * short class names that catalogs and JSON output use.
 */
#include "core/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <libavutil/error.h>
#include <libavutil/mem.h>

const char *vidx_version(void)
{
    return VIDX_VERSION_STRING;
}

static const char *vidx_own_message(int err, int want_class)
{
    switch (err) {
#define VIDX_ERRNO_CASE(name, value, shortname, msg)                                               \
    case name:                                                                                     \
        return want_class ? shortname : msg;
        VIDX_ERRNO_MAP(VIDX_ERRNO_CASE)
#undef VIDX_ERRNO_CASE
    }
    return NULL;
}

const char *vidx_strerror(int err)
{
    /* Distinct buffers per thread: callers may format two errors in one printf. */
    static _Thread_local char buf[4][128];
    static _Thread_local unsigned next;
    const char *own = vidx_own_message(err, 0);
    if (err == 0)
        return "success";
    if (own)
        return own;
    char *out = buf[next++ % 4];
    if (av_strerror(err, out, sizeof(buf[0])) < 0)
        snprintf(out, sizeof(buf[0]), "unknown error %d", err);
    return out;
}

const char *vidx_error_class(int err)
{
    const char *own = vidx_own_message(err, 1);
    if (err == 0)
        return "ok";
    if (own)
        return own;
    switch (err) {
    case AVERROR(ENOMEM):
        return "nomem";
    case AVERROR(ENOENT):
        return "notfound";
    case AVERROR(EACCES):
    case AVERROR(EPERM):
        return "permission";
    case AVERROR(EISDIR):
        return "notfile";
    case AVERROR(ENOSPC):
    case AVERROR(EDQUOT):
        return "nospace";
    case AVERROR_INVALIDDATA:
        return "format";
    case AVERROR_DECODER_NOT_FOUND:
    case AVERROR_DEMUXER_NOT_FOUND:
        return "unsupported";
    case AVERROR_HTTP_NOT_FOUND:
    case AVERROR_HTTP_FORBIDDEN:
    case AVERROR_HTTP_UNAUTHORIZED:
    case AVERROR_HTTP_BAD_REQUEST:
    case AVERROR_HTTP_OTHER_4XX:
    case AVERROR_HTTP_SERVER_ERROR:
    case AVERROR(ETIMEDOUT):
    case AVERROR(ECONNREFUSED):
    case AVERROR(ECONNRESET):
        return "network";
    case AVERROR_EOF:
        return "truncated";
    }
    return "io";
}

/* The context of the last error: the code it belongs to, and the text. */
static _Thread_local int detail_err;
static _Thread_local char detail_text[256];

int vidx__detail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail_text, sizeof(detail_text), fmt, ap);
    va_end(ap);
    detail_err = err;
    return err;
}

void vidx__detail_clear(void)
{
    detail_err = 0;
    detail_text[0] = 0;
}

const char *vidx_error_detail(int err)
{
    return err && err == detail_err ? detail_text : "";
}

void vidx_free(void *ptr)
{
    av_free(ptr);
}
