/*
 * audio_file.h - writes interleaved s16 samples to a WAV or FLAC file
 * (libavformat muxer + libavcodec encoder), under a scratch name that the
 * caller renames into place.
 */
#ifndef VIDX_STORE_AUDIO_FILE_H
#define VIDX_STORE_AUDIO_FILE_H

#include <stdint.h>

typedef struct VidxAudioFile VidxAudioFile;

/* flac: 0 WAV (PCM s16le), 1 FLAC. */
int vidx__audio_file_open(VidxAudioFile **out, const char *path, int flac, int rate, int channels);
int vidx__audio_file_write(VidxAudioFile *f, const int16_t *samples, int n);
/* Finishes the file (trailer) when ok; returns 0 or an error. Always frees. */
int vidx__audio_file_close(VidxAudioFile **f, int ok, double *duration);

#endif
