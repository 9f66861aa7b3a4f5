/*
 * slurm_settings.c - the defaults of VidxSlurmSettings and its ABI layout (no
 * nested settings; see core/abi.h and "ABI" in vidx.h).
 */
#include "batch/slurm_settings.h"

#include <stdalign.h>
#include <string.h>

_Static_assert(sizeof(VidxSlurmSettings) <= VIDX_ABI_MAX_SIZE, "see core/abi.h");

void vidx__slurm_defaults(VidxSlurmSettings *s)
{
    memset(s, 0, sizeof(*s));
    s->struct_size = sizeof(*s);
    s->array = 1;
    s->cpus_per_task = 1;
}

static void slurm_defaults(void *s)
{
    vidx__slurm_defaults(s);
}

const VidxAbiLayout vidx__slurm_layout = {"VidxSlurmSettings",
                                          sizeof(VidxSlurmSettings),
                                          alignof(VidxSlurmSettings),
                                          slurm_defaults,
                                          0,
                                          {NULL}};

int vidx_slurm_settings_init(VidxSlurmSettings *s, size_t size)
{
    return vidx__abi_init(&vidx__slurm_layout, s, size);
}
