/*
 * png.c - lossless PNG through libavcodec's PNG encoder, from RGB.
 */
#include "encode/encoder.h"

#include <errno.h>

#include <libavcodec/avcodec.h>

static int png_pack(AVCodecContext *ctx, const VidxFrame *f, uint8_t **out, size_t *size)
{
    AVFrame *frame = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int ret = AVERROR(ENOMEM);
    if (!frame || !pkt)
        goto done;
    frame->format = AV_PIX_FMT_RGB24;
    frame->width = f->width;
    frame->height = f->height;
    frame->data[0] = (uint8_t *)f->data[0];
    frame->linesize[0] = f->linesize[0];
    if ((ret = avcodec_send_frame(ctx, frame)) < 0 || (ret = avcodec_receive_packet(ctx, pkt)) < 0)
        goto done;
    *size = pkt->size;
    *out = av_memdup(pkt->data, pkt->size);
    ret = *out ? 0 : AVERROR(ENOMEM);
done:
    av_packet_free(&pkt);
    av_frame_free(&frame);
    return ret;
}

static int png_encode(const VidxFrame *f, int quality, uint8_t **out, size_t *size)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    AVCodecContext *ctx;
    int ret;
    (void)quality;
    if (f->pixel != VIDX_PIXEL_RGB24)
        return VIDX_EUSAGE;
    if (!codec)
        return AVERROR_ENCODER_NOT_FOUND;
    if (!(ctx = avcodec_alloc_context3(codec)))
        return AVERROR(ENOMEM);
    ctx->width = f->width;
    ctx->height = f->height;
    ctx->pix_fmt = AV_PIX_FMT_RGB24;
    ctx->time_base = (AVRational){1, 1};
    ret = avcodec_open2(ctx, codec, NULL);
    if (ret >= 0)
        ret = png_pack(ctx, f, out, size);
    avcodec_free_context(&ctx);
    return ret < 0 ? (ret == AVERROR(ENOMEM) ? ret : VIDX_EENCODE) : 0;
}

const VidxEncoder vidx__encoder_png = {"png", VIDX_PIXEL_RGB24, png_encode};
