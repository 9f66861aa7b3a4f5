/*
 * pg.c - see pg.h: the PostgreSQL connection of a catalog, its statements'
 * errors in vidx codes, and getting a lost connection back. The catalog's
 * statements themselves are in postgres.c (and the work queue's in its own
 * file); this file knows no table.
 */
#include "catalog/pg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct CatalogBackend {
    PGconn *conn;
    char name[512]; /* the URL for messages, password masked */
    int readonly;
};

int vidx__pg_is_url(const char *s)
{
    return s && (!strncmp(s, "postgresql:", 11) || !strncmp(s, "postgres:", 9));
}

/* Replaces what follows the first occurrence of key in s up to a stop char by ***. */
static void mask_after(char *s, size_t size, const char *key, const char *stops)
{
    char *at = strstr(s, key), rest[512];
    if (!at)
        return;
    at += strlen(key);
    size_t len = strcspn(at, stops);
    snprintf(rest, sizeof(rest), "%s", at + len);
    snprintf(at, size - (size_t)(at - s), "***%s", rest);
}

void vidx__pg_mask_url(const char *url, char *out, size_t size)
{
    snprintf(out, size, "%s", url ? url : "");
    char *auth = strstr(out, "://");
    if (auth) {
        auth += 3;
        size_t host = strcspn(auth, "/?");
        char *at = memchr(auth, '@', host);
        char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            char rest[512];
            snprintf(rest, sizeof(rest), "%s", at);
            snprintf(colon + 1, size - (size_t)(colon + 1 - out), "***%s", rest);
        }
    }
    mask_after(out, size, "password=", "&");
}

PGconn *vidx__pg_conn(CatalogBackend *b)
{
    return b->conn;
}

const char *vidx__pg_name(CatalogBackend *b)
{
    return b->name;
}

static void no_notices(void *arg, const char *message)
{
    (void)arg, (void)message; /* "relation already exists, skipping" and the like */
}

/* What a new or reset session needs: 0 or VIDX_ECATALOG. */
static int session_setup(CatalogBackend *b)
{
    if (!b->readonly)
        return 0;
    PGresult *r = PQexec(b->conn, "SET default_transaction_read_only = on");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? 0 : VIDX_ECATALOG;
}

/* The message of the connection's last failure, on one line. */
static const char *conn_error(CatalogBackend *b)
{
    static _Thread_local char msg[512];
    snprintf(msg, sizeof(msg), "%s", PQerrorMessage(b->conn));
    for (char *p = msg; *p; p++)
        if (*p == '\n')
            *p = p[1] ? ' ' : 0;
    return msg;
}

int vidx__pg_connect(CatalogBackend **out, const char *url, int readonly)
{
    CatalogBackend *b = calloc(1, sizeof(*b));
    *out = NULL;
    if (!b)
        return -ENOMEM;
    vidx__pg_mask_url(url, b->name, sizeof(b->name));
    b->readonly = readonly;
    /* "postgresql:" alone: libpq takes everything from PG* variables */
    int bare = !strcmp(url, "postgresql:") || !strcmp(url, "postgres:");
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *values[] = {"10", "vidx", bare ? "" : url, NULL};
    b->conn = PQconnectdbParams(keys, values, 1);
    if (!b->conn || PQstatus(b->conn) != CONNECTION_OK || session_setup(b) < 0) {
        vidx__log(VIDX_LOG_ERROR, "catalog %s: cannot connect: %s", b->name,
                  b->conn ? conn_error(b) : "out of memory");
        vidx__pg_disconnect(b);
        return VIDX_ECATALOG;
    }
    PQsetNoticeProcessor(b->conn, no_notices, NULL);
    *out = b;
    return 0;
}

void vidx__pg_disconnect(CatalogBackend *b)
{
    if (!b)
        return;
    PQfinish(b->conn);
    free(b);
}

static double reconnect_limit(void)
{
    const char *s = getenv("VIDX_PG_RECONNECT_S");
    double v = s && *s ? strtod(s, NULL) : 120;
    return v >= 0 ? v : 120;
}

int vidx__pg_reconnect(CatalogBackend *b)
{
    double limit = reconnect_limit(), waited = 0, pause = 0.1;
    vidx__log(VIDX_LOG_ERROR, "catalog %s: connection lost (%s); reconnecting for up to %g s",
              b->name, conn_error(b), limit);
    for (;;) {
        PQreset(b->conn);
        if (PQstatus(b->conn) == CONNECTION_OK && session_setup(b) == 0) {
            vidx__log(VIDX_LOG_WARNING, "catalog %s: reconnected", b->name);
            return 0;
        }
        if (waited >= limit)
            break;
        struct timespec ts = {(time_t)pause, (long)((pause - (time_t)pause) * 1e9)};
        nanosleep(&ts, NULL);
        waited += pause;
        pause = pause * 2 > 2 ? 2 : pause * 2;
    }
    vidx__log(VIDX_LOG_ERROR, "catalog %s: cannot reconnect after %g s: %s", b->name, limit,
              conn_error(b));
    return VIDX_ECATALOG;
}

/* A failed statement's result in vidx codes (logged unless expected by the caller). */
static int result_error(CatalogBackend *b, const char *what, const PGresult *r)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (state && !strcmp(state, "53100"))
        return -ENOSPC;
    if (state && !strcmp(state, "23505"))
        return -EEXIST;
    const char *msg = PQresultErrorMessage(r);
    vidx__log(VIDX_LOG_ERROR, "catalog %s: %s: %.*s", b->name, what,
              (int)strcspn(msg && *msg ? msg : conn_error(b), "\n"),
              msg && *msg ? msg : conn_error(b));
    return VIDX_ECATALOG;
}

static int in_transaction(CatalogBackend *b)
{
    PGTransactionStatusType t = PQtransactionStatus(b->conn);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

int vidx__pg_exec(CatalogBackend *b, const char *what, const char *sql, int n,
                  const char *const *params, PGresult **res)
{
    if (res)
        *res = NULL;
    for (int tries = 0;; tries++) {
        if (PQstatus(b->conn) != CONNECTION_OK && vidx__pg_reconnect(b) < 0)
            return VIDX_ECATALOG;
        int in_tx = in_transaction(b);
        PGresult *r = PQexecParams(b->conn, sql, n, NULL, params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            if (res)
                *res = r;
            else
                PQclear(r);
            return 0;
        }
        if (PQstatus(b->conn) == CONNECTION_OK || tries > 0) {
            int ret = result_error(b, what, r);
            PQclear(r);
            return ret;
        }
        PQclear(r); /* the connection is gone */
        if (vidx__pg_reconnect(b) < 0)
            return VIDX_ECATALOG;
        if (in_tx)
            return -EAGAIN; /* the transaction went with it: redo it */
    }
}

/* ---------------------------------------------------------------------- */
/* Parameters and results                                                  */
/* ---------------------------------------------------------------------- */

void vidx__pg_text(PgParams *p, const char *s)
{
    if (p->n < VIDX_PG_MAX_PARAMS)
        p->v[p->n++] = s;
}

void vidx__pg_i64(PgParams *p, int64_t v)
{
    if (p->n >= VIDX_PG_MAX_PARAMS)
        return;
    snprintf(p->buf[p->n], sizeof(p->buf[0]), "%lld", (long long)v);
    p->v[p->n] = p->buf[p->n];
    p->n++;
}

void vidx__pg_f64(PgParams *p, double v)
{
    if (p->n >= VIDX_PG_MAX_PARAMS)
        return;
    if (isnan(v))
        p->v[p->n] = NULL;
    else {
        if (isinf(v))
            snprintf(p->buf[p->n], sizeof(p->buf[0]), "%s", v > 0 ? "Infinity" : "-Infinity");
        else
            snprintf(p->buf[p->n], sizeof(p->buf[0]), "%.17g", v);
        p->v[p->n] = p->buf[p->n];
    }
    p->n++;
}

const char *vidx__pg_get(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

int64_t vidx__pg_get_i64(const PGresult *res, int r, int c)
{
    const char *s = vidx__pg_get(res, r, c);
    return s ? strtoll(s, NULL, 10) : 0;
}
