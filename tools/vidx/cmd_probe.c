/*
 * cmd_probe.c - `vidx probe FILE`: one JSON object describing the file.
 */
#include "cli.h"

#include <stdio.h>

enum { OPT_COUNT_FRAMES = 256, OPT_STREAM, OPT_MAX_PIXELS, OPT_MAX_STREAMS };

static const CliOption probe_options[] = {
    {"count-frames", OPT_COUNT_FRAMES, NULL, "exact frame count (reads every packet)"},
    {"stream", OPT_STREAM, "N", "use video stream N (default: the best one)"},
    {"max-pixels", OPT_MAX_PIXELS, "N", "largest frame area accepted (default 67108864)"},
    {"max-streams", OPT_MAX_STREAMS, "N", "most streams a file may have (default 64)"},
    {NULL, 0, NULL, NULL},
};

typedef struct ProbeArgs {
    int count_frames;
    VidxSourceSettings source;
} ProbeArgs;

static int probe_option(int key, const char *arg, void *ctx)
{
    ProbeArgs *a = ctx;
    int64_t v;
    if (key == OPT_COUNT_FRAMES)
        a->count_frames = 1;
    else if (key == OPT_STREAM && cli_parse_int("stream", arg, 0, 1000, &v) == 0)
        a->source.stream = (int)v;
    else if (key == OPT_MAX_PIXELS && cli_parse_int("max-pixels", arg, 1, 1LL << 40, &v) == 0)
        a->source.max_pixels = v;
    else if (key == OPT_MAX_STREAMS && cli_parse_int("max-streams", arg, 1, 100000, &v) == 0)
        a->source.max_streams = (int)v;
    else
        return -1;
    return 0;
}

int cmd_probe(int argc, char **argv)
{
    static const char usage[] = "usage: vidx probe FILE [--count-frames]\n\n"
                                "Prints one JSON object: container, duration, streams (codec, "
                                "geometry, rotation, rates, frame count).\nThe stream vidx uses "
                                "has \"selected\": true. See docs/CLI.md.";
    ProbeArgs a = {0};
    VidxSource *src = NULL;
    char *json = NULL;
    vidx_source_default_settings(&a.source);
    int first, ret = cli_parse(argc, argv, usage, probe_options, probe_option, &a, &first);
    if (ret != 0)
        return ret > 0 ? CLI_EXIT_OK : -ret;
    if (argc - first != 1) {
        cli_error(NULL, "probe takes exactly one FILE (see --help)");
        return CLI_EXIT_USAGE;
    }
    const char *file = argv[first];
    if ((ret = vidx_source_open(&src, file, &a.source)) < 0) {
        const char *detail = vidx_error_detail(ret);
        cli_error(file, "cannot open: %s%s%s", vidx_strerror(ret), *detail ? ": " : "", detail);
        return cli_exit_code(ret, 0);
    }
    ret = vidx_source_probe_json(src, a.count_frames, &json);
    if (ret < 0)
        cli_error(file, "cannot probe: %s", vidx_strerror(ret));
    else
        printf("%s\n", json);
    vidx_free(json);
    vidx_source_close(&src);
    return ret < 0 ? cli_exit_code(ret, 0) : CLI_EXIT_OK;
}
