/*
 * cmd_frames.c - `vidx frames FILE -o DIR`: sample frames from one video.
 * A thin client of vidx_job_run(): parse, run, report.
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

enum { OPT_OUTPUT = 'o', OPT_JSON = 300, OPT_QUIET };

static const CliOption frames_own_options[] = {
    {"output", OPT_OUTPUT, "DIR", "output directory (created if missing)"},
    {"json", OPT_JSON, NULL, "print a JSON summary on stdout"},
    {"quiet", OPT_QUIET, NULL, "no summary line"},
    {NULL, 0, NULL, NULL},
};

typedef struct FramesArgs {
    CliJob job;
    const char *out;
    int json, quiet;
} FramesArgs;

static int frames_option(int key, const char *arg, void *ctx)
{
    FramesArgs *a = ctx;
    int ret = cli_job_option(&a->job, key, arg);
    if (ret != 0)
        return ret < 0 ? -1 : 0;
    switch (key) {
    case OPT_OUTPUT:
        a->out = arg;
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

static void print_summary(const char *file, const FramesArgs *a, const VidxJobResult *r,
                          const char *device)
{
    /* audio asked for, and the video has none: ok, and said so */
    const char *audio = r->audio_path                        ? r->audio_path
                        : a->job.job.audio && r->status == 0 ? "none"
                                                             : NULL;
    if (a->json) {
        printf("{\"path\":\"%s\",\"status\":\"%s\",\"partial\":%s,\"frames\":%zu,"
               "\"decoded\":%lld,\"skipped\":%lld,\"seconds\":%.3f%s%s%s,\"device\":",
               file, r->status ? vidx_error_class(r->status) : "ok", r->partial ? "true" : "false",
               r->n_frames, (long long)r->stats.frames_decoded, (long long)r->stats.frames_skipped,
               r->seconds, audio ? ",\"audio\":\"" : "", audio ? audio : "", audio ? "\"" : "");
        json_t *d = json_string(device);
        char *text = d ? json_dumps(d, JSON_ENCODE_ANY) : NULL;
        printf("%s}\n", text ? text : "\"\"");
        free(text);
        json_decref(d);
    } else if (!a->quiet) {
        fprintf(stderr, "vidx: %s: %zu frames -> %s (%lld decoded, %lld skipped, %.2f s, %s)%s\n",
                file, r->n_frames, a->out, (long long)r->stats.frames_decoded,
                (long long)r->stats.frames_skipped, r->seconds, *device ? device : "no decode",
                r->partial ? " [partial]" : "");
    }
}

int cmd_frames(int argc, char **argv)
{
    static const char usage[] =
        "usage: vidx frames FILE -o DIR [--count N | --fps R | --keyframes | --at T,.. | --index "
        "I,..] [OPTIONS]\n\n"
        "Writes the sampled frames as DIR/<index>_<ms>ms.<ext> and one line per frame in\n"
        "DIR/manifest.jsonl. Frames are exact (the frame shown at each target time) unless\n"
        "--approx. DIR must be new, empty or written by vidx frames before.\n"
        "Exit codes: 0 ok, 2 usage, 3 input, 4 undecodable, 5 output, 6 partial, 12 DIR is\n"
        "not a vidx frames output, 14 --hwaccel cuda and no usable GPU for this video.";
    FramesArgs a;
    VidxJobResult res;
    int first;
    memset(&a, 0, sizeof(a));
    cli_job_init(&a.job);
    int ret = cli_parse(argc, argv, usage, cli_with_job_options(frames_own_options), frames_option,
                        &a, &first);
    if (ret != 0 || cli_job_finish(&a.job) < 0) {
        cli_job_free(&a.job);
        return ret > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (argc - first != 1 || !a.out) {
        cli_error(NULL, "frames takes one FILE and -o DIR (see --help)");
        cli_job_free(&a.job);
        return CLI_EXIT_USAGE;
    }
    const char *file = argv[first];
    if ((ret = vidx_output_check(a.out, "frames")) < 0) { /* DIR is vidx's, or new or empty */
        if (ret != VIDX_ENOTOURS)                         /* that one the library explained */
            cli_error(a.out, "cannot write there: %s", vidx_strerror(ret));
        cli_job_free(&a.job);
        return ret == VIDX_ENOTOURS ? CLI_EXIT_NOTOURS : CLI_EXIT_OUTPUT;
    }
    cli_install_signals();
    a.job.job.cancel = (volatile int *)&cli_interrupted;
    char device[256];
    ret = vidx_job_run_on(file, a.out, &a.job.job, &res, device, sizeof(device));
    if ((ret >= 0 || ret == VIDX_EINTERRUPTED) && vidx_output_claim(a.out, "frames") < 0)
        cli_error(a.out, "cannot mark the directory as vidx's (.vidx-output)");
    if (ret < 0)
        cli_error(file, "%s", res.message);
    if (ret >= 0 || a.json)
        print_summary(file, &a, &res, device);
    int code = cli_exit_code(ret, res.output_failed);
    if (ret >= 0 && res.partial) {
        cli_error(file, "%s", res.message);
        code = CLI_EXIT_PARTIAL;
    }
    vidx_job_result_clear(&res);
    cli_job_free(&a.job);
    return code;
}
