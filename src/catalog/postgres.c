/*
 * postgres.c - the PostgreSQL implementation of the catalog (VidxCatalogOps):
 * the same tables, columns and semantics as sqlite.c, every statement with
 * parameters (never values in the SQL text), over the connection of pg.c.
 *
 * DESIGN
 * Several supervisors on different machines may write one database at once
 * (READ COMMITTED), so every write is safe under concurrency on its own:
 *  - a video is an upsert on its unique path that locks the row until the
 *    commit, then its frames and audio are replaced under that lock;
 *  - blobs: INSERT ... ON CONFLICT DO NOTHING (the first copy wins);
 *  - meta: upsert; meta_add (the layout, the output id): insert if absent;
 *  - shard_claim: one INSERT ... ON CONFLICT DO NOTHING RETURNING: a name is
 *    claimed by exactly one writer, the others get -EEXIST;
 *  - the tables are created under a transaction-scoped advisory lock, so
 *    writers starting together do not race on CREATE TABLE IF NOT EXISTS.
 * A connection lost inside a transaction makes the op return -EAGAIN (pg.h);
 * the committer redoes the group.
 *
 * This file is longer than most because it is one concern: the schema and
 * the statements of one database engine, behind the ops table.
 */
#include "catalog/catalog.h"
#include "catalog/pg.h"
#include "catalog/queue.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char schema[] =
    "SELECT pg_advisory_xact_lock(7152468091);"
    "CREATE TABLE IF NOT EXISTS videos("
    " id BIGSERIAL PRIMARY KEY, path TEXT NOT NULL UNIQUE, key TEXT NOT NULL,"
    " size BIGINT, mtime BIGINT, fingerprint TEXT, options_hash TEXT,"
    " status TEXT NOT NULL, error_class TEXT, error TEXT, attempts BIGINT NOT NULL DEFAULT 0,"
    " started_at DOUBLE PRECISION, seconds DOUBLE PRECISION, frames BIGINT NOT NULL DEFAULT 0,"
    " probe TEXT, updated_at DOUBLE PRECISION NOT NULL);"
    "CREATE INDEX IF NOT EXISTS videos_status ON videos(status);"
    "CREATE INDEX IF NOT EXISTS videos_key ON videos(key);"
    /* the dashboard's views (counts, classes, filtered pages; the timeline) */
    "CREATE INDEX IF NOT EXISTS videos_status_class ON videos(status, error_class, frames);"
    "CREATE INDEX IF NOT EXISTS videos_ended ON videos((started_at + seconds), started_at, "
    "seconds, frames);"
    "CREATE TABLE IF NOT EXISTS frames("
    " video_id BIGINT NOT NULL REFERENCES videos(id) ON DELETE CASCADE, seq BIGINT NOT NULL,"
    " idx BIGINT NOT NULL, target DOUBLE PRECISION, time DOUBLE PRECISION NOT NULL,"
    " pts BIGINT NOT NULL, keyframe BIGINT NOT NULL, width BIGINT NOT NULL,"
    " height BIGINT NOT NULL, bytes BIGINT NOT NULL, location TEXT, \"offset\" BIGINT,"
    " checksum TEXT, phash BIGINT, dup_of BIGINT, PRIMARY KEY(video_id, seq));"
    "CREATE INDEX IF NOT EXISTS frames_location ON frames(location);"
    "CREATE TABLE IF NOT EXISTS audio("
    " video_id BIGINT PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE, path TEXT NOT NULL,"
    " rate BIGINT NOT NULL, channels BIGINT NOT NULL, duration DOUBLE PRECISION,"
    " bytes BIGINT);"
    "CREATE INDEX IF NOT EXISTS audio_path ON audio(path);"
    "CREATE TABLE IF NOT EXISTS shots("
    " video_id BIGINT NOT NULL REFERENCES videos(id) ON DELETE CASCADE, seq BIGINT NOT NULL,"
    " start DOUBLE PRECISION NOT NULL, \"end\" DOUBLE PRECISION NOT NULL,"
    " first_frame BIGINT NOT NULL, last_frame BIGINT NOT NULL, cause TEXT NOT NULL,"
    " score DOUBLE PRECISION NOT NULL, PRIMARY KEY(video_id, seq));"
    "CREATE TABLE IF NOT EXISTS labels("
    " video_id BIGINT NOT NULL REFERENCES videos(id) ON DELETE CASCADE, seq BIGINT NOT NULL,"
    " caption TEXT, tags TEXT, model TEXT NOT NULL, latency DOUBLE PRECISION NOT NULL,"
    " error TEXT, PRIMARY KEY(video_id, seq));"
    "CREATE TABLE IF NOT EXISTS renditions("
    " video_id BIGINT NOT NULL REFERENCES videos(id) ON DELETE CASCADE, seq BIGINT NOT NULL,"
    " preset TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL, bytes BIGINT NOT NULL,"
    " duration DOUBLE PRECISION, codec TEXT, width BIGINT, height BIGINT, bitrate BIGINT,"
    " PRIMARY KEY(video_id, seq));"
    "CREATE TABLE IF NOT EXISTS segments("
    " video_id BIGINT NOT NULL REFERENCES videos(id) ON DELETE CASCADE, seq BIGINT NOT NULL,"
    " start DOUBLE PRECISION NOT NULL, \"end\" DOUBLE PRECISION NOT NULL, text TEXT NOT NULL,"
    " PRIMARY KEY(video_id, seq));"
    "CREATE TABLE IF NOT EXISTS shards(name TEXT PRIMARY KEY, size BIGINT NOT NULL,"
    " samples BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS blobs(checksum TEXT PRIMARY KEY, location TEXT NOT NULL,"
    " \"offset\" BIGINT, bytes BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS blobs_location ON blobs(location);"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    /* schema 7: the objects of a bucket output whose upload completed */
    "CREATE TABLE IF NOT EXISTS uploads(name TEXT PRIMARY KEY, bytes BIGINT NOT NULL,"
    " etag TEXT NOT NULL);"
    /* schema 3 (catalog/migrate.h): added to a catalog made before it */
    "ALTER TABLE videos ADD COLUMN IF NOT EXISTS audio TEXT;"
    /* schema 5: where each video decoded */
    "ALTER TABLE videos ADD COLUMN IF NOT EXISTS device TEXT;";

/* Rows schema 2 never writes: relative paths (catalog/migrate.c). */
#define LEFTOVER                                                                                   \
    " WHERE substr(path, 1, 1) <> '/' AND substr(path, 1, 7) <> 'http://' AND"                     \
    " substr(path, 1, 8) <> 'https://'"

static const char *const ref_sql[CATALOG_REF_COUNT] = {
    [CATALOG_REF_FRAME] = "SELECT 1 FROM frames WHERE location=$1 LIMIT 1",
    [CATALOG_REF_AUDIO] = "SELECT 1 FROM audio WHERE path=$1 LIMIT 1",
    [CATALOG_REF_VIDEO] =
        "SELECT 1 FROM videos WHERE key=$1 AND status IN ('ok','partial') LIMIT 1",
    [CATALOG_REF_SHARD] = "SELECT 1 FROM shards WHERE name=$1",
    [CATALOG_REF_BLOB] = "SELECT 1 FROM blobs WHERE location=$1 LIMIT 1",
    [CATALOG_REF_RENDITION] =
        "SELECT 1 FROM renditions WHERE substr(path, 1, length($1::text) + 1) = $1::text || '/' "
        "LIMIT 1",
};

/* Runs sql with p's parameters, no result wanted. */
static int run(CatalogBackend *b, const char *what, const char *sql, const PgParams *p)
{
    return vidx__pg_exec(b, what, sql, p ? p->n : 0, p ? p->v : NULL, NULL);
}

/* Runs a query; 0 and *res, or the error. */
static int query(CatalogBackend *b, const char *what, const char *sql, const PgParams *p,
                 PGresult **res)
{
    return vidx__pg_exec(b, what, sql, p ? p->n : 0, p ? p->v : NULL, res);
}

static void copy_text(char *dst, size_t size, const char *text)
{
    snprintf(dst, size, "%s", text ? text : "");
}

static void bk_close(CatalogBackend *b)
{
    vidx__pg_disconnect(b);
}

static int bk_open(CatalogBackend **out, const char *url, int readonly)
{
    CatalogBackend *b;
    int ret = vidx__pg_connect(&b, url, readonly);
    if (ret < 0)
        return ret;
    if (!readonly) {
        PGresult *r = PQexec(vidx__pg_conn(b), "BEGIN");
        PQclear(r);
        r = PQexec(vidx__pg_conn(b), schema);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            vidx__log(VIDX_LOG_ERROR, "catalog %s: creating the tables: %s", vidx__pg_name(b),
                      PQresultErrorMessage(r));
        PQclear(r);
        r = PQexec(vidx__pg_conn(b), ok ? "COMMIT" : "ROLLBACK");
        ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) {
            vidx__pg_disconnect(b);
            return VIDX_ECATALOG;
        }
    }
    *out = b;
    return 0;
}

static int bk_is_empty(CatalogBackend *b)
{
    PGresult *r;
    if (query(b, "tables", "SELECT to_regclass('frames') IS NULL", NULL, &r) < 0)
        return 1;
    int empty = !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    return empty;
}

/* ---------------------------------------------------------------------- */
/* Transactions                                                            */
/* ---------------------------------------------------------------------- */

static void bk_rollback(CatalogBackend *b)
{
    PGconn *c = vidx__pg_conn(b);
    if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
}

static int bk_begin(CatalogBackend *b)
{
    return run(b, "begin", "BEGIN", NULL);
}

static int bk_commit(CatalogBackend *b)
{
    int ret = run(b, "commit", "COMMIT", NULL);
    if (ret < 0)
        bk_rollback(b);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* The run                                                                 */
/* ---------------------------------------------------------------------- */

static int bk_prior(CatalogBackend *b, const char *path, CatalogPrior *out)
{
    PgParams p = {.n = 0};
    PGresult *r;
    memset(out, 0, sizeof(*out));
    vidx__pg_text(&p, path);
    int ret = query(b, "lookup",
                    "SELECT status, fingerprint, options_hash, attempts, key FROM videos "
                    "WHERE path=$1",
                    &p, &r);
    if (ret < 0)
        return ret;
    if (PQntuples(r) > 0) {
        out->found = 1;
        out->status = vidx__video_status_parse(vidx__pg_get(r, 0, 0));
        copy_text(out->fingerprint, sizeof(out->fingerprint), vidx__pg_get(r, 0, 1));
        copy_text(out->options, sizeof(out->options), vidx__pg_get(r, 0, 2));
        out->attempts = (int)vidx__pg_get_i64(r, 0, 3);
        copy_text(out->key, sizeof(out->key), vidx__pg_get(r, 0, 4));
    }
    PQclear(r);
    return 0;
}

/* The video's row (inserted or updated, locked until the commit): 0 and *id, or the error. */
static int upsert_video(CatalogBackend *b, const CatalogVideo *v, int64_t *id)
{
    PgParams p = {.n = 0};
    PGresult *r;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    vidx__pg_text(&p, v->path);
    vidx__pg_text(&p, v->key);
    vidx__pg_i64(&p, v->size);
    vidx__pg_i64(&p, v->mtime);
    vidx__pg_text(&p, v->fingerprint);
    vidx__pg_text(&p, v->options);
    vidx__pg_text(&p, vidx_video_status_name(v->status));
    vidx__pg_text(&p, v->error_class);
    vidx__pg_text(&p, v->error);
    vidx__pg_f64(&p, v->started);
    vidx__pg_f64(&p, v->seconds);
    vidx__pg_i64(&p, (int64_t)v->n_frames);
    vidx__pg_text(&p, v->probe_json);
    vidx__pg_f64(&p, now.tv_sec + now.tv_nsec / 1e9);
    vidx__pg_text(&p, v->audio);
    vidx__pg_text(&p, v->device);
    int ret = query(b, v->path,
                    "INSERT INTO videos(path,key,size,mtime,fingerprint,options_hash,status,"
                    "error_class,error,attempts,started_at,seconds,frames,probe,updated_at,audio,"
                    "device) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,1,$10,$11,$12,$13,$14,$15,$16) "
                    "ON CONFLICT(path) DO UPDATE SET key=$2,size=$3,mtime=$4,fingerprint=$5,"
                    "options_hash=$6,status=$7,error_class=$8,error=$9,"
                    "attempts=videos.attempts+1,started_at=$10,seconds=$11,frames=$12,probe=$13,"
                    "updated_at=$14,audio=$15,device=$16 RETURNING id",
                    &p, &r);
    if (ret < 0)
        return ret;
    *id = vidx__pg_get_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

static int insert_frame(CatalogBackend *b, int64_t id, size_t seq, const CatalogFrame *cf)
{
    const VidxFrameRecord *rec = cf->rec;
    PgParams p = {.n = 0};
    vidx__pg_i64(&p, id);
    vidx__pg_i64(&p, (int64_t)seq);
    vidx__pg_i64(&p, rec->index);
    vidx__pg_f64(&p, rec->target);
    vidx__pg_f64(&p, rec->time);
    vidx__pg_i64(&p, rec->pts);
    vidx__pg_i64(&p, rec->keyframe);
    vidx__pg_i64(&p, rec->width);
    vidx__pg_i64(&p, rec->height);
    vidx__pg_i64(&p, rec->bytes);
    vidx__pg_text(&p, cf->location);
    if (cf->location && cf->offset >= 0)
        vidx__pg_i64(&p, cf->offset);
    else
        vidx__pg_text(&p, NULL);
    vidx__pg_text(&p, rec->sha256[0] ? rec->sha256 : NULL);
    vidx__pg_i64(&p, (int64_t)rec->phash);
    if (rec->dup_of >= 0)
        vidx__pg_i64(&p, rec->dup_of);
    else
        vidx__pg_text(&p, NULL);
    return run(b, "frame",
               "INSERT INTO frames VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)", &p);
}

static int insert_blob(CatalogBackend *b, const CatalogFrame *cf)
{
    PgParams p = {.n = 0};
    vidx__pg_text(&p, cf->rec->sha256);
    vidx__pg_text(&p, cf->location);
    if (cf->offset >= 0)
        vidx__pg_i64(&p, cf->offset);
    else
        vidx__pg_text(&p, NULL);
    vidx__pg_i64(&p, cf->rec->bytes);
    return run(b, "blob", "INSERT INTO blobs VALUES($1,$2,$3,$4) ON CONFLICT(checksum) DO NOTHING",
               &p);
}

static int insert_frames(CatalogBackend *b, int64_t id, const CatalogVideo *v)
{
    int ret = 0;
    for (size_t i = 0; i < v->n_frames && ret == 0; i++) {
        ret = insert_frame(b, id, i, &v->frames[i]);
        if (ret == 0 && v->frames[i].new_blob)
            ret = insert_blob(b, &v->frames[i]);
    }
    return ret;
}

static int bk_shard_set(CatalogBackend *b, const char *name, int64_t size, int64_t samples)
{
    PgParams p = {.n = 0};
    vidx__pg_text(&p, name);
    vidx__pg_i64(&p, size);
    vidx__pg_i64(&p, samples);
    return run(b, "shard",
               "INSERT INTO shards VALUES($1,$2,$3) ON CONFLICT(name) DO UPDATE SET size=$2, "
               "samples=$3",
               &p);
}

static int update_shard(CatalogBackend *b, const CatalogVideo *v)
{
    if (!v->shard_name || !v->shard_name[0])
        return 0;
    return bk_shard_set(b, v->shard_name, v->shard_size, v->shard_samples);
}

static int insert_audio(CatalogBackend *b, int64_t id, const CatalogVideo *v)
{
    PgParams p = {.n = 0};
    if (!v->audio_path)
        return 0;
    vidx__pg_i64(&p, id);
    vidx__pg_text(&p, v->audio_path);
    vidx__pg_i64(&p, v->audio_rate);
    vidx__pg_i64(&p, v->audio_channels);
    vidx__pg_f64(&p, v->audio_duration);
    vidx__pg_i64(&p, v->audio_bytes);
    return run(b, "audio", "INSERT INTO audio VALUES($1,$2,$3,$4,$5,$6)", &p);
}

static int insert_shots(CatalogBackend *b, int64_t id, const CatalogVideo *v)
{
    int ret = 0;
    for (size_t i = 0; i < v->n_shots && ret == 0; i++) {
        const CatalogShot *s = &v->shots[i];
        PgParams p = {.n = 0};
        vidx__pg_i64(&p, id);
        vidx__pg_i64(&p, (int64_t)i);
        vidx__pg_f64(&p, s->start);
        vidx__pg_f64(&p, s->end);
        vidx__pg_i64(&p, s->first_frame);
        vidx__pg_i64(&p, s->last_frame);
        vidx__pg_text(&p, s->cause);
        vidx__pg_f64(&p, s->score);
        ret = run(b, "shots", "INSERT INTO shots VALUES($1,$2,$3,$4,$5,$6,$7,$8)", &p);
    }
    return ret;
}

static int insert_segments(CatalogBackend *b, int64_t id, const CatalogVideo *v)
{
    int ret = 0;
    for (size_t i = 0; i < v->n_segments && ret == 0; i++) {
        PgParams p = {.n = 0};
        vidx__pg_i64(&p, id);
        vidx__pg_i64(&p, (int64_t)i);
        vidx__pg_f64(&p, v->segments[i].start);
        vidx__pg_f64(&p, v->segments[i].end);
        vidx__pg_text(&p, v->segments[i].text);
        ret = run(b, "segments", "INSERT INTO segments VALUES($1,$2,$3,$4,$5)", &p);
    }
    return ret;
}

static int insert_labels(CatalogBackend *b, int64_t id, const CatalogVideo *v)
{
    int ret = 0;
    for (size_t i = 0; i < v->n_labels && ret == 0; i++) {
        const CatalogLabel *l = &v->labels[i];
        PgParams p = {.n = 0};
        vidx__pg_i64(&p, id);
        vidx__pg_i64(&p, l->seq);
        vidx__pg_text(&p, l->caption);
        vidx__pg_text(&p, l->tags);
        vidx__pg_text(&p, l->model ? l->model : "");
        vidx__pg_f64(&p, l->latency);
        vidx__pg_text(&p, l->error);
        ret = run(b, "labels", "INSERT INTO labels VALUES($1,$2,$3,$4,$5,$6,$7)", &p);
    }
    return ret;
}

static int insert_renditions(CatalogBackend *b, int64_t id, const CatalogVideo *v)
{
    int ret = 0;
    for (size_t i = 0; i < v->n_renditions && ret == 0; i++) {
        const CatalogRendition *r = &v->renditions[i];
        PgParams p = {.n = 0};
        vidx__pg_i64(&p, id);
        vidx__pg_i64(&p, (int64_t)i);
        vidx__pg_text(&p, r->preset);
        vidx__pg_text(&p, r->kind);
        vidx__pg_text(&p, r->path);
        vidx__pg_i64(&p, r->bytes);
        vidx__pg_f64(&p, r->duration);
        vidx__pg_text(&p, r->codec);
        vidx__pg_i64(&p, r->width);
        vidx__pg_i64(&p, r->height);
        vidx__pg_i64(&p, r->bitrate);
        ret = run(b, "renditions",
                  "INSERT INTO renditions VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)", &p);
    }
    return ret;
}

static int delete_rows(CatalogBackend *b, int64_t id)
{
    PgParams p = {.n = 0};
    vidx__pg_i64(&p, id);
    int ret = run(b, "frames", "DELETE FROM frames WHERE video_id=$1", &p);
    if (ret == 0)
        ret = run(b, "shots", "DELETE FROM shots WHERE video_id=$1", &p);
    if (ret == 0)
        ret = run(b, "segments", "DELETE FROM segments WHERE video_id=$1", &p);
    if (ret == 0)
        ret = run(b, "labels", "DELETE FROM labels WHERE video_id=$1", &p);
    if (ret == 0)
        ret = run(b, "renditions", "DELETE FROM renditions WHERE video_id=$1", &p);
    return ret < 0 ? ret : run(b, "audio", "DELETE FROM audio WHERE video_id=$1", &p);
}

static int bk_put(CatalogBackend *b, const CatalogVideo *v)
{
    int64_t id = 0;
    int ret = upsert_video(b, v, &id);
    if (ret == 0)
        ret = delete_rows(b, id);
    if (ret == 0)
        ret = insert_frames(b, id, v);
    if (ret == 0)
        ret = insert_audio(b, id, v);
    if (ret == 0)
        ret = insert_shots(b, id, v);
    if (ret == 0)
        ret = insert_segments(b, id, v);
    if (ret == 0)
        ret = insert_labels(b, id, v);
    if (ret == 0)
        ret = insert_renditions(b, id, v);
    if (ret == 0)
        ret = update_shard(b, v);
    if (ret == -EEXIST) { /* a unique key taken by a row this video does not own */
        vidx__log(VIDX_LOG_ERROR, "catalog %s: %s: a unique key is taken", vidx__pg_name(b),
                  v->path);
        return VIDX_ECATALOG;
    }
    return ret;
}

static int bk_blob_get(CatalogBackend *b, const char *sha256, char *location, size_t size,
                       int64_t *offset)
{
    PgParams p = {.n = 0};
    PGresult *r;
    vidx__pg_text(&p, sha256);
    if (query(b, "blob", "SELECT location, \"offset\" FROM blobs WHERE checksum=$1", &p, &r) < 0)
        return 0;
    int found = PQntuples(r) > 0;
    if (found) {
        copy_text(location, size, vidx__pg_get(r, 0, 0));
        *offset = vidx__pg_get(r, 0, 1) ? vidx__pg_get_i64(r, 0, 1) : -1;
    }
    PQclear(r);
    return found;
}

static int bk_meta_get(CatalogBackend *b, const char *key, char *value, size_t size)
{
    PgParams p = {.n = 0};
    PGresult *r;
    vidx__pg_text(&p, key);
    int ret = query(b, key, "SELECT value FROM meta WHERE key=$1", &p, &r);
    if (ret < 0)
        return ret;
    int found = PQntuples(r) > 0;
    if (found)
        copy_text(value, size, vidx__pg_get(r, 0, 0));
    PQclear(r);
    return found;
}

static int bk_meta_put(CatalogBackend *b, const char *key, const char *value)
{
    PgParams p = {.n = 0};
    vidx__pg_text(&p, key);
    vidx__pg_text(&p, value);
    return run(b, key, "INSERT INTO meta VALUES($1,$2) ON CONFLICT(key) DO UPDATE SET value=$2",
               &p);
}

static int bk_meta_add(CatalogBackend *b, const char *key, const char *value)
{
    PgParams p = {.n = 0};
    PGresult *r;
    vidx__pg_text(&p, key);
    vidx__pg_text(&p, value);
    int ret = query(
        b, key, "INSERT INTO meta VALUES($1,$2) ON CONFLICT(key) DO NOTHING RETURNING 1", &p, &r);
    if (ret < 0)
        return ret;
    ret = PQntuples(r) > 0;
    PQclear(r);
    return ret;
}

static int bk_shards(CatalogBackend *b, int (*fn)(void *, const char *, int64_t), void *opaque)
{
    PGresult *r;
    int ret = query(b, "shards", "SELECT name, size FROM shards", NULL, &r);
    for (int i = 0; ret == 0 && i < PQntuples(r); i++)
        ret = fn(opaque, vidx__pg_get(r, i, 0), vidx__pg_get_i64(r, i, 1));
    PQclear(r);
    return ret;
}

static int bk_shard_claim(CatalogBackend *b, const char *name, int claim)
{
    PgParams p = {.n = 0};
    PGresult *r;
    vidx__pg_text(&p, name);
    if (!claim)
        return run(b, "shards", "DELETE FROM shards WHERE name=$1 AND size=0", &p);
    int ret =
        query(b, "shards",
              "INSERT INTO shards VALUES($1,0,0) ON CONFLICT(name) DO NOTHING RETURNING 1", &p, &r);
    if (ret < 0)
        return ret == -EEXIST ? VIDX_ECATALOG : ret;
    ret = PQntuples(r) > 0 ? 0 : -EEXIST;
    PQclear(r);
    return ret;
}

static int bk_upload_put(CatalogBackend *b, const char *name, int64_t bytes, const char *etag)
{
    PgParams p = {.n = 0};
    vidx__pg_text(&p, name);
    vidx__pg_i64(&p, bytes);
    vidx__pg_text(&p, etag);
    return run(b, "uploads",
               "INSERT INTO uploads VALUES($1,$2,$3) ON CONFLICT(name) DO UPDATE SET bytes=$2, "
               "etag=$3",
               &p);
}

static int has_table(CatalogBackend *b, const char *table);

static int bk_uploads(CatalogBackend *b, CatalogUploadFn fn, void *opaque)
{
    PGresult *r;
    int ret = has_table(b, "uploads"); /* none in a catalog older than schema 7 (read-only) */
    if (ret <= 0)
        return ret;
    ret = query(b, "uploads", "SELECT name, bytes, etag FROM uploads ORDER BY name", NULL, &r);
    for (int i = 0; ret == 0 && i < PQntuples(r); i++)
        ret = fn(opaque, vidx__pg_get(r, i, 0), vidx__pg_get_i64(r, i, 1), vidx__pg_get(r, i, 2));
    PQclear(r);
    return ret;
}

/* Bucket outputs keep their catalog in a local SQLite file; a PostgreSQL one is not copied. */
static int bk_snapshot(CatalogBackend *b, const char *path)
{
    (void)b;
    vidx__log(VIDX_LOG_ERROR, "%s: a PostgreSQL catalog is not copied to a file", path);
    return VIDX_EUSAGE;
}

/* ---------------------------------------------------------------------- */
/* Readers: vidx status, vidx export                                       */
/* ---------------------------------------------------------------------- */

static int bk_status(CatalogBackend *b, CatalogCountFn count, CatalogFailureFn failure,
                     void *opaque)
{
    PGresult *r;
    if (query(b, "status",
              "SELECT status, count(*), coalesce(sum(frames),0) FROM videos GROUP BY status "
              "ORDER BY status COLLATE \"C\"",
              NULL, &r) < 0)
        return VIDX_ECATALOG;
    for (int i = 0; i < PQntuples(r); i++)
        count(opaque, vidx__pg_get(r, i, 0), vidx__pg_get_i64(r, i, 1), vidx__pg_get_i64(r, i, 2));
    PQclear(r);
    if (query(b, "status",
              "SELECT path, status, error_class, error, attempts FROM videos "
              "WHERE status NOT IN ('ok') ORDER BY path COLLATE \"C\"",
              NULL, &r) < 0)
        return VIDX_ECATALOG;
    for (int i = 0; i < PQntuples(r); i++)
        failure(opaque, vidx__pg_get(r, i, 0), vidx__pg_get(r, i, 1), vidx__pg_get(r, i, 2),
                vidx__pg_get(r, i, 3), (int)vidx__pg_get_i64(r, i, 4));
    PQclear(r);
    return 0;
}

/* 1 when the catalog has table name (labels: schema 6, uploads: 7, renditions: 8), 0 when
 * it is older, else an error. */
static int has_table(CatalogBackend *b, const char *name)
{
    PgParams p = {.n = 0};
    PGresult *r;
    vidx__pg_text(&p, name);
    if (query(b, name, "SELECT to_regclass($1::text) IS NOT NULL", &p, &r) < 0)
        return VIDX_ECATALOG;
    int found = PQntuples(r) == 1 && !strcmp(vidx__pg_get(r, 0, 0), "t");
    PQclear(r);
    return found;
}

static int bk_rendition_counts(CatalogBackend *b, int64_t *videos, int64_t *files, int64_t *bytes)
{
    PGresult *r;
    *videos = *files = *bytes = 0;
    int found = has_table(b, "renditions");
    if (found <= 0) /* a catalog of schema 7 or older, read by an old reader's rules: none */
        return found;
    if (query(b, "renditions",
              "SELECT count(DISTINCT video_id), count(*), coalesce(sum(bytes), 0) FROM renditions "
              "WHERE kind <> 'master'",
              NULL, &r) < 0)
        return VIDX_ECATALOG;
    *videos = vidx__pg_get_i64(r, 0, 0);
    *files = vidx__pg_get_i64(r, 0, 1);
    *bytes = vidx__pg_get_i64(r, 0, 2);
    PQclear(r);
    return 0;
}

static int bk_label_counts(CatalogBackend *b, int64_t *labelled, int64_t *failed)
{
    PGresult *r;
    *labelled = *failed = 0;
    int found = has_table(b, "labels");
    if (found <= 0) /* a catalog of schema 5 or older, read by an old reader's rules: none */
        return found;
    if (query(b, "labels", "SELECT count(*), count(error) FROM labels", NULL, &r) < 0)
        return VIDX_ECATALOG;
    *labelled = vidx__pg_get_i64(r, 0, 0);
    *failed = vidx__pg_get_i64(r, 0, 1);
    PQclear(r);
    return 0;
}

#define EXPORT_COLUMNS 20
#define OID_INT8       20
#define OID_INT2       21
#define OID_INT4       23
#define OID_FLOAT4     700
#define OID_FLOAT8     701
#define OID_NUMERIC    1700

/* A real as SQLite writes it as text (15 significant digits, always a point or exponent). */
static void real_text(double d, char *buf, size_t size)
{
    snprintf(buf, size, "%.15g", d);
    if (!strpbrk(buf, ".eni"))
        snprintf(buf + strlen(buf), size - strlen(buf), ".0");
}

static void column_value(const PGresult *r, int row, int c, CatalogValue *v, char *buf, size_t size)
{
    Oid t = PQftype(r, c);
    v->text = vidx__pg_get(r, row, c);
    if (!v->text)
        v->type = CATALOG_NULL;
    else if (t == OID_INT8 || t == OID_INT4 || t == OID_INT2) {
        v->type = CATALOG_INT;
        v->i = strtoll(v->text, NULL, 10);
    } else if (t == OID_FLOAT8 || t == OID_FLOAT4 || t == OID_NUMERIC) {
        v->type = CATALOG_REAL;
        v->d = strtod(v->text, NULL);
        real_text(v->d, buf, size);
        v->text = buf;
    } else
        v->type = CATALOG_TEXT;
}

static int export_each(const PGresult *r, CatalogRowFn fn, void *opaque)
{
    const char *names[EXPORT_COLUMNS];
    CatalogValue values[EXPORT_COLUMNS];
    char bufs[EXPORT_COLUMNS][40];
    int n = VIDX_MIN(PQnfields(r), EXPORT_COLUMNS), ret;
    for (int i = 0; i < n; i++)
        names[i] = PQfname(r, i);
    ret = fn(opaque, n, names, NULL);
    for (int row = 0; ret == 0 && row < PQntuples(r); row++) {
        for (int i = 0; i < n; i++)
            column_value(r, row, i, &values[i], bufs[i], sizeof(bufs[i]));
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
        {"frames", "SELECT v.path AS video, f.seq, f.idx AS \"index\", f.target, f.time, f.pts, "
                   "f.keyframe, f.width, f.height, f.bytes, f.location, f.\"offset\", "
                   "f.checksum, f.phash, f.dup_of FROM frames f JOIN videos v ON v.id = "
                   "f.video_id ORDER BY f.video_id, f.seq"},
        {"audio",
         "SELECT v.path AS video, a.path, a.rate, a.channels, a.duration, a.bytes FROM audio a "
         "JOIN videos v ON v.id = a.video_id ORDER BY a.video_id"},
        {"shots", "SELECT v.path AS video, s.seq, s.start, s.\"end\", s.first_frame, "
                  "s.last_frame, s.cause, s.score FROM shots s JOIN videos v ON v.id = s.video_id "
                  "ORDER BY s.video_id, s.seq"},
        {"segments", "SELECT v.path AS video, s.seq, s.start, s.\"end\", s.text FROM segments s "
                     "JOIN videos v ON v.id = s.video_id ORDER BY s.video_id, s.seq"},
        {"labels", "SELECT v.path AS video, l.seq, f.idx AS \"index\", f.time, f.location, "
                   "f.\"offset\", l.caption, l.tags, l.model, l.latency, l.error FROM labels l "
                   "JOIN videos v ON v.id = l.video_id LEFT JOIN frames f ON "
                   "f.video_id = l.video_id AND f.seq = l.seq ORDER BY l.video_id, l.seq"},
        {"renditions", "SELECT v.path AS video, r.preset, r.kind, r.path, r.bytes, r.duration, "
                       "r.codec, r.width, r.height, r.bitrate FROM renditions r JOIN videos v ON "
                       "v.id = r.video_id ORDER BY r.video_id, r.seq"},
    };
    const char *sql = NULL;
    PGresult *r;
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(queries); i++)
        if (!strcmp(table, queries[i][0]))
            sql = queries[i][1];
    if (!sql)
        return VIDX_EUSAGE;
    int ret = query(b, table, sql, NULL, &r);
    if (ret < 0)
        return ret;
    ret = export_each(r, fn, opaque);
    PQclear(r);
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
        TERM("status = $%d::text", n);
    }
    if (v->error_class) {
        spec[n++] = 'c';
        TERM("error_class = $%d::text", n);
    }
    if (v->search) {
        spec[n++] = 'q';
        TERM("(strpos(path, $%d::text) > 0 OR strpos(coalesce(error, ''), $%d::text) > 0)", n, n);
    }
    if (page) {
        spec[n++] = 'a';
        TERM("id > $%d::bigint", n);
        spec[n++] = 'l';
        len += (size_t)snprintf(sql + len, size - len, " ORDER BY id LIMIT $%d::bigint", n);
    }
#undef TERM
    spec[n] = 0;
}

/* Each view's statement and its parameters, as in sqlite.c's view_sql (VIDEOS, MATCHING:
 * filter_sql). */
static const char *const view_sql[CATALOG_VIEW_COUNT][2] = {
    [CATALOG_VIEW_COUNTS] = {"",
                             "SELECT status, count(*) AS videos, coalesce(sum(frames), 0)::bigint "
                             "AS frames FROM videos GROUP BY status ORDER BY status"},
    [CATALOG_VIEW_CLASSES] = {"", "SELECT status, error_class, count(*) AS videos FROM videos "
                                  "WHERE status IN ('partial', 'failed', 'crashed', 'timeout') "
                                  "GROUP BY status, error_class "
                                  "ORDER BY videos DESC, status, error_class"},
    [CATALOG_VIEW_TIMELINE] =
        {"bnu", "SELECT * FROM (SELECT t, (SELECT count(*) FROM videos WHERE "
                "(started_at + seconds) >= greatest(t, $2::float8) AND (started_at "
                "+ seconds) < least(t + $1::float8, $3::float8)) AS videos, "
                "(SELECT coalesce(sum(frames), 0)::bigint FROM videos WHERE "
                "(started_at + seconds) >= greatest(t, $2::float8) AND (started_at "
                "+ seconds) < least(t + $1::float8, $3::float8)) AS frames FROM "
                "(SELECT k * $1::float8 AS t FROM generate_series(floor($2::float8 / "
                "$1::float8)::bigint, floor($3::float8 / $1::float8)::bigint) "
                "AS k) AS g) AS b WHERE videos > 0"},
    [CATALOG_VIEW_VIDEO] = {"i", "SELECT id, path, key, size, mtime, fingerprint, options_hash, "
                                 "status, error_class, error, attempts, started_at, seconds, "
                                 "frames, probe, updated_at, audio FROM videos WHERE id = "
                                 "$1::bigint"},
    [CATALOG_VIEW_FRAMES] = {"ial", "SELECT seq, idx AS \"index\", target, time, pts, keyframe, "
                                    "width, height, bytes, location, \"offset\", checksum, "
                                    "phash, dup_of FROM frames WHERE video_id = $1::bigint AND "
                                    "seq >= $2::bigint ORDER BY seq LIMIT $3::bigint"},
    [CATALOG_VIEW_SHOTS] = {"il", "SELECT seq, start, \"end\", first_frame, last_frame, cause, "
                                  "score FROM shots WHERE video_id = $1::bigint ORDER BY seq "
                                  "LIMIT $2::bigint"},
    [CATALOG_VIEW_SEGMENTS] = {"il", "SELECT seq, start, \"end\", text FROM segments WHERE "
                                     "video_id = $1::bigint ORDER BY seq LIMIT $2::bigint"},
    [CATALOG_VIEW_AUDIO] = {"i", "SELECT path, rate, channels, duration, bytes FROM audio "
                                 "WHERE video_id = $1::bigint"},
    [CATALOG_VIEW_LABELS] = {"ial", "SELECT seq, caption, tags, model, latency, error FROM labels "
                                    "WHERE video_id = $1::bigint AND seq >= $2::bigint ORDER BY "
                                    "seq LIMIT $3::bigint"},
};

/* CATALOG_VIEW_LABELS in a catalog without the labels table: its columns, no rows. */
static const char no_labels_sql[] =
    "SELECT NULL::bigint AS seq, NULL::text AS caption, NULL::text AS tags, NULL::text AS "
    "model, NULL::float8 AS latency, NULL::text AS error WHERE false";

static int bk_view(CatalogBackend *b, const CatalogView *v, CatalogRowFn fn, void *opaque)
{
    PgParams p = {.n = 0};
    PGresult *r;
    if ((unsigned)v->kind >= CATALOG_VIEW_COUNT)
        return VIDX_EUSAGE;
    const char *spec = view_sql[v->kind][0], *sql = view_sql[v->kind][1];
    char filtered[512], filter_spec[8];
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
    for (const char *f = spec; *f; f++) {
        if (*f == 'i' || *f == 'a' || *f == 'l')
            vidx__pg_i64(&p, *f == 'i' ? v->id : *f == 'a' ? v->after : v->limit);
        else if (*f == 'b' || *f == 'n' || *f == 'u')
            vidx__pg_f64(&p, *f == 'b' ? v->bucket : *f == 'n' ? v->since : v->until);
        else
            vidx__pg_text(&p, *f == 's' ? v->status : *f == 'c' ? v->error_class : v->search);
    }
    int ret = query(b, "reading a view", sql, &p, &r);
    if (ret < 0)
        return ret;
    ret = export_each(r, fn, opaque);
    PQclear(r);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* Maintenance: verify, gc, verify --repair                                */
/* ---------------------------------------------------------------------- */

#define LOCATIONS                                                                                  \
    "SELECT v.id, v.path, f.location, f.\"offset\", f.bytes, f.checksum FROM frames f "            \
    "JOIN videos v ON v.id = f.video_id WHERE f.location IS NOT NULL "                             \
    "UNION ALL SELECT v.id, v.path, a.path, NULL, a.bytes, NULL FROM audio a "                     \
    "JOIN videos v ON v.id = a.video_id "

static int bk_locations(CatalogBackend *b, int (*fn)(void *, const CatalogLocation *), void *opaque)
{
    static const char with[] = LOCATIONS CATALOG_RENDITION_LOCATIONS " ORDER BY 1",
                      without[] = LOCATIONS "ORDER BY 1"; /* schema 7 or older */
    PGresult *r;
    int ret = has_table(b, "renditions");
    if (ret < 0 || (ret = query(b, "locations", ret ? with : without, NULL, &r)) < 0)
        return ret;
    for (int i = 0; ret == 0 && i < PQntuples(r); i++) {
        CatalogLocation l = {
            .video_id = vidx__pg_get_i64(r, i, 0),
            .video = vidx__pg_get(r, i, 1),
            .location = vidx__pg_get(r, i, 2),
            .offset = vidx__pg_get(r, i, 3) ? vidx__pg_get_i64(r, i, 3) : -1,
            .bytes = vidx__pg_get_i64(r, i, 4),
            .checksum = vidx__pg_get(r, i, 5),
        };
        ret = fn(opaque, &l);
    }
    PQclear(r);
    return ret;
}

static int bk_referenced(CatalogBackend *b, CatalogRef what, const char *name)
{
    PgParams p = {.n = 0};
    PGresult *r;
    if ((unsigned)what >= CATALOG_REF_COUNT)
        return VIDX_ECATALOG;
    vidx__pg_text(&p, name);
    if (query(b, "looking up a file", ref_sql[what], &p, &r) < 0)
        return VIDX_ECATALOG;
    int found = PQntuples(r) > 0;
    PQclear(r);
    return found;
}

static int bk_forget_video(CatalogBackend *b, int64_t id, char *key, size_t size)
{
    PgParams p = {.n = 0};
    PGresult *r;
    vidx__pg_i64(&p, id);
    int ret = query(b, "forgetting a damaged video", "DELETE FROM videos WHERE id=$1 RETURNING key",
                    &p, &r);
    if (ret < 0)
        return ret;
    copy_text(key, size, PQntuples(r) > 0 ? vidx__pg_get(r, 0, 0) : NULL);
    PQclear(r);
    return 0;
}

static int bk_forget_blob(CatalogBackend *b, const char *location)
{
    PgParams p = {.n = 0};
    vidx__pg_text(&p, location);
    return run(b, "forgetting a damaged blob", "DELETE FROM blobs WHERE location=$1", &p);
}

/* ---------------------------------------------------------------------- */
/* Schema migration                                                        */
/* ---------------------------------------------------------------------- */

static int bk_videos(CatalogBackend *b, int relative_only,
                     int (*fn)(void *, const CatalogVideoId *), void *opaque)
{
    PGresult *r;
    int ret = query(b, "videos",
                    relative_only ? "SELECT id, path, size, mtime, fingerprint FROM videos" LEFTOVER
                                  : "SELECT id, path, size, mtime, fingerprint FROM videos",
                    NULL, &r);
    if (ret < 0)
        return ret;
    for (int i = 0; ret == 0 && i < PQntuples(r); i++) {
        CatalogVideoId v = {
            .id = vidx__pg_get_i64(r, i, 0),
            .path = vidx__pg_get(r, i, 1),
            .size = vidx__pg_get_i64(r, i, 2),
            .mtime = vidx__pg_get_i64(r, i, 3),
            .fingerprint = vidx__pg_get(r, i, 4),
        };
        ret = fn(opaque, &v);
    }
    PQclear(r);
    return ret;
}

static int bk_rename_video(CatalogBackend *b, int64_t id, const char *path)
{
    PgParams p = {.n = 0};
    PGresult *r;
    vidx__pg_text(&p, path);
    vidx__pg_i64(&p, id);
    int ret = query(b, "renaming a video",
                    "UPDATE videos SET path=$1 WHERE id=$2 AND NOT EXISTS "
                    "(SELECT 1 FROM videos WHERE path=$1) RETURNING 1",
                    &p, &r);
    if (ret == -EEXIST)
        return 0; /* taken by a concurrent writer */
    if (ret < 0)
        return ret;
    ret = PQntuples(r) > 0;
    PQclear(r);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* Merging outputs: each video with its frames and audio                   */
/* ---------------------------------------------------------------------- */

static int64_t get_i64_or(const PGresult *r, int row, int c, int64_t none)
{
    return PQgetisnull(r, row, c) ? none : vidx__pg_get_i64(r, row, c);
}

/* The frame rows of video id (r: the query's result, kept until the video is done). */
static int read_frames(CatalogBackend *b, int64_t id, PGresult **r, CatalogFrame **cf,
                       VidxFrameRecord **rec, size_t *n)
{
    PgParams p = {.n = 0};
    vidx__pg_i64(&p, id);
    int ret = query(b, "reading frames",
                    "SELECT idx, target, time, pts, keyframe, width, height, bytes, location,"
                    " \"offset\", checksum, phash, dup_of, EXISTS(SELECT 1 FROM blobs bl"
                    " WHERE bl.checksum = f.checksum AND bl.location = f.location AND"
                    " bl.\"offset\" IS NOT DISTINCT FROM f.\"offset\") FROM frames f"
                    " WHERE video_id = $1 ORDER BY seq",
                    &p, r);
    *n = ret == 0 ? (size_t)PQntuples(*r) : 0;
    *rec = calloc(*n ? *n : 1, sizeof(**rec));
    *cf = calloc(*n ? *n : 1, sizeof(**cf));
    if (ret == 0 && (!*rec || !*cf))
        ret = -ENOMEM;
    for (int i = 0; ret == 0 && i < (int)*n; i++) {
        VidxFrameRecord *f = &(*rec)[i];
        f->index = vidx__pg_get_i64(*r, i, 0);
        f->target = PQgetisnull(*r, i, 1) ? NAN : strtod(PQgetvalue(*r, i, 1), NULL);
        f->time = strtod(PQgetvalue(*r, i, 2), NULL);
        f->pts = vidx__pg_get_i64(*r, i, 3);
        f->keyframe = (int)vidx__pg_get_i64(*r, i, 4);
        f->width = (int)vidx__pg_get_i64(*r, i, 5);
        f->height = (int)vidx__pg_get_i64(*r, i, 6);
        f->bytes = vidx__pg_get_i64(*r, i, 7);
        copy_text(f->sha256, sizeof(f->sha256), vidx__pg_get(*r, i, 10));
        f->phash = (uint64_t)vidx__pg_get_i64(*r, i, 11);
        f->dup_of = get_i64_or(*r, i, 12, -1);
        (*cf)[i] = (CatalogFrame){.rec = f,
                                  .location = vidx__pg_get(*r, i, 8),
                                  .offset = get_i64_or(*r, i, 9, -1),
                                  .new_blob = !strcmp(PQgetvalue(*r, i, 13), "t")};
    }
    return ret;
}

/* v's audio fields from its audio row, if any (r: kept until the video is done). */
static int read_audio(CatalogBackend *b, int64_t id, PGresult **r, CatalogVideo *v)
{
    PgParams p = {.n = 0};
    vidx__pg_i64(&p, id);
    int ret =
        query(b, "reading audio",
              "SELECT path, rate, channels, duration, bytes FROM audio WHERE video_id = $1", &p, r);
    if (ret == 0 && PQntuples(*r) == 1) {
        v->audio_path = vidx__pg_get(*r, 0, 0);
        v->audio_rate = (int)vidx__pg_get_i64(*r, 0, 1);
        v->audio_channels = (int)vidx__pg_get_i64(*r, 0, 2);
        v->audio_duration = strtod(PQgetvalue(*r, 0, 3), NULL);
        v->audio_bytes = vidx__pg_get_i64(*r, 0, 4);
    }
    return ret;
}

/*
 * The shots and transcript segments of video id into v, in seq order: *sh and
 * *sg hold the rows (PQclear), *shots and *segs the arrays v points at (free).
 */
static int read_extras(CatalogBackend *b, int64_t id, PGresult **sh, PGresult **sg,
                       CatalogShot **shots, CatalogSegment **segs, CatalogVideo *v)
{
    PgParams p = {.n = 0};
    vidx__pg_i64(&p, id);
    int ret = query(b, "reading shots",
                    "SELECT start, \"end\", first_frame, last_frame, cause, score FROM shots"
                    " WHERE video_id = $1 ORDER BY seq",
                    &p, sh);
    int n = ret == 0 ? PQntuples(*sh) : 0;
    if (n > 0 && !(*shots = calloc((size_t)n, sizeof(**shots))))
        return -ENOMEM;
    for (int i = 0; i < n; i++)
        (*shots)[i] = (CatalogShot){strtod(PQgetvalue(*sh, i, 0), NULL),
                                    strtod(PQgetvalue(*sh, i, 1), NULL),
                                    vidx__pg_get_i64(*sh, i, 2),
                                    vidx__pg_get_i64(*sh, i, 3),
                                    PQgetvalue(*sh, i, 4),
                                    strtod(PQgetvalue(*sh, i, 5), NULL)};
    v->shots = *shots, v->n_shots = (size_t)n;
    if (ret == 0)
        ret = query(b, "reading segments",
                    "SELECT start, \"end\", text FROM segments WHERE video_id = $1 ORDER BY seq",
                    &p, sg);
    n = ret == 0 ? PQntuples(*sg) : 0;
    if (n > 0 && !(*segs = calloc((size_t)n, sizeof(**segs))))
        return -ENOMEM;
    for (int i = 0; i < n; i++)
        (*segs)[i] = (CatalogSegment){strtod(PQgetvalue(*sg, i, 0), NULL),
                                      strtod(PQgetvalue(*sg, i, 1), NULL), PQgetvalue(*sg, i, 2)};
    v->segments = *segs, v->n_segments = (size_t)n;
    return ret;
}

/* The labels of video id into v, in seq order: *lr holds the rows (PQclear), *labels the array
 * v points at (free). */
static int read_labels(CatalogBackend *b, int64_t id, PGresult **lr, CatalogLabel **labels,
                       CatalogVideo *v)
{
    PgParams p = {.n = 0};
    vidx__pg_i64(&p, id);
    int ret = query(b, "reading labels",
                    "SELECT seq, caption, tags, model, latency, error FROM labels"
                    " WHERE video_id = $1 ORDER BY seq",
                    &p, lr);
    int n = ret == 0 ? PQntuples(*lr) : 0;
    if (n > 0 && !(*labels = calloc((size_t)n, sizeof(**labels))))
        return -ENOMEM;
    for (int i = 0; i < n; i++)
        (*labels)[i] = (CatalogLabel){.seq = vidx__pg_get_i64(*lr, i, 0),
                                      .caption = vidx__pg_get(*lr, i, 1),
                                      .tags = vidx__pg_get(*lr, i, 2),
                                      .model = vidx__pg_get(*lr, i, 3),
                                      .latency = strtod(PQgetvalue(*lr, i, 4), NULL),
                                      .error = vidx__pg_get(*lr, i, 5)};
    v->labels = *labels, v->n_labels = (size_t)n;
    return ret;
}

static void video_from_row(const PGresult *r, int i, CatalogVideo *v)
{
    *v = (CatalogVideo){
        .path = vidx__pg_get(r, i, 1),
        .key = vidx__pg_get(r, i, 2),
        .size = vidx__pg_get_i64(r, i, 3),
        .mtime = vidx__pg_get_i64(r, i, 4),
        .fingerprint = vidx__pg_get(r, i, 5),
        .options = vidx__pg_get(r, i, 6),
        .status = vidx__video_status_parse(vidx__pg_get(r, i, 7)),
        .error_class = vidx__pg_get(r, i, 8),
        .error = vidx__pg_get(r, i, 9),
        .started = strtod(PQgetvalue(r, i, 10), NULL),
        .seconds = strtod(PQgetvalue(r, i, 11), NULL),
        .probe_json = vidx__pg_get(r, i, 12),
        .audio = vidx__pg_get(r, i, 13),
        .device = vidx__pg_get(r, i, 14),
    };
}

static int bk_video_rows(CatalogBackend *b, int (*fn)(void *, const CatalogVideo *), void *opaque)
{
    PGresult *videos = NULL;
    int ret = query(b, "reading videos",
                    "SELECT id, path, key, size, mtime, fingerprint, options_hash, status,"
                    " error_class, error, started_at, seconds, probe, audio, device FROM videos"
                    " ORDER BY path",
                    NULL, &videos);
    for (int i = 0; ret == 0 && i < PQntuples(videos); i++) {
        PGresult *fr = NULL, *au = NULL, *sh = NULL, *sg = NULL, *lr = NULL;
        CatalogShot *shots = NULL;
        CatalogSegment *segs = NULL;
        CatalogLabel *labels = NULL;
        CatalogFrame *cf = NULL;
        VidxFrameRecord *rec = NULL;
        CatalogVideo v;
        size_t n = 0;
        int64_t id = vidx__pg_get_i64(videos, i, 0);
        video_from_row(videos, i, &v);
        ret = read_frames(b, id, &fr, &cf, &rec, &n);
        if (ret == 0 && (ret = read_audio(b, id, &au, &v)) == 0 &&
            (ret = read_extras(b, id, &sh, &sg, &shots, &segs, &v)) == 0 &&
            (ret = read_labels(b, id, &lr, &labels, &v)) == 0) {
            v.frames = cf, v.n_frames = n;
            ret = fn(opaque, &v);
        }
        free(cf), free(rec), free(shots), free(segs), free(labels);
        PQclear(fr), PQclear(au), PQclear(sh), PQclear(sg), PQclear(lr);
    }
    PQclear(videos);
    return ret;
}

const VidxCatalogOps vidx__catalog_postgres = {
    .name = "postgresql",
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
    .queue = &vidx__pg_queue,
};
