/*
 * sqlite.c - the SQLite implementation of the catalog (VidxCatalogOps): every
 * SQL statement vidx runs on OUT/catalog.db is in this file.
 *
 * DESIGN
 * One writer (the supervisor), WAL journal, synchronous=NORMAL: a commit is
 * durable across a process crash and atomic across a power cut. A video's
 * rows are replaced in one transaction, after the worker made its files
 * durable, so the catalog never points at a missing file. Prepared statements
 * are reused for every video: per-video cost stays flat as the catalog grows
 * (every lookup is by primary or unique key). A catalog opened for writing
 * prepares every statement it may run at open, so a catalog without vidx's
 * tables fails there, before anything is changed.
 *
 * This file is longer than most because it is one concern: the schema and
 * the statements of one database engine, behind the ops table.
 */
#include "catalog/catalog.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=ON;"
    "CREATE TABLE IF NOT EXISTS videos("
    " id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, key TEXT NOT NULL,"
    " size INTEGER, mtime INTEGER, fingerprint TEXT, options_hash TEXT,"
    " status TEXT NOT NULL, error_class TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
    " started_at REAL, seconds REAL, frames INTEGER NOT NULL DEFAULT 0, probe TEXT,"
    " updated_at REAL NOT NULL, audio TEXT, device TEXT);"
    "CREATE INDEX IF NOT EXISTS videos_status ON videos(status);"
    /* the dashboard's views (counts, classes, filtered pages; the timeline) */
    "CREATE INDEX IF NOT EXISTS videos_status_class ON videos(status, error_class, frames);"
    "CREATE INDEX IF NOT EXISTS videos_ended ON videos(started_at + seconds, started_at, seconds, "
    "frames);"
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
    "CREATE TABLE IF NOT EXISTS shots("
    " video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
    " start REAL NOT NULL, \"end\" REAL NOT NULL, first_frame INTEGER NOT NULL,"
    " last_frame INTEGER NOT NULL, cause TEXT NOT NULL, score REAL NOT NULL,"
    " PRIMARY KEY(video_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS segments("
    " video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
    " start REAL NOT NULL, \"end\" REAL NOT NULL, text TEXT NOT NULL,"
    " PRIMARY KEY(video_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS labels("
    " video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
    " caption TEXT, tags TEXT, model TEXT NOT NULL, latency REAL NOT NULL, error TEXT,"
    " PRIMARY KEY(video_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS renditions("
    " video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
    " preset TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL, bytes INTEGER NOT NULL,"
    " duration REAL, codec TEXT, width INTEGER, height INTEGER, bitrate INTEGER,"
    " PRIMARY KEY(video_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS shards(name TEXT PRIMARY KEY, size INTEGER NOT NULL,"
    " samples INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS blobs(checksum TEXT PRIMARY KEY, location TEXT NOT NULL,"
    " offset INTEGER, bytes INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    /* schema 7: the objects of a bucket output whose upload completed */
    "CREATE TABLE IF NOT EXISTS uploads(name TEXT PRIMARY KEY, bytes INTEGER NOT NULL,"
    " etag TEXT NOT NULL);";

/* Rows schema 2 never writes: relative paths (catalog/migrate.c). */
#define LEFTOVER                                                                                   \
    " WHERE substr(path, 1, 1) <> '/' AND substr(path, 1, 7) <> 'http://' AND"                     \
    " substr(path, 1, 8) <> 'https://'"

enum {
    ST_PRIOR,
    ST_UPSERT,
    ST_DEL_FRAMES,
    ST_DEL_AUDIO,
    ST_DEL_SHOTS,
    ST_DEL_SEGMENTS,
    ST_DEL_LABELS,
    ST_DEL_RENDITIONS,
    ST_FRAME,
    ST_AUDIO,
    ST_SHOT,
    ST_SEGMENT,
    ST_LABEL,
    ST_RENDITION,
    ST_SHARD,
    ST_BLOB_GET,
    ST_BLOB_PUT,
    ST_META_GET,
    ST_META_PUT,
    ST_VIDEO_KEY,
    ST_FORGET_VIDEO,
    ST_FORGET_BLOB,
    ST_RENAME,
    ST_REF_FRAME, /* ST_REF_FRAME + CatalogRef */
    ST_REF_AUDIO,
    ST_REF_VIDEO,
    ST_REF_SHARD,
    ST_REF_BLOB,
    ST_REF_RENDITION,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_PRIOR] =
        "SELECT status, fingerprint, options_hash, attempts, key FROM videos WHERE path=?1",
    [ST_UPSERT] = "INSERT INTO videos(path,key,size,mtime,fingerprint,options_hash,status,"
                  "error_class,error,attempts,started_at,seconds,frames,probe,updated_at,audio,"
                  "device) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,1,?10,?11,?12,?13,?14,?15,?16) "
                  "ON CONFLICT(path) DO UPDATE SET key=?2,size=?3,mtime=?4,fingerprint=?5,"
                  "options_hash=?6,status=?7,error_class=?8,error=?9,attempts=attempts+1,"
                  "started_at=?10,seconds=?11,frames=?12,probe=?13,updated_at=?14,audio=?15,"
                  "device=?16 "
                  "RETURNING id",
    [ST_DEL_FRAMES] = "DELETE FROM frames WHERE video_id=?1",
    [ST_DEL_AUDIO] = "DELETE FROM audio WHERE video_id=?1",
    [ST_FRAME] = "INSERT INTO frames VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
    [ST_AUDIO] = "INSERT INTO audio VALUES(?1,?2,?3,?4,?5,?6)",
    [ST_DEL_SHOTS] = "DELETE FROM shots WHERE video_id=?1",
    [ST_SHOT] = "INSERT INTO shots VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
    [ST_DEL_SEGMENTS] = "DELETE FROM segments WHERE video_id=?1",
    [ST_SEGMENT] = "INSERT INTO segments VALUES(?1,?2,?3,?4,?5)",
    [ST_DEL_LABELS] = "DELETE FROM labels WHERE video_id=?1",
    [ST_LABEL] = "INSERT INTO labels VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [ST_DEL_RENDITIONS] = "DELETE FROM renditions WHERE video_id=?1",
    [ST_RENDITION] = "INSERT INTO renditions VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
    [ST_SHARD] = "INSERT INTO shards VALUES(?1,?2,?3) ON CONFLICT(name) DO UPDATE SET size=?2, "
                 "samples=?3",
    [ST_BLOB_GET] = "SELECT location, offset FROM blobs WHERE checksum=?1",
    [ST_BLOB_PUT] = "INSERT OR IGNORE INTO blobs VALUES(?1,?2,?3,?4)",
    [ST_META_GET] = "SELECT value FROM meta WHERE key=?1",
    [ST_META_PUT] = "INSERT OR REPLACE INTO meta VALUES(?1, ?2)",
    [ST_VIDEO_KEY] = "SELECT key FROM videos WHERE id=?1",
    [ST_FORGET_VIDEO] = "DELETE FROM videos WHERE id=?1", /* frames, audio: ON DELETE CASCADE */
    [ST_FORGET_BLOB] = "DELETE FROM blobs WHERE location=?1",
    [ST_RENAME] = "UPDATE OR IGNORE videos SET path=?1 WHERE id=?2",
    [ST_REF_FRAME] = "SELECT 1 FROM frames WHERE location=?1 LIMIT 1",
    [ST_REF_AUDIO] = "SELECT 1 FROM audio WHERE path=?1",
    [ST_REF_VIDEO] = "SELECT 1 FROM videos WHERE key=?1 AND status IN ('ok','partial')",
    [ST_REF_SHARD] = "SELECT 1 FROM shards WHERE name=?1",
    [ST_REF_BLOB] = "SELECT 1 FROM blobs WHERE location=?1",
    [ST_REF_RENDITION] = "SELECT 1 FROM renditions WHERE substr(path, 1, length(?1) + 1) = ?1 || "
                         "'/' LIMIT 1",
};

struct CatalogBackend {
    sqlite3 *db;
    char path[PATH_MAX];        /* for messages */
    sqlite3_stmt *st[ST_COUNT]; /* prepared when opened for writing */
};

static int db_error(CatalogBackend *b, const char *what)
{
    vidx__log(VIDX_LOG_ERROR, "catalog %s: %s: %s", b->path, what, sqlite3_errmsg(b->db));
    return VIDX_ECATALOG;
}

/* A full disk is a clean stop for the run, not a catalog failure. */
static int write_error(CatalogBackend *b, const char *what)
{
    int code = sqlite3_errcode(b->db);
    if (code == SQLITE_FULL || sqlite3_extended_errcode(b->db) == SQLITE_IOERR_WRITE)
        return -ENOSPC;
    return db_error(b, what);
}

/*
 * A statement prepared at open, reset. In a catalog opened read-only, a
 * statement that only reads (a lookup: prior, meta_get, ...) is prepared on
 * first use; one that writes is NULL (logged).
 */
static sqlite3_stmt *stmt(CatalogBackend *b, int which)
{
    sqlite3_stmt *st = b->st[which];
    if (!st && sqlite3_prepare_v3(b->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &st,
                                  NULL) == SQLITE_OK) {
        if (sqlite3_stmt_readonly(st))
            b->st[which] = st;
        else
            sqlite3_finalize(st), st = NULL;
    }
    if (!st)
        vidx__log(VIDX_LOG_ERROR, "catalog %s: opened read-only", b->path);
    else
        sqlite3_reset(st);
    return st;
}

/* Steps a write statement once and resets it: 0, or the step's error. */
static int step_done(CatalogBackend *b, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : write_error(b, what);
}

static void bk_close(CatalogBackend *b)
{
    if (!b)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(b->st[i]);
    sqlite3_close(b->db);
    free(b);
}

/*
 * A TEXT column of videos added after the table was first made, added to a
 * catalog made before it (catalog/migrate.h): audio (schema 3), device (5).
 */
static int add_column(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT %s FROM videos LIMIT 0", name);
    int have = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK;
    sqlite3_finalize(st);
    if (have)
        return 0;
    snprintf(sql, sizeof(sql), "ALTER TABLE videos ADD COLUMN %s TEXT", name);
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int bk_open(CatalogBackend **out, const char *path, int readonly)
{
    CatalogBackend *b = calloc(1, sizeof(*b));
    *out = NULL;
    if (!b)
        return -ENOMEM;
    snprintf(b->path, sizeof(b->path), "%s", path);
    if (readonly && access(path, R_OK) < 0) {
        int ret = -errno;
        free(b);
        return ret;
    }
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &b->db, flags, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(b->db, 10000);
    if (!readonly && (sqlite3_exec(b->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
                      add_column(b->db, "audio") < 0 || add_column(b->db, "device") < 0))
        goto fail;
    for (int i = 0; i < ST_COUNT && !readonly; i++)
        if (sqlite3_prepare_v3(b->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &b->st[i],
                               NULL) != SQLITE_OK)
            goto fail;
    *out = b;
    return 0;
fail:
    db_error(b, "opening");
    bk_close(b);
    return VIDX_ECATALOG;
}

static int bk_is_empty(CatalogBackend *b)
{
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(b->db,
                           "SELECT 1 FROM sqlite_master WHERE type='table' AND name='frames'", -1,
                           &st, NULL) == SQLITE_OK)
        found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return !found;
}

/* ---------------------------------------------------------------------- */
/* Transactions                                                            */
/* ---------------------------------------------------------------------- */

static void bk_rollback(CatalogBackend *b)
{
    if (!sqlite3_get_autocommit(b->db))
        sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
}

static int bk_begin(CatalogBackend *b)
{
    if (sqlite3_exec(b->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return write_error(b, "begin");
    return 0;
}

static int bk_commit(CatalogBackend *b)
{
    if (sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    int ret = write_error(b, "commit");
    bk_rollback(b);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* The run                                                                 */
/* ---------------------------------------------------------------------- */

static void copy_text(char *dst, size_t size, const unsigned char *text)
{
    snprintf(dst, size, "%s", text ? (const char *)text : "");
}

static int bk_prior(CatalogBackend *b, const char *path, CatalogPrior *out)
{
    sqlite3_stmt *st = stmt(b, ST_PRIOR);
    memset(out, 0, sizeof(*out));
    if (!st)
        return VIDX_ECATALOG;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->found = 1;
        out->status = vidx__video_status_parse((const char *)sqlite3_column_text(st, 0));
        copy_text(out->fingerprint, sizeof(out->fingerprint), sqlite3_column_text(st, 1));
        copy_text(out->options, sizeof(out->options), sqlite3_column_text(st, 2));
        out->attempts = sqlite3_column_int(st, 3);
        copy_text(out->key, sizeof(out->key), sqlite3_column_text(st, 4));
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(b, "lookup");
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* i <- v, or NULL when !present. */
static void bind_int64_if(sqlite3_stmt *st, int i, int present, int64_t v)
{
    if (present)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static int64_t upsert_video(CatalogBackend *b, const CatalogVideo *v)
{
    sqlite3_stmt *st = b->st[ST_UPSERT];
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
    bind_text_or_null(st, 15, v->audio);
    bind_text_or_null(st, 16, v->device);
    int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return id;
}

static int exec_id(CatalogBackend *b, int which, int64_t id)
{
    sqlite3_stmt *st = b->st[which];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int insert_frame(CatalogBackend *b, int64_t id, size_t seq, const CatalogFrame *cf)
{
    sqlite3_stmt *st = b->st[ST_FRAME];
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
    bind_int64_if(st, 12, cf->location && cf->offset >= 0, cf->offset);
    bind_text_or_null(st, 13, r->sha256[0] ? r->sha256 : NULL);
    sqlite3_bind_int64(st, 14, (int64_t)r->phash);
    bind_int64_if(st, 15, r->dup_of >= 0, r->dup_of);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

static int insert_blob(CatalogBackend *b, const CatalogFrame *cf)
{
    sqlite3_stmt *st = b->st[ST_BLOB_PUT];
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, cf->rec->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cf->location, -1, SQLITE_STATIC);
    bind_int64_if(st, 3, cf->offset >= 0, cf->offset);
    sqlite3_bind_int64(st, 4, cf->rec->bytes);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

static int insert_frames(CatalogBackend *b, int64_t id, const CatalogVideo *v)
{
    for (size_t i = 0; i < v->n_frames; i++) {
        if (insert_frame(b, id, i, &v->frames[i]) < 0)
            return -1;
        if (v->frames[i].new_blob && insert_blob(b, &v->frames[i]) < 0)
            return -1;
    }
    sqlite3_reset(b->st[ST_FRAME]);
    sqlite3_reset(b->st[ST_BLOB_PUT]);
    return 0;
}

static int set_shard(CatalogBackend *b, const char *name, int64_t size, int64_t samples)
{
    sqlite3_stmt *st = b->st[ST_SHARD];
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, size);
    sqlite3_bind_int64(st, 3, samples);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int update_shard(CatalogBackend *b, const CatalogVideo *v)
{
    if (!v->shard_name || !v->shard_name[0])
        return 0;
    return set_shard(b, v->shard_name, v->shard_size, v->shard_samples);
}

static int bk_shard_set(CatalogBackend *b, const char *name, int64_t size, int64_t samples)
{
    if (!b->st[ST_SHARD])
        return db_error(b, "opened read-only");
    return set_shard(b, name, size, samples) == 0 ? 0 : write_error(b, name);
}

static int insert_audio(CatalogBackend *b, int64_t id, const CatalogVideo *v)
{
    sqlite3_stmt *st = b->st[ST_AUDIO];
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

static int insert_shots(CatalogBackend *b, int64_t id, const CatalogVideo *v)
{
    sqlite3_stmt *st = b->st[ST_SHOT];
    int rc = SQLITE_DONE;
    for (size_t i = 0; i < v->n_shots && rc == SQLITE_DONE; i++) {
        const CatalogShot *s = &v->shots[i];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (int64_t)i);
        sqlite3_bind_double(st, 3, s->start);
        sqlite3_bind_double(st, 4, s->end);
        sqlite3_bind_int64(st, 5, s->first_frame);
        sqlite3_bind_int64(st, 6, s->last_frame);
        sqlite3_bind_text(st, 7, s->cause, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 8, s->score);
        rc = sqlite3_step(st);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int insert_segments(CatalogBackend *b, int64_t id, const CatalogVideo *v)
{
    sqlite3_stmt *st = b->st[ST_SEGMENT];
    int rc = SQLITE_DONE;
    for (size_t i = 0; i < v->n_segments && rc == SQLITE_DONE; i++) {
        const CatalogSegment *s = &v->segments[i];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (int64_t)i);
        sqlite3_bind_double(st, 3, s->start);
        sqlite3_bind_double(st, 4, s->end);
        sqlite3_bind_text(st, 5, s->text, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int insert_labels(CatalogBackend *b, int64_t id, const CatalogVideo *v)
{
    sqlite3_stmt *st = b->st[ST_LABEL];
    int rc = SQLITE_DONE;
    for (size_t i = 0; i < v->n_labels && rc == SQLITE_DONE; i++) {
        const CatalogLabel *l = &v->labels[i];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, l->seq);
        sqlite3_bind_text(st, 3, l->caption, -1, SQLITE_STATIC); /* NULL binds NULL */
        sqlite3_bind_text(st, 4, l->tags, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, l->model ? l->model : "", -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 6, l->latency);
        sqlite3_bind_text(st, 7, l->error, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int insert_renditions(CatalogBackend *b, int64_t id, const CatalogVideo *v)
{
    sqlite3_stmt *st = b->st[ST_RENDITION];
    int rc = SQLITE_DONE;
    for (size_t i = 0; i < v->n_renditions && rc == SQLITE_DONE; i++) {
        const CatalogRendition *r = &v->renditions[i];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (int64_t)i);
        sqlite3_bind_text(st, 3, r->preset, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, r->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, r->path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, r->bytes);
        sqlite3_bind_double(st, 7, r->duration);
        sqlite3_bind_text(st, 8, r->codec, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 9, r->width);
        sqlite3_bind_int(st, 10, r->height);
        sqlite3_bind_int64(st, 11, r->bitrate);
        rc = sqlite3_step(st);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int bk_put(CatalogBackend *b, const CatalogVideo *v)
{
    if (!b->st[ST_UPSERT])
        return db_error(b, "opened read-only");
    int64_t id = upsert_video(b, v);
    int ok = id >= 0 && exec_id(b, ST_DEL_FRAMES, id) == 0 && exec_id(b, ST_DEL_AUDIO, id) == 0 &&
             exec_id(b, ST_DEL_SHOTS, id) == 0 && exec_id(b, ST_DEL_SEGMENTS, id) == 0 &&
             exec_id(b, ST_DEL_LABELS, id) == 0 && exec_id(b, ST_DEL_RENDITIONS, id) == 0 &&
             insert_frames(b, id, v) == 0 && insert_audio(b, id, v) == 0 &&
             insert_shots(b, id, v) == 0 && insert_segments(b, id, v) == 0 &&
             insert_labels(b, id, v) == 0 && insert_renditions(b, id, v) == 0 &&
             update_shard(b, v) == 0;
    return ok ? 0 : write_error(b, v->path);
}

static int bk_blob_get(CatalogBackend *b, const char *sha256, char *location, size_t size,
                       int64_t *offset)
{
    sqlite3_stmt *st = stmt(b, ST_BLOB_GET);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        copy_text(location, size, sqlite3_column_text(st, 0));
        *offset = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return found;
}

static int bk_meta_get(CatalogBackend *b, const char *key, char *value, size_t size)
{
    sqlite3_stmt *st = stmt(b, ST_META_GET);
    if (!st)
        return VIDX_ECATALOG;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        copy_text(value, size, sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_error(b, key);
}

static int bk_meta_put(CatalogBackend *b, const char *key, const char *value)
{
    sqlite3_stmt *st = stmt(b, ST_META_PUT);
    if (!st)
        return VIDX_ECATALOG;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    return step_done(b, st, key);
}

static int bk_meta_add(CatalogBackend *b, const char *key, const char *value)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(b->db, "INSERT OR IGNORE INTO meta VALUES(?1, ?2)", -1, &st, NULL) !=
        SQLITE_OK)
        return db_error(b, key);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int ret = step_done(b, st, key);
    sqlite3_finalize(st);
    return ret < 0 ? ret : sqlite3_changes(b->db) > 0;
}

static int bk_shards(CatalogBackend *b, int (*fn)(void *, const char *, int64_t), void *opaque)
{
    sqlite3_stmt *st;
    int ret = 0;
    if (sqlite3_prepare_v2(b->db, "SELECT name, size FROM shards", -1, &st, NULL) != SQLITE_OK)
        return db_error(b, "shards");
    while (ret == 0 && sqlite3_step(st) == SQLITE_ROW)
        ret = fn(opaque, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    sqlite3_finalize(st);
    return ret;
}

static int bk_shard_claim(CatalogBackend *b, const char *name, int claim)
{
    sqlite3_stmt *st;
    const char *sql = claim ? "INSERT INTO shards VALUES(?1, 0, 0)"
                            : "DELETE FROM shards WHERE name=?1 AND size=0";
    if (sqlite3_prepare_v2(b->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(b, "shards");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE         ? 0
              : rc == SQLITE_CONSTRAINT ? -EEXIST
                                        : write_error(b, "shards"); /* a full disk: -ENOSPC */
    sqlite3_finalize(st);
    return ret;
}

static int bk_upload_put(CatalogBackend *b, const char *name, int64_t bytes, const char *etag)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(b->db, "INSERT OR REPLACE INTO uploads VALUES(?1, ?2, ?3)", -1, &st,
                           NULL) != SQLITE_OK)
        return db_error(b, "uploads");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, bytes);
    sqlite3_bind_text(st, 3, etag, -1, SQLITE_STATIC);
    int ret = step_done(b, st, "uploads");
    sqlite3_finalize(st);
    return ret;
}

static int bk_uploads(CatalogBackend *b, CatalogUploadFn fn, void *opaque)
{
    sqlite3_stmt *st;
    int ret = 0;
    /* a catalog older than schema 7 opened read-only has no table: no uploads */
    if (sqlite3_prepare_v2(b->db, "SELECT name, bytes, etag FROM uploads ORDER BY name", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;
    while (ret == 0 && sqlite3_step(st) == SQLITE_ROW)
        ret = fn(opaque, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
                 (const char *)sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
    return ret;
}

/* A consistent copy of the whole catalog in a new file (VACUUM INTO reads one snapshot). */
static int bk_snapshot(CatalogBackend *b, const char *path)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(b->db, "VACUUM INTO ?1", -1, &st, NULL) != SQLITE_OK)
        return db_error(b, "snapshot");
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int ret = step_done(b, st, "snapshot");
    sqlite3_finalize(st);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* Readers: vidx status, vidx export                                       */
/* ---------------------------------------------------------------------- */

static int bk_status(CatalogBackend *b, CatalogCountFn count, CatalogFailureFn failure,
                     void *opaque)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(b->db,
                           "SELECT status, count(*), sum(frames) FROM videos GROUP BY status", -1,
                           &st, NULL) != SQLITE_OK)
        return VIDX_ECATALOG;
    while (sqlite3_step(st) == SQLITE_ROW)
        count(opaque, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
              sqlite3_column_int64(st, 2));
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(b->db,
                           "SELECT path, status, error_class, error, attempts FROM videos "
                           "WHERE status NOT IN ('ok') ORDER BY path",
                           -1, &st, NULL) != SQLITE_OK)
        return VIDX_ECATALOG;
    while (sqlite3_step(st) == SQLITE_ROW)
        failure(opaque, (const char *)sqlite3_column_text(st, 0),
                (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
                (const char *)sqlite3_column_text(st, 3), sqlite3_column_int(st, 4));
    sqlite3_finalize(st);
    return 0;
}

/* 1 when the catalog has table name (labels: schema 6, renditions: 8), 0 when it is
 * older (opened read-only), else an error. */
static int has_table(CatalogBackend *b, const char *name)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(b->db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1", -1,
                           &st, NULL) != SQLITE_OK)
        return db_error(b, name);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

static int bk_rendition_counts(CatalogBackend *b, int64_t *videos, int64_t *files, int64_t *bytes)
{
    sqlite3_stmt *st;
    *videos = *files = *bytes = 0;
    int found = has_table(b, "renditions");
    if (found <= 0) /* a catalog of schema 7 or older, opened read-only: none */
        return found;
    if (sqlite3_prepare_v2(b->db,
                           "SELECT count(DISTINCT video_id), count(*), coalesce(sum(bytes), 0) "
                           "FROM renditions WHERE kind <> 'master'",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(b, "renditions");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *videos = sqlite3_column_int64(st, 0);
        *files = sqlite3_column_int64(st, 1);
        *bytes = sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : db_error(b, "renditions");
}

static int bk_label_counts(CatalogBackend *b, int64_t *labelled, int64_t *failed)
{
    sqlite3_stmt *st;
    *labelled = *failed = 0;
    int found = has_table(b, "labels");
    if (found <= 0) /* a catalog of schema 5 or older, opened read-only: no labels */
        return found;
    if (sqlite3_prepare_v2(b->db, "SELECT count(*), count(error) FROM labels", -1, &st, NULL) !=
        SQLITE_OK)
        return db_error(b, "labels");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *labelled = sqlite3_column_int64(st, 0);
        *failed = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : db_error(b, "labels");
}

/* Column i of the current row: its type first (reading it as text converts it). */
static void column_value(sqlite3_stmt *st, int i, CatalogValue *v)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        v->type = CATALOG_INT;
        v->i = sqlite3_column_int64(st, i);
        break;
    case SQLITE_FLOAT:
        v->type = CATALOG_REAL;
        v->d = sqlite3_column_double(st, i);
        break;
    case SQLITE_NULL:
        v->type = CATALOG_NULL;
        break;
    default:
        v->type = CATALOG_TEXT;
    }
    v->text = (const char *)sqlite3_column_text(st, i);
}

#define EXPORT_COLUMNS 20

static int export_each(sqlite3_stmt *st, CatalogRowFn fn, void *opaque)
{
    const char *names[EXPORT_COLUMNS];
    CatalogValue values[EXPORT_COLUMNS];
    int n = VIDX_MIN(sqlite3_column_count(st), EXPORT_COLUMNS), ret;
    for (int i = 0; i < n; i++)
        names[i] = sqlite3_column_name(st, i);
    ret = fn(opaque, n, names, NULL);
    while (ret == 0 && sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < n; i++)
            column_value(st, i, &values[i]);
        ret = fn(opaque, n, names, values);
    }
    return ret;
}

static int bk_export_rows(CatalogBackend *b, const char *table, CatalogRowFn fn, void *opaque)
{
    static const char *const queries[][2] = {
        {"videos", "SELECT id, path, key, size, mtime, fingerprint, options_hash, status, "
                   "error_class, error, attempts, started_at, seconds, frames, device FROM videos "
                   "ORDER BY id"},
        {"frames", "SELECT v.path AS video, f.seq, f.idx AS 'index', f.target, f.time, f.pts, "
                   "f.keyframe, f.width, f.height, f.bytes, f.location, f.offset, f.checksum, "
                   "f.phash, f.dup_of FROM frames f JOIN videos v ON v.id = f.video_id "
                   "ORDER BY f.video_id, f.seq"},
        {"audio",
         "SELECT v.path AS video, a.path, a.rate, a.channels, a.duration, a.bytes FROM audio a "
         "JOIN videos v ON v.id = a.video_id ORDER BY a.video_id"},
        {"shots", "SELECT v.path AS video, s.seq, s.start, s.\"end\", s.first_frame, "
                  "s.last_frame, s.cause, s.score FROM shots s JOIN videos v ON v.id = s.video_id "
                  "ORDER BY s.video_id, s.seq"},
        {"segments", "SELECT v.path AS video, s.seq, s.start, s.\"end\", s.text FROM segments s "
                     "JOIN videos v ON v.id = s.video_id ORDER BY s.video_id, s.seq"},
        {"labels", "SELECT v.path AS video, l.seq, f.idx AS 'index', f.time, f.location, "
                   "f.offset, l.caption, l.tags, l.model, l.latency, l.error FROM labels l "
                   "JOIN videos v ON v.id = l.video_id LEFT JOIN frames f ON "
                   "f.video_id = l.video_id AND f.seq = l.seq ORDER BY l.video_id, l.seq"},
        {"renditions", "SELECT v.path AS video, r.preset, r.kind, r.path, r.bytes, r.duration, "
                       "r.codec, r.width, r.height, r.bitrate FROM renditions r JOIN videos v ON "
                       "v.id = r.video_id ORDER BY r.video_id, r.seq"},
    };
    const char *sql = NULL;
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(queries); i++)
        if (!strcmp(table, queries[i][0]))
            sql = queries[i][1];
    if (!sql)
        return VIDX_EUSAGE;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(b->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(b, table);
    int ret = export_each(st, fn, opaque);
    sqlite3_finalize(st);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* The dashboard's views (vidx serve, vidx report)                         */
/* ---------------------------------------------------------------------- */

/*
 * The statement of VIDEOS (page) and MATCHING (count) for the filters v sets,
 * and its parameters in order (spec, as view_sql's): only the terms given
 * appear, so the planner can use videos_status_class for a status and class
 * (a status "failing" is the statuses vidx records other than ok, a list the
 * index serves) and walk the primary key from after. A search is a scan.
 */
static void filter_sql(const CatalogView *v, int page, char *sql, size_t size, char *spec)
{
    int n = 0;
    size_t len =
        (size_t)snprintf(sql, size, "%s",
                         page ? "SELECT id, path, key, status, error_class, error, attempts, "
                                "started_at, seconds, frames FROM videos"
                              : "SELECT count(*) AS videos FROM videos");
    const char *glue = " WHERE ";
#define TERM(...)                                                                                  \
    do {                                                                                           \
        len += (size_t)snprintf(sql + len, size - len, "%s", glue);                                \
        len += (size_t)snprintf(sql + len, size - len, __VA_ARGS__);                               \
        glue = " AND ";                                                                            \
    } while (0)
    if (v->status && !strcmp(v->status, "failing"))
        TERM("status IN ('partial', 'failed', 'crashed', 'timeout')");
    else if (v->status) {
        spec[n++] = 's';
        TERM("status = ?%d", n);
    }
    if (v->error_class) {
        spec[n++] = 'c';
        TERM("error_class = ?%d", n);
    }
    if (v->search) {
        spec[n++] = 'q';
        TERM("(instr(path, ?%d) > 0 OR instr(coalesce(error, ''), ?%d) > 0)", n, n);
    }
    if (page) {
        spec[n++] = 'a';
        TERM("id > ?%d", n);
        spec[n++] = 'l';
        len += (size_t)snprintf(sql + len, size - len, " ORDER BY id LIMIT ?%d", n);
    }
#undef TERM
    spec[n] = 0;
}

/*
 * Each view's statement and its parameters, in order (?1, ?2, ...), by the
 * CatalogView field each takes: i id, s status, c error_class, q search,
 * a after, l limit, b bucket, n since, u until. VIDEOS and MATCHING: filter_sql.
 */
static const char *const view_sql[CATALOG_VIEW_COUNT][2] = {
    [CATALOG_VIEW_COUNTS] = {"", "SELECT status, count(*) AS videos, coalesce(sum(frames), 0) AS "
                                 "frames FROM videos GROUP BY status ORDER BY status"},
    [CATALOG_VIEW_CLASSES] = {"", "SELECT status, error_class, count(*) AS videos FROM videos "
                                  "WHERE status IN ('partial', 'failed', 'crashed', 'timeout') "
                                  "GROUP BY status, error_class "
                                  "ORDER BY videos DESC, status, error_class"},
    /* one index range count per bucket: no sort of the rows (videos_ended covers it) */
    [CATALOG_VIEW_TIMELINE] = {"bnu",
                               "WITH RECURSIVE b(t) AS (SELECT CAST(?2 / ?1 AS INTEGER) * ?1 "
                               "UNION ALL SELECT t + ?1 FROM b WHERE t + ?1 < ?3) "
                               "SELECT * FROM (SELECT t, (SELECT count(*) FROM videos WHERE "
                               "started_at + seconds >= max(t, ?2) AND started_at + seconds < "
                               "min(t + ?1, ?3)) AS videos, (SELECT coalesce(sum(frames), 0) FROM "
                               "videos WHERE started_at + seconds >= max(t, ?2) AND started_at + "
                               "seconds < min(t + ?1, ?3)) AS frames FROM b) WHERE videos > 0"},
    [CATALOG_VIEW_VIDEO] = {"i", "SELECT id, path, key, size, mtime, fingerprint, options_hash, "
                                 "status, error_class, error, attempts, started_at, seconds, "
                                 "frames, probe, updated_at, audio FROM videos WHERE id = ?1"},
    [CATALOG_VIEW_FRAMES] = {"ial", "SELECT seq, idx AS \"index\", target, time, pts, keyframe, "
                                    "width, height, bytes, location, offset, checksum, phash, "
                                    "dup_of FROM frames WHERE video_id = ?1 AND seq >= ?2 "
                                    "ORDER BY seq LIMIT ?3"},
    [CATALOG_VIEW_SHOTS] = {"il", "SELECT seq, start, \"end\", first_frame, last_frame, cause, "
                                  "score FROM shots WHERE video_id = ?1 ORDER BY seq LIMIT ?2"},
    [CATALOG_VIEW_SEGMENTS] = {"il", "SELECT seq, start, \"end\", text FROM segments "
                                     "WHERE video_id = ?1 ORDER BY seq LIMIT ?2"},
    [CATALOG_VIEW_AUDIO] = {"i", "SELECT path, rate, channels, duration, bytes FROM audio "
                                 "WHERE video_id = ?1"},
    [CATALOG_VIEW_LABELS] = {"ial", "SELECT seq, caption, tags, model, latency, error FROM labels "
                                    "WHERE video_id = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3"},
};

/* CATALOG_VIEW_LABELS in a catalog without the labels table: its columns, no rows. */
static const char no_labels_sql[] = "SELECT NULL AS seq, NULL AS caption, NULL AS tags, NULL AS "
                                    "model, NULL AS latency, NULL AS error WHERE 0";

static void bind_view(sqlite3_stmt *st, int i, char field, const CatalogView *v)
{
    switch (field) {
    case 'i':
        sqlite3_bind_int64(st, i, v->id);
        break;
    case 's':
        bind_text_or_null(st, i, v->status);
        break;
    case 'c':
        bind_text_or_null(st, i, v->error_class);
        break;
    case 'q':
        bind_text_or_null(st, i, v->search);
        break;
    case 'a':
        sqlite3_bind_int64(st, i, v->after);
        break;
    case 'l':
        sqlite3_bind_int64(st, i, v->limit);
        break;
    case 'b':
        sqlite3_bind_double(st, i, v->bucket);
        break;
    case 'n':
        sqlite3_bind_double(st, i, v->since);
        break;
    default: /* 'u' */
        sqlite3_bind_double(st, i, v->until);
    }
}

static int bk_view(CatalogBackend *b, const CatalogView *v, CatalogRowFn fn, void *opaque)
{
    if ((unsigned)v->kind >= CATALOG_VIEW_COUNT)
        return VIDX_EUSAGE;
    const char *spec = view_sql[v->kind][0], *sql = view_sql[v->kind][1];
    char filtered[512], filter_spec[8];
    sqlite3_stmt *st;
    if (v->kind == CATALOG_VIEW_VIDEOS || v->kind == CATALOG_VIEW_MATCHING) {
        filter_sql(v, v->kind == CATALOG_VIEW_VIDEOS, filtered, sizeof(filtered), filter_spec);
        sql = filtered, spec = filter_spec;
    }
    if (v->kind == CATALOG_VIEW_LABELS) {
        int found = has_table(b, "labels");
        if (found < 0)
            return found;
        if (!found)
            sql = no_labels_sql, spec = "";
    }
    if (sqlite3_prepare_v2(b->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(b, "reading a view");
    for (int i = 0; spec[i]; i++)
        bind_view(st, i + 1, spec[i], v);
    int ret = export_each(st, fn, opaque);
    sqlite3_finalize(st);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* Maintenance: verify, gc, verify --repair                                */
/* ---------------------------------------------------------------------- */

#define LOCATIONS                                                                                  \
    "SELECT v.id, v.path, f.location, f.offset, f.bytes, f.checksum FROM frames f "                \
    "JOIN videos v ON v.id = f.video_id WHERE f.location IS NOT NULL "                             \
    "UNION ALL SELECT v.id, v.path, a.path, NULL, a.bytes, NULL FROM audio a "                     \
    "JOIN videos v ON v.id = a.video_id "

static int bk_locations(CatalogBackend *b, int (*fn)(void *, const CatalogLocation *), void *opaque)
{
    static const char with[] = LOCATIONS CATALOG_RENDITION_LOCATIONS " ORDER BY 1",
                      without[] = LOCATIONS "ORDER BY 1"; /* schema 7 or older, read-only */
    sqlite3_stmt *st;
    int ret = has_table(b, "renditions");
    if (ret < 0 || sqlite3_prepare_v2(b->db, ret ? with : without, -1, &st, NULL) != SQLITE_OK)
        return VIDX_ECATALOG;
    ret = 0;
    while (ret == 0 && sqlite3_step(st) == SQLITE_ROW) {
        CatalogLocation l = {
            .video_id = sqlite3_column_int64(st, 0),
            .video = (const char *)sqlite3_column_text(st, 1),
            .location = (const char *)sqlite3_column_text(st, 2),
            .offset = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3),
            .bytes = sqlite3_column_int64(st, 4),
            .checksum = (const char *)sqlite3_column_text(st, 5),
        };
        ret = fn(opaque, &l);
    }
    sqlite3_finalize(st);
    return ret;
}

static int bk_referenced(CatalogBackend *b, CatalogRef what, const char *name)
{
    sqlite3_stmt *st = (unsigned)what < CATALOG_REF_COUNT ? stmt(b, ST_REF_FRAME + what) : NULL;
    if (!st)
        return VIDX_ECATALOG;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_error(b, "looking up a file");
}

static int bk_forget_video(CatalogBackend *b, int64_t id, char *key, size_t size)
{
    sqlite3_stmt *st = stmt(b, ST_VIDEO_KEY), *del = b->st[ST_FORGET_VIDEO];
    if (!st)
        return VIDX_ECATALOG;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    copy_text(key, size, rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_error(b, "forgetting a damaged video");
    sqlite3_reset(del);
    sqlite3_bind_int64(del, 1, id);
    return step_done(b, del, "forgetting a damaged video");
}

static int bk_forget_blob(CatalogBackend *b, const char *location)
{
    sqlite3_stmt *st = stmt(b, ST_FORGET_BLOB);
    if (!st)
        return VIDX_ECATALOG;
    sqlite3_bind_text(st, 1, location, -1, SQLITE_STATIC);
    return step_done(b, st, "forgetting a damaged blob");
}

/* ---------------------------------------------------------------------- */
/* Schema migration                                                        */
/* ---------------------------------------------------------------------- */

static int bk_videos(CatalogBackend *b, int relative_only,
                     int (*fn)(void *, const CatalogVideoId *), void *opaque)
{
    sqlite3_stmt *st;
    int ret = 0, rc = SQLITE_DONE;
    if (sqlite3_prepare_v2(b->db,
                           relative_only
                               ? "SELECT id, path, size, mtime, fingerprint FROM videos" LEFTOVER
                               : "SELECT id, path, size, mtime, fingerprint FROM videos",
                           -1, &st, NULL))
        return db_error(b, "videos");
    while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        CatalogVideoId v = {
            .id = sqlite3_column_int64(st, 0),
            .path = (const char *)sqlite3_column_text(st, 1),
            .size = sqlite3_column_int64(st, 2),
            .mtime = sqlite3_column_int64(st, 3),
            .fingerprint = (const char *)sqlite3_column_text(st, 4),
        };
        ret = fn(opaque, &v);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = db_error(b, "videos");
    sqlite3_finalize(st);
    return ret;
}

static int bk_rename_video(CatalogBackend *b, int64_t id, const char *path)
{
    sqlite3_stmt *st = stmt(b, ST_RENAME);
    if (!st)
        return VIDX_ECATALOG;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, id);
    int ret = step_done(b, st, "renaming a video");
    return ret < 0 ? ret : sqlite3_changes(b->db) > 0; /* 0: ignored, the path is taken */
}

/* ---------------------------------------------------------------------- */
/* Merging outputs: each video with its frames and audio                   */
/* ---------------------------------------------------------------------- */

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i); /* NULL for NULL */
}

static int64_t col_int_or(sqlite3_stmt *st, int i, int64_t none)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? none : sqlite3_column_int64(st, i);
}

/* The frame rows of video id, into new malloc'd arrays (locations copied). */
static int read_frames(sqlite3_stmt *st, int64_t id, CatalogFrame **cf, VidxFrameRecord **rec,
                       size_t *n)
{
    size_t cap_rec = 0, cap_cf = 0;
    int rc;
    *n = 0;
    *cf = NULL;
    *rec = NULL;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (vidx__grow(rec, &cap_rec, *n + 1, sizeof(**rec), 64) < 0 ||
            vidx__grow(cf, &cap_cf, *n + 1, sizeof(**cf), 64) < 0) {
            sqlite3_reset(st);
            return -ENOMEM;
        }
        VidxFrameRecord *r = &(*rec)[*n];
        CatalogFrame *f = &(*cf)[*n];
        memset(r, 0, sizeof(*r));
        r->index = sqlite3_column_int64(st, 0);
        r->target = sqlite3_column_type(st, 1) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 1);
        r->time = sqlite3_column_double(st, 2);
        r->pts = sqlite3_column_int64(st, 3);
        r->keyframe = sqlite3_column_int(st, 4);
        r->width = sqlite3_column_int(st, 5);
        r->height = sqlite3_column_int(st, 6);
        r->bytes = sqlite3_column_int64(st, 7);
        copy_text(r->sha256, sizeof(r->sha256), sqlite3_column_text(st, 10));
        r->phash = (uint64_t)sqlite3_column_int64(st, 11);
        r->dup_of = col_int_or(st, 12, -1);
        const char *loc = col_text(st, 8);
        *f = (CatalogFrame){.location = loc ? strdup(loc) : NULL,
                            .offset = col_int_or(st, 9, -1),
                            .new_blob = sqlite3_column_int(st, 13)};
        (*n)++;
        if (loc && !f->location) {
            sqlite3_reset(st);
            return -ENOMEM;
        }
    }
    sqlite3_reset(st);
    for (size_t i = 0; i < *n; i++) /* rec moved while growing: point at the final array */
        (*cf)[i].rec = &(*rec)[i];
    return rc == SQLITE_DONE ? 0 : VIDX_ECATALOG;
}

/* v's audio fields from its audio row, if any (the text lives as long as the row). */
static int read_audio(sqlite3_stmt *st, int64_t id, CatalogVideo *v)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        v->audio_path = col_text(st, 0);
        v->audio_rate = sqlite3_column_int(st, 1);
        v->audio_channels = sqlite3_column_int(st, 2);
        v->audio_duration = sqlite3_column_double(st, 3);
        v->audio_bytes = sqlite3_column_int64(st, 4);
    }
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : VIDX_ECATALOG;
}

/* A video's shots, transcript segments and labels as video_rows reads them (texts copied). */
typedef struct VideoExtras {
    CatalogShot *shots;
    CatalogSegment *segs;
    CatalogLabel *labels;
    size_t n_shots, n_segs, n_labels, cap_shots, cap_segs, cap_labels;
} VideoExtras;

static void extras_free(VideoExtras *x)
{
    for (size_t i = 0; i < x->n_shots; i++)
        free((char *)x->shots[i].cause);
    for (size_t i = 0; i < x->n_segs; i++)
        free((char *)x->segs[i].text);
    for (size_t i = 0; i < x->n_labels; i++) {
        free((char *)x->labels[i].caption);
        free((char *)x->labels[i].tags);
        free((char *)x->labels[i].model);
        free((char *)x->labels[i].error);
    }
    free(x->shots);
    free(x->segs);
    free(x->labels);
    memset(x, 0, sizeof(*x));
}

/* The shots (st: sql[3]) and segments (sg: sql[4]) of video id into x, in seq order. */
static int read_extras(sqlite3_stmt *st, sqlite3_stmt *sg, int64_t id, VideoExtras *x)
{
    int rc = SQLITE_DONE, ret = 0;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cause = col_text(st, 4);
        if (vidx__grow(&x->shots, &x->cap_shots, x->n_shots + 1, sizeof(*x->shots), 16) < 0 ||
            !(cause = strdup(cause ? cause : ""))) {
            ret = -ENOMEM;
            break;
        }
        x->shots[x->n_shots++] = (CatalogShot){sqlite3_column_double(st, 0),
                                               sqlite3_column_double(st, 1),
                                               sqlite3_column_int64(st, 2),
                                               sqlite3_column_int64(st, 3),
                                               cause,
                                               sqlite3_column_double(st, 5)};
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = VIDX_ECATALOG;
    sqlite3_reset(st);
    sqlite3_reset(sg);
    sqlite3_bind_int64(sg, 1, id);
    while (ret == 0 && (rc = sqlite3_step(sg)) == SQLITE_ROW) {
        const char *text = col_text(sg, 2);
        if (vidx__grow(&x->segs, &x->cap_segs, x->n_segs + 1, sizeof(*x->segs), 16) < 0 ||
            !(text = strdup(text ? text : ""))) {
            ret = -ENOMEM;
            break;
        }
        x->segs[x->n_segs++] =
            (CatalogSegment){sqlite3_column_double(sg, 0), sqlite3_column_double(sg, 1), text};
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = VIDX_ECATALOG;
    sqlite3_reset(sg);
    return ret;
}

/* Column i of st copied (NULL stays NULL); 0, or -ENOMEM. */
static int dup_column(sqlite3_stmt *st, int i, const char **out)
{
    const char *t = col_text(st, i);
    *out = t ? strdup(t) : NULL;
    return t && !*out ? -ENOMEM : 0;
}

/* The labels (st: sql[5]) of video id into x, in seq order. */
static int read_labels(sqlite3_stmt *st, int64_t id, VideoExtras *x)
{
    int rc = SQLITE_DONE, ret = 0;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (vidx__grow(&x->labels, &x->cap_labels, x->n_labels + 1, sizeof(*x->labels), 16) < 0) {
            ret = -ENOMEM;
            break;
        }
        CatalogLabel *l = &x->labels[x->n_labels++];
        *l = (CatalogLabel){.seq = sqlite3_column_int64(st, 0),
                            .latency = sqlite3_column_double(st, 4)};
        if (dup_column(st, 1, &l->caption) < 0 || dup_column(st, 2, &l->tags) < 0 ||
            dup_column(st, 3, &l->model) < 0 || dup_column(st, 5, &l->error) < 0)
            ret = -ENOMEM;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = VIDX_ECATALOG;
    sqlite3_reset(st);
    return ret;
}

static void video_from_row(sqlite3_stmt *st, CatalogVideo *v)
{
    *v = (CatalogVideo){
        .path = col_text(st, 1),
        .key = col_text(st, 2),
        .size = sqlite3_column_int64(st, 3),
        .mtime = sqlite3_column_int64(st, 4),
        .fingerprint = col_text(st, 5),
        .options = col_text(st, 6),
        .status = vidx__video_status_parse(col_text(st, 7)),
        .error_class = col_text(st, 8),
        .error = col_text(st, 9),
        .started = sqlite3_column_double(st, 10),
        .seconds = sqlite3_column_double(st, 11),
        .probe_json = col_text(st, 12),
        .audio = col_text(st, 13),
        .device = col_text(st, 14),
    };
}

static void free_frames(CatalogFrame *cf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)cf[i].location);
}

static int bk_video_rows(CatalogBackend *b, int (*fn)(void *, const CatalogVideo *), void *opaque)
{
    static const char *const sql[] = {
        "SELECT id, path, key, size, mtime, fingerprint, options_hash, status, error_class,"
        " error, started_at, seconds, probe, audio, device FROM videos ORDER BY path",
        "SELECT idx, target, time, pts, keyframe, width, height, bytes, location, offset,"
        " checksum, phash, dup_of, EXISTS(SELECT 1 FROM blobs b WHERE b.checksum = f.checksum"
        " AND b.location = f.location AND b.offset IS f.offset) FROM frames f"
        " WHERE video_id = ?1 ORDER BY seq",
        "SELECT path, rate, channels, duration, bytes FROM audio WHERE video_id = ?1",
        "SELECT start, \"end\", first_frame, last_frame, cause, score FROM shots"
        " WHERE video_id = ?1 ORDER BY seq",
        "SELECT start, \"end\", text FROM segments WHERE video_id = ?1 ORDER BY seq",
        "SELECT seq, caption, tags, model, latency, error FROM labels WHERE video_id = ?1"
        " ORDER BY seq"};
    sqlite3_stmt *st[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    VideoExtras x = {0};
    CatalogFrame *cf = NULL;
    VidxFrameRecord *rec = NULL;
    size_t n = 0;
    int ret = 0, rc = SQLITE_DONE;
    for (int i = 0; i < 6 && ret == 0; i++)
        if (sqlite3_prepare_v2(b->db, sql[i], -1, &st[i], NULL) != SQLITE_OK)
            ret = db_error(b, "reading videos");
    while (ret == 0 && (rc = sqlite3_step(st[0])) == SQLITE_ROW) {
        CatalogVideo v;
        video_from_row(st[0], &v);
        int64_t id = sqlite3_column_int64(st[0], 0);
        ret = read_frames(st[1], id, &cf, &rec, &n);
        if (ret == 0 && (ret = read_audio(st[2], id, &v)) == 0 &&
            (ret = read_extras(st[3], st[4], id, &x)) == 0 &&
            (ret = read_labels(st[5], id, &x)) == 0) {
            v.frames = cf, v.n_frames = n;
            v.shots = x.shots, v.n_shots = x.n_shots;
            v.segments = x.segs, v.n_segments = x.n_segs;
            v.labels = x.labels, v.n_labels = x.n_labels;
            ret = fn(opaque, &v);
        }
        extras_free(&x);
        free_frames(cf, n);
        free(cf);
        free(rec);
        cf = NULL, rec = NULL, n = 0;
        sqlite3_reset(st[2]);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = db_error(b, "reading videos");
    else if (ret == VIDX_ECATALOG || ret == -ENOMEM)
        vidx__log(VIDX_LOG_ERROR, "%s: cannot read the videos' rows", b->path);
    for (int i = 0; i < 6; i++)
        sqlite3_finalize(st[i]);
    return ret;
}

const VidxCatalogOps vidx__catalog_sqlite = {
    .name = "sqlite",
    .open = bk_open,
    .close = bk_close,
    .is_empty = bk_is_empty,
    .begin = bk_begin,
    .commit = bk_commit,
    .rollback = bk_rollback,
    .prior = bk_prior,
    .put = bk_put,
    .blob_get = bk_blob_get,
    .meta_get = bk_meta_get,
    .meta_put = bk_meta_put,
    .meta_add = bk_meta_add,
    .shards = bk_shards,
    .shard_claim = bk_shard_claim,
    .upload_put = bk_upload_put,
    .uploads = bk_uploads,
    .snapshot = bk_snapshot,
    .status = bk_status,
    .label_counts = bk_label_counts,
    .rendition_counts = bk_rendition_counts,
    .export_rows = bk_export_rows,
    .locations = bk_locations,
    .referenced = bk_referenced,
    .forget_video = bk_forget_video,
    .forget_blob = bk_forget_blob,
    .videos = bk_videos,
    .rename_video = bk_rename_video,
    .video_rows = bk_video_rows,
    .shard_set = bk_shard_set,
    .view = bk_view,
};
