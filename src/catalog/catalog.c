/*
 * catalog.c - the batch catalog as the rest of vidx sees it: opens OUT's
 * catalog with its implementation (VidxCatalogOps: SQLite, sqlite.c, or
 * PostgreSQL, postgres.c; OUT's binding to it: bind.c)
 * and passes each call on. What does not depend on the database lives here:
 * status names, the layout check, and the formats of vidx status and vidx
 * export. No database handle leaves the catalog.
 */
#include "catalog/catalog.h"
#include "catalog/bind.h"
#include "catalog/migrate.h"
#include "catalog/pg.h"
#include "catalog/queue.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "store/outdir.h"

struct VidxCatalog {
    const VidxCatalogOps *ops;
    CatalogBackend *b;
};

static const char *const status_names[] = {"ok",      "partial", "failed",
                                           "crashed", "timeout", "skipped"};

const char *vidx_video_status_name(VidxVideoStatus s)
{
    return (unsigned)s < VIDX_ARRAY_SIZE(status_names) ? status_names[s] : "unknown";
}

VidxVideoStatus vidx__video_status_parse(const char *name)
{
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(status_names); i++)
        if (name && !strcmp(name, status_names[i]))
            return (VidxVideoStatus)i;
    return VIDX_VIDEO_FAILED;
}

int vidx_catalog_open(VidxCatalog **out, const char *outdir, int readonly)
{
    return vidx__catalog_open_at(out, outdir, NULL, readonly);
}

int vidx__catalog_open_ops(VidxCatalog **out, const VidxCatalogOps *ops, const char *outdir,
                           int readonly)
{
    return vidx__catalog_open_with(out, ops, outdir, NULL, readonly);
}

int vidx__catalog_open_with(VidxCatalog **out, const VidxCatalogOps *ops, const char *outdir,
                            const char *location, int readonly)
{
    char path[PATH_MAX];
    OutdirBinding ob;
    VidxCatalog *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c)
        return -ENOMEM;
    int ret = vidx__outdir_check(outdir, "run"); /* never a catalog in someone else's folder */
    if (ret == 0)
        ret = vidx__catalog_bind_check(outdir, location, &ob);
    if (ret < 0) {
        free(c);
        return ret;
    }
    c->ops = ops;
    if (location)
        vidx__pg_mask_url(location, path, sizeof(path));
    else
        snprintf(path, sizeof(path), "%s/catalog.db", outdir);
    ret = c->ops->open(&c->b, location ? location : path, readonly);
    if (ret == 0)
        ret = vidx__catalog_bind(c, outdir, location ? path : NULL, readonly, &ob);
    if (ret == 0 && !readonly)
        ret = vidx__catalog_migrate(c, path);
    if (ret < 0) {
        vidx_catalog_close(&c);
        return ret;
    }
    *out = c;
    return 0;
}

/* VIDX_EUSAGE (logged) unless catalog is NULL or a PostgreSQL URL. */
static int check_url(const char *catalog)
{
    char shown[512];
    if (!catalog || vidx__pg_is_url(catalog))
        return 0;
    vidx__pg_mask_url(catalog, shown, sizeof(shown));
    vidx__log(VIDX_LOG_ERROR,
              "--catalog %s: not a catalog URL (postgresql://... or postgres://...)", shown);
    return VIDX_EUSAGE;
}

int vidx__catalog_open_url(VidxCatalog **out, const char *url)
{
    char shown[PATH_MAX];
    VidxCatalog *c;
    *out = NULL;
    if (!url || check_url(url) < 0)
        return VIDX_EUSAGE;
    if (!(c = calloc(1, sizeof(*c))))
        return -ENOMEM;
    c->ops = &vidx__catalog_postgres;
    vidx__pg_mask_url(url, shown, sizeof(shown));
    int ret = c->ops->open(&c->b, url, 0);
    if (ret == 0)
        ret = vidx__catalog_migrate(c, shown);
    if (ret < 0)
        vidx_catalog_close(&c);
    *out = c;
    return ret;
}

int vidx__catalog_open_at(VidxCatalog **out, const char *outdir, const char *catalog, int readonly)
{
    *out = NULL;
    int ret = check_url(catalog);
    if (ret < 0)
        return ret;
    return vidx__catalog_open_with(out, catalog ? &vidx__catalog_postgres : &vidx__catalog_sqlite,
                                   outdir, catalog, readonly);
}

int vidx__catalog_check_at(const char *outdir, const char *catalog)
{
    VidxCatalog c = {&vidx__catalog_postgres, NULL};
    OutdirBinding ob;
    char shown[512];
    int ret = vidx__catalog_bind_check(outdir, catalog, &ob);
    if (ret < 0 || !catalog)
        return ret;
    if ((ret = check_url(catalog)) < 0)
        return ret;
    if ((ret = c.ops->open(&c.b, catalog, 1)) < 0)
        return ret;
    vidx__pg_mask_url(catalog, shown, sizeof(shown));
    ret = vidx__catalog_bind_peek(&c, outdir, shown, &ob);
    c.ops->close(c.b);
    return ret;
}

int vidx_catalog_open_at(VidxCatalog **out, const char *outdir, const char *catalog, int readonly)
{
    return vidx__catalog_open_at(out, outdir, catalog, readonly);
}

void vidx_catalog_close(VidxCatalog **pc)
{
    VidxCatalog *c = pc ? *pc : NULL;
    if (!c)
        return;
    if (c->b)
        c->ops->close(c->b);
    free(c);
    *pc = NULL;
}

int vidx__catalog_prior(VidxCatalog *c, const char *path, CatalogPrior *out)
{
    return c->ops->prior(c->b, path, out);
}

int vidx__catalog_begin(VidxCatalog *c)
{
    return c->ops->begin(c->b);
}

int vidx__catalog_put(VidxCatalog *c, const CatalogVideo *v)
{
    if (v->queue_id) { /* the claim first: rows only while it is still ours */
        int held =
            vidx__queue_finish(c, v->queue_id, v->queue_fence, v->queue_state, v->queue_cause);
        if (held <= 0)
            return held < 0 ? held : VIDX_ELEASE;
        if (v->queue_state == QUEUE_QUEUED)
            return 0;
    }
    return c->ops->put(c->b, v);
}

int vidx__catalog_commit(VidxCatalog *c)
{
    return c->ops->commit(c->b);
}

void vidx__catalog_rollback(VidxCatalog *c)
{
    c->ops->rollback(c->b);
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
    return c->ops->blob_get(c->b, sha256, location, size, offset);
}

int vidx__catalog_meta_get(VidxCatalog *c, const char *key, char *value, size_t size)
{
    return c->ops->meta_get(c->b, key, value, size);
}

int vidx__catalog_meta_put(VidxCatalog *c, const char *key, const char *value)
{
    return c->ops->meta_put(c->b, key, value);
}

int vidx__catalog_meta_add(VidxCatalog *c, const char *key, const char *value)
{
    return c->ops->meta_add(c->b, key, value);
}

int vidx__catalog_layout(VidxCatalog *c, const char *layout)
{
    char have[64];
    int added = vidx__catalog_meta_add(c, "layout", layout); /* the first writer's wins */
    if (added != 0)
        return added < 0 ? added : 0;
    int found = vidx__catalog_meta_get(c, "layout", have, sizeof(have));
    if (found <= 0)
        return found < 0 ? found : VIDX_ECATALOG;
    if (have[0] && strcmp(have, layout)) {
        vidx__log(VIDX_LOG_ERROR, "this output uses --layout %s, not %s", have, layout);
        return VIDX_EUSAGE;
    }
    return 0;
}

int vidx__catalog_shards(VidxCatalog *c, int (*fn)(void *, const char *, int64_t), void *opaque)
{
    return c->ops->shards(c->b, fn, opaque);
}

int vidx__catalog_upload_put(VidxCatalog *c, const char *name, int64_t bytes, const char *etag)
{
    return c->ops->upload_put(c->b, name, bytes, etag);
}

int vidx__catalog_uploads(VidxCatalog *c, CatalogUploadFn fn, void *opaque)
{
    return c->ops->uploads(c->b, fn, opaque);
}

int vidx__catalog_snapshot(VidxCatalog *c, const char *path)
{
    return c->ops->snapshot(c->b, path);
}

int vidx__catalog_rendition_counts(VidxCatalog *c, int64_t *videos, int64_t *files, int64_t *bytes)
{
    return c->ops->rendition_counts(c->b, videos, files, bytes);
}

int vidx__catalog_is_empty(VidxCatalog *c)
{
    return c->ops->is_empty(c->b);
}

int vidx__catalog_shard_claim(VidxCatalog *c, const char *name, int claim)
{
    return c->ops->shard_claim(c->b, name, claim);
}

int vidx__catalog_locations(VidxCatalog *c, int (*fn)(void *, const CatalogLocation *),
                            void *opaque)
{
    return c->ops->locations(c->b, fn, opaque);
}

int vidx__catalog_video_rows(VidxCatalog *c, int (*fn)(void *, const CatalogVideo *), void *opaque)
{
    return c->ops->video_rows(c->b, fn, opaque);
}

int vidx__catalog_shard_set(VidxCatalog *c, const char *name, int64_t size, int64_t samples)
{
    return c->ops->shard_set(c->b, name, size, samples);
}

int vidx__catalog_view(VidxCatalog *c, const CatalogView *v, CatalogRowFn fn, void *opaque)
{
    if ((unsigned)v->kind >= CATALOG_VIEW_COUNT)
        return VIDX_EUSAGE;
    return c->ops->view(c->b, v, fn, opaque);
}

int vidx__catalog_referenced(VidxCatalog *c, CatalogRef what, const char *name)
{
    return c->ops->referenced(c->b, what, name);
}

int vidx__catalog_forget_video(VidxCatalog *c, int64_t id, char *key, size_t size)
{
    return c->ops->forget_video(c->b, id, key, size);
}

int vidx__catalog_forget_blob(VidxCatalog *c, const char *location)
{
    return c->ops->forget_blob(c->b, location);
}

int vidx__catalog_videos(VidxCatalog *c, int relative_only,
                         int (*fn)(void *, const CatalogVideoId *), void *opaque)
{
    return c->ops->videos(c->b, relative_only, fn, opaque);
}

int vidx__catalog_rename_video(VidxCatalog *c, int64_t id, const char *path)
{
    return c->ops->rename_video(c->b, id, path);
}

const CatalogQueueOps *vidx__catalog_queue(VidxCatalog *c, CatalogBackend **b)
{
    *b = c->b;
    return c->ops->queue;
}

void vidx__catalog_mask_url(const char *url, char *out, size_t size)
{
    vidx__pg_mask_url(url, out, size);
}

const char *vidx__catalog_kind(const VidxCatalog *c)
{
    return c->ops->name;
}

/* ---------------------------------------------------------------------- */
/* vidx status                                                             */
/* ---------------------------------------------------------------------- */

typedef struct StatusJson {
    json_t *counts, *fails;
    int64_t total, frames;
} StatusJson;

/* A damaged catalog's counts may be anything: sum them without overflowing. */
static int64_t add_saturated(int64_t a, int64_t b)
{
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

static void status_count(void *opaque, const char *status, int64_t videos, int64_t frames)
{
    StatusJson *s = opaque;
    json_object_set_new(s->counts, status, json_integer(videos));
    s->total = add_saturated(s->total, videos);
    s->frames = add_saturated(s->frames, frames);
}

static void status_failure(void *opaque, const char *path, const char *status,
                           const char *error_class, const char *error, int attempts)
{
    StatusJson *s = opaque;
    json_array_append_new(s->fails,
                          json_pack("{s:s?, s:s?, s:s?, s:s?, s:i}", "path", path, "status", status,
                                    "class", error_class, "error", error, "attempts", attempts));
}

static int count_shard(void *opaque, const char *name, int64_t size)
{
    (void)name;
    *(int64_t *)opaque += size > 0;
    return 0;
}

static int count_upload(void *opaque, const char *name, int64_t bytes, const char *etag)
{
    (void)name, (void)bytes, (void)etag;
    ++*(int64_t *)opaque;
    return 0;
}

/* A bucket output's (meta 'bucket'): its shards uploaded, and those not yet (pending). */
static int bucket_status(VidxCatalog *c, json_t *root)
{
    char url[1024];
    int64_t shards = 0, uploaded = 0;
    int ret = vidx__catalog_meta_get(c, "bucket", url, sizeof(url));
    if (ret <= 0)
        return ret;
    if ((ret = c->ops->shards(c->b, count_shard, &shards)) < 0 ||
        (ret = c->ops->uploads(c->b, count_upload, &uploaded)) < 0)
        return ret;
    json_object_set_new(root, "bucket",
                        json_pack("{s:s, s:I, s:I}", "url", url, "uploaded", (json_int_t)uploaded,
                                  "pending", (json_int_t)VIDX_MAX(shards - uploaded, 0)));
    return 0;
}

/* Labels and renditions in vidx status, when there are any. */
static int status_extras(VidxCatalog *c, json_t *root)
{
    int64_t labelled, failed, videos, files, bytes;
    if (c->ops->label_counts(c->b, &labelled, &failed) < 0 ||
        vidx__catalog_rendition_counts(c, &videos, &files, &bytes) < 0)
        return VIDX_ECATALOG;
    if (labelled) /* frames with a label row, and those whose row is an error (refused, ...) */
        json_object_set_new(
            root, "labels",
            json_pack("{s:I, s:I}", "frames", (json_int_t)labelled, "failed", (json_int_t)failed));
    if (files) /* the transcode stage's outputs (master playlists not counted) */
        json_object_set_new(root, "renditions",
                            json_pack("{s:I, s:I, s:I}", "videos", (json_int_t)videos, "files",
                                      (json_int_t)files, "bytes", (json_int_t)bytes));
    return 0;
}

int vidx_catalog_status_json(VidxCatalog *c, char **json)
{
    StatusJson s = {json_object(), json_array(), 0, 0};
    json_t *root = json_object();
    int ret = VIDX_ECATALOG;
    *json = NULL;
    if (!root || !s.counts || !s.fails)
        goto done;
    json_object_set(root, "counts", s.counts);
    json_object_set(root, "failures", s.fails);
    if (c->ops->status(c->b, status_count, status_failure, &s) < 0)
        goto done;
    json_object_set_new(root, "videos", json_integer(s.total));
    json_object_set_new(root, "frames", json_integer(s.frames));
    if (status_extras(c, root) < 0)
        goto done;
    if (c->ops->queue && vidx__queue_status_json(c, root) < 0)
        goto done;
    if (bucket_status(c, root) < 0)
        goto done;
    char *text = json_dumps(root, JSON_INDENT(2));
    *json = text ? strdup(text) : NULL;
    free(text);
    ret = *json ? 0 : -ENOMEM;
done:
    json_decref(s.counts);
    json_decref(s.fails);
    json_decref(root);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* vidx export                                                             */
/* ---------------------------------------------------------------------- */

typedef struct Export {
    FILE *f;
    int csv;
} Export;

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

static json_t *value_json(const CatalogValue *v)
{
    switch (v->type) {
    case CATALOG_INT:
        return json_integer(v->i);
    case CATALOG_REAL:
        return json_real(v->d);
    case CATALOG_NULL:
        return json_null();
    default:
        return json_string(v->text);
    }
}

static void export_csv(FILE *f, int n, const char *const *names, const CatalogValue *values)
{
    for (int i = 0; i < n; i++) {
        const char *v = values ? values[i].text : names[i];
        if (i)
            fputc(',', f);
        if (values)
            csv_field(f, v ? v : "");
        else
            fputs(v, f);
    }
    fputc('\n', f);
}

static int export_row(void *opaque, int n, const char *const *names, const CatalogValue *values)
{
    Export *e = opaque;
    if (e->csv) {
        export_csv(e->f, n, names, values);
        return 0;
    }
    if (!values)
        return 0; /* JSON lines have no header */
    json_t *o = json_object();
    for (int i = 0; i < n; i++)
        json_object_set_new(o, names[i], value_json(&values[i]));
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    if (line)
        fprintf(e->f, "%s\n", line);
    free(line);
    json_decref(o);
    return 0;
}

int vidx_catalog_export(VidxCatalog *c, const char *table, const char *format, int fd)
{
    Export e = {NULL, format && !strcmp(format, "csv")};
    if (!format || (!e.csv && strcmp(format, "jsonl")))
        return VIDX_EUSAGE;
    if (!(e.f = fdopen(dup(fd), "w")))
        return -errno;
    int ret = c->ops->export_rows(c->b, table, export_row, &e);
    int closed = fclose(e.f);
    return ret < 0 ? ret : closed == 0 ? 0 : -EIO;
}
