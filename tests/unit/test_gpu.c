/*
 * test_gpu.c - the GPU converter's kernel (src/gpu/scale.cu) against its C
 * reference (src/gpu/scale_ref.c), and the reference against the CPU path's
 * scaler (swscale, as media/convert.c calls it), on real decoded pictures of
 * 8-bit and 10-bit clips made by FFmpeg's lavfi (testsrc2: sharp edges, the
 * worst case for a box filter against bicubic).
 *
 * Tolerances (docs/GPU.md states the same):
 *  - reference vs swscale, 8-bit 4:2:0 output planes: at the source size the
 *    bytes are identical; scaled down, the mean absolute difference of every
 *    plane is at most 2.5 and its PSNR at least 30 dB (area averaging against
 *    bicubic: they differ at edges, not in level);
 *  - kernel vs reference: identical bytes (integer arithmetic, area.h); runs
 *    only where a CUDA device is usable, else the test reports skip and why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "clip.h"
#include "core/internal.h"
#include "gpu/gpu.h"

static char dir8[256], clip8[300], dir10[256], clip10[300];

/* The clips are made by the tests that need them (the kernel test needs no ffmpeg). */
static int setup(void **state)
{
    (void)state;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return (dir8[0] ? clip_remove(dir8) : 0) | (dir10[0] ? clip_remove(dir10) : 0);
}

/* One decoded picture, as the decoder gave it (yuv420p or yuv420p10le). */
typedef struct Pic {
    int w, h, wide;
    const uint8_t *data[3];
    int ls[3];
} Pic;

/* A plane of 8-bit samples, packed. */
typedef struct Plane {
    int w, h;
    uint8_t *p;
} Plane;

/* NVDEC's layout of pic: NV12 (8-bit) or P010 (10-bit in the top bits of 16). */
static void to_semiplanar(const Pic *pic, uint8_t **y, int *yls, uint8_t **uv, int *uvls)
{
    int bps = pic->wide ? 2 : 1, cw = (pic->w + 1) / 2, ch = (pic->h + 1) / 2;
    *yls = pic->w * bps;
    *uvls = cw * 2 * bps;
    *y = malloc((size_t)*yls * pic->h);
    *uv = malloc((size_t)*uvls * ch);
    assert_non_null(*y);
    assert_non_null(*uv);
    for (int r = 0; r < pic->h; r++)
        for (int x = 0; x < pic->w; x++) {
            if (!pic->wide) {
                (*y)[r * *yls + x] = pic->data[0][r * pic->ls[0] + x];
                continue;
            }
            unsigned v = (unsigned)pic->data[0][r * pic->ls[0] + 2 * x] |
                         (unsigned)pic->data[0][r * pic->ls[0] + 2 * x + 1] << 8;
            v <<= 6;
            (*y)[r * *yls + 2 * x] = v & 255;
            (*y)[r * *yls + 2 * x + 1] = v >> 8;
        }
    for (int r = 0; r < ch; r++)
        for (int x = 0; x < cw; x++)
            for (int c = 0; c < 2; c++) {
                const uint8_t *s = pic->data[1 + c] + r * pic->ls[1 + c];
                uint8_t *d = *uv + r * *uvls;
                if (!pic->wide) {
                    d[2 * x + c] = s[x];
                    continue;
                }
                unsigned v = ((unsigned)s[2 * x] | (unsigned)s[2 * x + 1] << 8) << 6;
                d[2 * (2 * x + c)] = v & 255;
                d[2 * (2 * x + c) + 1] = v >> 8;
            }
}

static double compare(const uint8_t *a, const uint8_t *b, int w, int h, int als, int bls,
                      double *psnr, int *maxd)
{
    double sum = 0, sq = 0;
    *maxd = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int d = abs(a[y * als + x] - b[y * bls + x]);
            sum += d;
            sq += (double)d * d;
            *maxd = d > *maxd ? d : *maxd;
        }
    double mse = sq / ((double)w * h);
    *psnr = mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : 99;
    return sum / ((double)w * h);
}

/* The reference on pic at dw x dh against swscale as media/convert.c calls it. */
static void check_against_swscale(const Pic *pic, int dw, int dh)
{
    uint8_t *y, *uv, *sws_out[4], *ref[3];
    int yls, uvls, sws_ls[4], cw = (dw + 1) / 2, ch = (dh + 1) / 2;
    to_semiplanar(pic, &y, &yls, &uv, &uvls);
    int pw[3] = {dw, cw, cw}, ph[3] = {dh, ch, ch};
    for (int p = 0; p < 3; p++)
        assert_non_null(ref[p] = malloc((size_t)pw[p] * ph[p]));
    int icw = (pic->w + 1) / 2, ich = (pic->h + 1) / 2;
    vidx__gpu_area_plane_ref(y, yls, pic->w, pic->h, 1, 0, pic->wide, ref[0], dw, dw, dh);
    vidx__gpu_area_plane_ref(uv, uvls, icw, ich, 2, 0, pic->wide, ref[1], cw, cw, ch);
    vidx__gpu_area_plane_ref(uv, uvls, icw, ich, 2, 1, pic->wide, ref[2], cw, cw, ch);

    enum AVPixelFormat in = pic->wide ? AV_PIX_FMT_YUV420P10LE : AV_PIX_FMT_YUV420P;
    int flags = SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP;
    struct SwsContext *sws =
        sws_getContext(pic->w, pic->h, in, dw, dh, AV_PIX_FMT_YUV420P, flags, NULL, NULL, NULL);
    assert_non_null(sws);
    assert_true(av_image_alloc(sws_out, sws_ls, dw, dh, AV_PIX_FMT_YUV420P, 32) >= 0);
    assert_int_equal(sws_scale(sws, pic->data, pic->ls, 0, pic->h, sws_out, sws_ls), dh);
    for (int p = 0; p < 3; p++) {
        double psnr;
        int maxd;
        double mad = compare(ref[p], sws_out[p], pw[p], ph[p], pw[p], sws_ls[p], &psnr, &maxd);
        print_message("  %s %dx%d -> %dx%d plane %d: mean |d| %.3f, PSNR %.1f dB, max |d| %d\n",
                      pic->wide ? "10-bit" : "8-bit", pic->w, pic->h, dw, dh, p, mad, psnr, maxd);
        if (dw == pic->w && dh == pic->h && !pic->wide)
            assert_int_equal(maxd, 0);
        assert_true(mad <= 2.5);
        assert_true(psnr >= 30.0);
    }
    sws_freeContext(sws);
    av_freep(&sws_out[0]);
    for (int p = 0; p < 3; p++)
        free(ref[p]);
    free(y);
    free(uv);
}

/* Decodes the clip's picture at 0.5 s and runs fn on it. */
static void with_picture(const char *path, int wide, void (*fn)(const Pic *))
{
    VidxSource *src = NULL;
    VidxSampler *smp = NULL;
    VidxSamplerSettings set;
    const VidxFrame *f;
    double t = 0.5;
    assert_int_equal(vidx_source_open(&src, path, NULL), 0);
    vidx_sampler_default_settings(&set);
    set.mode = VIDX_MODE_TIMES;
    set.times = &t;
    set.n_times = 1;
    set.pixel = VIDX_PIXEL_NATIVE;
    assert_int_equal(vidx_sampler_open(&smp, src, &set), 0);
    assert_int_equal(vidx_sampler_next(smp, &f), 1);
    assert_string_equal(f->native_format, wide ? "yuv420p10le" : "yuv420p");
    Pic pic = {f->width,
               f->height,
               wide,
               {f->data[0], f->data[1], f->data[2]},
               {f->linesize[0], f->linesize[1], f->linesize[2]}};
    fn(&pic);
    vidx_sampler_close(&smp);
    vidx_source_close(&src);
}

static void sizes(const Pic *pic)
{
    static const int box[][2] = {{640, 360}, {320, 180}, {224, 224}, {213, 120}, {100, 56}};
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(box); i++)
        check_against_swscale(pic, box[i][0], box[i][1]);
}

/* The GPU machine's device check carries no ffmpeg (docs/GPU.md): there these two skip. */
static void need_ffmpeg(void)
{
    if (system("command -v ffmpeg >/dev/null 2>&1") != 0) {
        print_message("  skip: no ffmpeg to make the clips\n");
        skip();
    }
}

static void test_reference_vs_swscale_8bit(void **state)
{
    (void)state;
    need_ffmpeg();
    assert_int_equal(
        clip_make(dir8, sizeof(dir8), "/tmp/vidx-gpu-XXXXXX", clip8, sizeof(clip8),
                  "-f lavfi -i testsrc2=s=640x360:r=25:d=1 -c:v libx264 -pix_fmt yuv420p"),
        0);
    with_picture(clip8, 0, sizes);
}

static void test_reference_vs_swscale_10bit(void **state)
{
    (void)state;
    need_ffmpeg();
    assert_int_equal(
        clip_make(dir10, sizeof(dir10), "/tmp/vidx-gpu-XXXXXX", clip10, sizeof(clip10),
                  "-f lavfi -i testsrc2=s=640x360:r=25:d=1 -c:v libx264 -pix_fmt yuv420p10le"),
        0);
    with_picture(clip10, 1, sizes);
}

/* Kernel vs reference on one plane layout; 1 compared, 0 no GPU. */
static int kernel_vs_reference(const uint8_t *src, int pitch, int sw, int sh, int step, int off,
                               int wide, int dw, int dh)
{
    uint8_t *a = malloc((size_t)dw * dh), *b = malloc((size_t)dw * dh);
    assert_non_null(a);
    assert_non_null(b);
    vidx__gpu_area_plane_ref(src, pitch, sw, sh, step, off, wide, a, dw, dw, dh);
    int ret = vidx__gpu_area_plane_run(src, pitch, sw, sh, step, off, wide, b, dw, dw, dh);
    if (ret == VIDX_ENOGPU) {
        free(a);
        free(b);
        return 0;
    }
    assert_int_equal(ret, 0);
    assert_memory_equal(a, b, (size_t)dw * dh);
    free(a);
    free(b);
    return 1;
}

static void test_kernel_vs_reference(void **state)
{
    (void)state;
    char why[160] = "";
    if (!vidx__gpu_ready(why, sizeof(why))) {
        print_message("  skip: no GPU here (%s)\n", why);
        skip();
    }
    /* Every layout the converter launches (Y; U and V of NV12/P010), odd sizes, up and down. */
    int sw = 1921, sh = 1081, pitch = 2 * 2 * sw + 64;
    uint8_t *src = malloc((size_t)pitch * sh);
    assert_non_null(src);
    uint32_t x = 12345;
    for (size_t i = 0; i < (size_t)pitch * sh; i++)
        src[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
    static const int box[][2] = {{1921, 1081}, {640, 360}, {224, 224}, {3, 2}, {2500, 1500}};
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(box); i++)
        for (int wide = 0; wide < 2; wide++) {
            assert_true(kernel_vs_reference(src, pitch, sw, sh, 1, 0, wide, box[i][0], box[i][1]));
            assert_true(kernel_vs_reference(src, pitch, sw / 2, sh / 2, 2, 1, wide,
                                            box[i][0] / 2 + 1, box[i][1] / 2 + 1));
        }
    print_message("  kernel == reference on %zu sizes x 2 depths x 2 layouts\n",
                  VIDX_ARRAY_SIZE(box));
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_vs_reference), /* first: needs no ffmpeg (device check) */
        cmocka_unit_test(test_reference_vs_swscale_8bit),
        cmocka_unit_test(test_reference_vs_swscale_10bit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
