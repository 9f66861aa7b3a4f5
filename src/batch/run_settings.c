/*
 * run_settings.c - the defaults of VidxRunSettings and its ABI layout: the job
 * settings nested first, then the run's own fields (see core/abi.h and "ABI"
 * in vidx.h).
 */
#include "batch/run_settings.h"

#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include "pipeline/job_settings.h"

_Static_assert(sizeof(VidxRunSettings) <= VIDX_ABI_MAX_SIZE, "see core/abi.h");
_Static_assert(offsetof(VidxRunSettings, job) == sizeof(size_t) &&
                   offsetof(VidxRunSettings, layout) ==
                       offsetof(VidxRunSettings, job) + sizeof(VidxJobSettings),
               "the job settings come right after struct_size, then the run's own fields");

void vidx__run_defaults(VidxRunSettings *s)
{
    memset(s, 0, sizeof(*s));
    s->struct_size = sizeof(*s);
    vidx__job_defaults(&s->job);
    s->timeout_max = 3600.0;
    s->stall = 60.0;
    s->lease = 60.0;
    s->max_attempts = 3;
    s->poll = 5.0;
}

static void run_defaults(void *s)
{
    vidx__run_defaults(s);
}

const VidxAbiLayout vidx__run_layout = {
    "VidxRunSettings",  sizeof(VidxRunSettings), alignof(VidxRunSettings), run_defaults, 1,
    {&vidx__job_layout}};

int vidx_run_settings_init(VidxRunSettings *s, size_t size)
{
    return vidx__abi_init(&vidx__run_layout, s, size);
}
