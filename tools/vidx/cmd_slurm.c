/*
 * cmd_slurm.c - `vidx slurm [INPUT...] -o OUT --array N [...]`: a thin client
 * of vidx_slurm_script() and friends (vidx/slurm.h). Parses the options (the
 * sampling options are checked here, then handed to the tasks' `vidx run`
 * verbatim), writes the job-array script to --script or stdout, and with
 * --submit submits it (and the static mode's merge job after it) with sbatch.
 */
#include "cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_OUTPUT = 'o',
    OPT_ARRAY = 600,
    OPT_CPUS,
    OPT_PARTITION,
    OPT_TIME,
    OPT_MEM,
    OPT_ACCOUNT,
    OPT_LOG,
    OPT_JOB_NAME,
    OPT_SBATCH,
    OPT_CATALOG,
    OPT_PARTS,
    OPT_VIDX,
    OPT_SCRIPT,
    OPT_MERGE_SCRIPT,
    OPT_SUBMIT,
    OPT_JSON,
    OPT_FORCE,
};

static const CliOption slurm_own_options[] = {
    {"output", OPT_OUTPUT, "OUT", "output directory (a path every node sees)"},
    {"array", OPT_ARRAY, "N[%M]", "N array tasks (default 1), at most M running at once"},
    {"cpus-per-task", OPT_CPUS, "C", "CPUs per task, the task's vidx --jobs (default 1)"},
    {"partition", OPT_PARTITION, "P", "sbatch --partition"},
    {"time", OPT_TIME, "T", "sbatch --time (time limit of each task)"},
    {"mem", OPT_MEM, "M", "sbatch --mem (memory of each task)"},
    {"account", OPT_ACCOUNT, "A", "sbatch --account"},
    {"log", OPT_LOG, "PATTERN", "sbatch --output: log files (default slurm-%A_%a.out)"},
    {"job-name", OPT_JOB_NAME, "NAME", "sbatch --job-name (default vidx; merge: NAME-merge)"},
    {"sbatch", OPT_SBATCH, "ARG", "one more sbatch option, e.g. --sbatch=--qos=high (repeatable)"},
    {"catalog", OPT_CATALOG, "URL", "postgresql://... (no password): tasks run vidx worker"},
    {"parts", OPT_PARTS, "DIR", "without --catalog: the tasks' outputs (default OUT.parts)"},
    {"vidx", OPT_VIDX, "PATH", "the vidx the tasks run (default: this one)"},
    {"script", OPT_SCRIPT, "FILE", "write the array job's script to FILE (default stdout)"},
    {"merge-script", OPT_MERGE_SCRIPT, "FILE", "also write the merge job's script to FILE"},
    {"submit", OPT_SUBMIT, NULL, "submit with sbatch (and the merge job after the array)"},
    {"json", OPT_JSON, NULL, "with --submit: print the job ids as JSON"},
    {"force", OPT_FORCE, NULL, "replace a FILE that is not a script vidx wrote"},
    {NULL, 0, NULL, NULL},
};

typedef struct SlurmArgs {
    CliJob job;
    VidxSlurmSettings s;
    const char *out, *script, *merge_script;
    int submit, json, force, n_out;
    /* the job options as given, one "--name[=value]" each; those a queue worker takes
     * (the recogniser's and the label endpoint's, cli_worker_side_option) again; and
     * the --sbatch ones */
    char **run_args, **worker_args;
    size_t n_run_args, n_worker_args;
    const char **sbatch;
    size_t n_sbatch;
} SlurmArgs;

static int push(void *parr, size_t *n, const void *item)
{
    void **arr = *(void ***)parr, **grown = realloc(arr, (*n + 1) * sizeof(*arr));
    if (!grown)
        return -1;
    grown[(*n)++] = (void *)item;
    *(void ***)parr = grown;
    return 0;
}

/* Keeps a sampling option as the tasks' vidx run will get it. */
static int keep_job_option(SlurmArgs *a, int key, const char *arg)
{
    const CliOption *o = cli_job_options;
    while (o->name && o->key != key)
        o++;
    if (!o->name) /* the recogniser's, which the tasks' vidx run takes too */
        for (o = cli_asr_options; o->name && o->key != key; o++)
            ;
    char *text = NULL;
    if (!o->name || asprintf(&text, "--%s%s%s", o->name, arg ? "=" : "", arg ? arg : "") < 0)
        return -1;
    if (push(&a->run_args, &a->n_run_args, text) < 0) {
        free(text);
        return -1;
    }
    if (!cli_worker_side_option(key))
        return 0;
    char *copy = strdup(text);
    if (!copy || push(&a->worker_args, &a->n_worker_args, copy) < 0) {
        free(copy);
        return -1;
    }
    return 0;
}

static int parse_array(SlurmArgs *a, const char *arg)
{
    char n[32];
    int64_t v, m = 0;
    size_t len = strcspn(arg, "%");
    if (len >= sizeof(n)) {
        cli_error(NULL, "--array: '%s' is not N or N%%M", arg);
        return -1;
    }
    memcpy(n, arg, len);
    n[len] = 0;
    if (cli_parse_int("array", n, 1, 1000000, &v) < 0 ||
        (arg[len] && cli_parse_int("array", arg + len + 1, 1, 1000000, &m) < 0))
        return -1;
    a->s.array = (int)v;
    a->s.array_max_running = (int)m;
    return 0;
}

static int sbatch_option(SlurmArgs *a, int key, const char *arg)
{
    const char **fields[] = {&a->s.partition, &a->s.time, &a->s.mem,
                             &a->s.account,   &a->s.log,  &a->s.job_name};
    int64_t v;
    switch (key) {
    case OPT_ARRAY:
        return parse_array(a, arg);
    case OPT_CPUS:
        return cli_parse_int("cpus-per-task", arg, 1, 256, &v) < 0
                   ? -1
                   : (a->s.cpus_per_task = (int)v, 0);
    case OPT_SBATCH:
        return push(&a->sbatch, &a->n_sbatch, arg);
    }
    if (key >= OPT_PARTITION && key <= OPT_JOB_NAME) {
        *fields[key - OPT_PARTITION] = arg;
        return 0;
    }
    return 1;
}

static int slurm_option(int key, const char *arg, void *ctx)
{
    SlurmArgs *a = ctx;
    int ret = cli_job_option(&a->job, key, arg);
    if (ret != 0)
        return ret < 0 ? -1 : keep_job_option(a, key, arg);
    if ((ret = sbatch_option(a, key, arg)) <= 0)
        return ret;
    switch (key) {
    case OPT_OUTPUT:
        a->out = arg;
        a->n_out++;
        return 0;
    case OPT_CATALOG:
        a->s.catalog = arg;
        return 0;
    case OPT_PARTS:
        a->s.parts = arg;
        return 0;
    case OPT_VIDX:
        a->s.vidx = arg;
        return 0;
    case OPT_SCRIPT:
        a->script = arg;
        return 0;
    case OPT_MERGE_SCRIPT:
        a->merge_script = arg;
        return 0;
    case OPT_SUBMIT:
        a->submit = 1;
        return 0;
    case OPT_JSON:
        a->json = 1;
        return 0;
    case OPT_FORCE:
        a->force = 1;
        return 0;
    }
    return -1;
}

static void args_free(SlurmArgs *a)
{
    for (size_t i = 0; i < a->n_run_args; i++)
        free(a->run_args[i]);
    for (size_t i = 0; i < a->n_worker_args; i++)
        free(a->worker_args[i]);
    free(a->run_args);
    free(a->worker_args);
    free(a->sbatch);
    cli_job_free(&a->job);
}

/* Checks that need every option; a message and CLI_EXIT_USAGE, or 0. */
static int check_args(const SlurmArgs *a, int n_inputs)
{
    const char *why = NULL;
    if (!a->out)
        why = "slurm needs -o OUT (see --help)";
    else if (a->n_out > 1)
        why = "-o/--output given twice (the tasks' log files are --log)";
    else if (a->json && !a->submit)
        why = "--json goes with --submit";
    else if (a->s.catalog && a->merge_script)
        why = "--merge-script: with --catalog there is no merge job";
    else if (a->s.catalog && a->s.parts)
        why = "--parts: with --catalog every task writes to OUT";
    else if (a->s.catalog && !n_inputs && a->n_run_args > a->n_worker_args)
        why = "with --catalog, sampling options go with the inputs to enqueue";
    else if (!a->s.catalog && !n_inputs)
        why = "without --catalog, slurm takes at least one INPUT (see --help)";
    if (why)
        cli_error(NULL, "%s", why);
    return why ? CLI_EXIT_USAGE : 0;
}

/* Maps a library failure to its message and exit code. */
static int failed(const char *file, int ret)
{
    const char *d = vidx_error_detail(ret);
    cli_error(d[0] ? NULL : file, "%s", d[0] ? d : vidx_strerror(ret));
    if (ret == VIDX_EUSAGE)
        return CLI_EXIT_USAGE;
    if (ret == VIDX_ENOTOURS)
        return CLI_EXIT_NOTOURS;
    return CLI_EXIT_OUTPUT;
}

static int emit(const char *file, const char *text, int force)
{
    if (!file) {
        fputs(text, stdout);
        return fflush(stdout) == 0 ? 0 : CLI_EXIT_OUTPUT;
    }
    int ret = vidx_slurm_write(file, text, force);
    return ret < 0 ? failed(file, ret) : 0;
}

static void print_ids(const SlurmArgs *a, const char *array_id, const char *merge_id)
{
    if (a->json) {
        json_t *o = json_pack("{s:s, s:i, s:s?}", "array_job", array_id, "tasks", a->s.array,
                              "merge_job", merge_id);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(o);
        return;
    }
    printf("submitted array job %s (%d task%s)\n", array_id, a->s.array, a->s.array > 1 ? "s" : "");
    if (merge_id)
        printf("submitted merge job %s (runs once every task of %s has succeeded)\n", merge_id,
               array_id);
}

static int submit(const SlurmArgs *a, const char *script, const char *merge)
{
    char *array_id = NULL, *merge_id = NULL;
    int ret = vidx_slurm_submit(script, NULL, &array_id);
    if (ret < 0) {
        cli_error(NULL, "submitting the array job: %s", vidx_error_detail(ret));
        return CLI_EXIT_FATAL;
    }
    if (merge && (ret = vidx_slurm_submit(merge, array_id, &merge_id)) < 0) {
        cli_error(NULL,
                  "array job %s was submitted, its merge job was not (%s): run vidx merge "
                  "when the array is done",
                  array_id, vidx_error_detail(ret));
        free(array_id);
        return CLI_EXIT_FATAL;
    }
    print_ids(a, array_id, merge_id);
    vidx_free(array_id);
    vidx_free(merge_id);
    return CLI_EXIT_OK;
}

/* Renders, writes and submits; the scripts are made before anything is written. */
static int slurm_do(SlurmArgs *a, const char *const *inputs, size_t n)
{
    char *script = NULL, *merge = NULL;
    int ret = 0;
    if (a->s.catalog && n)
        ret = vidx_slurm_enqueue(inputs, n, &a->s);
    if (ret == 0)
        ret = vidx_slurm_script(inputs, n, a->out, &a->s, &script);
    if (ret == 0 && !a->s.catalog && (a->submit || a->merge_script))
        ret = vidx_slurm_merge_script(a->out, &a->s, &merge);
    if (ret < 0)
        ret = failed(a->out, ret);
    if (ret == 0 && (a->script || !a->submit))
        ret = emit(a->script, script, a->force);
    if (ret == 0 && a->merge_script)
        ret = emit(a->merge_script, merge, a->force);
    if (ret == 0 && a->submit)
        ret = submit(a, script, merge);
    vidx_free(script);
    vidx_free(merge);
    return ret;
}

int cmd_slurm(int argc, char **argv)
{
    static const char usage[] =
        "usage: vidx slurm INPUT... -o OUT --array N [sbatch options] [sampling options]\n"
        "       vidx slurm --catalog postgresql://USER@HOST/DB -o OUT --array N [...]\n\n"
        "Writes an sbatch job-array script (stdout, or --script FILE) that runs vidx on N\n"
        "tasks; --submit submits it. Without --catalog, task I runs `vidx run INPUT...\n"
        "--shard auto` into OUT.parts/part-I (see --parts) and a merge job, submitted to\n"
        "start once every task has succeeded, runs `vidx merge` of the parts into OUT.\n"
        "With --catalog, every task runs `vidx worker` on the PostgreSQL work queue; the\n"
        "URL must not hold a password (use PGPASSWORD or ~/.pgpass on the nodes).\n"
        "Paths are written absolute: OUT, the parts and the inputs must be on a filesystem\n"
        "the nodes share. Only FILE is written, and an existing FILE only when vidx wrote it\n"
        "(see --force). Sampling options go to the tasks' vidx run unchanged; with\n"
        "--catalog, to the queue with the inputs, and the recogniser's (--asr-*) and the\n"
        "label endpoint's (--label-url, -key-env, -jobs, -timeout, -retries) to every\n"
        "task's vidx worker.\n"
        "Exit codes: 0 ok, 2 usage, 5 cannot write FILE, 10 sbatch failed, 12 FILE exists\n"
        "and is not a vidx script.";
    SlurmArgs a;
    int first;
    memset(&a, 0, sizeof(a));
    cli_job_init(&a.job);
    vidx_slurm_default_settings(&a.s);
    int ret = cli_parse(argc, argv, usage, cli_with_job_options(slurm_own_options), slurm_option,
                        &a, &first);
    if (ret != 0 || cli_job_finish(&a.job) < 0) {
        args_free(&a);
        return ret > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if ((ret = check_args(&a, argc - first)) == 0) {
        a.s.sbatch_args = a.sbatch;
        a.s.n_sbatch_args = a.n_sbatch;
        /* with --catalog the sampling options go to the queue (a.s.job), the worker's own
         * (--asr-*, the label endpoint) on each task's vidx worker line */
        a.s.run_args = (const char *const *)(a.s.catalog ? a.worker_args : a.run_args);
        a.s.n_run_args = a.s.catalog ? a.n_worker_args : a.n_run_args;
        a.s.job = &a.job.job;
        ret = slurm_do(&a, (const char *const *)argv + first, (size_t)(argc - first));
    }
    args_free(&a);
    return ret;
}
