/*
 * options.h - the options hash of a batch run: which settings shape a video's
 * output, listed once. A video is done when its file and this hash are the
 * same as when it was recorded; change any listed setting and it is redone.
 */
#ifndef VIDX_BATCH_OPTIONS_H
#define VIDX_BATCH_OPTIONS_H

#include <stddef.h>

#include "core/internal.h"

typedef enum OptionKind {
    OPTION_V1_TEXT,  /* in the first hash: always part of it, as "|value" */
    OPTION_V1_BYTES, /* in the first hash: its raw bytes (time and index lists) */
    OPTION_TEXT,     /* added later: "|name=value", only when not the default */
} OptionKind;

struct OptionArrays;

typedef struct OptionField {
    const char *name; /* the setting, as in VidxRunSettings (job.sampler.count: "count") */
    OptionKind kind;
    /* Text kinds: writes the value as text into buf (snprintf's return). */
    int (*text)(const VidxRunSettings *s, char *buf, size_t size);
    /* OPTION_V1_BYTES: the value's bytes and their length (NULL: none). */
    const void *(*bytes)(const VidxRunSettings *s, size_t *len);
    /* Text kinds: sets the value from its text (what it points at held in a, below);
     * VIDX_EUSAGE when it does not parse. */
    int (*set)(VidxRunSettings *s, struct OptionArrays *a, const char *text);
} OptionField;

/* Every setting that changes what a video's output is, in hash order. */
const OptionField *vidx__option_fields(size_t *n);

/* 16 hex digits. Settings left at their defaults hash as they did before the table existed. */
void vidx__options_hash(const VidxRunSettings *s, char out[32]);

/*
 * The same settings as JSON: what a work queue stores with the videos it
 * holds, so any worker processes them exactly as they were asked for (the
 * worker's own settings decide everything else: jobs, limits, timeouts).
 * Every field is written and every field is required back; the time and
 * index lists and the label's texts are allocated into *a
 * (vidx__option_arrays_free) and s points at them. Returns 0, -ENOMEM or VIDX_EUSAGE (not such
 * JSON).
 */
typedef struct OptionArrays {
    double *times;
    int64_t *indices;
    /* The labeller: a copy of s's own (a worker's endpoint) with the set's model,
     * prompt and image size; s->job.label_settings points here once one is read. */
    VidxLabelSettings label;
    char *label_model, *label_prompt;
} OptionArrays;
int vidx__options_to_json(const VidxRunSettings *s, char **json);
int vidx__options_from_json(const char *json, VidxRunSettings *s, OptionArrays *a);
void vidx__option_arrays_free(OptionArrays *a);

#endif
