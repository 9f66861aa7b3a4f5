/*
 * scale_ref.c - the C reference of the GPU converter's kernel (scale.cu):
 * the same arithmetic (area.h) on the CPU. tests/unit/test_gpu.c compares it
 * with swscale (the CPU path's scaler) and with the kernel when a GPU exists.
 */
#include "gpu/area.h"
#include "gpu/gpu.h"

void vidx__gpu_area_plane_ref(const uint8_t *src, ptrdiff_t pitch, int sw, int sh, int step,
                              int off, int wide, uint8_t *dst, ptrdiff_t dpitch, int dw, int dh)
{
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++)
            dst[(ptrdiff_t)y * dpitch + x] =
                vidx_area_sample(src, pitch, sw, sh, step, off, wide, dw, dh, x, y);
}
