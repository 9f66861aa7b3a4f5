/*
 * slurm_settings.h - defaults and ABI layout of VidxSlurmSettings (see core/abi.h).
 */
#ifndef VIDX_BATCH_SLURM_SETTINGS_H
#define VIDX_BATCH_SLURM_SETTINGS_H

#include "core/abi.h"
#include "core/internal.h"

extern const VidxAbiLayout vidx__slurm_layout;

/* The defaults, into a struct of this library's size. */
void vidx__slurm_defaults(VidxSlurmSettings *s);

#endif /* VIDX_BATCH_SLURM_SETTINGS_H */
