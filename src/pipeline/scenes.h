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
/*
 * Decodes the whole video of src (one read, every picture, with threads
 * decoder threads) through a watch into d, then vidx__scene_finish(d);
 * *partial: the file was damaged. The source is left read (rewind it to use it again).
 */
int vidx__scenes_detect(VidxSource *src, int threads, SceneDetector *d, int *partial);
/* After vidx__scene_finish: {"frames", "shots": [...]} (see vidx_scenes_json), or NULL. */
json_t *vidx__scenes_json(const SceneDetector *d);
/* The same with "partial" added, as compact text into *text (av_free); 0 or AVERROR(ENOMEM). */
int vidx__scenes_text(const SceneDetector *d, int partial, char **text);

#endif /* VIDX_PIPELINE_SCENES_H */
