/*
 * progress.c - how a run shows itself: a one-line live bar on a TTY (stderr),
 * JSON-lines events for machines (--progress json), nothing otherwise; and
 * the final summary.
 */
#include "cli.h"

#include <stdio.h>
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

static void json_event(const VidxRunEvent *ev)
{
    const VidxRunSummary *s = ev->summary;
    static const char *const names[] = {"start", "video", "tick", "end"};
    if (ev->type == VIDX_EVENT_TICK)
        return;
    printf("{\"event\":\"%s\",\"done\":%lld,\"total\":%lld,\"skipped\":%lld,\"frames\":%lld,"
           "\"seconds\":%.3f",
           names[ev->type], (long long)s->done, (long long)s->total, (long long)s->skipped,
           (long long)s->frames, s->seconds);
    if (ev->type == VIDX_EVENT_VIDEO) {
        char esc[1024];
        size_t k = 0;
        for (const char *p = ev->path; *p && k < sizeof(esc) - 7; p++) {
            if (*p == '"' || *p == '\\')
                esc[k++] = '\\';
            esc[k++] = (unsigned char)*p < 0x20 ? '?' : *p;
        }
        esc[k] = 0;
        printf(",\"path\":\"%s\",\"status\":\"%s\",\"class\":\"%s\",\"video_frames\":%lld", esc,
               vidx_video_status_name(ev->status), ev->error_class ? ev->error_class : "",
               (long long)ev->frames);
    }
    printf("}\n");
    fflush(stdout);
}

void cli_progress_event(void *opaque, const VidxRunEvent *ev)
{
    const CliProgress *p = opaque;
    if (p->mode == CLI_PROGRESS_JSON) {
        json_event(ev);
        return;
    }
    if (p->mode != CLI_PROGRESS_BAR)
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

void cli_print_summary(const VidxRunSummary *s, const char *out)
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
    fprintf(stderr,
            "vidx run: %lld frames, %.1f MB in %.2f s (%.1f frames/s, %.2f videos/s) -> %s\n",
            (long long)s->frames, s->bytes / 1e6, s->seconds,
            s->seconds > 0 ? s->frames / s->seconds : 0.0,
            s->seconds > 0 ? s->done / s->seconds : 0.0, out);
    if (failed > 0)
        fprintf(stderr, "vidx run: see the failures with: vidx status %s\n", out);
}
