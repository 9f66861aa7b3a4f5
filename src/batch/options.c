/*
 * options.c - the options hash: one table of every setting that shapes a
 * video's output (see options.h).
 *
 * In the table: sampling (mode, count, fps, times, indices, approx), geometry
 * (size, width, height, fit), image format and quality, md5, audio (format,
 * rate, channels), stream, dedup (perceptual threshold), dedup_exact (frames
 * stored content-addressed in OUT/objects/ instead of per video) and manifest.
 * Not in it, because they never change what a finished video's output is:
 * threads, jobs, timeouts and the stall watchdog, memory/disk/scratch/frame/
 * pixel/stream limits (a video they stop fails; --retry redoes it), durable,
 * callbacks, network_timeout, retry, scratch, pixel (follows the format),
 * shard_bytes/shard_samples (which shard a sample goes to, not the sample)
 * and layout (fixed per OUT: a run with another layout is refused).
 *
 * Compatibility: the first hash ("v1") covered the OPTION_V1_* fields. They
 * are still hashed exactly as then, and each later field adds "|name=value"
 * only when it differs from its default, so outputs made before the table
 * existed keep their hash (and are not redone) unless a new setting is used.
 */
#include "batch/options.h"

#include <stdio.h>
#include <string.h>

#include "batch/inputs.h"

#define INT_FIELD(fname, expr)                                                                     \
    static int put_##fname(const VidxRunSettings *s, char *buf, size_t size)                       \
    {                                                                                              \
        return snprintf(buf, size, "%d", (int)(expr));                                             \
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
INT_FIELD(dedup, s->job.dedup)
INT_FIELD(dedup_exact, s->dedup_exact)
INT_FIELD(manifest, s->job.manifest)

static int put_fps(const VidxRunSettings *s, char *buf, size_t size)
{
    return snprintf(buf, size, "%.9g", s->job.sampler.fps);
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
#name, OPTION_V1_TEXT, put_##name, NULL                                                    \
    }
#define NEW(name)                                                                                  \
    {                                                                                              \
#name, OPTION_TEXT, put_##name, NULL                                                       \
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
