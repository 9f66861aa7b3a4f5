/*
 * audio_file.c - the audio output of a job: s16 samples in, WAV, FLAC or
 * Opus (libopus, in Ogg) out. FLAC's and Opus's encoders take fixed-size
 * frames, so samples pass through an AVAudioFifo; PCM takes any size but uses
 * the same path. Opus takes 8, 12, 16, 24 or 48 kHz only (the resampler
 * upstream delivers the asked rate, so the rate is checked, not converted
 * here); speech at 16 kHz mono is coded at 32 kbit/s per channel.
 */
#include "store/audio_file.h"

#include <errno.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>

#include "core/internal.h"

#define VIDX_TAG_KEY             "comment"
#define VIDX_TAG_VALUE           "vidx audio"
#define OPUS_BITRATE_PER_CHANNEL 32000

struct VidxAudioFile {
    AVFormatContext *mux;
    AVCodecContext *enc;
    AVAudioFifo *fifo;
    AVFrame *frame;
    AVPacket *pkt;
    int64_t samples;
    int header_written;
};

int vidx__audio_opus_rate_ok(int rate)
{
    return rate == 8000 || rate == 12000 || rate == 16000 || rate == 24000 || rate == 48000;
}

static const AVCodec *find_encoder(int format)
{
    if (format == VIDX_AUDIO_OPUS)
        return avcodec_find_encoder_by_name("libopus");
    return avcodec_find_encoder(format == VIDX_AUDIO_FLAC ? AV_CODEC_ID_FLAC
                                                          : AV_CODEC_ID_PCM_S16LE);
}

static const char *muxer_name(int format)
{
    return format == VIDX_AUDIO_OPUS ? "opus" : format == VIDX_AUDIO_FLAC ? "flac" : "wav";
}

static int open_encoder(VidxAudioFile *f, int format, int rate, int channels)
{
    const AVCodec *codec = find_encoder(format);
    if (!codec)
        return AVERROR_ENCODER_NOT_FOUND;
    if (!(f->enc = avcodec_alloc_context3(codec)))
        return AVERROR(ENOMEM);
    f->enc->sample_fmt = AV_SAMPLE_FMT_S16;
    f->enc->sample_rate = rate;
    f->enc->time_base = (AVRational){1, rate};
    av_channel_layout_default(&f->enc->ch_layout, channels);
    if (format == VIDX_AUDIO_OPUS)
        f->enc->bit_rate = (int64_t)OPUS_BITRATE_PER_CHANNEL * channels;
    if (f->mux->oformat->flags & AVFMT_GLOBALHEADER)
        f->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    return avcodec_open2(f->enc, codec, NULL);
}

int vidx__audio_file_open(VidxAudioFile **out, const char *path, int format, int rate, int channels)
{
    VidxAudioFile *f = av_mallocz(sizeof(*f));
    AVStream *st;
    int ret;
    *out = NULL;
    if (!f)
        return AVERROR(ENOMEM);
    if ((ret = avformat_alloc_output_context2(&f->mux, NULL, muxer_name(format), path)) < 0)
        goto fail;
    if ((ret = open_encoder(f, format, rate, channels)) < 0)
        goto fail;
    if ((ret = av_dict_set(&f->mux->metadata, VIDX_TAG_KEY, VIDX_TAG_VALUE, 0)) < 0)
        goto fail;
    ret = AVERROR(ENOMEM);
    if (!(st = avformat_new_stream(f->mux, NULL)) || !(f->frame = av_frame_alloc()) ||
        !(f->pkt = av_packet_alloc()) ||
        !(f->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_S16, channels, 4096)))
        goto fail;
    if ((ret = avcodec_parameters_from_context(st->codecpar, f->enc)) < 0)
        goto fail;
    st->time_base = f->enc->time_base;
    if ((ret = avio_open(&f->mux->pb, path, AVIO_FLAG_WRITE)) < 0)
        goto fail;
    if ((ret = avformat_write_header(f->mux, NULL)) < 0)
        goto fail;
    f->header_written = 1;
    *out = f;
    return 0;
fail:
    vidx__audio_file_close(&f, 0, NULL);
    return ret;
}

static int write_packets(VidxAudioFile *f)
{
    for (;;) {
        int ret = avcodec_receive_packet(f->enc, f->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return ret;
        av_packet_rescale_ts(f->pkt, f->enc->time_base, f->mux->streams[0]->time_base);
        f->pkt->stream_index = 0;
        if ((ret = av_interleaved_write_frame(f->mux, f->pkt)) < 0)
            return ret;
    }
}

/* Encodes whole frames from the fifo; with flush, the remainder too. */
static int encode_fifo(VidxAudioFile *f, int flush)
{
    int frame_size = f->enc->frame_size > 0 ? f->enc->frame_size : 4096;
    while (av_audio_fifo_size(f->fifo) >= frame_size ||
           (flush && av_audio_fifo_size(f->fifo) > 0)) {
        int n = VIDX_MIN(frame_size, av_audio_fifo_size(f->fifo));
        av_frame_unref(f->frame);
        f->frame->nb_samples = n;
        f->frame->format = AV_SAMPLE_FMT_S16;
        f->frame->sample_rate = f->enc->sample_rate;
        int ret = av_channel_layout_copy(&f->frame->ch_layout, &f->enc->ch_layout);
        if (ret < 0 || (ret = av_frame_get_buffer(f->frame, 0)) < 0)
            return ret;
        if (av_audio_fifo_read(f->fifo, (void **)f->frame->data, n) != n)
            return AVERROR_BUG;
        f->frame->pts = f->samples;
        f->samples += n;
        if ((ret = avcodec_send_frame(f->enc, f->frame)) < 0 || (ret = write_packets(f)) < 0)
            return ret;
    }
    return 0;
}

int vidx__audio_file_write(VidxAudioFile *f, const int16_t *samples, int n)
{
    void *planes[1] = {(void *)samples};
    if (av_audio_fifo_write(f->fifo, planes, n) != n)
        return AVERROR(ENOMEM);
    return encode_fifo(f, 0);
}

int vidx__audio_file_close(VidxAudioFile **pf, int ok, double *duration)
{
    VidxAudioFile *f = pf ? *pf : NULL;
    int ret = 0;
    if (!f)
        return 0;
    if (ok && f->header_written) {
        ret = encode_fifo(f, 1);
        if (ret >= 0 && (ret = avcodec_send_frame(f->enc, NULL)) >= 0)
            ret = write_packets(f);
        if (ret >= 0)
            ret = av_write_trailer(f->mux);
    }
    if (duration)
        *duration = f->enc && f->enc->sample_rate ? (double)f->samples / f->enc->sample_rate : 0;
    if (f->mux && f->mux->pb)
        avio_closep(&f->mux->pb);
    avformat_free_context(f->mux);
    avcodec_free_context(&f->enc);
    av_audio_fifo_free(f->fifo);
    av_frame_free(&f->frame);
    av_packet_free(&f->pkt);
    av_free(f);
    *pf = NULL;
    return ret;
}

int vidx__audio_file_is_ours(const char *path)
{
    AVFormatContext *fmt = avformat_alloc_context();
    const AVDictionaryEntry *e = NULL;
    int ours = 0;
    if (!fmt)
        return 0;
    /* Only the formats vidx writes, from a local file: nothing else is probed. */
    fmt->format_whitelist = av_strdup("wav,flac,ogg");
    fmt->protocol_whitelist = av_strdup("file");
    if (!fmt->format_whitelist || !fmt->protocol_whitelist) {
        avformat_free_context(fmt);
        return 0;
    }
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0)
        return 0; /* frees fmt */
    if (avformat_find_stream_info(fmt, NULL) >= 0) {
        e = av_dict_get(fmt->metadata, VIDX_TAG_KEY, NULL, 0);
        if (!e && fmt->nb_streams > 0) /* Ogg keeps its comments on the stream */
            e = av_dict_get(fmt->streams[0]->metadata, VIDX_TAG_KEY, NULL, 0);
        ours = e && !strcmp(e->value, VIDX_TAG_VALUE);
    }
    avformat_close_input(&fmt);
    return ours;
}

static const char *const format_names[] = {NULL, "wav", "flac", "opus"};

const char *vidx_audio_format_ext(int format)
{
    return format > 0 && format < (int)(sizeof(format_names) / sizeof(format_names[0]))
               ? format_names[format]
               : NULL;
}

int vidx_audio_format_parse(const char *name, int *format)
{
    for (int i = 1; i < (int)(sizeof(format_names) / sizeof(format_names[0])); i++)
        if (name && !strcmp(name, format_names[i]))
            return (*format = i), 0;
    return VIDX_EUSAGE;
}
