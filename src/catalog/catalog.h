/*
 * catalog.h - the batch catalog (SQLite, OUT/catalog.db, WAL): what was
 * processed, how it ended, and where every frame is. Only the supervisor
 * writes it. Schema: docs/CATALOG.md.
 */
#ifndef VIDX_CATALOG_CATALOG_H
#define VIDX_CATALOG_CATALOG_H

#include "core/internal.h"

/* What the catalog knows of one input from earlier runs. */
typedef struct CatalogPrior {
    int found;
    VidxVideoStatus status;
    char fingerprint[64];
    char options[32];
    int attempts;
} CatalogPrior;

/* One finished video, as the worker reported it. */
typedef struct CatalogVideo {
    const char *path, *key, *fingerprint, *options;
    int64_t size, mtime;
    VidxVideoStatus status;
    const char *error_class, *error;
    double started, seconds;
    const char *probe_json;
    const VidxFrameRecord *frames;
    size_t n_frames;
    const char *frames_dir; /* relative to OUT: locations are frames_dir/path */
    const char *audio_path; /* relative to OUT, or NULL */
    int audio_rate, audio_channels;
    double audio_duration;
} CatalogVideo;

int vidx__catalog_prior(VidxCatalog *c, const char *path, CatalogPrior *out);
/* Replaces the video's rows (video, frames, audio) in one transaction. */
int vidx__catalog_record(VidxCatalog *c, const CatalogVideo *v);

#endif
