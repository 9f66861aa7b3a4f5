/*
 * bind.h - an output directory and its catalog belong together: OUT's
 * marker records an output id and the catalog kind (store/outdir.h), a
 * PostgreSQL catalog records the output id in its meta table. gc and verify
 * judge OUT's files against its catalog, so a catalog that is not OUT's is
 * refused before anything is changed.
 */
#ifndef VIDX_CATALOG_BIND_H
#define VIDX_CATALOG_BIND_H

#include "catalog/catalog.h"
#include "store/outdir.h"

/*
 * Before the catalog is opened: VIDX_EUSAGE (logged: both named, and the fix)
 * when OUT's catalog is of the other kind than location (NULL: SQLite in OUT,
 * else a PostgreSQL URL). *ob: OUT's binding.
 */
int vidx__catalog_bind_check(const char *outdir, const char *location, OutdirBinding *ob);

/*
 * After it is opened (shown: the URL to name, password masked; NULL for
 * SQLite): a PostgreSQL catalog must record OUT's output id (a writer records
 * it when the catalog has none and OUT is bound to no catalog yet); writers
 * record the catalog kind in OUT's marker. 0 or VIDX_EUSAGE / an error.
 */
int vidx__catalog_bind(VidxCatalog *c, const char *outdir, const char *shown, int readonly,
                       const OutdirBinding *ob);

/* As vidx__catalog_bind for a writer, recording nothing: a PostgreSQL catalog only. */
int vidx__catalog_bind_peek(VidxCatalog *c, const char *outdir, const char *shown,
                            const OutdirBinding *ob);

#endif
