/*
 * subtitles.c - a transcript's segments as JSON, SubRip or WebVTT. Times are
 * rounded to the millisecond (negative ones shown as 0). Cue text is one
 * line: runs of line breaks and tabs become one space, so a segment cannot
 * end its cue early with a blank line; WebVTT's markup characters (&, <, >)
 * are escaped as entities, which also keeps "-->" out of cue text.
 */
#include "speech/subtitles.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "core/internal.h"

void vidx__subtitles_time(char buf[32], double t, char sep)
{
    long long ms = t > 0 && isfinite(t) ? llround(t * 1000) : 0;
    if (ms > 99LL * 3600000 + 3599999)
        ms = 99LL * 3600000 + 3599999;
    snprintf(buf, 32, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
             sep, ms % 1000);
}

static void put_cue_text(FILE *f, const char *text, int vtt)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            while (p[1] == '\n' || p[1] == '\r' || p[1] == '\t')
                p++;
            fputc(' ', f);
        } else if (vtt && *p == '&')
            fputs("&amp;", f);
        else if (vtt && *p == '<')
            fputs("&lt;", f);
        else if (vtt && *p == '>')
            fputs("&gt;", f);
        else
            fputc(*p, f);
    }
    fputc('\n', f);
}

static void write_cues(FILE *f, const AsrSegments *segs, int vtt)
{
    char a[32], b[32];
    if (vtt)
        fputs("WEBVTT\n", f);
    for (size_t i = 0; i < segs->n; i++) {
        vidx__subtitles_time(a, segs->v[i].start, vtt ? '.' : ',');
        vidx__subtitles_time(b, segs->v[i].end, vtt ? '.' : ',');
        if (vtt)
            fprintf(f, "\n%s --> %s\n", a, b);
        else
            fprintf(f, "%s%zu\n%s --> %s\n", i ? "\n" : "", i + 1, a, b);
        put_cue_text(f, segs->v[i].text, vtt);
    }
}

static json_t *segments_json(const AsrSegments *segs)
{
    json_t *arr = json_array(), *root = json_object();
    if (!arr || !root || json_object_set(root, "segments", arr) < 0)
        goto fail;
    for (size_t i = 0; i < segs->n; i++) {
        const AsrSegment *s = &segs->v[i];
        json_t *o = json_pack("{s:f, s:f, s:s}", "start", s->start, "end", s->end, "text", s->text);
        if (!o || json_array_append_new(arr, o) < 0)
            goto fail;
    }
    json_decref(arr);
    return root;
fail:
    json_decref(arr);
    json_decref(root);
    return NULL;
}

static int write_json(FILE *f, const AsrSegments *segs)
{
    json_t *root = segments_json(segs);
    if (!root)
        return -ENOMEM;
    int ret = json_dumpf(root, f, JSON_INDENT(0) | JSON_REAL_PRECISION(10) | JSON_ENSURE_ASCII);
    json_decref(root);
    fputc('\n', f);
    return ret < 0 ? -EIO : 0;
}

int vidx__subtitles_write(FILE *f, const AsrSegments *segs, int format)
{
    if (format == VIDX_SUBS_JSON)
        return write_json(f, segs);
    if (format != VIDX_SUBS_SRT && format != VIDX_SUBS_VTT)
        return vidx__detail(VIDX_EUSAGE, "unknown subtitle format %d", format);
    write_cues(f, segs, format == VIDX_SUBS_VTT);
    return ferror(f) ? -EIO : 0;
}
