/* TEMPORARY (queue branch): minimal helpers over a PGconn until the pg branch lands. */
#include "catalog/pg.h"
#include <stdlib.h>
#include <string.h>
struct CatalogBackend { PGconn *conn; };
PGconn *vidx__pg_conn(CatalogBackend *b) { return b->conn; }
static int check(CatalogBackend *b, PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return 0;
    vidx__log(VIDX_LOG_ERROR, "catalog: %s", PQerrorMessage(b->conn));
    return VIDX_ECATALOG;
}
int vidx__pg_exec_script(CatalogBackend *b, const char *sql)
{ PGresult *r = PQexec(b->conn, sql); int ret = check(b, r); PQclear(r); return ret; }
int vidx__pg_begin(CatalogBackend *b) { return vidx__pg_exec_script(b, "BEGIN"); }
int vidx__pg_commit(CatalogBackend *b) { return vidx__pg_exec_script(b, "COMMIT"); }
void vidx__pg_rollback(CatalogBackend *b) { if (PQtransactionStatus(b->conn) != PQTRANS_IDLE) vidx__pg_exec_script(b, "ROLLBACK"); }
int vidx__pg_query(CatalogBackend *b, const char *sql, int n, const char *const *params, PGresult **res)
{ *res = PQexecParams(b->conn, sql, n, NULL, params, NULL, NULL, 0); int ret = check(b, *res); if (ret) { PQclear(*res); *res = NULL; } return ret; }
int vidx__pg_command(CatalogBackend *b, const char *sql, int n, const char *const *params, int64_t *rows)
{ PGresult *r; int ret = vidx__pg_query(b, sql, n, params, &r); *rows = ret ? 0 : strtoll(PQcmdTuples(r), NULL, 10); PQclear(r); return ret; }
CatalogBackend *vidx__pg_shim_open(const char *conninfo)
{ CatalogBackend *b = calloc(1, sizeof(*b)); b->conn = PQconnectdb(conninfo); return b; }
int vidx_catalog_open_at(VidxCatalog **out, const char *outdir, const char *catalog, int readonly)
{ (void)catalog; return vidx_catalog_open(out, outdir, readonly); }
int vidx__catalog_open_url(VidxCatalog **out, const char *url) { (void)out; (void)url; return VIDX_EUSAGE; }
