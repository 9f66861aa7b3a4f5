/*
 * test_wire.c - the batch wire (src/batch/wire.c) on its own: every field of
 * a task and of a result survives encoding and decoding (paths with tabs,
 * newlines, spaces and non-UTF-8 bytes; NaN targets, dropped frames, 64-bit
 * hashes), and truncated or hostile lines decode to an error or to zeros,
 * never to a crash (the replay of tests/fuzz/corpus/wire adds random ones).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch/wire.h"

/* Encodes t, checks it is one line, decodes it (into *line, to free). */
static WireTask task_round_trip(const WireTask *t, char **line)
{
    size_t len;
    WireTask out;
    *line = vidx__wire_task_encode(t, &len);
    assert_non_null(*line);
    assert_int_equal(strlen(*line), len);
    assert_ptr_equal(strchr(*line, '\n'), *line + len - 1);
    (*line)[len - 1] = 0;
    assert_int_equal(vidx__wire_task_decode(*line, &out), 0);
    return out;
}

static void task_files(void **state)
{
    (void)state;
    char *line;
    WireTask t = {.path = "/lib/a b=c.mp4", .scratch = "/out/.scratch/k1"};
    WireTask out = task_round_trip(&t, &line);
    assert_string_equal(out.path, t.path);
    assert_string_equal(out.scratch, t.scratch);
    assert_null(out.shard);
    assert_int_equal(out.offset, 0);
    free(line);
}

static void task_shards_odd_bytes(void **state)
{
    (void)state;
    char *line;
    WireTask t = {.path = "/lib/\t tab\nnew\xff\xfe\x80line.mkv",
                  .scratch = "/out/.scratch/\x01\x7f",
                  .shard = "/out/shards/00 0001.tar",
                  .offset = 1LL << 40};
    WireTask out = task_round_trip(&t, &line);
    assert_string_equal(out.path, t.path);
    assert_string_equal(out.scratch, t.scratch);
    assert_string_equal(out.shard, t.shard);
    assert_int_equal(out.offset, t.offset);
    free(line);
}

static void task_hostile(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "path=61",                                                 /* no scratch */
        "scratch=61",                                              /* no path */
        "path=6 scratch=61",                                       /* odd hex */
        "path=6g scratch=61",                                      /* not hex */
        "path=6100 scratch=61",                                    /* a NUL byte */
        "path=61 scratch=61 shard=61",                             /* a shard without its offset */
        "path=61 scratch=61 offset=0",                             /* an offset without a shard */
        "path=61 scratch=61 shard=61 offset=-1",                   /* not a position */
        "path=61 scratch=61 shard=61 offset=1x",                   /* not a number */
        "path=61 scratch=61 shard=61 offset=",                     /* empty */
        "path=61 scratch=61 shard=61 offset=99999999999999999999", /* out of range */
        "61 62",                                                   /* the old positional form */
        "path",                                                    /* no value */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char buf[128];
        WireTask t;
        snprintf(buf, sizeof(buf), "%s", bad[i]);
        if (vidx__wire_task_decode(buf, &t) != -EINVAL)
            fail_msg("accepted: %s", bad[i]);
    }
    char ok[] = "future=1 path=61 scratch=62"; /* unknown fields are skipped */
    WireTask t;
    assert_int_equal(vidx__wire_task_decode(ok, &t), 0);
    assert_string_equal(t.path, "a");
    assert_string_equal(t.scratch, "b");
}

static void start_and_kinds(void **state)
{
    (void)state;
    char line[64];
    vidx__wire_start_encode(line, sizeof(line), 12.3456);
    assert_string_equal(line, "S 12.346\n");
    line[strlen(line) - 1] = 0;
    assert_int_equal(vidx__wire_kind(line), WIRE_START);
    assert_true(fabs(vidx__wire_start_duration(line) - 12.346) < 1e-9);
    assert_true(vidx__wire_start_duration("S") <= 0); /* a bare tag: unknown */
    assert_int_equal(vidx__wire_kind("P"), WIRE_PROGRESS);
    assert_string_equal(VIDX_WIRE_PROGRESS, "P\n");
    assert_int_equal(vidx__wire_kind("R {}"), WIRE_RESULT);
    assert_int_equal(vidx__wire_kind("R"), WIRE_RESULT);
    assert_int_equal(vidx__wire_kind("Sx"), WIRE_OTHER);
    assert_int_equal(vidx__wire_kind(""), WIRE_OTHER);
    assert_int_equal(vidx__wire_kind("path=61 scratch=62"), WIRE_OTHER);
}

static TarSpan spans[2] = {{1536, 14336}, {-1, 0}};
static const JobOutput sample_out = {.spans = spans, .tar_end = 4096 + 512, .tar_samples = 3};
static const JobOutput no_out = {0};

static void sample_result(VidxJobResult *r, VidxFrameRecord f[2])
{
    memset(r, 0, sizeof(*r));
    memset(f, 0, 2 * sizeof(*f));
    f[0] = (VidxFrameRecord){.index = 7,
                             .target = 1.25,
                             .time = 1.26,
                             .pts = 1 << 20,
                             .keyframe = 1,
                             .width = 640,
                             .height = 360,
                             .bytes = 12345,
                             .path = "000007_1260ms.jpg",
                             .phash = 0xfedcba9876543210ULL,
                             .dup_of = -1};
    strcpy(f[0].sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    f[1] = (VidxFrameRecord){.index = 8,
                             .target = NAN,
                             .time = 2.5,
                             .pts = -3,
                             .width = 640,
                             .height = 360,
                             .path = NULL,
                             .phash = 1,
                             .dup_of = 0};
    r->status = -30004;
    r->partial = 1;
    r->seconds = 0.5;
    r->frames = f;
    r->n_frames = 2;
    r->stats.frames_decoded = 99;
    r->stats.decode_errors = 4;
    r->probe_json = "{\"format\":\"mov\"}";
    r->audio_path = "audio.flac";
    r->audio_rate = 16000;
    r->audio_channels = 2;
    r->audio_duration = 3.5;
    snprintf(r->message, sizeof(r->message), "opening: \"x\"\tand\nmore \\ \xc3\xa9");
}

/* Encodes in with out as one line, newline stripped (*len still counts it). */
static char *result_line(const VidxJobResult *in, const JobOutput *out, size_t *len)
{
    char *line = vidx__wire_result_encode(in, out, len);
    assert_non_null(line);
    assert_ptr_equal(strchr(line, '\n'), line + *len - 1);
    line[*len - 1] = 0;
    return line;
}

static void result_round_trip(void **state)
{
    (void)state;
    VidxJobResult in;
    VidxFrameRecord f[2];
    WireResult out;
    size_t len;
    sample_result(&in, f);
    char *line = result_line(&in, &sample_out, &len);
    assert_int_equal(vidx__wire_result_decode(line, &out), 0);
    assert_int_equal(out.status, in.status);
    assert_string_equal(out.error_class, vidx_error_class(in.status));
    assert_string_equal(out.message, in.message);
    assert_int_equal(out.partial, 1);
    assert_true(out.seconds == 0.5);
    assert_int_equal(out.decoded, 99);
    assert_int_equal(out.decode_errors, 4);
    assert_string_equal(out.probe, in.probe_json);
    assert_string_equal(out.audio_path, "audio.flac");
    assert_int_equal(out.audio_rate, 16000);
    assert_int_equal(out.audio_channels, 2);
    assert_true(out.audio_duration == 3.5);
    assert_int_equal(out.tar_end, 4096 + 512);
    assert_int_equal(out.tar_samples, 3);
    assert_int_equal(out.n_frames, 2);
    for (int i = 0; i < 2; i++) {
        const VidxFrameRecord *a = &f[i], *b = &out.frames[i];
        assert_int_equal(b->index, a->index);
        assert_true(isnan(a->target) ? isnan(b->target) : b->target == a->target);
        assert_true(b->time == a->time);
        assert_int_equal(b->pts, a->pts);
        assert_int_equal(b->keyframe, a->keyframe);
        assert_int_equal(b->width, a->width);
        assert_int_equal(b->height, a->height);
        assert_int_equal(b->bytes, a->bytes);
        if (a->path)
            assert_string_equal(b->path, a->path);
        else
            assert_null(b->path);
        assert_string_equal(b->sha256, a->sha256);
        assert_true(b->phash == a->phash);
        assert_int_equal(b->dup_of, a->dup_of);
        assert_int_equal(out.spans[i].offset, spans[i].offset);
        assert_int_equal(out.spans[i].size, spans[i].size);
    }
    vidx__wire_result_free(&out);
    free(line);
}

/* A minimal result: no probe, no audio, no frames. */
static void result_minimal(void **state)
{
    (void)state;
    VidxJobResult in = {0};
    WireResult out;
    size_t len;
    char *line = result_line(&in, &no_out, &len);
    assert_int_equal(vidx__wire_result_decode(line, &out), 0);
    assert_int_equal(out.status, 0);
    assert_string_equal(out.message, "");
    assert_null(out.probe);
    assert_null(out.audio_path);
    assert_int_equal(out.n_frames, 0);
    assert_non_null(out.frames);
    vidx__wire_result_free(&out);
    free(line);
}

/* --scenes: the job's shot list travels as named fields and decodes to catalog rows. */
static void result_shots(void **state)
{
    (void)state;
    VidxJobResult in = {0};
    JobOutput o = {.scenes_json = "{\"frames\":720,\"shots\":[{\"start\":0.0,\"end\":1.001,"
                                  "\"first_frame\":0,\"last_frame\":29,\"cause\":\"start\","
                                  "\"score\":0.0},{\"start\":1.001,\"end\":6.006,\"first_frame\":"
                                  "30,\"last_frame\":179,\"cause\":\"cut\",\"score\":89.9}],"
                                  "\"partial\":false}"};
    WireResult out;
    size_t len;
    char *line = result_line(&in, &o, &len);
    assert_int_equal(vidx__wire_result_decode(line, &out), 0);
    assert_int_equal(out.n_shots, 2);
    assert_true(out.shots[1].start == 1.001 && out.shots[1].end == 6.006);
    assert_int_equal(out.shots[1].first_frame, 30);
    assert_int_equal(out.shots[1].last_frame, 179);
    assert_string_equal(out.shots[1].cause, "cut");
    assert_true(out.shots[1].score == 89.9);
    assert_string_equal(out.shots[0].cause, "start");
    vidx__wire_result_free(&out);
    free(line);
    line = result_line(&in, &no_out, &len); /* without --scenes: no shot list */
    assert_int_equal(vidx__wire_result_decode(line, &out), 0);
    assert_null(out.shots);
    assert_null(out.segments);
    assert_int_equal(out.n_shots, 0);
    vidx__wire_result_free(&out);
    free(line);
}

/* --transcribe: the segments travel as named fields, any text intact. */
static void result_segments(void **state)
{
    (void)state;
    VidxJobResult in = {0};
    JobOutput o = {.transcript_json = "{\"segments\":[{\"start\":0.5,\"end\":2.25,\"text\":"
                                      "\"a \\\"b\\\"\\n\u00e9\"}]}"};
    WireResult out;
    size_t len;
    char *line = result_line(&in, &o, &len);
    assert_int_equal(vidx__wire_result_decode(line, &out), 0);
    assert_int_equal(out.n_segments, 1);
    assert_true(out.segments[0].start == 0.5 && out.segments[0].end == 2.25);
    assert_string_equal(out.segments[0].text, "a \"b\"\n\xc3\xa9");
    vidx__wire_result_free(&out);
    free(line);
}

/* The frames' labels go over the wire as labels.json has them: label or error per frame. */
static void result_labels(void **state)
{
    (void)state;
    VidxJobResult in = {0};
    JobOutput o = {.labels_json = "{\"labels\":[{\"frame\":0,\"index\":3,\"time\":0.1,"
                                  "\"file\":\"a.jpg\",\"model\":\"m\",\"latency\":0.25,"
                                  "\"caption\":\"a \\\"c\\\"\",\"tags\":[\"x\",\"y\"]},"
                                  "{\"frame\":2,\"model\":\"m\",\"latency\":1.5,"
                                  "\"error\":\"refused: no\"}]}"};
    WireResult out;
    size_t len;
    char *line = result_line(&in, &o, &len);
    assert_int_equal(vidx__wire_result_decode(line, &out), 0);
    assert_int_equal(out.n_labels, 2);
    assert_int_equal(out.labels[0].seq, 0);
    assert_string_equal(out.labels[0].caption, "a \"c\"");
    assert_string_equal(out.labels[0].tags, "[\"x\",\"y\"]");
    assert_string_equal(out.labels[0].model, "m");
    assert_true(out.labels[0].latency == 0.25 && !out.labels[0].error);
    assert_int_equal(out.labels[1].seq, 2);
    assert_null(out.labels[1].caption);
    assert_null(out.labels[1].tags);
    assert_string_equal(out.labels[1].error, "refused: no");
    vidx__wire_result_free(&out);
    free(line);
}

/* The transcode stage's renditions go over the wire as the worker listed them; fields
 * missing from a hostile entry decode to empty strings and zeros, never to NULL. */
static void result_renditions(void **state)
{
    (void)state;
    VidxJobResult in = {0};
    JobOutput o = {.renditions_json = "[{\"preset\":\"hls\",\"kind\":\"hls\",\"path\":"
                                      "\"hls/720p/index.m3u8\",\"bytes\":5000,\"duration\":2.5,"
                                      "\"codec\":\"avc1.64001f,mp4a.40.2\",\"width\":1280,"
                                      "\"height\":720,\"bitrate\":16000},{\"bytes\":\"x\"}]"};
    WireResult out;
    size_t len;
    char *line = result_line(&in, &o, &len);
    assert_int_equal(vidx__wire_result_decode(line, &out), 0);
    assert_int_equal(out.n_renditions, 2);
    const CatalogRendition *r = &out.renditions[0];
    assert_string_equal(r->preset, "hls");
    assert_string_equal(r->kind, "hls");
    assert_string_equal(r->path, "hls/720p/index.m3u8");
    assert_string_equal(r->codec, "avc1.64001f,mp4a.40.2");
    assert_true(r->bytes == 5000 && r->duration == 2.5 && r->width == 1280 && r->height == 720 &&
                r->bitrate == 16000);
    r = &out.renditions[1];
    assert_true(!*r->preset && !*r->kind && !*r->path && !*r->codec && r->bytes == 0);
    vidx__wire_result_free(&out);
    free(line);
}

/* Every cut of a result line is refused: a line that ends early is never half read. */
static void result_truncated(void **state)
{
    (void)state;
    VidxJobResult in;
    VidxFrameRecord f[2];
    WireResult out;
    size_t len;
    sample_result(&in, f);
    char *line = result_line(&in, &no_out, &len);
    for (size_t cut = 0; cut < len - 1; cut++) {
        char *part = malloc(cut + 1); /* exactly the cut, so reading past it trips ASan */
        memcpy(part, line, cut);
        part[cut] = 0;
        if (vidx__wire_result_decode(part, &out) != -EINVAL)
            fail_msg("accepted a result cut at %zu of %zu bytes", cut, len);
        free(part);
    }
    free(line);
}

static void result_hostile(void **state)
{
    (void)state;
    WireResult out;
    static const char *refused[] = {"",        "R",    "R ",    "R [1,2]",       "R 7",
                                    "R \"x\"", "X {}", "Rx {}", "R {\"status\":"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (vidx__wire_result_decode(refused[i], &out) != -EINVAL)
            fail_msg("accepted: %s", refused[i]);
    /* Wrong types read as zeros, frames that are not objects as empty frames. */
    const char *odd = "R {\"status\":\"x\",\"class\":5,\"message\":[],\"frames\":[7,null,"
                      "{\"path\":3,\"sha256\":\""
                      "0123456789012345678901234567890123456789"
                      "01234567890123456789012345678901234567890123456789\",\"target\":\"1\"}],"
                      "\"audio\":[1],\"tar_end\":1.5,\"probe\":{}}";
    assert_int_equal(vidx__wire_result_decode(odd, &out), 0);
    assert_int_equal(out.status, 0);
    assert_null(out.error_class);
    assert_null(out.message);
    assert_null(out.probe);
    assert_null(out.audio_path);
    assert_int_equal(out.tar_end, 0);
    assert_int_equal(out.n_frames, 3);
    assert_int_equal(out.frames[0].index, 0);
    assert_null(out.frames[2].path);
    assert_int_equal(strlen(out.frames[2].sha256), 64); /* cut to its field */
    assert_true(isnan(out.frames[2].target));
    vidx__wire_result_free(&out);
    const char *no_frames = "R {\"status\":0,\"frames\":{\"0\":1}}";
    assert_int_equal(vidx__wire_result_decode(no_frames, &out), 0);
    assert_int_equal(out.n_frames, 0);
    vidx__wire_result_free(&out);
}

/* A message that is not UTF-8 cannot travel as JSON: the encoder says so (NULL). */
static void result_not_utf8(void **state)
{
    (void)state;
    VidxJobResult in = {0};
    size_t len;
    snprintf(in.message, sizeof(in.message), "opening /lib/\xff.mp4");
    assert_null(vidx__wire_result_encode(&in, &no_out, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(task_files),        cmocka_unit_test(task_shards_odd_bytes),
        cmocka_unit_test(task_hostile),      cmocka_unit_test(start_and_kinds),
        cmocka_unit_test(result_round_trip), cmocka_unit_test(result_minimal),
        cmocka_unit_test(result_truncated),  cmocka_unit_test(result_hostile),
        cmocka_unit_test(result_not_utf8),   cmocka_unit_test(result_shots),
        cmocka_unit_test(result_segments),   cmocka_unit_test(result_labels),
        cmocka_unit_test(result_renditions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
