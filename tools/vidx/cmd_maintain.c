/*
 * cmd_maintain.c - `vidx verify`, `vidx du` and `vidx gc`: looking after an
 * output directory. Each prints JSON on stdout (a short text form by default).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

enum { OPT_REPAIR = 600, OPT_JSON };

static const CliOption verify_options[] = {
    {"repair", OPT_REPAIR, NULL, "forget videos with problems so the next run redoes them"},
    {"json", OPT_JSON, NULL, "print the full report as JSON"},
    {NULL, 0, NULL, NULL},
};

static const CliOption plain_options[] = {
    {"json", OPT_JSON, NULL, "print the report as JSON"},
    {NULL, 0, NULL, NULL},
};

typedef struct MaintArgs {
    int repair, json;
} MaintArgs;

static int maint_option(int key, const char *arg, void *ctx)
{
    MaintArgs *a = ctx;
    (void)arg;
    if (key == OPT_REPAIR)
        a->repair = 1;
    else if (key == OPT_JSON)
        a->json = 1;
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
        "usage: vidx verify OUT [--repair] [--json]\n\n"
        "Checks every frame and audio file the catalog names: present, right size, right\n"
        "SHA-256. Exit 0 when all is well, 1 when problems were found.";
    MaintArgs a = {0};
    char *report = NULL;
    int code;
    const char *out = parse(argc, argv, usage, verify_options, &a, &code);
    if (!out)
        return code;
    int n = vidx_verify(out, a.repair, &report);
    if (n < 0) {
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

static int report_cmd(int argc, char **argv, const char *usage, int (*fn)(const char *, char **))
{
    MaintArgs a = {0};
    char *report = NULL;
    int code;
    const char *out = parse(argc, argv, usage, plain_options, &a, &code);
    if (!out)
        return code;
    int ret = fn(out, &report);
    if (ret < 0) {
        cli_error(out, "%s", vidx_strerror(ret));
        return cli_exit_code(ret, 0);
    }
    printf("%s\n", report);
    vidx_free(report);
    return CLI_EXIT_OK;
}

int cmd_du(int argc, char **argv)
{
    return report_cmd(argc, argv,
                      "usage: vidx du OUT\n\nSpace used by kind (frames, shards, objects, audio, "
                      "manifests, catalog, scratch), as JSON.",
                      vidx_du);
}

int cmd_gc(int argc, char **argv)
{
    return report_cmd(argc, argv,
                      "usage: vidx gc OUT\n\nRemoves files no catalog row points at (left by "
                      "interrupted or abandoned work) and scratch; prints what it removed.",
                      vidx_gc);
}
