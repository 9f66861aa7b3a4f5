/*
 * vidx/serve.h - looking at a batch run's output: a read-only web dashboard
 * over its catalog (vidx_serve_*) and a one-file HTML report (vidx_report).
 *
 * Part of the public API; include <vidx/vidx.h>, which includes every vidx header.
 */
#ifndef VIDX_SERVE_H
#define VIDX_SERVE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct VidxServer VidxServer;

/**
 * Starts a dashboard over the output directory outdir (a vidx run output;
 * VIDX_ENOTOURS otherwise) and its catalog at catalog (NULL: outdir/catalog.db,
 * SQLite; or a PostgreSQL URL), listening on listen ("ADDR:PORT", "[ADDR]:PORT"
 * or NULL: 127.0.0.1:8470; port 0 picks a free one). The catalog is opened
 * read-only and read afresh by every request, so a run writing it is seen
 * live. A random access token is made at start (vidx_serve_token); every
 * request must carry it unless the address is a loopback one. The server
 * answers from its own threads until vidx_serve_stop. VIDX_EUSAGE for a bad
 * listen address (logged), -errno when it cannot listen there.
 */
VIDX_API int vidx_serve_start(VidxServer **out, const char *outdir, const char *catalog,
                              const char *listen);
/** The URL the server answers at ("http://ADDR:PORT/"), with the port it got. */
VIDX_API const char *vidx_serve_url(const VidxServer *s);
/** The access token (hex): "?token=..." on a first request, or "Authorization: Bearer ...". */
VIDX_API const char *vidx_serve_token(const VidxServer *s);
/** 1 when the server requires the token (it does not listen on a loopback address). */
VIDX_API int vidx_serve_token_required(const VidxServer *s);
/** Stops the server (waits for its requests to end) and frees it; *s is set to NULL. */
VIDX_API void vidx_serve_stop(VidxServer **s);

/**
 * Writes one self-contained HTML file summarising outdir's run (counts,
 * failures, a contact sheet per video with its images inlined) to path,
 * atomically. At most max_videos sheets (0: 1000) of at most max_frames
 * frames each (0: 12); a cap that cut something is said where it did. A file
 * already at path is replaced only when it is a vidx report; anything else
 * (another file, a directory, a link) is refused with -EEXIST (logged)
 * and left as it was.
 */
VIDX_API int vidx_report(const char *outdir, const char *catalog, const char *path, int max_videos,
                         int max_frames);

#ifdef __cplusplus
}
#endif
#endif /* VIDX_SERVE_H */
