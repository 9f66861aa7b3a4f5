/*
 * convert.c - decoded picture to display-oriented output planes.
 *
 * One swscale call does scaling, bit depth (10-bit and up to 8-bit) and range
 * (limited to full for JPEG). Rotation, crop and pad are then one copy of the
 * scaled planes ("place"), skipped when there is nothing to do. JPEG wants
 * BT.601 full-range YCbCr; swscale does not change the matrix between two YUV
 * formats, so BT.709/BT.2020 sources get a small matrix fix on the scaled
 * planes (luma takes a chroma term; chroma is a 2x2 mix) instead of a round
 * trip through RGB. RGB output lets swscale apply the source matrix itself.
 *
 * A picture decoded on the GPU (AV_PIX_FMT_CUDA, gpu/gpu.h) has its scaling
 * step done there (vidx__gpu_scale: area averaging, 8-bit 4:2:0 straight into
 * the scaled planes); everything after it is the same code as for the CPU's
 * pictures, on the small planes. RGB output, or a GPU picture the kernel does
 * not take, is downloaded whole and goes through swscale.
 */
#include "media/convert.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "gpu/gpu.h"

struct VidxConvert {
    VidxVideoInfo vi;
    VidxSamplerSettings set;
    struct SwsContext *sws;
    /* Geometry for the current input size. */
    int in_w, in_h, in_fmt;
    int sw, sh;       /* scaled size, pre-rotation */
    int out_w, out_h; /* final canvas */
    int reg_x, reg_y; /* top-left of the visible region in the rotated scaled image */
    int reg_w, reg_h; /* visible region size */
    int off_x, off_y; /* where the region lands on the canvas */
    int direct;       /* scaled buffer is the output */
    uint8_t *scaled[4];
    int scaled_ls[4];
    uint8_t *canvas[4];
    int canvas_ls[4];
    uint8_t *planar[4]; /* RGB output from YUV: swscale's G, B, R planes, then packed */
    int planar_ls[4];
    AVFrame *host; /* a GPU picture downloaded, when the GPU does not scale it */
};

static int output_is_rgb(const VidxConvert *c)
{
    return c->set.pixel == VIDX_PIXEL_RGB24;
}

static int even_round(double v)
{
    int r = (int)lrint(v);
    return r < 1 ? 1 : r;
}

/* Computes scaled size, canvas and region for display size dw x dh (post-rotation). */
static void plan_geometry(VidxConvert *c, int dw, int dh)
{
    const VidxSamplerSettings *s = &c->set;
    int rw = dw, rh = dh; /* rotated scaled size */
    c->reg_x = c->reg_y = c->off_x = c->off_y = 0;
    if (s->width > 0 && s->height > 0) {
        double sx = (double)s->width / dw, sy = (double)s->height / dh;
        if (s->fit == VIDX_FIT_STRETCH) {
            rw = s->width;
            rh = s->height;
        } else {
            double k = s->fit == VIDX_FIT_CROP ? fmax(sx, sy) : fmin(sx, sy);
            rw = VIDX_MIN(even_round(dw * k), s->fit == VIDX_FIT_PAD ? s->width : 1 << 30);
            rh = VIDX_MIN(even_round(dh * k), s->fit == VIDX_FIT_PAD ? s->height : 1 << 30);
        }
        c->out_w = s->width;
        c->out_h = s->height;
    } else if (s->max_side > 0) {
        double k = (double)s->max_side / VIDX_MAX(dw, dh);
        rw = even_round(dw * k);
        rh = even_round(dh * k);
        c->out_w = rw;
        c->out_h = rh;
    } else {
        c->out_w = rw;
        c->out_h = rh;
    }
    c->reg_w = VIDX_MIN(rw, c->out_w);
    c->reg_h = VIDX_MIN(rh, c->out_h);
    c->reg_x = (rw - c->reg_w) / 2;
    c->reg_y = (rh - c->reg_h) / 2;
    c->off_x = (c->out_w - c->reg_w) / 2;
    c->off_y = (c->out_h - c->reg_h) / 2;
    if (c->set.pixel == VIDX_PIXEL_YUV420_JPEG) { /* keep chroma siting on even offsets */
        c->reg_x &= ~1;
        c->reg_y &= ~1;
        c->off_x &= ~1;
        c->off_y &= ~1;
    }
    int rot90 = c->vi.rotation % 180 != 0;
    c->sw = rot90 ? rh : rw;
    c->sh = rot90 ? rw : rh;
    c->direct =
        c->vi.rotation == 0 && c->reg_w == rw && c->reg_h == rh && c->out_w == rw && c->out_h == rh;
}

static void free_buffers(VidxConvert *c)
{
    av_freep(&c->scaled[0]);
    av_freep(&c->canvas[0]);
    av_freep(&c->planar[0]);
}

/*
 * RGB from a YUV picture goes through planar GBR: swscale's planar RGB writer
 * does the same arithmetic as its packed one (same filters, same
 * fixed-point matrix, same rounding: bit-identical), but has SIMD (AVX2) where
 * the packed full-chroma writer is plain C, about 4x slower. The planes are
 * then interleaved. Other sources (RGB, palette, gray) keep the direct path.
 */
static int via_planar(const VidxConvert *c, enum AVPixelFormat in)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(in);
    return c->set.pixel == VIDX_PIXEL_RGB24 && d && d->nb_components >= 3 &&
           !(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL));
}

static int alloc_planes(uint8_t *data[4], int ls[4], int w, int h, enum AVPixelFormat fmt)
{
    int ret = av_image_alloc(data, ls, w, h, fmt, 32);
    return ret < 0 ? ret : 0;
}

static enum AVPixelFormat out_av_format(const VidxConvert *c)
{
    return output_is_rgb(c) ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_YUV420P;
}

/* Clears the canvas to black (pad bars). */
static void clear_canvas(VidxConvert *c)
{
    if (output_is_rgb(c)) {
        for (int y = 0; y < c->out_h; y++)
            memset(c->canvas[0] + (size_t)y * c->canvas_ls[0], 0, (size_t)c->out_w * 3);
        return;
    }
    int cw = (c->out_w + 1) / 2, ch = (c->out_h + 1) / 2;
    for (int y = 0; y < c->out_h; y++)
        memset(c->canvas[0] + (size_t)y * c->canvas_ls[0], 0, (size_t)c->out_w);
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < ch; y++)
            memset(c->canvas[p] + (size_t)y * c->canvas_ls[p], 128, (size_t)cw);
}

static int setup(VidxConvert *c, const AVFrame *f)
{
    int dw = f->width, dh = f->height;
    if (c->vi.sar_num != c->vi.sar_den)
        dw = VIDX_MAX(1, (int)av_rescale(f->width, c->vi.sar_num, c->vi.sar_den));
    if (c->vi.rotation % 180) {
        int t = dw;
        dw = dh;
        dh = t;
    }
    free_buffers(c);
    plan_geometry(c, dw, dh);
    int ret = alloc_planes(c->scaled, c->scaled_ls, c->sw, c->sh, out_av_format(c));
    if (ret >= 0 && via_planar(c, f->format))
        ret = alloc_planes(c->planar, c->planar_ls, c->sw, c->sh, AV_PIX_FMT_GBRP);
    if (ret >= 0 && !c->direct) {
        ret = alloc_planes(c->canvas, c->canvas_ls, c->out_w, c->out_h, out_av_format(c));
        if (ret >= 0)
            clear_canvas(c);
    }
    if (ret < 0)
        return ret;
    c->in_w = f->width;
    c->in_h = f->height;
    c->in_fmt = f->format;
    return 0;
}

static int sws_colorspace(enum AVColorSpace cs)
{
    switch (cs) {
    case AVCOL_SPC_BT709:
        return SWS_CS_ITU709;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
        return SWS_CS_BT2020;
    case AVCOL_SPC_SMPTE240M:
        return SWS_CS_SMPTE240M;
    case AVCOL_SPC_FCC:
        return SWS_CS_FCC;
    default:
        return SWS_CS_ITU601;
    }
}

int vidx__convert_full_range(const AVFrame *f)
{
    if (f->color_range == AVCOL_RANGE_JPEG)
        return 1;
    switch (f->format) { /* deprecated J formats are full range by definition */
    case AV_PIX_FMT_YUVJ420P:
    case AV_PIX_FMT_YUVJ422P:
    case AV_PIX_FMT_YUVJ444P:
    case AV_PIX_FMT_YUVJ440P:
    case AV_PIX_FMT_YUVJ411P:
        return 1;
    }
    return 0;
}

/* The G, B, R planes into the packed RGB buffer. */
static void interleave(VidxConvert *c)
{
    for (int y = 0; y < c->sh; y++) {
        const uint8_t *g = c->planar[0] + (size_t)y * c->planar_ls[0];
        const uint8_t *b = c->planar[1] + (size_t)y * c->planar_ls[1];
        const uint8_t *r = c->planar[2] + (size_t)y * c->planar_ls[2];
        uint8_t *d = c->scaled[0] + (size_t)y * c->scaled_ls[0];
        for (int x = 0; x < c->sw; x++, d += 3) {
            d[0] = r[x];
            d[1] = g[x];
            d[2] = b[x];
        }
    }
}

static int scale(VidxConvert *c, const AVFrame *f)
{
    int flags = SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP;
    int planar = c->planar[0] != NULL;
    c->sws =
        sws_getCachedContext(c->sws, f->width, f->height, f->format, c->sw, c->sh,
                             planar ? AV_PIX_FMT_GBRP : out_av_format(c), flags, NULL, NULL, NULL);
    if (!c->sws) /* e.g. a ratio swscale does not do: 1x1 to 8000x8000 */
        return vidx__detail(VIDX_EUSAGE,
                            "FFmpeg's scaler cannot make %dx%d from this %dx%d picture", c->sw,
                            c->sh, f->width, f->height);
    const int *src_tab = sws_getCoefficients(sws_colorspace(f->colorspace));
    /* Same table both sides: swscale never converts the matrix between YUV formats anyway. */
    sws_setColorspaceDetails(c->sws, src_tab, vidx__convert_full_range(f),
                             output_is_rgb(c) ? sws_getCoefficients(SWS_CS_ITU601) : src_tab, 1, 0,
                             1 << 16, 1 << 16);
    int h = sws_scale(c->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height,
                      planar ? c->planar : c->scaled, planar ? c->planar_ls : c->scaled_ls);
    if (h > 0 && planar)
        interleave(c);
    return h > 0 ? 0 : VIDX_EDECODE;
}

/* Kr/Kb of the source matrix, or 0 when it already is BT.601. */
static int matrix_constants(enum AVColorSpace cs, double *kr, double *kb)
{
    switch (cs) {
    case AVCOL_SPC_BT709:
        *kr = 0.2126, *kb = 0.0722;
        return 1;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
        *kr = 0.2627, *kb = 0.0593;
        return 1;
    default:
        return 0;
    }
}

static uint8_t clip8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Range expansion tables: identity for full-range input. */
static void range_luts(int full, uint8_t luty[256], uint8_t lutc[256])
{
    for (int i = 0; i < 256; i++) {
        luty[i] = full ? (uint8_t)i : clip8((int)lrint((i - 16) * 255.0 / 219.0));
        lutc[i] = full ? (uint8_t)i : clip8((int)lrint((i - 128) * 255.0 / 224.0 + 128.0));
    }
}

static void apply_luts(VidxConvert *c, const uint8_t luty[256], const uint8_t lutc[256])
{
    int cw = (c->sw + 1) / 2, ch = (c->sh + 1) / 2;
    for (int y = 0; y < c->sh; y++) {
        uint8_t *l = c->scaled[0] + (size_t)y * c->scaled_ls[0];
        for (int x = 0; x < c->sw; x++)
            l[x] = luty[l[x]];
    }
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < ch; y++) {
            uint8_t *l = c->scaled[p] + (size_t)y * c->scaled_ls[p];
            for (int x = 0; x < cw; x++)
                l[x] = lutc[l[x]];
        }
}

/*
 * YCbCr in matrix (kr, kb), full or limited range, to full-range BT.601 in
 * place on the 4:2:0 scaled planes. Derived through RGB: Y' = Y + a*Cb + b*Cr
 * and (Cb', Cr') = M (Cb, Cr); coefficients in 1/65536.
 */
static void fix_matrix(VidxConvert *c, double kr, double kb, const uint8_t luty[256],
                       const uint8_t lutc[256])
{
    const double kr6 = 0.299, kb6 = 0.114, kg = 1 - kr - kb, kg6 = 1 - kr6 - kb6;
    /* R = Y + cr_r*Cr; B = Y + cb_b*Cb; G = Y - (kb*cb_b*Cb + kr*cr_r*Cr)/kg */
    double cr_r = 2 * (1 - kr), cb_b = 2 * (1 - kb);
    double g_cb = -kb * cb_b / kg, g_cr = -kr * cr_r / kg;
    /* Y601 = kr6 R + kg6 G + kb6 B */
    double ya = kg6 * g_cb + kb6 * cb_b, yb = kr6 * cr_r + kg6 * g_cr;
    /* Cb601 = (B - Y601) / (2(1-kb6)), Cr601 = (R - Y601) / (2(1-kr6)) */
    double m00 = (cb_b - ya) / (2 * (1 - kb6)), m01 = -yb / (2 * (1 - kb6));
    double m10 = -ya / (2 * (1 - kr6)), m11 = (cr_r - yb) / (2 * (1 - kr6));
    int ia = (int)lrint(ya * 65536), ib = (int)lrint(yb * 65536);
    int i00 = (int)lrint(m00 * 65536), i01 = (int)lrint(m01 * 65536);
    int i10 = (int)lrint(m10 * 65536), i11 = (int)lrint(m11 * 65536);
    int cw = (c->sw + 1) / 2, ch = (c->sh + 1) / 2;

    for (int y = 0; y < c->sh; y++) { /* luma first: it reads the unconverted chroma */
        uint8_t *yl = c->scaled[0] + (size_t)y * c->scaled_ls[0];
        const uint8_t *u = c->scaled[1] + (size_t)(y / 2) * c->scaled_ls[1];
        const uint8_t *v = c->scaled[2] + (size_t)(y / 2) * c->scaled_ls[2];
        for (int x = 0; x < c->sw; x++) {
            int cb = lutc[u[x / 2]] - 128, cr = lutc[v[x / 2]] - 128;
            yl[x] = clip8(luty[yl[x]] + ((ia * cb + ib * cr + 32768) >> 16));
        }
    }
    for (int y = 0; y < ch; y++) {
        uint8_t *u = c->scaled[1] + (size_t)y * c->scaled_ls[1];
        uint8_t *v = c->scaled[2] + (size_t)y * c->scaled_ls[2];
        for (int x = 0; x < cw; x++) {
            int cb = lutc[u[x]] - 128, cr = lutc[v[x]] - 128;
            u[x] = clip8(128 + ((i00 * cb + i01 * cr + 32768) >> 16));
            v[x] = clip8(128 + ((i10 * cb + i11 * cr + 32768) >> 16));
        }
    }
}

/* The scaled planes are YCbCr as the source had it: make them JPEG's (full range, BT.601). */
static void to_jfif(VidxConvert *c, const AVFrame *f)
{
    uint8_t luty[256], lutc[256];
    double kr, kb;
    int full = vidx__convert_full_range(f);
    range_luts(full, luty, lutc);
    if (matrix_constants(f->colorspace, &kr, &kb))
        fix_matrix(c, kr, kb, luty, lutc);
    else if (!full)
        apply_luts(c, luty, lutc);
}

/*
 * Copies region (rx, ry, rw, rh) of the source plane as seen after rotating it
 * clockwise by rot, to (ox, oy) of the destination. sw, sh: source plane size
 * before rotation; bpp: bytes per pixel.
 */
static void place_plane(const uint8_t *src, int sls, int sw, int sh, uint8_t *dst, int dls, int rot,
                        int rx, int ry, int rw, int rh, int ox, int oy, int bpp)
{
    for (int y = 0; y < rh; y++) {
        uint8_t *d = dst + (size_t)(oy + y) * dls + (size_t)ox * bpp;
        for (int x = 0; x < rw; x++) {
            int X = rx + x, Y = ry + y, sx, sy;
            switch (rot) {
            case 90:
                sx = Y, sy = sh - 1 - X;
                break;
            case 180:
                sx = sw - 1 - X, sy = sh - 1 - Y;
                break;
            case 270:
                sx = sw - 1 - Y, sy = X;
                break;
            default:
                sx = X, sy = Y;
            }
            memcpy(d + (size_t)x * bpp, src + (size_t)sy * sls + (size_t)sx * bpp, (size_t)bpp);
        }
    }
}

static void place(VidxConvert *c)
{
    int rot = c->vi.rotation;
    if (output_is_rgb(c)) {
        place_plane(c->scaled[0], c->scaled_ls[0], c->sw, c->sh, c->canvas[0], c->canvas_ls[0], rot,
                    c->reg_x, c->reg_y, c->reg_w, c->reg_h, c->off_x, c->off_y, 3);
        return;
    }
    place_plane(c->scaled[0], c->scaled_ls[0], c->sw, c->sh, c->canvas[0], c->canvas_ls[0], rot,
                c->reg_x, c->reg_y, c->reg_w, c->reg_h, c->off_x, c->off_y, 1);
    for (int p = 1; p < 3; p++)
        place_plane(c->scaled[p], c->scaled_ls[p], (c->sw + 1) / 2, (c->sh + 1) / 2, c->canvas[p],
                    c->canvas_ls[p], rot, c->reg_x / 2, c->reg_y / 2, (c->reg_w + 1) / 2,
                    (c->reg_h + 1) / 2, c->off_x / 2, c->off_y / 2, 1);
}

int vidx__convert_new(VidxConvert **out, const VidxVideoInfo *vi, const VidxSamplerSettings *s)
{
    VidxConvert *c = av_mallocz(sizeof(*c));
    *out = NULL;
    if (!c)
        return AVERROR(ENOMEM);
    c->vi = *vi;
    c->set = *s;
    c->in_fmt = -1;
    *out = c;
    return 0;
}

void vidx__convert_free(VidxConvert **pc)
{
    VidxConvert *c = pc ? *pc : NULL;
    if (!c)
        return;
    sws_freeContext(c->sws);
    free_buffers(c);
    av_frame_free(&c->host);
    av_free(c);
    *pc = NULL;
}

/* A GPU picture into c->host, with its colour properties. */
static int download(VidxConvert *c, const AVFrame *f)
{
    int ret;
    if (!c->host && !(c->host = av_frame_alloc()))
        return AVERROR(ENOMEM);
    av_frame_unref(c->host);
    if ((ret = av_hwframe_transfer_data(c->host, f, 0)) < 0)
        return ret;
    return av_frame_copy_props(c->host, f);
}

int vidx__convert_frame(VidxConvert *c, const AVFrame *f, VidxFrame *out)
{
    int ret;
    if (f->width != c->in_w || f->height != c->in_h || f->format != c->in_fmt) {
        if ((ret = setup(c, f)) < 0)
            return ret;
    }
    if (f->format == AV_PIX_FMT_CUDA && !output_is_rgb(c) && vidx__gpu_can_scale(f)) {
        if ((ret = vidx__gpu_scale(f, c->scaled, c->scaled_ls, c->sw, c->sh)) < 0)
            return ret;
    } else {
        if (f->format == AV_PIX_FMT_CUDA) { /* whole, then as the CPU's */
            if ((ret = download(c, f)) < 0)
                return ret;
            f = c->host;
        }
        if ((ret = scale(c, f)) < 0)
            return ret;
    }
    if (!output_is_rgb(c))
        to_jfif(c, f);
    if (!c->direct)
        place(c);
    uint8_t **planes = c->direct ? c->scaled : c->canvas;
    int *ls = c->direct ? c->scaled_ls : c->canvas_ls;
    out->width = c->out_w;
    out->height = c->out_h;
    out->pixel = c->set.pixel;
    out->nplanes = output_is_rgb(c) ? 1 : 3;
    for (int p = 0; p < 4; p++) {
        out->data[p] = p < out->nplanes ? planes[p] : NULL;
        out->linesize[p] = p < out->nplanes ? ls[p] : 0;
    }
    return 0;
}
