/*
 * audio.c - audio decode + resample in the same pass as video.
 *
 * Speech models want 16 kHz mono s16; the resampler (libswresample) does the
 * downmix and rate change. Damaged audio packets are counted and skipped: the
 * audio track must never cost the video its frames.
 */
#include "media/audio.h"

#include <errno.h>

#include <libavcodec/avcodec.h>
#include <libswresample/swresample.h>

#include "media/source.h"

struct VidxAudio {
    AVCodecContext *dec;
    SwrContext *swr;
    AVFrame *frame;
    VidxAudioSettings set;
    uint8_t *buf;
    int buf_samples;
    int64_t errors;
};

static int open_resampler(VidxAudio *a)
{
    AVChannelLayout out_layout;
    av_channel_layout_default(&out_layout, a->set.channels);
    AVChannelLayout in_layout = a->dec->ch_layout;
    if (in_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&in_layout, in_layout.nb_channels);
    int ret = swr_alloc_set_opts2(&a->swr, &out_layout, AV_SAMPLE_FMT_S16, a->set.sample_rate,
                                  &in_layout, a->dec->sample_fmt, a->dec->sample_rate, 0, NULL);
    if (ret >= 0)
        ret = swr_init(a->swr);
    return ret;
}

int vidx__audio_open(VidxAudio **out, const AVStream *st, const VidxAudioSettings *s)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    VidxAudio *a;
    int ret;

    *out = NULL;
    if (!codec)
        return AVERROR_DECODER_NOT_FOUND;
    if (!(a = av_mallocz(sizeof(*a))))
        return AVERROR(ENOMEM);
    a->set = *s;
    if (a->set.sample_rate <= 0)
        a->set.sample_rate = 16000;
    if (a->set.channels <= 0)
        a->set.channels = 1;
    ret = AVERROR(ENOMEM);
    if (!(a->dec = avcodec_alloc_context3(codec)) || !(a->frame = av_frame_alloc()))
        goto fail;
    if ((ret = avcodec_parameters_to_context(a->dec, st->codecpar)) < 0)
        goto fail;
    a->dec->pkt_timebase = st->time_base;
    a->dec->thread_count = 1;
    if ((ret = avcodec_open2(a->dec, codec, NULL)) < 0)
        goto fail;
    if (a->dec->sample_rate <= 0 || a->dec->ch_layout.nb_channels <= 0) {
        ret = AVERROR_INVALIDDATA;
        goto fail;
    }
    *out = a;
    return 0;
fail:
    vidx__audio_close(&a);
    return ret;
}

static int deliver(VidxAudio *a, const AVFrame *f)
{
    if (!a->swr) {
        int ret = open_resampler(a);
        if (ret < 0)
            return ret;
    }
    int want = swr_get_out_samples(a->swr, f ? f->nb_samples : 0);
    if (want <= 0)
        return 0;
    if (want > a->buf_samples) {
        av_freep(&a->buf);
        if (av_samples_alloc(&a->buf, NULL, a->set.channels, want, AV_SAMPLE_FMT_S16, 0) < 0)
            return AVERROR(ENOMEM);
        a->buf_samples = want;
    }
    int n = swr_convert(a->swr, &a->buf, want, f ? (const uint8_t **)f->extended_data : NULL,
                        f ? f->nb_samples : 0);
    if (n < 0)
        return n;
    return n > 0 ? a->set.callback(a->set.opaque, (const int16_t *)a->buf, n) : 0;
}

int vidx__audio_packet(VidxAudio *a, const AVPacket *pkt)
{
    int ret = avcodec_send_packet(a->dec, pkt);
    if (ret < 0 && ret != AVERROR_EOF) {
        a->errors++;
        return 0;
    }
    for (;;) {
        ret = avcodec_receive_frame(a->dec, a->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            break;
        if (ret < 0) {
            a->errors++;
            break;
        }
        ret = a->frame->ch_layout.nb_channels == a->dec->ch_layout.nb_channels &&
                      a->frame->sample_rate == a->dec->sample_rate
                  ? deliver(a, a->frame)
                  : 0; /* mid-stream format change: skip rather than mis-resample */
        av_frame_unref(a->frame);
        if (ret < 0)
            return ret;
    }
    if (!pkt && a->swr)
        return deliver(a, NULL);
    return 0;
}

int64_t vidx__audio_errors(const VidxAudio *a)
{
    return a->errors;
}

void vidx__audio_close(VidxAudio **pa)
{
    VidxAudio *a = pa ? *pa : NULL;
    if (!a)
        return;
    avcodec_free_context(&a->dec);
    swr_free(&a->swr);
    av_frame_free(&a->frame);
    av_freep(&a->buf);
    av_free(a);
    *pa = NULL;
}

int vidx__audio_decode_all(VidxSource *src, const VidxAudioSettings *s, int64_t *errors)
{
    VidxAudio *a = NULL;
    AVPacket *pkt = av_packet_alloc();
    int ret = pkt ? vidx__audio_open(&a, src->fmt->streams[src->audio_index], s) : AVERROR(ENOMEM);
    src->used = 1;
    while (ret >= 0) {
        if ((ret = av_read_frame(src->fmt, pkt)) == AVERROR(EAGAIN)) {
            ret = 0;
            continue;
        }
        if (ret >= 0 && pkt->stream_index == src->audio_index)
            ret = vidx__audio_packet(a, pkt);
        av_packet_unref(pkt);
    }
    if (ret == AVERROR_EOF)
        ret = vidx__audio_packet(a, NULL);
    *errors = a ? vidx__audio_errors(a) : 0;
    vidx__audio_close(&a);
    av_packet_free(&pkt);
    return ret;
}
