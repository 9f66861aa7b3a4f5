/*
 * sampler_cut.h - where an input was cut off, as the sampler saw it: the read
 * broke off with an error, or the video ends well before the duration its
 * own stream header declares. Library-internal: the public VidxSamplerStats
 * keeps its size (docs/ARCHITECTURE.md, "ABI"), so the pipeline asks here.
 */
#ifndef VIDX_MEDIA_SAMPLER_CUT_H
#define VIDX_MEDIA_SAMPLER_CUT_H

#include "vidx/sampler.h"

typedef struct VidxSamplerCut {
    int truncated;   /* the input was cut off */
    double ends_at;  /* seconds: where its video ends */
    double declared; /* seconds: what the header says (<= 0: it says nothing) */
} VidxSamplerCut;

/* Fills cut once the sampler has finished (all zero before, or for an intact input). */
void vidx__sampler_cut(const VidxSampler *s, VidxSamplerCut *cut);

#endif
