/*
 * scenes.h - shots from a sampler's decode: a shot detector fed through the
 * media layer's watch hook, and the shot list as JSON (vidx_scenes_json, and
 * scenes.json of a batch run).
 */
#ifndef VIDX_PIPELINE_SCENES_H
#define VIDX_PIPELINE_SCENES_H

#include <jansson.h>

#include "analyze/scenes.h"
#include "media/watch.h"

/* The detector's parameters from the public settings. */
void vidx__scenes_params(const VidxScenesSettings *s, SceneParams *p);
/* A watch that pushes every picture into d (watch.h). */
VidxWatch vidx__scenes_watch(SceneDetector *d);
/* After vidx__scene_finish: {"frames", "shots": [...]} (see vidx_scenes_json), or NULL. */
json_t *vidx__scenes_json(const SceneDetector *d);

#endif /* VIDX_PIPELINE_SCENES_H */
