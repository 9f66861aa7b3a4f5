/*
 * catalog.c - the SQLite catalog of a batch run.
 *
 * DESIGN
 * One writer (the supervisor), WAL journal, synchronous=NORMAL: a commit is
 * durable across a process crash and atomic across a power cut. A video's
 * rows are replaced in one transaction, after the worker made its files
 * durable, so the catalog never points at a missing file. Prepared statements
 * are reused for every video: per-video cost stays flat as the catalog grows
 * (every lookup is by primary or unique key).
 */
#include "catalog/catalog.h"
#include "catalog/migrate.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/outdir.h"

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=ON;"
    "CREATE TABLE IF NOT EXISTS videos("
    " id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, key TEXT NOT NULL,"
    " size INTEGER, mtime INTEGER, fingerprint TEXT, options_hash TEXT,"
    " status TEXT NOT NULL, error_class TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
    " started_at REAL, seconds REAL, frames INTEGER NOT NULL DEFAULT 0, probe TEXT,"
    " updated_at REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS videos_status ON videos(status);"
    "CREATE TABLE IF NOT EXISTS frames("
    " video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
    " idx INTEGER NOT NULL, target REAL, time REAL NOT NULL, pts INTEGER NOT NULL,"
    " keyframe INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,"
    " bytes INTEGER NOT NULL, location TEXT, offset INTEGER, checksum TEXT, phash INTEGER,"
    " dup_of INTEGER, PRIMARY KEY(video_id, seq)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS frames_location ON frames(location);"
    "CREATE TABLE IF NOT EXISTS audio("
    " video_id INTEGER PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE, path TEXT NOT NULL,"
    " rate INTEGER NOT NULL, channels INTEGER NOT NULL, duration REAL, bytes INTEGER);"
    "CREATE TABLE IF NOT EXISTS shards(name TEXT PRIMARY KEY, size INTEGER NOT NULL,"
    " samples INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS blobs(checksum TEXT PRIMARY KEY, location TEXT NOT NULL,"
    " offset INTEGER, bytes INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);";

enum {
    ST_PRIOR,
    ST_UPSERT,
    ST_DEL_FRAMES,
    ST_DEL_AUDIO,
    ST_FRAME,
    ST_AUDIO,
    ST_SHARD,
    ST_BLOB_GET,
    ST_BLOB_PUT,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_PRIOR] =
        "SELECT status, fingerprint, options_hash, attempts, key FROM videos WHERE path=?1",
    [ST_UPSERT] = "INSERT INTO videos(path,key,size,mtime,fingerprint,options_hash,status,"
                  "error_class,error,attempts,started_at,seconds,frames,probe,updated_at) "
                  "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,1,?10,?11,?12,?13,?14) "
                  "ON CONFLICT(path) DO UPDATE SET key=?2,size=?3,mtime=?4,fingerprint=?5,"
                  "options_hash=?6,status=?7,error_class=?8,error=?9,attempts=attempts+1,"
                  "started_at=?10,seconds=?11,frames=?12,probe=?13,updated_at=?14 "
                  "RETURNING id",
    [ST_DEL_FRAMES] = "DELETE FROM frames WHERE video_id=?1",
    [ST_DEL_AUDIO] = "DELETE FROM audio WHERE video_id=?1",
    [ST_FRAME] = "INSERT INTO frames VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
    [ST_AUDIO] = "INSERT INTO audio VALUES(?1,?2,?3,?4,?5,?6)",
    [ST_SHARD] = "INSERT INTO shards VALUES(?1,?2,?3) ON CONFLICT(name) DO UPDATE SET size=?2, "
                 "samples=?3",
    [ST_BLOB_GET] = "SELECT location, offset FROM blobs WHERE checksum=?1",
    [ST_BLOB_PUT] = "INSERT OR IGNORE INTO blobs VALUES(?1,?2,?3,?4)",
};

struct VidxCatalog {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
};

static const char *const status_names[] = {"ok",      "partial", "failed",
                                           "crashed", "timeout", "skipped"};

const char *vidx_video_status_name(VidxVideoStatus s)
{
    return (unsigned)s < VIDX_ARRAY_SIZE(status_names) ? status_names[s] : "unknown";
}

static VidxVideoStatus status_parse(const char *name)
{
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(status_names); i++)
        if (name && !strcmp(name, status_names[i]))
            return (VidxVideoStatus)i;
    return VIDX_VIDEO_FAILED;
}

static int db_error(VidxCatalog *c, const char *what)
{
    vidx__log(VIDX_LOG_ERROR, "catalog: %s: %s", what, sqlite3_errmsg(c->db));
    return VIDX_ECATALOG;
}

int vidx_catalog_open(VidxCatalog **out, const char *outdir, int readonly)
{
    char path[PATH_MAX];
    VidxCatalog *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c)
        return -ENOMEM;
    int ret = vidx__outdir_check(outdir, "run"); /* never a catalog in someone else's folder */
    if (ret < 0) {
        free(c);
        return ret;
    }
    snprintf(path, sizeof(path), "%s/catalog.db", outdir);
    if (readonly && access(path, R_OK) < 0) {
        free(c);
        return -errno;
    }
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(c->db, 10000);
    if (!readonly && sqlite3_exec(c->db, schema, NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    if (!readonly && vidx__catalog_migrate(c->db, path) < 0) {
        vidx_catalog_close(&c);
        return VIDX_ECATALOG;
    }
    for (int i = 0; i < ST_COUNT && !readonly; i++)
        if (sqlite3_prepare_v3(c->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i],
                               NULL) != SQLITE_OK)
            goto fail;
    *out = c;
    return 0;
fail:
    db_error(c, path);
    vidx_catalog_close(&c);
    return VIDX_ECATALOG;
}

void vidx_catalog_close(VidxCatalog **pc)
{
    VidxCatalog *c = pc ? *pc : NULL;
    if (!c)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    sqlite3_close(c->db);
    free(c);
    *pc = NULL;
}

int vidx__catalog_prior(VidxCatalog *c, const char *path, CatalogPrior *out)
{
    sqlite3_stmt *st = c->st[ST_PRIOR];
    memset(out, 0, sizeof(*out));
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *fp = (const char *)sqlite3_column_text(st, 1);
        const char *op = (const char *)sqlite3_column_text(st, 2);
        out->found = 1;
        out->status = status_parse((const char *)sqlite3_column_text(st, 0));
        snprintf(out->fingerprint, sizeof(out->fingerprint), "%s", fp ? fp : "");
        snprintf(out->options, sizeof(out->options), "%s", op ? op : "");
        out->attempts = sqlite3_column_int(st, 3);
        const char *key = (const char *)sqlite3_column_text(st, 4);
        snprintf(out->key, sizeof(out->key), "%s", key ? key : "");
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(c, "lookup");
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static int64_t upsert_video(VidxCatalog *c, const CatalogVideo *v)
{
    sqlite3_stmt *st = c->st[ST_UPSERT];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, v->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, v->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, v->size);
    sqlite3_bind_int64(st, 4, v->mtime);
    bind_text_or_null(st, 5, v->fingerprint);
    bind_text_or_null(st, 6, v->options);
    sqlite3_bind_text(st, 7, vidx_video_status_name(v->status), -1, SQLITE_STATIC);
    bind_text_or_null(st, 8, v->error_class);
    bind_text_or_null(st, 9, v->error);
    sqlite3_bind_double(st, 10, v->started);
    sqlite3_bind_double(st, 11, v->seconds);
    sqlite3_bind_int64(st, 12, (int64_t)v->n_frames);
    bind_text_or_null(st, 13, v->probe_json);
    sqlite3_bind_double(st, 14, now.tv_sec + now.tv_nsec / 1e9);
    int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return id;
}

static int exec_id(VidxCatalog *c, int which, int64_t id)
{
    sqlite3_stmt *st = c->st[which];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int insert_frame(VidxCatalog *c, int64_t id, size_t seq, const CatalogFrame *cf)
{
    sqlite3_stmt *st = c->st[ST_FRAME];
    const VidxFrameRecord *r = cf->rec;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    sqlite3_bind_int64(st, 3, r->index);
    if (r->target == r->target)
        sqlite3_bind_double(st, 4, r->target);
    else
        sqlite3_bind_null(st, 4);
    sqlite3_bind_double(st, 5, r->time);
    sqlite3_bind_int64(st, 6, r->pts);
    sqlite3_bind_int(st, 7, r->keyframe);
    sqlite3_bind_int(st, 8, r->width);
    sqlite3_bind_int(st, 9, r->height);
    sqlite3_bind_int64(st, 10, r->bytes);
    bind_text_or_null(st, 11, cf->location);
    if (cf->location && cf->offset >= 0)
        sqlite3_bind_int64(st, 12, cf->offset);
    else
        sqlite3_bind_null(st, 12);
    bind_text_or_null(st, 13, r->sha256[0] ? r->sha256 : NULL);
    sqlite3_bind_int64(st, 14, (int64_t)r->phash);
    if (r->dup_of >= 0)
        sqlite3_bind_int64(st, 15, r->dup_of);
    else
        sqlite3_bind_null(st, 15);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

static int insert_blob(VidxCatalog *c, const CatalogFrame *cf)
{
    sqlite3_stmt *st = c->st[ST_BLOB_PUT];
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, cf->rec->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cf->location, -1, SQLITE_STATIC);
    if (cf->offset >= 0)
        sqlite3_bind_int64(st, 3, cf->offset);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, cf->rec->bytes);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

static int insert_frames(VidxCatalog *c, int64_t id, const CatalogVideo *v)
{
    for (size_t i = 0; i < v->n_frames; i++) {
        if (insert_frame(c, id, i, &v->frames[i]) < 0)
            return -1;
        if (v->frames[i].new_blob && insert_blob(c, &v->frames[i]) < 0)
            return -1;
    }
    sqlite3_reset(c->st[ST_FRAME]);
    sqlite3_reset(c->st[ST_BLOB_PUT]);
    return 0;
}

static int update_shard(VidxCatalog *c, const CatalogVideo *v)
{
    sqlite3_stmt *st = c->st[ST_SHARD];
    if (!v->shard_name || !v->shard_name[0])
        return 0;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, v->shard_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, v->shard_size);
    sqlite3_bind_int64(st, 3, v->shard_samples);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int insert_audio(VidxCatalog *c, int64_t id, const CatalogVideo *v)
{
    sqlite3_stmt *st = c->st[ST_AUDIO];
    if (!v->audio_path)
        return 0;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, v->audio_path, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, v->audio_rate);
    sqlite3_bind_int(st, 4, v->audio_channels);
    sqlite3_bind_double(st, 5, v->audio_duration);
    sqlite3_bind_int64(st, 6, v->audio_bytes);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* A full disk is a clean stop for the run, not a catalog failure. */
static int write_error(VidxCatalog *c, const char *what)
{
    int code = sqlite3_errcode(c->db);
    if (code == SQLITE_FULL || sqlite3_extended_errcode(c->db) == SQLITE_IOERR_WRITE)
        return -ENOSPC;
    return db_error(c, what);
}

int vidx__catalog_begin(VidxCatalog *c)
{
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return write_error(c, "begin");
    return 0;
}

int vidx__catalog_put(VidxCatalog *c, const CatalogVideo *v)
{
    int64_t id = upsert_video(c, v);
    int ok = id >= 0 && exec_id(c, ST_DEL_FRAMES, id) == 0 && exec_id(c, ST_DEL_AUDIO, id) == 0 &&
             insert_frames(c, id, v) == 0 && insert_audio(c, id, v) == 0 && update_shard(c, v) == 0;
    return ok ? 0 : write_error(c, v->path);
}

int vidx__catalog_commit(VidxCatalog *c)
{
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    int ret = write_error(c, "commit");
    vidx__catalog_rollback(c);
    return ret;
}

void vidx__catalog_rollback(VidxCatalog *c)
{
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

int vidx__catalog_record(VidxCatalog *c, const CatalogVideo *v)
{
    int ret = vidx__catalog_begin(c);
    if (ret == 0 && (ret = vidx__catalog_put(c, v)) < 0)
        vidx__catalog_rollback(c);
    return ret == 0 ? vidx__catalog_commit(c) : ret;
}

int vidx__catalog_blob(VidxCatalog *c, const char *sha256, char *location, size_t size,
                       int64_t *offset)
{
    sqlite3_stmt *st = c->st[ST_BLOB_GET];
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        snprintf(location, size, "%s", (const char *)sqlite3_column_text(st, 0));
        *offset = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return found;
}

int vidx__catalog_layout(VidxCatalog *c, const char *layout)
{
    sqlite3_stmt *st;
    int ret = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key='layout'", -1, &st, NULL))
        return db_error(c, "layout");
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *have = (const char *)sqlite3_column_text(st, 0);
        if (have && strcmp(have, layout)) {
            vidx__log(VIDX_LOG_ERROR, "this output uses --layout %s, not %s", have, layout);
            ret = VIDX_EUSAGE;
        }
        sqlite3_finalize(st);
        return ret;
    }
    sqlite3_finalize(st);
    char *sql = sqlite3_mprintf("INSERT INTO meta VALUES('layout', %Q)", layout);
    if (!sql || sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        ret = db_error(c, "layout");
    sqlite3_free(sql);
    return ret;
}

int vidx__catalog_shards(VidxCatalog *c, int (*fn)(void *, const char *, int64_t), void *opaque)
{
    sqlite3_stmt *st;
    int ret = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT name, size FROM shards", -1, &st, NULL) != SQLITE_OK)
        return db_error(c, "shards");
    while (ret == 0 && sqlite3_step(st) == SQLITE_ROW)
        ret = fn(opaque, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    sqlite3_finalize(st);
    return ret;
}

int vidx__catalog_is_empty(VidxCatalog *c)
{
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT 1 FROM sqlite_master WHERE type='table' AND name='frames'", -1,
                           &st, NULL) == SQLITE_OK)
        found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return !found;
}

int vidx__catalog_shard_claim(VidxCatalog *c, const char *name, int claim)
{
    sqlite3_stmt *st;
    const char *sql = claim ? "INSERT INTO shards VALUES(?1, 0, 0)"
                            : "DELETE FROM shards WHERE name=?1 AND size=0";
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(c, "shards");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE         ? 0
              : rc == SQLITE_CONSTRAINT ? -EEXIST
                                        : write_error(c, "shards"); /* a full disk: -ENOSPC */
    sqlite3_finalize(st);
    return ret;
}

sqlite3 *vidx__catalog_db(VidxCatalog *c)
{
    return c->db;
}

/* ---------------------------------------------------------------------- */
/* Queries for vidx status / vidx export                                   */
/* ---------------------------------------------------------------------- */

/* A damaged catalog's counts may be anything: sum them without overflowing. */
static int64_t add_saturated(int64_t a, int64_t b)
{
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

int vidx_catalog_status_json(VidxCatalog *c, char **json)
{
    sqlite3_stmt *st = NULL;
    json_t *root = json_object(), *counts = json_object(), *fails = json_array();
    int ret = VIDX_ECATALOG;
    *json = NULL;
    if (!root || !counts || !fails)
        goto done;
    json_object_set(root, "counts", counts);
    json_object_set(root, "failures", fails);
    if (sqlite3_prepare_v2(c->db,
                           "SELECT status, count(*), sum(frames) FROM videos GROUP BY status", -1,
                           &st, NULL) != SQLITE_OK)
        goto done;
    int64_t total = 0, frames = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_object_set_new(counts, (const char *)sqlite3_column_text(st, 0),
                            json_integer(sqlite3_column_int64(st, 1)));
        total = add_saturated(total, sqlite3_column_int64(st, 1));
        frames = add_saturated(frames, sqlite3_column_int64(st, 2));
    }
    sqlite3_finalize(st);
    json_object_set_new(root, "videos", json_integer(total));
    json_object_set_new(root, "frames", json_integer(frames));
    if (sqlite3_prepare_v2(c->db,
                           "SELECT path, status, error_class, error, attempts FROM videos "
                           "WHERE status NOT IN ('ok') ORDER BY path",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *f =
            json_pack("{s:s?, s:s?, s:s?, s:s?, s:i}", "path", sqlite3_column_text(st, 0), "status",
                      sqlite3_column_text(st, 1), "class", sqlite3_column_text(st, 2), "error",
                      sqlite3_column_text(st, 3), "attempts", sqlite3_column_int(st, 4));
        json_array_append_new(fails, f);
    }
    sqlite3_finalize(st);
    st = NULL;
    char *text = json_dumps(root, JSON_INDENT(2));
    *json = text ? strdup(text) : NULL;
    free(text);
    ret = *json ? 0 : -ENOMEM;
done:
    sqlite3_finalize(st);
    json_decref(counts);
    json_decref(fails);
    json_decref(root);
    return ret;
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static json_t *column_json(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, i));
    case SQLITE_NULL:
        return json_null();
    default:
        return json_string((const char *)sqlite3_column_text(st, i));
    }
}

static void export_row(FILE *f, sqlite3_stmt *st, int csv)
{
    int n = sqlite3_column_count(st);
    if (csv) {
        for (int i = 0; i < n; i++) {
            const char *v = (const char *)sqlite3_column_text(st, i);
            if (i)
                fputc(',', f);
            csv_field(f, v ? v : "");
        }
        fputc('\n', f);
        return;
    }
    json_t *o = json_object();
    for (int i = 0; i < n; i++)
        json_object_set_new(o, sqlite3_column_name(st, i), column_json(st, i));
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    if (line)
        fprintf(f, "%s\n", line);
    free(line);
    json_decref(o);
}

int vidx_catalog_export(VidxCatalog *c, const char *table, const char *format, int fd)
{
    static const char *const queries[][2] = {
        {"videos",
         "SELECT id, path, key, size, mtime, fingerprint, options_hash, status, "
         "error_class, error, attempts, started_at, seconds, frames FROM videos ORDER BY id"},
        {"frames", "SELECT v.path AS video, f.seq, f.idx AS 'index', f.target, f.time, f.pts, "
                   "f.keyframe, f.width, f.height, f.bytes, f.location, f.offset, f.checksum, "
                   "f.phash, f.dup_of FROM frames f JOIN videos v ON v.id = f.video_id "
                   "ORDER BY f.video_id, f.seq"},
        {"audio",
         "SELECT v.path AS video, a.path, a.rate, a.channels, a.duration, a.bytes FROM audio a "
         "JOIN videos v ON v.id = a.video_id ORDER BY a.video_id"},
    };
    const char *sql = NULL;
    int csv = format && !strcmp(format, "csv");
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(queries); i++)
        if (!strcmp(table, queries[i][0]))
            sql = queries[i][1];
    if (!sql || (!csv && strcmp(format, "jsonl")))
        return VIDX_EUSAGE;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(c, table);
    FILE *f = fdopen(dup(fd), "w");
    if (!f) {
        sqlite3_finalize(st);
        return -errno;
    }
    if (csv) {
        for (int i = 0; i < sqlite3_column_count(st); i++)
            fprintf(f, "%s%s", i ? "," : "", sqlite3_column_name(st, i));
        fputc('\n', f);
    }
    while (sqlite3_step(st) == SQLITE_ROW)
        export_row(f, st, csv);
    sqlite3_finalize(st);
    return fclose(f) == 0 ? 0 : -EIO;
}
