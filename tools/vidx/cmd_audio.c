/*
 * cmd_audio.c - `vidx audio FILE -o OUT.wav|.flac|.opus`: one file's audio
 * to one audio file. A thin client of vidx_audio_extract(): parse, run,
 * report.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_OUTPUT = 'o',
    OPT_FORMAT = 400,
    OPT_RATE,
    OPT_CHANNELS,
    OPT_STREAM,
    OPT_FORCE,
    OPT_JSON,
    OPT_QUIET,
    OPT_MAX_STREAMS,
};

static const CliOption audio_options[] = {
    {"output", OPT_OUTPUT, "OUT", "the audio file to write (.wav, .flac or .opus)"},
    {"format", OPT_FORMAT, "FMT", "wav, flac or opus (default: from OUT's extension)"},
    {"rate", OPT_RATE, "HZ", "sample rate (default 16000; Opus: 8000/12000/16000/24000/48000)"},
    {"channels", OPT_CHANNELS, "N", "channels (default 1)"},
    {"audio-stream", OPT_STREAM, "N", "the N-th audio stream, 0-based (default: the best)"},
    {"force", OPT_FORCE, NULL, "replace OUT even if vidx did not write it"},
    {"json", OPT_JSON, NULL, "print a JSON summary on stdout"},
    {"quiet", OPT_QUIET, NULL, "no summary line"},
    {"max-streams", OPT_MAX_STREAMS, "N", "most streams a file may have (default 64)"},
    {NULL, 0, NULL, NULL},
};

typedef struct AudioArgs {
    VidxJobSettings job;
    const char *out;
    unsigned flags;
    int json, quiet;
} AudioArgs;

static int format_option(AudioArgs *a, const char *arg)
{
    if (vidx_audio_format_parse(arg, &a->job.audio) < 0) {
        cli_error(NULL, "--format: '%s' is not wav, flac or opus", arg);
        return -1;
    }
    return 0;
}

static int audio_option(int key, const char *arg, void *ctx)
{
    AudioArgs *a = ctx;
    int64_t v;
    switch (key) {
    case OPT_OUTPUT:
        a->out = arg;
        return 0;
    case OPT_FORMAT:
        return format_option(a, arg);
    case OPT_RATE:
        return cli_parse_int("rate", arg, 1000, 384000, &v) < 0 ? -1
                                                                : (a->job.audio_rate = (int)v, 0);
    case OPT_CHANNELS:
        return cli_parse_int("channels", arg, 1, 8, &v) < 0 ? -1
                                                            : (a->job.audio_channels = (int)v, 0);
    case OPT_STREAM:
        return cli_parse_int("audio-stream", arg, 0, 1000, &v) < 0
                   ? -1
                   : (a->job.source.audio_stream = (int)v, 0);
    case OPT_MAX_STREAMS:
        return cli_parse_int("max-streams", arg, 1, 100000, &v) < 0
                   ? -1
                   : (a->job.source.max_streams = (int)v, 0);
    case OPT_FORCE:
        a->flags |= VIDX_AUDIO_FORCE;
        return 0;
    case OPT_JSON:
        a->json = 1;
        return 0;
    case OPT_QUIET:
        a->quiet = 1;
        return 0;
    }
    return -1;
}

/* Without --format, OUT's extension says it. */
static int format_from_extension(AudioArgs *a)
{
    const char *dot = strrchr(a->out, '.'), *slash = strrchr(a->out, '/');
    if (a->job.audio != VIDX_AUDIO_NONE)
        return 0;
    if (dot && (!slash || dot > slash) && vidx_audio_format_parse(dot + 1, &a->job.audio) == 0)
        return 0;
    cli_error(a->out, "the extension is not .wav, .flac or .opus: say --format");
    return -1;
}

static void print_summary(const char *file, const AudioArgs *a, const VidxJobResult *r)
{
    if (a->json)
        printf("{\"path\":\"%s\",\"status\":\"%s\",\"partial\":%s,\"output\":\"%s\","
               "\"format\":\"%s\",\"rate\":%d,\"channels\":%d,\"duration\":%.6f,"
               "\"seconds\":%.3f}\n",
               file, r->status ? vidx_error_class(r->status) : "ok", r->partial ? "true" : "false",
               a->out, vidx_audio_format_ext(a->job.audio), r->audio_rate, r->audio_channels,
               r->audio_duration, r->seconds);
    else if (!a->quiet)
        fprintf(stderr, "vidx: %s: %.3f s of audio -> %s (%d Hz, %d ch, %.2f s)%s\n", file,
                r->audio_duration, a->out, r->audio_rate, r->audio_channels, r->seconds,
                r->partial ? " [partial]" : "");
}

int cmd_audio(int argc, char **argv)
{
    static const char usage[] =
        "usage: vidx audio FILE -o OUT.wav|OUT.flac|OUT.opus [OPTIONS]\n\n"
        "Writes the audio of FILE (a video or an audio file) to OUT, 16 kHz mono by default.\n"
        "Sample 0 of OUT is time 0 of FILE (its start time when positive): a stream that\n"
        "starts late is preceded by silence, gaps are filled with silence, overlaps dropped.\n"
        "OUT is written under a temporary name and renamed; an existing OUT is replaced\n"
        "only if vidx wrote it, or with --force.\n"
        "Exit codes: 0 ok, 2 usage, 3 input (also: no audio stream), 4 undecodable,\n"
        "5 output, 6 partial, 12 OUT exists and vidx did not write it.";
    AudioArgs a;
    VidxJobResult res;
    int first;
    memset(&a, 0, sizeof(a));
    vidx_job_default_settings(&a.job);
    int ret = cli_parse(argc, argv, usage, audio_options, audio_option, &a, &first);
    if (ret != 0)
        return ret > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (argc - first != 1 || !a.out) {
        cli_error(NULL, "audio takes one FILE and -o OUT (see --help)");
        return CLI_EXIT_USAGE;
    }
    if (format_from_extension(&a) < 0)
        return CLI_EXIT_USAGE;
    const char *file = argv[first];
    cli_install_signals();
    ret = vidx_audio_extract(file, a.out, &a.job, a.flags, &res);
    if (ret < 0)
        cli_error(ret == VIDX_ENOTOURS ? a.out : file, "%s", res.message);
    else
        print_summary(file, &a, &res);
    int code = cli_exit_code(ret, res.output_failed);
    if (ret >= 0 && res.partial)
        code = CLI_EXIT_PARTIAL;
    vidx_job_result_clear(&res);
    return code;
}
