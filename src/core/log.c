/*
 * log.c - the log level shared by libvidx and the FFmpeg libraries it drives.
 * FFmpeg's own chatter is mapped one level down so that "warnings" from vidx
 * are not buried under per-packet decoder complaints a damaged file produces.
 */
#include "core/internal.h"

#include <stdarg.h>

#include <libavutil/log.h>

static int vidx_log_level = VIDX_LOG_ERROR;

void vidx_set_log_level(int level)
{
    static const int av_levels[] = {AV_LOG_QUIET, AV_LOG_QUIET, AV_LOG_ERROR, AV_LOG_WARNING};
    if (level < 0)
        level = 0;
    if (level > VIDX_LOG_INFO)
        level = VIDX_LOG_INFO;
    vidx_log_level = level;
    av_log_set_level(av_levels[level]);
}

void vidx__log(int level, const char *fmt, ...)
{
    va_list ap;
    if (level > vidx_log_level)
        return;
    va_start(ap, fmt);
    fputs("vidx: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
