/*
 * gpu.c - the process's CUDA state (loader, context, kernels), the NVDEC
 * support rules and the GPU scaling step: see gpu.h for the design.
 */
#include "gpu/gpu.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>

#include "core/internal.h"

/* What NVDEC decodes through libavcodec: codecs, and the bit depths per codec (4:2:0 only). */
static int nvdec_codec(enum AVCodecID id, int *max_depth)
{
    switch (id) {
    case AV_CODEC_ID_HEVC:
    case AV_CODEC_ID_VP9:
    case AV_CODEC_ID_AV1:
        *max_depth = 12;
        return 1;
    case AV_CODEC_ID_H264: /* NVDEC has no High 10 */
    case AV_CODEC_ID_MPEG1VIDEO:
    case AV_CODEC_ID_MPEG2VIDEO:
    case AV_CODEC_ID_MPEG4:
    case AV_CODEC_ID_VC1:
    case AV_CODEC_ID_WMV3:
    case AV_CODEC_ID_VP8:
        *max_depth = 8;
        return 1;
    default:
        return 0;
    }
}

int vidx__gpu_stream_supported(const AVCodecParameters *par, char *why, size_t size)
{
    const AVCodecDescriptor *cd = avcodec_descriptor_get(par->codec_id);
    const char *name = cd ? cd->name : "this codec";
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(par->format);
    int max_depth;
    if (!nvdec_codec(par->codec_id, &max_depth)) {
        snprintf(why, size, "NVDEC does not decode %s", name);
        return 0;
    }
    if (!d) /* unknown until decoded: let libavcodec's own check decide */
        return 1;
    if (d->nb_components < 3 || d->log2_chroma_w != 1 || d->log2_chroma_h != 1) {
        snprintf(why, size, "NVDEC does not decode %s %s (4:2:0 only here)", name, d->name);
        return 0;
    }
    if (d->comp[0].depth > max_depth) {
        snprintf(why, size, "NVDEC does not decode %d-bit %s", d->comp[0].depth, name);
        return 0;
    }
    return 1;
}

int vidx__gpu_can_scale(const AVFrame *f)
{
    if (f->format != AV_PIX_FMT_CUDA || !f->hw_frames_ctx)
        return 0;
    const AVHWFramesContext *fc = (const AVHWFramesContext *)f->hw_frames_ctx->data;
    return fc->sw_format == AV_PIX_FMT_NV12 || fc->sw_format == AV_PIX_FMT_P010 ||
           fc->sw_format == AV_PIX_FMT_P016;
}

#if VIDX_HAVE_CUDA

static char load_msg[128];

static void loader_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(load_msg, sizeof(load_msg), fmt, ap);
    va_end(ap);
    load_msg[strcspn(load_msg, "\n")] = 0;
}

#define FFNV_LOG_FUNC(logctx, msg, ...) loader_log((msg), __VA_ARGS__)
#define FFNV_DEBUG_LOG_FUNC(logctx, msg, ...)
#include <ffnvcodec/dynlink_loader.h>
#include <libavutil/hwcontext.h>
#include <libavutil/hwcontext_cuda.h>

extern const char vidx__gpu_ptx[]; /* scale.ptx, embedded by the build */

static struct {
    pthread_once_t once;
    int ok;
    char why[192];
    CudaFunctions *cu;
    AVBufferRef *dev;
    CUcontext ctx;
    CUstream stream;
    CUmodule mod;
    CUfunction fn;
    pthread_mutex_t lock; /* the output buffer and the stream */
    CUdeviceptr buf;
    size_t buf_size;
} g = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER};

int vidx__gpu_built(void)
{
    return 1;
}

int vidx__gpu_loadable(char *why, size_t size)
{
    CudaFunctions *cu = NULL;
    if (cuda_load_functions(&cu, NULL) < 0) {
        snprintf(why, size, "no CUDA driver: %s", load_msg);
        return 0;
    }
    cuda_free_functions(&cu);
    return 1;
}

static const char *cu_error(CUresult r)
{
    const char *s = NULL;
    if (g.cu && g.cu->cuGetErrorName)
        g.cu->cuGetErrorName(r, &s);
    return s ? s : "unknown CUDA error";
}

static void init_once(void)
{
    CuvidFunctions *cuvid = NULL;
    int n = 0, ret;
    CUresult r;
    CUcontext dummy;
    if (cuda_load_functions(&g.cu, NULL) < 0) {
        snprintf(g.why, sizeof(g.why), "no CUDA driver: %s", load_msg);
        return;
    }
    if (cuvid_load_functions(&cuvid, NULL) < 0) {
        snprintf(g.why, sizeof(g.why), "no NVDEC: %s", load_msg);
        return;
    }
    cuvid_free_functions(&cuvid);
    if ((r = g.cu->cuInit(0)) != CUDA_SUCCESS || (r = g.cu->cuDeviceGetCount(&n)) != CUDA_SUCCESS) {
        snprintf(g.why, sizeof(g.why), "no CUDA device: cuInit: %s", cu_error(r));
        return;
    }
    if (n < 1) {
        snprintf(g.why, sizeof(g.why), "no CUDA device");
        return;
    }
    ret = av_hwdevice_ctx_create(&g.dev, AV_HWDEVICE_TYPE_CUDA, NULL, NULL,
                                 AV_CUDA_USE_PRIMARY_CONTEXT);
    if (ret < 0) {
        snprintf(g.why, sizeof(g.why), "FFmpeg cannot open the CUDA device: %s", av_err2str(ret));
        return;
    }
    AVCUDADeviceContext *hw = ((AVHWDeviceContext *)g.dev->data)->hwctx;
    g.ctx = hw->cuda_ctx;
    g.stream = hw->stream;
    if ((r = g.cu->cuCtxPushCurrent(g.ctx)) != CUDA_SUCCESS) {
        snprintf(g.why, sizeof(g.why), "CUDA context: %s", cu_error(r));
        return;
    }
    if ((r = g.cu->cuModuleLoadData(&g.mod, vidx__gpu_ptx)) != CUDA_SUCCESS ||
        (r = g.cu->cuModuleGetFunction(&g.fn, g.mod, "vidx_area_plane")) != CUDA_SUCCESS)
        snprintf(g.why, sizeof(g.why), "loading vidx's kernels: %s", cu_error(r));
    else
        g.ok = 1;
    g.cu->cuCtxPopCurrent(&dummy);
}

int vidx__gpu_ready(char *why, size_t size)
{
    pthread_once(&g.once, init_once);
    if (!g.ok)
        snprintf(why, size, "%s", g.why);
    return g.ok;
}

AVBufferRef *vidx__gpu_device_ref(void)
{
    return g.ok ? av_buffer_ref(g.dev) : NULL;
}

/* Grows the device buffer to size bytes (under g.lock, context current). */
static CUresult ensure_buffer(size_t size)
{
    CUresult r;
    if (g.buf_size >= size)
        return CUDA_SUCCESS;
    if (g.buf)
        g.cu->cuMemFree(g.buf);
    g.buf = 0;
    g.buf_size = 0;
    if ((r = g.cu->cuMemAlloc(&g.buf, size)) == CUDA_SUCCESS)
        g.buf_size = size;
    return r;
}

static CUresult launch(CUdeviceptr src, long long pitch, int sw, int sh, int step, int off,
                       int wide, CUdeviceptr dst, long long dpitch, int dw, int dh)
{
    void *args[] = {&src, &pitch, &sw, &sh, &step, &off, &wide, &dst, &dpitch, &dw, &dh};
    unsigned bx = 32, by = 8;
    return g.cu->cuLaunchKernel(g.fn, ((unsigned)dw + bx - 1) / bx, ((unsigned)dh + by - 1) / by, 1,
                                bx, by, 1, 0, g.stream, args, NULL);
}

static CUresult download(CUdeviceptr src, size_t spitch, uint8_t *dst, size_t dpitch, size_t w,
                         size_t h)
{
    CUDA_MEMCPY2D m = {0};
    m.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    m.srcDevice = src;
    m.srcPitch = spitch;
    m.dstMemoryType = CU_MEMORYTYPE_HOST;
    m.dstHost = dst;
    m.dstPitch = dpitch;
    m.WidthInBytes = w;
    m.Height = h;
    return g.cu->cuMemcpy2DAsync(&m, g.stream);
}

int vidx__gpu_scale(const AVFrame *f, uint8_t *const dst[3], const int dst_ls[3], int dw, int dh)
{
    if (!g.ok || !vidx__gpu_can_scale(f))
        return vidx__detail(VIDX_EUSAGE, "not a picture the GPU converter takes");
    const AVHWFramesContext *fc = (const AVHWFramesContext *)f->hw_frames_ctx->data;
    int wide = fc->sw_format != AV_PIX_FMT_NV12;
    int cw = (dw + 1) / 2, ch = (dh + 1) / 2, icw = (f->width + 1) / 2, ich = (f->height + 1) / 2;
    size_t ysize = (size_t)dw * dh, csize = (size_t)cw * ch;
    CUdeviceptr y = (CUdeviceptr)(uintptr_t)f->data[0], uv = (CUdeviceptr)(uintptr_t)f->data[1];
    CUcontext dummy;
    CUresult r;
    pthread_mutex_lock(&g.lock);
    if ((r = g.cu->cuCtxPushCurrent(g.ctx)) != CUDA_SUCCESS) {
        pthread_mutex_unlock(&g.lock);
        return vidx__detail(VIDX_EDECODE, "CUDA context: %s", cu_error(r));
    }
    if ((r = ensure_buffer(ysize + 2 * csize)) == CUDA_SUCCESS &&
        (r = launch(y, f->linesize[0], f->width, f->height, 1, 0, wide, g.buf, dw, dw, dh)) ==
            CUDA_SUCCESS &&
        (r = launch(uv, f->linesize[1], icw, ich, 2, 0, wide, g.buf + ysize, cw, cw, ch)) ==
            CUDA_SUCCESS &&
        (r = launch(uv, f->linesize[1], icw, ich, 2, 1, wide, g.buf + ysize + csize, cw, cw, ch)) ==
            CUDA_SUCCESS &&
        (r = download(g.buf, dw, dst[0], dst_ls[0], dw, dh)) == CUDA_SUCCESS &&
        (r = download(g.buf + ysize, cw, dst[1], dst_ls[1], cw, ch)) == CUDA_SUCCESS &&
        (r = download(g.buf + ysize + csize, cw, dst[2], dst_ls[2], cw, ch)) == CUDA_SUCCESS)
        r = g.cu->cuStreamSynchronize(g.stream);
    g.cu->cuCtxPopCurrent(&dummy);
    pthread_mutex_unlock(&g.lock);
    return r == CUDA_SUCCESS ? 0 : vidx__detail(VIDX_EDECODE, "GPU scaling: %s", cu_error(r));
}

int vidx__gpu_area_plane_run(const uint8_t *src, ptrdiff_t pitch, int sw, int sh, int step, int off,
                             int wide, uint8_t *dst, ptrdiff_t dpitch, int dw, int dh)
{
    char why[192];
    CUdeviceptr in = 0, out = 0;
    CUcontext dummy;
    CUresult r;
    if (!vidx__gpu_ready(why, sizeof(why)))
        return vidx__detail(VIDX_ENOGPU, "%s", why);
    pthread_mutex_lock(&g.lock);
    if ((r = g.cu->cuCtxPushCurrent(g.ctx)) != CUDA_SUCCESS) {
        pthread_mutex_unlock(&g.lock);
        return vidx__detail(VIDX_EDECODE, "CUDA context: %s", cu_error(r));
    }
    if ((r = g.cu->cuMemAlloc(&in, (size_t)pitch * sh)) == CUDA_SUCCESS &&
        (r = g.cu->cuMemAlloc(&out, (size_t)dw * dh)) == CUDA_SUCCESS &&
        (r = g.cu->cuMemcpyHtoD(in, src, (size_t)pitch * sh)) == CUDA_SUCCESS &&
        (r = launch(in, pitch, sw, sh, step, off, wide, out, dw, dw, dh)) == CUDA_SUCCESS &&
        (r = download(out, dw, dst, dpitch, dw, dh)) == CUDA_SUCCESS)
        r = g.cu->cuStreamSynchronize(g.stream);
    if (in)
        g.cu->cuMemFree(in);
    if (out)
        g.cu->cuMemFree(out);
    g.cu->cuCtxPopCurrent(&dummy);
    pthread_mutex_unlock(&g.lock);
    return r == CUDA_SUCCESS ? 0 : vidx__detail(VIDX_EDECODE, "GPU kernel: %s", cu_error(r));
}

#else /* built without CUDA */

int vidx__gpu_built(void)
{
    return 0;
}

int vidx__gpu_loadable(char *why, size_t size)
{
    snprintf(why, size, "vidx was built without CUDA");
    return 0;
}

int vidx__gpu_ready(char *why, size_t size)
{
    return vidx__gpu_loadable(why, size);
}

AVBufferRef *vidx__gpu_device_ref(void)
{
    return NULL;
}

int vidx__gpu_scale(const AVFrame *f, uint8_t *const dst[3], const int dst_ls[3], int dw, int dh)
{
    (void)f, (void)dst, (void)dst_ls, (void)dw, (void)dh;
    return vidx__detail(VIDX_ENOGPU, "vidx was built without CUDA");
}

int vidx__gpu_area_plane_run(const uint8_t *src, ptrdiff_t pitch, int sw, int sh, int step, int off,
                             int wide, uint8_t *dst, ptrdiff_t dpitch, int dw, int dh)
{
    (void)src, (void)pitch, (void)sw, (void)sh, (void)step, (void)off, (void)wide, (void)dst;
    (void)dpitch, (void)dw, (void)dh;
    return vidx__detail(VIDX_ENOGPU, "vidx was built without CUDA");
}

#endif
