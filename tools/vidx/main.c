/*
 * main.c - the vidx command: dispatches to one subcommand per file.
 */
#include "cli.h"

#include <stdio.h>
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
    {"enqueue", cmd_enqueue, "add videos to a cluster's work queue (PostgreSQL)"},
    {"worker", cmd_worker, "process videos from the work queue, on any number of machines"},
    {"merge", cmd_merge, "combine the outputs of several runs (sharded runs) into one"},
    {"slurm", cmd_slurm, "write (and submit) a Slurm job array over a library"},
    {"transcribe", cmd_transcribe, "the speech of one file as timed text (JSON, SRT, WebVTT)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vidx COMMAND [OPTIONS]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'vidx COMMAND --help' describes a command. vidx %s\n", vidx_version());
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
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    cli_error(NULL, "unknown command '%s'", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
