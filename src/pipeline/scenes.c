/*
 * scenes.c - vidx_scenes_json(): one video's shots. A sampler asked for one
 * frame, with a watch that hands every decoded picture (a 64-pixel grey
 * thumbnail) to the shot detector (analyze/scenes.c); the shot list is turned
 * into JSON here, for the API and for a batch run's scenes.json alike.
 */
#include "pipeline/scenes.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include <libavutil/mem.h>

void vidx_scenes_default_settings(VidxScenesSettings *s)
{
    SceneParams p;
    vidx__scene_default_params(&p);
    *s = (VidxScenesSettings){p.ratio, p.min_score, p.min_shot, p.black, 0};
}

void vidx__scenes_params(const VidxScenesSettings *s, SceneParams *p)
{
    *p = (SceneParams){s->threshold, s->min_score, s->min_shot, s->black};
}

static int push_picture(void *opaque, const VidxWatchPicture *p)
{
    return vidx__scene_push(opaque, p->gray, p->width, p->height, p->stride, p->time, p->duration);
}

VidxWatch vidx__scenes_watch(SceneDetector *d)
{
    return (VidxWatch){push_picture, d, 0};
}

static const char *cause_name(SceneCause c)
{
    return c == SCENE_CUT        ? "cut"
           : c == SCENE_FADE     ? "fade"
           : c == SCENE_DISSOLVE ? "dissolve"
                                 : "start";
}

/* Seconds rounded to the microsecond, so that JSON shows 1.2 rather than 1.2000000000000002. */
static json_t *seconds(double t)
{
    return json_real(round(t * 1e6) / 1e6);
}

static json_t *shot_json(const SceneShot *s)
{
    return json_pack("{s:o, s:o, s:I, s:I, s:s, s:f, s:f, s:b, s:b}", "start", seconds(s->start),
                     "end", seconds(s->end), "first_frame", (json_int_t)s->first, "last_frame",
                     (json_int_t)s->last, "cause", cause_name(s->cause), "score",
                     round(s->score * 100) / 100, "ratio", round(s->ratio * 100) / 100, "fade_in",
                     s->fade_in, "fade_out", s->fade_out);
}

json_t *vidx__scenes_json(const SceneDetector *d)
{
    int64_t n;
    const SceneShot *shots = vidx__scene_shots(d, &n);
    json_t *list = json_array();
    json_t *root =
        json_pack("{s:I, s:o}", "frames", (json_int_t)vidx__scene_frames(d), "shots", list);
    for (int64_t i = 0; root && i < n; i++)
        if (json_array_append_new(list, shot_json(&shots[i])) < 0) {
            json_decref(root);
            return NULL;
        }
    return root;
}

static int check(const VidxScenesSettings *s)
{
    if (!(s->threshold > 0) || !isfinite(s->threshold) || !(s->min_score >= 0) ||
        !isfinite(s->min_score) || s->min_shot < 1 || !(s->black >= 0) || s->black > 255 ||
        s->threads < 0)
        return vidx__detail(VIDX_EUSAGE, "scene settings out of range");
    return 0;
}

int vidx__scenes_detect(VidxSource *src, int threads, SceneDetector *d, int *partial)
{
    VidxSamplerSettings ss;
    VidxSampler *smp = NULL;
    VidxWatch w = vidx__scenes_watch(d);
    VidxSamplerStats st;
    const VidxFrame *f;
    int ret;
    vidx_sampler_default_settings(&ss);
    ss.count = 1;
    ss.pixel = VIDX_PIXEL_NATIVE; /* the one target frame is not converted */
    ss.threads = threads;
    if ((ret = vidx__sampler_open_watched(&smp, src, &ss, NULL, &w)) < 0)
        return ret;
    while ((ret = vidx_sampler_next(smp, &f)) > 0)
        ;
    vidx_sampler_stats(smp, &st);
    *partial = st.partial;
    vidx_sampler_close(&smp);
    return ret < 0 ? ret : vidx__scene_finish(d);
}

int vidx__scenes_text(const SceneDetector *d, int partial, char **text)
{
    json_t *root = vidx__scenes_json(d);
    int ret =
        root && !json_object_set_new(root, "partial", json_boolean(partial)) ? 0 : AVERROR(ENOMEM);
    char *dump = ret >= 0 ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    if (ret >= 0 && (!dump || !(*text = av_strdup(dump)))) /* vidx_free() is av_free() */
        ret = AVERROR(ENOMEM);
    free(dump);
    json_decref(root);
    return ret;
}

int vidx_scenes_json(VidxSource *src, const VidxScenesSettings *set, char **json)
{
    SceneParams p;
    SceneDetector *d = NULL;
    int partial = 0, ret;
    *json = NULL;
    vidx__detail_clear();
    if (!src || !set)
        return VIDX_EUSAGE;
    if ((ret = check(set)) < 0)
        return ret;
    vidx__scenes_params(set, &p);
    if ((ret = vidx__scene_new(&d, &p)) < 0)
        return ret;
    ret = vidx__scenes_detect(src, set->threads, d, &partial);
    if (ret >= 0)
        ret = vidx__scenes_text(d, partial, json);
    vidx__scene_free(&d);
    return ret;
}
