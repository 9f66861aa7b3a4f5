/*
 * options.c - the options hash: one table of every setting that shapes a
 * video's output (see options.h).
 *
 * In the table: sampling (mode, count, fps, times, indices, approx), geometry
 * (size, width, height, fit), image format and quality, md5, audio (format,
 * rate, channels, audio_stream), stream, dedup (perceptual threshold), dedup_exact (frames
 * stored content-addressed in OUT/objects/ instead of per video), manifest and
 * scenes (shots and scenes.json), transcribe (the transcript; not its backend),
 * label (frame labels; not the endpoint, model or prompt: docs/CLOUD.md),
 * per_scene and per_scene_pick (sampling by shot), transcode (the contents
 * of the presets, not their names or files: batch/transcode_stage.h) and
 * no_frames, and
 * hwaccel (the GPU's scaling is within a tolerance of the CPU's, not identical;
 * where a video actually ran is recorded per video, videos.device).
 * Not in it, because they never change what a finished video's output is:
 * threads, jobs, timeouts and the stall watchdog, memory/disk/scratch/frame/
 * pixel/stream limits (a video they stop fails; --retry redoes it), durable,
 * callbacks, network_timeout, retry, scratch, pixel (follows the format),
 * shard_bytes/shard_samples (which shard a sample goes to, not the sample),
 * gpu_sessions (which workers may use the GPU)
 * and layout (fixed per OUT: a run with another layout is refused).
 *
 * Compatibility: the first hash ("v1") covered the OPTION_V1_* fields. They
 * are still hashed exactly as then, and each later field adds "|name=value"
 * only when it differs from its default, so outputs made before the table
 * existed keep their hash (and are not redone) unless a new setting is used.
 */
#include "batch/options.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "batch/inputs.h"
#include "batch/transcode_stage.h"

#define INT_FIELD(fname, expr)                                                                     \
    static int put_##fname(const VidxRunSettings *s, char *buf, size_t size)                       \
    {                                                                                              \
        return snprintf(buf, size, "%d", (int)(expr));                                             \
    }                                                                                              \
    static int set_##fname(VidxRunSettings *s, const char *text)                                   \
    {                                                                                              \
        long v;                                                                                    \
        if (parse_int(text, &v) < 0)                                                               \
            return VIDX_EUSAGE;                                                                    \
        (expr) = (int)v;                                                                           \
        return 0;                                                                                  \
    }

static int parse_int(const char *text, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(text, &end, 10);
    return errno || end == text || *end || *v < INT_MIN || *v > INT_MAX ? -1 : 0;
}

INT_FIELD(mode, s->job.sampler.mode)
INT_FIELD(count, s->job.sampler.count)
INT_FIELD(approx, s->job.sampler.approx)
INT_FIELD(max_side, s->job.sampler.max_side)
INT_FIELD(width, s->job.sampler.width)
INT_FIELD(height, s->job.sampler.height)
INT_FIELD(fit, s->job.sampler.fit)
INT_FIELD(format, s->job.format)
INT_FIELD(quality, s->job.quality)
INT_FIELD(md5, s->job.md5)
INT_FIELD(audio, s->job.audio)
INT_FIELD(audio_rate, s->job.audio_rate)
INT_FIELD(audio_channels, s->job.audio_channels)
INT_FIELD(stream, s->job.source.stream)
INT_FIELD(audio_stream, s->job.source.audio_stream)
INT_FIELD(dedup, s->job.dedup)
INT_FIELD(dedup_exact, s->dedup_exact)
INT_FIELD(manifest, s->job.manifest)
INT_FIELD(scenes, s->job.scenes)
INT_FIELD(transcribe, s->job.transcribe)
INT_FIELD(label, s->job.label)
INT_FIELD(per_scene, s->job.per_scene)
INT_FIELD(per_scene_pick, s->job.per_scene_pick)
INT_FIELD(hwaccel, s->job.sampler.hwaccel)
INT_FIELD(no_frames, s->no_frames)

static int put_transcode(const VidxRunSettings *s, char *buf, size_t size)
{
    vidx__tc_stage_hash(s->transcode, buf, size);
    return (int)strlen(buf);
}

/* A queue's options set never holds presets (vidx enqueue refuses them). */
static int set_transcode(VidxRunSettings *s, const char *text)
{
    s->transcode = NULL;
    return *text ? VIDX_EUSAGE : 0;
}

static int put_fps(const VidxRunSettings *s, char *buf, size_t size)
{
    return snprintf(buf, size, "%.9g", s->job.sampler.fps);
}

static int set_fps(VidxRunSettings *s, const char *text)
{
    char *end;
    s->job.sampler.fps = strtod(text, &end);
    return end == text || *end ? VIDX_EUSAGE : 0;
}

static const void *times_bytes(const VidxRunSettings *s, size_t *len)
{
    *len = s->job.sampler.n_times * sizeof(*s->job.sampler.times);
    return s->job.sampler.times;
}

static const void *indices_bytes(const VidxRunSettings *s, size_t *len)
{
    *len = s->job.sampler.n_indices * sizeof(*s->job.sampler.indices);
    return s->job.sampler.indices;
}

#define V1(name)                                                                                   \
    {                                                                                              \
#name, OPTION_V1_TEXT, put_##name, NULL, set_##name                                        \
    }
#define NEW(name)                                                                                  \
    {                                                                                              \
#name, OPTION_TEXT, put_##name, NULL, set_##name                                           \
    }

/* The v1 fields in v1's order, then the later ones. Add new fields at the end, as NEW. */
static const OptionField fields[] = {
    V1(mode),
    V1(count),
    V1(fps),
    V1(approx),
    V1(max_side),
    V1(width),
    V1(height),
    V1(fit),
    V1(format),
    V1(quality),
    V1(md5),
    V1(audio),
    V1(audio_rate),
    V1(audio_channels),
    V1(stream),
    {"times", OPTION_V1_BYTES, NULL, times_bytes},
    {"indices", OPTION_V1_BYTES, NULL, indices_bytes},
    NEW(dedup),
    NEW(dedup_exact),
    NEW(manifest),
    NEW(audio_stream),
    NEW(scenes),
    NEW(transcribe),
    NEW(label),
    NEW(per_scene),
    NEW(per_scene_pick),
    NEW(hwaccel),
    NEW(transcode),
    NEW(no_frames),
};

const OptionField *vidx__option_fields(size_t *n)
{
    *n = VIDX_ARRAY_SIZE(fields);
    return fields;
}

/* Appends "|text" (v1) or "|name=text" (later fields that differ from the default). */
static void append(char *buf, size_t size, const OptionField *f, const VidxRunSettings *s,
                   const VidxRunSettings *def)
{
    char v[64], d[64];
    size_t used = strlen(buf);
    f->text(s, v, sizeof(v));
    if (f->kind == OPTION_V1_TEXT)
        snprintf(buf + used, size - used, "|%s", v);
    else if (f->text(def, d, sizeof(d)), strcmp(v, d))
        snprintf(buf + used, size - used, "|%s=%s", f->name, v);
}

void vidx__options_hash(const VidxRunSettings *s, char out[32])
{
    VidxRunSettings def;
    char v1[512] = "v1", later[512] = "";
    uint64_t h = VIDX_FNV_INIT;
    vidx_run_default_settings(&def);
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(fields); i++)
        if (fields[i].kind != OPTION_V1_BYTES)
            append(fields[i].kind == OPTION_V1_TEXT ? v1 : later,
                   fields[i].kind == OPTION_V1_TEXT ? sizeof(v1) : sizeof(later), &fields[i], s,
                   &def);
    h = vidx__fnv1a(v1, strlen(v1), h);
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(fields); i++) {
        size_t len;
        const void *b = fields[i].kind == OPTION_V1_BYTES ? fields[i].bytes(s, &len) : NULL;
        if (b)
            h = vidx__fnv1a(b, len, h);
    }
    h = vidx__fnv1a(later, strlen(later), h);
    snprintf(out, 32, "%016llx", (unsigned long long)h);
}

/* ---------------------------------------------------------------------- */
/* The table as JSON (a work queue's options set, see options.h)           */
/* ---------------------------------------------------------------------- */

static json_t *list_json(const VidxRunSettings *s)
{
    json_t *times = json_array(), *indices = json_array();
    for (size_t i = 0; i < s->job.sampler.n_times; i++)
        json_array_append_new(times, json_real(s->job.sampler.times[i]));
    for (size_t i = 0; i < s->job.sampler.n_indices; i++)
        json_array_append_new(indices, json_integer(s->job.sampler.indices[i]));
    return json_pack("{s:o,s:o}", "times", times, "indices", indices);
}

int vidx__options_to_json(const VidxRunSettings *s, char **out)
{
    json_t *o = list_json(s);
    char v[64];
    for (size_t i = 0; o && i < VIDX_ARRAY_SIZE(fields); i++)
        if (fields[i].text) {
            fields[i].text(s, v, sizeof(v));
            json_object_set_new(o, fields[i].name, json_string(v));
        }
    *out = o ? json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    json_decref(o);
    return *out ? 0 : -ENOMEM;
}

/* The times and indices lists of o into s (allocated in a). */
static int lists_from_json(json_t *o, VidxRunSettings *s, OptionArrays *a)
{
    json_t *times = json_object_get(o, "times"), *indices = json_object_get(o, "indices"), *e;
    size_t i;
    if (!json_is_array(times) || !json_is_array(indices))
        return VIDX_EUSAGE;
    a->times = calloc(json_array_size(times) + 1, sizeof(*a->times));
    a->indices = calloc(json_array_size(indices) + 1, sizeof(*a->indices));
    if (!a->times || !a->indices)
        return -ENOMEM;
    json_array_foreach(times, i, e)
    {
        if (!json_is_number(e))
            return VIDX_EUSAGE;
        a->times[i] = json_number_value(e);
    }
    json_array_foreach(indices, i, e)
    {
        if (!json_is_integer(e))
            return VIDX_EUSAGE;
        a->indices[i] = json_integer_value(e);
    }
    s->job.sampler.times = a->times, s->job.sampler.n_times = json_array_size(times);
    s->job.sampler.indices = a->indices, s->job.sampler.n_indices = json_array_size(indices);
    return 0;
}

int vidx__options_from_json(const char *text, VidxRunSettings *s, OptionArrays *a)
{
    json_t *o = json_loads(text, 0, NULL);
    int ret = o ? lists_from_json(o, s, a) : VIDX_EUSAGE;
    for (size_t i = 0; ret == 0 && i < VIDX_ARRAY_SIZE(fields); i++) {
        if (!fields[i].set)
            continue;
        const char *v = json_string_value(json_object_get(o, fields[i].name));
        ret = v ? fields[i].set(s, v) : VIDX_EUSAGE; /* every field: written by the same table */
    }
    json_decref(o);
    return ret;
}

void vidx__option_arrays_free(OptionArrays *a)
{
    free(a->times);
    free(a->indices);
    a->times = NULL;
    a->indices = NULL;
}
