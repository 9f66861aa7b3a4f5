/*
 * test_options.c - the options hash (src/batch/options.c): every field of its
 * table, changed alone, changes the hash (the list of changes is looked up by
 * the table's own names, so a field added to the table without a change here
 * fails); settings left at their defaults hash exactly as the first hash did,
 * so an upgrade does not redo a library whose options did not change.
 */
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

#include "batch/inputs.h"
#include "batch/options.h"

static const double times_a[] = {0.5, 1.5}, times_b[] = {0.5, 1.25};
static const int64_t idx_a[] = {1, 7}, idx_b[] = {1, 8};

/* The first hash, as it was written before the table (the compatibility reference). */
static void v1_hash(const VidxJobSettings *j, char out[32])
{
    const VidxSamplerSettings *s = &j->sampler;
    char buf[256];
    uint64_t h = VIDX_FNV_INIT;
    snprintf(buf, sizeof(buf), "v1|%d|%d|%.9g|%d|%d|%d|%d|%d|%d|%d|%d|%d|%d|%d|%d", s->mode,
             s->count, s->fps, s->approx, s->max_side, s->width, s->height, s->fit, j->format,
             j->quality, j->md5, j->audio, j->audio_rate, j->audio_channels, j->source.stream);
    h = vidx__fnv1a(buf, strlen(buf), h);
    if (s->times)
        h = vidx__fnv1a(s->times, s->n_times * sizeof(*s->times), h);
    if (s->indices)
        h = vidx__fnv1a(s->indices, s->n_indices * sizeof(*s->indices), h);
    snprintf(out, 32, "%016llx", (unsigned long long)h);
}

/* One change per table field; the base settings it applies to are set up first. */
typedef struct Change {
    const char *name;
    void (*base)(VidxRunSettings *s);
    void (*change)(VidxRunSettings *s);
} Change;

static void base_times(VidxRunSettings *s)
{
    s->job.sampler.mode = VIDX_MODE_TIMES;
    s->job.sampler.times = times_a;
    s->job.sampler.n_times = 2;
}
static void base_indices(VidxRunSettings *s)
{
    s->job.sampler.mode = VIDX_MODE_INDICES;
    s->job.sampler.indices = idx_a;
    s->job.sampler.n_indices = 2;
}
static void base_box(VidxRunSettings *s)
{
    s->job.sampler.width = 64;
    s->job.sampler.height = 48;
}
static void base_audio(VidxRunSettings *s)
{
    s->job.audio = 1;
}
/* Labelling through an endpoint, with the defaults: what the label_* fields change. */
static VidxLabelSettings base_labeller;
static void base_label(VidxRunSettings *s)
{
    vidx_label_default_settings(&base_labeller);
    base_labeller.url = "http://127.0.0.1:8000";
    s->job.label = 1;
    s->job.label_settings = &base_labeller;
}
static VidxLabelSettings changed_labeller;
static void change_labeller(VidxRunSettings *s, int field)
{
    changed_labeller = *s->job.label_settings;
    if (field == 0)
        changed_labeller.model = "another-model";
    else if (field == 1)
        changed_labeller.prompt = "Name the main object. Answer with JSON: {\"caption\": "
                                  "\"...\", \"tags\": [...]}; a prompt longer than 64 bytes";
    else if (field == 2)
        changed_labeller.max_side = 256;
    else
        changed_labeller.quality = 70;
    s->job.label_settings = &changed_labeller;
}

#define CHANGE(fname, stmt)                                                                        \
    static void change_##fname(VidxRunSettings *s)                                                 \
    {                                                                                              \
        stmt;                                                                                      \
    }
CHANGE(mode, s->job.sampler.mode = VIDX_MODE_KEYFRAMES)
CHANGE(count, s->job.sampler.count = 3)
CHANGE(fps, s->job.sampler.fps = 2.5)
CHANGE(approx, s->job.sampler.approx = 1)
CHANGE(max_side, s->job.sampler.max_side = 320)
CHANGE(width, s->job.sampler.width = 80)
CHANGE(height, s->job.sampler.height = 60)
CHANGE(fit, s->job.sampler.fit = VIDX_FIT_PAD)
CHANGE(format, s->job.format = VIDX_IMAGE_PNG)
CHANGE(quality, s->job.quality = 50)
CHANGE(md5, s->job.md5 = 1)
CHANGE(audio, s->job.audio = 2)
CHANGE(audio_rate, s->job.audio_rate = 8000)
CHANGE(audio_channels, s->job.audio_channels = 2)
CHANGE(stream, s->job.source.stream = 1)
CHANGE(times, s->job.sampler.times = times_b)
CHANGE(indices, s->job.sampler.indices = idx_b)
CHANGE(dedup, s->job.dedup = 4)
CHANGE(dedup_exact, s->dedup_exact = 1)
CHANGE(manifest, s->job.manifest = 0)
CHANGE(audio_stream, s->job.source.audio_stream = 1)
CHANGE(scenes, s->job.scenes = 1)
CHANGE(transcribe, s->job.transcribe = 1)
CHANGE(label, s->job.label = 1)
CHANGE(per_scene, s->job.per_scene = 3)
CHANGE(per_scene_pick, s->job.per_scene_pick = VIDX_PICK_FIRST)
CHANGE(hwaccel, s->job.sampler.hwaccel = VIDX_HWACCEL_NONE)
CHANGE(label_model, change_labeller(s, 0))
CHANGE(label_prompt, change_labeller(s, 1))
CHANGE(label_size, change_labeller(s, 2))
CHANGE(label_quality, change_labeller(s, 3))
CHANGE(transcode, s->transcode = "proxy")
CHANGE(no_frames, s->no_frames = 1)

static void base_transcode(VidxRunSettings *s)
{
    s->transcode = "proxy";
}

static const Change changes[] = {
    {"mode", NULL, change_mode},
    {"count", NULL, change_count},
    {"fps", NULL, change_fps},
    {"approx", NULL, change_approx},
    {"max_side", NULL, change_max_side},
    {"width", base_box, change_width},
    {"height", base_box, change_height},
    {"fit", base_box, change_fit},
    {"format", NULL, change_format},
    {"quality", NULL, change_quality},
    {"md5", NULL, change_md5},
    {"audio", base_audio, change_audio},
    {"audio_rate", base_audio, change_audio_rate},
    {"audio_channels", base_audio, change_audio_channels},
    {"stream", NULL, change_stream},
    {"times", base_times, change_times},
    {"indices", base_indices, change_indices},
    {"dedup", NULL, change_dedup},
    {"dedup_exact", NULL, change_dedup_exact},
    {"manifest", NULL, change_manifest},
    {"audio_stream", base_audio, change_audio_stream},
    {"scenes", NULL, change_scenes},
    {"transcribe", NULL, change_transcribe},
    {"label", NULL, change_label},
    {"per_scene", NULL, change_per_scene},
    {"per_scene_pick", NULL, change_per_scene_pick},
    {"hwaccel", NULL, change_hwaccel},
    {"label_model", base_label, change_label_model},
    {"label_prompt", base_label, change_label_prompt},
    {"label_size", base_label, change_label_size},
    {"label_quality", base_label, change_label_quality},
    {"transcode", NULL, change_transcode},
    {"no_frames", base_transcode, change_no_frames},
};

static const Change *find_change(const char *name)
{
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++)
        if (!strcmp(changes[i].name, name))
            return &changes[i];
    return NULL;
}

static void test_every_field_changes_the_hash(void **state)
{
    (void)state;
    size_t n;
    const OptionField *f = vidx__option_fields(&n);
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        const Change *c = find_change(f[i].name);
        VidxRunSettings a, b;
        char ha[32], hb[32];
        if (!c)
            fail_msg("options table field '%s' has no change in test_options.c", f[i].name);
        vidx_run_default_settings(&a);
        if (c->base)
            c->base(&a);
        b = a;
        c->change(&b);
        vidx__options_hash(&a, ha);
        vidx__options_hash(&b, hb);
        if (!strcmp(ha, hb))
            fail_msg("changing '%s' does not change the options hash", f[i].name);
    }
}

/* Writes a preset file named "p" whose one rendition has the given crf. */
static void write_preset(const char *path, int crf)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"name\": \"p\", \"format\": \"mp4\", \"renditions\": [{\"name\": \"r\", "
            "\"height\": 240, \"crf\": %d}]}",
            crf);
    fclose(f);
}

/* The transcode presets hash by their contents: the same file edited is a change, the same
 * contents under another file name are not, and a second preset is. */
static void test_transcode_preset_contents(void **state)
{
    (void)state;
    char dir[] = "/tmp/vidx-options-XXXXXX", a[64], b[64], both[160];
    char h1[32], h2[32], h3[32], h4[32];
    VidxRunSettings s;
    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof(a), "%s/a.json", dir);
    snprintf(b, sizeof(b), "%s/b.json", dir);
    vidx_run_default_settings(&s);
    s.transcode = a;
    write_preset(a, 23);
    vidx__options_hash(&s, h1);
    write_preset(a, 30);
    vidx__options_hash(&s, h2);
    write_preset(b, 30);
    s.transcode = b;
    vidx__options_hash(&s, h3);
    snprintf(both, sizeof(both), "%s,proxy", b);
    s.transcode = both;
    vidx__options_hash(&s, h4);
    assert_string_not_equal(h1, h2);
    assert_string_equal(h2, h3);
    assert_string_not_equal(h3, h4);
    unlink(a);
    unlink(b);
    rmdir(dir);
}

/* Settings that leave the later fields at their defaults hash as v1 did. */
static void test_v1_hash_kept(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        VidxRunSettings s;
        char now[32], v1[32];
        vidx_run_default_settings(&s);
        if (changes[i].base)
            changes[i].base(&s);
        changes[i].change(&s);
        vidx__options_hash(&s, now);
        v1_hash(&s.job, v1);
        int later =
            !strcmp(changes[i].name, "dedup") || !strcmp(changes[i].name, "dedup_exact") ||
            !strcmp(changes[i].name, "manifest") || !strcmp(changes[i].name, "audio_stream") ||
            !strcmp(changes[i].name, "scenes") || !strcmp(changes[i].name, "transcribe") ||
            !strcmp(changes[i].name, "per_scene") || !strcmp(changes[i].name, "per_scene_pick") ||
            !strcmp(changes[i].name, "hwaccel") || !strncmp(changes[i].name, "label", 5) ||
            !strcmp(changes[i].name, "transcode") || !strcmp(changes[i].name, "no_frames");
        if (later ? !strcmp(now, v1) : strcmp(now, v1))
            fail_msg("'%s': hash %s, v1 hash %s", changes[i].name, now, v1);
    }
}

/* The hash of the defaults is pinned: changing it redoes every library once. */
static void test_default_hash_stable(void **state)
{
    (void)state;
    VidxRunSettings s;
    char h[32], v1[32];
    vidx_run_default_settings(&s);
    vidx__options_hash(&s, h);
    v1_hash(&s.job, v1);
    assert_string_equal(h, v1);
    assert_string_equal(h, "e78f21debf3177aa"); /* what the v1 code gave */
}

/* Every field survives the JSON a work queue stores: the hash of the settings
 * read back is the hash of the settings written, change by change. */
static void test_json_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        VidxRunSettings a, b;
        OptionArrays arrays = {0};
        char ha[32], hb[32], *json = NULL;
        vidx_run_default_settings(&a);
        if (changes[i].base)
            changes[i].base(&a);
        changes[i].change(&a);
        vidx_run_default_settings(&b);
        VidxLabelSettings worker; /* a worker's own endpoint (vidx worker --label-url) */
        vidx_label_default_settings(&worker);
        worker.url = "http://10.0.0.7:8000";
        worker.concurrency = 9;
        b.job.label_settings = &worker;
        assert_int_equal(vidx__options_to_json(&a, &json), 0);
        if (a.transcode) { /* presets never go into a queue (vidx enqueue refuses them) */
            assert_int_equal(vidx__options_from_json(json, &b, &arrays), VIDX_EUSAGE);
            vidx__option_arrays_free(&arrays);
            free(json);
            continue;
        }
        assert_int_equal(vidx__options_from_json(json, &b, &arrays), 0);
        vidx__options_hash(&a, ha);
        vidx__options_hash(&b, hb);
        if (strcmp(ha, hb))
            fail_msg("'%s' does not survive JSON: %s", changes[i].name, json);
        /* the endpoint stays the worker's; the set's fields land in a copy */
        assert_string_equal(b.job.label_settings->url, worker.url);
        assert_int_equal(b.job.label_settings->concurrency, 9);
        assert_null(worker.prompt);
        vidx__option_arrays_free(&arrays);
        free(json);
    }
}

/* Where and how to ask a labeller is not part of what a video's labels are. */
static void test_label_endpoint_not_hashed(void **state)
{
    (void)state;
    VidxRunSettings a, b;
    VidxLabelSettings other;
    char ha[32], hb[32];
    vidx_run_default_settings(&a);
    base_label(&a);
    b = a;
    other = *a.job.label_settings;
    other.url = "https://api.example.com/v1";
    other.key_env = "OTHER_KEY";
    other.concurrency = 16;
    other.timeout = 5;
    other.retries = 0;
    b.job.label_settings = &other;
    vidx__options_hash(&a, ha);
    vidx__options_hash(&b, hb);
    assert_string_equal(ha, hb);
    /* and a run that does not label ignores the labeller's settings */
    VidxRunSettings c, d;
    vidx_run_default_settings(&c);
    d = c;
    change_labeller(&a, 1);
    d.job.label_settings = a.job.label_settings;
    vidx__options_hash(&c, ha);
    vidx__options_hash(&d, hb);
    assert_string_equal(ha, hb);
}

/* What is not such JSON is refused, not half applied. */
static void test_json_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "[]", "{\"times\":[],\"indices\":[]}",
                                      "{\"times\":[\"x\"],\"indices\":[]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        VidxRunSettings s;
        OptionArrays arrays = {0};
        vidx_run_default_settings(&s);
        assert_int_equal(vidx__options_from_json(bad[i], &s, &arrays), VIDX_EUSAGE);
        vidx__option_arrays_free(&arrays);
    }
    VidxRunSettings s;
    OptionArrays arrays = {0};
    char *json = NULL;
    vidx_run_default_settings(&s);
    assert_int_equal(vidx__options_to_json(&s, &json), 0);
    char *count = strstr(json, "\"count\":\"");
    assert_non_null(count);
    count[9] = 'x'; /* "count":"x... */
    assert_int_equal(vidx__options_from_json(json, &s, &arrays), VIDX_EUSAGE);
    vidx__option_arrays_free(&arrays);
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field_changes_the_hash),
        cmocka_unit_test(test_v1_hash_kept),
        cmocka_unit_test(test_default_hash_stable),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_refused),
        cmocka_unit_test(test_label_endpoint_not_hashed),
        cmocka_unit_test(test_transcode_preset_contents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
