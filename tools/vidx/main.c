/*
 * main.c - the vidx command: dispatches to one subcommand per file.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"probe", cmd_probe, "describe a video file as JSON"},
    {"scenes", cmd_scenes, "shot boundaries of one video as JSON"},
    {"transcode", cmd_transcode, "MP4 proxies, HLS ladders and sprite sheets"},
    {"frames", cmd_frames, "sample frames from one video into a directory"},
    {"audio", cmd_audio, "one file's audio to a .wav, .flac or .opus file"},
    {"run", cmd_run, "process a whole video library in parallel, resumable"},
    {"status", cmd_status, "counts and failures of a run's catalog"},
    {"export", cmd_export, "a catalog table as JSON lines or CSV"},
    {"verify", cmd_verify, "check an output directory against its catalog"},
    {"du", cmd_du, "space used by an output directory, by kind"},
    {"gc", cmd_gc, "remove files no catalog row points at"},
    {"sync", cmd_sync, "upload a bucket output's pending shards and its catalog"},
    {"enqueue", cmd_enqueue, "add videos to a cluster's work queue (PostgreSQL)"},
    {"worker", cmd_worker, "process videos from the work queue, on any number of machines"},
    {"merge", cmd_merge, "combine the outputs of several runs (sharded runs) into one"},
    {"slurm", cmd_slurm, "write (and submit) a Slurm job array over a library"},
    {"transcribe", cmd_transcribe, "the speech of one file as timed text (JSON, SRT, WebVTT)"},
    {"serve", cmd_serve, "a live web dashboard over a run's output (read-only)"},
    {"report", cmd_report, "one self-contained HTML report of a run"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vidx COMMAND [OPTIONS]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(
        out,
        "\nEvery command takes s3://bucket/key inputs (and vidx run s3://bucket/prefix/), with:\n"
        "  --s3-endpoint URL   a non-AWS store (Ceph, MinIO, R2, GCS); sets AWS_ENDPOINT_URL\n"
        "  --s3-region R       the signing region (default AWS_REGION, else us-east-1)\n"
        "  --s3-style S        path or virtual (host) addressing (default: path with an\n"
        "                      endpoint, virtual on AWS)\n"
        "Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN or a\n"
        "~/.aws/credentials profile (AWS_PROFILE). See docs/CLOUD.md.\n");
    fprintf(out, "\n'vidx COMMAND --help' describes a command. vidx %s\n", vidx_version());
}

/*
 * The S3 settings, taken out of argv wherever they are and handed to libvidx
 * (and the run's workers, which inherit them) through the environment.
 */
static int s3_options(int *argc, char **argv)
{
    static const struct {
        const char *flag, *env;
    } opts[] = {{"--s3-endpoint", "AWS_ENDPOINT_URL"},
                {"--s3-region", "AWS_REGION"},
                {"--s3-style", "VIDX_S3_STYLE"}};
    int k = 1;
    for (int i = 1; i < *argc; i++) {
        size_t j = 0;
        while (j < sizeof(opts) / sizeof(opts[0]) && strcmp(argv[i], opts[j].flag))
            j++;
        if (j == sizeof(opts) / sizeof(opts[0])) {
            argv[k++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc || !argv[i + 1][0]) {
            cli_error(NULL, "%s needs a value", opts[j].flag);
            return -1;
        }
        if (j == 2 && strcmp(argv[i + 1], "path") && strcmp(argv[i + 1], "virtual")) {
            cli_error(NULL, "--s3-style: 'path' or 'virtual', not '%s'", argv[i + 1]);
            return -1;
        }
        setenv(opts[j].env, argv[++i], 1);
    }
    argv[k] = NULL;
    *argc = k;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("vidx %s\n", vidx_version());
        return CLI_EXIT_OK;
    }
    vidx_set_log_level(1);
    if (s3_options(&argc, argv) < 0)
        return CLI_EXIT_USAGE;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    cli_error(NULL, "unknown command '%s'", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
