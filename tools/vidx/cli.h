/*
 * cli.h - what the vidx subcommands share: the option table type, the parser
 * built on it, exit codes and error reporting. The CLI only uses the public
 * API in <vidx/vidx.h>.
 */
#ifndef VIDX_TOOLS_CLI_H
#define VIDX_TOOLS_CLI_H

#include <signal.h>
#include <stdint.h>

#include <vidx/vidx.h>

/* Documented in docs/CLI.md; never renumbered. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_SOME_FAILED = 1, /* vidx run: some videos are not ok */
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_INPUT = 3,   /* cannot open: missing, unreadable, not a video, refused */
    CLI_EXIT_DECODE = 4,  /* nothing could be decoded */
    CLI_EXIT_OUTPUT = 5,  /* cannot write outputs */
    CLI_EXIT_PARTIAL = 6, /* damaged input: what could be delivered was */
    CLI_EXIT_FATAL = 10,  /* internal or catalog failure */
    CLI_EXIT_DISK = 11,   /* vidx run stopped by the disk budget or a full disk */
    /* refused: the directory is not a vidx output (nothing touched) */
    CLI_EXIT_NOTOURS = 12,
    /* another vidx is writing to the output directory */
    CLI_EXIT_LOCKED = 13,
    CLI_EXIT_NOGPU = 14,
    CLI_EXIT_INTERRUPTED = 130,
};

typedef struct CliOption {
    const char *name; /* long name, without "--" */
    int key;          /* getopt value: a short letter or a number >= 256 */
    const char *arg;  /* argument placeholder, NULL for a flag */
    const char *help;
} CliOption;

/* Parses argv against opts, calling handle(key, optarg, ctx) for each; --help prints usage. */
typedef int (*CliHandler)(int key, const char *arg, void *ctx);
int cli_parse(int argc, char **argv, const char *usage, const CliOption *opts, CliHandler handle,
              void *ctx, int *first_positional);
void cli_print_help(const char *usage, const CliOption *opts);

int cli_exit_code(int err, int output_failed);
void cli_error(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Number parsing with a clear message on bad input. */
int cli_parse_int(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out);
int cli_parse_double(const char *opt, const char *s, double min, double *out);
/* A size in bytes with an optional K, M, G or T suffix (powers of 1024). */
int cli_parse_size(const char *opt, const char *s, int64_t *out);
/* Comma-separated lists; *out is malloc'd. */
int cli_parse_doubles(const char *opt, const char *s, double **out, size_t *n);
int cli_parse_ints(const char *opt, const char *s, int64_t **out, size_t *n);

/* Set by SIGINT/SIGTERM handlers. */
extern volatile sig_atomic_t cli_interrupted;
void cli_install_signals(void);

/* Sampling/output options shared by `frames` and `run` (jobopts.c). */
typedef struct CliJob {
    VidxJobSettings job;
    int mode_set;
    int pick_set; /* --per-scene-pick given */
    double *times;
    int64_t *indices;
    VidxTranscribeSettings asr; /* --transcribe's recogniser: job.asr points here */
    VidxLabelSettings label;    /* --label-url's labeller: job.label_settings points here */
    int label_extra;            /* a --label-* option other than --label-url was given */
    int label_queued;           /* vidx enqueue --label: labels, the endpoint each worker's */
} CliJob;

extern const CliOption cli_job_options[];
void cli_job_init(CliJob *j);
/* Handles one sampling/output option; returns 1 if consumed, 0 if not its option, < 0 error. */
int cli_job_option(CliJob *j, int key, const char *arg);
/* Final checks once all options are read. */
int cli_job_finish(CliJob *j);
void cli_job_free(CliJob *j);

/* The --label-* options that say where and how to ask (--label-url, -key-env, -jobs,
 * -timeout, -retries): a queue worker's own, never stored in the queue. The table,
 * its handler (into j->label; 1 consumed, 0 not one of them, < 0 error), and whether
 * any of them is set in l. */
const CliOption *cli_label_endpoint_options(void);
int cli_label_endpoint_option(CliJob *j, int key, const char *arg);
int cli_label_endpoint_given(const VidxLabelSettings *l);
/* 1: key is an option a queue worker takes for itself (the recogniser's, the label endpoint's). */
int cli_worker_side_option(int key);

/* Run progress display (progress.c). */
/* JSONL: one result line per video on stdout, nothing else there (--jsonl, docs/CLUSTER.md). */
enum { CLI_PROGRESS_NONE = 0, CLI_PROGRESS_BAR, CLI_PROGRESS_JSON, CLI_PROGRESS_JSONL };
enum { CLI_MAX_CLASSES = 16 };
/* Videos counted by a name (the summary's "by class" and "decoded on" lines). */
typedef struct CliTally {
    char names[CLI_MAX_CLASSES][128];
    int64_t counts[CLI_MAX_CLASSES];
    int n;
} CliTally;
typedef struct CliProgress {
    int mode;
    CliTally classes; /* videos that were not ok in this run, by error class */
    CliTally devices; /* videos of this run by where they decoded ("cuda", "cpu (REASON)") */
    int shard_index, shard_count; /* --shard, for the summary */
    int64_t other_shards;         /* videos left to other shards, as the run said */
    int64_t audio_none;           /* videos without audio while audio was asked for */
} CliProgress;
void cli_progress_event(void *opaque, const VidxRunEvent *ev);
int cli_progress_default(void);
void cli_print_summary(const VidxRunSummary *s, const CliProgress *p, const char *out);

/* Merges the command's own options with the shared job options into one table. */
const CliOption *cli_with_job_options(const CliOption *own);
/* Two option tables as one (a static table: valid until the next call). */
const CliOption *cli_options_join(const CliOption *a, const CliOption *b);
/* a, then b, then c (a static table, like cli_options_join's). */
const CliOption *cli_options_join3(const CliOption *a, const CliOption *b, const CliOption *c);
/* The tables parts[0..n-1] in order (a static table, like cli_options_join's). */
const CliOption *cli_options_joinv(const CliOption *const *parts, size_t n);

/* The recogniser's options (asropts.c): --asr-url, --asr-key-env, --asr-model,
 * --asr-language, --asr-timeout, --asr-retries, --asr-chunk; and vidx transcribe's
 * older spellings of some (--language, --timeout, --retries, --chunk). */
extern const CliOption cli_asr_options[];
extern const CliOption cli_asr_aliases[];
/* 1: key was one of them (set in s), 0: not one of them, -1: bad value (said). */
int cli_asr_option(VidxTranscribeSettings *s, int key, const char *arg);
/* Any of them differs from the defaults. */
int cli_asr_given(const VidxTranscribeSettings *s);

/* vidx run's own options (cmd_run.c), which vidx worker takes too. */
typedef struct CliRunArgs {
    CliJob job;
    VidxRunSettings run;
    CliProgress progress;
    const char *out;
    int jsonl;
} CliRunArgs;
const CliOption *cli_run_options(void);
/* Handles one of them (or a job option); 0 consumed, < 0 error. */
int cli_run_option(int key, const char *arg, CliRunArgs *a);

int cmd_probe(int argc, char **argv);
int cmd_scenes(int argc, char **argv);
int cmd_transcode(int argc, char **argv);
int cmd_frames(int argc, char **argv);
int cmd_audio(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_du(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_enqueue(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_slurm(int argc, char **argv);
int cmd_transcribe(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
