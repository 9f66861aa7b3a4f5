/*
 * cmd_run.c - `vidx run INPUT... -o OUT`: the batch engine, as a thin client
 * of vidx_run(). Parses options, shows progress, prints the summary, maps the
 * outcome to an exit code.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_OUTPUT = 'o',
    OPT_JOBS = 'j',
    OPT_TIMEOUT = 400,
    OPT_MAXMEM,
    OPT_RETRY,
    OPT_PROGRESS,
    OPT_LAYOUT,
    OPT_SHARD_SIZE,
    OPT_SHARD_SAMPLES,
    OPT_SCRATCH,
    OPT_MAX_SCRATCH,
    OPT_MAX_DISK,
    OPT_MIN_FREE,
    OPT_DEDUP_EXACT,
    OPT_TIMEOUT_MAX,
    OPT_STALL,
    OPT_FOLLOW_SYMLINKS,
    OPT_AUDIO_FILES,
    OPT_WAIT,
    OPT_CATALOG,
    OPT_SHARD,
    OPT_JSONL,
    OPT_GPU_SESSIONS,
    OPT_TRANSCODE,
    OPT_NO_FRAMES,
};

static const CliOption run_own_options[] = {
    {"output", OPT_OUTPUT, "OUT", "output directory: frames/, catalog.db"},
    {"jobs", OPT_JOBS, "N", "core budget (default: all cores)"},
    {"timeout", OPT_TIMEOUT, "SEC", "per video (default 120 + 10 x its duration, capped)"},
    {"timeout-max", OPT_TIMEOUT_MAX, "SEC", "cap of the default timeout (default 3600)"},
    {"stall", OPT_STALL, "SEC", "end a video with no progress for SEC (default 60; 0: never)"},
    {"max-memory", OPT_MAXMEM, "MB", "address-space limit per worker process"},
    {"retry", OPT_RETRY, NULL, "also redo videos that failed in earlier runs"},
    {"progress", OPT_PROGRESS, "MODE", "bar (default on a TTY), json (events on stdout) or none"},
    {"layout", OPT_LAYOUT, "L", "files (default) or shards (WebDataset tar)"},
    {"shard-size", OPT_SHARD_SIZE, "SIZE", "close a shard past this size (default 1G)"},
    {"shard-samples", OPT_SHARD_SAMPLES, "N", "... or past N frames"},
    {"scratch", OPT_SCRATCH, "DIR", "scratch space (default OUT/.scratch)"},
    {"max-scratch", OPT_MAX_SCRATCH, "SIZE", "scratch in use at once, at most"},
    {"max-disk", OPT_MAX_DISK, "SIZE", "stop cleanly before OUT grows past SIZE"},
    {"min-free", OPT_MIN_FREE, "SIZE", "stop cleanly before free space drops below SIZE"},
    {"dedup-exact", OPT_DEDUP_EXACT, NULL, "store byte-identical frames once (content-addressed)"},
    {"follow-symlinks", OPT_FOLLOW_SYMLINKS, NULL, "directory walks follow symlinks (loop-safe)"},
    {"audio-files", OPT_AUDIO_FILES, NULL, "also take audio-only files, for their audio (--audio)"},
    {"wait", OPT_WAIT, NULL, "another vidx is writing to OUT: wait for it instead of exiting"},
    {"catalog", OPT_CATALOG, "URL",
     "PostgreSQL catalog (postgresql://...) instead of OUT/catalog.db; with -o s3://: the local "
     "directory for "
     "the catalog and the shards being uploaded (required)"},
    {"shard", OPT_SHARD, "I/N", "only this shard of the videos (auto: from Slurm or Kubernetes)"},
    {"jsonl", OPT_JSONL, NULL, "one JSON result per video on stdout, nothing else (pipes)"},
    {"gpu-sessions", OPT_GPU_SESSIONS, "N",
     "--hwaccel auto: at most N workers decode on the GPU, the rest on the CPU (default: all)"},
    {"transcode", OPT_TRANSCODE, "P[,P]",
     "also transcode each video with these presets (vidx transcode's): OUT/transcode/<key>/"},
    {"no-frames", OPT_NO_FRAMES, NULL, "with --transcode: no frames, only the renditions"},
    {NULL, 0, NULL, NULL},
};

typedef CliRunArgs RunArgs;

static int run_option(int key, const char *arg, void *ctx)
{
    RunArgs *a = ctx;
    int64_t v;
    int ret = cli_job_option(&a->job, key, arg);
    if (ret != 0)
        return ret < 0 ? -1 : 0;
    switch (key) {
    case OPT_OUTPUT:
        a->out = arg;
        return 0;
    case OPT_JOBS:
        return cli_parse_int("jobs", arg, 1, 256, &v) < 0 ? -1 : (a->run.jobs = (int)v, 0);
    case OPT_TIMEOUT:
        return cli_parse_double("timeout", arg, 0.001, &a->run.timeout) < 0 ? -1 : 0;
    case OPT_TIMEOUT_MAX:
        return cli_parse_double("timeout-max", arg, 0.001, &a->run.timeout_max) < 0 ? -1 : 0;
    case OPT_STALL:
        return cli_parse_double("stall", arg, 0.0, &a->run.stall) < 0 ? -1 : 0;
    case OPT_MAXMEM:
        return cli_parse_int("max-memory", arg, 16, 1 << 30, &v) < 0
                   ? -1
                   : (a->run.max_memory = v * 1024 * 1024, 0);
    case OPT_RETRY:
        a->run.retry = 1;
        return 0;
    case OPT_LAYOUT:
        if (!strcmp(arg, "files") || !strcmp(arg, "shards")) {
            a->run.layout = !strcmp(arg, "shards") ? VIDX_LAYOUT_SHARDS : VIDX_LAYOUT_FILES;
            return 0;
        }
        cli_error(NULL, "--layout: '%s' is not files or shards", arg);
        return -1;
    case OPT_SHARD_SIZE:
        return cli_parse_size("shard-size", arg, &a->run.shard_bytes);
    case OPT_SHARD_SAMPLES:
        return cli_parse_int("shard-samples", arg, 1, 1LL << 40, &a->run.shard_samples);
    case OPT_SCRATCH:
        a->run.scratch = arg;
        return 0;
    case OPT_MAX_SCRATCH:
        return cli_parse_size("max-scratch", arg, &a->run.max_scratch);
    case OPT_MAX_DISK:
        return cli_parse_size("max-disk", arg, &a->run.max_disk);
    case OPT_MIN_FREE:
        return cli_parse_size("min-free", arg, &a->run.min_free);
    case OPT_DEDUP_EXACT:
        a->run.dedup_exact = 1;
        return 0;
    case OPT_FOLLOW_SYMLINKS:
        a->run.follow_symlinks = 1;
        return 0;
    case OPT_AUDIO_FILES:
        a->run.audio_files = 1;
        return 0;
    case OPT_CATALOG:
        a->run.catalog = arg;
        return 0;
    case OPT_WAIT:
        a->run.wait_lock = 1;
        return 0;
    case OPT_SHARD:
        if (vidx_shard_parse(arg, &a->run.shard_index, &a->run.shard_count) < 0)
            return -1;
        a->progress.shard_index = a->run.shard_index;
        a->progress.shard_count = a->run.shard_count;
        return 0;
    case OPT_JSONL:
        a->jsonl = 1; /* wins over --progress, wherever it is */
        return 0;
    case OPT_TRANSCODE:
        a->run.transcode = arg;
        return 0;
    case OPT_NO_FRAMES:
        a->run.no_frames = 1;
        return 0;
    case OPT_GPU_SESSIONS:
        return cli_parse_int("gpu-sessions", arg, 1, 1024, &v) < 0
                   ? -1
                   : (a->run.gpu_sessions = (int)v, 0);
    case OPT_PROGRESS:
        if (!strcmp(arg, "json"))
            a->progress.mode = CLI_PROGRESS_JSON;
        else if (!strcmp(arg, "bar"))
            a->progress.mode = CLI_PROGRESS_BAR;
        else if (!strcmp(arg, "none"))
            a->progress.mode = CLI_PROGRESS_NONE;
        else {
            cli_error(NULL, "--progress: '%s' is not bar, json or none", arg);
            return -1;
        }
        return 0;
    }
    return -1;
}

const CliOption *cli_run_options(void)
{
    return run_own_options;
}

int cli_run_option(int key, const char *arg, CliRunArgs *a)
{
    return run_option(key, arg, a);
}

int cmd_run(int argc, char **argv)
{
    static const char usage[] =
        "usage: vidx run INPUT... -o OUT [sampling options] [--audio wav|flac] [--jobs N]\n"
        "                [--catalog URL] [--transcode PRESET[,PRESET] [--no-frames]]\n"
        "       vidx run INPUT... -o s3://BUCKET/PREFIX --catalog DIR [--layout shards] ...\n\n"
        "INPUT: files, directories (recursive), @list.txt, - (paths on stdin), http(s) URLs.\n"
        "Walks skip hidden entries, symlinks (see --follow-symlinks) and files that are not\n"
        "video (photos, audio, documents: counted in the summary). A file is one video\n"
        "whatever name it is given; relative names in a list are taken from its folder.\n"
        "Per video: frames (as vidx frames) in OUT/frames/<key>/ and optional audio; the\n"
        "catalog in OUT/catalog.db. Re-running the same command only does what is missing.\n"
        "OUT must be new, empty or a vidx output, apart from the inputs; one run at a time.\n"
        "OUT may be a bucket (s3://BUCKET/PREFIX): DIR is then a local output whose shards\n"
        "are uploaded as they fill, and its catalog at the end (vidx sync; docs/CLOUD.md).\n"
        "--shard I/N takes only the videos whose hash of their path is I mod N (auto: the\n"
        "Slurm array task or Kubernetes Indexed Job pod); vidx merge combines the OUTs.\n"
        "Exit codes: 0 all ok, 1 some videos failed, 2 usage, 10 fatal, 11 stopped by the\n"
        "disk budget or a full disk (resumable), 12 OUT is not a vidx output, 13 another\n"
        "vidx is writing to OUT, 14 --hwaccel cuda and no GPU driver here (nothing\n"
        "touched), 130 interrupted. Where each video decoded (GPU or CPU and why) is in\n"
        "the summary, the catalog (videos.device) and the JSON events.\n"
        "--transcode: each video is also transcoded (a second read) with vidx transcode's\n"
        "presets (names or JSON files) into OUT/transcode/<key>/<preset>/, recorded in the\n"
        "catalog's renditions table (vidx export --table renditions); a changed preset\n"
        "redoes the videos.";
    RunArgs a;
    VidxRunSummary sum;
    int first;
    memset(&a, 0, sizeof(a));
    cli_job_init(&a.job);
    vidx_run_default_settings(&a.run);
    a.progress.mode = cli_progress_default();
    int ret =
        cli_parse(argc, argv, usage, cli_with_job_options(run_own_options), run_option, &a, &first);
    if (ret != 0 || cli_job_finish(&a.job) < 0) {
        cli_job_free(&a.job);
        return ret > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (first >= argc || !a.out) {
        cli_error(NULL, "run takes at least one INPUT and -o OUT (see --help)");
        cli_job_free(&a.job);
        return CLI_EXIT_USAGE;
    }
    if (a.jsonl)
        a.progress.mode = CLI_PROGRESS_JSONL;
    cli_install_signals();
    a.run.job = a.job.job;
    a.run.on_event = cli_progress_event;
    a.run.opaque = &a.progress;
    a.run.cancel = (volatile int *)&cli_interrupted;
    ret = vidx_run((const char *const *)argv + first, (size_t)(argc - first), a.out, &a.run, &sum);
    if (ret == VIDX_ENOTOURS || ret == VIDX_ELOCKED || ret == VIDX_ENOGPU) { /* said why */
        cli_job_free(&a.job);
        return cli_exit_code(ret, 0);
    }
    if (ret < 0 && ret != VIDX_EINTERRUPTED)
        cli_error(a.out, "run failed: %s", vidx_strerror(ret));
    cli_print_summary(&sum, &a.progress, a.out);
    cli_job_free(&a.job);
    if (ret == VIDX_EINTERRUPTED)
        return CLI_EXIT_INTERRUPTED;
    if (ret >= 0 && sum.disk_stop) {
        cli_error(a.out, "%s; run the same command again to finish",
                  sum.disk_stop == 2 ? "stopped: the disk is full (free some space)"
                                     : "stopped before crossing --max-disk/--min-free (raise them "
                                       "or free space)");
        return CLI_EXIT_DISK;
    }
    if (ret == VIDX_EUSAGE)
        return CLI_EXIT_USAGE;
    if (ret < 0)
        return CLI_EXIT_FATAL;
    return sum.skipped_failed > 0 ||
                   sum.done > sum.counts[VIDX_VIDEO_OK] + sum.counts[VIDX_VIDEO_PARTIAL]
               ? CLI_EXIT_SOME_FAILED
               : CLI_EXIT_OK;
}
