/*
 * manifest.c - a video's manifest (DIR/manifest.jsonl): one JSON line per
 * frame record, in delivery order, written atomically once the frames are.
 * With per_scene each line also names its shot ("shot": its position in
 * scenes.json's list).
 */
#include "pipeline/job.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>
#include <libavutil/error.h>

#include "analyze/scenes.h"
#include "store/fs.h"

static json_t *record_json(const VidxFrameRecord *r, int stream, int with_md5)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "index", json_integer(r->index));
    json_object_set_new(o, "stream", json_integer(stream));
    json_object_set_new(o, "target", isnan(r->target) ? json_null() : json_real(r->target));
    json_object_set_new(o, "time", json_real(r->time));
    json_object_set_new(o, "pts", json_integer(r->pts));
    json_object_set_new(o, "keyframe", json_boolean(r->keyframe));
    json_object_set_new(o, "width", json_integer(r->width));
    json_object_set_new(o, "height", json_integer(r->height));
    json_object_set_new(o, "bytes", json_integer(r->bytes));
    json_object_set_new(o, "path", r->path ? json_string(r->path) : json_null());
    json_object_set_new(o, "approx", json_boolean(r->approx));
    if (r->dup_of >= 0)
        json_object_set_new(o, "dup_of", json_integer(r->dup_of));
    if (with_md5)
        json_object_set_new(o, "md5", json_string(r->md5));
    return o;
}

int vidx__job_write_manifest(Job *j, int stream)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int ret = 0;
    if (!mem)
        return AVERROR(ENOMEM);
    int64_t n_shots = 0;
    const SceneShot *shots = j->picked ? vidx__scene_shots(j->scenes, &n_shots) : NULL;
    for (size_t i = 0; i < j->res->n_frames && ret == 0; i++) {
        json_t *o = record_json(&j->res->frames[i], stream, j->set->md5);
        if (o && shots)
            json_object_set_new(
                o, "shot",
                json_integer(vidx__scene_shot_of(shots, n_shots, j->res->frames[i].index)));
        char *line = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
        if (!line || fprintf(mem, "%s\n", line) < 0)
            ret = AVERROR(ENOMEM);
        free(line);
        json_decref(o);
    }
    if (fclose(mem) != 0 && ret == 0)
        ret = AVERROR(ENOMEM);
    if (ret == 0)
        ret = vidx__write_atomic(j->dir, "manifest.jsonl", text ? text : "", len, 0);
    free(text);
    return ret;
}
