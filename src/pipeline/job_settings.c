/*
 * job_settings.c - the defaults of VidxJobSettings and its ABI layout: the
 * source and sampler settings nested first, then the job's own fields (see
 * core/abi.h and "ABI" in vidx.h).
 */
#include "pipeline/job_settings.h"

#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include "media/settings.h"

_Static_assert(sizeof(VidxJobSettings) <= VIDX_ABI_MAX_SIZE, "see core/abi.h");
_Static_assert(offsetof(VidxJobSettings, source) == sizeof(size_t) &&
                   offsetof(VidxJobSettings, sampler) ==
                       offsetof(VidxJobSettings, source) + sizeof(VidxSourceSettings) &&
                   offsetof(VidxJobSettings, format) ==
                       offsetof(VidxJobSettings, sampler) + sizeof(VidxSamplerSettings),
               "the nested settings come right after struct_size, then the job's own fields");

void vidx__job_defaults(VidxJobSettings *s)
{
    memset(s, 0, sizeof(*s));
    s->struct_size = sizeof(*s);
    vidx__source_defaults(&s->source);
    vidx__sampler_defaults(&s->sampler);
    s->format = VIDX_IMAGE_JPEG;
    s->quality = 90;
    s->manifest = 1;
    s->audio_rate = 16000;
    s->audio_channels = 1;
    s->dedup = -1;
}

static void job_defaults(void *s)
{
    vidx__job_defaults(s);
}

const VidxAbiLayout vidx__job_layout = {"VidxJobSettings",
                                        sizeof(VidxJobSettings),
                                        alignof(VidxJobSettings),
                                        job_defaults,
                                        2,
                                        {&vidx__source_layout, &vidx__sampler_layout}};

int vidx_job_settings_init(VidxJobSettings *s, size_t size)
{
    return vidx__abi_init(&vidx__job_layout, s, size);
}
