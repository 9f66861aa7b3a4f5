/*
 * cmd_transcode.c - `vidx transcode INPUT... -o OUT --preset NAME`: proxies,
 * HLS ladders and sprite sheets (vidx_transcode); `--list-presets` prints
 * the built-in presets (the preset file format).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

enum {
    OPT_OUT = 'o',
    OPT_PRESET = 256,
    OPT_LIST,
    OPT_LOUDNORM,
    OPT_NO_LOUDNORM,
    OPT_THREADS,
    OPT_JSON
};

static const CliOption transcode_options[] = {
    {"output", OPT_OUT, "OUT", "output directory (new, empty, or made by vidx transcode)"},
    {"preset", OPT_PRESET, "NAME|FILE",
     "a built-in preset (default proxy) or a preset file (JSON)"},
    {"list-presets", OPT_LIST, NULL, "print the built-in presets as JSON and exit"},
    {"loudnorm", OPT_LOUDNORM, NULL, "EBU R128 loudness normalisation (whatever the preset says)"},
    {"no-loudnorm", OPT_NO_LOUDNORM, NULL, "no loudness normalisation"},
    {"threads", OPT_THREADS, "N", "decoder and encoder threads (default: FFmpeg's choice)"},
    {"json", OPT_JSON, NULL, "print the report (per input its folder and files) as JSON"},
    {NULL, 0, NULL, NULL},
};

typedef struct TranscodeArgs {
    VidxTranscodeSettings set;
    const char *out;
    int list, json;
} TranscodeArgs;

static int transcode_option(int key, const char *arg, void *ctx)
{
    TranscodeArgs *a = ctx;
    int64_t v;
    if (key == OPT_OUT)
        a->out = arg;
    else if (key == OPT_PRESET)
        a->set.preset = arg;
    else if (key == OPT_LIST)
        a->list = 1;
    else if (key == OPT_LOUDNORM || key == OPT_NO_LOUDNORM)
        a->set.loudnorm = key == OPT_LOUDNORM;
    else if (key == OPT_JSON)
        a->json = 1;
    else if (key == OPT_THREADS && cli_parse_int("threads", arg, 0, 1024, &v) == 0)
        a->set.threads = (int)v;
    else
        return -1;
    return 0;
}

int cmd_transcode(int argc, char **argv)
{
    static const char usage[] =
        "usage: vidx transcode INPUT... -o OUT [--preset NAME|FILE] [--loudnorm] [--json]\n"
        "       vidx transcode --list-presets\n\n"
        "H.264/AAC MP4 proxies or HLS rendition ladders (fMP4 segments, master and media\n"
        "playlists, keyframes aligned across renditions) from one decode of each input, with\n"
        "thumbnail sprite sheets and a WebVTT index, into OUT/<key>/. See docs/CLOUD.md.";
    TranscodeArgs a = {.out = NULL};
    char *report = NULL;
    vidx_transcode_default_settings(&a.set);
    int first, ret = cli_parse(argc, argv, usage, transcode_options, transcode_option, &a, &first);
    if (ret != 0)
        return ret > 0 ? CLI_EXIT_OK : -ret;
    if (a.list) {
        if (vidx_transcode_presets_json(&report) < 0)
            return CLI_EXIT_FATAL;
        printf("%s\n", report);
        vidx_free(report);
        return CLI_EXIT_OK;
    }
    if (!a.out || first >= argc) {
        cli_error(NULL, "transcode needs INPUT... and -o OUT (see --help)");
        return CLI_EXIT_USAGE;
    }
    ret = vidx_transcode((const char *const *)argv + first, (size_t)(argc - first), a.out, &a.set,
                         &report);
    if (ret < 0 && !report) {
        const char *d = vidx_error_detail(ret);
        cli_error(a.out, "%s", *d ? d : vidx_strerror(ret));
    } else if (a.json)
        printf("%s\n", report);
    int failed = report && strstr(report, "\"error\"");
    vidx_free(report);
    if (ret < 0)
        return cli_exit_code(ret, 0);
    return failed ? CLI_EXIT_SOME_FAILED : CLI_EXIT_OK;
}
