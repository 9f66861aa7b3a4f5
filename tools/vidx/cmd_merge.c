/*
 * cmd_merge.c - `vidx merge -o DEST PART...`: the outputs of a sharded run
 * (or any vidx runs) combined into one, as a thin client of vidx_merge().
 * Prints a short summary, or with --json the library's report.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

enum { OPT_OUTPUT = 'o', OPT_JSON = 700 };

static const CliOption merge_options[] = {
    {"output", OPT_OUTPUT, "DEST", "the combined output (new, empty or a vidx output)"},
    {"json", OPT_JSON, NULL, "print the report as JSON"},
    {NULL, 0, NULL, NULL},
};

typedef struct MergeArgs {
    const char *dest;
    int json;
} MergeArgs;

static int merge_option(int key, const char *arg, void *ctx)
{
    MergeArgs *a = ctx;
    if (key == OPT_OUTPUT)
        a->dest = arg;
    else if (key == OPT_JSON)
        a->json = 1;
    else
        return -1;
    return 0;
}

static json_int_t num(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void print_summary(const char *dest, json_t *o)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(o, "conflicts"), i, c) printf(
        "conflict %s (%s): kept %s (%s over %s)\n", json_string_value(json_object_get(c, "path")),
        json_string_value(json_object_get(c, "why")), json_string_value(json_object_get(c, "kept")),
        json_string_value(json_object_get(c, "status_dest")),
        json_string_value(json_object_get(c, "status_part")));
    printf("%s: %lld videos merged, %lld skipped (already there), %lld conflicts; "
           "%lld files linked (%.1f MB), %lld copied (%.1f MB), %lld shards renamed\n",
           dest, (long long)num(o, "merged"), (long long)num(o, "skipped"),
           (long long)num(o, "conflict_count"), (long long)num(o, "files_linked"),
           num(o, "bytes_linked") / 1e6, (long long)num(o, "files_copied"),
           num(o, "bytes_copied") / 1e6, (long long)num(o, "shards_renamed"));
}

int cmd_merge(int argc, char **argv)
{
    static const char usage[] =
        "usage: vidx merge -o DEST PART... [--json]\n\n"
        "Combines the outputs of vidx runs (the OUTs of `vidx run --shard I/N`) into DEST:\n"
        "catalogs merged, files hard-linked (copied across filesystems), shards renamed where\n"
        "their names collide. The parts are left as they are. Merging again adds only what is\n"
        "new; of two versions of a video the better status is kept (listed as a conflict).\n"
        "Exit codes: 0 merged, 2 usage (layouts differ, DEST inside a part...), 10 fatal,\n"
        "12 a part or DEST is not a vidx output, 13 another vidx is writing to one of them.";
    MergeArgs a = {0};
    char *report = NULL;
    int first;
    int ret = cli_parse(argc, argv, usage, merge_options, merge_option, &a, &first);
    if (ret != 0)
        return ret > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (!a.dest || first >= argc) {
        cli_error(NULL, "merge takes -o DEST and at least one PART (see --help)");
        return CLI_EXIT_USAGE;
    }
    ret = vidx_merge(a.dest, (const char *const *)argv + first, (size_t)(argc - first), &report);
    if (ret < 0) {
        if (ret != VIDX_ENOTOURS && ret != VIDX_ELOCKED && ret != VIDX_EUSAGE) /* explained */
            cli_error(a.dest, "merge failed: %s (merging again finishes it)", vidx_strerror(ret));
        vidx_free(report);
        return cli_exit_code(ret, 0) == CLI_EXIT_OK ? CLI_EXIT_FATAL : cli_exit_code(ret, 0);
    }
    json_t *o = a.json ? NULL : json_loads(report, 0, NULL);
    if (o)
        print_summary(a.dest, o);
    else
        printf("%s\n", report);
    json_decref(o);
    vidx_free(report);
    return CLI_EXIT_OK;
}
