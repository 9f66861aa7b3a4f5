/*
 * shard.c - static sharding of a run's inputs: the stable partition of the
 * videos into N shards (vidx__shard_of, a fixed function of the video's
 * identity only) and the reading of "I/N" or "auto" (the shard a Slurm array
 * task or a Kubernetes Indexed Job pod is) for vidx run --shard.
 */
#include "batch/shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

uint32_t vidx__shard_of(const char *path, uint32_t count)
{
    uint64_t h = vidx__fnv1a(path, strlen(path), VIDX_FNV_INIT);
    h ^= h >> 30; /* splitmix64's finaliser: every bit of the hash reaches the low ones */
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return count ? (uint32_t)(h % count) : 0;
}

int64_t vidx__shard_filter(InputList *list, int index, int count)
{
    size_t kept = 0;
    if (count <= 0)
        return 0;
    for (size_t i = 0; i < list->n; i++) {
        if (vidx__shard_of(list->items[i].path, (uint32_t)count) == (uint32_t)index)
            list->items[kept++] = list->items[i];
        else
            free(list->items[i].path);
    }
    int64_t left = (int64_t)(list->n - kept);
    list->n = kept;
    return left;
}

/* A whole decimal number in [min, max] from s (NULL or junk: -1). */
static int64_t parse_count(const char *s, int64_t min, int64_t max)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return errno || *end || v < min || v > max ? -1 : (int64_t)v;
}

/* Slurm array: I = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, N = SLURM_ARRAY_TASK_COUNT. */
static int from_slurm(int *index, int *count)
{
    int64_t id = parse_count(getenv("SLURM_ARRAY_TASK_ID"), 0, VIDX_SHARD_MAX);
    int64_t min = parse_count(getenv("SLURM_ARRAY_TASK_MIN"), 0, VIDX_SHARD_MAX);
    int64_t n = parse_count(getenv("SLURM_ARRAY_TASK_COUNT"), 1, VIDX_SHARD_MAX);
    if (!getenv("SLURM_ARRAY_TASK_MIN"))
        min = 0;
    if (id < 0 || min < 0 || n < 0 || id < min || id - min >= n) {
        vidx__log(VIDX_LOG_ERROR,
                  "--shard auto: SLURM_ARRAY_TASK_ID=%s, SLURM_ARRAY_TASK_MIN=%s, "
                  "SLURM_ARRAY_TASK_COUNT=%s do not name one task of a contiguous array "
                  "(use --array=0-N-1, or --shard I/N)",
                  getenv("SLURM_ARRAY_TASK_ID"), getenv("SLURM_ARRAY_TASK_MIN") ?: "(unset)",
                  getenv("SLURM_ARRAY_TASK_COUNT") ?: "(unset)");
        return VIDX_EUSAGE;
    }
    *index = (int)(id - min);
    *count = (int)n;
    return 0;
}

/* Kubernetes Indexed Job: I = JOB_COMPLETION_INDEX, N = VIDX_SHARD_COUNT (the job's completions).
 */
static int from_k8s(int *index, int *count)
{
    int64_t i = parse_count(getenv("JOB_COMPLETION_INDEX"), 0, VIDX_SHARD_MAX);
    int64_t n = parse_count(getenv("VIDX_SHARD_COUNT"), 1, VIDX_SHARD_MAX);
    if (i < 0 || n < 0 || i >= n) {
        vidx__log(VIDX_LOG_ERROR,
                  "--shard auto: JOB_COMPLETION_INDEX=%s with VIDX_SHARD_COUNT=%s is not a "
                  "shard (set VIDX_SHARD_COUNT to the job's completions, or use --shard I/N)",
                  getenv("JOB_COMPLETION_INDEX"), getenv("VIDX_SHARD_COUNT") ?: "(unset)");
        return VIDX_EUSAGE;
    }
    *index = (int)i;
    *count = (int)n;
    return 0;
}

static int from_env(int *index, int *count)
{
    if (getenv("SLURM_ARRAY_TASK_ID"))
        return from_slurm(index, count);
    if (getenv("JOB_COMPLETION_INDEX"))
        return from_k8s(index, count);
    vidx__log(VIDX_LOG_ERROR, "--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor "
                              "JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; use "
                              "--shard I/N");
    return VIDX_EUSAGE;
}

int vidx_shard_parse(const char *spec, int *index, int *count)
{
    char head[32];
    const char *slash = spec ? strchr(spec, '/') : NULL;
    if (spec && !strcmp(spec, "auto"))
        return from_env(index, count);
    if (slash && (size_t)(slash - spec) < sizeof(head)) {
        memcpy(head, spec, (size_t)(slash - spec));
        head[slash - spec] = 0;
        int64_t i = parse_count(head, 0, VIDX_SHARD_MAX);
        int64_t n = parse_count(slash + 1, 1, VIDX_SHARD_MAX);
        if (i >= 0 && n > 0 && i < n) {
            *index = (int)i;
            *count = (int)n;
            return 0;
        }
    }
    vidx__log(VIDX_LOG_ERROR, "--shard '%s': expected I/N with 0 <= I < N <= %d, or auto",
              spec ? spec : "", VIDX_SHARD_MAX);
    return VIDX_EUSAGE;
}
