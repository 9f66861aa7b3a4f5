/*
 * fuzz_catalog.c - libFuzzer harness for the catalog's readers: what vidx
 * status, vidx export, vidx verify and vidx du read from OUT/catalog.db,
 * which is just a file in a directory and may be damaged or hostile. An input
 * that starts with SQLite's file header is written as OUT/catalog.db as it
 * is; any other input is SQL run against a fresh catalog vidx made (its
 * schema, then the statements: odd types, NULLs, huge numbers, strange
 * paths, dropped or replaced tables), which reaches the readers' corner cases
 * much faster than mutating pages. The SQL runs under an authorizer (no
 * ATTACH, no VACUUM INTO another file, no pragmas), a length limit and a step
 * budget, so it cannot touch anything but that catalog. Then the catalog is
 * opened read-only and read: status JSON, every table exported as JSONL and
 * CSV, the prior-run lookup and shard and blob queries, then verify (without
 * --repair) and du on the directory. OUT holds only the catalog, so nothing
 * outside it can be damaged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "catalog/catalog.h"

static char dir[64];
static char db_path[96];

static void remove_dir(void)
{
    rmdir(dir);
}

static void init(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof(dir), "%s/vidx-fuzz-catalog-XXXXXX", base);
    if (!mkdtemp(dir))
        abort();
    snprintf(db_path, sizeof(db_path), "%s/catalog.db", dir);
    atexit(remove_dir);
    vidx_set_log_level(0);
}

static void clear_dir(void)
{
    static const char *const names[] = {"catalog.db", "catalog.db-wal", "catalog.db-shm",
                                        "catalog.db-journal"};
    char p[160];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
}

static int write_file(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int ok = write(fd, data, size) == (ssize_t)size;
    close(fd);
    return ok ? 0 : -1;
}

/* Only statements that change this one database's rows and tables. */
static int authorize(void *u, int action, const char *a, const char *b, const char *c,
                     const char *d)
{
    (void)u, (void)a, (void)b, (void)c, (void)d;
    switch (action) {
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
    case SQLITE_PRAGMA:
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE:
        return SQLITE_DENY;
    default:
        return SQLITE_OK;
    }
}

static int budget(void *u)
{
    return ++*(int *)u > 2000; /* about 200,000 VM steps, then interrupt */
}

static void run_sql(const uint8_t *data, size_t size)
{
    VidxCatalog *c = NULL;
    if (vidx_catalog_open(&c, dir, 0) < 0) /* vidx's schema */
        return;
    vidx_catalog_close(&c);
    char *sql = malloc(size + 1);
    sqlite3 *db = NULL;
    int steps = 0;
    if (!sql || sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        free(sql);
        sqlite3_close(db);
        return;
    }
    memcpy(sql, data, size);
    sql[size] = 0;
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 100000);
    sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_set_authorizer(db, authorize, NULL);
    sqlite3_progress_handler(db, 100, budget, &steps);
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    free(sql);
}

static int shard_seen(void *opaque, const char *name, int64_t size)
{
    (void)name;
    *(int64_t *)opaque += size & 1;
    return 0;
}

static void read_catalog(void)
{
    static const char *const tables[] = {"videos", "frames", "audio", "shards"};
    VidxCatalog *c = NULL;
    char *json = NULL;
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (vidx_catalog_open(&c, dir, 1) == 0) {
        if (vidx_catalog_status_json(c, &json) == 0)
            vidx_free(json);
        for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]) && devnull >= 0; i++) {
            vidx_catalog_export(c, tables[i], "jsonl", devnull);
            vidx_catalog_export(c, tables[i], "csv", devnull);
        }
        vidx_catalog_close(&c);
    }
    if (devnull >= 0)
        close(devnull);
    if (vidx_catalog_open(&c, dir, 0) == 0) { /* what a resumed run reads */
        CatalogPrior prior;
        char loc[256];
        int64_t off = 0, sum = 0;
        vidx__catalog_prior(c, "in/a.mp4", &prior);
        vidx__catalog_blob(c, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                           loc, sizeof(loc), &off);
        vidx__catalog_shards(c, shard_seen, &sum);
        vidx_catalog_close(&c);
    }
    if (vidx_verify(dir, 0, &json) >= 0)
        vidx_free(json);
    if (vidx_du(dir, &json) >= 0)
        vidx_free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char header[16] = "SQLite format 3";
    if (!dir[0])
        init();
    clear_dir();
    if (size >= sizeof(header) && !memcmp(data, header, sizeof(header))) {
        if (write_file(db_path, data, size) < 0)
            return 0;
    } else {
        run_sql(data, size);
    }
    read_catalog();
    clear_dir();
    return 0;
}
