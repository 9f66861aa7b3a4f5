/*
 * fuzz_preset.c - libFuzzer harness for the transcode preset reader
 * (src/transcode/preset.c, vidx__tc_preset_parse): the bytes are a preset
 * file a user (or whoever wrote it) hands to vidx transcode --preset. Read
 * from a buffer of its own length. Properties: a preset that is accepted
 * has 1-8 renditions with distinct safe names (letters, digits, - and _:
 * they become file names), heights 16-4320 and even, and an HLS segment
 * length that is a whole number of GOPs; a refused one names a field.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "transcode/preset.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    TcPreset p;
    int ret = vidx__tc_preset_parse((const char *)data, size, "fuzz.json", &p);
    if (ret < 0) {
        if (ret != VIDX_EUSAGE || !*vidx_error_detail(ret))
            abort();
        return 0;
    }
    if (p.n < 1 || p.n > TC_MAX_RENDITIONS || !*p.name)
        abort();
    for (int i = 0; i < p.n; i++) {
        const char *n = p.r[i].name;
        if (!*n ||
            strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
                strlen(n) ||
            p.r[i].height < 16 || p.r[i].height > 4320 || p.r[i].height % 2)
            abort();
        for (int j = 0; j < i; j++)
            if (!strcmp(n, p.r[j].name))
                abort();
    }
    double k = p.segment_seconds / p.gop_seconds;
    if (p.hls && fabs(k - round(k)) > 1e-6)
        abort();
    return 0;
}
