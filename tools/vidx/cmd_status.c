/*
 * cmd_status.c - `vidx status OUT` and `vidx export OUT`: read-only views of
 * a run's catalog.
 */
#include "cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_JSON = 500, OPT_TABLE, OPT_FORMAT, OPT_CATALOG };

#define CATALOG_OPTION                                                                             \
    {                                                                                              \
        "catalog", OPT_CATALOG, "URL", "OUT's PostgreSQL catalog (postgresql://...)"               \
    }

static const CliOption status_options[] = {
    {"json", OPT_JSON, NULL, "print the status as JSON"},
    CATALOG_OPTION,
    {NULL, 0, NULL, NULL},
};

static const CliOption export_options[] = {
    {"table", OPT_TABLE, "T",
     "videos (default), frames, audio, shots, segments, labels or renditions"},
    {"format", OPT_FORMAT, "F", "jsonl (default) or csv"},
    CATALOG_OPTION,
    {NULL, 0, NULL, NULL},
};

typedef struct ViewArgs {
    int json;
    const char *table, *format, *catalog;
} ViewArgs;

static int view_option(int key, const char *arg, void *ctx)
{
    ViewArgs *a = ctx;
    if (key == OPT_JSON)
        a->json = 1;
    else if (key == OPT_TABLE)
        a->table = arg;
    else if (key == OPT_FORMAT)
        a->format = arg;
    else if (key == OPT_CATALOG)
        a->catalog = arg;
    else
        return -1;
    return 0;
}

static int open_catalog(int argc, char **argv, int first, const char *catalog, VidxCatalog **cat)
{
    if (argc - first != 1) {
        cli_error(NULL, "expected exactly one OUT directory (see --help)");
        return CLI_EXIT_USAGE;
    }
    int ret = vidx_catalog_open_at(cat, argv[first], catalog, 1); /* read-only: creates none */
    if (ret == VIDX_ENOTOURS || ret == VIDX_EUSAGE || ret == VIDX_ECATALOG)
        return cli_exit_code(ret, 0); /* the library said which directory and why */
    if (ret < 0) {
        cli_error(argv[first], "no catalog: %s", vidx_strerror(ret));
        return CLI_EXIT_INPUT;
    }
    return 0;
}

/* The work queue's part (a PostgreSQL catalog with a queue): counts, workers, quarantine. */
static void print_queue_text(json_t *q)
{
    json_t *v;
    const char *k;
    size_t i;
    if (!q)
        return;
    printf("queue:");
    json_object_foreach(json_object_get(q, "counts"), k, v)
        printf(" %s %lld", k, (long long)json_integer_value(v));
    printf("\n");
    json_object_foreach(json_object_get(q, "running_by_host"), k, v)
        printf("  running on %s: %lld\n", k, (long long)json_integer_value(v));
    json_array_foreach(json_object_get(q, "workers"), i, v)
        printf("  worker %lld %s pid %lld %-5s running %lld, done %lld, failed %lld, "
               "%.1f videos/min\n",
               (long long)json_integer_value(json_object_get(v, "id")),
               json_string_value(json_object_get(v, "host")),
               (long long)json_integer_value(json_object_get(v, "pid")),
               json_string_value(json_object_get(v, "state")),
               (long long)json_integer_value(json_object_get(v, "running")),
               (long long)json_integer_value(json_object_get(v, "done")),
               (long long)json_integer_value(json_object_get(v, "failed")),
               json_real_value(json_object_get(v, "videos_per_minute")));
    json_array_foreach(json_object_get(q, "quarantined"), i, v)
    {
        const char *cause = json_string_value(json_object_get(v, "cause"));
        printf("quarantined  %s (%lld attempts): %s\n",
               json_string_value(json_object_get(v, "path")),
               (long long)json_integer_value(json_object_get(v, "attempts")), cause ? cause : "-");
    }
}

static void print_status_text(const char *text)
{
    json_t *o = json_loads(text, 0, NULL), *v;
    const char *k;
    size_t i;
    printf("videos: %lld, frames: %lld\n",
           (long long)json_integer_value(json_object_get(o, "videos")),
           (long long)json_integer_value(json_object_get(o, "frames")));
    json_object_foreach(json_object_get(o, "counts"), k, v)
        printf("  %-8s %lld\n", k, (long long)json_integer_value(v));
    if ((v = json_object_get(o, "labels")))
        printf("labels: %lld frames, %lld failed\n",
               (long long)json_integer_value(json_object_get(v, "frames")),
               (long long)json_integer_value(json_object_get(v, "failed")));
    if ((v = json_object_get(o, "bucket")))
        printf("bucket %s: %lld shards uploaded, %lld pending (vidx sync or the next run "
               "uploads them; their videos count as done then)\n",
               json_string_value(json_object_get(v, "url")),
               (long long)json_integer_value(json_object_get(v, "uploaded")),
               (long long)json_integer_value(json_object_get(v, "pending")));
    if ((v = json_object_get(o, "renditions")))
        printf("renditions: %lld files of %lld videos, %lld bytes\n",
               (long long)json_integer_value(json_object_get(v, "files")),
               (long long)json_integer_value(json_object_get(v, "videos")),
               (long long)json_integer_value(json_object_get(v, "bytes")));
    json_array_foreach(json_object_get(o, "failures"), i, v)
    {
        const char *cls = json_string_value(json_object_get(v, "class"));
        const char *err = json_string_value(json_object_get(v, "error"));
        printf("%s  %s (%s): %s\n", json_string_value(json_object_get(v, "status")),
               json_string_value(json_object_get(v, "path")), cls ? cls : "-", err ? err : "-");
    }
    print_queue_text(json_object_get(o, "queue"));
    json_decref(o);
}

int cmd_status(int argc, char **argv)
{
    static const char usage[] = "usage: vidx status OUT [--json] [--catalog URL]\n\n"
                                "Counts of videos by status, and every video that is not ok "
                                "with its reason.";
    ViewArgs a = {0};
    VidxCatalog *cat;
    char *json = NULL;
    int first, ret = cli_parse(argc, argv, usage, status_options, view_option, &a, &first);
    if (ret != 0)
        return ret > 0 ? CLI_EXIT_OK : -ret;
    if ((ret = open_catalog(argc, argv, first, a.catalog, &cat)) != 0)
        return ret;
    ret = vidx_catalog_status_json(cat, &json);
    if (ret < 0)
        cli_error(argv[first], "%s", vidx_strerror(ret));
    else if (a.json)
        printf("%s\n", json);
    else
        print_status_text(json);
    free(json);
    vidx_catalog_close(&cat);
    return ret < 0 ? CLI_EXIT_FATAL : CLI_EXIT_OK;
}

int cmd_export(int argc, char **argv)
{
    static const char usage[] =
        "usage: vidx export OUT [--table videos|frames|audio|shots|segments|labels|renditions] "
        "[--format jsonl|csv] [--catalog URL]\n\nWrites a catalog table to stdout.";
    ViewArgs a = {0, "videos", "jsonl", NULL};
    VidxCatalog *cat;
    int first, ret = cli_parse(argc, argv, usage, export_options, view_option, &a, &first);
    if (ret != 0)
        return ret > 0 ? CLI_EXIT_OK : -ret;
    if ((ret = open_catalog(argc, argv, first, a.catalog, &cat)) != 0)
        return ret;
    fflush(stdout);
    ret = vidx_catalog_export(cat, a.table, a.format, STDOUT_FILENO);
    if (ret == VIDX_EUSAGE)
        cli_error(NULL,
                  "--table must be videos, frames, audio, shots, segments, labels or renditions; "
                  "--format jsonl or csv");
    else if (ret < 0)
        cli_error(argv[first], "%s", vidx_strerror(ret));
    vidx_catalog_close(&cat);
    return ret == VIDX_EUSAGE ? CLI_EXIT_USAGE : ret < 0 ? CLI_EXIT_FATAL : CLI_EXIT_OK;
}
