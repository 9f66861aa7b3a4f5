/*
 * fault.c - test-only fault injection (VIDX_FAULT), so tests can kill vidx at
 * exact points of the write path and check what a crash leaves.
 *
 * VIDX_FAULT="die=POINT:N" kills the process (SIGKILL) the Nth time it passes
 * POINT: "frame" (a worker wrote a frame), "store" (the supervisor stored a
 * video, before the catalog commit), "record" (after the catalog commit,
 * before the scratch is removed). The crash/hang faults of single videos are
 * in batch/worker.c. Unset, this costs one getenv per call site.
 */
#include "core/internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vidx__fault(const char *point)
{
    static long passes;
    const char *spec = getenv("VIDX_FAULT"), *die;
    char want[32];
    long n;
    if (!spec || !(die = strstr(spec, "die=")))
        return;
    if (sscanf(die + 4, "%31[^:]:%ld", want, &n) != 2 || strcmp(want, point))
        return;
    if (++passes >= n)
        raise(SIGKILL);
}
