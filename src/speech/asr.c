/*
 * asr.c - what every speech backend shares: the segment list, and the run of
 * a backend over a whole recording. Long audio is cut into chunks of at most
 * chunk_seconds, each cut placed at the quietest 20 ms window of the last
 * half of the allowed length (a pause between words rather than the middle of
 * one); each chunk is transcribed with its start time as offset, so the
 * backend's segments come back on the recording's clock, in order.
 */
#include "speech/asr.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#define CUT_WINDOW (VIDX_ASR_RATE / 50) /* 20 ms */

void vidx__asr_segments_free(AsrSegments *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].text);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* Copy of text without leading/trailing white space, or NULL. */
static char *trimmed(const char *text)
{
    size_t len = strlen(text);
    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    while (len && isspace((unsigned char)*text)) {
        text++;
        len--;
    }
    char *t = malloc(len + 1);
    if (t) {
        memcpy(t, text, len);
        t[len] = 0;
    }
    return t;
}

/* Appends a segment, its text trimmed; one whose text is empty once trimmed is dropped. */
int vidx__asr_segments_add(AsrSegments *s, double start, double end, const char *text)
{
    char *t = trimmed(text ? text : "");
    if (!t)
        return -ENOMEM;
    if (!*t) {
        free(t);
        return 0;
    }
    if (vidx__grow(&s->v, &s->cap, s->n + 1, sizeof(*s->v), 16) < 0) {
        free(t);
        return -ENOMEM;
    }
    s->v[s->n++] = (AsrSegment){start, end < start ? start : end, t};
    return 0;
}

static double window_energy(const float *pcm, size_t len)
{
    double e = 0;
    for (size_t i = 0; i < len; i++)
        e += (double)pcm[i] * pcm[i];
    return e;
}

size_t vidx__asr_cut(const float *pcm, size_t n, size_t limit)
{
    if (n <= limit)
        return n;
    size_t win = VIDX_MIN((size_t)CUT_WINDOW, VIDX_MAX(limit / 4, (size_t)1));
    size_t best = limit, lo = limit / 2;
    double quietest = DBL_MAX;
    /* Windows ending at or before limit, stepping back from it by half a window. */
    for (size_t end = limit; end >= lo + win && end >= win; end -= VIDX_MAX(win / 2, (size_t)1)) {
        double e = window_energy(pcm + end - win, win);
        if (e < quietest) {
            quietest = e;
            best = end - win / 2;
        }
    }
    return best ? best : limit;
}

static int run_chunks(const AsrOps *ops, AsrBackend *b, const AsrConfig *cfg, const float *pcm,
                      size_t n, AsrSegments *out)
{
    double secs = cfg->chunk_seconds > 0 ? cfg->chunk_seconds : 30;
    /* (a limit past the recording is the recording: no overflowing conversion) */
    size_t limit = secs * VIDX_ASR_RATE >= (double)n ? n : (size_t)(secs * VIDX_ASR_RATE);
    limit = VIDX_MAX(limit, (size_t)1);
    for (size_t at = 0; at < n;) {
        size_t len = vidx__asr_cut(pcm + at, n - at, limit);
        int ret = ops->transcribe(b, pcm + at, len, (double)at / VIDX_ASR_RATE, out);
        if (ret < 0)
            return ret;
        at += len;
    }
    return 0;
}

int vidx__asr_run(const AsrOps *ops, const AsrConfig *cfg, const float *pcm, size_t n,
                  AsrSegments *out)
{
    AsrBackend *b = NULL;
    int ret = ops->open(&b, cfg);
    if (ret < 0)
        return ret;
    ret = run_chunks(ops, b, cfg, pcm, n, out);
    ops->close(b);
    return ret;
}
