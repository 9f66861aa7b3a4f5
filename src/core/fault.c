/*
 * fault.c - test-only fault injection (VIDX_FAULT), so tests can kill vidx at
 * exact points of the write path and check what a crash leaves.
 *
 * VIDX_FAULT="die=POINT:N" kills the process (SIGKILL) the Nth time it passes
 * POINT: "frame" (a worker wrote a frame), "store" (the supervisor stored a
 * video, before the catalog commit), "record" (after the catalog commit,
 * before the scratch is removed), "merge" (vidx merge placed a video's files
 * and synced them, before its catalog commit). VIDX_FAULT="nospace=POINT:N" makes
 * vidx__fault_nospace(POINT) fail with ENOSPC on its Nth pass only: a disk
 * that is full exactly there and then has room again, as when a failed write
 * is undone ("catalog": the catalog commit of a video whose files the store
 * has already committed; the videos still in flight commit after it). The
 * crash/hang faults of single videos are in batch/worker.c. Unset, this costs
 * one getenv per call site.
 */
#include "core/internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when VIDX_FAULT holds "KIND=point:N" (e.g. kind "die="); *n gets N. */
static int fault_spec(const char *kind, const char *point, long *n)
{
    const char *spec = getenv("VIDX_FAULT"), *at;
    char want[32];
    if (!spec || !(at = strstr(spec, kind)))
        return 0;
    return sscanf(at + strlen(kind), "%31[^:]:%ld", want, n) == 2 && !strcmp(want, point);
}

void vidx__fault(const char *point)
{
    static long passes;
    long n;
    if (fault_spec("die=", point, &n) && ++passes >= n)
        raise(SIGKILL);
}

int vidx__fault_nospace(const char *point)
{
    static long passes;
    long n;
    return fault_spec("nospace=", point, &n) && ++passes == n ? -ENOSPC : 0;
}
