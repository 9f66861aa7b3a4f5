/*
 * test_catalog.c - the catalog interface (src/catalog/catalog.h), through
 * the dispatch every caller uses, run once per implementation in impls[]:
 * SQLite in OUT, and PostgreSQL against a fresh database per test on the
 * server VIDX_TEST_PG names (scripts/services.sh pg-start; unset: the
 * PostgreSQL group fails, unless VIDX_TEST_NO_SERVICES=1 skips it). Covers what the run, vidx
 * status/export and the maintenance commands ask of a catalog: a video's rows and its prior,
 * content already stored, shard rows, meta and the layout, stored locations, is-referenced,
 * forgetting in a transaction (rolled back: nothing forgotten), the schema
 * version, the read-only readers, and what vidx merge reads and writes (every
 * video as put() takes it, read back read-only; a shard's committed size).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "pg_fixture.h"

#include "catalog/catalog.h"
#include "catalog/pg.h"
#include "store/fs.h"
#include "store/outdir.h"

static const VidxCatalogOps *const impls[] = {&vidx__catalog_sqlite, &vidx__catalog_postgres};

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

typedef struct Fixture {
    char dir[64];
    const VidxCatalogOps *ops;
    VidxCatalog *cat;
    char db[64], url[512]; /* PostgreSQL: a database of its own */
} Fixture;

/* A fresh database on the test server for f (f->url); -1 when there is none. */
static int pg_fresh(Fixture *f)
{
    return pg_fresh_db(f->db, f->url);
}

static VidxFrameRecord frame_rec(int64_t index, const char *sha)
{
    VidxFrameRecord r = {.index = index,
                         .target = NAN,
                         .time = index * 0.5,
                         .pts = index * 512,
                         .width = 16,
                         .height = 8,
                         .bytes = 100 + index,
                         .dup_of = -1};
    snprintf(r.sha256, sizeof(r.sha256), "%.64s", sha);
    return r;
}

/* Records video "/in/a.mp4" (key a-1): two frames, one of them a new blob, audio, a shard. */
static int record_a(VidxCatalog *cat, VidxVideoStatus status)
{
    VidxFrameRecord r0 = frame_rec(0, SHA_A), r1 = frame_rec(7, SHA_B);
    CatalogFrame frames[] = {{&r0, "frames/a-1/000000.jpg", -1, 0},
                             {&r1, "shards/000000.tar", 1024, 1}};
    CatalogVideo v = {.path = "/in/a.mp4",
                      .key = "a-1",
                      .fingerprint = "fp1",
                      .options = "opt1",
                      .size = 10,
                      .mtime = 20,
                      .status = status,
                      .frames = frames,
                      .n_frames = 2,
                      .audio = "wav",
                      .audio_path = "frames/a-1/audio.wav",
                      .audio_rate = 16000,
                      .audio_channels = 1,
                      .audio_bytes = 44,
                      .shard_name = "shards/000000.tar",
                      .shard_size = 4096,
                      .shard_samples = 1};
    return vidx__catalog_record(cat, &v);
}

static int setup(void **state, const VidxCatalogOps *ops)
{
    Fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/vidx-test-catalog-XXXXXX");
    if (!f || !mkdtemp(f->dir) || vidx__outdir_claim(f->dir, "run") < 0)
        return -1;
    f->ops = ops;
    *state = f;
    if (ops == &vidx__catalog_postgres && pg_fresh(f) < 0)
        return -1;
    return vidx__catalog_open_with(&f->cat, ops, f->dir, f->db[0] ? f->url : NULL, 0) < 0 ? -1 : 0;
}

static size_t current; /* the implementation under test */

static int setup_each(void **state)
{
    return setup(state, impls[current]);
}

static int teardown(void **state)
{
    Fixture *f = *state;
    vidx_catalog_close(&f->cat);
    vidx__remove_tree(f->dir);
    if (f->db[0]) {
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", f->db);
        pg_admin(sql);
    }
    free(f);
    return 0;
}

static void test_record_and_prior(void **state)
{
    Fixture *f = *state;
    CatalogPrior p;
    assert_int_equal(vidx__catalog_prior(f->cat, "/in/a.mp4", &p), 0);
    assert_int_equal(p.found, 0);
    assert_int_equal(record_a(f->cat, VIDX_VIDEO_PARTIAL), 0);
    assert_int_equal(record_a(f->cat, VIDX_VIDEO_OK), 0); /* redone: replaced, attempt 2 */
    assert_int_equal(vidx__catalog_prior(f->cat, "/in/a.mp4", &p), 0);
    assert_int_equal(p.found, 1);
    assert_int_equal(p.status, VIDX_VIDEO_OK);
    assert_string_equal(p.fingerprint, "fp1");
    assert_string_equal(p.options, "opt1");
    assert_string_equal(p.key, "a-1");
    assert_int_equal(p.attempts, 2);
}

static void test_blobs(void **state)
{
    Fixture *f = *state;
    char loc[64];
    int64_t off = 0;
    assert_int_equal(record_a(f->cat, VIDX_VIDEO_OK), 0);
    assert_int_equal(vidx__catalog_blob(f->cat, SHA_B, loc, sizeof(loc), &off), 1);
    assert_string_equal(loc, "shards/000000.tar");
    assert_int_equal(off, 1024);
    assert_int_equal(vidx__catalog_blob(f->cat, SHA_A, loc, sizeof(loc), &off), 0); /* not new */
}

static int sum_shard(void *opaque, const char *name, int64_t size)
{
    (void)name;
    *(int64_t *)opaque += size;
    return 0;
}

static void test_shards(void **state)
{
    Fixture *f = *state;
    int64_t sum = 0;
    assert_int_equal(vidx__catalog_shard_claim(f->cat, "shards/000001.tar", 1), 0);
    assert_int_equal(vidx__catalog_shard_claim(f->cat, "shards/000001.tar", 1), -EEXIST);
    assert_int_equal(record_a(f->cat, VIDX_VIDEO_OK), 0); /* shards/000000.tar: 4096 */
    assert_int_equal(vidx__catalog_shards(f->cat, sum_shard, &sum), 0);
    assert_int_equal(sum, 4096);
    assert_int_equal(vidx__catalog_shard_claim(f->cat, "shards/000001.tar", 0), 0);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_SHARD, "shards/000001.tar"), 0);
    assert_int_equal(vidx__catalog_shard_claim(f->cat, "shards/000000.tar", 0), 0); /* used */
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_SHARD, "shards/000000.tar"), 1);
}

static void test_meta_layout_schema(void **state)
{
    Fixture *f = *state;
    char v[16];
    assert_int_equal(vidx__catalog_meta_get(f->cat, "schema", v, sizeof(v)), 1);
    assert_string_equal(v, "8"); /* a new catalog is current */
    assert_int_equal(vidx__catalog_meta_get(f->cat, "layout", v, sizeof(v)), 0);
    assert_int_equal(vidx__catalog_layout(f->cat, "files"), 0);
    assert_int_equal(vidx__catalog_layout(f->cat, "files"), 0);
    assert_int_equal(vidx__catalog_layout(f->cat, "shards"), VIDX_EUSAGE);
}

static void test_referenced(void **state)
{
    Fixture *f = *state;
    assert_int_equal(record_a(f->cat, VIDX_VIDEO_OK), 0);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_FRAME, "frames/a-1/000000.jpg"),
                     1);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_FRAME, "frames/a-1/x.jpg"), 0);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_AUDIO, "frames/a-1/audio.wav"),
                     1);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_VIDEO, "a-1"), 1);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_BLOB, "shards/000000.tar"), 1);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_BLOB, "objects/aa/x"), 0);
    assert_int_equal(record_a(f->cat, VIDX_VIDEO_FAILED), 0);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_VIDEO, "a-1"), 0); /* not kept */
}

typedef struct Seen {
    int n, with_checksum, in_shard;
    int64_t id;
} Seen;

static int see(void *opaque, const CatalogLocation *l)
{
    Seen *s = opaque;
    s->n++;
    s->with_checksum += l->checksum != NULL;
    s->in_shard += l->offset >= 0;
    s->id = l->video_id;
    assert_string_equal(l->video, "/in/a.mp4");
    return 0;
}

/* Forgets video id and the blob in the shard in one transaction; rolls back unless commit. */
static int forget(VidxCatalog *cat, int64_t id, int commit, char *key, size_t size)
{
    int ret = vidx__catalog_begin(cat);
    if (ret == 0)
        ret = vidx__catalog_forget_video(cat, id, key, size);
    if (ret == 0)
        ret = vidx__catalog_forget_blob(cat, "shards/000000.tar");
    if (ret == 0 && commit)
        return vidx__catalog_commit(cat);
    vidx__catalog_rollback(cat);
    return ret;
}

static void test_locations_and_forget(void **state)
{
    Fixture *f = *state;
    Seen s = {0};
    char key[96];
    CatalogPrior p;
    assert_int_equal(record_a(f->cat, VIDX_VIDEO_OK), 0);
    assert_int_equal(vidx__catalog_locations(f->cat, see, &s), 0);
    assert_int_equal(s.n, 3); /* two frames and the audio */
    assert_int_equal(s.with_checksum, 2);
    assert_int_equal(s.in_shard, 1);
    assert_int_equal(forget(f->cat, s.id, 0, key, sizeof(key)), 0); /* rolled back */
    assert_int_equal(vidx__catalog_prior(f->cat, "/in/a.mp4", &p), 0);
    assert_int_equal(p.found, 1);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_BLOB, "shards/000000.tar"), 1);
    assert_int_equal(forget(f->cat, s.id, 1, key, sizeof(key)), 0);
    assert_string_equal(key, "a-1");
    assert_int_equal(vidx__catalog_prior(f->cat, "/in/a.mp4", &p), 0);
    assert_int_equal(p.found, 0);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_FRAME, "frames/a-1/000000.jpg"),
                     0); /* the frames went with the video */
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_AUDIO, "frames/a-1/audio.wav"),
                     0);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_BLOB, "shards/000000.tar"), 0);
    s.n = 0;
    assert_int_equal(vidx__catalog_locations(f->cat, see, &s), 0);
    assert_int_equal(s.n, 0);
}

/* Everything fd received, as a string (freed by the caller). */
static char *slurp(FILE *tmp)
{
    long n = ftell(tmp);
    char *s = calloc(1, (size_t)n + 1);
    rewind(tmp);
    assert_int_equal(fread(s, 1, (size_t)n, tmp), (size_t)n);
    return s;
}

static void test_readers(void **state)
{
    Fixture *f = *state;
    VidxCatalog *ro = NULL;
    char *json = NULL;
    assert_int_equal(record_a(f->cat, VIDX_VIDEO_PARTIAL), 0);
    assert_int_equal(vidx__catalog_open_with(&ro, f->ops, f->dir, f->db[0] ? f->url : NULL, 1), 0);
    assert_int_equal(vidx_catalog_status_json(ro, &json), 0);
    assert_non_null(strstr(json, "\"partial\": 1"));
    assert_non_null(strstr(json, "\"frames\": 2"));
    assert_non_null(strstr(json, "\"path\": \"/in/a.mp4\""));
    free(json);
    FILE *tmp = tmpfile();
    assert_int_equal(vidx_catalog_export(ro, "frames", "csv", fileno(tmp)), 0);
    fseek(tmp, 0, SEEK_END);
    char *csv = slurp(tmp);
    assert_non_null(strstr(csv, "video,seq,index,target,time,pts,"));
    assert_non_null(strstr(csv, "/in/a.mp4,1,7,,3.5,3584,0,16,8,107,shards/000000.tar,1024,"));
    free(csv);
    fclose(tmp);
    tmp = tmpfile();
    assert_int_equal(vidx_catalog_export(ro, "audio", "jsonl", fileno(tmp)), 0);
    fseek(tmp, 0, SEEK_END);
    char *jsonl = slurp(tmp);
    assert_string_equal(jsonl, "{\"video\":\"/in/a.mp4\",\"path\":\"frames/a-1/audio.wav\","
                               "\"rate\":16000,\"channels\":1,\"duration\":0.0,\"bytes\":44}\n");
    free(jsonl);
    fclose(tmp);
    assert_int_equal(vidx_catalog_export(ro, "shards", "csv", 1), VIDX_EUSAGE);
    vidx_catalog_close(&ro);
}

/* video_rows: the rows of record_a come back as put() took them. */
static int check_a(void *opaque, const CatalogVideo *v)
{
    (*(int *)opaque)++;
    assert_string_equal(v->path, "/in/a.mp4");
    assert_string_equal(v->key, "a-1");
    assert_string_equal(v->fingerprint, "fp1");
    assert_string_equal(v->options, "opt1");
    assert_int_equal(v->size, 10);
    assert_int_equal(v->mtime, 20);
    assert_int_equal(v->status, VIDX_VIDEO_PARTIAL);
    assert_int_equal(v->n_frames, 2);
    assert_int_equal(v->frames[0].rec->index, 0);
    assert_true(isnan(v->frames[0].rec->target));
    assert_string_equal(v->frames[0].rec->sha256, SHA_A);
    assert_int_equal(v->frames[0].rec->dup_of, -1);
    assert_string_equal(v->frames[0].location, "frames/a-1/000000.jpg");
    assert_int_equal(v->frames[0].offset, -1);
    assert_int_equal(v->frames[0].new_blob, 0);
    assert_int_equal(v->frames[1].rec->index, 7);
    assert_int_equal(v->frames[1].rec->pts, 7 * 512);
    assert_int_equal(v->frames[1].rec->bytes, 107);
    assert_string_equal(v->frames[1].location, "shards/000000.tar");
    assert_int_equal(v->frames[1].offset, 1024);
    assert_int_equal(v->frames[1].new_blob, 1); /* the blob row points here */
    assert_string_equal(v->audio, "wav");
    assert_string_equal(v->audio_path, "frames/a-1/audio.wav");
    assert_int_equal(v->audio_rate, 16000);
    assert_int_equal(v->audio_bytes, 44);
    assert_null(v->shard_name);
    return 0;
}

static int stop_at_first(void *opaque, const CatalogVideo *v)
{
    (void)v;
    (*(int *)opaque)++;
    return 42;
}

static void test_video_rows_and_shard_set(void **state)
{
    Fixture *f = *state;
    VidxCatalog *ro = NULL;
    int seen = 0;
    int64_t sum = 0;
    assert_int_equal(record_a(f->cat, VIDX_VIDEO_PARTIAL), 0);
    assert_int_equal(vidx__catalog_open_with(&ro, f->ops, f->dir, f->db[0] ? f->url : NULL, 1), 0);
    assert_int_equal(vidx__catalog_video_rows(ro, check_a, &seen), 0);
    assert_int_equal(seen, 1);
    seen = 0;
    assert_int_equal(vidx__catalog_video_rows(ro, stop_at_first, &seen), 42);
    assert_int_equal(seen, 1);
    vidx_catalog_close(&ro);
    assert_int_equal(vidx__catalog_shard_claim(f->cat, "shards/000009.tar", 1), 0);
    assert_int_equal(vidx__catalog_begin(f->cat), 0);
    assert_int_equal(vidx__catalog_shard_set(f->cat, "shards/000009.tar", 1000, 3), 0);
    assert_int_equal(vidx__catalog_commit(f->cat), 0);
    assert_int_equal(vidx__catalog_shards(f->cat, sum_shard, &sum), 0);
    assert_int_equal(sum, 4096 + 1000);
    assert_int_equal(vidx__catalog_shard_claim(f->cat, "shards/000009.tar", 0), 0); /* used */
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_SHARD, "shards/000009.tar"), 1);
}

/* A video without audio while audio was asked for: ok, videos.audio "none", no audio row. */
static int check_none(void *opaque, const CatalogVideo *v)
{
    (*(int *)opaque)++;
    assert_string_equal(v->path, "/in/quiet.mp4");
    assert_int_equal(v->status, VIDX_VIDEO_OK);
    assert_non_null(v->audio);
    assert_string_equal(v->audio, "none");
    assert_null(v->audio_path);
    return 0;
}

static void test_audio_none(void **state)
{
    Fixture *f = *state;
    VidxCatalog *ro = NULL;
    int seen = 0;
    CatalogVideo v = {
        .path = "/in/quiet.mp4", .key = "q-1", .status = VIDX_VIDEO_OK, .audio = "none"};
    assert_int_equal(vidx__catalog_record(f->cat, &v), 0);
    assert_int_equal(vidx__catalog_open_with(&ro, f->ops, f->dir, f->db[0] ? f->url : NULL, 1), 0);
    assert_int_equal(vidx__catalog_video_rows(ro, check_none, &seen), 0);
    assert_int_equal(seen, 1);
    vidx_catalog_close(&ro);
}

/* A table exported as JSON lines. */
static char *export_jsonl(VidxCatalog *ro, const char *table)
{
    FILE *tmp = tmpfile();
    assert_int_equal(vidx_catalog_export(ro, table, "jsonl", fileno(tmp)), 0);
    fseek(tmp, 0, SEEK_END);
    char *text = slurp(tmp);
    fclose(tmp);
    return text;
}

/* Schema 4: a video's shots are recorded, replaced when it is redone, and go with it. */
static void test_shots(void **state)
{
    Fixture *f = *state;
    VidxCatalog *ro = NULL;
    char key[16];
    CatalogShot shots[] = {{0, 1.2, 0, 29, "start", 0}, {1.2, 7.5, 30, 179, "cut", 41.5}};
    CatalogVideo v = {
        .path = "/in/s.mp4", .key = "s-1", .status = VIDX_VIDEO_OK, .shots = shots, .n_shots = 2};
    assert_int_equal(vidx__catalog_record(f->cat, &v), 0);
    assert_int_equal(vidx__catalog_open_with(&ro, f->ops, f->dir, f->db[0] ? f->url : NULL, 1), 0);
    char *rows = export_jsonl(ro, "shots");
    assert_string_equal(rows,
                        "{\"video\":\"/in/s.mp4\",\"seq\":0,\"start\":0.0,\"end\":1.2,"
                        "\"first_frame\":0,\"last_frame\":29,\"cause\":\"start\",\"score\":0.0}\n"
                        "{\"video\":\"/in/s.mp4\",\"seq\":1,\"start\":1.2,\"end\":7.5,"
                        "\"first_frame\":30,\"last_frame\":179,\"cause\":\"cut\","
                        "\"score\":41.5}\n");
    free(rows);
    v.n_shots = 1; /* redone: the rows are replaced */
    assert_int_equal(vidx__catalog_record(f->cat, &v), 0);
    rows = export_jsonl(ro, "shots");
    assert_null(strstr(rows, "\"seq\":1"));
    assert_non_null(strstr(rows, "\"seq\":0"));
    free(rows);
    assert_int_equal(vidx__catalog_begin(f->cat), 0); /* forgotten: its shots go with it */
    assert_int_equal(vidx__catalog_forget_video(f->cat, 1, key, sizeof(key)), 0);
    assert_int_equal(vidx__catalog_commit(f->cat), 0);
    rows = export_jsonl(ro, "shots");
    assert_string_equal(rows, "");
    free(rows);
    vidx_catalog_close(&ro);
}

/* Schema 4: a video's transcript segments are recorded, replaced when it is redone. */
static void test_segments(void **state)
{
    Fixture *f = *state;
    VidxCatalog *ro = NULL;
    CatalogSegment segs[] = {{0.5, 2.25, " hello, \"world\""}, {2.25, 4, "again"}};
    CatalogVideo v = {.path = "/in/t.mp4",
                      .key = "t-1",
                      .status = VIDX_VIDEO_OK,
                      .segments = segs,
                      .n_segments = 2};
    assert_int_equal(vidx__catalog_record(f->cat, &v), 0);
    assert_int_equal(vidx__catalog_open_with(&ro, f->ops, f->dir, f->db[0] ? f->url : NULL, 1), 0);
    char *rows = export_jsonl(ro, "segments");
    assert_string_equal(rows, "{\"video\":\"/in/t.mp4\",\"seq\":0,\"start\":0.5,\"end\":2.25,"
                              "\"text\":\" hello, \\\"world\\\"\"}\n"
                              "{\"video\":\"/in/t.mp4\",\"seq\":1,\"start\":2.25,\"end\":4.0,"
                              "\"text\":\"again\"}\n");
    free(rows);
    v.n_segments = 0; /* redone without a transcript: the rows go */
    assert_int_equal(vidx__catalog_record(f->cat, &v), 0);
    rows = export_jsonl(ro, "segments");
    assert_string_equal(rows, "");
    free(rows);
    vidx_catalog_close(&ro);
}

/* Schema 6: a video's frame labels (or their errors) are recorded with their frame, replaced
 * when it is redone, go with it, and are counted for vidx status. */
static void test_labels(void **state)
{
    Fixture *f = *state;
    VidxCatalog *ro = NULL;
    char key[16], *json = NULL;
    VidxFrameRecord recs[2] = {{.index = 3, .time = 0.1, .width = 8, .height = 8, .dup_of = -1},
                               {.index = 9, .time = 0.3, .width = 8, .height = 8, .dup_of = -1}};
    CatalogFrame frames[2] = {{&recs[0], "frames/l-1/000003_100ms.jpg", -1, 0},
                              {&recs[1], "frames/l-1/000009_300ms.jpg", -1, 0}};
    CatalogLabel labels[] = {{0, "a \"red\" car", "[\"car\",\"red\"]", "m", 0.25, NULL},
                             {1, NULL, NULL, "m", 0.5, "refused: no"}};
    CatalogVideo v = {.path = "/in/l.mp4",
                      .key = "l-1",
                      .status = VIDX_VIDEO_OK,
                      .frames = frames,
                      .n_frames = 2,
                      .labels = labels,
                      .n_labels = 2};
    assert_int_equal(vidx__catalog_record(f->cat, &v), 0);
    assert_int_equal(vidx__catalog_open_with(&ro, f->ops, f->dir, f->db[0] ? f->url : NULL, 1), 0);
    char *rows = export_jsonl(ro, "labels");
    assert_string_equal(rows, "{\"video\":\"/in/l.mp4\",\"seq\":0,\"index\":3,\"time\":0.1,"
                              "\"location\":\"frames/l-1/000003_100ms.jpg\",\"offset\":null,"
                              "\"caption\":\"a \\\"red\\\" car\",\"tags\":\"[\\\"car\\\","
                              "\\\"red\\\"]\",\"model\":\"m\",\"latency\":0.25,\"error\":null}\n"
                              "{\"video\":\"/in/l.mp4\",\"seq\":1,\"index\":9,\"time\":0.3,"
                              "\"location\":\"frames/l-1/000009_300ms.jpg\",\"offset\":null,"
                              "\"caption\":null,\"tags\":null,\"model\":\"m\",\"latency\":0.5,"
                              "\"error\":\"refused: no\"}\n");
    free(rows);
    assert_int_equal(vidx_catalog_status_json(ro, &json), 0);
    assert_non_null(strstr(json, "\"labels\": {\n    \"frames\": 2,\n    \"failed\": 1\n  }"));
    free(json);
    v.n_labels = 1; /* redone: the rows are replaced */
    assert_int_equal(vidx__catalog_record(f->cat, &v), 0);
    rows = export_jsonl(ro, "labels");
    assert_null(strstr(rows, "\"seq\":1"));
    assert_non_null(strstr(rows, "\"seq\":0"));
    free(rows);
    assert_int_equal(vidx__catalog_begin(f->cat), 0); /* forgotten: its labels go with it */
    assert_int_equal(vidx__catalog_forget_video(f->cat, 1, key, sizeof(key)), 0);
    assert_int_equal(vidx__catalog_commit(f->cat), 0);
    rows = export_jsonl(ro, "labels");
    assert_string_equal(rows, "");
    free(rows);
    assert_int_equal(vidx_catalog_status_json(ro, &json), 0);
    assert_null(strstr(json, "\"labels\"")); /* none: not shown */
    free(json);
    vidx_catalog_close(&ro);
}

/* video_rows reads a video's shots, segments and labels back as put() took them (vidx merge). */
static int check_extras(void *opaque, const CatalogVideo *v)
{
    (*(int *)opaque)++;
    assert_string_equal(v->path, "/in/st.mp4");
    assert_int_equal(v->n_shots, 2);
    assert_true(v->shots[0].start == 0 && v->shots[0].end == 1.2);
    assert_int_equal(v->shots[0].first_frame, 0);
    assert_int_equal(v->shots[0].last_frame, 29);
    assert_string_equal(v->shots[0].cause, "start");
    assert_true(v->shots[1].start == 1.2 && v->shots[1].end == 7.5 && v->shots[1].score == 41.5);
    assert_int_equal(v->shots[1].first_frame, 30);
    assert_int_equal(v->shots[1].last_frame, 179);
    assert_string_equal(v->shots[1].cause, "fade");
    assert_int_equal(v->n_segments, 2);
    assert_true(v->segments[0].start == 0.5 && v->segments[0].end == 2.25);
    assert_string_equal(v->segments[0].text, " hello, \"world\"");
    assert_true(v->segments[1].start == 2.25 && v->segments[1].end == 4);
    assert_string_equal(v->segments[1].text, "again");
    assert_int_equal(v->n_labels, 2);
    assert_int_equal(v->labels[0].seq, 0);
    assert_string_equal(v->labels[0].caption, "a red \"car\"");
    assert_string_equal(v->labels[0].tags, "[\"car\",\"red\"]");
    assert_string_equal(v->labels[0].model, "m1");
    assert_true(v->labels[0].latency == 0.25);
    assert_null(v->labels[0].error);
    assert_int_equal(v->labels[1].seq, 3);
    assert_null(v->labels[1].caption);
    assert_null(v->labels[1].tags);
    assert_string_equal(v->labels[1].model, "m1");
    assert_true(v->labels[1].latency == 1.5);
    assert_string_equal(v->labels[1].error, "refused: 500");
    return 0;
}

static int check_no_extras(void *opaque, const CatalogVideo *v)
{
    (*(int *)opaque)++;
    assert_int_equal(v->n_shots, 0);
    assert_int_equal(v->n_segments, 0);
    assert_int_equal(v->n_labels, 0);
    return 0;
}

static void test_video_rows_shots_segments(void **state)
{
    Fixture *f = *state;
    VidxCatalog *ro = NULL;
    int seen = 0;
    CatalogShot shots[] = {{0, 1.2, 0, 29, "start", 0}, {1.2, 7.5, 30, 179, "fade", 41.5}};
    CatalogSegment segs[] = {{0.5, 2.25, " hello, \"world\""}, {2.25, 4, "again"}};
    CatalogLabel labels[] = {{0, "a red \"car\"", "[\"car\",\"red\"]", "m1", 0.25, NULL},
                             {3, NULL, NULL, "m1", 1.5, "refused: 500"}};
    CatalogVideo v = {.path = "/in/st.mp4",
                      .key = "st-1",
                      .status = VIDX_VIDEO_OK,
                      .shots = shots,
                      .n_shots = 2,
                      .segments = segs,
                      .n_segments = 2,
                      .labels = labels,
                      .n_labels = 2};
    assert_int_equal(vidx__catalog_record(f->cat, &v), 0);
    assert_int_equal(vidx__catalog_open_with(&ro, f->ops, f->dir, f->db[0] ? f->url : NULL, 1), 0);
    assert_int_equal(vidx__catalog_video_rows(ro, check_extras, &seen), 0);
    assert_int_equal(seen, 1);
    vidx_catalog_close(&ro);
    v.n_shots = 0, v.n_segments = 0, v.n_labels = 0; /* redone without them: none come back */
    assert_int_equal(vidx__catalog_record(f->cat, &v), 0);
    assert_int_equal(vidx__catalog_open_with(&ro, f->ops, f->dir, f->db[0] ? f->url : NULL, 1), 0);
    seen = 0;
    assert_int_equal(vidx__catalog_video_rows(ro, check_no_extras, &seen), 0);
    assert_int_equal(seen, 1);
    vidx_catalog_close(&ro);
}

/* The dashboard's views: every row as "name=text,..." lines (NULL for NULL). */
static int view_line(void *opaque, int n, const char *const *names, const CatalogValue *values)
{
    char *buf = opaque;
    size_t len = strlen(buf);
    if (!values)
        return 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, 4096 - len, "%s%s=%s", i ? "," : "", names[i],
                                values[i].type == CATALOG_NULL ? "NULL" : values[i].text);
    snprintf(buf + len, 4096 - len, "\n");
    return 0;
}

static const char *view(VidxCatalog *c, CatalogView v)
{
    static char buf[4096];
    buf[0] = 0;
    assert_int_equal(vidx__catalog_view(c, &v, view_line, buf), 0);
    return buf;
}

static void put_video(VidxCatalog *c, const char *path, VidxVideoStatus status, const char *cls,
                      const char *error, double started)
{
    CatalogVideo v = {.path = path,
                      .key = path + 4,
                      .status = status,
                      .error_class = cls,
                      .error = error,
                      .started = started,
                      .seconds = 2};
    assert_int_equal(vidx__catalog_record(c, &v), 0);
}

/* The rows test_views reads: five videos, the fifth with a shot, a segment and labels. */
static void record_views(Fixture *f)
{
    CatalogShot shots[] = {{0, 1.5, 0, 44, "start", 0}};
    CatalogSegment segs[] = {{0.5, 1.25, "hello"}};
    CatalogLabel labels[] = {{0, "a cat", "[\"cat\"]", "m1", 0.5, NULL},
                             {2, NULL, NULL, "m1", 1.25, "refused: no"},
                             {5, "a dog", "[]", "m2", 0.75, NULL}};
    assert_int_equal(record_a(f->cat, VIDX_VIDEO_OK), 0); /* id 1: started 0, 2 frames */
    put_video(f->cat, "/in/b.mp4", VIDX_VIDEO_FAILED, "decode", "bad bitstream", 100); /* id 2 */
    put_video(f->cat, "/in/c.mp4", VIDX_VIDEO_FAILED, "format", "not a media file", 105);
    put_video(f->cat, "/in/d.mp4", VIDX_VIDEO_TIMEOUT, "timeout", "timed out", 121);
    CatalogVideo e = {.path = "/in/e.mp4",
                      .key = "e",
                      .status = VIDX_VIDEO_OK,
                      .started = 200,
                      .seconds = 1,
                      .shots = shots,
                      .n_shots = 1,
                      .segments = segs,
                      .n_segments = 1,
                      .labels = labels,
                      .n_labels = 3};
    assert_int_equal(vidx__catalog_record(f->cat, &e), 0); /* id 5 */
}

/* Counts, failure classes and the timeline. */
static void check_summary_views(VidxCatalog *ro)
{
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_COUNTS}),
                        "status=failed,videos=2,frames=0\n"
                        "status=ok,videos=2,frames=2\n"
                        "status=timeout,videos=1,frames=0\n");
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_CLASSES}),
                        "status=failed,error_class=decode,videos=1\n"
                        "status=failed,error_class=format,videos=1\n"
                        "status=timeout,error_class=timeout,videos=1\n");
    /* ended = started + seconds: 102, 107, 123, 201 since 100 in buckets of 10 s */
    assert_string_equal(
        view(ro,
             (CatalogView){
                 .kind = CATALOG_VIEW_TIMELINE, .bucket = 10, .since = 100, .until = 1000}),
        "t=100.0,videos=2,frames=0\nt=120.0,videos=1,frames=0\nt=200.0,videos=1,frames=0\n");
}

/* Filtered pages of videos and their counts. */
static void check_video_pages(VidxCatalog *ro)
{
    const char *page;
    /* pages of the failing videos by id, and the filters */
    page = view(ro, (CatalogView){.kind = CATALOG_VIEW_VIDEOS, .status = "failing", .limit = 2});
    assert_non_null(strstr(page, "id=2,path=/in/b.mp4,key=b.mp4,status=failed,error_class=decode,"
                                 "error=bad bitstream,attempts=1,started_at=100.0,seconds=2.0,"
                                 "frames=0\n"));
    assert_non_null(strstr(page, "id=3,path=/in/c.mp4"));
    assert_null(strstr(page, "id=4"));
    page = view(ro, (CatalogView){
                        .kind = CATALOG_VIEW_VIDEOS, .status = "failing", .after = 3, .limit = 2});
    assert_non_null(strstr(page, "id=4,path=/in/d.mp4"));
    assert_null(strstr(page, "id=5"));
    assert_string_equal(/* 107 and 123 in [105, 123]: the bounds cut the buckets */
                        view(ro, (CatalogView){.kind = CATALOG_VIEW_TIMELINE,
                                               .bucket = 10,
                                               .since = 105,
                                               .until = 123}),
                        "t=100.0,videos=1,frames=0\n");
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_MATCHING, .status = "failing"}),
                        "videos=3\n");
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_MATCHING, .status = "ok"}),
                        "videos=2\n");
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_MATCHING}), "videos=5\n");
    assert_string_equal(
        view(ro, (CatalogView){.kind = CATALOG_VIEW_MATCHING, .error_class = "format"}),
        "videos=1\n");
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_MATCHING, .search = "bitstr"}),
                        "videos=1\n"); /* in the message */
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_MATCHING, .search = "/in/"}),
                        "videos=5\n"); /* in the path */
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_MATCHING, .search = "%"}),
                        "videos=0\n"); /* a substring, not a pattern */
    assert_string_equal(
        view(ro, (CatalogView){.kind = CATALOG_VIEW_VIDEOS, .search = "zzz", .limit = 5}), "");
}

/* One video and its rows; an unknown view is refused. */
static void check_one_video(VidxCatalog *ro)
{
    const char *page;
    /* one video and its parts */
    page = view(ro, (CatalogView){.kind = CATALOG_VIEW_VIDEO, .id = 1});
    assert_non_null(strstr(page, "id=1,path=/in/a.mp4,key=a-1,size=10,mtime=20,"));
    assert_non_null(strstr(page, ",audio=wav\n"));
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_VIDEO, .id = 99}), "");
    page = view(ro, (CatalogView){.kind = CATALOG_VIEW_FRAMES, .id = 1, .after = 1, .limit = 5});
    assert_non_null(strstr(page, "seq=1,index=7,target=NULL,time=3.5,pts=3584,keyframe=0,width=16,"
                                 "height=8,bytes=107,location=shards/000000.tar,offset=1024,"));
    assert_null(strstr(page, "seq=0"));
    page = view(ro, (CatalogView){.kind = CATALOG_VIEW_FRAMES, .id = 1, .limit = 1});
    assert_non_null(strstr(page, "seq=0,index=0,"));
    assert_non_null(strstr(page, "location=frames/a-1/000000.jpg,offset=NULL,"));
    assert_null(strstr(page, "seq=1"));
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_SHOTS, .id = 5, .limit = 9}),
                        "seq=0,start=0.0,end=1.5,first_frame=0,last_frame=44,cause=start,"
                        "score=0.0\n");
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_SEGMENTS, .id = 5, .limit = 9}),
                        "seq=0,start=0.5,end=1.25,text=hello\n");
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_AUDIO, .id = 1}),
                        "path=frames/a-1/audio.wav,rate=16000,channels=1,duration=0.0,bytes=44\n");
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_AUDIO, .id = 5}), "");
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_LABELS, .id = 5, .limit = 9}),
                        "seq=0,caption=a cat,tags=[\"cat\"],model=m1,latency=0.5,error=NULL\n"
                        "seq=2,caption=NULL,tags=NULL,model=m1,latency=1.25,error=refused: no\n"
                        "seq=5,caption=a dog,tags=[],model=m2,latency=0.75,error=NULL\n");
    assert_string_equal(/* from seq 1 on, one */
                        view(ro,
                             (CatalogView){
                                 .kind = CATALOG_VIEW_LABELS, .id = 5, .after = 1, .limit = 1}),
                        "seq=2,caption=NULL,tags=NULL,model=m1,latency=1.25,error=refused: no\n");
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_LABELS, .id = 1, .limit = 9}),
                        "");
    CatalogView bad = {.kind = CATALOG_VIEW_COUNT};
    char buf[16] = "";
    assert_int_equal(vidx__catalog_view(ro, &bad, view_line, buf), VIDX_EUSAGE);
}

static void test_views(void **state)
{
    Fixture *f = *state;
    VidxCatalog *ro = NULL;
    record_views(f);
    assert_int_equal(vidx__catalog_open_with(&ro, f->ops, f->dir, f->db[0] ? f->url : NULL, 1), 0);
    check_summary_views(ro);
    check_video_pages(ro);
    check_one_video(ro);
    vidx_catalog_close(&ro);
}

static void test_meta_add(void **state)
{
    Fixture *f = *state;
    char v[16];
    assert_int_equal(vidx__catalog_meta_add(f->cat, "k", "first"), 1);
    assert_int_equal(vidx__catalog_meta_add(f->cat, "k", "second"), 0); /* the first stays */
    assert_int_equal(vidx__catalog_meta_get(f->cat, "k", v, sizeof(v)), 1);
    assert_string_equal(v, "first");
}

/* PostgreSQL only: the connection of the catalog under test, cut by the server. */
static void cut_connection(Fixture *f)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "DO $$BEGIN PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
             "datname = '%s'; END$$",
             f->db);
    assert_int_equal(pg_admin(sql), 0);
}

static void test_pg_connection_lost(void **state)
{
    Fixture *f = *state;
    CatalogPrior p;
    setenv("VIDX_PG_RECONNECT_S", "5", 1);
    assert_int_equal(vidx__catalog_begin(f->cat), 0);
    cut_connection(f);
    VidxFrameRecord r0 = frame_rec(0, SHA_A);
    CatalogFrame fr = {&r0, "frames/b/0.jpg", -1, 0};
    CatalogVideo v = {
        .path = "/in/b.mp4", .key = "b", .status = VIDX_VIDEO_OK, .frames = &fr, .n_frames = 1};
    assert_int_equal(vidx__catalog_put(f->cat, &v), -EAGAIN); /* the transaction is gone */
    vidx__catalog_rollback(f->cat);
    assert_int_equal(vidx__catalog_record(f->cat, &v), 0); /* redone on the new connection */
    cut_connection(f);
    assert_int_equal(vidx__catalog_prior(f->cat, "/in/b.mp4", &p), 0); /* outside: reconnects */
    assert_int_equal(p.found, 1);
    assert_int_equal(p.attempts, 1); /* the lost transaction left nothing */
}

static void test_pg_other_output_refused(void **state)
{
    Fixture *f = *state;
    VidxCatalog *other = NULL;
    char dir[64] = "/tmp/vidx-test-catalog-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(vidx__outdir_claim(dir, "run"), 0);
    /* the database records f->dir's output id: another OUT is refused, readers too */
    assert_int_equal(vidx__catalog_open_with(&other, f->ops, dir, f->url, 0), VIDX_EUSAGE);
    assert_int_equal(vidx__catalog_open_with(&other, f->ops, dir, f->url, 1), VIDX_EUSAGE);
    assert_null(other);
    /* f->dir is PostgreSQL's now: without the URL it is refused too */
    assert_int_equal(vidx__catalog_open_with(&other, &vidx__catalog_sqlite, f->dir, NULL, 1),
                     VIDX_EUSAGE);
    vidx__remove_tree(dir);
}

static void test_pg_mask_url(void **state)
{
    char out[256];
    (void)state;
    vidx__pg_mask_url("postgresql://u:s3cret@h:5432/db?sslmode=require", out, sizeof(out));
    assert_string_equal(out, "postgresql://u:***@h:5432/db?sslmode=require");
    vidx__pg_mask_url("postgres://h/db?user=u&password=s3cret&sslmode=verify-full", out,
                      sizeof(out));
    assert_string_equal(out, "postgres://h/db?user=u&password=***&sslmode=verify-full");
    vidx__pg_mask_url("postgresql://u@h/db", out, sizeof(out));
    assert_string_equal(out, "postgresql://u@h/db");
}

/* videos.device (schema 5): "cuda", "cpu (REASON)" or NULL, as put() took it. */
typedef struct Devices {
    int n;
    const char *want[3];
} Devices;

static int check_device(void *opaque, const CatalogVideo *v)
{
    Devices *d = opaque;
    int i = v->path[4] - 'a'; /* /in/a.mp4, /in/b.mp4, /in/c.mp4 */
    assert_true(i >= 0 && i < 3);
    d->n++;
    if (d->want[i])
        assert_string_equal(v->device, d->want[i]);
    else
        assert_null(v->device);
    return 0;
}

static void put_device(VidxCatalog *cat, const char *path, const char *device)
{
    CatalogVideo v = {.path = path, .key = path + 4, .status = VIDX_VIDEO_OK, .device = device};
    assert_int_equal(vidx__catalog_record(cat, &v), 0);
}

static void test_device(void **state)
{
    Fixture *f = *state;
    Devices d = {0, {"cuda", "cpu (no CUDA driver: Cannot load libcuda.so.1)", NULL}};
    put_device(f->cat, "/in/a.mp4", d.want[0]);
    put_device(f->cat, "/in/b.mp4", d.want[1]);
    put_device(f->cat, "/in/c.mp4", NULL);
    assert_int_equal(vidx__catalog_video_rows(f->cat, check_device, &d), 0);
    assert_int_equal(d.n, 3);
}

/* Runs sql on f's database directly (not through the ops): 0 or -1. */
static int raw_sql(const Fixture *f, const char *sql)
{
    if (f->ops == &vidx__catalog_postgres) {
        PGconn *c = PQconnectdb(f->url);
        PGresult *r = PQexec(c, sql);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
        PQfinish(c);
        return ok ? 0 : -1;
    }
    char path[128];
    sqlite3 *db = NULL;
    snprintf(path, sizeof(path), "%s/catalog.db", f->dir);
    int ok = sqlite3_open(path, &db) == SQLITE_OK &&
             sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    return ok ? 0 : -1;
}

/* A schema-4 catalog (no videos.device) is upgraded (to 8) when opened: old rows NULL, new ones
 * kept. */
static void test_device_migration(void **state)
{
    Fixture *f = *state;
    char v[16];
    put_device(f->cat, "/in/a.mp4", "cuda");
    vidx_catalog_close(&f->cat);
    assert_int_equal(raw_sql(f, "ALTER TABLE videos DROP COLUMN device"), 0);
    assert_int_equal(raw_sql(f, "UPDATE meta SET value='4' WHERE key='schema'"), 0);
    assert_int_not_equal(raw_sql(f, "SELECT device FROM videos"), 0); /* schema 4 indeed */
    assert_int_equal(vidx__catalog_open_with(&f->cat, f->ops, f->dir, f->db[0] ? f->url : NULL, 0),
                     0);
    assert_int_equal(vidx__catalog_meta_get(f->cat, "schema", v, sizeof(v)), 1);
    assert_string_equal(v, "8");
    put_device(f->cat, "/in/b.mp4", "cpu (--hwaccel none)");
    Devices d = {0, {NULL, "cpu (--hwaccel none)", NULL}}; /* a's device went with the column */
    assert_int_equal(vidx__catalog_video_rows(f->cat, check_device, &d), 0);
    assert_int_equal(d.n, 2);
}

/* The labels table (schema 6) in a catalog of schema `from` (4: no videos.device either; 5):
 * read-only, none are counted; opened for writing, it is upgraded and takes labels. */
static void labels_migration(Fixture *f, int from)
{
    VidxCatalog *ro = NULL;
    char v[16], sql[64], *json = NULL;
    put_device(f->cat, "/in/a.mp4", "cuda");
    vidx_catalog_close(&f->cat);
    assert_int_equal(raw_sql(f, "DROP TABLE labels"), 0);
    if (from < 5)
        assert_int_equal(raw_sql(f, "ALTER TABLE videos DROP COLUMN device"), 0);
    snprintf(sql, sizeof(sql), "UPDATE meta SET value='%d' WHERE key='schema'", from);
    assert_int_equal(raw_sql(f, sql), 0);
    assert_int_not_equal(raw_sql(f, "SELECT * FROM labels"), 0); /* no labels table indeed */
    assert_int_equal(vidx__catalog_open_with(&ro, f->ops, f->dir, f->db[0] ? f->url : NULL, 1), 0);
    assert_int_equal(vidx_catalog_status_json(ro, &json), 0); /* its label counts: none */
    assert_null(strstr(json, "\"labels\""));
    free(json);
    assert_string_equal(view(ro, (CatalogView){.kind = CATALOG_VIEW_LABELS, .id = 1, .limit = 9}),
                        ""); /* none, and no error */
    vidx_catalog_close(&ro);
    assert_int_equal(vidx__catalog_open_with(&f->cat, f->ops, f->dir, f->db[0] ? f->url : NULL, 0),
                     0);
    assert_int_equal(vidx__catalog_meta_get(f->cat, "schema", v, sizeof(v)), 1);
    assert_string_equal(v, "8");
    VidxFrameRecord rec = {.index = 3, .time = 0.1, .width = 8, .height = 8, .dup_of = -1};
    CatalogFrame frame = {&rec, "frames/b/000003_100ms.jpg", -1, 0};
    CatalogLabel label = {0, "a car", "[\"car\"]", "m", 0.25, NULL};
    CatalogVideo b = {.path = "/in/b.mp4",
                      .key = "b",
                      .status = VIDX_VIDEO_OK,
                      .device = "cpu (--hwaccel none)",
                      .frames = &frame,
                      .n_frames = 1,
                      .labels = &label,
                      .n_labels = 1};
    assert_int_equal(vidx__catalog_record(f->cat, &b), 0);
    char *rows = export_jsonl(f->cat, "labels");
    assert_non_null(strstr(rows, "\"video\":\"/in/b.mp4\",\"seq\":0,\"index\":3,"));
    assert_non_null(strstr(rows, "\"caption\":\"a car\""));
    free(rows);
    Devices d = {0, {from < 5 ? NULL : "cuda", "cpu (--hwaccel none)", NULL}};
    assert_int_equal(vidx__catalog_video_rows(f->cat, check_device, &d), 0);
    assert_int_equal(d.n, 2);
}

static void test_labels_migration_from_4(void **state)
{
    labels_migration(*state, 4);
}

static void test_labels_migration_from_5(void **state)
{
    labels_migration(*state, 5);
}

/* Schema 7: a bucket output's completed uploads, replaced by name; a snapshot of SQLite only. */
static int cat_upload(void *opaque, const char *name, int64_t bytes, const char *etag)
{
    char *out = opaque;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s=%lld/%s;", name, (long long)bytes, etag);
    return 0;
}

static void test_uploads(void **state)
{
    Fixture *f = *state;
    char got[256] = "", path[128];
    assert_int_equal(vidx__catalog_uploads(f->cat, cat_upload, got), 0);
    assert_string_equal(got, ""); /* none yet */
    assert_int_equal(vidx__catalog_upload_put(f->cat, "shards/000001.tar", 10240, "e1-2"), 0);
    assert_int_equal(vidx__catalog_upload_put(f->cat, "frames/a-1/audio.wav", 44, "e0"), 0);
    assert_int_equal(vidx__catalog_upload_put(f->cat, "shards/000001.tar", 20480, "e2-3"), 0);
    assert_int_equal(vidx__catalog_uploads(f->cat, cat_upload, got), 0);
    assert_string_equal(got, "frames/a-1/audio.wav=44/e0;shards/000001.tar=20480/e2-3;");
    snprintf(path, sizeof(path), "%s/snap.db", f->dir);
    if (f->ops == &vidx__catalog_postgres) {
        assert_int_equal(vidx__catalog_snapshot(f->cat, path), VIDX_EUSAGE);
        return;
    }
    assert_int_equal(vidx__catalog_snapshot(f->cat, path), 0);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT sum(bytes) FROM uploads", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 20524);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_not_equal(vidx__catalog_snapshot(f->cat, path), 0); /* never over a file */
}

/* A schema-6 catalog (no uploads table): read-only it has none; opened for writing, upgraded. */
static void test_uploads_migration(void **state)
{
    Fixture *f = *state;
    VidxCatalog *ro = NULL;
    char v[16], got[256] = "";
    vidx_catalog_close(&f->cat);
    assert_int_equal(raw_sql(f, "DROP TABLE uploads"), 0);
    assert_int_equal(raw_sql(f, "UPDATE meta SET value='6' WHERE key='schema'"), 0);
    assert_int_equal(vidx__catalog_open_with(&ro, f->ops, f->dir, f->db[0] ? f->url : NULL, 1), 0);
    assert_int_equal(vidx__catalog_uploads(ro, cat_upload, got), 0);
    assert_string_equal(got, "");
    vidx_catalog_close(&ro);
    assert_int_equal(vidx__catalog_open_with(&f->cat, f->ops, f->dir, f->db[0] ? f->url : NULL, 0),
                     0);
    assert_int_equal(vidx__catalog_meta_get(f->cat, "schema", v, sizeof(v)), 1);
    assert_string_equal(v, "8");
    assert_int_equal(vidx__catalog_upload_put(f->cat, "shards/000000.tar", 1, "e"), 0);
}

typedef struct Located {
    int renditions, folders; /* rendition locations seen, those whose bytes are their folder's */
} Located;

static int count_renditions(void *opaque, const CatalogLocation *l)
{
    Located *n = opaque;
    if (!strncmp(l->location, "transcode/", 10)) {
        n->renditions++;
        n->folders += l->offset == -2 && l->bytes == 5000;
        assert_null(l->checksum);
    }
    return 0;
}

/* Schema 8: a video's renditions are recorded, exported, counted by status (not the master
 * playlist), found by gc by their preset's folder and by verify as locations (an HLS rung and
 * the sprites by their folder's bytes), replaced when it is redone and gone with it. */
static void test_renditions(void **state)
{
    Fixture *f = *state;
    VidxCatalog *ro = NULL;
    char key[16], *json = NULL;
    CatalogRendition r[] = {
        {"hls", "hls", "transcode/r-1/hls/720p/index.m3u8", 5000, 2.5, "avc1.64001f,mp4a.40.2",
         1280, 720, 16000},
        {"hls", "master", "transcode/r-1/hls/master.m3u8", 300, 2.5, "", 0, 0, 960},
        {"hls", "sprite", "transcode/r-1/hls/sprites/sprites.vtt", 5000, 2.5, "mjpeg", 160, 90, 0},
        {"proxy", "proxy", "transcode/r-1/proxy/proxy.mp4", 700, 2.5, "avc1.64001e", 568, 320,
         2240}};
    CatalogVideo v = {.path = "/in/r.mp4",
                      .key = "r-1",
                      .status = VIDX_VIDEO_OK,
                      .renditions = r,
                      .n_renditions = 4};
    assert_int_equal(vidx__catalog_record(f->cat, &v), 0);
    assert_int_equal(vidx__catalog_open_with(&ro, f->ops, f->dir, f->db[0] ? f->url : NULL, 1), 0);
    char *rows = export_jsonl(ro, "renditions");
    assert_non_null(strstr(rows, "{\"video\":\"/in/r.mp4\",\"preset\":\"hls\",\"kind\":\"hls\","
                                 "\"path\":\"transcode/r-1/hls/720p/index.m3u8\",\"bytes\":5000,"
                                 "\"duration\":2.5,\"codec\":\"avc1.64001f,mp4a.40.2\","
                                 "\"width\":1280,\"height\":720,\"bitrate\":16000}\n"));
    assert_non_null(strstr(rows, "\"kind\":\"proxy\",\"path\":\"transcode/r-1/proxy/proxy.mp4\""));
    free(rows);
    assert_int_equal(vidx_catalog_status_json(ro, &json), 0);
    assert_non_null(strstr(json, "\"renditions\": {\n    \"videos\": 1,\n    \"files\": 3,\n"
                                 "    \"bytes\": 10700\n  }"));
    free(json);
    Located n = {0};
    assert_int_equal(vidx__catalog_locations(ro, count_renditions, &n), 0);
    assert_int_equal(n.renditions, 4);
    assert_int_equal(n.folders, 2);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_RENDITION, "transcode/r-1/hls"),
                     1);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_RENDITION, "transcode/r-1/hl"),
                     0);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_RENDITION, "transcode/r-_"), 0);
    v.n_renditions = 1; /* redone with fewer: the rows are replaced */
    assert_int_equal(vidx__catalog_record(f->cat, &v), 0);
    assert_int_equal(vidx__catalog_referenced(f->cat, CATALOG_REF_RENDITION, "transcode/r-1/proxy"),
                     0);
    assert_int_equal(vidx__catalog_begin(f->cat), 0); /* forgotten: its renditions go with it */
    assert_int_equal(vidx__catalog_forget_video(f->cat, 1, key, sizeof(key)), 0);
    assert_int_equal(vidx__catalog_commit(f->cat), 0);
    rows = export_jsonl(ro, "renditions");
    assert_string_equal(rows, "");
    free(rows);
    assert_int_equal(vidx_catalog_status_json(ro, &json), 0);
    assert_null(strstr(json, "\"renditions\"")); /* none: not shown */
    free(json);
    vidx_catalog_close(&ro);
}

/* A schema-6 catalog (no renditions table): read-only it has none and verify's locations still
 * read; opened for writing it becomes 8 and takes renditions. */
static void test_renditions_migration(void **state)
{
    Fixture *f = *state;
    VidxCatalog *ro = NULL;
    char v[16], *json = NULL;
    put_device(f->cat, "/in/a.mp4", "cuda");
    vidx_catalog_close(&f->cat);
    assert_int_equal(raw_sql(f, "DROP TABLE renditions"), 0);
    assert_int_equal(raw_sql(f, "UPDATE meta SET value='6' WHERE key='schema'"), 0);
    assert_int_equal(vidx__catalog_open_with(&ro, f->ops, f->dir, f->db[0] ? f->url : NULL, 1), 0);
    assert_int_equal(vidx_catalog_status_json(ro, &json), 0);
    assert_null(strstr(json, "\"renditions\""));
    free(json);
    Located n = {0};
    assert_int_equal(vidx__catalog_locations(ro, count_renditions, &n), 0);
    assert_int_equal(n.renditions, 0);
    vidx_catalog_close(&ro);
    assert_int_equal(vidx__catalog_open_with(&f->cat, f->ops, f->dir, f->db[0] ? f->url : NULL, 0),
                     0);
    assert_int_equal(vidx__catalog_meta_get(f->cat, "schema", v, sizeof(v)), 1);
    assert_string_equal(v, "8");
    CatalogRendition r = {"proxy", "proxy", "transcode/b/proxy/proxy.mp4", 7, 1, "", 2, 2, 56};
    CatalogVideo b = {.path = "/in/b.mp4",
                      .key = "b",
                      .status = VIDX_VIDEO_OK,
                      .renditions = &r,
                      .n_renditions = 1};
    assert_int_equal(vidx__catalog_record(f->cat, &b), 0);
    char *rows = export_jsonl(f->cat, "renditions");
    assert_non_null(strstr(rows, "\"path\":\"transcode/b/proxy/proxy.mp4\""));
    free(rows);
}

static int setup_pg(void **state)
{
    return setup(state, &vidx__catalog_postgres);
}

int main(void)
{
    const struct CMUnitTest one[] = {
        cmocka_unit_test_setup_teardown(test_record_and_prior, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_blobs, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_shards, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_meta_layout_schema, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_referenced, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_locations_and_forget, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_readers, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_video_rows_and_shard_set, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_video_rows_shots_segments, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_meta_add, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_audio_none, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_shots, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_segments, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_labels, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_device, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_device_migration, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_labels_migration_from_4, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_labels_migration_from_5, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_views, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_uploads, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_uploads_migration, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_renditions, setup_each, teardown),
        cmocka_unit_test_setup_teardown(test_renditions_migration, setup_each, teardown),
    };
    const struct CMUnitTest pg[] = {
        cmocka_unit_test_setup_teardown(test_pg_connection_lost, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_pg_other_output_refused, setup_pg, teardown),
        cmocka_unit_test(test_pg_mask_url),
    };
    int failed = 0;
    const char *no_services = getenv("VIDX_TEST_NO_SERVICES");
    for (current = 0; current < VIDX_ARRAY_SIZE(impls); current++) {
        if (impls[current] == &vidx__catalog_postgres && !getenv("VIDX_TEST_PG")) {
            if (no_services && !strcmp(no_services, "1")) {
                printf("postgresql: skipped (VIDX_TEST_NO_SERVICES=1)\n");
                continue;
            }
            fprintf(stderr, "postgresql: VIDX_TEST_PG is not set (scripts/test.sh starts a "
                            "server; by hand: eval \"$(scripts/services.sh pg-start)\")\n");
            failed++;
            continue;
        }
        failed += cmocka_run_group_tests_name(impls[current]->name, one, NULL, NULL);
        if (impls[current] == &vidx__catalog_postgres)
            failed += cmocka_run_group_tests_name("postgresql only", pg, NULL, NULL);
    }
    return failed;
}
