/*
 * worker.h - the worker process side of a batch run (see worker.c).
 */
#ifndef VIDX_BATCH_WORKER_H
#define VIDX_BATCH_WORKER_H

#include <stdint.h>
#include <sys/types.h>

#include "core/internal.h"

typedef struct WorkerConfig {
    const VidxRunSettings *run;
    const char *out;   /* the run's output directory */
    int threads;       /* decoder threads per video */
    int64_t max_bytes; /* scratch budget per video (0: none) */
    pid_t supervisor;
} WorkerConfig;

/* Never returns: serves tasks from rfd until it closes, then _exit(0). */
void vidx__worker_main(const WorkerConfig *cfg, int rfd, int wfd) __attribute__((noreturn));

/*
 * A task line: "<path> <scratch dir>" and, in the shards layout, " <shard>
 * <offset>" (hex, but the offset): where this video's samples go. Without a
 * shard (--dedup-exact) the worker packs them into the scratch directory and
 * the store copies what is not a duplicate.
 */
typedef struct TaskLine {
    const char *path, *dir;
    const char *shard; /* NULL: none */
    int64_t offset;
} TaskLine;

/* Splits and decodes a task line in place (t points into line). Returns 0 or -EINVAL. */
int vidx__task_parse(char *line, TaskLine *t);

/* What follows a worker line's tag ("S ", "R "): never past the line's end. */
const char *vidx__wire_payload(const char *line);

/* The duration a worker's "S <duration>" line reports (seconds; <= 0 unknown). */
double vidx__start_duration(const char *line);

/* Writes n bytes of in as lowercase hex at out; returns the end (the task wire format). */
char *vidx__hex(char *out, const char *in, size_t n);

#endif
