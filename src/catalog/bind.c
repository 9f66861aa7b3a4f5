/*
 * bind.c - see bind.h. The order makes an interrupted first open harmless:
 * the PostgreSQL catalog records OUT's id first (atomically: the first
 * writer's id wins), then OUT's marker records the kind; an open that finds
 * the id recorded and the kind not yet completes the binding.
 */
#include "catalog/bind.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define OUTPUT_ID "output_id"

static int has_sqlite_catalog(const char *outdir)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof(path), "%s/catalog.db", outdir);
    return lstat(path, &st) == 0;
}

int vidx__catalog_bind_check(const char *outdir, const char *location, OutdirBinding *ob)
{
    int ret = vidx__outdir_binding(outdir, ob);
    if (ret < 0)
        return ret;
    if (location &&
        (!strcmp(ob->catalog, "sqlite") || (!ob->catalog[0] && has_sqlite_catalog(outdir)))) {
        vidx__log(VIDX_LOG_ERROR,
                  "%s: refused: this output's catalog is %s/catalog.db (SQLite), not the "
                  "--catalog URL given; nothing was changed. Run without --catalog, or write to "
                  "a new OUT with the PostgreSQL catalog",
                  outdir, outdir);
        return VIDX_EUSAGE;
    }
    if (!location && !strcmp(ob->catalog, "postgresql")) {
        vidx__log(VIDX_LOG_ERROR,
                  "%s: refused: this output's catalog is in PostgreSQL (%s says so), not "
                  "%s/catalog.db; nothing was changed. Pass --catalog with the postgresql:// URL "
                  "it was made with",
                  outdir, VIDX_OUTDIR_MARKER, outdir);
        return VIDX_EUSAGE;
    }
    return 0;
}

static int mismatch(const char *outdir, const char *shown, const char *ours, const char *theirs)
{
    vidx__log(VIDX_LOG_ERROR,
              "%s: refused: catalog %s is not this output's (output id %s in %s; the catalog "
              "%s%s); nothing was changed. Use the --catalog this output was made with, or a new "
              "OUT (one catalog database or schema per output)",
              outdir, shown, ours[0] ? ours : "(none)", VIDX_OUTDIR_MARKER,
              theirs[0] ? "records output " : "records no output", theirs);
    return VIDX_EUSAGE;
}

/* A writer's first open of OUT with this catalog: record the id, then the kind. */
static int record(VidxCatalog *c, const char *outdir, const char *shown)
{
    OutdirBinding nb;
    char have[64] = "";
    int ret = vidx__outdir_bind(outdir, NULL, &nb); /* an id for markers that predate ids */
    if (ret < 0)
        return ret;
    if (!nb.id[0])
        return mismatch(outdir, shown, "", ""); /* no marker: not claimed */
    ret = vidx__catalog_meta_add(c, OUTPUT_ID, nb.id);
    if (ret == 0 && (ret = vidx__catalog_meta_get(c, OUTPUT_ID, have, sizeof(have))) >= 0 &&
        strcmp(have, nb.id))
        return mismatch(outdir, shown, nb.id, have); /* another OUT won the race */
    if (ret < 0)
        return ret;
    return vidx__outdir_bind(outdir, "postgresql", &nb);
}

/* mode: BIND_RECORD (a writer), BIND_READ (a reader), BIND_PEEK (a writer, before its lock). */
enum { BIND_RECORD, BIND_READ, BIND_PEEK };

static int bind_pg(VidxCatalog *c, const char *outdir, const char *shown, int mode,
                   const OutdirBinding *ob)
{
    char have[64] = "";
    OutdirBinding nb;
    int found =
        vidx__catalog_is_empty(c) ? 0 : vidx__catalog_meta_get(c, OUTPUT_ID, have, sizeof(have));
    if (found < 0)
        return found;
    if (found && ob->id[0] && !strcmp(have, ob->id)) /* ours */
        return mode != BIND_RECORD || ob->catalog[0] ? 0
                                                     : vidx__outdir_bind(outdir, "postgresql", &nb);
    if (found || mode == BIND_READ || ob->catalog[0]) /* another output's, or OUT is elsewhere */
        return mismatch(outdir, shown, ob->id, have);
    return mode == BIND_PEEK ? 0 : record(c, outdir, shown);
}

int vidx__catalog_bind(VidxCatalog *c, const char *outdir, const char *shown, int readonly,
                       const OutdirBinding *ob)
{
    if (shown)
        return bind_pg(c, outdir, shown, readonly ? BIND_READ : BIND_RECORD, ob);
    if (readonly || ob->catalog[0])
        return 0;
    OutdirBinding nb;
    return vidx__outdir_bind(outdir, "sqlite", &nb);
}

int vidx__catalog_bind_peek(VidxCatalog *c, const char *outdir, const char *shown,
                            const OutdirBinding *ob)
{
    return bind_pg(c, outdir, shown, BIND_PEEK, ob);
}
