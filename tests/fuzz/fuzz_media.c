/*
 * fuzz_media.c - libFuzzer harness for the media path: vidx_source_open,
 * vidx_source_probe_json, the planner (vidx_sampler_open) and decoding
 * (vidx_sampler_next) on arbitrary bytes. The public API takes a path, so the
 * input is written to a memfd and opened as /proc/self/fd/N: a regular file,
 * which goes through the same safe open (protocol and demuxer whitelists) as a
 * file on disk. The last byte picks the request (mode, pixel layout, fit,
 * approx, exact frame count) and the one before it the audio (decoded from
 * the same read when its low bit is set, at one of four rates, mono or
 * stereo), so one corpus reaches every planner mode. Limits
 * are kept small (max_pixels, max_frames, count) so each execution is fast.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vidx/vidx.h"

static int memfd_path(const uint8_t *data, size_t size, char *path, size_t cap)
{
    int fd = memfd_create("vidx-fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

static void sampler_settings(VidxSamplerSettings *s, uint8_t cfg)
{
    static const double times[] = {0.0, 0.05, 0.1, 1e9, -1.0};
    static const int64_t indices[] = {0, 1, 3, -1, -2};
    vidx_sampler_default_settings(s);
    s->mode = (VidxMode)(cfg % 5);
    s->count = 1 + (cfg >> 3) % 4;
    s->fps = 5.0;
    s->times = times;
    s->n_times = 1 + (cfg >> 3) % 5;
    s->indices = indices;
    s->n_indices = 1 + (cfg >> 3) % 5;
    s->approx = (cfg >> 5) & 1;
    s->threads = 1;
    s->pixel = (VidxPixel)((cfg >> 6) % 3);
    s->max_side = 16;
    s->fit = (VidxFit)((cfg >> 4) % 3);
    if (cfg & 0x80) {
        s->width = 12;
        s->height = 10;
    }
    s->max_frames = 8;
}

static int on_audio(void *opaque, const int16_t *samples, int n)
{
    int64_t *sum = opaque;
    for (int i = 0; i < n; i++)
        *sum += samples[i];
    return 0;
}

static void sample(VidxSource *src, uint8_t cfg, uint8_t cfg2)
{
    static const int rates[] = {8000, 16000, 44100, 11025};
    VidxSamplerSettings ss;
    VidxSampler *smp = NULL;
    const VidxFrame *f;
    char md5[33];
    int64_t sum = 0;
    VidxAudioSettings as = {.enabled = cfg2 & 1,
                            .sample_rate = rates[(cfg2 >> 1) & 3],
                            .channels = 1 + ((cfg2 >> 3) & 1),
                            .callback = on_audio,
                            .opaque = &sum};
    sampler_settings(&ss, cfg);
    if (vidx_sampler_open2(&smp, src, &ss, &as) < 0)
        return;
    for (int i = 0; i < 16 && vidx_sampler_next(smp, &f) > 0; i++) {
        if (f->pixel == VIDX_PIXEL_NATIVE)
            vidx_frame_md5(f, md5);
        else
            (void)vidx_frame_phash(f);
    }
    VidxSamplerStats st;
    vidx_sampler_stats(smp, &st);
    vidx_sampler_close(&smp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    char path[64];
    if (!init) {
        vidx_set_log_level(0);
        init = 1;
    }
    if (size == 0)
        return 0;
    uint8_t cfg = data[size - 1], cfg2 = size > 1 ? data[size - 2] : 0;
    int fd = memfd_path(data, size, path, sizeof(path));
    if (fd < 0)
        return 0;
    VidxSourceSettings s;
    vidx_source_default_settings(&s);
    s.max_pixels = 256 * 256;
    VidxSource *src = NULL;
    if (vidx_source_open(&src, path, &s) == 0) {
        char *json = NULL;
        if (vidx_source_probe_json(src, cfg & 1, &json) == 0)
            vidx_free(json);
        sample(src, cfg, cfg2);
        vidx_source_close(&src);
    }
    close(fd);
    return 0;
}
