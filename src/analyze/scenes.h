/*
 * scenes.h - the shot boundary detector: fed one small grey picture per
 * decoded frame, in presentation order, it finds hard cuts (content score
 * against an adaptive threshold) and transitions through black (fades), and
 * hands back the shots. Pure C on 8-bit luma; knows nothing of FFmpeg.
 */
#ifndef VIDX_ANALYZE_SCENES_H
#define VIDX_ANALYZE_SCENES_H

#include <stdint.h>

#include "core/internal.h"

/* Why a shot begins. */
typedef enum SceneCause {
    SCENE_START = 0, /* the first frame of the video */
    SCENE_CUT,       /* a hard cut (the content detector) */
    SCENE_FADE,      /* the first frame of a fade-in, after a fade to black */
    SCENE_DISSOLVE,  /* the middle frame of a dissolve (a cross-fade) */
} SceneCause;

typedef struct SceneShot {
    int64_t first, last; /* presentation indices, inclusive */
    double start, end;   /* seconds; end = the next shot's start, or past the last frame */
    SceneCause cause;
    double score; /* content score at the boundary (0-255), 0 for the first shot */
    double ratio; /* score / the adaptive threshold's base (0 for the first shot) */
    int fade_in;  /* the shot opens black, or fading in from black */
    int fade_out; /* the shot ends in black after content (a fade or cut to black) */
} SceneShot;

typedef struct SceneDetector SceneDetector;

/*
 * ratio: a frame is a cut when its score is at least ratio x the mean score of
 * the frames around it (and >= min_score); min_shot: frames, a boundary closer
 * than that to the previous one is dropped; black: luma (0-255, full range)
 * that 90 % of a black frame's pixels do not exceed.
 */
typedef struct SceneParams {
    double ratio;
    double min_score;
    int min_shot;
    double black;
} SceneParams;

void vidx__scene_default_params(SceneParams *p);
int vidx__scene_new(SceneDetector **out, const SceneParams *p);
/*
 * The next frame in presentation order: w x h grey pixels (rows of stride
 * bytes), shown at time seconds for duration seconds. The size must not
 * change between frames. Returns 0 or -ENOMEM.
 */
int vidx__scene_push(SceneDetector *d, const uint8_t *y, int w, int h, int stride, double time,
                     double duration);
/* No more frames: decides the last ones and builds the shot list. 0 or -ENOMEM. */
int vidx__scene_finish(SceneDetector *d);
/* After finish: the shots, valid until free. */
const SceneShot *vidx__scene_shots(const SceneDetector *d, int64_t *n);
/* Frames pushed so far. */
int64_t vidx__scene_frames(const SceneDetector *d);
void vidx__scene_free(SceneDetector **d);

/* Which frames of a shot vidx__scene_pick takes (the public VidxScenePick values). */
typedef enum ScenePick {
    SCENE_PICK_SPREAD = 0, /* the centres of k equal slices of the shot (k = 1: its middle) */
    SCENE_PICK_FIRST,      /* its first k frames */
    SCENE_PICK_MIDDLE,     /* k consecutive frames around its middle */
} ScenePick;

/*
 * k (>= 1) frames of each of the n shots, as presentation indices in
 * ascending order, into *out (malloc'd, n_out entries; free()). A shot of
 * fewer than k frames gives each of its frames once. Returns 0, -ENOMEM, or
 * -ERANGE when there would be more than max frames (nothing allocated).
 */
int vidx__scene_pick(const SceneShot *shots, int64_t n, int k, ScenePick pick, int64_t max,
                     int64_t **out, int64_t *n_out);
/* The position in shots (n of them, in order) of the shot holding frame index, or -1. */
int64_t vidx__scene_shot_of(const SceneShot *shots, int64_t n, int64_t index);

#endif /* VIDX_ANALYZE_SCENES_H */
