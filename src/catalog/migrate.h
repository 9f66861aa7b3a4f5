/*
 * migrate.h - brings a catalog written by an older vidx up to the current
 * schema (meta 'schema') when it is opened for writing.
 */
#ifndef VIDX_CATALOG_MIGRATE_H
#define VIDX_CATALOG_MIGRATE_H

#define VIDX_CATALOG_SCHEMA 8

#include "core/internal.h"

/*
 * Migrates catalog c (at path, for messages) in one transaction through its
 * ops, or does nothing when it is current. Returns 0, or VIDX_ECATALOG
 * (logged) on a database error or a schema newer than this vidx knows.
 */
int vidx__catalog_migrate(VidxCatalog *c, const char *path);

#endif
