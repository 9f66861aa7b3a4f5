/*
 * phash.c - a 64-bit perceptual hash of a frame (difference hash).
 *
 * The luma (or grey, for RGB frames) is box-averaged down to 9x8 cells; bit
 * i is set when cell i is brighter than its right neighbour. Near-identical
 * frames (re-encodes, static scenes, small noise) land within a few bits of
 * each other; the Hamming distance is the similarity measure of --dedup.
 */
#include "core/internal.h"

static int gray_at(const VidxFrame *f, int x, int y)
{
    const uint8_t *row = f->data[0] + (size_t)y * f->linesize[0];
    if (f->pixel == VIDX_PIXEL_RGB24) {
        const uint8_t *p = row + (size_t)x * 3;
        return (p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8;
    }
    return row[x];
}

/* Mean of the cell [x0, x1) x [y0, y1), sampling at most 16x16 points. */
static int cell_mean(const VidxFrame *f, int x0, int x1, int y0, int y1)
{
    int sx = VIDX_MAX(1, (x1 - x0) / 16), sy = VIDX_MAX(1, (y1 - y0) / 16);
    long sum = 0, n = 0;
    for (int y = y0; y < y1; y += sy)
        for (int x = x0; x < x1; x += sx, n++)
            sum += gray_at(f, x, y);
    return n ? (int)(sum / n) : 0;
}

uint64_t vidx_frame_phash(const VidxFrame *f)
{
    int cells[8][9];
    uint64_t h = 0;
    if (!f || f->width < 9 || f->height < 8 || f->pixel == VIDX_PIXEL_NATIVE)
        return 0;
    for (int cy = 0; cy < 8; cy++)
        for (int cx = 0; cx < 9; cx++)
            cells[cy][cx] = cell_mean(f, cx * f->width / 9, (cx + 1) * f->width / 9,
                                      cy * f->height / 8, (cy + 1) * f->height / 8);
    for (int cy = 0; cy < 8; cy++)
        for (int cx = 0; cx < 8; cx++)
            h = (h << 1) | (uint64_t)(cells[cy][cx] > cells[cy][cx + 1]);
    return h;
}

int vidx_phash_distance(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}
