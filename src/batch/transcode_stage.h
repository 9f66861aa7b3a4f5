/*
 * transcode_stage.h - transcoding as a stage of vidx run (VidxRunSettings
 * transcode, --transcode): the run's presets, their part of the options hash,
 * and a worker's part of one video (transcode_stage.c). Moving the results to
 * OUT/transcode/<key>/ is the committer's (commit.c).
 */
#ifndef VIDX_BATCH_TRANSCODE_STAGE_H
#define VIDX_BATCH_TRANSCODE_STAGE_H

#include <stddef.h>

#include "core/internal.h"
#include "transcode/preset.h"

#define TC_STAGE_MAX 8

/*
 * The presets of spec ("NAME[,NAME...]": built-in names or JSON files), each
 * loaded and checked, no two with one name (it names their folder). *out is
 * malloc'd (NULL and *n 0 when spec is NULL or ""). VIDX_EUSAGE, logged.
 */
int vidx__tc_stage_load(const char *spec, TcPreset **out, int *n);

/* spec's presets for the options hash: a 16-hex hash of their contents, "" for
 * none, "invalid" when they do not load (the run refuses them first). */
void vidx__tc_stage_hash(const char *spec, char *buf, size_t size);

/* How many presets spec names (0 for NULL or ""). */
int vidx__tc_stage_count(const char *spec);

/*
 * A worker's part: each of the n presets of url into SCRATCH/transcode/<preset>/
 * (a second read of the input; source as the job's), every file then made
 * durable (one syncfs). *json (malloc'd) receives the renditions: a JSON array
 * of transcode.h's objects with "preset" added and paths relative to
 * SCRATCH/transcode. 0, or the first failure (detail set: the preset named).
 */
int vidx__tc_stage_run(const char *url, const char *scratch, const TcPreset *p, int n, int threads,
                       const VidxSourceSettings *source, char **json);

#endif
