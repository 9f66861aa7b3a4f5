/*
 * transcode_stage.c - see transcode_stage.h. The stage reads the input a
 * second time, after the frames: the sampler decodes only what its targets
 * need, the transcoder every picture, and the two share no decoder (docs/
 * ARCHITECTURE.md, "Transcoding in vidx run"). The renditions are written in
 * the video's scratch directory like its frames, and reach OUT only through
 * the committer, before the catalog records them.
 */
#include "batch/transcode_stage.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fingerprint.h"
#include "store/fs.h"
#include "transcode/transcode.h"

int vidx__tc_stage_count(const char *spec)
{
    int n = spec && *spec ? 1 : 0;
    for (const char *p = spec; n && *p; p++)
        n += *p == ',';
    return n;
}

int vidx__tc_stage_load(const char *spec, TcPreset **out, int *n)
{
    char buf[4096], *save = NULL;
    *out = NULL;
    *n = 0;
    if (!spec || !*spec)
        return 0;
    if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf) ||
        vidx__tc_stage_count(spec) > TC_STAGE_MAX) {
        vidx__log(VIDX_LOG_ERROR, "transcode: at most %d presets, in 4 KiB", TC_STAGE_MAX);
        return VIDX_EUSAGE;
    }
    TcPreset *p = calloc(TC_STAGE_MAX, sizeof(*p));
    int ret = p ? 0 : -ENOMEM;
    for (char *tok = strtok_r(buf, ",", &save); tok && ret == 0; tok = strtok_r(NULL, ",", &save)) {
        if ((ret = vidx__tc_preset_load(tok, &p[*n])) < 0) {
            vidx__log(VIDX_LOG_ERROR, "transcode: %s", vidx_error_detail(ret));
            break;
        }
        for (int i = 0; i < *n && ret == 0; i++)
            if (!strcmp(p[i].name, p[*n].name)) {
                vidx__log(VIDX_LOG_ERROR,
                          "transcode: two presets named '%s' (the name is "
                          "their folder)",
                          p[i].name);
                ret = VIDX_EUSAGE;
            }
        (*n)++;
    }
    if (ret == 0 && *n == 0) {
        vidx__log(VIDX_LOG_ERROR, "transcode: '%s' names no preset", spec);
        ret = VIDX_EUSAGE;
    }
    if (ret < 0) {
        free(p);
        p = NULL;
        *n = 0;
    }
    *out = p;
    return ret;
}

void vidx__tc_stage_hash(const char *spec, char *buf, size_t size)
{
    TcPreset *p;
    int n;
    uint64_t h = VIDX_FNV_INIT;
    char text[1024];
    if (!spec || !*spec) {
        snprintf(buf, size, "%s", "");
        return;
    }
    if (vidx__tc_stage_load(spec, &p, &n) < 0) {
        snprintf(buf, size, "%s", "invalid");
        return;
    }
    for (int i = 0; i < n; i++) {
        vidx__tc_preset_text(&p[i], text, sizeof(text));
        h = vidx__fnv1a(text, strlen(text) + 1, h);
    }
    free(p);
    snprintf(buf, size, "%016llx", (unsigned long long)h);
}

/* The preset's entries, their paths made relative to SCRATCH/transcode. */
static void adopt(json_t *all, json_t *mine, const char *preset)
{
    size_t i;
    json_t *o;
    char rel[PATH_MAX];
    json_array_foreach(mine, i, o)
    {
        snprintf(rel, sizeof(rel), "%s/%s", preset, json_string_value(json_object_get(o, "path")));
        json_object_set_new(o, "path", json_string(rel));
        json_object_set_new(o, "preset", json_string(preset));
        json_array_append(all, o);
    }
}

int vidx__tc_stage_run(const char *url, const char *scratch, const TcPreset *p, int n, int threads,
                       const VidxSourceSettings *source, char **json)
{
    char dir[PATH_MAX], sub[PATH_MAX + 80];
    json_t *all = json_array();
    int ret = all ? 0 : -ENOMEM;
    *json = NULL;
    snprintf(dir, sizeof(dir), "%s/transcode", scratch);
    if (ret == 0 && (ret = vidx__mkdirs(dir)) < 0)
        vidx__detail(ret, "creating %s", dir);
    for (int i = 0; i < n && ret == 0; i++) {
        json_t *mine = json_array();
        snprintf(sub, sizeof(sub), "%s/%s", dir, p[i].name);
        if (!mine || mkdir(sub, 0777) < 0)
            ret = vidx__detail(mine ? -errno : -ENOMEM, "creating %s", sub);
        if (ret == 0 && (ret = vidx__transcode_one(url, sub, &p[i], threads, source, mine)) < 0) {
            char why[400];
            snprintf(why, sizeof(why), "%s", vidx_error_detail(ret));
            vidx__detail(ret, "transcode %s: %s", p[i].name, *why ? why : vidx_strerror(ret));
        }
        if (ret == 0)
            adopt(all, mine, p[i].name);
        json_decref(mine);
    }
    if (ret == 0 && (ret = vidx__sync_dir_fs(dir)) < 0)
        vidx__detail(ret, "syncing %s", dir);
    if (ret == 0 && !(*json = json_dumps(all, JSON_COMPACT)))
        ret = -ENOMEM;
    json_decref(all);
    return ret;
}
