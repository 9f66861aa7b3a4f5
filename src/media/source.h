/*
 * source.h - the opened input behind VidxSource: the demuxer, the chosen video
 * stream and what was learnt about it at open time. Shared by probe.c and the
 * sampler, which read packets from it.
 */
#ifndef VIDX_MEDIA_SOURCE_H
#define VIDX_MEDIA_SOURCE_H

#include <libavformat/avformat.h>

#include "core/internal.h"
#include "net/s3.h"

struct VidxSource {
    AVFormatContext *fmt;
    AVStream *video; /* the selected video stream; NULL for an audio-only file */
    int audio_index; /* first audio stream, or -1 */
    VidxVideoInfo info;
    VidxSourceSettings settings;
    char *url;
    char *target;       /* what FFmpeg opens: the checked descriptor (local) or the URL */
    int fd;             /* local inputs: the descriptor checked to be a regular file; else -1 */
    double progress_at; /* when on_progress was last called */
    int64_t bytes_seen; /* input bytes read when the interrupt callback last looked */
    int network;
    S3Reader *s3;    /* s3:// inputs: the object, read through pb (ranged GETs) */
    AVIOContext *pb; /* the demuxer's custom I/O over s3 (kept across reopenings) */
    int used;        /* packets were read: a second sampler needs a rewind */
};

/* A sign of progress (a packet read, a frame decoded): calls on_progress, rate-limited. */
void vidx__source_progress(VidxSource *src);
/* What files of FFmpeg demuxer name (may be a comma list) hold, as its name tells. */
enum {
    VIDX_DEMUX_OTHER = 0, /* not media vidx takes: documents, playlists, subtitles, ... */
    VIDX_DEMUX_VIDEO,     /* a demuxer vidx opens (see safe_demuxers) */
    VIDX_DEMUX_IMAGE,     /* still images (image2, *_pipe, gif) */
    VIDX_DEMUX_AUDIO,     /* audio-only formats */
};
int vidx__demuxer_kind(const char *name);

/* Seeks back to the start so another pass can read every packet again. */
int vidx__source_rewind(VidxSource *src);

#endif
