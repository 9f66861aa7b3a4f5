/*
 * internal.h - what every libvidx source file shares: the public header, the
 * version string, the small logging and bounds helpers and the growable-array
 * helper (core/array.h). Deliberately small: module interfaces live in their
 * own headers.
 */
#ifndef VIDX_CORE_INTERNAL_H
#define VIDX_CORE_INTERNAL_H

#include <stdio.h>

#include "core/array.h"
#include "vidx/vidx.h"

#define VIDX_STR2(x) #x
#define VIDX_STR(x)  VIDX_STR2(x)
#define VIDX_VERSION_STRING                                                                        \
    VIDX_STR(VIDX_VERSION_MAJOR) "." VIDX_STR(VIDX_VERSION_MINOR) "." VIDX_STR(VIDX_VERSION_PATCH)

#define VIDX_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VIDX_MIN(a, b)     ((a) < (b) ? (a) : (b))
#define VIDX_MAX(a, b)     ((a) > (b) ? (a) : (b))

/* Library log levels, matching vidx_set_log_level(). */
enum { VIDX_LOG_QUIET = 0, VIDX_LOG_ERROR = 1, VIDX_LOG_WARNING = 2, VIDX_LOG_INFO = 3 };

/* printf-style message to stderr when level <= the current log level. */
void vidx__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Records the context of error err for vidx_error_detail() and returns err, so
 * that `return vidx__detail(VIDX_ELIMIT, "...", ...)` reads naturally.
 */
int vidx__detail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Forgets the recorded context (at the start of a public call). */
void vidx__detail_clear(void);

/* Seconds on the monotonic clock (durations, deadlines) and on the wall clock (clock.c). */
double vidx__now(void);
double vidx__wall_clock(void);

/* Test-only fault injection point (see fault.c). */
void vidx__fault(const char *point);
/* Test-only: -ENOSPC when VIDX_FAULT asks for it at point (see fault.c), else 0. */
int vidx__fault_nospace(const char *point);

#endif
