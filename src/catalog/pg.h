/* TEMPORARY (queue branch): the helpers pg_queue.c needs; replaced by the pg branch's pg.h. */
#ifndef VIDX_CATALOG_PG_H
#define VIDX_CATALOG_PG_H
#include <libpq-fe.h>
#include "catalog/catalog.h"
PGconn *vidx__pg_conn(CatalogBackend *b);
int vidx__pg_begin(CatalogBackend *b);
int vidx__pg_commit(CatalogBackend *b);
void vidx__pg_rollback(CatalogBackend *b);
int vidx__pg_exec_script(CatalogBackend *b, const char *sql);
int vidx__pg_query(CatalogBackend *b, const char *sql, int n, const char *const *params, PGresult **res);
int vidx__pg_command(CatalogBackend *b, const char *sql, int n, const char *const *params, int64_t *rows);
#endif
