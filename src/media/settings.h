/*
 * settings.h - defaults and ABI layouts of the media layer's public settings
 * (VidxSourceSettings, VidxSamplerSettings): see core/abi.h.
 */
#ifndef VIDX_MEDIA_SETTINGS_H
#define VIDX_MEDIA_SETTINGS_H

#include "core/abi.h"
#include "core/internal.h"

extern const VidxAbiLayout vidx__source_layout;
extern const VidxAbiLayout vidx__sampler_layout;

/* The defaults, into a struct of this library's size. */
void vidx__source_defaults(VidxSourceSettings *s);
void vidx__sampler_defaults(VidxSamplerSettings *s);

#endif /* VIDX_MEDIA_SETTINGS_H */
