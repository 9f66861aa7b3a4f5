/*
 * worker.h - the worker process side of a batch run (see worker.c).
 */
#ifndef VIDX_BATCH_WORKER_H
#define VIDX_BATCH_WORKER_H

#include <stdint.h>
#include <sys/types.h>

#include "core/internal.h"
#include "transcode/preset.h"

typedef struct WorkerConfig {
    const VidxRunSettings *run;
    const char *out;   /* the run's output directory */
    int threads;       /* decoder threads per video */
    int64_t max_bytes; /* scratch budget per video (0: none) */
    pid_t supervisor;
    int slot;                /* the worker's index in the pool, 0-based (gpu_sessions) */
    const TcPreset *presets; /* the transcode stage's, or NULL */
    int n_presets;
} WorkerConfig;

/* Never returns: serves tasks from rfd until it closes, then _exit(0). */
void vidx__worker_main(const WorkerConfig *cfg, int rfd, int wfd) __attribute__((noreturn));

#endif
