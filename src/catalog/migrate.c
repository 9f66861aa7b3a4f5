/*
 * migrate.c - catalog schema upgrades, run when a catalog is opened for
 * writing (docs/CATALOG.md, "Schema versions").
 *
 * Schema 1 (no 'schema' row in meta) keyed videos by the path as it was
 * typed; schema 2 keys them by the canonical path (core/path.h). Upgrading
 * rewrites videos.path and nothing else, in one transaction:
 *  - URLs stay as they are;
 *  - an absolute path becomes its canonical form;
 *  - a relative path is taken against the current directory only when the
 *    file there is the one the row describes (same size, mtime and content
 *    fingerprint): the old run's directory is not known. Otherwise the row is
 *    left as it was, and tried again at every later open for writing (schema
 *    2 never writes a relative path, so such a row is always a leftover): a
 *    run started from the old directory adopts it;
 *  - a row whose canonical path another row already holds is left as it was.
 * Output keys never change, so frames/<key>/ of every row stays valid and a
 * migrated video that is done is not redone.
 */
#include "catalog/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "batch/inputs.h"
#include "core/internal.h"

typedef struct OldRow {
    int64_t id, size, mtime;
    char *path, *fingerprint;
} OldRow;

static int fail(sqlite3 *db, const char *path, const char *what)
{
    vidx__log(VIDX_LOG_ERROR, "catalog %s: %s: %s", path, what, sqlite3_errmsg(db));
    return VIDX_ECATALOG;
}

static int schema_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema'", -1, &st, NULL))
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    else if (rc == SQLITE_DONE)
        v = 1; /* written before versions were recorded */
    sqlite3_finalize(st);
    return v;
}

/* The file at the row's relative path from here is the row's file. */
static int same_file(const char *canon, const OldRow *row)
{
    struct stat st;
    char fp[64];
    int64_t size, mtime;
    if (stat(canon, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != row->size ||
        (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec != row->mtime)
        return 0;
    return vidx__input_fingerprint(canon, fp, &size, &mtime) == 0 && row->fingerprint &&
           !strcmp(fp, row->fingerprint);
}

/* The row's schema-2 path, or NULL to leave it as it is. */
static char *new_path(const OldRow *row)
{
    if (vidx__is_url(row->path))
        return NULL;
    char *canon = vidx__path_canonical(row->path, NULL);
    if (canon && row->path[0] != '/' && !same_file(canon, row)) {
        free(canon);
        return NULL;
    }
    return canon;
}

/* Rows schema 2 never writes: relative paths. */
#define LEFTOVER                                                                                   \
    " WHERE substr(path, 1, 1) <> '/' AND substr(path, 1, 7) <> 'http://' AND"                     \
    " substr(path, 1, 8) <> 'https://'"

static int has_leftovers(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM videos" LEFTOVER " LIMIT 1", -1, &st, NULL))
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Every row (all), or the leftovers of an earlier upgrade. */
static int load_rows(sqlite3 *db, int all, OldRow **rows, size_t *n)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    *rows = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db,
                           all ? "SELECT id, path, size, mtime, fingerprint FROM videos"
                               : "SELECT id, path, size, mtime, fingerprint FROM videos" LEFTOVER,
                           -1, &st, NULL))
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (vidx__grow(rows, &cap, *n + 1, sizeof(**rows), 256) < 0)
            break;
        const char *fp = (const char *)sqlite3_column_text(st, 4);
        OldRow *r = &(*rows)[(*n)++];
        r->id = sqlite3_column_int64(st, 0);
        r->path = strdup((const char *)sqlite3_column_text(st, 1));
        r->size = sqlite3_column_int64(st, 2);
        r->mtime = sqlite3_column_int64(st, 3);
        r->fingerprint = fp ? strdup(fp) : NULL;
        if (!r->path)
            break;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Rewrites the rows' paths; counts what changed and what was left. */
static int rewrite(sqlite3 *db, OldRow *rows, size_t n, int *changed, int *left)
{
    sqlite3_stmt *st;
    int ret = 0;
    if (sqlite3_prepare_v2(db, "UPDATE OR IGNORE videos SET path=?1 WHERE id=?2", -1, &st, NULL))
        return -1;
    for (size_t i = 0; i < n && ret == 0; i++) {
        char *p = new_path(&rows[i]);
        if (p && strcmp(p, rows[i].path)) {
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, p, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, rows[i].id);
            ret = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
            *(sqlite3_changes(db) ? changed : left) += 1; /* ignored: the path is taken */
        } else if (!p && !vidx__is_url(rows[i].path))
            (*left)++;
        free(p);
    }
    sqlite3_finalize(st);
    return ret;
}

static void free_rows(OldRow *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].path);
        free(rows[i].fingerprint);
    }
    free(rows);
}

/* all: from schema 1 (every row, then the version); else only the leftovers. */
static int upgrade(sqlite3 *db, const char *path, int all)
{
    OldRow *rows = NULL;
    size_t n = 0;
    int changed = 0, left = 0, ret;
    if (!all && (ret = has_leftovers(db)) <= 0)
        return ret < 0 ? fail(db, path, "reading") : 0;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL))
        return fail(db, path, "upgrading");
    ret = load_rows(db, all, &rows, &n) == 0 && rewrite(db, rows, n, &changed, &left) == 0 &&
                  (!all || sqlite3_exec(db, "INSERT OR REPLACE INTO meta VALUES('schema', '2')",
                                        NULL, NULL, NULL) == SQLITE_OK) &&
                  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK
              ? 0
              : fail(db, path, "upgrading to schema 2");
    free_rows(rows, n);
    if (ret < 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    else if (changed || (all && left))
        vidx__log(VIDX_LOG_ERROR,
                  "catalog %s: %s (videos known by canonical path): %d paths rewritten, %d left "
                  "as they were (relative paths whose file is not in the current directory: "
                  "see docs/CATALOG.md)",
                  path, all ? "upgraded to schema 2" : "schema 1 leftovers", changed, left);
    return ret;
}

int vidx__catalog_migrate(sqlite3 *db, const char *path)
{
    int v = schema_version(db);
    if (v < 0)
        return fail(db, path, "reading the schema version");
    if (v > VIDX_CATALOG_SCHEMA) {
        vidx__log(VIDX_LOG_ERROR,
                  "catalog %s: schema %d is newer than this vidx knows (%d): use a newer vidx",
                  path, v, VIDX_CATALOG_SCHEMA);
        return VIDX_ECATALOG;
    }
    return upgrade(db, path, v < VIDX_CATALOG_SCHEMA);
}
