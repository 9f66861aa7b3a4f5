/*
 * job_settings.h - defaults and ABI layout of VidxJobSettings (see core/abi.h).
 * Lives beside job.c and moves with it.
 */
#ifndef VIDX_PIPELINE_JOB_SETTINGS_H
#define VIDX_PIPELINE_JOB_SETTINGS_H

#include "core/abi.h"
#include "core/internal.h"

extern const VidxAbiLayout vidx__job_layout;

/* The defaults, into a struct of this library's size. */
void vidx__job_defaults(VidxJobSettings *s);

/* The audio fields of s (format, Opus's rates): 0 or VIDX_EUSAGE with the cause (audio_extract.c).
 */
int vidx__audio_check_settings(const VidxJobSettings *s);

#endif /* VIDX_PIPELINE_JOB_SETTINGS_H */
