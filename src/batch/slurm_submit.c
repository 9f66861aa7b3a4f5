/*
 * slurm_submit.c - what `vidx slurm` does with its scripts besides writing
 * their text (slurm.c): the script file, replaced atomically and only when it
 * is one vidx wrote (the user's other files are never touched); submission
 * with sbatch (the script on its standard input, the job id from --parsable);
 * and the queue mode's enqueue step.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "store/fs.h"

extern const char vidx__slurm_mark[];
extern char **environ;

/* ---- the script file ---- */

/* 1: the regular file path begins like a vidx script; 0: it does not. */
static int begins_like_ours(const char *path)
{
    char head[64] = {0};
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, head, sizeof(head) - 1);
    int err = n < 0 ? -errno : 0;
    close(fd);
    return err ? err : strncmp(head, vidx__slurm_mark, strlen(vidx__slurm_mark)) == 0;
}

/* A new file beside path with a name no one else uses (O_EXCL), made with the
 * usual mode (0666 less the umask). */
static int temp_beside(const char *path, char *tmp, size_t size)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    for (int tries = 0; tries < 100; tries++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned r =
            (unsigned)ts.tv_nsec ^ ((unsigned)getpid() << 16) ^ (unsigned)tries * 2654435761u;
        if (snprintf(tmp, size, "%.*s.%s.vidx-%08x.tmp", dirlen, path, path + dirlen, r) >=
            (int)size)
            return -ENAMETOOLONG;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd >= 0 ? fd : -errno;
    }
    return -EEXIST;
}

/* Replaces (or creates) the regular file path through a new file beside it. */
static int replace(const char *path, const char *script)
{
    char tmp[PATH_MAX];
    int fd = temp_beside(path, tmp, sizeof(tmp));
    if (fd < 0)
        return vidx__detail(fd, "cannot write beside %s: %s", path, strerror(-fd));
    int ret = vidx__write_all(fd, script, strlen(script));
    if (close(fd) < 0 && ret == 0)
        ret = -errno;
    if (ret == 0 && rename(tmp, path) < 0)
        ret = -errno;
    if (ret < 0) {
        unlink(tmp);
        return vidx__detail(ret, "cannot write %s: %s", path, strerror(-ret));
    }
    return 0;
}

/* A device or a FIFO (/dev/stdout, /dev/null, a pipe): written to, never replaced. */
static int write_stream(const char *path, const char *script)
{
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC), ret = fd < 0 ? -errno : 0;
    if (ret == 0)
        ret = vidx__write_all(fd, script, strlen(script));
    if (fd >= 0 && close(fd) < 0 && ret == 0)
        ret = -errno;
    return ret < 0 ? vidx__detail(ret, "cannot write %s: %s", path, strerror(-ret)) : 0;
}

/* The regular file path names (through symlinks), replaced when ours or forced. */
static int replace_file(const char *path, const char *script, int force)
{
    char *real = realpath(path, NULL);
    int ret = real ? begins_like_ours(real) : -errno;
    if (ret == 0 && !force)
        ret = vidx__detail(VIDX_ENOTOURS,
                           "%s exists and is not a script vidx wrote: not replaced (force "
                           "replaces it)",
                           path);
    else if (ret >= 0)
        ret = replace(real, script);
    else
        ret = vidx__detail(ret, "cannot read %s: %s", path, strerror(-ret));
    free(real);
    return ret;
}

int vidx_slurm_write(const char *path, const char *script, int force)
{
    struct stat st;
    vidx__detail_clear();
    if (lstat(path, &st) < 0)
        return errno == ENOENT
                   ? replace(path, script)
                   : vidx__detail(-errno, "cannot look at %s: %s", path, strerror(errno));
    if (stat(path, &st) < 0)
        return vidx__detail(VIDX_ENOTOURS, "%s is a symlink to nothing: not replaced", path);
    if (S_ISDIR(st.st_mode))
        return vidx__detail(-EISDIR, "%s is a directory", path);
    return S_ISREG(st.st_mode) ? replace_file(path, script, force) : write_stream(path, script);
}

/* ---- sbatch ---- */

typedef struct Child {
    pid_t pid;
    int in, out, err; /* our ends: the script goes to in (a socket: no SIGPIPE) */
} Child;

static int spawn_sbatch(const char *after, Child *c)
{
    int in[2], out[2] = {-1, -1}, err[2] = {-1, -1}, ret;
    char dep[128];
    char *argv[] = {"sbatch", "--parsable", dep, NULL};
    if (!after)
        argv[2] = NULL;
    else if (snprintf(dep, sizeof(dep), "--dependency=afterok:%s", after) >= (int)sizeof(dep))
        return vidx__detail(VIDX_EUSAGE, "job id too long");
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)
        return -errno;
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        ret = -errno;
        goto fail;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[1], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    ret = -posix_spawnp(&c->pid, "sbatch", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (ret < 0)
        goto fail;
    close(in[1]);
    close(out[1]);
    close(err[1]);
    *c = (Child){c->pid, in[0], out[0], err[0]};
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
        if (err[i] >= 0)
            close(err[i]);
    }
    return ret == -ENOENT ? vidx__detail(ret, "sbatch not found in PATH (not a Slurm submit host?)")
                          : ret;
}

/* Appends what fd has to buf (at most cap - 1 bytes kept); 0 at EOF. */
static ssize_t drain(int fd, char *buf, size_t *len, size_t cap)
{
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n > 0) {
        size_t keep = VIDX_MIN((size_t)n, cap - 1 - *len);
        memcpy(buf + *len, chunk, keep);
        *len += keep;
        buf[*len] = 0;
    }
    return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : n;
}

/* Feeds the script to sbatch while collecting its output, then reaps it. */
static int talk(Child *c, const char *script, char *out, char *err, size_t cap, int *status)
{
    size_t off = 0, len = strlen(script), olen = 0, elen = 0;
    int ret = 0;
    while (c->out >= 0 || c->err >= 0) {
        struct pollfd p[3] = {{c->out, POLLIN, 0}, {c->err, POLLIN, 0}, {c->in, POLLOUT, 0}};
        if (poll(p, 3, -1) < 0 && errno != EINTR)
            break;
        if (p[2].revents) {
            ssize_t n = send(c->in, script + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            off += n > 0 ? (size_t)n : 0;
            if (off == len || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                close(c->in);
                c->in = -1;
            }
        }
        for (int i = 0; i < 2; i++) {
            int *fd = i ? &c->err : &c->out;
            if (p[i].revents && drain(*fd, i ? err : out, i ? &elen : &olen, cap) <= 0) {
                close(*fd);
                *fd = -1;
            }
        }
    }
    if (c->in >= 0)
        close(c->in);
    while (waitpid(c->pid, status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return ret;
}

static void last_line(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = 0;
    char *nl = strrchr(s, '\n');
    if (nl)
        memmove(s, nl + 1, strlen(nl + 1) + 1);
}

int vidx_slurm_submit(const char *script, const char *after_job, char **job_id)
{
    Child c;
    char out[256] = {0}, err[1024] = {0};
    int status = 0;
    *job_id = NULL;
    vidx__detail_clear();
    int ret = spawn_sbatch(after_job, &c);
    if (ret == 0)
        ret = talk(&c, script, out, err, sizeof(out), &status);
    if (ret < 0)
        return ret;
    last_line(err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return vidx__detail(-EIO, "sbatch failed (status %d): %s", status, err[0] ? err : "-");
    out[strcspn(out, ";\n")] = 0; /* --parsable: "id" or "id;cluster" */
    if (!out[0] || strspn(out, "0123456789") != strlen(out))
        return vidx__detail(-EIO, "sbatch printed no job id: '%.60s'", out);
    return (*job_id = strdup(out)) ? 0 : -ENOMEM;
}

/* ---- the queue ---- */

int vidx_slurm_enqueue(const char *const *inputs, size_t n_inputs, const VidxSlurmSettings *s)
{
    VidxRunSettings run;
    vidx__detail_clear();
    if (!s || !s->catalog)
        return vidx__detail(VIDX_EUSAGE, "enqueuing needs the queue's catalog (--catalog URL)");
    vidx_run_default_settings(&run);
    if (s->job)
        run.job = *s->job; /* what shapes the output: the workers apply exactly this */
    run.catalog = s->catalog;
    int ret = vidx_enqueue(inputs, n_inputs, &run, NULL);
    return ret < 0 ? vidx__detail(ret, "enqueuing the inputs failed: %s", vidx_strerror(ret)) : 0;
}
