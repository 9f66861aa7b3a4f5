/*
 * vidx/scenes.h - shot boundaries of one video: hard cuts (an adaptive
 * content threshold that pans, zooms and camera flashes do not cross),
 * transitions through black (fades) and dissolves (cross-fades).
 *
 * Part of the public API; include <vidx/vidx.h>, which includes every vidx header.
 */
#ifndef VIDX_SCENES_H
#define VIDX_SCENES_H

#include "sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Not a settings struct in the ABI sense (no struct_size): a parameter block
 * like VidxAudioSettings. It never grows; a new field comes with a new function.
 */
typedef struct VidxScenesSettings {
    /** A frame is a cut when its content score is this many times the mean around it (3.0). */
    double threshold;
    /** ... and at least this content score, a mean luma difference 0-255 (10). */
    double min_score;
    /** Frames; a boundary closer than this to the previous one is dropped (10). */
    int min_shot;
    /** Luma (0-255, full range) that 90 % of a black frame's pixels do not exceed (16). */
    double black;
    /** Decoder threads; 0 = all cores. */
    int threads;
} VidxScenesSettings;

/** Sets every field of s to its default. */
VIDX_API void vidx_scenes_default_settings(VidxScenesSettings *s);

/**
 * Decodes every picture of src's video and finds its shots. *json (free with
 * vidx_free) is one object: {"frames": N, "partial": bool, "shots": [{"start",
 * "end" (seconds, pts x time_base; end is the next shot's start), "first_frame",
 * "last_frame" (0-based presentation indices), "cause" ("start", "cut",
 * "fade" or "dissolve"), "score", "ratio", "fade_in", "fade_out"}, ...]}.
 * Returns 0, VIDX_EUSAGE for bad settings, or the sampler's error codes.
 */
VIDX_API int vidx_scenes_json(VidxSource *src, const VidxScenesSettings *s, char **json);

#ifdef __cplusplus
}
#endif
#endif /* VIDX_SCENES_H */
