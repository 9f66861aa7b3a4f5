/*
 * area.h - the arithmetic of the GPU converter's scaling step, shared by the
 * CUDA kernel (scale.cu) and its C reference (scale_ref.c).
 *
 * One output sample of a plane scaled from sw x sh to dw x dh by area (box)
 * averaging: output pixel x covers source [x*sw/dw, (x+1)*sw/dw), and each
 * source pixel counts by its overlap with that span. Everything is in integers
 * (spans in units of 1/dw and 1/dh of a source pixel), so the kernel and the
 * reference give the same bytes. Samples are 8-bit, or 16-bit little-endian
 * words holding the value in their top bits (P010/P016, as NVDEC writes them),
 * which come out as value / 256 rounded: 8 bits, like swscale's conversion.
 * step and off pick one component of an interleaved plane (NV12's UV: step 2,
 * off 0 for U and 1 for V).
 */
#ifndef VIDX_GPU_AREA_H
#define VIDX_GPU_AREA_H

#ifdef __CUDACC__
#define VIDX_AREA_FN __host__ __device__ static inline
#else
#define VIDX_AREA_FN static inline
#endif

VIDX_AREA_FN unsigned char vidx_area_sample(const unsigned char *src, long long pitch, int sw,
                                            int sh, int step, int off, int wide, int dw, int dh,
                                            int x, int y)
{
    long long lox = (long long)x * sw, hix = lox + sw;
    long long loy = (long long)y * sh, hiy = loy + sh;
    long long i0 = lox / dw, i1 = (hix - 1) / dw, j0 = loy / dh, j1 = (hiy - 1) / dh;
    unsigned long long acc = 0, den = (unsigned long long)sw * (unsigned long long)sh;
    for (long long j = j0; j <= j1; j++) {
        long long a = loy > j * dh ? loy : j * dh, b = hiy < (j + 1) * dh ? hiy : (j + 1) * dh;
        const unsigned char *row = src + j * pitch;
        unsigned long long racc = 0;
        for (long long i = i0; i <= i1; i++) {
            long long c = lox > i * dw ? lox : i * dw, d = hix < (i + 1) * dw ? hix : (i + 1) * dw;
            long long k = i * step + off;
            unsigned v = wide ? (unsigned)row[2 * k] | (unsigned)row[2 * k + 1] << 8 : row[k];
            racc += (unsigned long long)(d - c) * v;
        }
        acc += (unsigned long long)(b - a) * racc;
    }
    if (wide)
        den <<= 8;
    unsigned long long r = (acc + den / 2) / den;
    return (unsigned char)(r > 255 ? 255 : r);
}

#endif /* VIDX_GPU_AREA_H */
