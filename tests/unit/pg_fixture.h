/*
 * pg_fixture.h - a fresh PostgreSQL database per unit test, on the server
 * VIDX_TEST_PG names (scripts/services.sh pg-start, which scripts/test.sh
 * runs). Header-only: each test executable includes it once.
 */
#ifndef VIDX_TESTS_PG_FIXTURE_H
#define VIDX_TESTS_PG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

/* Runs sql on the test server's maintenance database: 0 or -1. */
static inline int pg_admin(const char *sql)
{
    PGconn *c = PQconnectdb(getenv("VIDX_TEST_PG"));
    PGresult *r = PQexec(c, sql);
    int ok = PQstatus(c) == CONNECTION_OK && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "VIDX_TEST_PG: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

/* Creates a fresh database (its name in db, its URL in url); -1 when there is no server. */
static inline int pg_fresh_db(char db[64], char url[512])
{
    static int n;
    char sql[128];
    const char *base = getenv("VIDX_TEST_PG"), *slash = base ? strrchr(base, '/') : NULL;
    if (!slash || slash - base < 12) {
        fprintf(stderr, "VIDX_TEST_PG is not set: start PostgreSQL (scripts/services.sh)\n");
        return -1;
    }
    snprintf(db, 64, "vidx_unit_%ld_%d", (long)getpid(), n++);
    snprintf(url, 512, "%.*s/%s", (int)(slash - base), base, db);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
    return pg_admin(sql);
}

/* Drops a database pg_fresh_db made. */
static inline void pg_drop_db(const char *db)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    pg_admin(sql);
}

#endif
