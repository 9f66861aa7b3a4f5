/*
 * scale.cu - the GPU converter's kernel: one plane (or one component of an
 * interleaved plane) of a decoded picture in GPU memory, scaled by area
 * averaging to an 8-bit plane (see area.h; scale_ref.c is its C reference).
 *
 * Built to PTX, checked in as scale.ptx and embedded in the library (gpu.c
 * loads it through the CUDA driver API at run time). Regenerate with
 * scripts/gen_ptx.sh (nvcc from CUDA 13: the command is in that script).
 */
#include "area.h"

extern "C" __global__ void vidx_area_plane(const unsigned char *src, long long pitch, int sw,
                                           int sh, int step, int off, int wide,
                                           unsigned char *dst, long long dpitch, int dw, int dh)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= dw || y >= dh)
        return;
    dst[(long long)y * dpitch + x] = vidx_area_sample(src, pitch, sw, sh, step, off, wide, dw, dh, x, y);
}
