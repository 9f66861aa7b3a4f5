/*
 * transcribe.h - the transcript of audio a caller already decoded (a batch
 * job's --transcribe, from the same read as its frames): gather the 16 kHz
 * mono samples with vidx__pcm_push as the audio callback (VidxAudioSettings
 * at VIDX_ASR_RATE, one channel), then vidx__transcribe_pcm.
 */
#ifndef VIDX_PIPELINE_TRANSCRIBE_H
#define VIDX_PIPELINE_TRANSCRIBE_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include "speech/asr.h"

typedef struct VidxPcm {
    float *v; /* 16 kHz mono samples in [-1, 1) (free) */
    size_t n, cap;
} VidxPcm;

/* A VidxAudioSettings callback: appends the samples to the VidxPcm opaque. */
int vidx__pcm_push(void *opaque, const int16_t *samples, int nb);
/* 0 when s (NULL: the defaults) names a backend this build has and values in range. */
int vidx__transcribe_check(const VidxTranscribeSettings *s);
/* vidx_transcribe() of samples already decoded; s NULL: the defaults. */
int vidx__transcribe_pcm(VidxTranscript **out, const VidxPcm *pcm, const VidxTranscribeSettings *s);

#endif /* VIDX_PIPELINE_TRANSCRIBE_H */
