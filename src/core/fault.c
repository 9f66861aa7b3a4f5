/*
 * fault.c - test-only fault injection (VIDX_FAULT), so tests can kill vidx at
 * exact points of the write path and check what a crash leaves.
 *
 * VIDX_FAULT="die=POINT:N" kills the process (SIGKILL) the Nth time it passes
 * POINT: "frame" (a worker wrote a frame), "store" (the supervisor stored a
 * video, before the catalog commit), "record" (after the catalog commit,
 * before the scratch is removed). VIDX_FAULT="nospace=POINT:N" makes
 * vidx__fault_nospace(POINT) fail with ENOSPC on its Nth pass only: a disk
 * that is full exactly there and then has room again, as when a failed write
 * is undone ("catalog": the catalog commit of a video whose files the store
 * has already committed; the videos still in flight commit after it). The crash/hang faults of single
 * videos are in batch/worker.c. Unset, this costs one getenv per call site.
 */
#include "core/internal.h"

#include <errno.h>
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

int vidx__fault_nospace(const char *point)
{
    static long passes;
    const char *spec = getenv("VIDX_FAULT"), *at;
    char want[32];
    long n;
    if (!spec || !(at = strstr(spec, "nospace=")))
        return 0;
    if (sscanf(at + 8, "%31[^:]:%ld", want, &n) != 2 || strcmp(want, point))
        return 0;
    return ++passes == n ? -ENOSPC : 0;
}
