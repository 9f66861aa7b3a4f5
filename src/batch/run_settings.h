/*
 * run_settings.h - defaults and ABI layout of VidxRunSettings (see core/abi.h).
 */
#ifndef VIDX_BATCH_RUN_SETTINGS_H
#define VIDX_BATCH_RUN_SETTINGS_H

#include "core/abi.h"
#include "core/internal.h"

extern const VidxAbiLayout vidx__run_layout;

/* The defaults, into a struct of this library's size. */
void vidx__run_defaults(VidxRunSettings *s);

#endif /* VIDX_BATCH_RUN_SETTINGS_H */
