/*
 * wire.h - the messages between a batch run's supervisor and its workers
 * (see wire.c): one line each, a tag and named fields. Out: a task. Back: the
 * video's start (its duration), progress, and its result.
 */
#ifndef VIDX_BATCH_WIRE_H
#define VIDX_BATCH_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "catalog/catalog.h"
#include "core/internal.h"
#include "pipeline/job_internal.h"

/* A task: one video for a worker. */
typedef struct WireTask {
    const char *path;    /* the video */
    const char *scratch; /* its scratch directory (named after the video's key) */
    const char *shard;   /* shards layout: the shard its samples go to; NULL: none */
    int64_t offset;      /* where in the shard they start (a multiple of 512) */
} WireTask;

/* A worker's result, decoded: strings are borrowed from json (owned here). */
typedef struct WireResult {
    json_t *json;
    int status; /* 0 or the error code that ended the video */
    const char *error_class, *message;
    int partial;
    double seconds;
    VidxFrameRecord *frames; /* owned; paths borrowed from json */
    TarSpan *spans;          /* owned: per frame, its sample in the shard (offset -1: none) */
    size_t n_frames;
    int64_t decoded, decode_errors;
    const char *probe;      /* probe JSON; NULL: none */
    const char *audio_path; /* relative to the scratch directory; NULL: no audio */
    int audio_rate, audio_channels;
    double audio_duration;
    int64_t tar_end;     /* shards: where the video's samples end in its shard */
    int64_t tar_samples; /* and how many it appended */
    CatalogShot *shots;  /* owned (causes borrowed from json); NULL: no shot list */
    size_t n_shots;
    CatalogSegment *segments; /* owned (texts borrowed from json); NULL: no transcript */
    size_t n_segments;
    CatalogLabel *labels; /* owned (strings borrowed from json, tags owned); NULL: none */
    size_t n_labels;
    const char *device;           /* where it decoded: "cuda" or "cpu (REASON)"; NULL: no decode */
    CatalogRendition *renditions; /* owned (strings borrowed from json); NULL: none */
    size_t n_renditions;
} WireResult;

/* What a line from a worker is (by its tag). */
typedef enum WireKind {
    WIRE_OTHER,
    WIRE_START,    /* "S <duration>": the input is open */
    WIRE_PROGRESS, /* "P": still reading and decoding */
    WIRE_RESULT,   /* "R <json>": the video's result */
} WireKind;

/* The task as one line ending in '\n' (malloc'd, *len its length); NULL: no memory. */
char *vidx__wire_task_encode(const WireTask *t, size_t *len);
/* Decodes a task line (newline stripped) in place: t's strings point into line. 0 or -EINVAL. */
int vidx__wire_task_decode(char *line, WireTask *t);

/* "S <duration>\n" into buf; "P\n" is VIDX_WIRE_PROGRESS. */
void vidx__wire_start_encode(char *buf, size_t size, double duration);
#define VIDX_WIRE_PROGRESS "P\n"

WireKind vidx__wire_kind(const char *line);
/* The duration a start line reports (seconds; <= 0 unknown). */
double vidx__wire_start_duration(const char *line);

/*
 * The result line ("R <json>\n", malloc'd, *len its length) of job result res
 * and what its sink reported (out: its samples in the shard; spans may be
 * NULL). NULL: no memory, or a string that is not UTF-8.
 */
char *vidx__wire_result_encode(const VidxJobResult *res, const JobOutput *out, size_t *len);
/* Decodes a result line: 0, -EINVAL (not a result) or -ENOMEM. Free with _free. */
int vidx__wire_result_decode(const char *line, WireResult *r);
void vidx__wire_result_free(WireResult *r);

#endif
