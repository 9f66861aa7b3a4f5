/*
 * pg.h - the PostgreSQL connection under the catalog (catalog/postgres.c),
 * for other PostgreSQL code of the catalog layer (the work queue) that runs
 * its statements on the same connection. Internal: nothing outside
 * src/catalog/ includes it.
 *
 * Every statement goes through vidx__pg_exec: parameters only (never values
 * in the SQL text), SQLSTATE mapped to vidx codes, and the connection
 * restored when it was lost (server restart, network cut):
 *  - outside a transaction, the connection is reset with backoff for up to
 *    VIDX_PG_RECONNECT_S seconds (120 by default; logged once) and the
 *    statement is run again; past that, VIDX_ECATALOG;
 *  - inside a transaction (COMMIT included), the connection is reset and the
 *    call returns -EAGAIN: the transaction is gone and the caller redoes it
 *    from its BEGIN. A loss during COMMIT is ambiguous (the server may have
 *    committed): redone work must be idempotent.
 */
#ifndef VIDX_CATALOG_PG_H
#define VIDX_CATALOG_PG_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "catalog/catalog.h"

/*
 * Connects to url ("postgresql://...", "postgres://...", or "postgresql:" /
 * "postgres:" alone: everything from libpq's PG* environment variables).
 * readonly: every transaction of the session is read-only. VIDX_ECATALOG
 * (logged, password masked) when the server cannot be reached or refuses.
 */
int vidx__pg_connect(CatalogBackend **out, const char *url, int readonly);
void vidx__pg_disconnect(CatalogBackend *b);

/* 1 when s names a PostgreSQL catalog (postgresql: or postgres: URL). */
int vidx__pg_is_url(const char *s);

/* The backend's connection (a PostgreSQL catalog only). */
PGconn *vidx__pg_conn(CatalogBackend *b);

/* The catalog's URL for messages, its password masked. */
const char *vidx__pg_name(CatalogBackend *b);

/*
 * Runs sql with n text parameters (NULL: SQL NULL). 0 and *res (PQclear it;
 * res may be NULL) on success; else -ENOSPC (disk full, SQLSTATE 53100),
 * -EEXIST (unique violation, 23505), -EAGAIN (the connection was lost inside
 * a transaction and is back), VIDX_ECATALOG (logged with what and the cause).
 */
int vidx__pg_exec(CatalogBackend *b, const char *what, const char *sql, int n,
                  const char *const *params, PGresult **res);

/* Resets a lost connection with backoff (see above): 0 or VIDX_ECATALOG. */
int vidx__pg_reconnect(CatalogBackend *b);

/* url with the password (user:PASSWORD@, password=...) replaced by ***. */
void vidx__pg_mask_url(const char *url, char *out, size_t size);

/* Text parameters built on the stack: values formatted into buf. */
#define VIDX_PG_MAX_PARAMS 16
typedef struct PgParams {
    const char *v[VIDX_PG_MAX_PARAMS];
    char buf[VIDX_PG_MAX_PARAMS][32];
    int n;
} PgParams;

void vidx__pg_text(PgParams *p, const char *s); /* NULL: SQL NULL */
void vidx__pg_i64(PgParams *p, int64_t v);
void vidx__pg_f64(PgParams *p, double v); /* NaN: SQL NULL */

/* Column c of row r: text (NULL for NULL), int64 (0 for NULL). */
const char *vidx__pg_get(const PGresult *res, int r, int c);
int64_t vidx__pg_get_i64(const PGresult *res, int r, int c);

#endif
