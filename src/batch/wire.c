/*
 * wire.c - the one encoder and decoder of each message between the supervisor
 * of a batch run and its workers, one line each (the pipe is read by lines):
 *
 *   task (out)      "path=<hex> scratch=<hex>[ shard=<hex> offset=<decimal>]"
 *   start (back)    "S <duration>"   the input is open (scales the timeout)
 *   progress (back) "P"              still reading (the stall watchdog)
 *   result (back)   "R <json>"       {"status", "class", "message", "partial",
 *                   "seconds", "frames": [{"index", "target", ...}, ...],
 *                   "decoded", "errors", "tar_end", "tar_samples"[, "probe"]
 *                   [, "audio": {"path", "rate", "channels", "duration"}]
 *                   [, "scenes": {"frames", "partial", "shots": [{"start", "end",
 *                   "first_frame", "last_frame", "cause", "score", ...}, ...]}]
 *                   [, "transcript": {"segments": [{"start", "end", "text"}, ...]}]
 *                   [, "labels": {"labels": [{"frame", "index", "time", "file", "model",
 *                   "latency", "caption", "tags" | "error"}, ...]}]
 *                   [, "device": "cuda" or "cpu (REASON)", where it decoded]
 *                   [, "renditions": [{"preset", "kind", "path", "bytes", "duration",
 *                   "codec", "width", "height", "bitrate"}, ...] (the transcode stage)]}
 *                   ("class": the error's; for a partial result "truncated" when
 *                   the input was cut off, else "decode")
 *
 * Paths travel as hex so that any byte a file name may hold survives (tabs,
 * newlines, non-UTF-8). A decoder never reads past its line: a hostile or
 * truncated message decodes to an error or to zero fields, never to a crash.
 */
#include "batch/wire.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *hex(char *out, const char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        *out++ = digits[(unsigned char)in[i] >> 4];
        *out++ = digits[(unsigned char)in[i] & 15];
    }
    return out;
}

static int nibble(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* Decodes hex in place; -EINVAL for anything but pairs of hex digits (or a NUL byte). */
static int unhex(char *s)
{
    char *out = s;
    for (; *s; s += 2) {
        if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
            return -EINVAL;
        if (!(*out++ = (char)(nibble(s[0]) << 4 | nibble(s[1]))))
            return -EINVAL;
    }
    *out = 0;
    return 0;
}

char *vidx__wire_task_encode(const WireTask *t, size_t *len)
{
    size_t lp = strlen(t->path), ls = strlen(t->scratch), lh = t->shard ? strlen(t->shard) : 0;
    char *line = malloc(2 * (lp + ls + lh) + 64), *q = line;
    if (!line)
        return NULL;
    q = hex(q + sprintf(q, "path="), t->path, lp);
    q = hex(q + sprintf(q, " scratch="), t->scratch, ls);
    if (t->shard) {
        q = hex(q + sprintf(q, " shard="), t->shard, lh);
        q += sprintf(q, " offset=%lld", (long long)t->offset);
    }
    *q++ = '\n';
    *q = 0;
    *len = (size_t)(q - line);
    return line;
}

static int parse_offset(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!isdigit((unsigned char)*s) || *end || errno)
        return -EINVAL;
    *out = v;
    return 0;
}

/* One "name=value" field of a task line. Unknown names are skipped. */
static int task_field(char *field, WireTask *t, int *have_offset)
{
    char *eq = strchr(field, '=');
    if (!eq)
        return -EINVAL;
    *eq++ = 0;
    if (!strcmp(field, "offset")) {
        *have_offset = 1;
        return parse_offset(eq, &t->offset);
    }
    const char **slot = !strcmp(field, "path")      ? &t->path
                        : !strcmp(field, "scratch") ? &t->scratch
                        : !strcmp(field, "shard")   ? &t->shard
                                                    : NULL;
    if (slot)
        *slot = eq;
    return slot ? unhex(eq) : 0;
}

int vidx__wire_task_decode(char *line, WireTask *t)
{
    char *save = NULL;
    int have_offset = 0;
    memset(t, 0, sizeof(*t));
    for (char *f = strtok_r(line, " ", &save); f; f = strtok_r(NULL, " ", &save))
        if (task_field(f, t, &have_offset) < 0)
            return -EINVAL;
    if (!t->path || !t->scratch || !!t->shard != have_offset)
        return -EINVAL;
    return 0;
}

void vidx__wire_start_encode(char *buf, size_t size, double duration)
{
    snprintf(buf, size, "S %.3f\n", duration);
}

WireKind vidx__wire_kind(const char *line)
{
    int bare = line[0] && (!line[1] || line[1] == ' '); /* the tag alone, or with its payload */
    if (line[0] == 'S' && bare)
        return WIRE_START;
    if (line[0] == 'P' && bare)
        return WIRE_PROGRESS;
    if (line[0] == 'R' && bare)
        return WIRE_RESULT;
    return WIRE_OTHER;
}

/* What follows a line's tag: never past the line's end. */
static const char *payload(const char *line)
{
    return line[0] && line[1] ? line + 2 : "";
}

double vidx__wire_start_duration(const char *line)
{
    return atof(payload(line));
}

static json_t *frame_json(const VidxFrameRecord *f, TarSpan sp)
{
    return json_pack("{s:I, s:o, s:f, s:I, s:b, s:i, s:i, s:I, s:s?, s:s, s:I, s:I, s:I, s:I}",
                     "index", (json_int_t)f->index, "target",
                     isnan(f->target) ? json_null() : json_real(f->target), "time", f->time, "pts",
                     (json_int_t)f->pts, "keyframe", f->keyframe, "width", f->width, "height",
                     f->height, "bytes", (json_int_t)f->bytes, "path", f->path, "sha256", f->sha256,
                     "phash", (json_int_t)f->phash, "dup_of", (json_int_t)f->dup_of, "tar_offset",
                     (json_int_t)sp.offset, "tar_size", (json_int_t)sp.size);
}

/* The class of a result: its error's, or for a partial one why it is partial. */
static const char *result_class(const VidxJobResult *r, const JobOutput *out)
{
    if (r->status)
        return vidx_error_class(r->status);
    return r->partial ? (out->truncated ? "truncated" : "decode") : "ok";
}

static json_t *result_json(const VidxJobResult *r, const JobOutput *out)
{
    json_t *frames = json_array();
    for (size_t i = 0; frames && i < r->n_frames; i++)
        if (json_array_append_new(
                frames, frame_json(&r->frames[i], out->spans ? out->spans[i] : (TarSpan){-1, 0})) <
            0) {
            json_decref(frames);
            return NULL;
        }
    json_t *o =
        json_pack("{s:i, s:s, s:s, s:b, s:f, s:o, s:I, s:I, s:I, s:I}", "status", r->status,
                  "class", result_class(r, out), "message", r->message, "partial", r->partial,
                  "seconds", r->seconds, "frames", frames, "decoded",
                  (json_int_t)r->stats.frames_decoded, "errors", (json_int_t)r->stats.decode_errors,
                  "tar_end", (json_int_t)out->tar_end, "tar_samples", (json_int_t)out->tar_samples);
    /* A probe or audio entry that cannot be built is left out: the video is still reported. */
    if (o && r->probe_json)
        json_object_set_new(o, "probe", json_string(r->probe_json));
    if (o && r->audio_path)
        json_object_set_new(o, "audio",
                            json_pack("{s:s, s:i, s:i, s:f}", "path", r->audio_path, "rate",
                                      r->audio_rate, "channels", r->audio_channels, "duration",
                                      r->audio_duration));
    if (o && out->device[0])
        json_object_set_new(o, "device", json_string(out->device));
    if (o && out->scenes_json)
        json_object_set_new(o, "scenes", json_loads(out->scenes_json, 0, NULL));
    if (o && out->transcript_json)
        json_object_set_new(o, "transcript", json_loads(out->transcript_json, 0, NULL));
    if (o && out->labels_json)
        json_object_set_new(o, "labels", json_loads(out->labels_json, 0, NULL));
    if (o && out->renditions_json)
        json_object_set_new(o, "renditions", json_loads(out->renditions_json, 0, NULL));
    return o;
}

char *vidx__wire_result_encode(const VidxJobResult *res, const JobOutput *out, size_t *len)
{
    json_t *o = result_json(res, out);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *line = malloc(n + 4);
    if (line) {
        memcpy(line, "R ", 2);
        memcpy(line + 2, text, n);
        memcpy(line + 2 + n, "\n", 2);
        *len = n + 3;
    }
    free(text);
    return line;
}

static int64_t get_int(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static double get_real(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static const char *get_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void frame_decode(json_t *o, VidxFrameRecord *f, TarSpan *sp)
{
    json_t *target = json_object_get(o, "target");
    f->index = get_int(o, "index");
    f->target = json_is_number(target) ? json_number_value(target) : NAN;
    f->time = get_real(o, "time");
    f->pts = get_int(o, "pts");
    f->keyframe = json_is_true(json_object_get(o, "keyframe"));
    f->width = (int)get_int(o, "width");
    f->height = (int)get_int(o, "height");
    f->bytes = get_int(o, "bytes");
    f->path = (char *)get_str(o, "path");
    snprintf(f->sha256, sizeof(f->sha256), "%s", get_str(o, "sha256") ?: "");
    f->phash = (uint64_t)get_int(o, "phash");
    f->dup_of = get_int(o, "dup_of");
    sp->offset = get_int(o, "tar_offset");
    sp->size = get_int(o, "tar_size");
}

static int frames_decode(json_t *arr, WireResult *r)
{
    size_t n = json_array_size(arr);
    if (!(r->frames = calloc(n ? n : 1, sizeof(*r->frames))) ||
        !(r->spans = calloc(n ? n : 1, sizeof(*r->spans))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        frame_decode(json_array_get(arr, i), &r->frames[i], &r->spans[i]);
    r->n_frames = n;
    return 0;
}

static void audio_decode(json_t *a, WireResult *r)
{
    r->audio_path = get_str(a, "path");
    r->audio_rate = (int)get_int(a, "rate");
    r->audio_channels = (int)get_int(a, "channels");
    r->audio_duration = get_real(a, "duration");
}

/* The shot list of a "scenes" object; none when there is no such object. */
static int shots_decode(json_t *scenes, WireResult *r)
{
    json_t *arr = json_object_get(scenes, "shots");
    size_t n = json_array_size(arr);
    if (!json_is_array(arr))
        return 0;
    if (!(r->shots = calloc(n ? n : 1, sizeof(*r->shots))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        r->shots[i] = (CatalogShot){get_real(o, "start"),      get_real(o, "end"),
                                    get_int(o, "first_frame"), get_int(o, "last_frame"),
                                    get_str(o, "cause") ?: "", get_real(o, "score")};
    }
    r->n_shots = n;
    return 0;
}

/* The segments of a "transcript" object; none when there is no such object. */
static int segments_decode(json_t *transcript, WireResult *r)
{
    json_t *arr = json_object_get(transcript, "segments");
    size_t n = json_array_size(arr);
    if (!json_is_array(arr))
        return 0;
    if (!(r->segments = calloc(n ? n : 1, sizeof(*r->segments))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        r->segments[i] =
            (CatalogSegment){get_real(o, "start"), get_real(o, "end"), get_str(o, "text") ?: ""};
    }
    r->n_segments = n;
    return 0;
}

/* The frames' labels of a "labels" object ({"labels": [...]}); none without one. */
static int labels_decode(json_t *labels, WireResult *r)
{
    json_t *arr = json_object_get(labels, "labels");
    size_t n = json_array_size(arr);
    if (!json_is_array(arr))
        return 0;
    if (!(r->labels = calloc(n ? n : 1, sizeof(*r->labels))))
        return -ENOMEM;
    r->n_labels = n; /* before the tags: the free frees what was made */
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i), *tags = json_object_get(o, "tags");
        char *t = json_is_array(tags) ? json_dumps(tags, JSON_COMPACT) : NULL;
        if (json_is_array(tags) && !t)
            return -ENOMEM;
        r->labels[i] =
            (CatalogLabel){get_int(o, "frame"),       get_str(o, "caption"),  t,
                           get_str(o, "model") ?: "", get_real(o, "latency"), get_str(o, "error")};
    }
    return 0;
}

/* The transcode stage's renditions (an array); none without one. */
static int renditions_decode(json_t *arr, WireResult *r)
{
    size_t n = json_array_size(arr);
    if (!json_is_array(arr))
        return 0;
    if (!(r->renditions = calloc(n ? n : 1, sizeof(*r->renditions))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        r->renditions[i] = (CatalogRendition){
            get_str(o, "preset") ?: "", get_str(o, "kind") ?: "",  get_str(o, "path") ?: "",
            get_int(o, "bytes"),        get_real(o, "duration"),   get_str(o, "codec") ?: "",
            (int)get_int(o, "width"),   (int)get_int(o, "height"), get_int(o, "bitrate")};
    }
    r->n_renditions = n;
    return 0;
}

int vidx__wire_result_decode(const char *line, WireResult *r)
{
    memset(r, 0, sizeof(*r));
    if (vidx__wire_kind(line) != WIRE_RESULT)
        return -EINVAL;
    json_t *o = json_loads(payload(line), 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return -EINVAL;
    }
    r->json = o;
    r->status = (int)get_int(o, "status");
    r->error_class = get_str(o, "class");
    r->message = get_str(o, "message");
    r->partial = json_is_true(json_object_get(o, "partial"));
    r->seconds = get_real(o, "seconds");
    r->decoded = get_int(o, "decoded");
    r->decode_errors = get_int(o, "errors");
    r->probe = get_str(o, "probe");
    r->tar_end = get_int(o, "tar_end");
    r->tar_samples = get_int(o, "tar_samples");
    r->device = get_str(o, "device");
    audio_decode(json_object_get(o, "audio"), r);
    if (frames_decode(json_object_get(o, "frames"), r) < 0 ||
        shots_decode(json_object_get(o, "scenes"), r) < 0 ||
        segments_decode(json_object_get(o, "transcript"), r) < 0 ||
        labels_decode(json_object_get(o, "labels"), r) < 0 ||
        renditions_decode(json_object_get(o, "renditions"), r) < 0) {
        vidx__wire_result_free(r);
        return -ENOMEM;
    }
    return 0;
}

void vidx__wire_result_free(WireResult *r)
{
    free(r->frames);
    free(r->spans);
    free(r->shots);
    free(r->segments);
    for (size_t i = 0; r->labels && i < r->n_labels; i++)
        free((char *)r->labels[i].tags);
    free(r->labels);
    free(r->renditions);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}
