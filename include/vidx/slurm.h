/*
 * vidx/slurm.h - running a library on a Slurm cluster: the sbatch job-array
 * script (and the merge job's script) that runs vidx on every array task,
 * writing it to a file and submitting it with sbatch.
 *
 * Two modes. With a PostgreSQL catalog (settings.catalog), every task runs
 * `vidx worker` against the catalog's work queue. Without one, task I of N
 * runs `vidx run` on its static shard I/N of the inputs into parts/part-I
 * (each with its own SQLite catalog), and a merge job, started once every
 * task has succeeded, combines the parts into out with `vidx merge`.
 *
 * Part of the public API; include <vidx/vidx.h>, which includes every vidx header.
 */
#ifndef VIDX_SLURM_H
#define VIDX_SLURM_H

#include "job.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct VidxSlurmSettings {
    /** The size of the caller's struct, set by vidx_slurm_default_settings() ("ABI", vidx.h). */
    size_t struct_size;
    /** The vidx program the tasks run, made absolute; NULL: the running program (right
     * for the vidx command itself). It must exist at that path on the compute nodes. */
    const char *vidx;
    /** A postgresql:// (or postgres://) URL: the tasks work the catalog's queue. It
     * must not hold a password (refused with VIDX_EUSAGE: the script would show it to
     * anyone who can read it or the job's record); libpq reads it at run time from the
     * tasks' environment (PGPASSWORD) or password file (PGPASSFILE, ~/.pgpass).
     * NULL: static shards, each task with its own SQLite catalog under parts. */
    const char *catalog;
    /** Static shards: the folder of the tasks' outputs part-0 ... part-(N-1), made
     * absolute; NULL: out followed by ".parts". Neither may lie inside the other. */
    const char *parts;
    int array;             /**< tasks in the array (default 1) */
    int array_max_running; /**< at most this many tasks at once; 0 (default): no limit */
    int cpus_per_task;     /**< CPUs of each task, its vidx's core budget (default 1) */
    const char *job_name;  /**< the array job's name (default "vidx"; merge: name + "-merge") */
    /** sbatch's partition, time limit, memory and account; NULL: the cluster's defaults. */
    const char *partition, *time, *mem, *account;
    /** sbatch's log file pattern for both jobs (%A, %a, %j...); NULL: Slurm's default,
     * slurm-%A_%a.out in the directory sbatch runs in. */
    const char *log;
    /** More sbatch options, one per element ("--qos=high", "--mail-type=END"), written
     * as directives in both scripts. The array, the CPUs per task and the dependency
     * are the settings' (refused here with VIDX_EUSAGE). */
    const char *const *sbatch_args;
    size_t n_sbatch_args;
    /** Static shards: more arguments of the `vidx run` each task runs (its sampling
     * and output options); queue mode: of the `vidx worker` each task runs (its own
     * options: the recogniser's, the label endpoint's; never sampling options, which
     * the queue holds). Shell-quoted after the others. */
    const char *const *run_args;
    size_t n_run_args;
    /** Queue mode with inputs: the job settings the inputs are enqueued with
     * (vidx_slurm_enqueue); NULL: the defaults. */
    const VidxJobSettings *job;
} VidxSlurmSettings;

/** Like vidx_run_settings_init(), for VidxSlurmSettings. */
VIDX_API int vidx_slurm_settings_init(VidxSlurmSettings *s, size_t size);

/** Sets every field of s to its default. */
static inline void vidx_slurm_default_settings(VidxSlurmSettings *s)
{
    (void)vidx_slurm_settings_init(s, sizeof(*s));
}

/**
 * The job-array script (*script: a bash script with #SBATCH directives, free
 * with vidx_free) that processes inputs into out on s->array tasks. Inputs
 * are written as absolute canonical paths ("@list" files too; URLs as given)
 * and every value is quoted for the shell or for sbatch's directive parser.
 * Static shards need inputs; with a catalog, inputs are enqueued by
 * vidx_slurm_enqueue() and the script takes none. Writes nothing. 0, or
 * VIDX_EUSAGE (detail: which setting and why) for settings no script can
 * carry: a catalog URL with a password, an input "-" (stdin), a value with a
 * control character, parts and out inside each other.
 */
VIDX_API int vidx_slurm_script(const char *const *inputs, size_t n_inputs, const char *out,
                               const VidxSlurmSettings *s, char **script);

/**
 * Static shards: the script of the merge job, to run once every array task has
 * succeeded (vidx_slurm_submit's after): `vidx merge` of parts/part-0 ...
 * parts/part-(N-1) into out. VIDX_EUSAGE with a catalog (no merge there).
 */
VIDX_API int vidx_slurm_merge_script(const char *out, const VidxSlurmSettings *s, char **script);

/**
 * Queue mode: registers inputs in the catalog's work queue with s->job, once
 * (enqueuing twice adds nothing), before the script is written or submitted.
 */
VIDX_API int vidx_slurm_enqueue(const char *const *inputs, size_t n_inputs,
                                const VidxSlurmSettings *s);

/**
 * Writes script to path. A missing path is created. An existing regular file
 * (also one path links to: the link stays) is replaced atomically, through a
 * uniquely named temporary file beside it, only when it is a script these
 * functions wrote (it begins like one) or force is set; any other is refused
 * with VIDX_ENOTOURS and left untouched, as is a symlink to nothing. A device
 * or a FIFO (/dev/stdout, a pipe) is written to, never replaced; a directory
 * is -EISDIR. Nothing else is written.
 */
VIDX_API int vidx_slurm_write(const char *path, const char *script, int force);

/**
 * Submits script with sbatch (found in PATH; the script on its standard
 * input), after the job after_job has completed successfully when after_job
 * is not NULL (--dependency=afterok). *job_id: the new job's id (vidx_free).
 * -ENOENT when there is no sbatch; -EIO when sbatch failed or printed no job
 * id, with its message as the detail.
 */
VIDX_API int vidx_slurm_submit(const char *script, const char *after_job, char **job_id);

#ifdef __cplusplus
}
#endif

#endif /* VIDX_SLURM_H */
