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
 * migrated video that is done is not redone. The upgrade runs through the
 * catalog's ops, so every implementation migrates the same way.
 *
 * Schema 3 adds videos.audio ("none" when audio was asked for and the file
 * has none, else the format written; NULL for rows before it). The column is
 * added by each implementation's open (idempotent DDL: sqlite.c checks for
 * it, postgres.c says IF NOT EXISTS); this file records the version.
 *
 * Schema 4 adds the shots table (vidx run --scenes), made by each
 * implementation's open (CREATE TABLE IF NOT EXISTS); earlier videos simply
 * have no rows in it. Again only the version is recorded here.
 *
 * Schema 5 adds videos.device (where the video decoded: "cuda" or "cpu
 * (REASON)", docs/GPU.md; NULL for rows before it and for videos never
 * decoded), added by each implementation's open like audio.
 *
 * Schema 6 adds the labels table (--label-url: a caption and tags, or an
 * error, per frame), the same way: made by each implementation's open, the
 * version recorded here. A reader of an older catalog opened read-only finds
 * no labels table and reports none (VidxCatalogOps.label_counts).
 *
 * Schema 7 adds the uploads table (bucket outputs, store/s3out.h: the objects
 * whose upload completed), the same way; read-only readers of an older
 * catalog see no uploads.
 * Schema 8 adds the renditions table (vidx run --transcode: per video, each
 * output of each preset under OUT/transcode/<key>/), the same way; a reader
 * of an older catalog finds none (VidxCatalogOps.rendition_counts, the
 * locations verify checks). An upgrade from 6 or 7 records 8 directly, like
 * every step after 2.
 */
#include "catalog/migrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/catalog.h"
#include "core/fingerprint.h"
#include "core/internal.h"
#include "core/path.h"

typedef struct OldRow {
    int64_t id, size, mtime;
    char *path, *fingerprint;
} OldRow;

typedef struct OldRows {
    OldRow *rows;
    size_t n, cap;
} OldRows;

static int fail(const char *path, const char *what)
{
    vidx__log(VIDX_LOG_ERROR, "catalog %s: %s", path, what);
    return VIDX_ECATALOG;
}

/* meta 'schema'; 1 when none is recorded (written before versions were), < 0 on error. */
static int schema_version(VidxCatalog *c)
{
    char value[32];
    int found = vidx__catalog_meta_get(c, "schema", value, sizeof(value));
    return found < 0 ? -1 : found ? atoi(value) : 1;
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

static int found_one(void *opaque, const CatalogVideoId *v)
{
    (void)opaque, (void)v;
    return 1;
}

/* Rows schema 2 never writes (relative paths): 1 some, 0 none, < 0 error. */
static int has_leftovers(VidxCatalog *c)
{
    return vidx__catalog_videos(c, 1, found_one, NULL);
}

static int keep_row(void *opaque, const CatalogVideoId *v)
{
    OldRows *o = opaque;
    if (vidx__grow(&o->rows, &o->cap, o->n + 1, sizeof(*o->rows), 256) < 0)
        return -ENOMEM;
    OldRow *r = &o->rows[o->n++];
    r->id = v->id;
    r->path = strdup(v->path ? v->path : "");
    r->size = v->size;
    r->mtime = v->mtime;
    r->fingerprint = v->fingerprint ? strdup(v->fingerprint) : NULL;
    return r->path ? 0 : -ENOMEM;
}

/* Rewrites the rows' paths; counts what changed and what was left. */
static int rewrite(VidxCatalog *c, const OldRows *o, int *changed, int *left)
{
    int ret = 0;
    for (size_t i = 0; i < o->n && ret == 0; i++) {
        const OldRow *row = &o->rows[i];
        char *p = new_path(row);
        if (p && strcmp(p, row->path)) {
            ret = vidx__catalog_rename_video(c, row->id, p);
            if (ret >= 0)
                *(ret ? changed : left) += 1; /* 0: the path is taken */
            ret = ret < 0 ? ret : 0;
        } else if (!p && !vidx__is_url(row->path))
            (*left)++;
        free(p);
    }
    return ret;
}

static void free_rows(OldRows *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->rows[i].path);
        free(o->rows[i].fingerprint);
    }
    free(o->rows);
}

static int put_version(VidxCatalog *c)
{
    char v[16];
    snprintf(v, sizeof(v), "%d", VIDX_CATALOG_SCHEMA);
    return vidx__catalog_meta_put(c, "schema", v);
}

/* Schema 2 to 5 to now: the columns and tables are there (the ops' open added them). */
static int record_version(VidxCatalog *c, const char *path)
{
    if (vidx__catalog_begin(c) < 0)
        return fail(path, "upgrading");
    if (put_version(c) == 0 && vidx__catalog_commit(c) == 0)
        return 0;
    vidx__catalog_rollback(c);
    return fail(path, "recording the schema version");
}

/* all: from schema 1 (every row, then the version); else only the leftovers. */
static int upgrade(VidxCatalog *c, const char *path, int all)
{
    OldRows o = {0};
    int changed = 0, left = 0, ret;
    if (!all && (ret = has_leftovers(c)) <= 0)
        return ret < 0 ? fail(path, "reading") : 0;
    if (vidx__catalog_begin(c) < 0)
        return fail(path, "upgrading");
    ret = vidx__catalog_videos(c, !all, keep_row, &o) == 0 &&
                  rewrite(c, &o, &changed, &left) == 0 && (!all || put_version(c) == 0) &&
                  vidx__catalog_commit(c) == 0
              ? 0
              : fail(path, "upgrading to the canonical paths of schema 2");
    free_rows(&o);
    if (ret < 0)
        vidx__catalog_rollback(c);
    else if (changed || (all && left))
        vidx__log(VIDX_LOG_ERROR,
                  "catalog %s: %s (videos known by canonical path): %d paths rewritten, %d left "
                  "as they were (relative paths whose file is not in the current directory: "
                  "see docs/CATALOG.md)",
                  path, all ? "upgraded to schema 2" : "schema 1 leftovers", changed, left);
    return ret;
}

int vidx__catalog_migrate(VidxCatalog *c, const char *path)
{
    int v = schema_version(c);
    if (v < 0)
        return fail(path, "reading the schema version");
    if (v > VIDX_CATALOG_SCHEMA) {
        vidx__log(VIDX_LOG_ERROR,
                  "catalog %s: schema %d is newer than this vidx knows (%d): use a newer vidx",
                  path, v, VIDX_CATALOG_SCHEMA);
        return VIDX_ECATALOG;
    }
    int ret = upgrade(c, path, v < 2);
    if (ret == 0 && v >= 2 && v < VIDX_CATALOG_SCHEMA)
        ret = record_version(c, path);
    return ret;
}
