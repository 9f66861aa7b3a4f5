/*
 * fingerprint.c - see fingerprint.h: the content fingerprint by which the
 * run and the catalog's schema migration recognise a file, and the FNV-1a
 * hash it (and stable output keys and option hashes) are built on.
 */
#include "core/fingerprint.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "core/path.h"

uint64_t vidx__fnv1a(const void *data, size_t n, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

int vidx__input_fingerprint(const char *path, char out[64], int64_t *size, int64_t *mtime)
{
    struct stat st;
    unsigned char buf[65536];
    *size = *mtime = 0;
    if (vidx__is_url(path)) {
        snprintf(out, 64, "url:%016llx",
                 (unsigned long long)vidx__fnv1a(path, strlen(path), VIDX_FNV_INIT));
        return 0;
    }
    if (stat(path, &st) < 0) {
        snprintf(out, 64, "missing");
        return -errno;
    }
    *size = st.st_size;
    *mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    uint64_t h = VIDX_FNV_INIT;
    FILE *f = S_ISREG(st.st_mode) ? fopen(path, "rb") : NULL;
    if (f) {
        size_t n = fread(buf, 1, sizeof(buf), f);
        h = vidx__fnv1a(buf, n, h);
        if (st.st_size > (off_t)sizeof(buf) && fseeko(f, -(off_t)sizeof(buf), SEEK_END) == 0)
            h = vidx__fnv1a(buf, fread(buf, 1, sizeof(buf), f), h);
        fclose(f);
    }
    snprintf(out, 64, "%lld:%lld:%016llx", (long long)*size, (long long)*mtime,
             (unsigned long long)h);
    return 0;
}
