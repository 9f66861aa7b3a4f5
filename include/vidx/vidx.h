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
 *   vidx/slurm.h    a library on a Slurm cluster: job-array scripts, sbatch
 *   vidx/speech.h   a video's speech as timed text (transcripts, subtitles)
 *   vidx/scenes.h   shot boundaries of one video
 *   vidx/label.h    frame labels from a model endpoint (captions, tags)
 *   vidx/transcode.h  proxies, HLS ladders and sprite sheets
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
 *
 * ABI: how settings structs grow
 *  VidxSourceSettings, VidxSamplerSettings, VidxJobSettings and VidxRunSettings
 *  begin with `size_t struct_size`, the size of the struct the caller was
 *  compiled with. vidx_X_default_settings() is an inline function: it passes
 *  sizeof the caller's struct (and of the settings nested in it) to the
 *  library's vidx_X_settings_init(), which writes the defaults into that many
 *  bytes and never past them. Every function that takes settings reads them
 *  at the caller's size:
 *   - new fields are only ever added at the end of a struct (a nested settings
 *     struct grows at its own end; the library finds what follows it from its
 *     struct_size), and a new field's default keeps the old behaviour;
 *   - a caller built against an older, smaller struct gets the defaults for
 *     the fields it does not know;
 *   - a caller built against a newer, larger struct is accepted when the
 *     fields this library does not know are zero (as its default function left
 *     them), refused with VIDX_EUSAGE when one is set;
 *   - a struct_size that no version of the struct has (0: the struct was never
 *     given its defaults) is refused with VIDX_EUSAGE.
 *  So always start from vidx_X_default_settings(), never from a zeroed or
 *  hand-built struct.
 *  Structs the library hands out by pointer (VidxVideoInfo, VidxFrame,
 *  VidxRunEvent) grow at their end; a caller reads the part it knows. Structs
 *  the caller allocates for the library to fill (VidxJobResult with its
 *  VidxFrameRecord array, VidxRunSummary, VidxSamplerStats) and the parameter
 *  block VidxAudioSettings keep their size: a new output comes with a new
 *  function. Removing or reordering a field is an ABI break and changes the
 *  library's major version.
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
#include "slurm.h"
#include "speech.h"
#include "scenes.h"
#include "label.h"
#include "transcode.h"
#include "serve.h"

#endif /* VIDX_VIDX_H */
