/*
 * emit.h - the events of a batch run (see emit.c).
 */
#ifndef VIDX_BATCH_EMIT_H
#define VIDX_BATCH_EMIT_H

#include "batch/state.h"

/* Calls the run's event callback (if any) with type, video's fields and the summary so far. */
void vidx__run_emit(Run *r, VidxRunEventType type, const VidxRunEvent *video);

#endif
