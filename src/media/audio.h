/*
 * audio.h - decodes one audio stream and resamples it to interleaved s16 at
 * the requested rate and channel count, fed from the sampler's demux loop.
 */
#ifndef VIDX_MEDIA_AUDIO_H
#define VIDX_MEDIA_AUDIO_H

#include <libavformat/avformat.h>

#include "core/internal.h"

typedef struct VidxAudio VidxAudio;

/*
 * The audio timeline's 0, in AV_TIME_BASE units: the file's start time
 * (format start_time) when it is positive, else 0. Samples before it are
 * dropped; a stream that starts after it is preceded by silence.
 */
int64_t vidx__audio_origin(const AVFormatContext *fmt);
/* 1 when the file's format may reset its timestamps (AVFMT_TS_DISCONT: MPEG-TS, PS). */
int vidx__audio_discont(const AVFormatContext *fmt);
/* origin, discont: vidx__audio_origin() and vidx__audio_discont() of st's file. */
int vidx__audio_open(VidxAudio **out, const AVStream *st, int64_t origin, int discont,
                     const VidxAudioSettings *s);
/* Decodes pkt (NULL flushes decoder and resampler) and hands samples to the callback. */
int vidx__audio_packet(VidxAudio *a, const AVPacket *pkt);
/* Decode errors seen (damaged audio does not stop the video). */
int64_t vidx__audio_errors(const VidxAudio *a);
void vidx__audio_close(VidxAudio **a);

struct VidxSource;
/*
 * An audio-only source (settings.audio_only, no video stream): reads the file
 * once and hands all of its audio to s->callback. Returns 0 or the first
 * error of the demuxer or the callback; *errors: damaged packets skipped.
 */
int vidx__audio_decode_all(struct VidxSource *src, const VidxAudioSettings *s, int64_t *errors);

#endif
