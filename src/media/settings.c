/*
 * settings.c - the defaults of VidxSourceSettings and VidxSamplerSettings, and
 * their ABI layouts: the public vidx_X_settings_init() fill a caller's struct
 * of any known size (see core/abi.h and "ABI" in vidx.h).
 */
#include "media/settings.h"

#include <stdalign.h>
#include <string.h>

_Static_assert(sizeof(VidxSourceSettings) <= VIDX_ABI_MAX_SIZE, "see core/abi.h");
_Static_assert(sizeof(VidxSamplerSettings) <= VIDX_ABI_MAX_SIZE, "see core/abi.h");

void vidx__source_defaults(VidxSourceSettings *s)
{
    memset(s, 0, sizeof(*s));
    s->struct_size = sizeof(*s);
    s->stream = -1;
    s->network_timeout = 30.0;
    s->max_pixels = 8192LL * 8192LL;
    s->max_streams = 64;
    s->audio_stream = -1;
}

void vidx__sampler_defaults(VidxSamplerSettings *s)
{
    memset(s, 0, sizeof(*s));
    s->struct_size = sizeof(*s);
    s->mode = VIDX_MODE_COUNT;
    s->count = 8;
    s->fps = 1.0;
    s->pixel = VIDX_PIXEL_YUV420_JPEG;
    s->fit = VIDX_FIT_STRETCH;
    s->max_frames = 1000000;
}

static void source_defaults(void *s)
{
    vidx__source_defaults(s);
}

static void sampler_defaults(void *s)
{
    vidx__sampler_defaults(s);
}

const VidxAbiLayout vidx__source_layout = {"VidxSourceSettings", sizeof(VidxSourceSettings),
                                           alignof(VidxSourceSettings), source_defaults};
const VidxAbiLayout vidx__sampler_layout = {"VidxSamplerSettings", sizeof(VidxSamplerSettings),
                                            alignof(VidxSamplerSettings), sampler_defaults};

int vidx_source_settings_init(VidxSourceSettings *s, size_t size)
{
    return vidx__abi_init(&vidx__source_layout, s, size);
}

int vidx_sampler_settings_init(VidxSamplerSettings *s, size_t size)
{
    return vidx__abi_init(&vidx__sampler_layout, s, size);
}
