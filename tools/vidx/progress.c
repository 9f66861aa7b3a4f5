/*
 * progress.c - how a run shows itself: a one-line live bar on a TTY (stderr),
 * JSON-lines events for machines (--progress json), nothing otherwise; and
 * the final summary.
 */
#include "cli.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void bar(const VidxRunSummary *s)
{
    int64_t todo = s->total - s->skipped;
    double frac = todo > 0 ? (double)s->done / todo : 1.0;
    int width = 24, fill = (int)(frac * width);
    int64_t failed = s->done - s->counts[VIDX_VIDEO_OK] - s->counts[VIDX_VIDEO_PARTIAL];
    double vps = s->seconds > 0 ? s->done / s->seconds : 0;
    double eta = vps > 0 ? (todo - s->done) / vps : 0;
    char b[32];
    for (int i = 0; i < width; i++)
        b[i] = i < fill ? '#' : '.';
    b[width] = 0;
    fprintf(stderr,
            "\r[%s] %lld/%lld videos  %lld failed  %.1f frames/s  %.2f videos/s  ETA %.0fs ", b,
            (long long)s->done, (long long)todo, (long long)failed,
            s->seconds > 0 ? s->frames / s->seconds : 0.0, vps, eta);
}

/* path as a JSON string: json_stringn keeps any byte sequence a path may hold, escaped. */
static json_t *json_path(const char *path)
{
    json_t *j = json_string(path);
    return j ? j : json_stringn_nocheck(path, strlen(path));
}

static void print_json_line(json_t *o)
{
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (line)
        printf("%s\n", line);
    fflush(stdout);
    free(line);
    json_decref(o);
}

/* --jsonl: one object per video, finished (VIDEO) or done before (SKIPPED). */
static void jsonl_event(const VidxRunEvent *ev)
{
    int skipped = ev->type == VIDX_EVENT_SKIPPED;
    if (ev->type != VIDX_EVENT_VIDEO && !skipped)
        return;
    json_t *o = json_object();
    json_object_set_new(o, "path", json_path(ev->path));
    json_object_set_new(o, "status",
                        json_string(skipped ? "skipped" : vidx_video_status_name(ev->status)));
    if (skipped) /* how the earlier run ended */
        json_object_set_new(o, "recorded", json_string(vidx_video_status_name(ev->status)));
    json_object_set_new(o, "frames", json_integer(ev->frames));
    json_object_set_new(o, "seconds", json_real(ev->seconds));
    json_object_set_new(o, "class", ev->error_class ? json_string(ev->error_class) : json_null());
    json_object_set_new(o, "error", ev->message ? json_path(ev->message) : json_null());
    json_object_set_new(o, "key", ev->key ? json_string(ev->key) : json_null());
    if (ev->audio)
        json_object_set_new(o, "audio", json_string(ev->audio));
    if (ev->device)
        json_object_set_new(o, "device", json_path(ev->device));
    print_json_line(o);
}

static void json_event(const VidxRunEvent *ev, const CliProgress *p)
{
    static const char *const names[] = {"start", "video", "tick", "end"};
    const VidxRunSummary *s = ev->summary;
    if (ev->type == VIDX_EVENT_TICK || ev->type > VIDX_EVENT_END)
        return;
    json_t *o =
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:f}", "event", names[ev->type], "done",
                  (json_int_t)s->done, "total", (json_int_t)s->total, "skipped",
                  (json_int_t)s->skipped, "frames", (json_int_t)s->frames, "seconds", s->seconds);
    if (o && ev->type == VIDX_EVENT_END) {
        json_object_set_new(o, "bytes", json_integer(s->bytes));
        json_object_set_new(o, "commit_seconds", json_real(s->commit_seconds));
        for (int k = 0; k < VIDX_VIDEO_SKIPPED; k++)
            json_object_set_new(o, vidx_video_status_name((VidxVideoStatus)k),
                                json_integer(s->counts[k]));
        json_object_set_new(o, "not_video",
                            json_pack("{s:I, s:I, s:I}", "image", (json_int_t)s->not_video_image,
                                      "audio", (json_int_t)s->not_video_audio, "other",
                                      (json_int_t)s->not_video_other));
        json_object_set_new(o, "duplicates", json_integer(s->duplicates));
        json_object_set_new(o, "symlinks_skipped", json_integer(s->symlinks));
        json_object_set_new(o, "audio_none", json_integer(p->audio_none));
        json_t *dev = json_object();
        for (int i = 0; i < p->devices.n; i++)
            json_object_set_new(dev, p->devices.names[i], json_integer(p->devices.counts[i]));
        json_object_set_new(o, "devices", dev);
        if (p->shard_count > 0) {
            json_object_set_new(
                o, "shard",
                json_pack("{s:i, s:i}", "index", p->shard_index, "count", p->shard_count));
            json_object_set_new(o, "other_shards", json_integer(ev->other_shards));
        }
    }
    if (o && ev->type == VIDX_EVENT_VIDEO) {
        json_object_set_new(o, "path", json_path(ev->path));
        json_object_set_new(o, "status", json_string(vidx_video_status_name(ev->status)));
        json_object_set_new(o, "class", json_string(ev->error_class ? ev->error_class : ""));
        json_object_set_new(o, "video_frames", json_integer(ev->frames));
        if (ev->audio)
            json_object_set_new(o, "audio", json_string(ev->audio));
        if (ev->device)
            json_object_set_new(o, "device", json_path(ev->device));
    }
    print_json_line(o);
}

/* The event's class string lives only as long as the event: copied. */
static void tally(CliTally *t, const char *name)
{
    int i = 0;
    while (i < t->n && strcmp(t->names[i], name))
        i++;
    if (i == CLI_MAX_CLASSES)
        i = CLI_MAX_CLASSES - 1; /* more kinds than slots: the last one collects the rest */
    else if (i == t->n)
        snprintf(t->names[t->n++], sizeof(t->names[0]), "%s", name);
    t->counts[i]++;
}

static void count_class(CliProgress *p, const VidxRunEvent *ev)
{
    const char *cls = ev->error_class && *ev->error_class ? ev->error_class : "unknown";
    if (ev->status == VIDX_VIDEO_OK || ev->status == VIDX_VIDEO_PARTIAL)
        return;
    if (ev->status == VIDX_VIDEO_CRASHED || ev->status == VIDX_VIDEO_TIMEOUT)
        cls = vidx_video_status_name(ev->status);
    tally(&p->classes, cls);
}

void cli_progress_event(void *opaque, const VidxRunEvent *ev)
{
    CliProgress *p = opaque;
    p->other_shards = ev->other_shards;
    if (ev->type == VIDX_EVENT_VIDEO) {
        count_class(p, ev); /* the event's strings are short-lived: tally copies */
        if (ev->device && *ev->device)
            tally(&p->devices, ev->device);
    }
    if (ev->type == VIDX_EVENT_VIDEO && ev->audio && !strcmp(ev->audio, "none"))
        p->audio_none++;
    if (p->mode == CLI_PROGRESS_JSON) {
        json_event(ev, p);
        return;
    }
    if (p->mode == CLI_PROGRESS_JSONL) {
        jsonl_event(ev);
        return;
    }
    if (p->mode != CLI_PROGRESS_BAR || ev->type == VIDX_EVENT_SKIPPED)
        return;
    if (ev->type == VIDX_EVENT_END)
        fputs("\r\033[K", stderr);
    else
        bar(ev->summary);
}

int cli_progress_default(void)
{
    return isatty(STDERR_FILENO) ? CLI_PROGRESS_BAR : CLI_PROGRESS_NONE;
}

/* What the inputs held besides videos: files a walk skipped, names given twice. */
static void print_left_out(const VidxRunSummary *s)
{
    static const char *const kinds[] = {"image", "audio", "other"};
    int64_t n[] = {s->not_video_image, s->not_video_audio, s->not_video_other};
    int64_t total = n[0] + n[1] + n[2];
    if (total > 0) {
        fprintf(stderr, "vidx run: skipped %lld not video (", (long long)total);
        for (int i = 0, first = 1; i < 3; i++)
            if (n[i] > 0) {
                fprintf(stderr, "%s%lld %s", first ? "" : ", ", (long long)n[i], kinds[i]);
                first = 0;
            }
        fputs(")\n", stderr);
    }
    if (s->duplicates > 0)
        fprintf(stderr,
                "vidx run: %lld duplicate names (the same file as another input): processed once\n",
                (long long)s->duplicates);
    if (s->symlinks > 0)
        fprintf(stderr, "vidx run: skipped %lld symlinks in directories (--follow-symlinks)\n",
                (long long)s->symlinks);
}

/* "vidx run: LABEL: name1SEP n1, name2SEP n2" (nothing when empty). */
static void print_tally(const char *label, const char *sep, const CliTally *t)
{
    if (t->n == 0)
        return;
    fprintf(stderr, "vidx run: %s:", label);
    for (int i = 0; i < t->n; i++)
        fprintf(stderr, "%s %s%s %lld", i ? "," : "", t->names[i], sep, (long long)t->counts[i]);
    fputc('\n', stderr);
}

void cli_print_summary(const VidxRunSummary *s, const CliProgress *p, const char *out)
{
    int64_t failed = s->done - s->counts[VIDX_VIDEO_OK] - s->counts[VIDX_VIDEO_PARTIAL];
    fprintf(
        stderr,
        "vidx run: %lld videos: %lld ok, %lld partial, %lld failed, %lld crashed, %lld timeout, "
        "%lld skipped (done before, %lld of them not ok)%s\n",
        (long long)s->total, (long long)s->counts[VIDX_VIDEO_OK],
        (long long)s->counts[VIDX_VIDEO_PARTIAL], (long long)s->counts[VIDX_VIDEO_FAILED],
        (long long)s->counts[VIDX_VIDEO_CRASHED], (long long)s->counts[VIDX_VIDEO_TIMEOUT],
        (long long)s->skipped, (long long)s->skipped_failed,
        s->interrupted ? " [interrupted]" : "");
    if (p && p->shard_count > 0)
        fprintf(stderr, "vidx run: shard %d/%d: %lld videos here, %lld left to the other shards\n",
                p->shard_index, p->shard_count, (long long)s->total, (long long)p->other_shards);
    print_left_out(s);
    if (p && p->audio_none > 0)
        fprintf(stderr, "vidx run: %lld videos without audio (ok; audio \"none\" in the catalog)\n",
                (long long)p->audio_none);
    fprintf(stderr,
            "vidx run: %lld frames, %.1f MB in %.2f s (%.1f frames/s, %.2f videos/s) -> %s\n",
            (long long)s->frames, s->bytes / 1e6, s->seconds,
            s->seconds > 0 ? s->frames / s->seconds : 0.0,
            s->seconds > 0 ? s->done / s->seconds : 0.0, out);
    if (s->seconds > 0)
        fprintf(stderr, "vidx run: store + catalog %.2f s (%.1f%% of the wall time)\n",
                s->commit_seconds, 100.0 * s->commit_seconds / s->seconds);
    if (p) {
        print_tally("decoded on", ":", &p->devices);
        print_tally("not ok by class", "", &p->classes);
    }
    if (failed > 0)
        fprintf(stderr, "vidx run: see the failures with: vidx status %s\n", out);
}
