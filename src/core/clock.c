/*
 * clock.c - the two clocks vidx reads: monotonic seconds for durations and
 * deadlines, wall-clock seconds for what the catalog records.
 */
#include "core/internal.h"

#include <time.h>

static double seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

double vidx__now(void)
{
    return seconds(CLOCK_MONOTONIC);
}

double vidx__wall_clock(void)
{
    return seconds(CLOCK_REALTIME);
}
