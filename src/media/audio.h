/*
 * audio.h - decodes one audio stream and resamples it to interleaved s16 at
 * the requested rate and channel count, fed from the sampler's demux loop.
 */
#ifndef VIDX_MEDIA_AUDIO_H
#define VIDX_MEDIA_AUDIO_H

#include <libavformat/avformat.h>

#include "core/internal.h"

typedef struct VidxAudio VidxAudio;

int vidx__audio_open(VidxAudio **out, const AVStream *st, const VidxAudioSettings *s);
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
