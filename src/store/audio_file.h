/*
 * audio_file.h - writes interleaved s16 samples to a WAV, FLAC or Ogg Opus
 * file (libavformat muxer + libavcodec encoder), under a scratch name that
 * the caller renames into place. Every file carries vidx's tag (comment
 * "vidx audio"), by which vidx__audio_file_is_ours() knows its own.
 */
#ifndef VIDX_STORE_AUDIO_FILE_H
#define VIDX_STORE_AUDIO_FILE_H

#include <stdint.h>

typedef struct VidxAudioFile VidxAudioFile;

/* Sample rates Opus takes (libopus); others are refused with VIDX_EUSAGE by the callers' checks. */
int vidx__audio_opus_rate_ok(int rate);
/* format: a VidxAudioFormat (WAV: PCM s16le, FLAC, Opus in Ogg). */
int vidx__audio_file_open(VidxAudioFile **out, const char *path, int format, int rate,
                          int channels);
int vidx__audio_file_write(VidxAudioFile *f, const int16_t *samples, int n);
/* Finishes the file (trailer) when ok; returns 0 or an error. Always frees. */
int vidx__audio_file_close(VidxAudioFile **f, int ok, double *duration);
/* 1 when path is an audio file vidx wrote (it carries vidx's tag), else 0. */
int vidx__audio_file_is_ours(const char *path);

#endif
