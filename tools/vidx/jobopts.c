/*
 * jobopts.c - the sampling and output options that `vidx frames` and
 * `vidx run` share, parsed into a VidxJobSettings. One table, one parser, so
 * the two commands cannot drift apart.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_COUNT = 256,
    OPT_FPS,
    OPT_KEYFRAMES,
    OPT_AT,
    OPT_INDEX,
    OPT_APPROX,
    OPT_FORMAT,
    OPT_QUALITY,
    OPT_SIZE,
    OPT_FIT,
    OPT_THREADS,
    OPT_MD5,
    OPT_AUDIO,
    OPT_AUDIO_RATE,
    OPT_AUDIO_CHANNELS,
    OPT_AUDIO_STREAM,
    OPT_STREAM,
    OPT_DEDUP,
    OPT_MAX_PIXELS,
    OPT_MAX_STREAMS,
    OPT_MAX_FRAMES,
    OPT_SCENES,
    OPT_TRANSCRIBE,
    OPT_LABEL_URL,
    OPT_LABEL_PROMPT,
    OPT_LABEL_MODEL,
    OPT_LABEL_KEY_ENV,
    OPT_LABEL_JOBS,
    OPT_LABEL_TIMEOUT,
    OPT_LABEL_RETRIES,
    OPT_LABEL_SIZE,
    OPT_PER_SCENE,
    OPT_PER_SCENE_PICK,
    OPT_HWACCEL,
};

const CliOption cli_job_options[] = {
    {"count", OPT_COUNT, "N", "N frames at the centres of N equal segments (default 8)"},
    {"fps", OPT_FPS, "R", "the frames shown at start + k/R"},
    {"keyframes", OPT_KEYFRAMES, NULL, "every keyframe (decodes keyframes only)"},
    {"at", OPT_AT, "T1,T2..", "the frames shown at these times (seconds from the start)"},
    {"index", OPT_INDEX, "I1,I2..", "frames by presentation index (negative: from the end)"},
    {"per-scene", OPT_PER_SCENE, "K",
     "K exact frames of each shot (shots as vidx scenes finds them; reads the file twice)"},
    {"per-scene-pick", OPT_PER_SCENE_PICK, "HOW",
     "for --per-scene: spread (default: centres of K equal slices), first or middle"},
    {"approx", OPT_APPROX, NULL, "nearest keyframe instead of the exact frame (faster)"},
    {"format", OPT_FORMAT, "FMT", "jpg (default), webp or png"},
    {"quality", OPT_QUALITY, "Q", "JPEG/WebP quality 1-100 (default 90)"},
    {"size", OPT_SIZE, "S|WxH", "longest side S, or a WxH box (see --fit)"},
    {"fit", OPT_FIT, "MODE", "for WxH: stretch (default), crop or pad"},
    {"threads", OPT_THREADS, "N", "decoder threads per video (default: all cores)"},
    {"md5", OPT_MD5, NULL, "record the md5 of each frame's decoded planes (verification)"},
    {"audio", OPT_AUDIO, "FMT", "also extract the audio: wav, flac or opus"},
    {"audio-rate", OPT_AUDIO_RATE, "HZ", "audio sample rate (default 16000)"},
    {"audio-channels", OPT_AUDIO_CHANNELS, "N", "audio channels (default 1)"},
    {"audio-stream", OPT_AUDIO_STREAM, "N", "the N-th audio stream, 0-based (default: the best)"},
    {"stream", OPT_STREAM, "N", "use video stream N (default: the best one)"},
    {"dedup", OPT_DEDUP, "T", "drop frames within perceptual-hash distance T of the last kept"},
    {"transcribe", OPT_TRANSCRIBE, NULL,
     "also transcribe the speech from the same read: transcript.json, .srt, .vtt (the "
     "recogniser: the --asr-* options)"},
    {"label-url", OPT_LABEL_URL, "URL",
     "label each kept frame through an OpenAI-compatible chat endpoint: labels.json"},
    {"label-prompt", OPT_LABEL_PROMPT, "TEXT",
     "--label-url's instruction (default: a caption and tags as JSON)"},
    {"label-model", OPT_LABEL_MODEL, "NAME", "model name sent to --label-url"},
    {"label-key-env", OPT_LABEL_KEY_ENV, "NAME",
     "environment variable holding its key (default VIDX_LABEL_KEY, else OPENAI_API_KEY)"},
    {"label-jobs", OPT_LABEL_JOBS, "N", "label requests in flight per video (default 4)"},
    {"label-timeout", OPT_LABEL_TIMEOUT, "S", "seconds per label request (default 60)"},
    {"label-retries", OPT_LABEL_RETRIES, "N",
     "tries again after 429 (its Retry-After), 5xx, timeouts (default 3)"},
    {"label-size", OPT_LABEL_SIZE, "PX", "longest side of the image sent (default 512)"},
    {"scenes", OPT_SCENES, NULL,
     "also find the shots in the same decode: scenes.json (as vidx scenes)"},
    {"hwaccel", OPT_HWACCEL, "MODE",
     "auto (default): an NVIDIA GPU where it can, else the CPU (reported); cuda; none"},
    {"max-pixels", OPT_MAX_PIXELS, "N", "largest frame area accepted (default 67108864 = 8192^2)"},
    {"max-streams", OPT_MAX_STREAMS, "N", "most streams a file may have (default 64)"},
    {"max-frames", OPT_MAX_FRAMES, "N", "most frames one video may yield (default 1000000)"},
    {NULL, 0, NULL, NULL},
};

void cli_job_init(CliJob *j)
{
    memset(j, 0, sizeof(*j));
    vidx_job_default_settings(&j->job);
    vidx_transcribe_default_settings(&j->asr);
    j->job.asr = &j->asr;
    vidx_label_default_settings(&j->label);
    j->job.label_settings = &j->label;
}

void cli_job_free(CliJob *j)
{
    free(j->times);
    free(j->indices);
    j->times = NULL;
    j->indices = NULL;
}

static int set_mode(CliJob *j, VidxMode mode)
{
    if (j->mode_set) {
        cli_error(NULL, "choose one of --count, --fps, --keyframes, --at, --index, --per-scene");
        return -1;
    }
    j->mode_set = 1;
    j->job.sampler.mode = mode;
    return 0;
}

static int parse_size(CliJob *j, const char *arg)
{
    VidxSamplerSettings *s = &j->job.sampler;
    int64_t a, b;
    char *x = strchr(arg, 'x');
    if (!x)
        return cli_parse_int("size", arg, 1, 16255, &a) < 0 ? -1 : (s->max_side = (int)a, 0);
    char w[32];
    size_t len = (size_t)(x - arg);
    if (len == 0 || len >= sizeof(w)) {
        cli_error(NULL, "--size: '%s' is not S or WxH", arg);
        return -1;
    }
    memcpy(w, arg, len);
    w[len] = 0;
    if (cli_parse_int("size", w, 1, 16384, &a) < 0 ||
        cli_parse_int("size", x + 1, 1, 16384, &b) < 0)
        return -1;
    s->width = (int)a;
    s->height = (int)b;
    return 0;
}

static int parse_fit(CliJob *j, const char *arg)
{
    static const char *const names[] = {"stretch", "crop", "pad"};
    for (int i = 0; i < 3; i++) {
        if (!strcmp(arg, names[i])) {
            j->job.sampler.fit = (VidxFit)i;
            return 0;
        }
    }
    cli_error(NULL, "--fit: '%s' is not stretch, crop or pad", arg);
    return -1;
}

static int parse_audio(CliJob *j, const char *arg)
{
    if (vidx_audio_format_parse(arg, &j->job.audio) < 0) {
        cli_error(NULL, "--audio: '%s' is not wav, flac or opus", arg);
        return -1;
    }
    return 0;
}

static int parse_pick(CliJob *j, const char *arg)
{
    static const char *const names[] = {"spread", "first", "middle"}; /* VidxScenePick order */
    for (int i = 0; i < 3; i++) {
        if (!strcmp(arg, names[i])) {
            j->job.per_scene_pick = i;
            j->pick_set = 1;
            return 0;
        }
    }
    cli_error(NULL, "--per-scene-pick: '%s' is not spread, first or middle", arg);
    return -1;
}

static int mode_option(CliJob *j, int key, const char *arg)
{
    VidxSamplerSettings *s = &j->job.sampler;
    int64_t v;
    switch (key) {
    case OPT_COUNT:
        if (set_mode(j, VIDX_MODE_COUNT) < 0 || cli_parse_int("count", arg, 1, 1000000, &v) < 0)
            return -1;
        s->count = (int)v;
        return 1;
    case OPT_FPS:
        if (set_mode(j, VIDX_MODE_FPS) < 0 || cli_parse_double("fps", arg, 1e-6, &s->fps) < 0)
            return -1;
        return 1;
    case OPT_KEYFRAMES:
        return set_mode(j, VIDX_MODE_KEYFRAMES) < 0 ? -1 : 1;
    case OPT_AT:
        if (set_mode(j, VIDX_MODE_TIMES) < 0 ||
            cli_parse_doubles("at", arg, &j->times, &s->n_times) < 0)
            return -1;
        s->times = j->times;
        return 1;
    case OPT_INDEX:
        if (set_mode(j, VIDX_MODE_INDICES) < 0 ||
            cli_parse_ints("index", arg, &j->indices, &s->n_indices) < 0)
            return -1;
        s->indices = j->indices;
        return 1;
    case OPT_PER_SCENE:
        if (set_mode(j, s->mode) < 0 || cli_parse_int("per-scene", arg, 1, 1000000, &v) < 0)
            return -1;
        j->job.per_scene = (int)v;
        return 1;
    case OPT_PER_SCENE_PICK:
        return parse_pick(j, arg) < 0 ? -1 : 1;
    }
    return 0;
}

/* The safety limits (docs/SECURITY.md, "Limits"). */
/* The --label-* options (below). */
static int label_option(CliJob *j, int key, const char *arg);

static int limit_option(CliJob *j, int key, const char *arg)
{
    VidxJobSettings *js = &j->job;
    int64_t v;
    switch (key) {
    case OPT_MAX_PIXELS:
        return cli_parse_int("max-pixels", arg, 1, 1LL << 40, &js->source.max_pixels) < 0 ? -1 : 1;
    case OPT_MAX_STREAMS:
        return cli_parse_int("max-streams", arg, 1, 100000, &v) < 0
                   ? -1
                   : (js->source.max_streams = (int)v, 1);
    case OPT_MAX_FRAMES:
        return cli_parse_int("max-frames", arg, 1, 1LL << 40, &js->sampler.max_frames) < 0 ? -1 : 1;
    }
    return 0;
}

int cli_job_option(CliJob *j, int key, const char *arg)
{
    VidxJobSettings *js = &j->job;
    int64_t v;
    int ret = mode_option(j, key, arg);
    if (ret != 0)
        return ret;
    switch (key) {
    case OPT_APPROX:
        js->sampler.approx = 1;
        return 1;
    case OPT_HWACCEL:
        if ((ret = vidx_hwaccel_parse(arg)) < 0) {
            cli_error(NULL, "--hwaccel: '%s' is not auto, cuda or none", arg);
            return -1;
        }
        js->sampler.hwaccel = ret;
        return 1;
    case OPT_FORMAT:
        if (vidx_image_format_parse(arg, &js->format) < 0) {
            cli_error(NULL, "--format: '%s' is not jpg, webp or png", arg);
            return -1;
        }
        return 1;
    case OPT_QUALITY:
        return cli_parse_int("quality", arg, 1, 100, &v) < 0 ? -1 : (js->quality = (int)v, 1);
    case OPT_SIZE:
        return parse_size(j, arg) < 0 ? -1 : 1;
    case OPT_FIT:
        return parse_fit(j, arg) < 0 ? -1 : 1;
    case OPT_THREADS:
        return cli_parse_int("threads", arg, 0, 256, &v) < 0 ? -1
                                                             : (js->sampler.threads = (int)v, 1);
    case OPT_MD5:
        js->md5 = 1;
        return 1;
    case OPT_AUDIO:
        return parse_audio(j, arg) < 0 ? -1 : 1;
    case OPT_AUDIO_RATE:
        return cli_parse_int("audio-rate", arg, 1000, 384000, &v) < 0
                   ? -1
                   : (js->audio_rate = (int)v, 1);
    case OPT_AUDIO_CHANNELS:
        return cli_parse_int("audio-channels", arg, 1, 8, &v) < 0
                   ? -1
                   : (js->audio_channels = (int)v, 1);
    case OPT_AUDIO_STREAM:
        return cli_parse_int("audio-stream", arg, 0, 1000, &v) < 0
                   ? -1
                   : (js->source.audio_stream = (int)v, 1);
    case OPT_STREAM:
        return cli_parse_int("stream", arg, 0, 1000, &v) < 0 ? -1 : (js->source.stream = (int)v, 1);
    case OPT_DEDUP:
        return cli_parse_int("dedup", arg, 0, 64, &v) < 0 ? -1 : (js->dedup = (int)v, 1);
    case OPT_SCENES:
        js->scenes = 1;
        return 1;
    case OPT_TRANSCRIBE:
        js->transcribe = 1;
        return 1;
    }
    return label_option(j, key, arg);
}

/* The --label-* options: 1 consumed, 0 not one of them, < 0 error. */
static int label_option(CliJob *j, int key, const char *arg)
{
    VidxLabelSettings *l = &j->label;
    int64_t v;
    switch (key) {
    case OPT_LABEL_URL:
        j->job.label = 1;
        l->url = arg;
        return 1;
    case OPT_LABEL_PROMPT:
        l->prompt = arg;
        break;
    case OPT_LABEL_MODEL:
        l->model = arg;
        break;
    case OPT_LABEL_KEY_ENV:
        l->key_env = arg;
        break;
    case OPT_LABEL_JOBS:
        if (cli_parse_int("label-jobs", arg, 1, 64, &v) < 0)
            return -1;
        l->concurrency = (int)v;
        break;
    case OPT_LABEL_TIMEOUT:
        if (cli_parse_double("label-timeout", arg, 0.001, &l->timeout) < 0)
            return -1;
        break;
    case OPT_LABEL_RETRIES:
        if (cli_parse_int("label-retries", arg, 0, 100, &v) < 0)
            return -1;
        l->retries = (int)v;
        break;
    case OPT_LABEL_SIZE:
        if (cli_parse_int("label-size", arg, 16, 4096, &v) < 0)
            return -1;
        l->max_side = (int)v;
        break;
    default: {
        int ret = cli_asr_option(&j->asr, key, arg);
        return ret != 0 ? ret : limit_option(j, key, arg);
    }
    }
    j->label_extra = 1;
    return 1;
}

/* The --label-* options that say where and how to ask, not what: a queue worker's own. */
static int label_endpoint_key(int key)
{
    return key == OPT_LABEL_URL || key == OPT_LABEL_KEY_ENV || key == OPT_LABEL_JOBS ||
           key == OPT_LABEL_TIMEOUT || key == OPT_LABEL_RETRIES;
}

const CliOption *cli_label_endpoint_options(void)
{
    static CliOption table[8]; /* five, then the end */
    size_t n = 0;
    if (!table[0].name)
        for (const CliOption *o = cli_job_options; o->name; o++)
            if (label_endpoint_key(o->key))
                table[n++] = *o;
    return table;
}

int cli_label_endpoint_option(CliJob *j, int key, const char *arg)
{
    return label_endpoint_key(key) ? label_option(j, key, arg) : 0;
}

int cli_worker_side_option(int key)
{
    if (label_endpoint_key(key))
        return 1;
    for (const CliOption *o = cli_asr_options; o->name; o++)
        if (o->key == key)
            return 1;
    return 0;
}

int cli_label_endpoint_given(const VidxLabelSettings *l)
{
    VidxLabelSettings d;
    vidx_label_default_settings(&d);
    return l->url || l->key_env || l->concurrency != d.concurrency || l->timeout != d.timeout ||
           l->retries != d.retries;
}

int cli_job_finish(CliJob *j)
{
    const VidxSamplerSettings *s = &j->job.sampler;
    if (s->fit != VIDX_FIT_STRETCH && !(s->width > 0)) {
        cli_error(NULL, "--fit needs --size WxH");
        return -1;
    }
    if (cli_asr_given(&j->asr) && !j->job.transcribe) {
        cli_error(NULL, "the --asr-* options need --transcribe");
        return -1;
    }
    if (j->label_extra && !j->job.label && !j->label_queued) {
        cli_error(NULL, "the --label-* options need --label-url");
        return -1;
    }
    if (j->job.source.audio_stream >= 0 && !j->job.audio) {
        cli_error(NULL, "--audio-stream needs --audio");
        return -1;
    }
    if (j->pick_set && !j->job.per_scene) {
        cli_error(NULL, "--per-scene-pick needs --per-scene");
        return -1;
    }
    if (s->approx && j->job.per_scene) {
        cli_error(NULL, "--approx applies to --count, --fps and --at, not --per-scene");
        return -1;
    }
    if (s->approx && (s->mode == VIDX_MODE_KEYFRAMES || s->mode == VIDX_MODE_INDICES)) {
        cli_error(NULL, "--approx applies to --count, --fps and --at");
        return -1;
    }
    int ret = vidx_job_check_settings(&j->job);
    if (ret < 0) {
        cli_error(NULL, "%s",
                  vidx_error_detail(ret)[0] ? vidx_error_detail(ret) : vidx_strerror(ret));
        return -1;
    }
    j->job.label |= j->label_queued; /* checked by each worker, with its endpoint */
    return 0;
}

const CliOption *cli_options_joinv(const CliOption *const *parts, size_t n_parts)
{
    static CliOption all[160];
    size_t n = 0;
    for (size_t i = 0; i < n_parts; i++)
        for (const CliOption *o = parts[i]; o && o->name && n + 1 < sizeof(all) / sizeof(all[0]);
             o++)
            all[n++] = *o;
    all[n] = (CliOption){0};
    return all;
}

const CliOption *cli_options_join3(const CliOption *a, const CliOption *b, const CliOption *c)
{
    const CliOption *parts[] = {a, b, c};
    return cli_options_joinv(parts, 3);
}

const CliOption *cli_options_join(const CliOption *a, const CliOption *b)
{
    return cli_options_join3(a, b, NULL);
}

const CliOption *cli_with_job_options(const CliOption *own)
{
    return cli_options_join3(own, cli_job_options, cli_asr_options);
}
