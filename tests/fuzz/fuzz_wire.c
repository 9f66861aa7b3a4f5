/*
 * fuzz_wire.c - libFuzzer harness for the batch wire between the supervisor
 * and its workers (src/batch/wire.c, as run.c and record.c use it). The input
 * is read as the lines of a pipe, in either direction, each decoded the way
 * its reader does: a start ("S <duration>": the timeout it sets), a result
 * ("R <json>": decoded, classified as the supervisor records it, every frame's
 * strings read), and anything else as a task ("path=<hex> scratch=<hex>
 * [shard=<hex> offset=<n>]"). Each line is decoded from a buffer of its own
 * length, so a decoder that reads past its line trips the sanitizer. It also
 * checks a property: whatever the first line's bytes, a task encoded by the
 * supervisor decodes in the worker to the same path, scratch directory,
 * shard and offset.
 */
#include <stdlib.h>
#include <string.h>

#include "batch/record.h"
#include "batch/wire.h"

static void result_line(const char *line)
{
    VidxRunSettings set;
    vidx_run_default_settings(&set);
    set.max_memory = 1 << 30;
    Run r = {.set = &set, .shard_slots = 1};
    WireResult res;
    if (vidx__wire_result_decode(line, &res) < 0)
        return;
    CatalogVideo v = {0};
    vidx__record_classify(&r, &res, &v);
    (void)vidx__record_will_stage(&r, &res);
    int64_t bytes = 0;
    for (size_t i = 0; i < res.n_frames; i++) /* what count_video and the store read */
        bytes += res.frames[i].bytes / 2 +
                 (res.frames[i].path ? (int64_t)strlen(res.frames[i].path) : 0) +
                 (int64_t)strlen(res.frames[i].sha256);
    bytes += (res.probe ? (int64_t)strlen(res.probe) : 0) +
             (res.audio_path ? (int64_t)strlen(res.audio_path) : 0) +
             (v.error ? (int64_t)strlen(v.error) : 0) +
             (v.error_class ? (int64_t)strlen(v.error_class) : 0);
    (void)bytes;
    vidx__wire_result_free(&res);
}

/* Decodes line (len bytes, from a copy of exactly that size) as its reader would. */
static void one_line(const char *text, size_t len)
{
    char *line = malloc(len + 1);
    if (!line)
        return;
    memcpy(line, text, len);
    line[len] = 0;
    WireKind kind = vidx__wire_kind(line);
    if (kind == WIRE_START) {
        double d = vidx__wire_start_duration(line);
        double deadline = 120.0 + 10.0 * (d > 0 ? d : 60.0);
        (void)deadline;
    } else if (kind == WIRE_RESULT) {
        result_line(line);
    } else if (kind == WIRE_OTHER) {
        WireTask t;
        if (vidx__wire_task_decode(line, &t) == 0)
            (void)strlen(t.path), (void)strlen(t.scratch), (void)(t.shard ? strlen(t.shard) : 0);
    }
    free(line);
}

/* The first line's bytes, cut at tabs into path, scratch and shard, round-trip through the wire. */
static void round_trip(const char *line)
{
    char buf[3][512] = {{0}};
    int k = 0;
    size_t j = 0;
    for (const char *p = line; *p && k < 3; p++) {
        if (*p == '\t') {
            k++, j = 0;
        } else if (j < sizeof(buf[k]) - 1) {
            buf[k][j++] = *p;
        }
    }
    if (!buf[1][0])
        return;
    WireTask in = {.path = buf[0], .scratch = buf[1], .shard = buf[2][0] ? buf[2] : NULL};
    in.offset = in.shard ? (int64_t)strlen(line) * 512 : 0;
    size_t len;
    char *wire = vidx__wire_task_encode(&in, &len), *nl = wire ? strchr(wire, '\n') : NULL;
    WireTask t;
    if (!wire)
        return;
    if (nl != wire + len - 1) /* one line, whatever the bytes */
        abort();
    *nl = 0;
    if (vidx__wire_task_decode(wire, &t) < 0 || strcmp(t.path, in.path) ||
        strcmp(t.scratch, in.scratch) || !t.shard != !in.shard ||
        (in.shard && (strcmp(t.shard, in.shard) || t.offset != in.offset)))
        abort(); /* the task the worker runs is not the one the supervisor sent */
    free(wire);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    round_trip(text);
    for (const char *line = text, *nl; line < text + size; line = nl + 1) {
        if (!(nl = memchr(line, '\n', (size_t)(text + size - line))))
            nl = text + size;
        one_line(line, (size_t)(nl - line));
    }
    free(text);
    return 0;
}
