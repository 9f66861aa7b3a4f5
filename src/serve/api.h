/*
 * api.h - what the dashboard (server.c) and the report (report.c) show, as
 * JSON, read through the catalog's views (catalog/catalog.h, CatalogView):
 * the overview, failures by class, pages of videos, one video. docs/SERVE.md
 * documents every object. Every list is bounded (SERVE_*_MAX).
 */
#ifndef VIDX_SERVE_API_H
#define VIDX_SERVE_API_H

#include <jansson.h>

#include "catalog/catalog.h"
#include "serve/frame.h"

#define SERVE_PAGE_DEFAULT   100
#define SERVE_PAGE_MAX       500   /* videos in one page */
#define SERVE_FRAMES_MAX     2000  /* frames of one video in one answer */
#define SERVE_ROWS_MAX       10000 /* shots, segments of one video */
#define SERVE_TIMELINE_MAX   2000  /* points of the throughput series */
#define SERVE_QUERY_TEXT_MAX 256   /* a filter's text */

/* What a server or report knows of its output: for the retry command and the frames. */
typedef struct ServeOut {
    const char *outdir;  /* as given */
    const char *catalog; /* NULL, or the URL with its password masked */
} ServeOut;

/* The rows of view v as an array of objects (column: value); NULL on error (*err). */
json_t *vidx__serve_rows(VidxCatalog *c, const CatalogView *v, int *err);

/*
 * The overview: counts by status, totals, the throughput series (bucket and
 * since: <= 0 picks them: since the running run's start, else the last hour,
 * in about 60 buckets), the run noted in the catalog (state, done, rate,
 * ETA) and, with a work queue, its counts and workers.
 */
int vidx__serve_overview(VidxCatalog *c, const ServeOut *o, double bucket, double since,
                         json_t **out);

/* The videos not ok by status and class, with the command that redoes them. */
int vidx__serve_failures(VidxCatalog *c, const ServeOut *o, json_t **out);

/* A page of videos (v: CATALOG_VIEW_VIDEOS's filters, after, limit): rows, matching, next. */
int vidx__serve_videos(VidxCatalog *c, const CatalogView *v, json_t **out);

/* Video id with its probe, frames (from seq first, at most max), shots, transcript, audio;
 * -ENOENT when there is none. */
int vidx__serve_video(VidxCatalog *c, const ServeOut *o, int64_t id, int64_t first, int64_t max,
                      json_t **out);

/* Frame seq of video id opened from where the catalog puts it (serve/frame.h); -ENOENT. */
int vidx__serve_frame(VidxCatalog *c, int out_fd, int64_t id, int64_t seq, ServeFrame *f);

/* s quoted for a POSIX shell (malloc'd). */
char *vidx__serve_shell_quote(const char *s);

#endif
