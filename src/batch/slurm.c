/*
 * slurm.c - the text of the sbatch scripts `vidx slurm` writes: the job array
 * (static shards: `vidx run --shard auto` per task into PARTS/part-I; queue
 * mode: `vidx worker` per task) and the static mode's merge job. Every path is
 * made absolute and canonical here (the jobs run on other machines, in other
 * directories), every value is quoted for the shell or for sbatch's directive
 * parser, and settings that a script cannot carry safely are refused before
 * anything is written: a catalog URL with a password, control characters,
 * stdin as an input. Writing and submitting the text is slurm_submit.c's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch/slurm_settings.h"
#include "core/internal.h"
#include "core/path.h"

/* What every script vidx writes begins with (vidx_slurm_write looks for it). */
const char vidx__slurm_mark[] = "#!/bin/bash\n# vidx slurm script";

typedef struct Script {
    VidxSlurmSettings s;
    char *vidx, *out, *parts; /* absolute, canonical */
    FILE *f;
} Script;

/* ---- quoting ---- */

/* A word for bash: as is when it has only safe characters, else in single quotes. */
static void shell_word(FILE *f, const char *s)
{
    if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                        "_@%+=:,./-") == strlen(s)) {
        fputs(s, f);
        return;
    }
    fputc('\'', f);
    for (; *s; s++)
        *s == '\'' ? fputs("'\\''", f) : fputc(*s, f);
    fputc('\'', f);
}

/* A value for an #SBATCH line. sbatch splits the line at blanks outside quotes
 * ("..." or '...'), takes '#' as the start of a comment and a backslash as an
 * escape (of anything but a blank): a value with any of those goes in double
 * quotes, each of \ " ' # inside escaped (checked with sbatch 22.05). */
static void directive_word(FILE *f, const char *s)
{
    int plain = !strpbrk(s, " \t\\\"'#");
    if (!plain)
        fputc('"', f);
    for (; *s; s++) {
        if (strchr("\\\"'#", *s))
            fputc('\\', f);
        fputc(*s, f);
    }
    if (!plain)
        fputc('"', f);
}

static int control_free(const char *what, const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return vidx__detail(VIDX_EUSAGE, "%s has a control character (a newline, a tab...)",
                                what);
    return 0;
}

/* ---- the catalog URL ---- */

static int hex(int c)
{
    return c >= '0' && c <= '9'                 ? c - '0'
           : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10
                                                : -1;
}

/* Does the query parameter starting at p (up to '&' or the end) have this
 * name, percent-decoded as libpq decodes it? */
static int param_is(const char *p, const char *name)
{
    for (; *p && *p != '=' && *p != '&'; name++) {
        int c = (unsigned char)*p++;
        if (c == '%' && hex(p[0]) >= 0 && hex(p[1]) >= 0) {
            c = hex(p[0]) * 16 + hex(p[1]);
            p += 2;
        }
        if (c != *name)
            return 0;
    }
    return *name == 0;
}

/* A password in the user information (user:password@host) or a password or
 * sslpassword query parameter. */
static int url_has_password(const char *url)
{
    const char *auth = strstr(url, "://") + 3, *end = auth + strcspn(auth, "/?#"), *at = NULL;
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            at = p;
    if (at && memchr(auth, ':', (size_t)(at - auth)))
        return 1;
    const char *q = strchr(url, '?');
    for (const char *p = q; p; p = strchr(p, '&'))
        if (param_is(++p, "password") || param_is(p, "sslpassword"))
            return 1;
    return 0;
}

static int check_catalog(const char *url)
{
    if (strncmp(url, "postgresql://", 13) && strncmp(url, "postgres://", 11))
        return vidx__detail(VIDX_EUSAGE, "the catalog must be a postgresql:// URL");
    if (url_has_password(url))
        return vidx__detail(VIDX_EUSAGE,
                            "the catalog URL holds a password; a job script would show it to "
                            "anyone who can read the script or the job: leave it out and give it "
                            "through PGPASSWORD or a password file (PGPASSFILE, ~/.pgpass)");
    return control_free("the catalog URL", url);
}

/* ---- settings ---- */

/* Is a one of sbatch's options name (long, or an unambiguous prefix of 3 or
 * more letters as sbatch takes it) or letter (short, with its value attached)? */
static int is_option(const char *a, const char *name, char letter)
{
    if (a[1] != '-')
        return a[1] == letter;
    size_t n = strcspn(a + 2, "=");
    return n >= 3 && n <= strlen(name) && !strncmp(a + 2, name, n);
}

static int check_sbatch_arg(const char *a)
{
    if (a[0] != '-' || !a[1] || !strcmp(a, "--"))
        return vidx__detail(VIDX_EUSAGE, "sbatch option '%.60s' is not an option (-X or --NAME)",
                            a);
    if (is_option(a, "array", 'a') || is_option(a, "cpus-per-task", 'c') ||
        is_option(a, "dependency", 'd'))
        return vidx__detail(VIDX_EUSAGE,
                            "sbatch option '%.60s': the array, the CPUs per task and the "
                            "dependency are vidx slurm's own settings",
                            a);
    return control_free("an sbatch option", a);
}

static int check_texts(const VidxSlurmSettings *s)
{
    const char *names[] = {"the job name", "the partition", "the time limit",
                           "the memory",   "the account",   "the log pattern"};
    const char *vals[] = {s->job_name, s->partition, s->time, s->mem, s->account, s->log};
    int ret = 0;
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(vals) && ret == 0; i++)
        if (vals[i] && (ret = control_free(names[i], vals[i])) == 0 && !vals[i][0])
            ret = vidx__detail(VIDX_EUSAGE, "%s is empty", names[i]);
    for (size_t i = 0; i < s->n_sbatch_args && ret == 0; i++)
        ret = check_sbatch_arg(s->sbatch_args[i]);
    return ret;
}

static int check_settings(const VidxSlurmSettings *s)
{
    if (s->array < 1 || s->array > 1000000 || s->array_max_running < 0 || s->cpus_per_task < 1 ||
        s->cpus_per_task > 256)
        return vidx__detail(VIDX_EUSAGE, "array tasks in [1, 1000000], CPUs per task in [1, 256]");
    if (s->catalog && check_catalog(s->catalog) < 0)
        return VIDX_EUSAGE;
    return check_texts(s);
}

/* An absolute canonical name for a path the jobs will use (any bytes: paths
 * only ever appear in the scripts as single-quoted shell words). */
static int absolute(const char *what, const char *path, char **out)
{
    if (!path[0])
        return vidx__detail(VIDX_EUSAGE, "%s is empty", what);
    *out = vidx__path_canonical(path, NULL);
    return *out ? 0 : -ENOMEM;
}

static int this_program(char **out)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0)
        return vidx__detail(-errno, "cannot find the running program (/proc/self/exe)");
    buf[n] = 0;
    return (*out = strdup(buf)) ? 0 : -ENOMEM;
}

static int paths(Script *sc, const char *out)
{
    const char *parts = sc->s.parts;
    char *dflt = NULL;
    int ret =
        sc->s.vidx ? absolute("the vidx path", sc->s.vidx, &sc->vidx) : this_program(&sc->vidx);
    if (ret == 0)
        ret = absolute("the output directory", out, &sc->out);
    if (ret == 0 && !parts && asprintf(&dflt, "%s.parts", sc->out) < 0)
        ret = -ENOMEM;
    if (ret == 0 && !sc->s.catalog)
        ret = absolute("the parts directory", parts ? parts : dflt, &sc->parts);
    free(dflt);
    if (ret == 0 && sc->parts &&
        (vidx__path_within(sc->parts, sc->out) || vidx__path_within(sc->out, sc->parts)))
        ret = vidx__detail(VIDX_EUSAGE, "the parts directory and the output directory are inside "
                                        "each other");
    return ret;
}

static void script_free(Script *sc)
{
    free(sc->vidx);
    free(sc->out);
    free(sc->parts);
}

static int script_open(Script *sc, const char *out, const VidxSlurmSettings *caller)
{
    memset(sc, 0, sizeof(*sc));
    vidx__detail_clear();
    int ret = vidx__abi_import(&vidx__slurm_layout, &sc->s, caller);
    if (ret == 0 && !out)
        ret = vidx__detail(VIDX_EUSAGE, "no output directory");
    if (ret == 0)
        ret = check_settings(&sc->s);
    if (ret == 0)
        ret = paths(sc, out);
    if (ret < 0)
        script_free(sc);
    return ret;
}

/* ---- rendering ---- */

static void directive(FILE *f, const char *name, const char *value)
{
    if (!value)
        return;
    fprintf(f, "#SBATCH --%s=", name);
    directive_word(f, value);
    fputc('\n', f);
}

/* The directives both jobs share. */
static void directives(const Script *sc, int merge)
{
    const VidxSlurmSettings *s = &sc->s;
    FILE *f = sc->f;
    fputs("#SBATCH --job-name=", f);
    directive_word(f, s->job_name ? s->job_name : "vidx");
    fputs(merge ? "-merge\n" : "\n", f);
    if (!merge && s->array_max_running > 0)
        fprintf(f, "#SBATCH --array=0-%d%%%d\n", s->array - 1, s->array_max_running);
    else if (!merge)
        fprintf(f, "#SBATCH --array=0-%d\n", s->array - 1);
    if (!merge)
        fprintf(f, "#SBATCH --cpus-per-task=%d\n", s->cpus_per_task);
    directive(f, "partition", s->partition);
    directive(f, "time", s->time);
    directive(f, "mem", s->mem);
    directive(f, "account", s->account);
    directive(f, "output", s->log);
    for (size_t i = 0; i < s->n_sbatch_args; i++) {
        fputs("#SBATCH ", f);
        directive_word(f, s->sbatch_args[i]);
        fputc('\n', f);
    }
    fputs("set -euo pipefail\n", f);
}

static void header(const Script *sc, const char *what)
{
    fprintf(sc->f,
            "%s written by vidx %s (vidx slurm rewrites only files that begin\n"
            "# with these two lines). %s\n",
            vidx__slurm_mark, VIDX_VERSION_STRING, what);
}

static void task_banner(const Script *sc)
{
    fputs("echo \"vidx slurm: task ${SLURM_ARRAY_TASK_ID:-?} of ${SLURM_ARRAY_TASK_COUNT:-?} on "
          "$(hostname)\" >&2\n",
          sc->f);
    fputs("vidx=", sc->f);
    shell_word(sc->f, sc->vidx);
    fputc('\n', sc->f);
}

static int input_word(FILE *f, const char *in)
{
    char *abs = NULL;
    int list = in[0] == '@';
    if (!strcmp(in, "-"))
        return vidx__detail(VIDX_EUSAGE, "an array task cannot read this command's standard "
                                         "input: give the paths in a list file (@LIST)");
    if (!in[list])
        return vidx__detail(VIDX_EUSAGE, "an input name is empty");
    struct stat st;
    if (list && stat(in + 1, &st) == 0 && !S_ISREG(st.st_mode))
        return vidx__detail(VIDX_EUSAGE,
                            "list %.80s is not a regular file (a pipe?): the "
                            "tasks could not read it",
                            in + 1);
    if (!vidx__is_url(in) && !(abs = vidx__path_canonical(in + list, NULL)))
        return -ENOMEM;
    fputc(' ', f);
    if (list)
        fputc('@', f); /* '@' needs no quoting: it stays outside the quotes */
    shell_word(f, abs ? abs : in);
    free(abs);
    return 0;
}

static int shards_body(const Script *sc, const char *const *inputs, size_t n)
{
    FILE *f = sc->f;
    int ret = 0;
    fputs("parts=", f);
    shell_word(f, sc->parts);
    fputs("\nmkdir -p -- \"$parts\"\nrc=0\n\"$vidx\" run", f);
    for (size_t i = 0; i < n && ret == 0; i++)
        ret = input_word(f, inputs[i]);
    fputs(" -o \"$parts/part-$SLURM_ARRAY_TASK_ID\" --shard auto --jobs "
          "\"${SLURM_CPUS_PER_TASK:-1}\"",
          f);
    for (size_t i = 0; i < sc->s.n_run_args; i++) {
        fputc(' ', f);
        shell_word(f, sc->s.run_args[i]);
    }
    fputs(" || rc=$?\n"
          "# 1: some videos failed. They are recorded in this part's catalog and merged like\n"
          "# the rest, so the task succeeded (the merge job waits for every task to succeed).\n"
          "if [ \"$rc\" -eq 1 ]; then rc=0; fi\nexit \"$rc\"\n",
          f);
    return ret;
}

static void queue_body(const Script *sc)
{
    FILE *f = sc->f;
    fputs("# The catalog URL holds no password: libpq takes it from the task's environment\n"
          "# (PGPASSWORD) or from the password file (PGPASSFILE, default ~/.pgpass).\n"
          "exec \"$vidx\" worker --catalog ",
          f);
    shell_word(f, sc->s.catalog);
    fputs(" -o ", f);
    shell_word(f, sc->out);
    fputs(" --jobs \"${SLURM_CPUS_PER_TASK:-1}\"", f);
    for (size_t i = 0; i < sc->s.n_run_args; i++) { /* the worker's own: recogniser, labeller */
        fputc(' ', f);
        shell_word(f, sc->s.run_args[i]);
    }
    fputc('\n', f);
}

static int render_array(Script *sc, const char *const *inputs, size_t n)
{
    int ret = 0;
    if (sc->s.catalog) {
        header(sc, "Every array task runs `vidx worker`: it\n"
                   "# claims videos from the catalog's work queue until the queue is empty.");
        directives(sc, 0);
        task_banner(sc);
        queue_body(sc);
    } else {
        header(sc,
               "Array task I of N runs `vidx run --shard auto`\n"
               "# on its deterministic share I/N of the inputs, into PARTS/part-I with its own\n"
               "# catalog. Once every task has succeeded, the merge job (its script: vidx slurm\n"
               "# --merge-script; vidx slurm --submit submits both) combines the parts into OUT.");
        directives(sc, 0);
        task_banner(sc);
        ret = shards_body(sc, inputs, n);
    }
    return ret;
}

static int render_merge(Script *sc)
{
    header(sc, "The merge job: it combines the array tasks'\n"
               "# parts into OUT (vidx merge is idempotent: running it again changes nothing).");
    directives(sc, 1);
    fputs("exec ", sc->f);
    shell_word(sc->f, sc->vidx);
    fputs(" merge -o ", sc->f);
    shell_word(sc->f, sc->out);
    fputc(' ', sc->f);
    shell_word(sc->f, sc->parts);
    if (sc->s.array > 1)
        fprintf(sc->f, "/part-{0..%d}\n", sc->s.array - 1);
    else
        fputs("/part-0\n", sc->f);
    return 0;
}

/* Runs render into a memory stream; *script only on success. */
static int render(Script *sc, int (*fn)(Script *, const char *const *, size_t),
                  const char *const *inputs, size_t n, char **script)
{
    char *text = NULL;
    size_t len = 0;
    sc->f = open_memstream(&text, &len);
    int ret = sc->f ? fn(sc, inputs, n) : -ENOMEM;
    if (sc->f && (fclose(sc->f) != 0 || !text) && ret == 0)
        ret = -ENOMEM;
    if (ret < 0)
        free(text);
    else
        *script = text;
    return ret;
}

int vidx_slurm_script(const char *const *inputs, size_t n_inputs, const char *out,
                      const VidxSlurmSettings *s, char **script)
{
    Script sc;
    *script = NULL;
    int ret = script_open(&sc, out, s);
    if (ret < 0)
        return ret;
    if (!sc.s.catalog && n_inputs == 0)
        ret = vidx__detail(VIDX_EUSAGE, "no inputs (static shards need them)");
    else if (sc.s.catalog && n_inputs > 0)
        n_inputs = 0; /* enqueued by vidx_slurm_enqueue(), not in the script */
    if (ret == 0)
        ret = render(&sc, render_array, inputs, n_inputs, script);
    script_free(&sc);
    return ret;
}

static int merge_fn(Script *sc, const char *const *inputs, size_t n)
{
    (void)inputs;
    (void)n;
    return render_merge(sc);
}

int vidx_slurm_merge_script(const char *out, const VidxSlurmSettings *s, char **script)
{
    Script sc;
    *script = NULL;
    int ret = script_open(&sc, out, s);
    if (ret < 0)
        return ret;
    if (sc.s.catalog)
        ret = vidx__detail(VIDX_EUSAGE, "a queue (catalog) has no merge job");
    else
        ret = render(&sc, merge_fn, NULL, 0, script);
    script_free(&sc);
    return ret;
}
