/*
 * shown.c - does a packet produce a picture that is displayed?
 *
 * VP8 and VP9 streams may carry frames that are decoded for reference only
 * (alt-ref frames) in packets of their own. Such a packet has a timestamp but
 * is never shown, so the planner must not pick it as "the frame shown at t"
 * nor count it in presentation indices. The answer is one bit of each frame's
 * uncompressed header (VP9: per frame of a superframe). Other codecs: every
 * packet shows a picture.
 */
#include "media/shown.h"

typedef struct Bits {
    const uint8_t *p;
    int size, pos;
} Bits;

static int bit(Bits *b)
{
    if (b->pos >= b->size * 8)
        return 0;
    int v = (b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1;
    b->pos++;
    return v;
}

static int vp9_frame_shown(const uint8_t *p, int size)
{
    Bits b = {p, size, 0};
    if (size < 1 || bit(&b) != 1 || bit(&b) != 0) /* frame_marker */
        return 1;
    int profile = bit(&b);
    profile |= bit(&b) << 1;
    if (profile == 3)
        bit(&b);
    if (bit(&b)) /* show_existing_frame */
        return 1;
    bit(&b); /* frame_type */
    return bit(&b);
}

static int vp9_shown(const uint8_t *p, int size)
{
    uint8_t last = p[size - 1];
    if ((last & 0xe0) == 0xc0) { /* superframe index */
        int frames = (last & 7) + 1, mag = ((last >> 3) & 3) + 1;
        int idx = 2 + mag * frames;
        if (size >= idx && p[size - idx] == last) {
            const uint8_t *q = p + size - idx + 1;
            int off = 0;
            for (int i = 0; i < frames; i++) {
                uint32_t fsz = 0; /* up to 4 bytes: wider than int */
                for (int k = 0; k < mag; k++)
                    fsz |= (uint32_t)q[i * mag + k] << (8 * k);
                if (fsz == 0 || fsz > (uint32_t)(size - idx - off))
                    return 1;
                if (vp9_frame_shown(p + off, (int)fsz))
                    return 1;
                off += (int)fsz;
            }
            return 0;
        }
    }
    return vp9_frame_shown(p, size);
}

int vidx__packet_shown(enum AVCodecID codec, const uint8_t *data, int size)
{
    if (!data || size <= 0)
        return 1;
    switch (codec) {
    case AV_CODEC_ID_VP9:
        return vp9_shown(data, size);
    case AV_CODEC_ID_VP8:
        return (data[0] >> 4) & 1;
    default:
        return 1;
    }
}
