/*
 * gpu.h - the CUDA side of vidx (optional: the meson feature "cuda"): one
 * process-wide CUDA context, NVDEC decoding through libavcodec's CUDA hwaccel,
 * and the converter's scaling step as a CUDA kernel, all loaded at run time
 * (dlopen of libcuda through ffnvcodec's loader), so one binary runs with or
 * without a GPU.
 *
 * DESIGN
 * Where a video decodes is decided per sampler (media/sampler.c) from the
 * settings' hwaccel: "none" is the CPU; "auto" and "cuda" ask, in order, (1)
 * was vidx built with CUDA, (2) does NVDEC decode this stream (codec, chroma,
 * bit depth: vidx__gpu_stream_supported), (3) is there a usable device in this
 * process (vidx__gpu_ready: libcuda, libnvcuvid, cuInit, a device, libavcodec's
 * CUDA device context, the kernels). The first "no" is the reason the video
 * runs on the CPU, kept as "cpu (REASON)" and reported (frames JSON, run
 * summary, catalog). libavcodec can still refuse at decoder creation (NVDEC's
 * own capability check, decode sessions or GPU memory exhausted): get_format
 * then sees the CUDA format gone and the software decoder takes over, also
 * reported. With "cuda", any of these is an error (VIDX_ENOGPU) instead.
 *
 * The context, the device reference libavcodec decodes with, the loaded
 * kernels and the kernel's output buffer are created once per process and
 * reused for every video that process decodes (a vidx run worker keeps them
 * across its videos). CUDA does not survive fork: vidx run's supervisor only
 * ever calls vidx__gpu_loadable (dlopen, no cuInit); the workers initialise.
 *
 * Decoded pictures stay in GPU memory (AV_PIX_FMT_CUDA frames, NV12/P010/P016);
 * only the sampled ones are converted, and only the scaled 8-bit planes come
 * back (vidx__gpu_scale). The rest of the conversion (range, matrix to BT.601,
 * rotation, crop, pad) is media/convert.c's own code on the small planes, so
 * the semantics are the CPU path's by construction.
 */
#ifndef VIDX_GPU_GPU_H
#define VIDX_GPU_GPU_H

#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

/* 1 when this build has the CUDA code (meson -Dcuda), else 0. */
int vidx__gpu_built(void);

/* libcuda can be loaded (dlopen only, no cuInit: safe in a process that forks). 1, or 0 and why. */
int vidx__gpu_loadable(char *why, size_t size);

/*
 * This process's CUDA state, created on the first call and kept: 1 ready, or
 * 0 and why (e.g. "no CUDA driver: libcuda.so.1 not found").
 */
int vidx__gpu_ready(char *why, size_t size);

/* A new reference to the process's CUDA device context (for hw_device_ctx), or NULL. */
AVBufferRef *vidx__gpu_device_ref(void);

/* Does NVDEC, through libavcodec, decode this stream? 1, or 0 and why. */
int vidx__gpu_stream_supported(const AVCodecParameters *par, char *why, size_t size);

/* The frame's planes can go through vidx__gpu_scale (a CUDA frame of NV12, P010 or P016). */
int vidx__gpu_can_scale(const AVFrame *f);

/*
 * Scales a CUDA frame to 8-bit 4:2:0 planes of dw x dh in host memory (dst:
 * Y, U, V with their linesizes), by area averaging (area.h). 0, or a negative
 * code with a detail.
 */
int vidx__gpu_scale(const AVFrame *f, uint8_t *const dst[3], const int dst_ls[3], int dw, int dh);

/*
 * One plane by area averaging (area.h): the C reference of the kernel. src is
 * sw x sh samples (step, off: one component of an interleaved plane; wide:
 * 16-bit words), dst dw x dh bytes.
 */
void vidx__gpu_area_plane_ref(const uint8_t *src, ptrdiff_t pitch, int sw, int sh, int step,
                              int off, int wide, uint8_t *dst, ptrdiff_t dpitch, int dw, int dh);

/*
 * The same on the GPU, from and to host memory (the comparison test). 0, or
 * VIDX_ENOGPU (no GPU: why in the detail) or another negative code.
 */
int vidx__gpu_area_plane_run(const uint8_t *src, ptrdiff_t pitch, int sw, int sh, int step, int off,
                             int wide, uint8_t *dst, ptrdiff_t dpitch, int dw, int dh);

#endif /* VIDX_GPU_GPU_H */
