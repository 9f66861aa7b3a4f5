/*
 * options.c - the options hash: one table of every setting that shapes a
 * video's output (see options.h).
 *
 * In the table: sampling (mode, count, fps, times, indices, approx), geometry
 * (size, width, height, fit), image format and quality, md5, audio (format,
 * rate, channels, audio_stream), stream, dedup (perceptual threshold), dedup_exact (frames
 * stored content-addressed in OUT/objects/ instead of per video), manifest and
 * scenes (shots and scenes.json), transcribe (the transcript; not its backend),
 * label and what shapes a label: label_model, label_prompt, label_size and
 * label_quality (the image sent) -- while labelling, not the endpoint's URL,
 * key, concurrency, timeouts or retries (where to ask and how patiently),
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
    static int set_##fname(VidxRunSettings *s, OptionArrays *a, const char *text)                  \
    {                                                                                              \
        long v;                                                                                    \
        (void)a;                                                                                   \
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
    char h[32];
    vidx__tc_stage_hash(s->transcode, h, sizeof(h));
    return snprintf(buf, size, "%s", h);
}

/* A queue's options set never holds presets (vidx enqueue refuses them). */
static int set_transcode(VidxRunSettings *s, OptionArrays *a, const char *text)
{
    (void)a;
    s->transcode = NULL;
    return *text ? VIDX_EUSAGE : 0;
}

static int put_fps(const VidxRunSettings *s, char *buf, size_t size)
{
    return snprintf(buf, size, "%.9g", s->job.sampler.fps);
}

static int set_fps(VidxRunSettings *s, OptionArrays *a, const char *text)
{
    char *end;
    (void)a;
    s->job.sampler.fps = strtod(text, &end);
    return end == text || *end ? VIDX_EUSAGE : 0;
}

/* ---- what shapes a label (only while labelling: otherwise the defaults) ---- */

static const VidxLabelSettings *label_of(const VidxRunSettings *s, VidxLabelSettings *def)
{
    vidx_label_default_settings(def);
    return s->job.label && s->job.label_settings ? s->job.label_settings : def;
}

static int put_label_model(const VidxRunSettings *s, char *buf, size_t size)
{
    VidxLabelSettings d;
    const char *m = label_of(s, &d)->model;
    return snprintf(buf, size, "%s", m ? m : "");
}

static int put_label_prompt(const VidxRunSettings *s, char *buf, size_t size)
{
    VidxLabelSettings d;
    const char *p = label_of(s, &d)->prompt;
    return snprintf(buf, size, "%s", p ? p : "");
}

static int put_label_size(const VidxRunSettings *s, char *buf, size_t size)
{
    VidxLabelSettings d;
    return snprintf(buf, size, "%d", label_of(s, &d)->max_side);
}

static int put_label_quality(const VidxRunSettings *s, char *buf, size_t size)
{
    VidxLabelSettings d;
    return snprintf(buf, size, "%d", label_of(s, &d)->quality);
}

/*
 * A queue's options set read back: the labeller is the worker's own (its URL,
 * key, concurrency...) with these fields from the set, in a copy held by a.
 * Without labelling settings of the worker's there is nothing to apply them to
 * (the session refuses an options set that labels: the worker needs --label-url).
 */
static VidxLabelSettings *own_label(VidxRunSettings *s, OptionArrays *a)
{
    if (s->job.label_settings == &a->label)
        return &a->label;
    if (!s->job.label_settings)
        return NULL;
    a->label = *s->job.label_settings;
    s->job.label_settings = &a->label;
    return &a->label;
}

static int set_label_text(VidxRunSettings *s, OptionArrays *a, const char *text, int model)
{
    VidxLabelSettings *l = own_label(s, a);
    char **held = model ? &a->label_model : &a->label_prompt;
    if (!l)
        return 0;
    free(*held);
    if (!(*held = *text ? strdup(text) : NULL) && *text)
        return -ENOMEM;
    if (model)
        l->model = *held;
    else
        l->prompt = *held;
    return 0;
}

static int set_label_model(VidxRunSettings *s, OptionArrays *a, const char *text)
{
    return set_label_text(s, a, text, 1);
}

static int set_label_prompt(VidxRunSettings *s, OptionArrays *a, const char *text)
{
    return set_label_text(s, a, text, 0);
}

static int set_label_int(VidxRunSettings *s, OptionArrays *a, const char *text, int quality)
{
    VidxLabelSettings *l = own_label(s, a);
    long v;
    if (parse_int(text, &v) < 0)
        return VIDX_EUSAGE;
    if (l)
        *(quality ? &l->quality : &l->max_side) = (int)v;
    return 0;
}

static int set_label_size(VidxRunSettings *s, OptionArrays *a, const char *text)
{
    return set_label_int(s, a, text, 0);
}

static int set_label_quality(VidxRunSettings *s, OptionArrays *a, const char *text)
{
    return set_label_int(s, a, text, 1);
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
    NEW(label_model),
    NEW(label_prompt),
    NEW(label_size),
    NEW(label_quality),
    NEW(transcode),
    NEW(no_frames),
};

const OptionField *vidx__option_fields(size_t *n)
{
    *n = VIDX_ARRAY_SIZE(fields);
    return fields;
}

/* f's value in s as text (malloc'd; a prompt has no length limit), or NULL. */
static char *field_text(const OptionField *f, const VidxRunSettings *s)
{
    int n = f->text(s, NULL, 0);
    char *v = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (v)
        f->text(s, v, (size_t)n + 1);
    return v;
}

/* Appends "|text" of a v1 field (short numbers) to v1. */
static void append_v1(char *v1, size_t size, const OptionField *f, const VidxRunSettings *s)
{
    char v[64];
    size_t used = strlen(v1);
    f->text(s, v, sizeof(v));
    snprintf(v1 + used, size - used, "|%s", v);
}

/* Hashes "|name=text" of a later field into h when its value differs from the default. */
static uint64_t hash_later(uint64_t h, const OptionField *f, const VidxRunSettings *s,
                           const VidxRunSettings *def)
{
    char *v = field_text(f, s), *d = field_text(f, def);
    if (v && d && strcmp(v, d)) {
        h = vidx__fnv1a("|", 1, h);
        h = vidx__fnv1a(f->name, strlen(f->name), h);
        h = vidx__fnv1a("=", 1, h);
        h = vidx__fnv1a(v, strlen(v), h);
    }
    free(v);
    free(d);
    return h;
}

/*
 * FNV-1a of "v1|...", the v1 lists' bytes, then each later field's
 * "|name=value": the later fields are hashed piece by piece, which is the
 * hash of their concatenation (FNV-1a runs byte by byte).
 */
void vidx__options_hash(const VidxRunSettings *s, char out[32])
{
    VidxRunSettings def;
    char v1[512] = "v1";
    uint64_t h = VIDX_FNV_INIT;
    vidx_run_default_settings(&def);
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(fields); i++)
        if (fields[i].kind == OPTION_V1_TEXT)
            append_v1(v1, sizeof(v1), &fields[i], s);
    h = vidx__fnv1a(v1, strlen(v1), h);
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(fields); i++) {
        size_t len;
        const void *b = fields[i].kind == OPTION_V1_BYTES ? fields[i].bytes(s, &len) : NULL;
        if (b)
            h = vidx__fnv1a(b, len, h);
    }
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(fields); i++)
        if (fields[i].kind == OPTION_TEXT)
            h = hash_later(h, &fields[i], s, &def);
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
    for (size_t i = 0; o && i < VIDX_ARRAY_SIZE(fields); i++)
        if (fields[i].text) {
            char *v = field_text(&fields[i], s);
            if (!v || json_object_set_new(o, fields[i].name, json_string(v)) < 0)
                json_decref(o), o = NULL;
            free(v);
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
        ret = v ? fields[i].set(s, a, v) : VIDX_EUSAGE; /* every field: written by the same table */
    }
    json_decref(o);
    return ret;
}

void vidx__option_arrays_free(OptionArrays *a)
{
    free(a->times);
    free(a->indices);
    free(a->label_model);
    free(a->label_prompt);
    a->times = NULL;
    a->indices = NULL;
    a->label_model = NULL;
    a->label_prompt = NULL;
}
