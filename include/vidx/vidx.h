/*
 * vidx.h - the public API of libvidx: the one header users include.
 *
 * libvidx opens a video, plans which frames a request needs, decodes only those
 * (in one sequential read of the file), hands them back display-oriented, and
 * encodes them; a batch run does that for a whole library into an output
 * directory with a catalog. Anything not declared in the vidx/ headers is not API.
 *
 * The API is grouped by level, lowest first (each header includes the ones it needs):
 *   vidx/common.h   version, export macro, error codes and classes, log level
 *   vidx/source.h   VidxSource: an opened video, its stream information, probe
 *   vidx/sampler.h  VidxSampler: which frames, in what shape; frames, statistics
 *   vidx/image.h    image encoders for sampled frames
 *   vidx/job.h      one video to an output directory
 *   vidx/run.h      a batch run over many videos; output directory ownership
 *   vidx/catalog.h  a run's catalog: status, export, verify, du, gc
 *
 * Conventions
 *  - Objects are opaque and created by vidx_X_open(&obj, ...); vidx_X_close(&obj)
 *    frees, sets the pointer to NULL and accepts NULL.
 *  - Settings structs are initialised by vidx_X_default_settings() and then
 *    changed field by field (see "ABI" below).
 *  - Every function that can fail returns an int: 0 (or a positive count) on
 *    success, a negative code on failure. Codes are negative errno values,
 *    FFmpeg AVERROR values (which pass through unchanged) or one of VIDX_E*.
 *    vidx_strerror() describes any of them.
 */
#ifndef VIDX_VIDX_H
#define VIDX_VIDX_H

#include "common.h"
#include "source.h"
#include "sampler.h"
#include "image.h"
#include "job.h"
#include "run.h"
#include "catalog.h"

#endif /* VIDX_VIDX_H */
