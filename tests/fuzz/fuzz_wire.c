/*
 * fuzz_wire.c - libFuzzer harness for the batch wire format between the
 * supervisor and its workers (src/batch/worker.c, record.c, run.c). The input
 * is read as the lines of a pipe, in either direction: "S <duration>" (worker:
 * input open), "R <json>" (worker: the result, parsed as the supervisor does:
 * status and class, frames array, audio fields, shard position) and anything
 * else as a task line (supervisor: "<hex path> <hex scratch>[ <hex shard>
 * <offset>]"). It also checks a property: whatever the first line's bytes, a
 * task encoded with vidx__hex as run.c writes it parses back to the same path,
 * scratch directory, shard and offset.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "batch/run.h"
#include "batch/worker.h"

static void result_line(const char *text)
{
    VidxRunSettings set;
    vidx_run_default_settings(&set);
    set.max_memory = 1 << 30;
    Run r = {.set = &set, .shard_slots = 1};
    json_t *o = json_loads(text, 0, NULL);
    if (!o)
        return;
    CatalogVideo v = {0};
    const char *audio = NULL;
    size_t n = 0;
    int code = (int)json_integer_value(json_object_get(o, "status"));
    vidx__record_classify(&r, o, &v, code);
    (void)vidx__record_will_stage(&r, o);
    vidx__record_audio(o, &v, &audio);
    VidxFrameRecord *recs = vidx__record_parse_frames(json_object_get(o, "frames"), &n);
    int64_t bytes = 0;
    for (size_t i = 0; recs && i < n; i++) /* what count_video and the store read */
        bytes += recs[i].bytes / 2 + (recs[i].path ? (int64_t)strlen(recs[i].path) : 0) +
                 (int64_t)strlen(recs[i].sha256);
    (void)bytes;
    (void)json_integer_value(json_object_get(o, "tar_end"));
    (void)json_integer_value(json_object_get(o, "tar_samples"));
    (void)json_string_value(json_object_get(o, "probe"));
    free(recs);
    json_decref(o);
}

static void one_line(char *line)
{
    const char *payload = vidx__wire_payload(line);
    if (*payload && (payload < line || payload > line + strlen(line)))
        abort(); /* the supervisor would read past the worker's line */
    if (line[0] == 'S') {
        double d = vidx__start_duration(line);
        double deadline = 120.0 + 10.0 * (d > 0 ? d : 60.0);
        (void)deadline;
    } else if (line[0] == 'R') {
        result_line(vidx__wire_payload(line));
    } else {
        TaskLine t;
        if (vidx__task_parse(line, &t) == 0)
            (void)strlen(t.path), (void)strlen(t.dir), (void)(t.shard ? strlen(t.shard) : 0);
    }
}

/* The first line's bytes, cut at tabs into path, scratch and shard, round-trip through hex. */
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
    long long offset = (long long)strlen(line) * 512;
    char wire[3 * 2 * 512 + 64], *q = wire;
    q = vidx__hex(q, buf[0], strlen(buf[0]));
    *q++ = ' ';
    q = vidx__hex(q, buf[1], strlen(buf[1]));
    if (buf[2][0]) {
        *q++ = ' ';
        q = vidx__hex(q, buf[2], strlen(buf[2]));
        q += sprintf(q, " %lld", offset);
    }
    *q = 0;
    TaskLine t;
    if (vidx__task_parse(wire, &t) < 0 || strcmp(t.path, buf[0]) || strcmp(t.dir, buf[1]) ||
        (buf[2][0] && (!t.shard || strcmp(t.shard, buf[2]) || t.offset != offset)) ||
        (!buf[2][0] && t.shard))
        abort(); /* the task the worker runs is not the one the supervisor sent */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    round_trip(text);
    for (char *line = text, *nl; line; line = nl) {
        nl = memchr(line, '\n', (size_t)(text + size - line));
        if (nl)
            *nl++ = 0;
        one_line(line);
    }
    free(text);
    return 0;
}
