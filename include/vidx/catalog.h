/*
 * vidx/catalog.h - a batch run's catalog: status and export; keeping an output
 * directory healthy (verify, du, gc).
 *
 * Part of the public API; include <vidx/vidx.h>, which includes every vidx header.
 */
#ifndef VIDX_CATALOG_H
#define VIDX_CATALOG_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Catalog queries: the catalog of a batch run's output directory (see
 * vidx/run.h). Opening checks that outdir is a vidx output (VIDX_ENOTOURS
 * otherwise) and never creates a catalog: read-only opens take no lock and run
 * alongside a writer.
 */
typedef struct VidxCatalog VidxCatalog;
VIDX_API int vidx_catalog_open(VidxCatalog **out, const char *outdir, int readonly);
/**
 * The same for an output whose catalog is at catalog: NULL (out/catalog.db,
 * SQLite) or a PostgreSQL URL (docs/CATALOG.md). An output and its catalog
 * belong together: another catalog is refused (VIDX_EUSAGE, nothing touched).
 */
VIDX_API int vidx_catalog_open_at(VidxCatalog **out, const char *outdir, const char *catalog,
                                  int readonly);
VIDX_API void vidx_catalog_close(VidxCatalog **c);
/** Counts by status and the failures with their reasons, as JSON. */
VIDX_API int vidx_catalog_status_json(VidxCatalog *c, char **json);
/**
 * Writes table ("videos", "frames", "audio", "shots", "segments", "labels") as "jsonl" or "csv"
 * to fd.
 */
VIDX_API int vidx_catalog_export(VidxCatalog *c, const char *table, const char *format, int fd);

/**
 * Checks every catalog entry of out against the disk (existence, size,
 * SHA-256). With repair, videos with a problem are removed from the catalog
 * (and their files), so the next run redoes them (repair is a writer: it takes
 * out's lock, VIDX_ELOCKED while a run holds it). *report: JSON (vidx_free).
 * Returns the number of problems found, or a negative code (VIDX_ENOTOURS when
 * out is not a vidx output: nothing is created there).
 */
VIDX_API int vidx_verify(const char *out, int repair, char **report);
/** vidx_verify with out's catalog at catalog (NULL: out/catalog.db; see vidx_catalog_open_at). */
VIDX_API int vidx_verify_at(const char *out, const char *catalog, int repair, char **report);

/** Space used under out by kind (frames, shards, objects, audio, manifests, catalog, scratch). */
VIDX_API int vidx_du(const char *out, char **report);
/** vidx_du for an output whose catalog is at catalog (checked to be out's). */
VIDX_API int vidx_du_at(const char *out, const char *catalog, char **report);

/** vidx_gc flags: report what would be removed, remove nothing; wait for a writer to finish. */
enum { VIDX_GC_DRY_RUN = 1, VIDX_GC_WAIT = 2 };

/**
 * Removes the files vidx made under out that no catalog row points at (left
 * by interrupted or abandoned work), and scratch. Only names vidx makes, in
 * the folders it owns, are candidates; anything else (and every symbolic
 * link) is left alone and listed in the report's "left_alone". *report: JSON
 * (vidx_free). VIDX_ENOTOURS when out is not a vidx output, VIDX_ELOCKED
 * when a run is writing to it (unless VIDX_GC_WAIT).
 */
VIDX_API int vidx_gc(const char *out, int flags, char **report);
/** vidx_gc with out's catalog at catalog (NULL: out/catalog.db; see vidx_catalog_open_at). */
VIDX_API int vidx_gc_at(const char *out, const char *catalog, int flags, char **report);

#ifdef __cplusplus
}
#endif
#endif /* VIDX_CATALOG_H */
