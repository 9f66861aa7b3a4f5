/*
 * vidx/common.h - version, export macro, error codes and classes, error detail, memory, log level.
 *
 * Part of the public API; include <vidx/vidx.h>, which includes every vidx header.
 */
#ifndef VIDX_COMMON_H
#define VIDX_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(VIDX_BUILDING_LIBRARY) && defined(__GNUC__)
#define VIDX_API __attribute__((visibility("default")))
#else
#define VIDX_API
#endif

#define VIDX_VERSION_MAJOR 0
#define VIDX_VERSION_MINOR 1
#define VIDX_VERSION_PATCH 0

/** Library version as "MAJOR.MINOR.PATCH". */
VIDX_API const char *vidx_version(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * vidx's own codes. They sit far below errno values and outside FFmpeg's
 * FFERRTAG space. Never renumbered: add new ones at the end.
 * X(name, value, short name, message)
 */
#define VIDX_ERRNO_MAP(X)                                                                          \
    X(VIDX_ENOVIDEO, -30001, "novideo", "no decodable video stream")                               \
    X(VIDX_EFORMAT, -30002, "format", "not a recognised media file")                               \
    X(VIDX_EREFUSED, -30003, "refused", "input refused by the security policy")                    \
    X(VIDX_EDECODE, -30004, "decode", "video could not be decoded")                                \
    X(VIDX_ERANGE, -30005, "range", "requested time or index is outside the video")                \
    X(VIDX_EENCODE, -30006, "encode", "image encoding failed")                                     \
    X(VIDX_EUSAGE, -30007, "usage", "invalid settings")                                            \
    X(VIDX_ETRUNCATED, -30008, "truncated", "file is truncated or unreadable part way")            \
    X(VIDX_ELIMIT, -30009, "limit", "media exceeds a safety limit")                                \
    X(VIDX_ECATALOG, -30010, "catalog", "catalog error")                                           \
    X(VIDX_EINTERRUPTED, -30011, "interrupted", "interrupted")                                     \
    X(VIDX_ETIMEOUT, -30012, "timeout", "timed out")                                               \
    X(VIDX_ECRASH, -30013, "crash", "worker crashed")                                              \
    X(VIDX_ENOMEMLIMIT, -30014, "memory", "memory limit exceeded")                                 \
    X(VIDX_ENETWORK, -30015, "network", "network input failed")                                    \
    X(VIDX_EEMPTY, -30016, "empty", "file is empty")                                               \
    X(VIDX_ENOTFILE, -30017, "notfile", "not a regular file")                                      \
    X(VIDX_ENOTOURS, -30018, "notours", "refused: not a vidx output directory")                    \
    X(VIDX_ELOCKED, -30019, "locked", "output directory in use by another vidx")                   \
    X(VIDX_ELEASE, -30020, "lease", "lease lost: another worker owns this video now")              \
    X(VIDX_ENOGPU, -30021, "nogpu", "no usable GPU for --hwaccel cuda")

enum {
#define VIDX_ERRNO_ENUM(name, value, shortname, msg) name = value,
    VIDX_ERRNO_MAP(VIDX_ERRNO_ENUM)
#undef VIDX_ERRNO_ENUM
};

/** A human-readable message for any error code. Never NULL; thread-safe. */
VIDX_API const char *vidx_strerror(int err);

/**
 * A short stable class name for an error ("decode", "format", "io", "nomem"...),
 * used in catalogs and machine-readable output.
 */
VIDX_API const char *vidx_error_class(int err);

/**
 * The context of the last error err this thread got from libvidx, e.g.
 * "invalid header (the demuxer said: ...)" for VIDX_EFORMAT, or "" when there
 * is none (the last failure had another code, or no context). Valid until the
 * thread's next libvidx call.
 */
VIDX_API const char *vidx_error_detail(int err);

/** Frees memory returned by libvidx (JSON strings, encoded images). NULL ok. */
VIDX_API void vidx_free(void *ptr);

/** Sets the log verbosity of FFmpeg and libvidx: 0 quiet, 1 errors, 2 warnings, 3 info. */
VIDX_API void vidx_set_log_level(int level);

#ifdef __cplusplus
}
#endif
#endif /* VIDX_COMMON_H */
