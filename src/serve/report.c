/*
 * report.c - vidx report: one self-contained HTML file summarising a run
 * (vidx/serve.h): the overview's counts, the failures with their reasons, and
 * a contact sheet per video with its frames inlined as data: URIs (JPEG
 * frames scaled to thumbnails, encode/thumb.h; other images inlined when
 * small), each captioned with its frame label when the run made labels
 * (--label-url). The same catalog views as the dashboard (serve/api.h).
 *
 * The user's files: the report is written to a temporary file beside path
 * and renamed over it. A file already at path is replaced only when its
 * first bytes carry the report's generator mark; anything else is refused,
 * and a path that appears while the report is written is not overwritten
 * (renameat2 RENAME_NOREPLACE).
 */
#include "serve/api.h"
#include "encode/thumb.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vidx/serve.h"

#define REPORT_MARK      "<meta name=\"generator\" content=\"vidx report\">"
#define REPORT_THUMB_W   240
#define REPORT_RAW_MAX   (192 * 1024) /* a non-JPEG frame inlined as it is up to this size */
#define REPORT_FAILS_MAX 10000

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
    "h1{font-size:1.5em}h2{margin-top:1.5em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}"
    ".sheet{display:flex;flex-wrap:wrap;gap:4px;margin:.5em 0 1.5em}"
    ".sheet figure{margin:0;font-size:11px;color:#555}.sheet img{display:block;width:160px}"
    ".sheet figcaption{width:160px}.label{color:#222}.tags{color:#357}"
    ".cap{color:#a60;font-weight:bold}.bad{color:#b00}.muted{color:#777}";

static void put_escaped(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static void put_base64(FILE *f, const uint8_t *d, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        fputc(t[v >> 18 & 63], f);
        fputc(t[v >> 12 & 63], f);
        fputc(i + 1 < n ? t[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? t[v & 63] : '=', f);
    }
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* 1: path is a file this function wrote (its mark in the first bytes); 0 not; -errno. */
static int is_report(const char *path)
{
    char head[512];
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct stat st;
    ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, head, sizeof(head) - 1) : -1;
    close(fd);
    if (n < 0)
        return 0;
    head[n] = 0;
    return strstr(head, REPORT_MARK) != NULL;
}

/* The label of frame seq, if the run labelled it: its caption and tags, or why it has none. */
static void put_label(FILE *f, json_t *labels, int64_t seq)
{
    json_t *l, *tag;
    size_t i, k;
    json_array_foreach(labels, i, l)
    {
        if (json_integer_value(json_object_get(l, "seq")) != seq)
            continue;
        if (json_is_string(json_object_get(l, "error"))) {
            fprintf(f, "<div class=bad>no label: ");
            put_escaped(f, str(l, "error"));
            fprintf(f, "</div>");
            return;
        }
        fprintf(f, "<div class=label>");
        put_escaped(f, str(l, "caption"));
        fprintf(f, "</div>");
        json_t *tags = json_object_get(l, "tags");
        if (json_array_size(tags)) {
            fprintf(f, "<div class=tags>");
            json_array_foreach(tags, k, tag)
            {
                fprintf(f, "%s", k ? ", " : "");
                put_escaped(f, json_string_value(tag));
            }
            fprintf(f, "</div>");
        }
        return;
    }
}

static void put_frame(FILE *f, VidxCatalog *c, int out_fd, int64_t id, json_t *fr, json_t *labels)
{
    ServeFrame sf;
    uint8_t *data = NULL, *thumb = NULL;
    size_t n = 0;
    int64_t seq = json_integer_value(json_object_get(fr, "seq"));
    double t = json_number_value(json_object_get(fr, "time"));
    fprintf(f, "<figure>");
    if (!json_is_string(json_object_get(fr, "location")))
        fprintf(f, "<span class=muted>duplicate of %lld</span>",
                (long long)json_integer_value(json_object_get(fr, "dup_of")));
    else if (vidx__serve_frame(c, out_fd, id, seq, &sf) < 0)
        fprintf(f, "<span class=bad>unreadable</span>");
    else {
        const char *mime = sf.mime;
        if (vidx__serve_frame_read(&sf, &data) == 0) {
            if (!strcmp(mime, "image/jpeg") &&
                vidx__jpeg_thumbnail(data, (size_t)sf.bytes, REPORT_THUMB_W, &thumb, &n) == 0) {
                fprintf(f, "<img alt=\"frame %lld\" src=\"data:image/jpeg;base64,", (long long)seq);
                put_base64(f, thumb, n);
                fprintf(f, "\">");
            } else if (sf.bytes <= REPORT_RAW_MAX) {
                fprintf(f, "<img alt=\"frame %lld\" src=\"data:%s;base64,", (long long)seq, mime);
                put_base64(f, data, (size_t)sf.bytes);
                fprintf(f, "\">");
            } else
                fprintf(f, "<span class=muted>too large to inline</span>");
        } else
            fprintf(f, "<span class=bad>unreadable</span>");
        close(sf.fd);
    }
    fprintf(f, "<figcaption>#%lld %.3f s", (long long)seq, t);
    put_label(f, labels, seq);
    fprintf(f, "</figcaption></figure>");
    free(data);
    free(thumb);
}

static int put_failures(FILE *f, VidxCatalog *c)
{
    CatalogView v = {.kind = CATALOG_VIEW_VIDEOS, .status = "failing", .limit = 500};
    json_t *page, *row;
    size_t i, shown = 0;
    int ret;
    fprintf(f, "<h2>Failures</h2><table><tr><th>video</th><th>status</th><th>class</th>"
               "<th>reason</th><th>attempts</th></tr>");
    for (;;) {
        if ((ret = vidx__serve_videos(c, &v, &page)) < 0)
            return ret;
        json_t *rows = json_object_get(page, "videos");
        json_array_foreach(rows, i, row)
        {
            if (shown++ >= REPORT_FAILS_MAX)
                break;
            fprintf(f, "<tr><td>");
            put_escaped(f, str(row, "path"));
            fprintf(f, "</td><td class=bad>");
            put_escaped(f, str(row, "status"));
            fprintf(f, "</td><td>");
            put_escaped(f, str(row, "error_class"));
            fprintf(f, "</td><td>");
            put_escaped(f, str(row, "error"));
            fprintf(f, "</td><td>%lld</td></tr>",
                    (long long)json_integer_value(json_object_get(row, "attempts")));
        }
        json_t *next = json_object_get(page, "next");
        json_int_t matching = json_integer_value(json_object_get(page, "matching"));
        int more = json_is_integer(next) && shown < REPORT_FAILS_MAX;
        v.after = json_integer_value(next);
        json_decref(page);
        if (!more) {
            fprintf(f, "</table>");
            if ((json_int_t)shown < matching)
                fprintf(f, "<p class=cap>capped: %zu of %lld failures listed</p>",
                        VIDX_MIN(shown, (size_t)REPORT_FAILS_MAX), (long long)matching);
            return 0;
        }
    }
}

static int put_sheets(FILE *f, VidxCatalog *c, const ServeOut *o, int out_fd, int max_videos,
                      int max_frames)
{
    CatalogView v = {.kind = CATALOG_VIEW_VIDEOS, .limit = 500};
    json_t *page, *row, *fr;
    size_t i, k;
    int shown = 0, ret;
    fprintf(f, "<h2>Contact sheets</h2>");
    for (;;) {
        if ((ret = vidx__serve_videos(c, &v, &page)) < 0)
            return ret;
        json_int_t matching = json_integer_value(json_object_get(page, "matching"));
        json_array_foreach(json_object_get(page, "videos"), i, row)
        {
            if (shown >= max_videos)
                break;
            shown++;
            int64_t id = json_integer_value(json_object_get(row, "id"));
            json_t *video;
            if (vidx__serve_video(c, o, id, 0, max_frames, &video) < 0)
                continue; /* gone since the page was read */
            fprintf(f, "<h3>");
            put_escaped(f, str(video, "path"));
            fprintf(f, " <small class=%s>", strcmp(str(video, "status"), "ok") ? "bad" : "muted");
            put_escaped(f, str(video, "status"));
            fprintf(f, "</small></h3>");
            if (json_is_string(json_object_get(video, "error"))) {
                fprintf(f, "<p class=bad>");
                put_escaped(f, str(video, "error"));
                fprintf(f, "</p>");
            }
            json_t *frames = json_object_get(video, "frame_rows");
            fprintf(f, "<div class=sheet>");
            json_t *labels = json_object_get(video, "labels");
            json_array_foreach(frames, k, fr) put_frame(f, c, out_fd, id, fr, labels);
            fprintf(f, "</div>");
            if (json_is_true(json_object_get(video, "frames_capped")))
                fprintf(f, "<p class=cap>capped: %zu of %lld frames shown</p>",
                        json_array_size(frames),
                        (long long)json_integer_value(json_object_get(video, "frames")));
            json_decref(video);
        }
        json_t *next = json_object_get(page, "next");
        int more = json_is_integer(next) && shown < max_videos;
        v.after = json_integer_value(next);
        json_decref(page);
        if (!more) {
            if (shown < matching)
                fprintf(f, "<p class=cap>capped: contact sheets of %d of %lld videos</p>", shown,
                        (long long)matching);
            return 0;
        }
    }
}

static int write_report(FILE *f, VidxCatalog *c, const ServeOut *o, int out_fd, int max_videos,
                        int max_frames)
{
    json_t *ov, *v;
    const char *k;
    int ret = vidx__serve_overview(c, o, 0, 0, &ov);
    if (ret < 0)
        return ret;
    fprintf(f, "<!doctype html>\n<html><head><meta charset=\"utf-8\">" REPORT_MARK
               "<title>vidx report: ");
    put_escaped(f, o->outdir);
    fprintf(f, "</title><style>%s</style></head><body><h1>vidx report: ", style);
    put_escaped(f, o->outdir);
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    fprintf(f, "</h1><p class=muted>made %s by vidx %s</p>", when, vidx_version());
    fprintf(f,
            "<h2>Counts</h2><table id=counts><tr><th>videos</th><td>%lld</td></tr>"
            "<tr><th>frames</th><td>%lld</td></tr>",
            (long long)json_integer_value(json_object_get(ov, "videos")),
            (long long)json_integer_value(json_object_get(ov, "frames")));
    json_object_foreach(json_object_get(ov, "counts"), k, v)
    {
        fprintf(f, "<tr><th>");
        put_escaped(f, k);
        fprintf(f, "</th><td>%lld</td></tr>", (long long)json_integer_value(v));
    }
    fprintf(f, "</table>");
    json_decref(ov);
    if ((ret = put_failures(f, c)) == 0)
        ret = put_sheets(f, c, o, out_fd, max_videos, max_frames);
    fprintf(f, "</body></html>\n");
    return ret;
}

int vidx_report(const char *outdir, const char *catalog, const char *path, int max_videos,
                int max_frames)
{
    struct stat st;
    char tmp[PATH_MAX], shown[512], dir_buf[PATH_MAX], base_buf[PATH_MAX];
    VidxCatalog *c = NULL;
    int ret, out_fd = -1, fd = -1, existed;
    FILE *f = NULL;
    if (!outdir || !path || !*path || max_videos < 0 || max_frames < 0)
        return VIDX_EUSAGE;
    max_videos = max_videos ? max_videos : 1000;
    max_frames = max_frames ? VIDX_MIN(max_frames, SERVE_FRAMES_MAX) : 12;
    existed = lstat(path, &st) == 0;
    if (existed && (!S_ISREG(st.st_mode) || is_report(path) != 1)) {
        vidx__log(VIDX_LOG_ERROR, "%s: exists and is not a vidx report; not overwritten", path);
        return -EEXIST;
    }
    if ((ret = vidx_catalog_open_at(&c, outdir, catalog, 1)) < 0)
        return ret;
    if ((out_fd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        ret = -errno;
        goto done;
    }
    snprintf(dir_buf, sizeof(dir_buf), "%s", path);
    snprintf(base_buf, sizeof(base_buf), "%s", path);
    if (snprintf(tmp, sizeof(tmp), "%s/.%s.vidx-XXXXXX", dirname(dir_buf), basename(base_buf)) >=
        (int)sizeof(tmp)) {
        ret = -ENAMETOOLONG;
        goto done;
    }
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0 || !(f = fdopen(fd, "w"))) {
        ret = -errno;
        vidx__log(VIDX_LOG_ERROR, "%s: cannot write the report: %s", path, strerror(errno));
        if (fd >= 0)
            unlink(tmp), close(fd);
        fd = -1;
        goto done;
    }
    fchmod(fd, 0644);
    if (catalog)
        vidx__catalog_mask_url(catalog, shown, sizeof(shown));
    char *canon = realpath(outdir, NULL); /* the retry command works from any folder */
    ServeOut o = {canon ? canon : outdir, catalog ? shown : NULL};
    ret = write_report(f, c, &o, out_fd, max_videos, max_frames);
    free(canon);
    if (fflush(f) != 0 || fsync(fd) != 0)
        ret = ret < 0 ? ret : -errno;
    if (fclose(f) != 0 && ret == 0)
        ret = -EIO;
    if (ret == 0 && (existed ? rename(tmp, path)
                             : renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE)) < 0) {
        ret = errno == EEXIST ? -EEXIST : -errno;
        vidx__log(VIDX_LOG_ERROR, "%s: %s; not overwritten", path,
                  ret == -EEXIST ? "appeared while the report was written" : strerror(-ret));
    }
    if (ret < 0)
        unlink(tmp);
done:
    if (out_fd >= 0)
        close(out_fd);
    vidx_catalog_close(&c);
    return ret;
}
