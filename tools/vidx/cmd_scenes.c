/*
 * cmd_scenes.c - `vidx scenes FILE`: one JSON object with the file's shots
 * (vidx_scenes_json).
 */
#include "cli.h"

#include <stdio.h>

enum { OPT_THRESHOLD = 256, OPT_MIN_SCORE, OPT_MIN_SHOT, OPT_BLACK, OPT_THREADS, OPT_STREAM };

static const CliOption scenes_options[] = {
    {"threshold", OPT_THRESHOLD, "R", "cut: content score >= R x the mean around it (default 3)"},
    {"min-score", OPT_MIN_SCORE, "S", "cut: content score (0-255) at least S (default 10)"},
    {"min-shot", OPT_MIN_SHOT, "N", "shortest shot in frames (default 10)"},
    {"black", OPT_BLACK, "L", "black frame: 90% of pixels at most L (0-255, default 16)"},
    {"threads", OPT_THREADS, "N", "decoder threads (default: all cores)"},
    {"stream", OPT_STREAM, "N", "use video stream N (default: the best one)"},
    {NULL, 0, NULL, NULL},
};

typedef struct ScenesArgs {
    VidxScenesSettings set;
    VidxSourceSettings source;
} ScenesArgs;

static int scenes_option(int key, const char *arg, void *ctx)
{
    ScenesArgs *a = ctx;
    int64_t v;
    if (key == OPT_THRESHOLD && cli_parse_double("threshold", arg, 1e-9, &a->set.threshold) == 0)
        return 0;
    if (key == OPT_MIN_SCORE && cli_parse_double("min-score", arg, 0, &a->set.min_score) == 0)
        return a->set.min_score <= 255 ? 0 : -1;
    if (key == OPT_BLACK && cli_parse_double("black", arg, 0, &a->set.black) == 0)
        return a->set.black <= 255 ? 0 : -1;
    if (key == OPT_MIN_SHOT && cli_parse_int("min-shot", arg, 1, 1 << 30, &v) == 0)
        a->set.min_shot = (int)v;
    else if (key == OPT_THREADS && cli_parse_int("threads", arg, 0, 1024, &v) == 0)
        a->set.threads = (int)v;
    else if (key == OPT_STREAM && cli_parse_int("stream", arg, 0, 1000, &v) == 0)
        a->source.stream = (int)v;
    else
        return -1;
    return 0;
}

int cmd_scenes(int argc, char **argv)
{
    static const char usage[] = "usage: vidx scenes FILE [--threshold R] [--min-shot N]\n\n"
                                "Decodes every frame and prints one JSON object: the shots "
                                "(start, end, first_frame, last_frame, cause, score, fades).\n"
                                "See docs/CLI.md.";
    ScenesArgs a;
    VidxSource *src = NULL;
    char *json = NULL;
    vidx_scenes_default_settings(&a.set);
    vidx_source_default_settings(&a.source);
    int first, ret = cli_parse(argc, argv, usage, scenes_options, scenes_option, &a, &first);
    if (ret != 0)
        return ret > 0 ? CLI_EXIT_OK : -ret;
    if (argc - first != 1) {
        cli_error(NULL, "scenes takes exactly one FILE (see --help)");
        return CLI_EXIT_USAGE;
    }
    const char *file = argv[first];
    if ((ret = vidx_source_open(&src, file, &a.source)) < 0) {
        const char *detail = vidx_error_detail(ret);
        cli_error(file, "cannot open: %s%s%s", vidx_strerror(ret), *detail ? ": " : "", detail);
        return cli_exit_code(ret, 0);
    }
    if ((ret = vidx_scenes_json(src, &a.set, &json)) < 0) {
        const char *detail = vidx_error_detail(ret);
        cli_error(file, "cannot detect shots: %s%s%s", vidx_strerror(ret), *detail ? ": " : "",
                  detail);
    } else {
        printf("%s\n", json);
    }
    vidx_free(json);
    vidx_source_close(&src);
    return ret < 0 ? cli_exit_code(ret, 0) : CLI_EXIT_OK;
}
