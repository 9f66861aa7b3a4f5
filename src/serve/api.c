/*
 * api.c - the dashboard's JSON (serve/api.h): each answer is built from
 * catalog views (VidxCatalogOps.view, the same on SQLite and PostgreSQL),
 * bounded in rows, and knows nothing of HTTP.
 *
 * Progress of a running batch: vidx run notes itself in the catalog's meta
 * 'run' (state, start, videos to do, pid, host; docs/CATALOG.md). Done is
 * the number of videos whose processing ended since that start; the rate is
 * done over the time since the start; the ETA is what is left at that rate.
 * A run noted as running whose process is gone (same host, no such pid) is
 * shown as stopped. A cluster (a work queue) has its own counts instead:
 * left is queued + running, the rate the sum of the live workers' rates.
 */
#include "serve/api.h"
#include "catalog/queue.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static json_t *value_json(const CatalogValue *v)
{
    switch (v->type) {
    case CATALOG_INT:
        return json_integer(v->i);
    case CATALOG_REAL:
        return isfinite(v->d) ? json_real(v->d) : json_null();
    case CATALOG_NULL:
        return json_null();
    default:
        return v->text ? json_string(v->text) : json_null(); /* NULL: not UTF-8 */
    }
}

static json_t *ascii_json(const char *text)
{
    char *copy = strdup(text);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    json_t *v = json_string(copy);
    free(copy);
    return v;
}

typedef struct Rows {
    json_t *rows;
    size_t max;
} Rows;

static int collect(void *opaque, int n, const char *const *names, const CatalogValue *values)
{
    Rows *r = opaque;
    if (!values)
        return 0;
    if (json_array_size(r->rows) >= r->max)
        return 1; /* bounded: the view's own limit already holds it */
    json_t *o = json_object();
    for (int i = 0; o && i < n; i++) {
        json_t *v = value_json(&values[i]);
        if (!v && values[i].text) /* text that is not UTF-8 (a path): bytes >= 0x80 as '?' */
            v = ascii_json(values[i].text);
        json_object_set_new(o, names[i], v ? v : json_null());
    }
    return o ? json_array_append_new(r->rows, o) : -ENOMEM;
}

json_t *vidx__serve_rows(VidxCatalog *c, const CatalogView *v, int *err)
{
    Rows r = {json_array(), SERVE_ROWS_MAX};
    int ret = r.rows ? vidx__catalog_view(c, v, collect, &r) : -ENOMEM;
    if (ret < 0) {
        json_decref(r.rows);
        *err = ret;
        return NULL;
    }
    return r.rows;
}

/* The integer column name of the view's only row (0 when none). */
static int64_t view_count(VidxCatalog *c, const CatalogView *v, const char *name, int *err)
{
    json_t *rows = vidx__serve_rows(c, v, err);
    int64_t n = 0;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) n += json_integer_value(json_object_get(row, name));
    json_decref(rows);
    return n;
}

char *vidx__serve_shell_quote(const char *s)
{
    size_t n = 2;
    for (const char *p = s; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *q = malloc(n + 1), *w = q;
    if (!q)
        return NULL;
    *w++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            memcpy(w, "'\\''", 4), w += 4;
        else
            *w++ = *p;
    }
    *w++ = '\'';
    *w = 0;
    return q;
}

/* "vidx run INPUT -o OUT --retry [--catalog URL]" for input (NULL: "INPUT..."). */
static json_t *retry_command(const ServeOut *o, const char *input)
{
    char *in = input ? vidx__serve_shell_quote(input) : strdup("INPUT...");
    char *out = vidx__serve_shell_quote(o->outdir);
    char *cat = o->catalog ? vidx__serve_shell_quote(o->catalog) : NULL;
    json_t *j = NULL;
    if (in && out && (!o->catalog || cat))
        j = json_sprintf("vidx run %s -o %s --retry%s%s", in, out, cat ? " --catalog " : "",
                         cat ? cat : "");
    free(in), free(out), free(cat);
    return j ? j : json_null();
}

/* ---------------------------------------------------------------------- */
/* Overview                                                                */
/* ---------------------------------------------------------------------- */

/* The videos ended since t: the timeline's sum when it starts there, else one count. */
static int64_t done_since(VidxCatalog *c, double t, json_t *timeline, int *err)
{
    json_t *p;
    size_t i;
    int64_t n = 0;
    if (json_number_value(json_object_get(timeline, "since")) != t) {
        CatalogView v = {.kind = CATALOG_VIEW_TIMELINE, .bucket = 1e12, .since = t, .until = 1e12};
        return view_count(c, &v, "videos", err);
    }
    json_array_foreach(json_object_get(timeline, "points"), i, p) n +=
        json_integer_value(json_object_get(p, "videos"));
    return n;
}

/* The run noted in meta 'run' (NULL when none is); run_progress adds done, rate and ETA. */
static json_t *run_noted(VidxCatalog *c)
{
    char text[2048];
    if (vidx__catalog_meta_get(c, "run", text, sizeof(text)) <= 0)
        return NULL;
    json_t *run = json_loads(text, 0, NULL);
    if (!json_is_object(run)) {
        json_decref(run);
        return NULL;
    }
    return run;
}

static void run_progress(VidxCatalog *c, json_t *run, json_t *timeline, double now, int *err)
{
    char host[256] = "";
    const char *state = json_string_value(json_object_get(run, "state"));
    const char *on = json_string_value(json_object_get(run, "host"));
    double started = json_number_value(json_object_get(run, "started"));
    json_int_t todo = json_integer_value(json_object_get(run, "todo"));
    json_int_t pid = json_integer_value(json_object_get(run, "pid"));
    gethostname(host, sizeof(host) - 1);
    if (state && !strcmp(state, "running") && on && !strcmp(on, host) && pid > 0 &&
        pid < INT32_MAX && kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
        state = "stopped"; /* its process is gone: interrupted without a word */
        json_object_set_new(run, "state", json_string(state));
    }
    int64_t done = done_since(c, started, timeline, err);
    double end =
        state && strcmp(state, "running") ? json_number_value(json_object_get(run, "ended")) : now;
    double span = (end > started ? end : now) - started;
    double rate = span > 0 ? (double)done / span : 0;
    json_object_set_new(run, "done", json_integer(done));
    json_object_set_new(run, "videos_per_second", json_real(rate));
    json_object_set_new(run, "elapsed", json_real(span));
    int running = state && !strcmp(state, "running");
    if (running && rate > 0 && todo >= done)
        json_object_set_new(run, "eta_seconds", json_real((double)(todo - done) / rate));
    else
        json_object_set_new(run, "eta_seconds", json_null());
}

/* With a work queue: left, rate of the live workers and ETA from the queue's part. */
static void queue_progress(json_t *root)
{
    json_t *q = json_object_get(root, "queue"), *w;
    size_t i;
    if (!q)
        return;
    json_t *counts = json_object_get(q, "counts");
    json_int_t left = json_integer_value(json_object_get(counts, "queued")) +
                      json_integer_value(json_object_get(counts, "running"));
    double per_min = 0;
    json_array_foreach(json_object_get(q, "workers"), i, w)
    {
        const char *state = json_string_value(json_object_get(w, "state"));
        if (state && !strcmp(state, "alive"))
            per_min += json_number_value(json_object_get(w, "videos_per_minute"));
    }
    json_object_set_new(q, "left", json_integer(left));
    json_object_set_new(q, "videos_per_minute", json_real(per_min));
    json_object_set_new(q, "eta_seconds",
                        per_min > 0 && left > 0 ? json_real(60.0 * (double)left / per_min)
                                                : json_null());
}

int vidx__serve_overview(VidxCatalog *c, const ServeOut *o, double bucket, double since,
                         json_t **out)
{
    int err = 0;
    double now = wall_now();
    json_t *root = json_object(), *counts = json_object(), *rows, *row;
    size_t i;
    int64_t videos = 0, frames = 0;
    *out = NULL;
    CatalogView v = {.kind = CATALOG_VIEW_COUNTS};
    if (!(rows = vidx__serve_rows(c, &v, &err)))
        goto fail;
    json_array_foreach(rows, i, row)
    {
        const char *status = json_string_value(json_object_get(row, "status"));
        json_int_t n = json_integer_value(json_object_get(row, "videos"));
        if (status)
            json_object_set_new(counts, status, json_integer(n));
        videos += n;
        frames += json_integer_value(json_object_get(row, "frames"));
    }
    json_decref(rows);
    json_object_set_new(root, "videos", json_integer(videos));
    json_object_set_new(root, "frames", json_integer(frames));
    json_object_set(root, "counts", counts);
    json_t *run = run_noted(c);
    json_object_set_new(root, "run", run ? run : json_null());
    if (since <= 0) {
        double started = json_number_value(json_object_get(run, "started"));
        since = started > 0 ? started : now - 3600;
    }
    if (bucket <= 0)
        bucket = fmax(1.0, ceil((now - since) / 60.0));
    if ((now - since) / bucket > SERVE_TIMELINE_MAX) /* bounded: widen the buckets */
        bucket = ceil((now - since) / SERVE_TIMELINE_MAX);
    v = (CatalogView){
        .kind = CATALOG_VIEW_TIMELINE, .bucket = bucket, .since = since, .until = now + 1};
    if (!(rows = vidx__serve_rows(c, &v, &err)))
        goto fail;
    json_t *timeline =
        json_pack("{s:f, s:f, s:o}", "bucket", bucket, "since", since, "points", rows);
    json_object_set_new(root, "timeline", timeline);
    if (run)
        run_progress(c, run, timeline, now, &err);
    if (err < 0)
        goto fail;
    if (vidx__queue_status_json(c, root) < 0) {
        err = VIDX_ECATALOG;
        goto fail;
    }
    queue_progress(root);
    json_object_set_new(root, "catalog", json_string(vidx__catalog_kind(c)));
    json_object_set_new(root, "out", json_string(o->outdir));
    json_object_set_new(root, "now", json_real(now));
    json_decref(counts);
    *out = root;
    return 0;
fail:
    json_decref(counts);
    json_decref(root);
    return err < 0 ? err : -ENOMEM;
}

int vidx__serve_failures(VidxCatalog *c, const ServeOut *o, json_t **out)
{
    int err = 0;
    CatalogView v = {.kind = CATALOG_VIEW_CLASSES};
    json_t *rows = vidx__serve_rows(c, &v, &err);
    *out = NULL;
    if (!rows)
        return err;
    *out = json_pack("{s:o, s:o}", "classes", rows, "retry", retry_command(o, NULL));
    return *out ? 0 : -ENOMEM;
}

int vidx__serve_videos(VidxCatalog *c, const CatalogView *filter, json_t **out)
{
    int err = 0;
    CatalogView v = *filter;
    v.kind = CATALOG_VIEW_VIDEOS;
    v.limit = v.limit <= 0               ? SERVE_PAGE_DEFAULT
              : v.limit > SERVE_PAGE_MAX ? SERVE_PAGE_MAX
                                         : v.limit;
    json_t *rows = vidx__serve_rows(c, &v, &err);
    *out = NULL;
    if (!rows)
        return err;
    v.kind = CATALOG_VIEW_MATCHING;
    int64_t matching = view_count(c, &v, "videos", &err);
    if (err < 0) {
        json_decref(rows);
        return err;
    }
    size_t n = json_array_size(rows);
    json_t *next =
        (int64_t)n == v.limit ? json_object_get(json_array_get(rows, n - 1), "id") : NULL;
    *out = json_pack("{s:o, s:I, s:O?, s:I}", "videos", rows, "matching", (json_int_t)matching,
                     "next", next, "limit", (json_int_t)v.limit);
    return *out ? 0 : -ENOMEM;
}

int vidx__serve_video(VidxCatalog *c, const ServeOut *o, int64_t id, int64_t first, int64_t max,
                      json_t **out)
{
    int err = 0;
    *out = NULL;
    CatalogView v = {.kind = CATALOG_VIEW_VIDEO, .id = id};
    json_t *rows = vidx__serve_rows(c, &v, &err), *video;
    if (!rows)
        return err;
    if (!(video = json_incref(json_array_get(rows, 0)))) {
        json_decref(rows);
        return -ENOENT;
    }
    json_decref(rows);
    const char *probe = json_string_value(json_object_get(video, "probe"));
    json_t *parsed = probe ? json_loads(probe, 0, NULL) : NULL;
    if (parsed)
        json_object_set_new(video, "probe", parsed);
    max = max <= 0 || max > SERVE_FRAMES_MAX ? SERVE_FRAMES_MAX : max;
    static const struct {
        CatalogViewKind kind;
        const char *name;
    } parts[] = {{CATALOG_VIEW_FRAMES, "frame_rows"},
                 {CATALOG_VIEW_SHOTS, "shots"},
                 {CATALOG_VIEW_SEGMENTS, "segments"},
                 {CATALOG_VIEW_AUDIO, "audio_file"},
                 {CATALOG_VIEW_LABELS, "labels"}};
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(parts); i++) {
        /* labels: those of the frames from first on, as many as frames */
        int frames = parts[i].kind == CATALOG_VIEW_FRAMES || parts[i].kind == CATALOG_VIEW_LABELS;
        v = (CatalogView){.kind = parts[i].kind,
                          .id = id,
                          .after = frames ? (first > 0 ? first : 0) : 0,
                          .limit = frames ? max : SERVE_ROWS_MAX};
        if (!(rows = vidx__serve_rows(c, &v, &err))) {
            json_decref(video);
            return err;
        }
        if (parts[i].kind == CATALOG_VIEW_AUDIO) {
            json_object_set(video, parts[i].name,
                            json_array_size(rows) ? json_array_get(rows, 0) : json_null());
            json_decref(rows);
        } else
            json_object_set_new(video, parts[i].name, rows);
    }
    json_t *label;
    size_t k;
    json_array_foreach(json_object_get(video, "labels"), k, label)
    {
        const char *tags = json_string_value(json_object_get(label, "tags"));
        json_t *parsed_tags = tags ? json_loads(tags, 0, NULL) : NULL;
        if (parsed_tags) /* the JSON array of strings the labeller stored */
            json_object_set_new(label, "tags", parsed_tags);
    }
    json_int_t total = json_integer_value(json_object_get(video, "frames"));
    json_int_t shown = (json_int_t)json_array_size(json_object_get(video, "frame_rows"));
    json_object_set_new(video, "frames_first", json_integer(first > 0 ? first : 0));
    json_object_set_new(video, "frames_capped",
                        json_boolean((first > 0 ? first : 0) + shown < total));
    const char *status = json_string_value(json_object_get(video, "status"));
    if (status && strcmp(status, "ok"))
        json_object_set_new(video, "retry",
                            retry_command(o, json_string_value(json_object_get(video, "path"))));
    *out = video;
    return 0;
}

int vidx__serve_frame(VidxCatalog *c, int out_fd, int64_t id, int64_t seq, ServeFrame *f)
{
    int err = 0;
    CatalogView v = {.kind = CATALOG_VIEW_FRAMES, .id = id, .after = seq, .limit = 1};
    json_t *rows = vidx__serve_rows(c, &v, &err), *row;
    f->fd = -1;
    if (!rows)
        return err;
    row = json_array_get(rows, 0);
    if (!row || json_integer_value(json_object_get(row, "seq")) != seq ||
        !json_is_string(json_object_get(row, "location"))) {
        json_decref(rows);
        return -ENOENT; /* no such frame, or dropped as a duplicate */
    }
    json_t *off = json_object_get(row, "offset");
    err = vidx__serve_frame_open(out_fd, json_string_value(json_object_get(row, "location")),
                                 json_is_integer(off) ? json_integer_value(off) : -1,
                                 json_integer_value(json_object_get(row, "bytes")), f);
    json_decref(rows);
    return err;
}
