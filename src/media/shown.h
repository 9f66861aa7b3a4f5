/*
 * shown.h - whether a compressed packet yields a displayed picture (see shown.c).
 */
#ifndef VIDX_MEDIA_SHOWN_H
#define VIDX_MEDIA_SHOWN_H

#include <stdint.h>

#include <libavcodec/codec_id.h>

int vidx__packet_shown(enum AVCodecID codec, const uint8_t *data, int size);

#endif
