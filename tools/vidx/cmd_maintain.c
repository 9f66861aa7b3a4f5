/*
 * cmd_maintain.c - `vidx verify`, `vidx du` and `vidx gc`: looking after an
 * output directory. Each prints a short text form, or with --json the library's
 * JSON report.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

enum { OPT_REPAIR = 600, OPT_JSON, OPT_DRY_RUN, OPT_WAIT, OPT_CATALOG };

#define CATALOG_OPTION                                                                             \
    {                                                                                              \
        "catalog", OPT_CATALOG, "URL",                                                             \
            "OUT's PostgreSQL catalog (postgresql://...); OUT s3://...: its local DIR"             \
    }

static const CliOption verify_options[] = {
    {"repair", OPT_REPAIR, NULL, "forget videos with problems so the next run redoes them"},
    {"json", OPT_JSON, NULL, "print the full report as JSON"},
    CATALOG_OPTION,
    {NULL, 0, NULL, NULL},
};

static const CliOption plain_options[] = {
    {"json", OPT_JSON, NULL, "print the report as JSON"},
    CATALOG_OPTION,
    {NULL, 0, NULL, NULL},
};

static const CliOption gc_options[] = {
    {"dry-run", OPT_DRY_RUN, NULL, "say what would be removed, remove nothing"},
    {"wait", OPT_WAIT, NULL, "a run is writing to OUT: wait for it instead of exiting"},
    {"json", OPT_JSON, NULL, "print the report as JSON"},
    CATALOG_OPTION,
    {NULL, 0, NULL, NULL},
};

typedef struct MaintArgs {
    int repair, json, gc_flags;
    const char *catalog;
} MaintArgs;

static int maint_option(int key, const char *arg, void *ctx)
{
    MaintArgs *a = ctx;
    if (key == OPT_CATALOG)
        a->catalog = arg;
    else if (key == OPT_REPAIR)
        a->repair = 1;
    else if (key == OPT_JSON)
        a->json = 1;
    else if (key == OPT_DRY_RUN)
        a->gc_flags |= VIDX_GC_DRY_RUN;
    else if (key == OPT_WAIT)
        a->gc_flags |= VIDX_GC_WAIT;
    else
        return -1;
    return 0;
}

/* Parses argv and returns the OUT argument, or NULL with *code set. */
static const char *parse(int argc, char **argv, const char *usage, const CliOption *opts,
                         MaintArgs *a, int *code)
{
    int first, ret = cli_parse(argc, argv, usage, opts, maint_option, a, &first);
    *code = ret > 0 ? CLI_EXIT_OK : ret < 0 ? -ret : CLI_EXIT_USAGE;
    if (ret != 0)
        return NULL;
    if (argc - first != 1) {
        cli_error(NULL, "expected exactly one OUT directory (see --help)");
        return NULL;
    }
    *code = CLI_EXIT_OK;
    return argv[first];
}

int cmd_verify(int argc, char **argv)
{
    static const char usage[] =
        "usage: vidx verify OUT [--repair] [--json] [--catalog URL]\n\n"
        "Checks every frame and audio file the catalog names: present, right size, right\n"
        "SHA-256. Exit 0 when all is well, 1 when problems were found. OUT may be a bucket\n"
        "output (s3://BUCKET/PREFIX --catalog DIR): every object the catalog names is\n"
        "there with its recorded size and ETag (no SHA-256 read back; no --repair).";
    MaintArgs a = {0};
    char *report = NULL;
    int code;
    const char *out = parse(argc, argv, usage, verify_options, &a, &code);
    if (!out)
        return code;
    int n = vidx_verify_at(out, a.catalog, a.repair, &report);
    if (n < 0) {
        if (n != VIDX_ENOTOURS && n != VIDX_ELOCKED && n != VIDX_EUSAGE) /* explained */
            cli_error(out, "cannot verify: %s", vidx_strerror(n));
        return cli_exit_code(n, 0);
    }
    if (a.json)
        printf("%s\n", report);
    else
        printf("%s: %d problem%s%s\n", out, n, n == 1 ? "" : "s",
               n && a.repair ? " (affected videos will be redone by the next run)" : "");
    vidx_free(report);
    return n ? CLI_EXIT_SOME_FAILED : CLI_EXIT_OK;
}

static void human_bytes(char *buf, size_t n, json_int_t bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* du's text form: one line per kind that holds anything, then the total. */
static void print_du(const char *out, json_t *o)
{
    const char *kind;
    json_t *v;
    char hb[32];
    json_object_foreach(o, kind, v)
    {
        json_int_t files = json_integer_value(json_object_get(v, "files"));
        json_int_t bytes = json_integer_value(json_object_get(v, "bytes"));
        if (!strcmp(kind, "total") || (!files && !bytes))
            continue;
        human_bytes(hb, sizeof(hb), bytes);
        printf("  %-10s %10lld files  %12s\n", kind, (long long)files, hb);
    }
    v = json_object_get(o, "total");
    human_bytes(hb, sizeof(hb), json_integer_value(json_object_get(v, "bytes")));
    printf("%s: %s in %lld files\n", out, hb,
           (long long)json_integer_value(json_object_get(v, "files")));
}

/* gc's text form: every removed path, what was left alone, then the count. */
static void print_gc(const char *out, json_t *o)
{
    size_t i;
    json_t *f;
    char hb[32];
    int dry = json_is_true(json_object_get(o, "dry_run"));
    json_array_foreach(json_object_get(o, "files"), i, f)
        printf("%s %s\n", dry ? "would remove" : "removed", json_string_value(f));
    json_array_foreach(json_object_get(o, "left_alone"), i, f)
        printf("left alone %s (%s)\n", json_string_value(json_object_get(f, "path")),
               json_string_value(json_object_get(f, "why")));
    human_bytes(hb, sizeof(hb), json_integer_value(json_object_get(o, "bytes")));
    printf("%s: %s %lld files, %s; %zu entries not vidx's left alone\n", out,
           dry ? "would remove" : "removed",
           (long long)json_integer_value(json_object_get(o, "removed")), hb,
           json_array_size(json_object_get(o, "left_alone")));
}

static int du_report(const char *out, const char *catalog, int flags, char **report)
{
    (void)flags;
    return vidx_du_at(out, catalog, report);
}

static int report_cmd(int argc, char **argv, const char *usage, const CliOption *opts,
                      int (*fn)(const char *, const char *, int, char **),
                      void (*print)(const char *, json_t *))
{
    MaintArgs a = {0};
    char *report = NULL;
    int code;
    const char *out = parse(argc, argv, usage, opts, &a, &code);
    if (!out)
        return code;
    int ret = fn(out, a.catalog, a.gc_flags, &report);
    if (ret < 0) {
        if (ret != VIDX_ENOTOURS && ret != VIDX_ELOCKED && ret != VIDX_EUSAGE) /* explained */
            cli_error(out, "%s", vidx_strerror(ret));
        return cli_exit_code(ret, 0);
    }
    json_t *o = a.json ? NULL : json_loads(report, 0, NULL);
    if (o)
        print(out, o);
    else
        printf("%s\n", report);
    json_decref(o);
    vidx_free(report);
    return CLI_EXIT_OK;
}

int cmd_du(int argc, char **argv)
{
    return report_cmd(argc, argv,
                      "usage: vidx du OUT [--json] [--catalog URL]\n\nSpace used by kind (frames, "
                      "shards, objects, "
                      "audio, manifests, catalog, scratch).",
                      plain_options, du_report, print_du);
}

int cmd_gc(int argc, char **argv)
{
    return report_cmd(
        argc, argv,
        "usage: vidx gc OUT [--dry-run] [--wait] [--json] [--catalog URL]\n\nRemoves files vidx "
        "made that no "
        "catalog row points at (left by\ninterrupted or abandoned work) and scratch; prints what "
        "it removed. Only names vidx\nmakes are touched: anything else, and every symbolic "
        "link, is left alone and listed.",
        gc_options, vidx_gc_at, print_gc);
}

int cmd_sync(int argc, char **argv)
{
    static const char usage[] =
        "usage: vidx sync s3://BUCKET/PREFIX --catalog DIR\n\n"
        "A bucket output (vidx run ... -o s3://BUCKET/PREFIX --catalog DIR): aborts the\n"
        "uploads an interrupted run left, uploads the shards it closed but did not upload\n"
        "(their videos are redone by the next run if DIR no longer has them), then uploads\n"
        "a consistent copy of the catalog as PREFIX/catalog.db. Exit 0 done, 2 usage (not\n"
        "a bucket output, or DIR is not its catalog), 12 the prefix is another output's,\n"
        "13 a run is writing, 10 the bucket failed.";
    static const CliOption opts[] = {
        {"catalog", OPT_CATALOG, "DIR", "the local directory holding the output's catalog"},
        {NULL, 0, NULL, NULL},
    };
    MaintArgs a = {0};
    int code;
    const char *out = parse(argc, argv, usage, opts, &a, &code);
    if (!out)
        return code;
    int ret = vidx_sync(out, a.catalog);
    if (ret < 0) {
        if (ret != VIDX_ENOTOURS && ret != VIDX_ELOCKED && ret != VIDX_EUSAGE) /* explained */
            cli_error(out, "sync failed: %s", vidx_strerror(ret));
        return cli_exit_code(ret, 0);
    }
    printf("%s: catalog uploaded from %s\n", out, a.catalog);
    return CLI_EXIT_OK;
}
