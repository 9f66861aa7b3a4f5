/*
 * source.h - the opened input behind VidxSource: the demuxer, the chosen video
 * stream and what was learnt about it at open time. Shared by probe.c and the
 * sampler, which read packets from it.
 */
#ifndef VIDX_MEDIA_SOURCE_H
#define VIDX_MEDIA_SOURCE_H

#include <libavformat/avformat.h>

#include "core/internal.h"

struct VidxSource {
    AVFormatContext *fmt;
    AVStream *video; /* the selected video stream */
    int audio_index; /* first audio stream, or -1 */
    VidxVideoInfo info;
    VidxSourceSettings settings;
    char *url;
    int network;
    int used; /* packets were read: a second sampler needs a rewind */
};

/* 1 when vidx opens files of demuxer name (FFmpeg's, may be a comma list). */
int vidx__demuxer_allowed(const char *name);

/* Seeks back to the start so another pass can read every packet again. */
int vidx__source_rewind(VidxSource *src);

#endif
